"""The software Device end to end: a test driver talks to it through registers and rings."""

from __future__ import annotations

import struct

import pytest

from pymodel.blk_config import BlkConfig
from pymodel.common_cfg import Reg
from pymodel.device import Device, RxDelivery
from pymodel.disk import Disk
from pymodel.features import BlkFeature as B, DeviceType, NetFeature as N, Transport as T, mask
from pymodel.function import FunctionConfig, Region
from pymodel.memory import SparseMemory
from pymodel.msix import Delivery
from pymodel.net import NetConfig, NetHdr
from pymodel.packed_driver import PackedRingDriver

from .support import DriverSide

pytestmark = pytest.mark.model

BLK_FEATS = mask(T.VERSION_1, T.RING_PACKED, T.EVENT_IDX, T.INDIRECT_DESC, B.FLUSH, B.SEG_MAX)
NET_FEATS = mask(T.VERSION_1, T.RING_PACKED, T.EVENT_IDX, N.MAC, N.CSUM, N.MRG_RXBUF, N.CTRL_VQ,
                 N.CTRL_RX, N.MQ, N.STATUS, N.NOTF_COAL, N.VQ_NOTF_COAL, N.CTRL_MAC_ADDR)


def blk_device(packed: bool = True) -> tuple[Device, DriverSide]:
    mem = SparseMemory()
    disk = Disk(image=bytearray(b"".join(bytes([s]) * 512 for s in range(32))))
    feats = BLK_FEATS if packed else BLK_FEATS & ~mask(T.RING_PACKED)
    dev = Device({1: FunctionConfig(DeviceType.BLK, feats, [64], msix_vectors=2, disk=disk,
                                    blk=BlkConfig(seg_max=60), serial="SN1")}, mem)
    drv = DriverSide(lambda r, o, w: dev.read(1, r, o, w), lambda r, o, w, v: dev.write(1, r, o, w, v), mem)
    return dev, drv


def msix_on(dev: Device, fid: int, vectors: int) -> None:
    for v in range(vectors):
        dev.write(fid, Region.MSIX_TABLE, 16 * v, 4, 0xFEE0_0000 + 16 * v)
        dev.write(fid, Region.MSIX_TABLE, 16 * v + 8, 4, 0x100 + v)
        dev.write(fid, Region.MSIX_TABLE, 16 * v + 12, 4, 0)
    dev.msix_control_write(fid, 1 << 15)


@pytest.mark.parametrize("packed", [True, False])
def test_blk_read_write_flush_with_msix(packed: bool) -> None:
    dev, drv = blk_device(packed)
    msix_on(dev, 1, 2)
    feats = BLK_FEATS if packed else BLK_FEATS & ~mask(T.RING_PACKED)
    assert drv.negotiate(feats) == 0x0B
    assert drv.read(Region.DEVICE, 0, 8) == 32  # capacity from the disk
    ring = drv.setup_queue(0, 16, packed, event_idx=True, vector=1)
    drv.driver_ok()
    hdr, data, status = drv.alloc.alloc(16), drv.alloc.alloc(1024), drv.alloc.alloc(1)
    drv.mem.write(hdr, struct.pack("<IIQ", 0, 0, 4))
    ring.add(out=[(hdr, 16)], in_=[(data, 1024), (status, 1)])
    irqs = dev.notify(1, 0)
    assert [(i.source, i.delivery, i.message.data if i.message else None) for i in irqs] == [
        (0, Delivery.SENT, 0x101)]
    assert drv.mem.read(data, 1024) == bytes([4]) * 512 + bytes([5]) * 512
    assert drv.mem.read(status, 1) == b"\x00"
    u = ring.get_used()
    assert u is not None and u.len == 1025
    # OUT through an indirect table, then FLUSH
    hdr2, table = drv.alloc.alloc(16), drv.alloc.alloc(48, 16)
    drv.mem.write(hdr2, struct.pack("<IIQ", 1, 0, 9))
    drv.mem.write(data, b"\x77" * 512)
    ring.add(out=[(hdr2, 16), (data, 512)], in_=[(status, 1)], indirect_table=table)
    dev.notify(1, 0)
    blk = dev.fn(1).blk
    assert blk is not None and blk.disk.read(9, 1) == b"\x77" * 512
    assert ring.get_used() is not None


