#!/usr/bin/env python3
"""Run a pytest selection the way `make sim` / `make test` / CI do, then print
the summary: tests run, passed, failed, skipped, simulated time, wall time.

    ci/run_tests.py --name sim -m "rtl and not slow" [-- extra pytest args]

Results: build/junit-<name>.xml (pytest, one testcase per test) and, per RTL
test, cocotb's results.xml under build/sim/ (with simulated time). The seed
is chosen here (or taken from SEED) so every xdist worker uses the same one.
Exit status is pytest's, except that "no test selected" is an error when a
TEST filter was given.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("BUILD_DIR", ROOT / "build")).resolve()


def cocotb_sim_time_ns(since: float) -> tuple[float, int]:
    """Total simulated time of the cocotb testcases that ran since `since`."""
    total, n = 0.0, 0
    for xml in (BUILD / "sim").glob("*/*/results.xml"):
        if xml.stat().st_mtime < since:
            continue
        for case in ET.parse(xml).getroot().iter("testcase"):
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            scale = {"fs": 1e-6, "ps": 1e-3, "ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
            dur = float(props.get("sim_time_duration") or case.get("sim_time_ns") or 0)
            total += dur * scale.get(props.get("sim_time_unit", "ns"), 1.0)
            n += 1
    return total, n


def junit_counts(path: Path) -> dict[str, int]:
    c = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if not path.exists():
        return c
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for k in c:
            c[k] += int(suite.get(k, 0))
    return c


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True, help="result set name (junit-<name>.xml)")
    ap.add_argument("-m", dest="marker", default="not slow", help="pytest marker expression")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS", "2")))
    ap.add_argument("rest", nargs="*", help="extra pytest arguments")
    args = ap.parse_args()

    seed = os.environ.get("SEED") or str(random.SystemRandom().randrange(1, 2**31))
    BUILD.mkdir(parents=True, exist_ok=True)
    junit = BUILD / f"junit-{args.name}.xml"
    cmd = [sys.executable, "-m", "pytest", "-m", args.marker, f"--seed={seed}",
           f"--junitxml={junit}", "-o", "junit_family=xunit2"]
    if args.jobs > 1:
        cmd += ["-n", str(args.jobs), "--dist", "load"]
    cmd += args.rest
    print(f"[{args.name}] seed {seed}  (rerun with SEED={seed})")
    print("[{}] {}".format(args.name, " ".join(cmd)), flush=True)
    t0 = time.time()
    rc = subprocess.call(cmd, cwd=ROOT)
    wall = time.time() - t0

    c = junit_counts(junit)
    failed = c["failures"] + c["errors"]
    passed = c["tests"] - failed - c["skipped"]
    sim_ns, sim_cases = cocotb_sim_time_ns(t0)
    print()
    print(f"==== {args.name} summary (seed {seed}) ====")
    print(f"tests run: {c['tests']}  passed: {passed}  failed: {failed}  skipped: {c['skipped']}")
    print(f"simulated time: {sim_ns / 1e3:.1f} us over {sim_cases} simulations   wall time: {wall:.1f} s")
    print(f"junit: {junit}")
    if rc == 5 and os.environ.get("TEST"):
        print(f"no test matched TEST={os.environ['TEST']}")
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
