#!/usr/bin/env python3
"""`make bench`: run the benchmark benches and print their tables.

Simulated throughput is deterministic (bytes over simulated time, compared
with the link rate the PCIe model serialises at); wall-clock MB/s says how
fast the simulation itself runs on this machine and varies with load.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.simrun import BUILD, Bench, SimOptions  # noqa: E402
from tests.rtl.test_device import BENCH as DEVICE_BENCH  # noqa: E402
from tests.rtl.test_shell import SHELL_PARAMS, SHELL_SOURCES  # noqa: E402


def main() -> int:
    seed = int(os.environ.get("SEED") or random.SystemRandom().randrange(1, 2**31))
    out = BUILD / "bench" / "dma.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    bench = Bench("vio_shell_top", "tb.shell.bench_dma", SHELL_SOURCES, SHELL_PARAMS)
    print(f"bench: seed {seed}")
    bench.run("bench_dma", SimOptions(seed=seed), extra_env={"BENCH_OUT": str(out)})
    rows = json.loads(out.read_text())
    print()
    print("DMA throughput, 256 KiB in 4 KiB descriptors, Gen3 x16 link (126.0 Gbps raw per direction)")
    hdr = f"{'transfer':<10} {'MPS':>5} {'MRRS':>5} {'sim Gbps':>9} {'% link':>7} {'sim us':>8} {'wall MB/s':>10} {'MemRd':>6} {'MemWr':>6}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['kind']:<10} {r['mps']:>5} {r['mrrs']:>5} {r['gbps']:>9.1f} {r['link_pct']:>6.1f}% "
              f"{r['sim_ns'] / 1e3:>8.2f} {r['wall_mbps']:>10.3f} {r['tlps']['mem_rd']:>6} {r['tlps']['mem_wr']:>6}")
    print(f"\nresults: {out}")
    return blk(seed)


def blk(seed: int) -> int:
    """virtio-blk 4 KiB IOPS through the whole device, TLPs per request by kind."""
    out = BUILD / "bench" / "blk.json"
    bench = Bench(DEVICE_BENCH.toplevel, "tb.device.bench_blk", DEVICE_BENCH.sources, DEVICE_BENCH.parameters)
    bench.run("bench_blk", SimOptions(seed=seed), extra_env={"BENCH_OUT": str(out)})
    rows = json.loads(out.read_text())
    print()
    print("virtio-blk, 4 KiB requests, 32 in flight on one queue (MPS 256, MRRS 512), Gen3 x16 (126.0 Gbps raw)")
    hdr = f"{'request':<18} {'sim IOPS':>10} {'sim GB/s':>9} {'% link':>7} {'sim us':>8} {'wall IOPS':>10}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['kind']:<18} {r['iops']:>10.0f} {r['gbyte_s']:>9.2f} {r['link_pct']:>6.1f}% "
              f"{r['sim_ns'] / 1e3:>8.1f} {r['wall_iops']:>10.1f}")
    kinds = sorted({k for r in rows for k in r["tlps_per_request"]})
    print()
    print("PCIe TLPs per request, by kind (upstream requests; MSI-X are posted writes too)")
    print(f"{'request':<18} " + " ".join(f"{k:>15}" for k in kinds))
    for r in rows:
        print(f"{r['kind']:<18} " + " ".join(f"{r['tlps_per_request'].get(k, 0):>15.2f}" for k in kinds))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
