#!/usr/bin/env python3
"""Merge JUnit XML files (e.g. one per farm shard) into one, with totals.

    ci/merge_junit.py -o build/junit-merged.xml build/shard-*/junit-*.xml
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()
    merged = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    time = 0.0
    for path in args.inputs:
        for suite in ET.parse(path).getroot().iter("testsuite"):
            merged.append(suite)
            for k in totals:
                totals[k] += int(suite.get(k, 0))
            time += float(suite.get("time", 0))
    for k, v in totals.items():
        merged.set(k, str(v))
    merged.set("time", f"{time:.3f}")
    ET.ElementTree(merged).write(args.output, encoding="utf-8", xml_declaration=True)
    bad = totals["failures"] + totals["errors"]
    print(f"{totals['tests']} tests, {bad} failed, {totals['skipped']} skipped -> {args.output}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
