"""MSI-X semantics (virtio.md §9.3, §3.5)."""

from __future__ import annotations

import pytest

from pymodel.msix import Delivery, MsixMessage, MsixModel, NO_VECTOR

pytestmark = pytest.mark.model


def programmed(n: int = 4) -> MsixModel:
    m = MsixModel(n)
    for v in range(n):
        m.table_write(16 * v + 0, 0xFEE0_0000 + 4 * v)
        m.table_write(16 * v + 4, 0)
        m.table_write(16 * v + 8, 0x40 + v)
    return m


def test_reset_values() -> None:
    m = MsixModel(3)
    assert m.control_read() == 2  # table size - 1, disabled, not function-masked
    assert [m.table_read(16 * v + 12) for v in range(3)] == [1, 1, 1]  # masked
    assert m.pba_read(0) == 0 and m.pba_size == 8


def test_no_vector_delivers_nothing() -> None:
    m = programmed()
    m.control_write(1 << 15)
    assert m.signal(NO_VECTOR).delivery == Delivery.NONE
    assert m.signal(9).delivery == Delivery.NONE


def test_disabled_means_intx() -> None:
    m = programmed()
    assert m.signal(0).delivery == Delivery.INTX


def test_masked_vector_sets_pending_and_unmask_replays() -> None:
    m = programmed()
    m.control_write(1 << 15, time=0)
    r = m.signal(2)
    assert r.delivery == Delivery.PENDING and r.message is None
    assert m.pba_read(0) == 0b100
    out = m.table_write(16 * 2 + 12, 0, time=100)  # unmask vector 2
    assert out == [MsixMessage(2, 0xFEE0_0008, 0x42)]
    assert m.pba_read(0) == 0
    assert m.deliverable_since(2) == 100
    r = m.signal(2)
    assert r.delivery == Delivery.SENT and r.message == MsixMessage(2, 0xFEE0_0008, 0x42)


def test_function_mask_holds_every_vector() -> None:
    m = programmed()
    for v in range(4):
        m.table_write(16 * v + 12, 0)
    m.control_write((1 << 15) | (1 << 14), time=5)
    assert m.signal(0).delivery == Delivery.PENDING
    assert m.signal(3).delivery == Delivery.PENDING
    assert m.pba_read(0) == 0b1001
    out = m.control_write(1 << 15, time=50)
    assert sorted(x.vector for x in out) == [0, 3]
    assert m.deliverable_since(1) == 50


def test_pending_stays_while_vector_still_masked_after_function_unmask() -> None:
    m = programmed()
    m.control_write((1 << 15) | (1 << 14))
    m.signal(1)
    assert m.control_write(1 << 15) == []  # vector 1 itself is still masked
    assert m.pba_read(0) == 0b10


def test_address_low_bits_read_zero_and_qword_access() -> None:
    m = MsixModel(2)
    m.table_write(16, 0x1_2345_6789_ABCF, width=8)
    assert m.table_read(16, 8) == 0x1_2345_6789_ABCC
    assert m.vector_for(0x1_2345_6789_ABCC, 0) == [1]


def test_pba_layout_beyond_64_vectors() -> None:
    m = MsixModel(70)
    m.control_write(1 << 15)
    m.signal(65)
    assert m.pba_size == 16
    assert m.pba_read(8) == 0b10
    assert m.pba_read(8, 4) == 0b10 and m.pba_read(12, 4) == 0
