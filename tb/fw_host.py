# SPDX-License-Identifier: Apache-2.0
"""The real firmware (host build, firmware/) in the loop with the RTL.

:class:`FirmwareHost` loads ``libvio_fw.so`` (built with
tests/firmware/fw_lib.py's ``build``), binds its HAL (vio_hal_host.h) to the
simulation and runs ``vio_fw_boot`` + a ``vio_fw_poll`` loop in a thread:

* ``hal_mmio_read32/write32`` -> a cocotbext-axi ``AxiLiteMaster`` on the
  DUT's ``s_axil_*`` port (optionally ``mmio_delay_cycles`` extra clock
  cycles per access: a slower core);
* ``hal_irq_wait(t)`` -> the DUT's ``irq`` output high, or ``t``
  microseconds of simulated time, or a host request (:meth:`call`,
  :meth:`stop`), whichever comes first;
* ``hal_time_us`` -> the DUT's ``time_us`` output (sim time if it has none).

The thread is a cocotb bridge thread (``cocotb.task.bridge``); each HAL
callback is a ctypes CFUNCTYPE that runs a coroutine through
``cocotb.task.resume`` and blocks until it finishes, so the C code only ever
runs while the scheduler waits for it.  C must not be entered from the
scheduler thread while the loop runs: :meth:`call` runs a function in the
firmware thread between two polls (e.g. ``vio_fw_set_link``).

Every register access is recorded (:meth:`trace` formats the last ones for
failure messages); ``served`` counts CTRLQ_DONE writes.

Usage (inside a cocotb test)::

    host = FirmwareHost(dut, board_funcs=[BoardFunc(mac, 2), BoardFunc(mac1, 2)])
    # one row per device function (DEV_FUNCS): PFs, then every possible VF
    # (BoardFunc(..., is_vf=True), or num_pf=...); vio_fw_boot checks both
    host.start()                 # cocotb.start_soon(bridge(host._run)())
    await host.booted()          # vio_fw_boot returned (raises if it failed)
    ...                          # drive the mailbox / function state
    await host.call(lambda lib, fw: lib.vio_fw_set_link(fw, 0, 0))
    await host.stop()            # the next poll returns -1; joins the thread
"""

from __future__ import annotations

import ctypes as C
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from tb.mgmt import regs as R

# ---------------------------------------------------------------------------- ctypes side
u8, u16, u32, u64 = C.c_uint8, C.c_uint16, C.c_uint32, C.c_uint64
MAX_FUNCS = 16  # VIO_FW_MAX_FUNCS of the default build

POLL_CTRLQ, POLL_FUNC_EVENT, POLL_TIMEOUT, POLL_OVERSIZE, POLL_STALE = 0x01, 0x02, 0x04, 0x08, 0x10


class BoardFuncC(C.Structure):
    """``vio_fw_board_func`` (firmware/include/vio_fw.h)."""

    _fields_ = [("is_net", u8), ("link_up", u8), ("max_pairs", u16), ("mac", u8 * 6), ("pad_", u16)]


class BoardC(C.Structure):
    """``vio_fw_board``."""

    _fields_ = [("num_funcs", u8), ("num_pf", u8), ("pad_", u8 * 2), ("ctrlq_timeout_us", u32),
                ("func", BoardFuncC * MAX_FUNCS)]


STAT_NAMES = ("polls", "served", "oversize", "timeouts", "stale", "func_events", "resets",
              "features_ok", "reenables", "mmio_reads", "mmio_writes",
              "vf_appeared", "vf_gone", "flr_seen", "flr_done", "provisions", "pairs_clamped",
              "provision_errors", "refused")

# vio_fw_boot results (VIO_FW_BOOT_*)
BOOT_OK, BOOT_EID, BOOT_EPROVISION, BOOT_EFUNCS = 0, -1, -2, -3


