"""Small helpers every bench uses: simulation-time stamps for failure
messages, tolerant signal reads, and pause generators for cocotbext-axi."""

from __future__ import annotations

import random
from typing import Iterator

from cocotb.simtime import get_sim_time


def now() -> str:
    """The simulation time, as failure messages print it: ``t=1234 ns``."""
    return f"t={get_sim_time('ns'):.0f} ns"


def as_int(value) -> int:
    """A signal value as an int; X/Z bits read as 0 (only seen before reset)."""
    try:
        return int(value)
    except ValueError:
        return int(value.resolve("zeros"))


def random_pause(prob: float) -> Iterator[bool]:
    """Endless pause pattern for ``set_pause_generator``: paused with probability ``prob``."""
    while True:
        yield random.random() < prob
