"""Malformed descriptor chains: one test per driver error (packed and split).

Expected outcomes are the tables in the docstrings of ``pymodel.packed_ring``
and ``pymodel.split_ring``: DEVICE_NEEDS_RESET with a stable reason prefix,
or a documented tolerated outcome.
"""

from __future__ import annotations

import pytest

from pymodel.errors import DeviceNeedsReset
from pymodel.memory import SparseMemory, wr16
from pymodel.packed_driver import PackedRingDriver
from pymodel.packed_layout import DescFlag as F
from pymodel.packed_layout import PackedDesc
from pymodel.packed_ring import PackedRingDevice
from pymodel.split_driver import SplitRingDriver
from pymodel.split_ring import SplitDesc, SplitDescFlag as SF, SplitRingDevice

pytestmark = pytest.mark.model

DESC, DRV, DEV = 0x1000, 0x3000, 0x3004


def packed(size: int = 4, **kw: object) -> tuple[SparseMemory, PackedRingDriver, PackedRingDevice]:
    mem = SparseMemory()
    return (
        mem,
        PackedRingDriver(mem, size, DESC, DRV, DEV),
        PackedRingDevice(mem, size, DESC, DRV, DEV, queue=3, **kw),  # type: ignore[arg-type]
    )


def expect_reset(dev: PackedRingDevice | SplitRingDevice, prefix: str) -> DeviceNeedsReset:
    with pytest.raises(DeviceNeedsReset) as ei:
        dev.pop()
    assert ei.value.reason.startswith(prefix), ei.value.reason
    return ei.value


# -- packed ---------------------------------------------------------------------
def test_packed_chain_longer_than_queue() -> None:
    mem, drv, dev = packed(4)
    # 4 descriptors all with NEXT: the chain would continue past N descriptors
    drv.add_raw([PackedDesc(0x9000, 8, 0, F.NEXT)] * 4, buf_id=0)
    err = expect_reset(dev, "chain too long")
    assert err.queue == 3


def test_packed_chain_of_exactly_n_is_fine() -> None:
    mem, drv, dev = packed(4)
    drv.add(in_=[(0x9000, 8)] * 4)
    b = dev.pop()
    assert b is not None and b.ndescs == 4


def test_packed_chain_longer_than_device_limit() -> None:
    mem, drv, dev = packed(8, max_chain=3)
    drv.add(out=[(0x9000, 8)] * 4)
    expect_reset(dev, "chain too long")


def test_packed_chain_descriptor_not_available() -> None:
    mem, drv, dev = packed(4)
    drv.add_raw([PackedDesc(0x9000, 8, 0, F.NEXT), PackedDesc(0x9000, 8, 0, 0)], buf_id=0)
    # spoil the second descriptor's AVAIL/USED bits (as a driver writing a stale lap)
    mem.write(DESC + 16 + 14, (0x8000).to_bytes(2, "little"))
    expect_reset(dev, "chain descriptor not available")


def test_packed_readable_after_writable() -> None:
    mem, drv, dev = packed(4)
    drv.add_raw([PackedDesc(0x9000, 8, 0, F.NEXT | F.WRITE), PackedDesc(0x9000, 8, 0, 0)], buf_id=0)
    expect_reset(dev, "readable after writable")


def test_packed_indirect_not_negotiated() -> None:
    mem, drv, dev = packed(4)
    drv.add(in_=[(0x9000, 8)], indirect_table=0x8000)
    expect_reset(dev, "indirect not negotiated")


def test_packed_indirect_with_next() -> None:
    mem, drv, dev = packed(4, indirect_desc=True)
    mem.write(0x8000, PackedDesc(0x9000, 8, 0, F.WRITE).pack())
    drv.add_raw([PackedDesc(0x8000, 16, 0, F.INDIRECT | F.NEXT), PackedDesc(0x9000, 8, 0, 0)], buf_id=0)
    expect_reset(dev, "indirect with NEXT")


def test_packed_indirect_inside_chain() -> None:
    mem, drv, dev = packed(4, indirect_desc=True)
    mem.write(0x8000, PackedDesc(0x9000, 8, 0, F.WRITE).pack())
    drv.add_raw([PackedDesc(0x9000, 8, 0, F.NEXT), PackedDesc(0x8000, 16, 0, F.INDIRECT)], buf_id=0)
    expect_reset(dev, "indirect in chain")


@pytest.mark.parametrize("length", [0, 8, 24])
def test_packed_indirect_length_not_multiple_of_16(length: int) -> None:
    mem, drv, dev = packed(4, indirect_desc=True)
    drv.add_raw([PackedDesc(0x8000, length, 0, F.INDIRECT)], buf_id=0)
    expect_reset(dev, "indirect table length")