class StatsC(C.Structure):
    """``vio_fw_loop_stats``."""

    _fields_ = [(n, u32) for n in STAT_NAMES]

    def as_dict(self) -> dict[str, int]:
        return {n: getattr(self, n) for n in STAT_NAMES}


class FuncInfoC(C.Structure):
    """``vio_fw_info`` (what ``vio_fw_func_info`` fills)."""

    _fields_ = [("exists", u8), ("flr", u8), ("is_vf", u8), ("pf", u8), ("is_net", u8),
                ("provisioned", u8), ("clamped", u8), ("link_up", u8), ("mac", u8 * 6),
                ("max_pairs", u16), ("flr_count", u32), ("provisions", u32)]

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {n: getattr(self, n) for n, _ in self._fields_ if n not in ("pad_", "mac")}
        d["mac"] = bytes(self.mac)
        return d


@dataclass
class BoardFunc:
    """One function as the firmware's flash describes it (one row per device function: PFs, then
    every possible VF of PF0, of PF1, ...; ``is_vf`` marks the VF rows, see :func:`make_board`)."""

    mac: bytes = bytes.fromhex("525400000000")
    max_pairs: int = 1
    link_up: bool = True
    is_net: bool = True
    is_vf: bool = False


def make_board(funcs: Sequence[BoardFunc], ctrlq_timeout_us: int = 0, num_pf: Optional[int] = None) -> BoardC:
    """``vio_fw_board`` from the rows.  ``num_pf`` (checked by vio_fw_boot against DEV_FUNCS.NUM_PF)
    defaults to the number of rows before the first ``is_vf`` one (every row if none is a VF)."""
    if num_pf is None:
        num_pf = next((i for i, f in enumerate(funcs) if f.is_vf), len(funcs))
    b = BoardC()
    b.num_funcs = len(funcs)
    b.num_pf = num_pf
    b.ctrlq_timeout_us = ctrlq_timeout_us
    for i, f in enumerate(funcs):
        b.func[i].is_net = int(f.is_net)
        b.func[i].link_up = int(f.link_up)
        b.func[i].max_pairs = f.max_pairs
        for j in range(6):
            b.func[i].mac[j] = f.mac[j]
    return b


def load_loop_lib(path: Optional[Path] = None) -> C.CDLL:
    """The host library (built if needed) with the loop API declared."""
    from tests.firmware.fw_lib import load  # builds with fw_lib.build, declares the core API

    lib = load(path)
    lib.vio_fw_boot.restype = C.c_int
    lib.vio_fw_boot.argtypes = [C.c_void_p, C.POINTER(BoardC)]
    lib.vio_fw_poll.restype = C.c_int
    lib.vio_fw_poll.argtypes = [C.c_void_p, u32]
    lib.vio_fw_loop_stats_get.restype = None
    lib.vio_fw_loop_stats_get.argtypes = [C.POINTER(StatsC)]
    lib.vio_fw_func_info.restype = C.c_int
    lib.vio_fw_func_info.argtypes = [C.c_void_p, u8, C.POINTER(FuncInfoC)]
    return lib


_NAMES: dict[int, str] = {}
for _r in R.REGISTERS:
    for _i in range(_r.count):
        _NAMES[_r.addr(_i)] = _r.name if _r.count == 1 else f"{_r.name}[{_i}]"


def reg_name(off: int) -> str:
    return _NAMES.get(off, f"{off:#05x}")


