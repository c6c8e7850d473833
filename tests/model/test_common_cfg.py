"""Common configuration register model and device status (virtio.md §1, §3.3)."""

from __future__ import annotations

import struct

import pytest

from pymodel.common_cfg import CfgEventKind, CommonCfg, DriverFeaturePolicy, Reg
from pymodel.features import DeviceType, NetFeature as N, Transport as T, mask
from pymodel.status import Status

pytestmark = pytest.mark.model

OFFERED = mask(T.VERSION_1, T.RING_PACKED, T.EVENT_IDX, T.RING_RESET, N.MAC, N.CTRL_VQ, N.MQ, 64 + 5)


def make(policy: DriverFeaturePolicy = DriverFeaturePolicy.MIRROR_ALL) -> CommonCfg:
    return CommonCfg(
        DeviceType.NET,
        OFFERED,
        [256, 256, 64],
        msix_table_size=4,
        notify_offs=[0, 1, 2],
        notif_config_data=[0x10, 0x11, 0x12],
        feature_policy=policy,
    )


def negotiate(c: CommonCfg, features: int) -> None:
    c.write(Reg.DEVICE_STATUS, 1, 0x01)
    c.write(Reg.DEVICE_STATUS, 1, 0x03)
    for sel in range(3):
        c.write(Reg.DRIVER_FEATURE_SELECT, 4, sel)
        c.write(Reg.DRIVER_FEATURE, 4, (features >> (32 * sel)) & 0xFFFF_FFFF)
    c.write(Reg.DEVICE_STATUS, 1, 0x0B)


def expected_reset_image() -> bytes:
    """The 64-byte structure after reset, written down from the §3.3 table."""
    return struct.pack(
        "<IIIIHHBBHHHHHIIIIIIHHHH",
        0,  # device_feature_select
        OFFERED & 0xFFFF_FFFF,  # device_feature (window 0)
        0,  # driver_feature_select
        0,  # driver_feature
        0xFFFF,  # config_msix_vector
        3,  # num_queues
        0,  # device_status
        0,  # config_generation
        0,  # queue_select
        256,  # queue_size = max
        0xFFFF,  # queue_msix_vector
        0,  # queue_enable
        0,  # queue_notify_off of queue 0
        0, 0, 0, 0, 0, 0,  # queue_desc/driver/device
        0x10,  # queue_notif_config_data
        0,  # queue_reset
        0, 0,  # admin_queue_index / num
    )


def test_reset_values() -> None:
    c = make()
    assert c.image() == expected_reset_image()
    assert c.read(Reg.NUM_QUEUES, 2) == 3
    assert c.read(Reg.QUEUE_SIZE, 2) == 256
    assert c.read(0x40, 4) == 0  # beyond the structure


def test_device_feature_windows() -> None:
    c = make()
    for sel, want in ((0, OFFERED & 0xFFFF_FFFF), (1, (OFFERED >> 32) & 0xFFFF_FFFF), (2, 1 << 5), (3, 0)):
        c.write(Reg.DEVICE_FEATURE_SELECT, 4, sel)
        assert c.read(Reg.DEVICE_FEATURE, 4) == want
    assert c.read(Reg.DEVICE_FEATURE, 2) == 0  # select 3 is empty at any width


def test_features_ok_accepted() -> None:
    c = make()
    feats = mask(T.VERSION_1, T.RING_PACKED, N.MAC)
    negotiate(c, feats)
    assert c.read(Reg.DEVICE_STATUS, 1) == 0x0B
    assert c.negotiated == feats and c.packed


def test_features_ok_rejected_reads_back_clear() -> None:
    c = make()
    negotiate(c, mask(T.VERSION_1, N.MQ))  # MQ without CTRL_VQ
    assert c.read(Reg.DEVICE_STATUS, 1) == 0x03
    assert c.negotiated == 0


def test_features_ok_rejected_for_unoffered_bit_unless_keep_offered() -> None:
    feats = mask(T.VERSION_1, N.GUEST_CSUM)  # GUEST_CSUM is not offered
    c = make()
    negotiate(c, feats)
    assert not c.status.features_ok
    k = make(DriverFeaturePolicy.KEEP_OFFERED)
    negotiate(k, feats)
    assert k.status.features_ok and k.negotiated == mask(T.VERSION_1)


def test_driver_feature_after_features_ok_ignored() -> None:
    c = make()
    negotiate(c, mask(T.VERSION_1))
    c.write(Reg.DRIVER_FEATURE_SELECT, 4, 0)
    r = c.write(Reg.DRIVER_FEATURE, 4, 1 << N.MAC)
    assert not r.applied and c.read(Reg.DRIVER_FEATURE, 4) == 0