def test_packed_nested_indirect() -> None:
    mem, drv, dev = packed(4, indirect_desc=True)
    mem.write(0x8000, PackedDesc(0x7000, 16, 0, F.INDIRECT).pack())
    drv.add_raw([PackedDesc(0x8000, 16, 0, F.INDIRECT)], buf_id=0)
    expect_reset(dev, "nested indirect")


def test_packed_indirect_table_longer_than_device_limit() -> None:
    mem, drv, dev = packed(4, indirect_desc=True, max_chain=2)
    drv.add(in_=[(0x9000, 1)] * 3, indirect_table=0x8000)
    expect_reset(dev, "chain too long")


def test_packed_zero_length_buffers_are_tolerated() -> None:
    mem, drv, dev = packed(4)
    bid = drv.add(out=[(0x9000, 0)], in_=[(0xA000, 0)])
    b = dev.pop()
    assert b is not None and b.id == bid
    assert b.readable_len == 0 and b.writable_len == 0 and b.ndescs == 2
    e = dev.push_used(b, 0)
    assert e.flags == 0x8080  # no WRITE for len 0 (§10 #6)


def test_packed_write_flag_on_indirect_descriptor_ignored() -> None:
    mem, drv, dev = packed(4, indirect_desc=True)
    mem.write(0x8000, PackedDesc(0x9000, 8, 0, 0).pack())
    drv.add_raw([PackedDesc(0x8000, 16, 0, F.INDIRECT | F.WRITE)], buf_id=0)
    b = dev.pop()
    assert b is not None and [s.writable for s in b.segments] == [False]


# -- split ------------------------------------------------------------------------
def split(size: int = 4, **kw: object) -> tuple[SparseMemory, SplitRingDriver, SplitRingDevice]:
    mem = SparseMemory()
    return (
        mem,
        SplitRingDriver(mem, size, 0x1000, 0x2000, 0x3000),
        SplitRingDevice(mem, size, 0x1000, 0x2000, 0x3000, **kw),  # type: ignore[arg-type]
    )


def test_split_avail_idx_too_far() -> None:
    mem, drv, dev = split(4)
    wr16(mem, 0x2002, 5)
    expect_reset(dev, "avail idx")


def test_split_head_out_of_range() -> None:
    mem, drv, dev = split(4)
    wr16(mem, 0x2004, 7)
    wr16(mem, 0x2002, 1)
    expect_reset(dev, "head out of range")


def test_split_next_out_of_range() -> None:
    mem, drv, dev = split(4)
    drv.add_raw([SplitDesc(0x9000, 8, SF.NEXT, 9)], [0])
    expect_reset(dev, "next out of range")


def test_split_chain_loop() -> None:
    mem, drv, dev = split(4)
    drv.add_raw([SplitDesc(0x9000, 8, SF.NEXT, 1), SplitDesc(0x9000, 8, SF.NEXT, 0)], [0, 1])
    expect_reset(dev, "chain too long")


def test_split_readable_after_writable() -> None:
    mem, drv, dev = split(4)
    drv.add_raw([SplitDesc(0x9000, 8, SF.NEXT | SF.WRITE, 1), SplitDesc(0x9000, 8, 0, 0)], [0, 1])
    expect_reset(dev, "readable after writable")


def test_split_indirect_with_next() -> None:
    mem, drv, dev = split(4, indirect_desc=True)
    mem.write(0x8000, SplitDesc(0x9000, 8, SF.WRITE, 0).pack())
    drv.add_raw([SplitDesc(0x8000, 16, SF.INDIRECT | SF.NEXT, 1), SplitDesc(0x9000, 8, 0, 0)], [0, 1])
    expect_reset(dev, "indirect with NEXT")


def test_split_indirect_not_negotiated() -> None:
    mem, drv, dev = split(4)
    drv.add(in_=[(0x9000, 8)], indirect_table=0x8000)
    expect_reset(dev, "indirect not negotiated")


def test_split_indirect_length() -> None:
    mem, drv, dev = split(4, indirect_desc=True)
    drv.add_raw([SplitDesc(0x8000, 20, SF.INDIRECT, 0)], [0])
    expect_reset(dev, "indirect table length")


def test_split_nested_indirect() -> None:
    mem, drv, dev = split(4, indirect_desc=True)
    mem.write(0x8000, SplitDesc(0x7000, 16, SF.INDIRECT, 0).pack())
    drv.add_raw([SplitDesc(0x8000, 16, SF.INDIRECT, 0)], [0])
    expect_reset(dev, "nested indirect")


def test_split_indirect_table_next_out_of_range() -> None:
    mem, drv, dev = split(4, indirect_desc=True)
    mem.write(0x8000, SplitDesc(0x9000, 8, SF.NEXT, 5).pack())
    drv.add_raw([SplitDesc(0x8000, 16, SF.INDIRECT, 0)], [0])
    expect_reset(dev, "next out of range")