# ---------------------------------------------------------------------------- the host
class FirmwareHost:
    """The firmware's thread, bound to a DUT with the vio_mgmt management port."""

    def __init__(self, dut, board_funcs: Sequence[BoardFunc], *, ctrlq_timeout_us: int = 0,
                 num_pf: Optional[int] = None,
                 poll_timeout_us: int = 20, mmio_delay_cycles: int = 0, lib: Optional[C.CDLL] = None,
                 trace_len: int = 400, axil_prefix: str = "s_axil", irq: str = "irq",
                 time_us: str = "time_us") -> None:
        import cocotb
        from cocotb.task import resume
        from cocotb.triggers import Event
        from cocotbext.axi import AxiLiteBus, AxiLiteMaster

        from tests.firmware.fw_lib import HalHostOps

        self.dut = dut
        self.clk = dut.clk
        self.lib = lib if lib is not None else load_loop_lib()
        self.board = make_board(board_funcs, ctrlq_timeout_us, num_pf)
        self.poll_timeout_us = poll_timeout_us
        self.mmio_delay_cycles = mmio_delay_cycles
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, axil_prefix), dut.clk, dut.rst)
        self.irq = getattr(dut, irq)
        self.time_sig = getattr(dut, time_us, None)
        self.axil.write_if.log.setLevel("WARNING")
        self.axil.read_if.log.setLevel("WARNING")
        self._mem = C.create_string_buffer(self.lib.vio_fw_sizeof())
        self.fw = C.cast(self._mem, C.c_void_p)
        self.accesses: deque[tuple[float, str, int, int]] = deque(maxlen=trace_len)
        self.n_reads = self.n_writes = 0
        self.served = 0
        self.handled: list[int] = []       # vio_fw_poll results != 0
        self.errors: list[BaseException] = []
        self.boot_rc: Optional[int] = None
        self.waiting = False                # the thread is in hal_irq_wait
        self._stop = False
        self._requests: deque[tuple[Callable[[C.CDLL, Any], Any], list[Any], Any]] = deque()
        self._wake = Event()
        self._booted = Event()
        self._task = None
        self._cocotb = cocotb

        self._rd = resume(self._a_read)
        self._wr = resume(self._a_write)
        self._wait = resume(self._a_irq_wait)
        self._time = resume(self._a_time_us)
        self._done_set = resume(self._a_set_event)
        f = HalHostOps._fields_
        self._ops = HalHostOps(
            f[0][1](self._guard(lambda off: self._rd(off), 0xFFFF_FFFF)),
            f[1][1](self._guard(lambda off, v: self._wr(off, v))),
            f[2][1](self._guard(lambda t: self._wait(t), -1)),
            f[3][1](self._guard(lambda: self._time(), 0)),
        )

    # -- HAL callbacks (firmware thread) -------------------------------------------------------
    def _guard(self, fn: Callable[..., Any], default: Any = None) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            if self.errors:
                return default
            try:
                return fn(*args)
            except BaseException as e:  # noqa: BLE001 -- ctypes would swallow it; re-raised by _run
                self.errors.append(e)
                self._stop = True
                return default
        return call

    def _now(self) -> float:
        from cocotb.simtime import get_sim_time
        return get_sim_time("ns")

    async def _a_read(self, off: int) -> int:
        from cocotb.triggers import ClockCycles
        if self.mmio_delay_cycles:
            await ClockCycles(self.clk, self.mmio_delay_cycles)
        v = await self.axil.read_dword(off)
        self.n_reads += 1
        self.accesses.append((self._now(), "R", off, v))
        return v

    async def _a_write(self, off: int, v: int) -> None:
        from cocotb.triggers import ClockCycles
        if self.mmio_delay_cycles:
            await ClockCycles(self.clk, self.mmio_delay_cycles)
        await self.axil.write_dword(off, v)
        self.n_writes += 1
        self.accesses.append((self._now(), "W", off, v))
        if off == R.CTRLQ_DONE_OFFSET and v & R.CTRLQ_DONE_DONE_MASK:
            self.served += 1

    async def _a_irq_wait(self, timeout_us: int) -> int:
        from cocotb.triggers import First, RisingEdge, Timer
        if self._stop:
            return -1
        if self._requests:
            return 0
        if int(self.irq.value):
            return 1
        self.waiting = True
        try:
            await First(RisingEdge(self.irq), Timer(max(int(timeout_us), 1), "us"), self._wake.wait())
        finally:
            self.waiting = False
        self._wake.clear()
        if self._stop:
            return -1
        return 1 if int(self.irq.value) else 0

    async def _a_time_us(self) -> int:
        if self.time_sig is not None:
            return int(self.time_sig.value)
        from cocotb.simtime import get_sim_time
        return int(get_sim_time("us"))

    async def _a_set_event(self, ev: Any) -> None:
        ev.set()

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> int:
        """Blocking: boot, then poll until stopped.  Returns the number of polls."""
        self.lib.hal_host_bind(C.byref(self._ops))
        polls = 0
        try:
            self.boot_rc = self.lib.vio_fw_boot(self.fw, C.byref(self.board))
            self._done_set(self._booted)
            if self.boot_rc != 0 or self.errors:
                return 0
            while not self._stop:
                self._serve_requests()
                r = self.lib.vio_fw_poll(self.fw, self.poll_timeout_us)
                if r < 0:
                    break
                polls += 1
                if r:
                    self.handled.append(r)
            self._serve_requests()
        finally:
            self.lib.hal_host_bind(None)
        if self.errors:
            raise self.errors[0]
        return polls

    def _serve_requests(self) -> None:
        while self._requests and not self.errors:
            fn, box, ev = self._requests.popleft()
            try:
                box.append(fn(self.lib, self.fw))
            except BaseException as e:  # noqa: BLE001 -- handed to the caller
                box.append(e)
            self._done_set(ev)

    # -- test side (scheduler thread) ----------------------------------------------------------
    def start(self) -> None:
        """Start the firmware thread (``cocotb.start_soon(bridge(self._run)())``)."""
        from cocotb.task import bridge
        self._task = self._cocotb.start_soon(bridge(self._run)())

    async def booted(self) -> None:
        """Wait until vio_fw_boot returned; AssertionError if it failed."""
        await self._booted.wait()
        if self.errors:
            raise self.errors[0]
        names = {BOOT_EID: "ID is not VMG1", BOOT_EPROVISION: "a net function could not be provisioned",
                 BOOT_EFUNCS: f"DEV_FUNCS disagrees with the board ({self.board.num_funcs} rows, "
                              f"{self.board.num_pf} PFs)"}
        assert self.boot_rc == 0, (f"vio_fw_boot returned {self.boot_rc} ({names.get(self.boot_rc, '?')})\n"
                                   f"{self.trace()}")

    async def call(self, fn: Callable[[C.CDLL, Any], Any]) -> Any:
        """Run ``fn(lib, fw)`` in the firmware thread between two polls; returns its result."""
        from cocotb.triggers import Event
        ev, box = Event(), []
        self._requests.append((fn, box, ev))
        self._wake.set()
        await ev.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    async def stop(self) -> int:
        """Make the next hal_irq_wait return -1 (vio_fw_poll returns); join the thread."""
        self._stop = True
        self._wake.set()
        return await self._task

    def stats(self) -> dict[str, int]:
        """vio_fw_loop_stats (safe from the scheduler thread: pure C, no HAL)."""
        s = StatsC()
        self.lib.vio_fw_loop_stats_get(C.byref(s))
        return s.as_dict()

    def func_info(self, func: int) -> dict[str, object]:
        """vio_fw_func_info(func) as a dict (pure C memory read, safe from the scheduler thread);
        ValueError if func is out of range."""
        info = FuncInfoC()
        if self.lib.vio_fw_func_info(self.fw, func, C.byref(info)) != 0:
            raise ValueError(f"vio_fw_func_info: function {func} out of range")
        return info.as_dict()

    def trace(self, last: int = 40) -> str:
        """The last register accesses, one per line, for failure messages."""
        rows = list(self.accesses)[-last:]
        return "firmware register accesses (last %d):\n" % len(rows) + "\n".join(
            f"  t={t:.0f} ns {d} {reg_name(off):<16} {v:#010x}" for t, d, off, v in rows)
