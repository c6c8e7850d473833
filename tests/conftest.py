"""pytest options shared by every test; each has a Makefile variable of the same name.

    --seed N        SEED=N       seed for every random test (default: fresh, printed)
    --test GLOB     TEST=GLOB    run only cocotb tests / pytest tests matching (comma list)
    --waves         WAVES=1      dump an FST per RTL test, print its path
    --sim-args S    SIM_ARGS=S   extra arguments for the simulator executable
    --sim NAME      SIM=NAME     verilator (default) or icarus
    --shard I/N     SHARD=I/N    run only shard I (1-based) of N, split by test id (for farms)
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import random
import shlex

import pytest

from tests.simrun import SimOptions


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("virtio bench")
    g.addoption("--seed", default=os.environ.get("SEED") or None, help="random seed (SEED)")
    g.addoption("--test", default=os.environ.get("TEST") or None, help="test name glob(s), comma separated (TEST)")
    g.addoption("--waves", action="store_true", default=os.environ.get("WAVES", "0") not in ("", "0"),
                help="write an FST per RTL test (WAVES=1)")
    g.addoption("--sim-args", default=os.environ.get("SIM_ARGS", ""), help="extra simulator arguments (SIM_ARGS)")
    g.addoption("--sim", default=os.environ.get("SIM", "verilator"), help="simulator (SIM)")
    g.addoption("--shard", default=os.environ.get("SHARD") or None, help="I/N: run shard I of N (SHARD)")


def _seed(config: pytest.Config) -> int:
    if not hasattr(config, "_vio_seed"):
        raw = config.getoption("--seed")
        config._vio_seed = int(raw, 0) if raw else random.SystemRandom().randrange(1, 2**31)
    return config._vio_seed


def pytest_configure(config: pytest.Config) -> None:
    # xdist workers inherit the controller's seed through the environment
    if os.environ.get("VIO_SEED"):
        config._vio_seed = int(os.environ["VIO_SEED"])
    os.environ["VIO_SEED"] = str(_seed(config))


def pytest_report_header(config: pytest.Config) -> str:
    return f"seed: {_seed(config)}   (rerun with SEED={_seed(config)})"


def _in_shard(nodeid: str, shard: str) -> bool:
    """Stable split by test id: the same test always lands in the same shard."""
    i, n = (int(x) for x in shard.split("/"))
    return int(hashlib.sha1(nodeid.encode()).hexdigest(), 16) % n == i - 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = config.getoption("--shard")
    if shard:
        drop = [i for i in items if not _in_shard(i.nodeid, shard)]
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = [i for i in items if _in_shard(i.nodeid, shard)]
    pattern = config.getoption("--test")
    if not pattern:
        return
    globs = [p.strip() for p in pattern.split(",") if p.strip()]

    def wanted(item: pytest.Item) -> bool:
        names = [item.name, item.nodeid]
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            names += [str(v) for v in callspec.params.values()]
        return any(fnmatch.fnmatch(n, g) or fnmatch.fnmatch(n, f"*{g}*") for n in names for g in globs)

    keep = [i for i in items if wanted(i)]
    drop = [i for i in items if not wanted(i)]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The run's seed; tests that use Python randomness seed from it."""
    return _seed(request.config)


@pytest.fixture
def sim_opts(request: pytest.FixtureRequest) -> SimOptions:
    cfg = request.config
    return SimOptions(
        seed=_seed(cfg),
        waves=bool(cfg.getoption("--waves")),
        sim_args=shlex.split(cfg.getoption("--sim-args") or ""),
        sim=cfg.getoption("--sim"),
    )
