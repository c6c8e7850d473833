"""DMA throughput benchmark (`make bench`), not a test: it measures.

Streams back-to-back 4 KiB descriptors through the shell and reports, for
reads and writes and a few MPS/MRRS settings: simulated throughput (bytes
over simulated time, deterministic) against the Gen3 x16 link rate, wall-clock
MB/s (how fast the simulation runs), and TLPs by kind. Results go to the JSON
file named by $BENCH_OUT; ci/run_bench.py prints them.
"""

from __future__ import annotations

import json
import os
import random
import time

import cocotb
from cocotb.simtime import get_sim_time

from tb.shell.bench import DMA_OK, ShellBench

LINK_GBPS = 8.0 * 16 * 128 / 130  # Gen3: 8 GT/s per lane, 128b/130b, x16
DESC = 4096
TOTAL = 256 * 1024


async def _run(tb: ShellBench, kind: str, mps: int, mrrs: int) -> dict:
    await tb.set_mps_mrrs(mps, mrrs)
    tb.host.grant(0, tb.mem_base, TOTAL)
    if kind == "wr":
        await tb.buf_write(0, random.randbytes(min(TOTAL, tb.ram_size)))
    before = dict(tb.host.counts)
    t_wall, t_sim = time.perf_counter(), get_sim_time("ns")
    tags = []
    for k in range(TOTAL // DESC):
        off = k * DESC
        tags.append(await tb.dma_submit(kind, 0, tb.mem_base + off, off % tb.ram_size, DESC))
    for tag in tags:
        res = await tb.dma_wait(kind, tag)
        assert res.error == DMA_OK, f"bench {kind}: descriptor {tag} failed with {res.error}"
    sim_ns = get_sim_time("ns") - t_sim
    wall = time.perf_counter() - t_wall
    await tb.idle(200)  # posted writes still on the link when the last status came
    tlps = {k: tb.host.counts.get(k, 0) - before.get(k, 0) for k in ("mem_rd", "mem_wr", "msix")}
    gbps = TOTAL * 8 / sim_ns
    return {
        "kind": "DMA read" if kind == "rd" else "DMA write",
        "mps": mps, "mrrs": mrrs, "bytes": TOTAL, "descriptors": len(tags),
        "sim_ns": sim_ns, "gbps": gbps, "link_gbps": LINK_GBPS, "link_pct": 100 * gbps / LINK_GBPS,
        "wall_s": wall, "wall_mbps": TOTAL / wall / 1e6, "tlps": tlps,
    }


@cocotb.test()
async def bench_dma(dut):
    tb = ShellBench(dut)
    await tb.init(host_mem=TOTAL + 0x10000)
    tb.mem[0:TOTAL] = random.randbytes(TOTAL)
    results = []
    for kind in ("rd", "wr"):
        for mps, mrrs in ((256, 512), (512, 4096)):
            r = await _run(tb, kind, mps, mrrs)
            tb.log.info("%s", r)
            results.append(r)
    tb.check_host()
    out = os.environ.get("BENCH_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(results, f, indent=1)
