"""Long randomized virtio-blk traffic on vio_device_top (`make regress`, marker slow).

Many seeds' worth of what test_device_blk.py does in short: random request
mixes on every queue of both functions, random ring sizes, indirect and
split data, a slow backend, resets in between; the scoreboard judges every
transaction. Rerun a failure with its SEED.
"""

from __future__ import annotations

import random

import cocotb

from tb.device.test_device_blk import check_results, run_io, start


@cocotb.test(timeout_time=400, timeout_unit="ms")
async def test_soak_random_io(dut):
    """Eight rounds: re-init with random sizes, random driver options, 60-120 requests per function."""
    tb = await start(dut, backend_latency=(0, 300))
    rnd = random.Random(cocotb.RANDOM_SEED)
    for rnd_no in range(8):
        for f in tb.blk_fids:
            nq = tb.funcs[f].num_queues
            sizes = {q: rnd.choice([3, 5, 8, 16, 31, 64, 255]) for q in range(rnd.randint(1, nq))}
            await tb.drv[f].init(sizes)
            blk = tb.blk(f, indirect=rnd.random() < 0.5, split_data=rnd.choice([0, 512, 1024, 1536]))
            done = await run_io(tb, f, blk, rnd, rnd.randint(60, 120), list(sizes), depth=rnd.randint(1, 8),
                                max_sectors=rnd.choice([1, 8, 24]))
            check_results(tb, f, done)
            tb.log.info("round %d fn %d: %d requests, sizes %s", rnd_no, f, len(done), sizes)
    await tb.finish()