def test_notify_ignored_before_driver_ok_and_for_disabled_queue() -> None:
    dev, drv = blk_device()
    drv.negotiate(BLK_FEATS)
    ring = drv.setup_queue(0, 8, True)
    hdr, status = drv.alloc.alloc(16), drv.alloc.alloc(1)
    drv.mem.write(hdr, struct.pack("<IIQ", 8, 0, 0))
    ring.add(out=[(hdr, 16)], in_=[(status, 1)])
    assert dev.notify(1, 0) == [] and ring.get_used() is None  # before DRIVER_OK
    assert dev.notify(1, 5) == []  # no such queue
    drv.driver_ok()  # buffers made available earlier are served now
    assert ring.get_used() is not None


def test_malformed_chain_sets_needs_reset_and_config_interrupt() -> None:
    dev, drv = blk_device()
    msix_on(dev, 1, 2)
    drv.negotiate(BLK_FEATS)
    drv.write(Region.COMMON, Reg.CONFIG_MSIX_VECTOR, 2, 0)
    ring = drv.setup_queue(0, 8, True, vector=1)
    drv.driver_ok()
    assert isinstance(ring, PackedRingDriver)
    hdr, status = drv.alloc.alloc(16), drv.alloc.alloc(1)
    drv.mem.write(hdr, struct.pack("<IIQ", 8, 0, 0))
    ring.add(out=[(hdr, 16)], in_=[(status, 1)])  # a good request first
    ring.add(out=[(hdr, 8)], in_=[(status, 1)])  # short header
    irqs = dev.notify(1, 0)
    assert [i.source for i in irqs] == [0, None]  # used notification, then config change
    assert irqs[1].message is not None and irqs[1].message.vector == 0
    assert drv.read(Region.COMMON, Reg.DEVICE_STATUS, 1) == 0x4F
    assert drv.read(Region.ISR, 0, 1) == 0x2 and drv.read(Region.ISR, 0, 1) == 0  # read clears
    assert len(ring.drain()) == 1
    assert dev.notify(1, 0) == []  # a device that needs reset does nothing


def test_intx_mode_sets_isr_bit0() -> None:
    dev, drv = blk_device()
    drv.negotiate(BLK_FEATS)
    ring = drv.setup_queue(0, 8, True)
    drv.driver_ok()
    hdr, status = drv.alloc.alloc(16), drv.alloc.alloc(1)
    drv.mem.write(hdr, struct.pack("<IIQ", 4, 0, 0))
    ring.add(out=[(hdr, 16)], in_=[(status, 1)])
    irqs = dev.notify(1, 0)
    assert irqs[0].delivery == Delivery.INTX
    assert drv.read(Region.ISR, 0, 1) == 1


def net_device() -> tuple[Device, DriverSide]:
    mem = SparseMemory()
    cfg = FunctionConfig(DeviceType.NET, NET_FEATS, [256, 256, 256, 256, 64], msix_vectors=6,
                         net=NetConfig(mac=bytes.fromhex("525400000001"), max_virtqueue_pairs=2))
    dev = Device({0: cfg}, mem)
    drv = DriverSide(lambda r, o, w: dev.read(0, r, o, w), lambda r, o, w, v: dev.write(0, r, o, w, v), mem)
    return dev, drv


def test_net_tx_rx_ctrl() -> None:
    dev, drv = net_device()
    msix_on(dev, 0, 6)
    assert drv.negotiate(NET_FEATS) == 0x0B
    rx = drv.setup_queue(0, 64, True, event_idx=True, vector=0)
    tx = drv.setup_queue(1, 64, True, event_idx=True, vector=1)
    rx1 = drv.setup_queue(2, 64, True, vector=2)
    drv.setup_queue(3, 64, True, vector=3)
    ctrl = drv.setup_queue(4, 16, True, vector=4)
    drv.driver_ok()
    # TX
    frame = bytes.fromhex("ffffffffffff020000000001") + b"\x08\x00" + bytes(50)
    buf = drv.alloc.alloc(12 + len(frame))
    drv.mem.write(buf, NetHdr().pack() + frame)
    tx.add(out=[(buf, 12 + len(frame))])
    irqs = dev.notify(0, 1)
    assert dev.tx_frames[-1].frame == frame and irqs[0].source == 1
    # RX with mergeable buffers
    for _ in range(4):
        rx.add(in_=[(drv.alloc.alloc(64), 64)])
    big = bytes(range(100))
    res, irqs = dev.receive(0, big)
    assert res == RxDelivery.PLACED and irqs[0].source == 0
    used = rx.drain()
    assert [u.len for u in used] == [64, 48]
    # ctrl: VQ_PAIRS_SET 2 then RX on pair 1
    cmd, ack = drv.alloc.alloc(4), drv.alloc.alloc(1)
    drv.mem.write(cmd, bytes([4, 0]) + struct.pack("<H", 2))
    ctrl.add(out=[(cmd, 4)], in_=[(ack, 1)])
    dev.notify(0, 4)
    assert drv.mem.read(ack, 1) == b"\x00"
    res, _ = dev.receive(0, big, pair=1)
    assert res == RxDelivery.QUEUED  # no buffers yet on pair 1
    rx1.add(in_=[(drv.alloc.alloc(256), 256)])
    irqs = dev.notify(0, 2)
    assert [u.len for u in rx1.drain()] == [112]
    # filtering after PROMISC off
    drv.mem.write(cmd, bytes([0, 0, 0]))
    ctrl.add(out=[(cmd, 3)], in_=[(ack, 1)])
    dev.notify(0, 4)
    assert dev.receive(0, bytes.fromhex("020000000099") + bytes(60))[0] == RxDelivery.FILTERED
    assert dev.receive(0, bytes.fromhex("525400000001") + bytes(60))[0] == RxDelivery.PLACED


