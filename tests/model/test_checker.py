"""The Checker against a known-good DUT (the software Device) and against injected faults.

Every fault test asserts that the checker names the right category,
function, queue and slot -- so a checker that accepts everything fails here.
"""

from __future__ import annotations

import random
import struct

import pytest

from pymodel.blk_config import BlkConfig
from pymodel.common_cfg import Reg
from pymodel.disk import Disk
from pymodel.event_suppression import NotificationClass
from pymodel.features import BlkFeature as B, DeviceType, NetFeature as N, Transport as T, mask
from pymodel.function import FunctionConfig, Region
from pymodel.memory import BumpAllocator
from pymodel.mismatch import CheckError, CheckerOptions
from pymodel.net import NetConfig, NetHdr

from .rig import Rig

pytestmark = pytest.mark.model

BLK = mask(T.VERSION_1, T.RING_PACKED, T.EVENT_IDX, T.INDIRECT_DESC, B.FLUSH, B.DISCARD, B.WRITE_ZEROES)
NET = mask(T.VERSION_1, T.RING_PACKED, T.EVENT_IDX, N.MAC, N.CSUM, N.MRG_RXBUF, N.CTRL_VQ, N.CTRL_RX,
           N.MQ, N.NOTF_COAL, N.VQ_NOTF_COAL)


def blk_cfg(features: int = BLK) -> FunctionConfig:
    img = bytearray(b"".join(bytes([s & 0xFF]) * 512 for s in range(128)))
    return FunctionConfig(DeviceType.BLK, features, [32], msix_vectors=2, disk=Disk(image=img),
                          blk=BlkConfig(max_discard_sectors=8, max_discard_seg=1,
                                        max_write_zeroes_sectors=8, max_write_zeroes_seg=1))


def net_cfg() -> FunctionConfig:
    return FunctionConfig(DeviceType.NET, NET, [64, 64, 64, 64, 16], msix_vectors=5,
                          net=NetConfig(mac=bytes.fromhex("525400000010"), max_virtqueue_pairs=2))


def blk_rig(features: int = BLK, **opts: object) -> tuple[Rig, object, object]:
    rig = Rig({1: blk_cfg(features)}, CheckerOptions(**opts))  # type: ignore[arg-type]
    drv = rig.driver(1)
    rig.enable_msix(1, 2)
    assert drv.negotiate(features) == 0x0B
    drv.write(Region.COMMON, Reg.CONFIG_MSIX_VECTOR, 2, 0)
    ring = drv.setup_queue(0, 16, bool(features >> T.RING_PACKED & 1), event_idx=True, vector=1)
    drv.driver_ok()
    return rig, drv, ring


def blk_request(rig: Rig, drv: object, ring: object, rtype: int, sector: int, nbytes: int,
                payload: bytes = b"") -> None:
    hdr, status = drv.alloc.alloc(16), drv.alloc.alloc(1)  # type: ignore[attr-defined]
    rig.mem.write(hdr, struct.pack("<IIQ", rtype, 0, sector))
    out = [(hdr, 16)]
    in_ = []
    if rtype == 1 or payload:
        data = drv.alloc.alloc(len(payload))  # type: ignore[attr-defined]
        rig.mem.write(data, payload)
        out.append((data, len(payload)))
    elif nbytes:
        in_.append((drv.alloc.alloc(nbytes), nbytes))  # type: ignore[attr-defined]
    in_.append((status, 1))
    ring.add(out=out, in_=in_)  # type: ignore[attr-defined]


@pytest.mark.parametrize("packed", [True, False])
def test_good_blk_device_has_no_mismatch(packed: bool) -> None:
    feats = BLK if packed else BLK & ~mask(T.RING_PACKED)
    rig, drv, ring = blk_rig(feats)
    rng = random.Random(7)
    for round_ in range(30):
        for _ in range(rng.randint(1, 4)):
            kind = rng.choice(["in", "out", "flush", "id", "wz", "bad"])
            if kind == "in":
                blk_request(rig, drv, ring, 0, rng.randint(0, 120), 512 * rng.randint(1, 4))
            elif kind == "out":
                blk_request(rig, drv, ring, 1, rng.randint(0, 120), 0, bytes([round_]) * 512)
            elif kind == "flush":
                blk_request(rig, drv, ring, 4, 0, 0)
            elif kind == "id":
                blk_request(rig, drv, ring, 8, 0, 20)
            elif kind == "wz":
                blk_request(rig, drv, ring, 13, 0, 0, struct.pack("<QII", rng.randint(0, 100), 4, 0))
            else:
                blk_request(rig, drv, ring, 0, 200, 512)  # beyond capacity -> IOERR
        rig.notify(1, 0)
        ring.drain()  # type: ignore[attr-defined]
        if rng.random() < 0.3:
            ring.enable_cb_delayed()  # type: ignore[attr-defined]
    assert rig.read(1, Region.COMMON, Reg.DEVICE_STATUS, 1) == 0x0F
    assert rig.finish() == []
    kinds = {v.kind for r in rig.checker.reports for v in r.queues.values()}
    assert NotificationClass.REQUIRED in kinds


