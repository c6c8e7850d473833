"""virtio-net end to end on vio_device_top, with the real firmware serving the control plane.

Every test boots the firmware (firmware/, host build, in a thread through
cocotb's bridge) against the management port, brings the net function up
through the driver model (tb/device/net_driver.py, virtio_net.c's
sequence) and lets pymodel's Checker judge every register access, DMA,
MSI-X message and frame on the network port. Frames are built with scapy.
"""

from __future__ import annotations

import random
import struct
from dataclasses import replace

import cocotb
from cocotb.triggers import Timer
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from pymodel.features import NetFeature as N
from pymodel.function import Region
from pymodel.net import NetHdr, NetHdrFlag
from tb.device.bench import DeviceBench
from tb.device.net_driver import HDR, VIRTIO_NET_ERR, VIRTIO_NET_OK, NetDriver
from tb.util import now

BCAST = "ff:ff:ff:ff:ff:ff"


def rnd_of(tb: DeviceBench) -> random.Random:
    return random.Random(cocotb.RANDOM_SEED)


def mac_str(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def frame(rnd: random.Random, dst: str, size: int, proto: str = "udp", vlan: int = -1) -> bytes:
    """An Ethernet frame of ``size`` bytes (>= 60) to ``dst``: IPv4 + UDP/TCP + random payload."""
    l2 = Ether(dst=dst, src="02:00:00:00:00:01")
    if vlan >= 0:
        l2 = l2 / Dot1Q(vlan=vlan)
    l4 = UDP(sport=rnd.randrange(1024, 65536), dport=4789) if proto == "udp" else \
        TCP(sport=rnd.randrange(1024, 65536), dport=80, seq=rnd.getrandbits(32))
    base = l2 / IP(src="10.0.0.1", dst="10.0.0.2") / l4
    pad = max(0, size - len(bytes(base)))
    return bytes(base / Raw(rnd.randbytes(pad)))


async def net_up(tb: DeviceBench, **kw) -> NetDriver:
    """Firmware boot, then virtnet_probe/open on the net function."""
    await tb.init()
    await tb.start_firmware()
    f = tb.net_fids[0]
    drv = NetDriver(tb.drv[f], rx_buf_size=kw.pop("rx_buf_size", 1536), tx_split_hdr=kw.pop("tx_split_hdr", False))
    await drv.init(**kw)
    return drv


async def wait_rx(tb: DeviceBench, drv: NetDriver, count: int, timeout_us: float = 400) -> None:
    """Reap every RX queue until ``count`` frames arrived in total."""
    waited = 0.0
    while len(drv.received) < count:
        for q in drv.rx_posted:
            drv.rx_reap(q)
            await drv.dev.kick(q)
        if len(drv.received) >= count:
            break
        await Timer(2, "us")
        waited += 2
        assert waited < timeout_us, f"{now()}: fn {drv.dev.fid}: {len(drv.received)} of {count} frames received"


async def wait_tx(tb: DeviceBench, drv: NetDriver, timeout_us: float = 400) -> None:
    """Until every TX buffer is used and every frame has left the port."""
    waited = 0.0
    while any(drv.tx_inflight.values()):
        for q in drv.tx_inflight:
            drv.tx_reap(q)
        await Timer(2, "us")
        waited += 2
        assert waited < timeout_us, f"{now()}: fn {drv.dev.fid}: TX buffers not used: " \
                                    f"{ {q: sorted(d) for q, d in drv.tx_inflight.items() if d} }"


# ------------------------------------------------------------------------------------------------ tests
@cocotb.test(timeout_time=3, timeout_unit="ms")
async def test_net_bringup(dut):
    """Firmware provisions MAC / LINK_UP / pairs; the driver reads config, sets 2 pairs; one frame each way."""
    tb = DeviceBench(dut)
    drv = await net_up(tb)
    dev, fc = drv.dev, tb.funcs[drv.dev.fid]
    mac = bytes([await dev.rd(Region.DEVICE, i, 1) for i in range(6)])
    assert mac == fc.mac, f"{now()}: fn {dev.fid}: config mac {mac.hex()}, expected {fc.mac.hex()}"
    assert await dev.rd(Region.DEVICE, 6, 2) & 1, f"{now()}: fn {dev.fid}: LINK_UP not set after provisioning"
    assert await dev.rd(Region.DEVICE, 8, 2) == fc.max_pairs
    assert await dev.rd(Region.DEVICE, 10, 2) == 1500
    rnd = rnd_of(tb)
    out = frame(rnd, BCAST, 200)
    drv.tx_post(out, vq=1)
    await dev.kick(1)
    await wait_tx(tb, drv)
    inn = frame(rnd, mac_str(fc.mac), 300)
    await tb.rx_send(dev.fid, inn)
    await wait_rx(tb, drv, 1)
    assert drv.received[0].frame == inn, f"{now()}: RX frame differs"
    assert tb.tx_frames[dev.fid] == [(1, out)], f"{now()}: TX port saw {tb.tx_frames[dev.fid]}"
    await tb.finish()


@cocotb.test(timeout_time=10, timeout_unit="ms")
async def test_net_tx(dut):
    """Random frames on both transmit queues, header pushed or split, CSUM offload on TCP/UDP: byte exact on the wire."""
    tb = DeviceBench(dut)
    rnd = rnd_of(tb)
    drv = await net_up(tb, tx_split_hdr=rnd.random() < 0.5)
    sent = {1: [], 3: []}
    for i in range(40):
        vq = rnd.choice((1, 3))
        proto = rnd.choice(("udp", "tcp"))
        fr = frame(rnd, BCAST, rnd.randrange(60, 1515), proto)
        hdr = NetHdr()
        if rnd.random() < 0.5:      # NEEDS_CSUM: the pseudo-header sum in place, like Linux
            fr = bytearray(fr)
            l4 = 34
            off = 6 if proto == "udp" else 16
            struct.pack_into(">H", fr, l4 + off, rnd.getrandbits(16))
            fr = bytes(fr)
            hdr = NetHdr(flags=NetHdrFlag.NEEDS_CSUM, csum_start=l4, csum_offset=off)
        drv.tx_post(fr, vq=vq, hdr=hdr)
        sent[vq].append(fr)
        if rnd.random() < 0.3:
            await drv.dev.kick(vq)
    for vq in sent:
        await drv.dev.kick(vq)
    await wait_tx(tb, drv, 2000)
    per_q = {vq: [f for q, f in tb.tx_frames[drv.dev.fid] if q == vq] for vq in sent}
    for vq in sent:
        assert len(per_q[vq]) == len(sent[vq]), f"{now()}: vq {vq}: {len(per_q[vq])} frames on the port, sent {len(sent[vq])}"
    await tb.finish()


@cocotb.test(timeout_time=10, timeout_unit="ms")
async def test_net_rx_mergeable(dut):
    """MRG_RXBUF with 256-byte buffers: frames up to 1514 span 1..7 buffers; num_buffers and bytes exact."""
    tb = DeviceBench(dut)
    rnd = rnd_of(tb)
    drv = await net_up(tb, rx_buf_size=256, queue_size=128)
    me = mac_str(tb.funcs[drv.dev.fid].mac)
    sent = []
    for i in range(24):
        fr = frame(rnd, rnd.choice((me, BCAST)), rnd.choice((60, 244, 245, 500, 1000, 1514, rnd.randrange(60, 1515))))
        await tb.rx_send(drv.dev.fid, fr, hint=rnd.randrange(256))
        sent.append(fr)
    await wait_rx(tb, drv, len(sent), 2000)
    got = sorted(r.frame for r in drv.received)
    assert got == sorted(sent), f"{now()}: received frames differ from those sent"
    nbs = [r.num_buffers for r in drv.received]
    for r in drv.received:
        exp = -(-(len(r.frame) + HDR) // 256)
        assert r.num_buffers == exp, f"{now()}: vq {r.vq}: num_buffers {r.num_buffers}, expected {exp} for {len(r.frame)} B"
    tb.log.info("num_buffers seen: %s; queues %s", sorted(set(nbs)), sorted({r.vq for r in drv.received}))
    assert {r.vq for r in drv.received} <= {0, 2}
    await tb.finish()


@cocotb.test(timeout_time=10, timeout_unit="ms")
async def test_net_rx_small_buffers(dut):
    """Without MRG_RXBUF: one buffer per frame; a frame that does not fit is dropped and the buffer kept (QEMU)."""
    tb = DeviceBench(dut)
    rnd = rnd_of(tb)
    f = tb.net_fids[0]
    want = tb.funcs[f].features & ~(1 << N.MRG_RXBUF)
    drv = await net_up(tb, rx_buf_size=HDR + 600, want=want, queue_size=16)
    tb.sb.checker.opts = replace(tb.sb.checker.opts, allow_rx_drops=True)   # drops are counted and asserted below
    me = mac_str(tb.funcs[f].mac)
    ok = [frame(rnd, me, rnd.randrange(60, 601)) for _ in range(6)]
    big = frame(rnd, me, 900)
    drops0 = int(dut.stat_rx_drop_nobuf.value)
    for fr in ok[:3] + [big] + ok[3:]:
        await tb.rx_send(f, fr)
    await wait_rx(tb, drv, len(ok))
    await tb.idle(500)
    assert sorted(r.frame for r in drv.received) == sorted(ok)
    assert int(dut.stat_rx_drop_nobuf.value) - drops0 == 1, f"{now()}: the too-big frame was not counted as a drop"
    await tb.finish()


@cocotb.test(timeout_time=10, timeout_unit="ms")
async def test_net_rx_no_buffers(dut):
    """RX with no buffer posted: frames dropped and counted, nothing hangs; after posting, frames flow again."""
    tb = DeviceBench(dut)
    rnd = rnd_of(tb)
    f = tb.net_fids[0]
    drv = await net_up(tb, rx_fill=0)
    tb.sb.checker.opts = replace(tb.sb.checker.opts, allow_rx_drops=True)   # drops are counted and asserted below
    me = mac_str(tb.funcs[f].mac)
    drops0 = int(dut.stat_rx_drop_nobuf.value)
    for _ in range(5):
        await tb.rx_send(f, frame(rnd, me, 100))
    await tb.rx_drain()
    await tb.idle(2000)
    assert int(dut.stat_rx_drop_nobuf.value) - drops0 == 5, f"{now()}: drops {int(dut.stat_rx_drop_nobuf.value) - drops0}"
    for q in drv.rx_posted:
        drv.fill_rx(q, 8)
        await drv.dev.kick(q)
    later = [frame(rnd, me, 200) for _ in range(3)]
    for fr in later:
        await tb.rx_send(f, fr)
    await wait_rx(tb, drv, 3)
    assert sorted(r.frame for r in drv.received) == sorted(later)
    await tb.finish()


@cocotb.test(timeout_time=10, timeout_unit="ms")
async def test_net_ctrl_commands(dut):
    """Every control class through the firmware; the checker compares ack/result bytes with pymodel's NetCtrl."""
    tb = DeviceBench(dut)
    drv = await net_up(tb)
    ctrl = drv.ctrl
    assert (await ctrl(0, 0, b"\x00"))[0] == VIRTIO_NET_OK           # PROMISC off
    assert (await ctrl(0, 1, b"\x01"))[0] == VIRTIO_NET_OK           # ALLMULTI on
    assert (await ctrl(0, 9, b"\x01"))[0] == VIRTIO_NET_ERR          # unknown RX command
    uni = bytes.fromhex("020000000001")
    table = struct.pack("<I", 1) + uni + struct.pack("<I", 0)
    assert (await ctrl(1, 0, table))[0] == VIRTIO_NET_OK             # MAC TABLE_SET
    assert (await ctrl(1, 1, b"\x01\x02"))[0] == VIRTIO_NET_ERR      # short ADDR_SET
    assert (await ctrl(2, 0, struct.pack("<H", 100)))[0] == VIRTIO_NET_OK   # VLAN ADD
    assert (await ctrl(2, 1, struct.pack("<H", 100)))[0] == VIRTIO_NET_OK   # VLAN DEL
    assert (await ctrl(3, 0))[0] == VIRTIO_NET_OK                    # ANNOUNCE ACK
    assert (await ctrl(4, 0, struct.pack("<H", 1)))[0] == VIRTIO_NET_OK     # VQ_PAIRS_SET 1
    assert (await ctrl(4, 0, struct.pack("<H", 9)))[0] == VIRTIO_NET_ERR    # > max pairs
    assert (await ctrl(5, 0, struct.pack("<Q", 1 << N.GUEST_CSUM)))[0] == VIRTIO_NET_OK
    assert (await ctrl(6, 1, struct.pack("<II", 8, 40)))[0] == VIRTIO_NET_OK          # RX_SET
    assert (await ctrl(6, 2, struct.pack("<HHII", 1, 0, 4, 20)))[0] == VIRTIO_NET_OK  # VQ_SET vq 1
    ack, res = await ctrl(6, 3, struct.pack("<H", 1), result_len=8)                   # VQ_GET vq 1
    assert ack == VIRTIO_NET_OK and res == struct.pack("<II", 4, 20), f"{now()}: VQ_GET {ack} {res.hex()}"
    assert (await ctrl(6, 2, struct.pack("<HHII", 4, 0, 4, 20)))[0] == VIRTIO_NET_ERR  # controlq is not a data vq
    assert (await ctrl(6, 2, struct.pack("<HHII", 2, 0, 4, 20)))[0] == VIRTIO_NET_OK   # vq 2 (pair 1, enabled)
    assert (await ctrl(77, 0))[0] == VIRTIO_NET_ERR                  # unknown class
    assert (await ctrl(6, 1, bytes(300)))[0] == VIRTIO_NET_ERR       # oversized payload (beyond the mailbox)
    new_mac = bytes.fromhex("525400a0b0c9")
    assert (await ctrl(1, 1, new_mac))[0] == VIRTIO_NET_OK           # ADDR_SET: config mac follows (§6.4)
    mac = bytes([await drv.dev.rd(Region.DEVICE, i, 1) for i in range(6)])
    assert mac == new_mac, f"{now()}: config mac {mac.hex()} after ADDR_SET {new_mac.hex()}"
    await tb.finish()


@cocotb.test(timeout_time=10, timeout_unit="ms")
async def test_net_rx_filter(dut):
    """PROMISC off + MAC table: frames to other addresses are dropped (counted), ours and broadcast delivered."""
    tb = DeviceBench(dut)
    rnd = rnd_of(tb)
    drv = await net_up(tb)
    f = drv.dev.fid
    extra = bytes.fromhex("020000000077")
    assert (await drv.ctrl(0, 0, b"\x00"))[0] == VIRTIO_NET_OK
    table = struct.pack("<I", 1) + extra + struct.pack("<I", 0)
    assert (await drv.ctrl(1, 0, table))[0] == VIRTIO_NET_OK
    me = mac_str(tb.funcs[f].mac)
    good = [frame(rnd, me, 100), frame(rnd, BCAST, 120), frame(rnd, mac_str(extra), 140)]
    bad = [frame(rnd, "02:00:00:00:00:99", 100), frame(rnd, "01:00:5e:00:00:01", 100)]
    f0 = int(dut.stat_rx_drop_filter.value)
    for fr in good[:2] + bad + good[2:]:
        await tb.rx_send(f, fr)
    await wait_rx(tb, drv, len(good))
    await tb.idle(1000)
    assert sorted(r.frame for r in drv.received) == sorted(good)
    assert int(dut.stat_rx_drop_filter.value) - f0 == len(bad)
    await tb.finish()


@cocotb.test(timeout_time=10, timeout_unit="ms")
async def test_net_link_change(dut):
    """The firmware drops and restores the link: config_generation moves, config MSI-X each time."""
    tb = DeviceBench(dut)
    drv = await net_up(tb)
    dev = drv.dev
    for up in (False, True):
        n0 = dev.irq_count[0]
        gen0 = await dev.rd(Region.COMMON, 0x15, 1)
        await tb.set_link(dev.fid, up)
        assert await dev.wait_irq(0, 50), f"{now()}: no config interrupt after link {'up' if up else 'down'}"
        assert dev.irq_count[0] == n0 + 1
        assert (await dev.rd(Region.DEVICE, 6, 2) & 1) == int(up)
        assert await dev.rd(Region.COMMON, 0x15, 1) != gen0
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_net_coalescing(dut):
    """RX_SET 8 packets / 30 us through the firmware: a burst of 32 frames gives a few RX interrupts, none
    before the condition (pymodel classifies each one, §6.6); 3 more frames are notified by the timer, within
    the bound the checker enforces."""
    tb = DeviceBench(dut)
    rnd = rnd_of(tb)
    drv = await net_up(tb, pairs=1, queue_size=64)
    f = drv.dev.fid
    me = mac_str(tb.funcs[f].mac)
    assert (await drv.ctrl(6, 1, struct.pack("<II", 8, 30)))[0] == VIRTIO_NET_OK
    vec = drv.dev.vqs[0].vector
    n0 = drv.dev.irq_count[vec]
    for _ in range(32):
        await tb.rx_send(f, frame(rnd, me, 64))
    await tb.rx_drain()
    await Timer(40, "us")
    irqs = drv.dev.irq_count[vec] - n0
    await wait_rx(tb, drv, 32)
    tb.log.info("32 frames, max_packets 8 / max_usecs 30: %d RX interrupts", irqs)
    assert 1 <= irqs <= 8, f"{now()}: {irqs} RX interrupts for 32 frames with max_packets 8"
    n1 = drv.dev.irq_count[vec]
    for _ in range(3):                 # fewer than max_packets: only the timer can notify
        await tb.rx_send(f, frame(rnd, me, 64))
    await wait_rx(tb, drv, 35)
    await Timer(45, "us")
    assert drv.dev.irq_count[vec] > n1, f"{now()}: 3 frames under max_packets 8 never notified (timer, 30 us)"
    # the device counts max_usecs on its microsecond clock: up to 1 us early is its documented resolution
    early = [(r.time, m) for r in tb.sb.checker.reports if r.function == f
             for vq, m in r.coalescing_margin.items() if vq == 0 and m < -1000]
    assert not early, f"fn {f} vq 0: MSI-X before the coalescing condition was met: (t, margin ns) {early[:4]}"
    await tb.finish()


@cocotb.test(timeout_time=10, timeout_unit="ms")
async def test_net_tx_bad_inputs(dut):
    """A TX buffer shorter than the header: DEVICE_NEEDS_RESET + config MSI-X (§1.3); a frame over the wire limit: dropped."""
    tb = DeviceBench(dut)
    rnd = rnd_of(tb)
    drv = await net_up(tb)
    dev = drv.dev
    d0 = int(dut.stat_tx_drop_count.value)
    big = frame(rnd, BCAST, 9100)            # longer than NET_MAX_FRAME (9018): dropped, used len 0
    drv.tx_post(big, vq=1)
    await dev.kick(1)
    await wait_tx(tb, drv)
    await tb.idle(200)
    assert int(dut.stat_tx_drop_count.value) - d0 == 1, f"{now()}: oversize TX frame not counted"
    assert all(f != big for _, f in tb.tx_frames[dev.fid])
    short = dev.alloc.alloc(8, 8)
    dev.mem.write(short, bytes(8))
    dev.vqs[3].ring.add([(short, 8)], [])     # 8 bytes < the 12-byte header
    await dev.kick(3)
    assert await dev.wait_irq(0, 50), f"{now()}: no config interrupt after a short TX buffer"
    assert await dev.status() & 0x40, f"{now()}: DEVICE_NEEDS_RESET not set"
    await dev.reset()
    await tb.finish()