def test_link_change_bumps_generation_and_notifies() -> None:
    dev, drv = net_device()
    msix_on(dev, 0, 6)
    drv.negotiate(NET_FEATS)
    drv.write(Region.COMMON, Reg.CONFIG_MSIX_VECTOR, 2, 5)
    drv.driver_ok()
    gen = drv.read(Region.COMMON, Reg.CONFIG_GENERATION, 1)
    irqs = dev.set_link(0, False)
    assert irqs[0].message is not None and irqs[0].message.data == 0x105
    assert drv.read(Region.DEVICE, 6, 2) == 0
    assert drv.read(Region.COMMON, Reg.CONFIG_GENERATION, 1) == gen + 1


def test_notify_for_existing_but_disabled_queue_ignored() -> None:
    dev, drv = net_device()
    drv.negotiate(NET_FEATS)
    tx = drv.setup_queue(1, 16, True)
    drv.write(Region.COMMON, Reg.QUEUE_SELECT, 2, 3)  # queue 3 exists (num_queues 5) but is not enabled
    assert drv.read(Region.COMMON, Reg.QUEUE_SIZE, 2) == 256
    drv.driver_ok()
    assert dev.notify(0, 3) == [] and dev.notify(0, 0) == []
    frame = bytes(60)
    buf = drv.alloc.alloc(72)
    drv.mem.write(buf, NetHdr().pack() + frame)
    tx.add(out=[(buf, 72)])
    dev.notify(0, 1)
    assert [t.frame for t in dev.tx_frames] == [frame]


def test_queue_reset_and_reenable_reverts_to_rx_set_values() -> None:
    """§6.6: a vq disabled and re-enabled reverts to the last TX_SET/RX_SET values, not its old VQ_SET."""
    mem = SparseMemory()
    feats = NET_FEATS | mask(T.RING_RESET)
    cfg = FunctionConfig(DeviceType.NET, feats, [64, 64, 64, 64, 16], msix_vectors=6,
                         net=NetConfig(max_virtqueue_pairs=2))
    dev = Device({0: cfg}, mem)
    drv = DriverSide(lambda r, o, w: dev.read(0, r, o, w), lambda r, o, w, v: dev.write(0, r, o, w, v), mem)
    assert drv.negotiate(feats) == 0x0B
    for vq in range(4):
        drv.setup_queue(vq, 64, True)
    ctrl = drv.setup_queue(4, 16, True)
    drv.driver_ok()

    def command(payload: bytes) -> None:
        cmd, ack = drv.alloc.alloc(len(payload)), drv.alloc.alloc(1)
        drv.mem.write(cmd, payload)
        ctrl.add(out=[(cmd, len(payload))], in_=[(ack, 1)])
        dev.notify(0, 4)
        assert drv.mem.read(ack, 1) == b"\x00"

    command(bytes([6, 1]) + struct.pack("<II", 4, 40))                      # RX_SET 4 pkts / 40 us
    command(bytes([6, 2]) + struct.pack("<HHII", 0, 0, 16, 100))            # VQ_SET rx0 16 / 100
    assert dev.fn(0).queues[0].coalescing.params.max_packets == 16
    drv.write(Region.COMMON, Reg.QUEUE_SELECT, 2, 0)
    drv.write(Region.COMMON, Reg.QUEUE_RESET, 2, 1)
    drv.setup_queue(0, 64, True)                                             # re-enabled
    p = dev.fn(0).queues[0].coalescing.params
    assert (p.max_packets, p.max_usecs) == (4, 40)