def test_good_net_device_has_no_mismatch() -> None:
    rig = Rig({0: net_cfg()})
    drv = rig.driver(0)
    rig.enable_msix(0, 5)
    assert drv.negotiate(NET) == 0x0B
    rx = drv.setup_queue(0, 64, True, event_idx=True, vector=0)
    tx = drv.setup_queue(1, 64, True, event_idx=True, vector=1)
    drv.setup_queue(2, 64, True, vector=2)
    drv.setup_queue(3, 64, True, vector=3)
    ctrl = drv.setup_queue(4, 16, True, vector=4)
    drv.driver_ok()
    rng = random.Random(3)
    for _ in range(12):
        rx.add(in_=[(drv.alloc.alloc(128), 128)])
    cmd, ack = drv.alloc.alloc(16), drv.alloc.alloc(16)
    rig.mem.write(cmd, bytes([6, 1]) + struct.pack("<II", 4, 100))  # RX_SET coalescing
    ctrl.add(out=[(cmd, 10)], in_=[(ack, 1)])
    rig.notify(0, 4)
    assert ctrl.get_used() is not None
    for i in range(40):
        frame = bytes.fromhex("525400000010") + bytes([2, 0, 0, 0, 0, i]) + b"\x08\x00" + bytes(rng.randint(46, 300))
        if rng.random() < 0.5:
            buf = drv.alloc.alloc(12 + len(frame))
            rig.mem.write(buf, NetHdr().pack() + frame)
            tx.add(out=[(buf, 12), (buf + 12, len(frame))])
            rig.notify(0, 1)
            tx.drain()
        else:
            rig.receive(0, frame)
            for _ in rx.drain():
                rx.add(in_=[(drv.alloc.alloc(128), 128)])
            rig.notify(0, 0)
    assert rig.finish() == []
    assert rig.checker.reports, "the scenario raised notifications"
    assert not rig.checker._st[0].rx_frames and not rig.checker._st[0].tx


# -- injected faults ----------------------------------------------------------------------------
def used_len_fault(ring_base: int, size: int, new_len: int):  # type: ignore[no-untyped-def]
    def fault(addr: int, data: bytes) -> bytes:
        if ring_base <= addr < ring_base + 16 * size and (addr - ring_base) % 16 == 8 and len(data) == 6:
            return new_len.to_bytes(4, "little") + data[4:]
        return data
    return fault


def test_wrong_used_len_is_reported_with_slot() -> None:
    rig, drv, ring = blk_rig()
    rig.taps[1].fault = used_len_fault(ring.desc_addr, 16, 77)  # type: ignore[attr-defined]
    blk_request(rig, drv, ring, 0, 3, 512)
    with pytest.raises(CheckError) as ei:
        rig.notify(1, 0)
    m = ei.value.mismatch
    assert (m.check, m.function, m.queue, m.slot, m.expected, m.actual) == ("used", 1, 0, 0, 513, 77)


def test_write_flag_must_follow_len() -> None:
    rig, drv, ring = blk_rig()

    def fault(addr: int, data: bytes) -> bytes:
        if addr == ring.desc_addr + 14:  # type: ignore[attr-defined]
            return (int.from_bytes(data, "little") & ~2).to_bytes(2, "little")
        return data
    rig.taps[1].fault = fault
    blk_request(rig, drv, ring, 4, 0, 0)
    with pytest.raises(CheckError, match="WRITE iff len > 0"):
        rig.notify(1, 0)