@pytest.mark.parametrize(
    ("reg", "width"),
    [
        (Reg.DEVICE_FEATURE, 4),
        (Reg.NUM_QUEUES, 2),
        (Reg.CONFIG_GENERATION, 1),
        (Reg.QUEUE_NOTIFY_OFF, 2),
        (Reg.QUEUE_NOTIF_CONFIG_DATA, 2),
        (Reg.ADMIN_QUEUE_INDEX, 2),
        (Reg.ADMIN_QUEUE_NUM, 2),
    ],
)
def test_read_only_fields_ignore_writes(reg: Reg, width: int) -> None:
    c = make()
    before = c.image()
    r = c.write(reg, width, 0x5A5A5A5A & ((1 << (8 * width)) - 1))
    assert not r.applied and "read-only" in (r.note or "")
    assert c.image() == before


def test_status_bits_are_never_cleared_by_the_driver() -> None:
    c = make()
    negotiate(c, mask(T.VERSION_1))
    c.write(Reg.DEVICE_STATUS, 1, 0x01)  # tries to clear DRIVER and FEATURES_OK
    assert c.read(Reg.DEVICE_STATUS, 1) == 0x0B
    c.write(Reg.DEVICE_STATUS, 1, 0x0B | 0x40 | 0x20)  # device-owned / reserved bits
    assert c.read(Reg.DEVICE_STATUS, 1) == 0x0B


def test_driver_ok_without_features_ok_needs_reset() -> None:
    c = make()
    r = c.write(Reg.DEVICE_STATUS, 1, 0x07)
    assert c.read(Reg.DEVICE_STATUS, 1) == 0x47
    assert [e.kind for e in r.events] == [CfgEventKind.NEEDS_RESET]


def test_failed_bit_and_reset_by_writing_zero() -> None:
    c = make()
    negotiate(c, mask(T.VERSION_1, T.RING_PACKED))
    c.write(Reg.QUEUE_SELECT, 2, 1)
    c.write(Reg.QUEUE_SIZE, 2, 100)
    c.write(Reg.QUEUE_DESC_LO, 4, 0x1000)
    c.write(Reg.QUEUE_MSIX_VECTOR, 2, 2)
    c.write(Reg.CONFIG_MSIX_VECTOR, 2, 3)
    c.write(Reg.QUEUE_ENABLE, 2, 1)
    c.write(Reg.DEVICE_STATUS, 1, 0x0B | Status.FAILED)
    assert c.read(Reg.DEVICE_STATUS, 1) == 0x8B
    r = c.write(Reg.DEVICE_STATUS, 1, 0)
    assert r.events[0].kind == CfgEventKind.DEVICE_RESET
    assert c.image() == expected_reset_image()
    c.write(Reg.QUEUE_SELECT, 2, 1)
    assert c.read(Reg.QUEUE_SIZE, 2) == 256 and c.read(Reg.QUEUE_ENABLE, 2) == 0
    assert c.read(Reg.QUEUE_MSIX_VECTOR, 2) == 0xFFFF


@pytest.mark.parametrize(("packed", "size", "ok"), [
    (True, 1, True), (True, 3, True), (True, 255, True), (True, 256, True),
    (True, 0, False), (True, 257, False),
    (False, 128, True), (False, 1, True), (False, 100, False), (False, 0, False), (False, 512, False),
])
def test_queue_size_rules(packed: bool, size: int, ok: bool) -> None:
    c = make()
    negotiate(c, mask(T.VERSION_1) | (mask(T.RING_PACKED) if packed else 0))
    r = c.write(Reg.QUEUE_SIZE, 2, size)
    assert r.applied == ok
    assert c.read(Reg.QUEUE_SIZE, 2) == (size if ok else 256)


def test_queue_fields_ignored_before_features_ok_and_while_enabled() -> None:
    c = make()
    assert not c.write(Reg.QUEUE_SIZE, 2, 16).applied
    negotiate(c, mask(T.VERSION_1, T.RING_PACKED))
    assert c.write(Reg.QUEUE_SIZE, 2, 16).applied
    assert c.write(Reg.QUEUE_ENABLE, 2, 1).applied
    assert not c.write(Reg.QUEUE_SIZE, 2, 32).applied
    assert not c.write(Reg.QUEUE_DESC_LO, 4, 0x2000).applied
    assert c.write(Reg.QUEUE_MSIX_VECTOR, 2, 1).applied  # vectors may change any time
    assert c.read(Reg.QUEUE_SIZE, 2) == 16


