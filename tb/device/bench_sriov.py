"""SR-IOV aggregate benchmark (`make bench`), not a test: it measures.

The default build with every function active at once (PF0 net + its 4 VFs
transmitting 1500-byte frames, PF1 blk + its 4 VFs reading 4 KiB blocks, one
queue each, the driver keeping the ring full): per-function and aggregate
payload throughput in simulated time (deterministic) against the Gen3 x16
link every function shares, the share each function got, and wall time.
The scoreboard checks every transaction, as in the tests. Results go to the
JSON file named by $BENCH_OUT.
"""

from __future__ import annotations

import json
import os
import random
import time

import cocotb
from cocotb.simtime import get_sim_time

from tb.device.bench import DeviceBench
from tb.device.net_driver import NetDriver
from tb.device.test_device_sriov import BLK_T_IN, pfs_up, vfs_up, wait_tx

LINK_GBPS = 8.0 * 16 * 128 / 130
BLK_REQS, BLK_BYTES = 8, 4096
NET_FRAMES, NET_BYTES = 16, 1500


@cocotb.test(timeout_time=200, timeout_unit="ms")
async def bench_sriov(dut):
    tb = DeviceBench(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    drv = await pfs_up(tb)
    for pf in range(tb.num_pf):
        drv.update(await vfs_up(tb, pf, tb.funcs[pf].total_vfs))
    wall0, t0 = time.monotonic(), get_sim_time("ns")
    moved: dict[int, int] = {}
    blk_reqs = {}
    for f, d in drv.items():
        if isinstance(d, NetDriver):
            for _ in range(NET_FRAMES):
                d.tx_post(b"\xff" * 6 + tb.funcs[f].mac + b"\x08\x00" + rnd.randbytes(NET_BYTES - 14), vq=1)
            await d.dev.kick(1)
            moved[f] = NET_FRAMES * NET_BYTES
        else:
            cap = tb.funcs[f].capacity
            blk_reqs[f] = [d.prepare(BLK_T_IN, rnd.randrange(0, cap - 8), in_len=BLK_BYTES) for _ in range(BLK_REQS)]
            for r in blk_reqs[f]:
                d.post(r)
            await d.dev.kick(0)
            moved[f] = BLK_REQS * BLK_BYTES
    done: dict[int, float] = {}
    for f, d in drv.items():
        if isinstance(d, NetDriver):
            await wait_tx(d, timeout_us=5000)
        else:
            await tb.complete_all(d, timeout_us=5000)
        done[f] = get_sim_time("ns")
    t1, wall = get_sim_time("ns"), time.monotonic() - wall0
    total = sum(moved.values())
    rows = [{"fn": f, "kind": "net TX" if isinstance(drv[f], NetDriver) else "blk read",
             "vf": tb.funcs[f].is_vf, "bytes": moved[f],
             "gbps": moved[f] * 8 / (done[f] - t0), "done_us": (done[f] - t0) / 1000} for f in sorted(drv)]
    res = {"functions": rows, "total_bytes": total, "sim_us": (t1 - t0) / 1000,
           "aggregate_gbps": total * 8 / (t1 - t0), "link_gbps": LINK_GBPS,
           "link_pct": 100 * total * 8 / (t1 - t0) / LINK_GBPS, "wall_s": wall,
           "tlps": dict(tb.host.counts)}
    with open(os.environ.get("BENCH_OUT", "bench_sriov.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    await tb.finish()