def test_wrong_wrap_bits_reported() -> None:
    rig, drv, ring = blk_rig()

    def fault(addr: int, data: bytes) -> bytes:
        if addr == ring.desc_addr + 14:  # type: ignore[attr-defined]
            return (int.from_bytes(data, "little") & ~0x8000).to_bytes(2, "little")
        return data
    rig.taps[1].fault = fault
    blk_request(rig, drv, ring, 4, 0, 0)
    with pytest.raises(CheckError) as ei:
        rig.notify(1, 0)
    assert ei.value.mismatch.expected == 0x8080 and ei.value.mismatch.actual == 0x0080


def test_corrupted_read_data_reported() -> None:
    rig, drv, ring = blk_rig()

    def fault(addr: int, data: bytes) -> bytes:
        return bytes([data[0] ^ 0xFF]) + data[1:] if len(data) == 512 else data
    rig.taps[1].fault = fault
    blk_request(rig, drv, ring, 0, 5, 512)
    with pytest.raises(CheckError) as ei:
        rig.notify(1, 0)
    assert ei.value.mismatch.check == "data" and ei.value.mismatch.queue == 0


def test_missing_notification_reported_after_deadline() -> None:
    rig, drv, ring = blk_rig()
    rig.drop_irqs = True
    blk_request(rig, drv, ring, 4, 0, 0)
    rig.notify(1, 0)
    assert rig.checker.check_deadlines(rig.clock.t) == []  # not overdue yet
    with pytest.raises(CheckError) as ei:
        rig.checker.check_deadlines(rig.clock.t + 10_000)
    m = ei.value.mismatch
    assert (m.check, m.function, m.queue) == ("notification", 1, 0)


def test_masked_vector_defers_the_deadline_until_unmask() -> None:
    rig, drv, ring = blk_rig(raise_on_mismatch=False)
    rig.write(1, Region.MSIX_TABLE, 16 + 12, 4, 1)  # mask vector 1 (the queue's)
    rig.drop_irqs = True
    blk_request(rig, drv, ring, 4, 0, 0)
    rig.notify(1, 0)
    assert rig.checker.check_deadlines(rig.clock.t + 100_000) == []  # pending bit carries it
    rig.write(1, Region.MSIX_TABLE, 16 + 12, 4, 0)  # unmask; the replay is dropped too
    unmask_t = rig.clock.t
    assert rig.checker.check_deadlines(unmask_t + 1_000) == []
    out = rig.checker.check_deadlines(unmask_t + 3_000)
    assert [m.check for m in out] == ["notification"]


def test_message_on_masked_vector_reported() -> None:
    rig, drv, ring = blk_rig()
    rig.write(1, Region.MSIX_TABLE, 16 + 12, 4, 1)
    with pytest.raises(CheckError, match="masked vector"):
        rig.checker.on_msix_message(1, 0xFEE0_0010, 0x4101, rig.clock.tick())


def test_spurious_notification_is_legal_and_classified() -> None:
    rig, drv, ring = blk_rig()
    rep = rig.checker.on_msix_message(1, 0xFEE0_0010, 0x4101, rig.clock.tick())
    assert rep is not None and rep.queues[0].kind == NotificationClass.SPURIOUS


def test_dma_outside_handed_over_memory() -> None:
    rig, drv, ring = blk_rig()
    with pytest.raises(CheckError) as ei:
        rig.checker.on_dma_write(1, 0x7777_0000, b"\0" * 4, rig.clock.tick())
    assert ei.value.mismatch.check == "dma"


def test_dma_with_wrong_requester_is_an_isolation_error() -> None:
    rig = Rig({0: blk_cfg(), 1: blk_cfg()})
    rings = {}
    for fid in (0, 1):
        d = rig.driver(fid)
        d.alloc = BumpAllocator(base=0x100_0000 * (fid + 1))  # disjoint host memory per function
        d.negotiate(BLK)
        rings[fid] = (d, d.setup_queue(0, 8, True))
        d.driver_ok()
    d0, r0 = rings[0]
    status = d0.alloc.alloc(1)
    hdr = d0.alloc.alloc(16)
    rig.mem.write(hdr, struct.pack("<IIQ", 4, 0, 0))
    r0.add(out=[(hdr, 16)], in_=[(status, 1)])
    rig.checker.on_notify(0, 0, rig.clock.tick())
    with pytest.raises(CheckError) as ei:
        rig.checker.on_dma_write(1, status, b"\0", rig.clock.tick())
    m = ei.value.mismatch
    assert m.check == "isolation" and m.function == 1 and "fn 0" in m.detail


