"""virtio-net benchmark (`make bench`), not a test: it measures.

Through the whole device with the real firmware serving the control queue:

* TX and RX throughput with 64, 512 and 1500 byte frames on one queue pair
  (ring of 256, the driver keeping it full): simulated Gbps and Mpps
  (deterministic) against the Gen3 x16 link, wall time, and PCIe TLPs per
  packet by kind (descriptor reads, used writes, event reads, data, MSI-X);
* interrupt coalescing: a burst of RX frames for several (max_packets,
  max_usecs) settings set with NOTF_COAL RX_SET, MSI-X messages per thousand
  packets.

The scoreboard checks every transaction, as in the tests. Results go to the
JSON file named by $BENCH_OUT.
"""

from __future__ import annotations

import json
import os
import random
import struct
import time
from collections import Counter

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer

from tb.device.bench import DeviceBench
from tb.device.net_driver import NetDriver
from tb.device.test_device_net import BCAST, frame, mac_str

LINK_GBPS = 8.0 * 16 * 128 / 130
SIZES = (64, 512, 1500)
COUNT = {64: 256, 512: 128, 1500: 64}
COAL = ((0, 0), (4, 20), (16, 20), (64, 20), (16, 5), (256, 200))
COAL_FRAMES = 256


class NetTlpClassifier:
    """Counts upstream TLPs of one function by what they touch."""

    def __init__(self, drv: NetDriver) -> None:
        self.drv = drv
        self.counts: Counter = Counter()

    def tap(self, func: int, write: bool, addr: int, data: bytes, t: float) -> None:
        if func != self.drv.dev.fid:
            return
        for vq in self.drv.dev.vqs.values():
            r = vq.ring
            if r.desc_addr <= addr < r.desc_addr + 16 * r.size:
                self.counts["used write" if write else "descriptor read"] += 1
                return
            if addr == r.driver_area:
                self.counts["event read"] += 1
                return
        self.counts["data write" if write else "data read"] += 1


async def tx_run(tb: DeviceBench, drv: NetDriver, size: int, cls: NetTlpClassifier, rnd: random.Random) -> dict:
    n = COUNT[size]
    frames = [frame(rnd, BCAST, size) for _ in range(n)]
    dev = drv.dev
    cls.counts.clear()
    msix0 = tb.host.counts.get("msix", 0)
    sent0 = len(tb.tx_frames[dev.fid])
    t_wall, t_sim = time.perf_counter(), get_sim_time("ns")
    pending = list(frames)
    while pending or drv.tx_inflight[1]:
        while pending and dev.vqs[1].ring.outstanding < dev.vqs[1].size:
            drv.tx_post(pending.pop(0), vq=1)
        await dev.kick(1)
        await Timer(1, "us")
        drv.tx_reap(1)
    while len(tb.tx_frames[dev.fid]) - sent0 < n:
        await Timer(100, "ns")
    sim_ns = get_sim_time("ns") - t_sim
    wall = time.perf_counter() - t_wall
    return _row("TX", size, n, sim_ns, wall, cls, tb.host.counts.get("msix", 0) - msix0)


async def rx_run(tb: DeviceBench, drv: NetDriver, size: int, cls: NetTlpClassifier, rnd: random.Random) -> dict:
    n = COUNT[size]
    me = mac_str(tb.funcs[drv.dev.fid].mac)
    frames = [frame(rnd, me, size) for _ in range(n)]
    cls.counts.clear()
    drv.received.clear()
    msix0 = tb.host.counts.get("msix", 0)
    t_wall, t_sim = time.perf_counter(), get_sim_time("ns")
    for fr in frames:
        await tb.rx_send(drv.dev.fid, fr)
    while len(drv.received) < n:
        drv.rx_reap(0)
        await drv.dev.kick(0)
        await Timer(500, "ns")
    sim_ns = get_sim_time("ns") - t_sim
    wall = time.perf_counter() - t_wall
    assert sorted(r.frame for r in drv.received) == sorted(frames)
    return _row("RX", size, n, sim_ns, wall, cls, tb.host.counts.get("msix", 0) - msix0)


def _row(kind: str, size: int, n: int, sim_ns: float, wall: float, cls: NetTlpClassifier, msix: int) -> dict:
    tlps = {k: v / n for k, v in sorted(cls.counts.items())}
    tlps["MSI-X"] = msix / n
    gbps = n * size * 8 / sim_ns
    return {"dir": kind, "size": size, "packets": n, "sim_ns": sim_ns, "gbps": gbps, "mpps": n / sim_ns * 1e3,
            "link_pct": 100 * gbps / LINK_GBPS, "wall_s": wall, "wall_pps": n / wall, "tlps_per_packet": tlps}


async def coal_run(tb: DeviceBench, drv: NetDriver, pkts: int, usecs: int, rnd: random.Random) -> dict:
    ack, _ = await drv.ctrl(6, 1, struct.pack("<II", pkts, usecs))
    assert ack == 0
    me = mac_str(tb.funcs[drv.dev.fid].mac)
    vec = drv.dev.vqs[0].vector
    drv.received.clear()
    n0 = drv.dev.irq_count[vec]
    t_sim = get_sim_time("ns")
    for _ in range(COAL_FRAMES):
        await tb.rx_send(drv.dev.fid, frame(rnd, me, 64))
    while len(drv.received) < COAL_FRAMES:
        drv.rx_reap(0)
        await drv.dev.kick(0)
        await Timer(1, "us")
    await Timer(max(usecs, 1) + 5, "us")
    irqs = drv.dev.irq_count[vec] - n0
    return {"max_packets": pkts, "max_usecs": usecs, "frames": COAL_FRAMES, "irqs": irqs,
            "irqs_per_1000": 1000 * irqs / COAL_FRAMES, "sim_us": (get_sim_time("ns") - t_sim) / 1000}


@cocotb.test()
async def bench_net(dut):
    tb = DeviceBench(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    await tb.init()
    await tb.start_firmware()
    drv = NetDriver(tb.drv[tb.net_fids[0]], rx_buf_size=2048)
    await drv.init(queue_size=256, pairs=1)
    cls = NetTlpClassifier(drv)
    tb.host.dma_taps.append(cls.tap)
    rows = []
    for size in SIZES:
        rows.append(await tx_run(tb, drv, size, cls, rnd))
    for size in SIZES:
        rows.append(await rx_run(tb, drv, size, cls, rnd))
    coal = [await coal_run(tb, drv, p, u, rnd) for p, u in COAL]
    await tb.finish()
    with open(os.environ.get("BENCH_OUT", "bench_net.json"), "w") as fh:
        json.dump({"throughput": rows, "coalescing": coal}, fh, indent=1)