def test_queue_enable_only_one_and_misaligned_address_needs_reset() -> None:
    c = make()
    negotiate(c, mask(T.VERSION_1, T.RING_PACKED))
    assert not c.write(Reg.QUEUE_ENABLE, 2, 0).applied
    c.write(Reg.QUEUE_DESC_LO, 4, 0x1008)  # not 16-aligned
    r = c.write(Reg.QUEUE_ENABLE, 2, 1)
    assert not r.applied and c.read(Reg.QUEUE_ENABLE, 2) == 0
    assert c.read(Reg.DEVICE_STATUS, 1) & 0x40


def test_msix_vector_mapping_failure_reads_no_vector() -> None:
    c = make()
    c.write(Reg.CONFIG_MSIX_VECTOR, 2, 3)
    assert c.read(Reg.CONFIG_MSIX_VECTOR, 2) == 3
    c.write(Reg.CONFIG_MSIX_VECTOR, 2, 4)  # table has 4 vectors: 0..3
    assert c.read(Reg.CONFIG_MSIX_VECTOR, 2) == 0xFFFF
    c.write(Reg.QUEUE_MSIX_VECTOR, 2, 7)
    assert c.read(Reg.QUEUE_MSIX_VECTOR, 2) == 0xFFFF


def test_queue_select_out_of_range() -> None:
    c = make()
    c.write(Reg.QUEUE_SELECT, 2, 3)
    assert c.read(Reg.QUEUE_SELECT, 2) == 3
    assert c.read(Reg.QUEUE_SIZE, 2) == 0
    assert c.read(Reg.QUEUE_NOTIFY_OFF, 2) == 0
    assert not c.write(Reg.QUEUE_MSIX_VECTOR, 2, 1).applied


def test_per_queue_fields_follow_queue_select() -> None:
    c = make()
    c.write(Reg.QUEUE_SELECT, 2, 2)
    assert c.read(Reg.QUEUE_SIZE, 2) == 64
    assert c.read(Reg.QUEUE_NOTIFY_OFF, 2) == 2
    assert c.read(Reg.QUEUE_NOTIF_CONFIG_DATA, 2) == 0x12


def test_64bit_addresses_in_halves_and_whole() -> None:
    c = make()
    negotiate(c, mask(T.VERSION_1, T.RING_PACKED))
    c.write(Reg.QUEUE_DESC_HI, 4, 0x1)
    c.write(Reg.QUEUE_DESC_LO, 4, 0x2345_6780)
    assert c.read(Reg.QUEUE_DESC_LO, 8) == 0x1_2345_6780
    c.write(Reg.QUEUE_DRIVER_LO, 8, 0xAB_0000_0010)
    assert (c.read(Reg.QUEUE_DRIVER_LO, 4), c.read(Reg.QUEUE_DRIVER_HI, 4)) == (0x10, 0xAB)


def test_wrong_width_write_ignored_and_byte_reads_work() -> None:
    c = make()
    assert not c.write(Reg.QUEUE_SELECT, 4, 1).applied
    assert not c.write(0x41, 1, 1).applied
    assert c.read(Reg.QUEUE_SIZE + 1, 1) == 1  # high byte of 256
    with pytest.raises(ValueError):
        c.read(0x19, 2)


def test_queue_reset_with_ring_reset() -> None:
    c = make()
    negotiate(c, mask(T.VERSION_1, T.RING_PACKED, T.RING_RESET))
    c.write(Reg.DEVICE_STATUS, 1, 0x0F)
    c.write(Reg.QUEUE_SELECT, 2, 1)
    c.write(Reg.QUEUE_SIZE, 2, 8)
    c.write(Reg.QUEUE_ENABLE, 2, 1)
    r = c.write(Reg.QUEUE_RESET, 2, 1)
    assert r.events[0].kind == CfgEventKind.QUEUE_RESET and r.events[0].queue == 1
    assert c.read(Reg.QUEUE_RESET, 2) == 0 and c.read(Reg.QUEUE_ENABLE, 2) == 0
    assert c.read(Reg.QUEUE_SIZE, 2) == 256
    # re-program after DRIVER_OK while the queue is disabled
    assert c.write(Reg.QUEUE_SIZE, 2, 16).applied
    assert c.write(Reg.QUEUE_ENABLE, 2, 1).applied


def test_queue_reset_ignored_without_ring_reset() -> None:
    c = make()
    negotiate(c, mask(T.VERSION_1, T.RING_PACKED))
    c.write(Reg.QUEUE_ENABLE, 2, 1)
    assert not c.write(Reg.QUEUE_RESET, 2, 1).applied
    assert c.read(Reg.QUEUE_ENABLE, 2) == 1
