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
from tests.rtl.test_device import SRIOV as SRIOV_BENCH  # noqa: E402
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
    return net(seed)


def net(seed: int) -> int:
    """virtio-net TX/RX throughput at 64/512/1500 B, TLPs per packet, interrupts against coalescing."""
    out = BUILD / "bench" / "net.json"
    bench = Bench(DEVICE_BENCH.toplevel, "tb.device.bench_net", DEVICE_BENCH.sources, DEVICE_BENCH.parameters)
    bench.run("bench_net", SimOptions(seed=seed), extra_env={"BENCH_OUT": str(out)})
    res = json.loads(out.read_text())
    rows = res["throughput"]
    print()
    print("virtio-net, one queue pair (ring 256, MRG_RXBUF 2 KiB buffers), firmware in the loop, Gen3 x16 (126.0 Gbps raw)")
    hdr = f"{'dir':<4} {'bytes':>6} {'packets':>8} {'sim Gbps':>9} {'sim Mpps':>9} {'% link':>7} {'wall pps':>9}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['dir']:<4} {r['size']:>6} {r['packets']:>8} {r['gbps']:>9.2f} {r['mpps']:>9.3f} "
              f"{r['link_pct']:>6.1f}% {r['wall_pps']:>9.1f}")
    kinds = sorted({k for r in rows for k in r["tlps_per_packet"]})
    print()
    print("PCIe TLPs per packet, by kind")
    print(f"{'dir':<4} {'bytes':>6} " + " ".join(f"{k:>15}" for k in kinds))
    for r in rows:
        print(f"{r['dir']:<4} {r['size']:>6} " + " ".join(f"{r['tlps_per_packet'].get(k, 0):>15.2f}" for k in kinds))
    print()
    print("RX interrupt coalescing (NOTF_COAL RX_SET), bursts of 64-byte frames")
    hdr = f"{'max_packets':>11} {'max_usecs':>9} {'frames':>7} {'MSI-X':>6} {'per 1000 pkts':>14}"
    print(hdr)
    print("-" * len(hdr))
    for c in res["coalescing"]:
        print(f"{c['max_packets']:>11} {c['max_usecs']:>9} {c['frames']:>7} {c['irqs']:>6} {c['irqs_per_1000']:>14.1f}")
    print(f"\nresults: {out}")
    return sriov(seed)


def sriov(seed: int) -> int:
    """Every PF and VF of the default build active at once: per-function and aggregate throughput."""
    out = BUILD / "bench" / "sriov.json"
    bench = Bench(SRIOV_BENCH.toplevel, "tb.device.bench_sriov", SRIOV_BENCH.sources, SRIOV_BENCH.parameters)
    bench.run("bench_sriov", SimOptions(seed=seed), extra_env={"BENCH_OUT": str(out)})
    res = json.loads(out.read_text())
    print()
    print(f"SR-IOV, all {len(res['functions'])} functions at once (PF0 net + 4 VFs TX 1500 B, PF1 blk + 4 VFs "
          f"4 KiB reads), one Gen3 x16 link ({res['link_gbps']:.1f} Gbps raw)")
    hdr = f"{'fn':>3} {'kind':<9} {'VF':>3} {'bytes':>8} {'done us':>8} {'sim Gbps':>9}"
    print(hdr)
    print("-" * len(hdr))
    for r in res["functions"]:
        print(f"{r['fn']:>3} {r['kind']:<9} {'yes' if r['vf'] else 'no':>3} {r['bytes']:>8} {r['done_us']:>8.1f} "
              f"{r['gbps']:>9.2f}")
    print(f"aggregate: {res['total_bytes']} B in {res['sim_us']:.1f} us simulated = {res['aggregate_gbps']:.2f} Gbps "
          f"({res['link_pct']:.1f}% of the link); wall {res['wall_s']:.1f} s")
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