def test_no_dma_before_driver_ok() -> None:
    rig = Rig({1: blk_cfg()})
    d = rig.driver(1)
    d.negotiate(BLK)
    ring = d.setup_queue(0, 8, True)
    with pytest.raises(CheckError, match="DRIVER_OK"):
        rig.checker.on_dma_read(1, ring.desc_addr, bytes(16), rig.clock.tick())  # type: ignore[union-attr]


def test_register_read_mismatch() -> None:
    rig, drv, ring = blk_rig()
    with pytest.raises(CheckError) as ei:
        rig.checker.on_register_read(1, Region.COMMON, Reg.NUM_QUEUES, 2, 2, rig.clock.tick())
    assert (ei.value.mismatch.expected, ei.value.mismatch.actual) == (1, 2)
    with pytest.raises(CheckError):
        rig.checker.on_register_read(1, Region.DEVICE, 0, 8, 127, rig.clock.tick())  # capacity is 128


def test_status_reads_during_reset_are_tolerated() -> None:
    rig, drv, ring = blk_rig()
    rig.checker.on_register_write(1, Region.COMMON, Reg.DEVICE_STATUS, 1, 0, rig.clock.tick())
    assert rig.checker.on_register_read(1, Region.COMMON, Reg.DEVICE_STATUS, 1, 0x0F, rig.clock.tick()) is None
    assert rig.checker.on_register_read(1, Region.COMMON, Reg.DEVICE_STATUS, 1, 0, rig.clock.tick()) is None
    with pytest.raises(CheckError):
        rig.checker.on_register_read(1, Region.COMMON, Reg.DEVICE_STATUS, 1, 0x0F, rig.clock.tick())


def test_malformed_request_needs_reset_is_expected() -> None:
    rig, drv, ring = blk_rig()
    hdr, status = drv.alloc.alloc(16), drv.alloc.alloc(1)  # type: ignore[attr-defined]
    ring.add(out=[(hdr, 8)], in_=[(status, 1)])  # type: ignore[attr-defined]
    rig.notify(1, 0)  # the DUT sets NEEDS_RESET and sends the config notification
    assert rig.read(1, Region.COMMON, Reg.DEVICE_STATUS, 1) == 0x4F
    assert rig.checker.reports[-1].config == NotificationClass.REQUIRED
    assert rig.finish() == []


def test_unexpected_and_corrupted_tx_frames() -> None:
    rig = Rig({0: net_cfg()})
    drv = rig.driver(0)
    drv.negotiate(NET)
    for vq in range(5):
        drv.setup_queue(vq, 16, True)
    drv.driver_ok()
    tx = drv.rings[1]
    frame = bytes(range(64))
    buf = drv.alloc.alloc(76)
    rig.mem.write(buf, NetHdr().pack() + frame)
    tx.add(out=[(buf, 76)])
    rig.write(0, Region.NOTIFY, 0, 2, 1)
    rig.dut.tx_frames.clear()  # the port "loses" the frame
    with pytest.raises(CheckError, match="unexpected TX frame"):
        rig.checker.on_tx_packet(frame[:-1] + b"\xFF", rig.clock.tick(), 0)
    rig.checker.mismatches.clear()
    rig.checker.opts = CheckerOptions(raise_on_mismatch=False)
    found = rig.checker.finish(rig.clock.tick())
    assert [m.check for m in found] == ["tx"] and "never left the port" in found[0].detail


def test_rx_frame_in_wrong_place_or_filtered() -> None:
    rig = Rig({0: net_cfg()}, CheckerOptions(raise_on_mismatch=False))
    drv = rig.driver(0)
    drv.negotiate(NET)
    rings = [drv.setup_queue(vq, 16, True) for vq in range(5)]
    drv.driver_ok()
    rings[0].add(in_=[(drv.alloc.alloc(256), 256)])
    frame = bytes.fromhex("525400000010") + bytes(60)
    rig.taps[0].fault = lambda a, d: bytes([d[0] ^ 1]) + d[1:] if len(d) > 40 else d
    rig.receive(0, frame)
    assert [m.check for m in rig.checker.mismatches] == ["rx"]


def test_backend_op_nobody_asked_for() -> None:
    from pymodel.blk import BackendOp, BackendOpKind
    rig, drv, ring = blk_rig()
    with pytest.raises(CheckError, match="backend"):
        rig.checker.on_backend_op(1, BackendOp(BackendOpKind.WRITE, 3, 1, bytes(512)), rig.clock.tick())


