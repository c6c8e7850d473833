"""Small helpers every bench uses: simulation-time stamps for failure
messages, tolerant signal reads, and pause generators for cocotbext-axi."""

from __future__ import annotations

import random
from typing import Iterator

from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge


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


async def serve_buffer_ram(dut, rd_ram: bytearray, wr_ram: bytearray) -> None:
    """The buffer-RAM client ports of a ring/blk engine as a Python model (runs forever).

    ``buf_wr_en/addr/be/data`` (row numbers, byte enables) store into ``wr_ram``;
    ``buf_rd_en/addr`` return the row of ``rd_ram`` on ``buf_rd_data`` one cycle later.
    """
    while True:
        await RisingEdge(dut.clk)
        if int(dut.buf_wr_en.value):
            row = int(dut.buf_wr_addr.value)
            be = int(dut.buf_wr_be.value)
            data = int(dut.buf_wr_data.value).to_bytes(64, "little")
            for i in range(64):
                if be >> i & 1:
                    wr_ram[64 * row + i] = data[i]
        if int(dut.buf_rd_en.value):
            row = int(dut.buf_rd_addr.value)
            dut.buf_rd_data.value = int.from_bytes(rd_ram[64 * row:64 * row + 64], "little")
