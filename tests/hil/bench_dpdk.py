"""Benchmark (not a test): pymodel's net device under DPDK txonly, against DPDK's net_vhost.

    .venv/bin/python tests/hil/bench_dpdk.py [--seconds 5] [--ring packed|split|both]

The same driver (testpmd with net_virtio_user, txonly, forwarding lcore on
CPU 1) transmits as fast as it can into

1. pymodel's whole :class:`pymodel.device.Device` (through
   :class:`~pymodel.vhost_user.model_device.VhostModelDevice`), served by
   :class:`~pymodel.vhost_user.VhostUserServer` in this process (pinned to
   CPU 0): rate = frames counted on the device's wire side;
2. the same with the thin adapter
   (:class:`~pymodel.vhost_user.net_device.VhostNetDevice`: pymodel's rings
   and net rules without the register/status/interrupt model);
3. DPDK's own vhost-user device (testpmd ``net_vhost``, rxonly, pinned to
   CPU 0): rate = its RX-packets counter.

All rates are measured over windows of the same length after a warm-up;
the pymodel rates are printed as a ratio to DPDK's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pymodel.vhost_user import VhostDevice, VhostUserServer  # noqa: E402
from pymodel.vhost_user.model_device import VhostModelDevice  # noqa: E402
from pymodel.vhost_user.net_device import VhostNetDevice  # noqa: E402
from tests.hil.env import build_dir, ensure_tools  # noqa: E402
from tests.hil.testpmd import TestPmd, vhost_vdev, virtio_user_vdev  # noqa: E402

DRIVER_LCORES = "0@1,1@1"
DEVICE_LCORES = "0@0,1@0"


def _driver(workdir: Path, sock: str, packed: bool, pkt_len: int, name: str) -> TestPmd:
    return TestPmd(workdir, virtio_user_vdev(sock, packed), name=name, lcores=DRIVER_LCORES,
                   args=["--forward-mode=txonly", f"--txpkts={pkt_len}"], deadline=120)


def bench_pymodel(dev: VhostModelDevice | VhostNetDevice, workdir: Path, sockdir: Path, packed: bool,
                  seconds: float, pkt_len: int) -> float:
    """Frames per second counted on pymodel's wire side."""
    device: VhostDevice = dev
    srv = VhostUserServer(str(sockdir / "pymodel.sock"), device).start()
    try:
        with _driver(workdir, srv.path, packed, pkt_len, "drv-pymodel") as drv:
            drv.cmd("start")
            time.sleep(1.0)
            n0, t0 = dev.counters.tx_packets, time.monotonic()
            time.sleep(seconds)
            n1, t1 = dev.counters.tx_packets, time.monotonic()
            drv.cmd("stop")
    finally:
        srv.stop()
    return (n1 - n0) / (t1 - t0)


def bench_dpdk_vhost(workdir: Path, sockdir: Path, packed: bool, seconds: float, pkt_len: int) -> float:
    """Frames per second received by DPDK's net_vhost (testpmd rxonly)."""
    sock = str(sockdir / "dpdk-vhost.sock")
    with TestPmd(workdir, vhost_vdev(sock), name="dev-vhost", lcores=DEVICE_LCORES, mem_mb=256,
                 args=["--forward-mode=rxonly"], deadline=120) as vh:
        vh.cmd("start")
        with _driver(workdir, sock, packed, pkt_len, "drv-vhost") as drv:
            drv.cmd("start")
            time.sleep(1.0)
            n0, t0 = vh.port_stats().get("RX-packets", 0), time.monotonic()
            time.sleep(seconds)
            n1, t1 = vh.port_stats().get("RX-packets", 0), time.monotonic()
            drv.cmd("stop")
        vh.cmd("stop")
    return (n1 - n0) / (t1 - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="measurement window per run")
    ap.add_argument("--ring", choices=("packed", "split", "both"), default="both")
    ap.add_argument("--pkt-len", type=int, default=64, help="txonly frame length (--txpkts)")
    args = ap.parse_args(argv)
    check = ensure_tools()
    if check.problem:
        print(f"cannot run: {check.problem}", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {0})  # the Python back-end runs on CPU 0, the driver on CPU 1
    workdir = build_dir() / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    rings = ("packed", "split") if args.ring == "both" else (args.ring,)
    print(f"DPDK txonly, {args.pkt_len}-byte frames, {args.seconds:.0f} s windows; logs in {workdir}")
    print(f"{'ring':7} {'Device pps':>11} {'thin pps':>10} {'net_vhost pps':>14} "
          f"{'Device/DPDK':>12} {'thin/DPDK':>10}")
    with tempfile.TemporaryDirectory(prefix="hilb-") as tmp:
        for ring in rings:
            packed = ring == "packed"
            model = bench_pymodel(VhostModelDevice.net(), workdir, Path(tmp), packed, args.seconds, args.pkt_len)
            thin = bench_pymodel(VhostNetDevice(), workdir, Path(tmp), packed, args.seconds, args.pkt_len)
            ref = bench_dpdk_vhost(workdir, Path(tmp), packed, args.seconds, args.pkt_len)
            r1 = model / ref if ref else float("nan")
            r2 = thin / ref if ref else float("nan")
            print(f"{ring:7} {model:11,.0f} {thin:10,.0f} {ref:14,.0f} {r1:12.5f} {r2:10.5f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
