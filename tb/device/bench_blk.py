"""virtio-blk benchmark (`make bench`), not a test: it measures.

4 KiB IN (read) and OUT (write) requests through the whole device (ring
engine, blk engine, disk backend with no latency), 32 in flight on one queue
of 256 entries, the driver re-arming interrupts like Linux. Reports IOPS and
GB/s in simulated time (deterministic) against the Gen3 x16 link, wall time
(how fast the simulation runs), and PCIe TLPs per request by kind, classified
by the host address they touch. The scoreboard checks every transaction, as
in the tests. Results go to the JSON file named by $BENCH_OUT.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter

import cocotb
from cocotb.simtime import get_sim_time

from tb.device.bench import DeviceBench
from tb.device.virtio_pci import BLK_S_OK, BLK_T_IN, BLK_T_OUT

LINK_GBPS = 8.0 * 16 * 128 / 130
REQ = 4096
COUNT = 128
DEPTH = 32


class TlpClassifier:
    """Counts upstream TLPs by what they touch: ring, event areas, request header, data, status."""

    def __init__(self, tb: DeviceBench, f: int) -> None:
        self.tb, self.f = tb, f
        self.counts: Counter = Counter()
        self.hdrs: set[int] = set()
        self.status: set[int] = set()

    def tap(self, func: int, write: bool, addr: int, data: bytes, t: float) -> None:
        vq = self.tb.drv[self.f].vqs[0].ring
        if vq.desc_addr <= addr < vq.desc_addr + 16 * vq.size:
            kind = "used write" if write else "descriptor read"
        elif addr == vq.driver_area:
            kind = "event read"
        elif addr == vq.device_area:
            kind = "event write"
        elif addr in self.hdrs:
            kind = "header read"
        elif addr in self.status:
            kind = "status write"
        else:
            kind = "data write" if write else "data read"
        self.counts[kind] += 1


async def run(tb: DeviceBench, rtype: int, cls: TlpClassifier) -> dict:
    blk = tb.blk(0)
    d = tb.drv[0]
    reqs = []
    for k in range(COUNT):
        r = blk.prepare(rtype, 8 * (k % 256), out_data=random.randbytes(REQ) if rtype == BLK_T_OUT else b"",
                        in_len=REQ if rtype == BLK_T_IN else 0)
        cls.hdrs.add(r.hdr)
        cls.status.add(r.status)
        reqs.append(r)
    cls.counts.clear()
    msix0 = tb.host.counts.get("msix", 0)
    t_wall, t_sim = time.perf_counter(), get_sim_time("ns")
    pending = list(reqs)
    while pending or blk.inflight:
        while pending and len(blk.inflight) < DEPTH:
            blk.post(pending.pop(0))
        await d.kick(0)
        await tb.complete_all(blk)
    sim_ns = get_sim_time("ns") - t_sim
    wall = time.perf_counter() - t_wall
    assert all(r.result == BLK_S_OK for r in reqs)
    await tb.idle(200)
    tlps = {k: v / COUNT for k, v in sorted(cls.counts.items())}
    tlps["MSI-X"] = (tb.host.counts.get("msix", 0) - msix0) / COUNT
    gbps = COUNT * REQ * 8 / sim_ns
    return {"kind": "4 KiB read (IN)" if rtype == BLK_T_IN else "4 KiB write (OUT)", "requests": COUNT,
            "depth": DEPTH, "sim_ns": sim_ns, "iops": COUNT / (sim_ns * 1e-9), "gbps": gbps,
            "gbyte_s": gbps / 8, "link_pct": 100 * gbps / LINK_GBPS, "wall_s": wall,
            "wall_iops": COUNT / wall, "tlps_per_request": tlps}


@cocotb.test()
async def bench_blk(dut):
    tb = DeviceBench(dut)
    await tb.init()
    await tb.drv[0].init({0: 256})
    cls = TlpClassifier(tb, 0)
    tb.host.dma_taps.append(cls.tap)
    results = [await run(tb, BLK_T_IN, cls), await run(tb, BLK_T_OUT, cls)]
    await tb.finish()
    with open(os.environ.get("BENCH_OUT", "bench_blk.json"), "w") as fh:
        json.dump(results, fh, indent=1)