def test_link_change_owes_a_config_notification() -> None:
    rig = Rig({0: net_cfg()}, CheckerOptions(raise_on_mismatch=False))
    drv = rig.driver(0)
    rig.enable_msix(0, 5)
    drv.negotiate(NET)
    drv.write(Region.COMMON, Reg.CONFIG_MSIX_VECTOR, 2, 4)
    drv.driver_ok()
    rig.checker.on_link(0, False, rig.clock.tick())
    rig.deliver(0, rig.dut.set_link(0, False))
    assert rig.checker.reports[-1].config == NotificationClass.REQUIRED
    assert rig.read(0, Region.DEVICE, 6, 2) == 0
    rig.checker.on_link(0, True, rig.clock.tick())  # this time the DUT stays silent
    assert [m.check for m in rig.checker.check_deadlines(rig.clock.t + 10_000)] == ["notification"]


def test_flr_returns_function_to_reset_values() -> None:
    rig, drv, ring = blk_rig()
    rig.checker.on_flr(1, rig.clock.tick())
    rig.dut.flr(1)
    assert rig.read(1, Region.COMMON, Reg.DEVICE_STATUS, 1) == 0
    assert rig.read(1, Region.COMMON, Reg.QUEUE_ENABLE, 2) == 0
    assert rig.read(1, Region.MSIX_TABLE, 12, 4) == 1  # vector 0 masked again
    assert rig.checker.model(1).msix.control_read() == 1  # disabled, 2 vectors


def test_strict_disable_flags_a_notification_after_a_disable_read() -> None:
    """strict_disable: a queue MSI-X after the device read DISABLE (and owed nothing) is a mismatch."""
    for strict in (False, True):
        rig, drv, ring = blk_rig(strict_disable=strict)
        ring.disable_cb()  # type: ignore[attr-defined]
        blk_request(rig, drv, ring, 4, 0, 0)
        rig.notify(1, 0)  # used write, then the evaluation reads DISABLE: nothing sent
        assert ring.drain()  # type: ignore[attr-defined]
        if not strict:
            rep = rig.checker.on_msix_message(1, 0xFEE0_0010, 0x4101, rig.clock.tick())
            assert rep is not None and rep.queues[0].kind == NotificationClass.SPURIOUS
            continue
        with pytest.raises(CheckError, match="DISABLE") as ei:
            rig.checker.on_msix_message(1, 0xFEE0_0010, 0x4101, rig.clock.tick())
        assert (ei.value.mismatch.check, ei.value.mismatch.queue) == ("notification", 0)


def test_dma_fault_makes_needs_reset_and_config_notification_expected() -> None:
    """After on_dma_fault, DEVICE_NEEDS_RESET reads and the config MSI-X are right; before, they are mismatches."""
    rig, drv, ring = blk_rig()
    with pytest.raises(CheckError):
        rig.checker.on_register_read(1, Region.COMMON, Reg.DEVICE_STATUS, 1, 0x4F, rig.clock.tick())
    rig, drv, ring = blk_rig()
    rig.checker.on_dma_fault(1, "completer abort", rig.clock.tick())
    rep = rig.checker.on_msix_message(1, 0xFEE0_0000, 0x4100, rig.clock.tick())
    assert rep is not None and rep.config == NotificationClass.REQUIRED
    assert rig.checker.on_register_read(1, Region.COMMON, Reg.DEVICE_STATUS, 1, 0x4F, rig.clock.tick()) is None


def test_write_dropped_by_a_reset_leaves_its_sectors_unspecified() -> None:
    """A blk OUT the model took but the device never performed (its backend write still expected when
    the FLR / device reset drops it) leaves those sectors unspecified, as after DISCARD (virtio.md §1.3):
    a later read of them is not compared; other sectors still are."""
    from pymodel.blk import BackendOp, BackendOpKind
    from pymodel.checker import _OpExpect
    rig, drv, ring = blk_rig()
    st = rig.checker._st[1]
    st.ops.append(_OpExpect(0, None, BackendOp(BackendOpKind.WRITE, 40, 2, bytes(1024))))  # type: ignore[arg-type]
    rig.checker.on_flr(1, rig.clock.tick())
    assert rig.checker._discarded(1, 40, 2) and rig.checker._discarded(1, 41, 1)
    assert not rig.checker._discarded(1, 39, 1) and not rig.checker._discarded(1, 42, 1)
    assert st.ops == []
