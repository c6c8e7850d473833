# SPDX-License-Identifier: Apache-2.0
"""Focused bench for vio_reg_demux: the register access router.

A register master drives the completer side (``s_reg_*``); three target
models play the application window, the MSI-X block and the shell
diagnostics on ``m_reg_*``. Each target answers reads from its own memory
after a random latency (1..6 cycles, in order, no backpressure as the `reg`
contract says) and has its own random ``ready``.

The reference (``RefMap``) decodes every accepted request independently
(function < NUM_FUNC, BAR == REG_BAR, offset inside APP/MSIX/DIAG windows)
and keeps a reference copy of every target's memory. One monitor samples
both sides on every clock edge and checks:

* a request is offered only to its decoded target and is accepted there
  exactly once with every field intact; an unmapped request reaches no target;
* read responses come back one per read, in request order, with the data of
  the reference memory (0 for unmapped reads);
* ``stat_unmapped_rd/wr`` pulse once per unmapped access with its
  func/bar/addr, and never otherwise;
* no target ever has more than MAX_OUTSTANDING reads in flight.
"""

from __future__ import annotations

import logging
import os
import random
from collections import deque
from dataclasses import dataclass, field

import cocotb
from cocotb.clock import Clock
from cocotb.queue import Queue
from cocotb.triggers import ClockCycles, Event, RisingEdge
from tb.util import now, as_int as _int

APP, MSIX, DIAG, NONE = 0, 1, 2, 3
TNAME = {APP: "APP", MSIX: "MSIX", DIAG: "DIAG", NONE: "unmapped"}




def bytemask(be: int) -> int:
    return sum(0xFF << (8 * b) for b in range(4) if (be >> b) & 1)


# --------------------------------------------------------------------------- reference


@dataclass
class RegReq:
    we: bool
    func: int
    bar: int
    addr: int
    be: int
    wdata: int = 0
    seq: int = -1
    tgt: int = NONE
    expect: int | None = None
    rdata: int | None = None
    done: Event = field(default_factory=Event)

    def __str__(self) -> str:
        kind = f"write {self.wdata:#010x}" if self.we else "read"
        return (f"#{self.seq} {kind} func {self.func} bar {self.bar} addr {self.addr:#08x} "
                f"be {self.be:#x} ({TNAME[self.tgt]})")


class RefMap:
    """Address decode and the reference copy of the three targets' registers."""

    def __init__(self, num_func: int, reg_bar: int, windows: dict[int, tuple[int, int]], salt: int):
        self.num_func = num_func
        self.reg_bar = reg_bar
        self.windows = windows
        self.salt = salt
        self.mem: dict[tuple[int, int, int, int], int] = {}

    def decode(self, func: int, bar: int, addr: int) -> int:
        if func >= self.num_func or bar != self.reg_bar:
            return NONE
        for t, (base, size) in self.windows.items():
            if base <= addr < base + size:
                return t
        return NONE

    def initial(self, t: int, func: int, bar: int, addr: int) -> int:
        """Power-on content of a register: a fixed scramble, different per target."""
        x = (self.salt ^ (t << 48) ^ (func << 40) ^ (bar << 32) ^ addr) * 0x9E3779B97F4A7C15
        x &= (1 << 64) - 1
        return (x ^ (x >> 29)) & 0xFFFFFFFF

    def read(self, t: int, func: int, bar: int, addr: int) -> int:
        if t == NONE:
            return 0
        return self.mem.get((t, func, bar, addr), self.initial(t, func, bar, addr))

    def write(self, t: int, func: int, bar: int, addr: int, be: int, data: int):
        if t == NONE:
            return
        m = bytemask(be)
        old = self.read(t, func, bar, addr)
        self.mem[(t, func, bar, addr)] = (old & ~m) | (data & m)


class Target:
    """One register block: its own memory, a ready generator and in-order read responses."""

    def __init__(self, index: int, ref: RefMap):
        self.index = index
        self.mem = RefMap(ref.num_func, ref.reg_bar, ref.windows, ref.salt)   # own copy, same power-on content
        self.ready_prob = 1.0
        self.max_lat = 1
        self.min_lat = 1
        self.expected: deque[RegReq] = deque()        # accepted by the demux, not yet seen here
        self.rsp: deque[tuple[int, int, RegReq]] = deque()   # (due cycle, data, request)
        self.last_due = -1
        self.reads = 0          # reads accepted
        self.rsp_sampled = 0    # responses the demux has seen
        self.max_outstanding = 0
        self.stray: deque[int] = deque()   # cycles at which to send an unsolicited response
        self.rsp_driven_prev = False       # a response is on m_reg_rsp this cycle

    def clear(self):
        self.expected.clear()
        self.rsp.clear()
        self.stray.clear()
        self.last_due = -1
        self.reads = self.rsp_sampled = 0
        self.rsp_driven_prev = False


# --------------------------------------------------------------------------- bench


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.num_func = int(dut.NUM_FUNC.value)
        self.reg_bar = int(dut.REG_BAR.value)
        self.addr_w = int(dut.REG_ADDR_W.value)
        self.max_out = int(dut.MAX_OUTSTANDING.value)
        windows = {APP: (int(dut.APP_BASE.value), int(dut.APP_SIZE.value)),
                   MSIX: (int(dut.MSIX_BASE.value), int(dut.MSIX_SIZE.value)),
                   DIAG: (int(dut.DIAG_BASE.value), int(dut.DIAG_SIZE.value))}
        self.log.info("seed %s (test PRNG seed %d): NUM_FUNC=%d REG_BAR=%d MAX_OUTSTANDING=%d windows %s",
                      os.environ.get("COCOTB_RANDOM_SEED"), cocotb.RANDOM_SEED, self.num_func,
                      self.reg_bar, self.max_out,
                      {TNAME[t]: (hex(b), hex(s)) for t, (b, s) in windows.items()})
        self.ref = RefMap(self.num_func, self.reg_bar, windows, random.getrandbits(64))
        self.targets = [Target(t, self.ref) for t in (APP, MSIX, DIAG)]

        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())

        self.errors: list[str] = []
        self.req_q: Queue[RegReq] = Queue()
        self.presented: deque[RegReq] = deque()
        self.gap_prob = 0.0
        self.master_busy = False
        self._clear_tracking()

        dut.rst.value = 1
        for name in ("s_reg_req_valid", "s_reg_req_we", "s_reg_req_func", "s_reg_req_bar",
                     "s_reg_req_addr", "s_reg_req_be", "s_reg_req_wdata",
                     "m_reg_req_ready", "m_reg_rsp_valid", "m_reg_rsp_rdata"):
            getattr(dut, name).value = 0

        cocotb.start_soon(self._master())
        cocotb.start_soon(self._monitor())

    def _clear_tracking(self):
        self.seq = 0
        self.cycle = 0
        self.inflight: deque[RegReq] = deque()          # reads accepted, response pending
        self.exp_stats: deque[tuple[str, int, int, int, RegReq]] = deque()
        self.n_unmapped = {"rd": 0, "wr": 0}
        self.n_stats = {"rd": 0, "wr": 0}
        self.accepted: list[RegReq] = []
        self.presented.clear()
        for t in self.targets:
            t.clear()

    # ------------------------------------------------------------ reset / sync
    async def reset(self):
        """Reset between requests: queued requests are dropped, accepted reads are lost."""
        while not self.req_q.empty():
            self.req_q.get_nowait()
        await self.wait_until(lambda: not self.master_busy, "master still presenting a request")
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self._clear_tracking()
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    def fail(self, text: str):
        self.errors.append(f"{text} ({now()})")
        self.log.error("%s (%s)", text, now())

    def check(self):
        assert not self.errors, "\n".join(self.errors[:10])

    def configure(self, ready: list[float] | float = 1.0, latency: list[int] | int = 1, gap: float = 0.0,
                  min_latency: int = 1):
        """Target ready probabilities, target maximum (and minimum) read latencies, master idle probability."""
        ready = ready if isinstance(ready, list) else [ready] * 3
        latency = latency if isinstance(latency, list) else [latency] * 3
        for t, r, lat in zip(self.targets, ready, latency):
            t.ready_prob, t.max_lat, t.min_lat = r, lat, min(min_latency, lat)
        self.gap_prob = gap

    def randomize_targets(self, gap: float | None = None):
        self.configure([random.choice([1.0, 0.8, 0.5, 0.3]) for _ in range(3)],
                       [random.randint(1, 6) for _ in range(3)],
                       random.choice([0.0, 0.2, 0.5]) if gap is None else gap)
        self.log.info("targets: ready %s, max latency %s, master gap %.1f",
                      [t.ready_prob for t in self.targets], [t.max_lat for t in self.targets], self.gap_prob)

    async def wait_until(self, cond, what: str, timeout_cycles: int = 2000):
        for _ in range(timeout_cycles):
            if cond():
                return
            await RisingEdge(self.dut.clk)
        self.check()
        raise AssertionError(f"vio_reg_demux: {what} after {timeout_cycles} cycles ({now()})")

    def idle(self) -> bool:
        return self.req_q.empty() and not self.master_busy and not self.presented and not self.inflight

    async def quiesce(self, timeout_cycles: int = 20000, idle_cycles: int = 20):
        """Every request accepted and answered, then idle cycles; then the end-of-run checks."""
        for _ in range(timeout_cycles):
            if self.idle():
                break
            if self.errors:   # fail fast with the first real problem
                break
            await RisingEdge(self.dut.clk)
        else:
            self.check()
            pend = "; ".join(str(r) for r in list(self.inflight)[:5])
            raise AssertionError(f"vio_reg_demux: not idle after {timeout_cycles} cycles ({now()}): "
                                 f"{self.req_q.qsize()} requests queued, {len(self.inflight)} reads "
                                 f"without response: {pend}")
        await ClockCycles(self.dut.clk, idle_cycles)
        self.check()
        assert self.idle(), f"vio_reg_demux: activity after the bench went idle ({now()})"
        for t in self.targets:
            if t.expected:
                raise AssertionError(f"vio_reg_demux: {len(t.expected)} request(s) never reached target "
                                     f"{TNAME[t.index]}, first {t.expected[0]} ({now()})")
        if self.exp_stats:
            raise AssertionError(f"vio_reg_demux: {len(self.exp_stats)} unmapped access(es) never reported "
                                 f"on stat_unmapped_*, first {self.exp_stats[0][4]} ({now()})")
        assert self.n_stats == self.n_unmapped, \
            f"stat_unmapped pulses {self.n_stats}, expected {self.n_unmapped} ({now()})"

    # ------------------------------------------------------------ master
    def request(self, we: bool, func: int, bar: int, addr: int, be: int = 0xF, wdata: int = 0) -> RegReq:
        req = RegReq(we, func, bar, addr, be, wdata)
        self.req_q.put_nowait(req)
        return req

    def write(self, func, bar, addr, wdata, be=0xF) -> RegReq:
        return self.request(True, func, bar, addr, be, wdata)

    def read(self, func, bar, addr, be=0xF) -> RegReq:
        return self.request(False, func, bar, addr, be)

    async def read_wait(self, func, bar, addr, be=0xF) -> int:
        req = self.read(func, bar, addr, be)
        await self.wait_until(lambda: req.done.is_set() or self.errors, f"{req}: no response")
        self.check()
        return req.rdata

    def random_request(self) -> RegReq:
        """A random access: mostly mapped, the rest unmapped by function, BAR or offset."""
        kind = random.choices(["map", "func", "bar", "hole"], [70, 10, 10, 10])[0]
        we = random.random() < 0.45
        func = random.randrange(self.num_func)
        bar = self.reg_bar
        if kind == "map":
            base, size = self.ref.windows[random.choice([APP, MSIX, DIAG])]
            addr = base + 4 * random.choice([0, 1, 2, 3, random.randrange(size // 4), size // 4 - 1])
        else:
            addr = 4 * random.randrange(1 << (self.addr_w - 2))
            if kind == "func":
                func = random.randint(self.num_func, 255)
            elif kind == "bar":
                bar = random.choice([b for b in range(8) if b != self.reg_bar])
            else:
                top = max(b + s for b, s in self.ref.windows.values())
                addr = random.choice([top, top + 4, (1 << self.addr_w) - 4,
                                      4 * random.randrange(top // 4, 1 << (self.addr_w - 2))])
        be = random.choice([0xF, 0xF, random.randrange(16)])
        return self.request(we, func, bar, addr, be, random.getrandbits(32))

    async def _master(self):
        dut = self.dut
        while True:
            if self.req_q.empty():
                dut.s_reg_req_valid.value = 0
                self.master_busy = False
                req = await self.req_q.get()
                self.master_busy = True
                await RisingEdge(dut.clk)   # present on a clock boundary
            else:
                req = self.req_q.get_nowait()
            if self.gap_prob and random.random() < self.gap_prob:
                dut.s_reg_req_valid.value = 0
                await ClockCycles(dut.clk, random.randint(1, 3))
            dut.s_reg_req_we.value = int(req.we)
            dut.s_reg_req_func.value = req.func
            dut.s_reg_req_bar.value = req.bar
            dut.s_reg_req_addr.value = req.addr
            dut.s_reg_req_be.value = req.be
            dut.s_reg_req_wdata.value = req.wdata
            dut.s_reg_req_valid.value = 1
            self.presented.append(req)
            while True:
                await RisingEdge(dut.clk)
                if _int(dut.s_reg_req_ready.value):
                    break

    # ------------------------------------------------------------ monitor + targets
    async def _monitor(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            if _int(dut.rst.value):
                for t in self.targets:
                    t.rsp.clear()
                dut.m_reg_rsp_valid.value = 0
                dut.m_reg_req_ready.value = 0
                continue
            self.cycle += 1
            self._master_side()
            self._target_side()
            self._responses()
            self._stats()
            self._drive_targets()

    def _master_side(self):
        dut = self.dut
        if not (_int(dut.s_reg_req_valid.value) and _int(dut.s_reg_req_ready.value)):
            return
        if not self.presented:
            self.fail("s_reg_req handshake with no request presented (bench bug)")
            return
        req = self.presented.popleft()
        req.seq = self.seq
        self.seq += 1
        req.tgt = self.ref.decode(req.func, req.bar, req.addr)
        self.accepted.append(req)
        if req.tgt == NONE:
            kind = "wr" if req.we else "rd"
            self.n_unmapped[kind] += 1
            self.exp_stats.append((kind, req.func, req.bar, req.addr, req))
        else:
            self.targets[req.tgt].expected.append(req)
        if req.we:
            self.ref.write(req.tgt, req.func, req.bar, req.addr, req.be, req.wdata)
            req.done.set()
        else:
            req.expect = self.ref.read(req.tgt, req.func, req.bar, req.addr)
            self.inflight.append(req)

    def _target_side(self):
        dut = self.dut
        s_valid = _int(dut.s_reg_req_valid.value)
        m_valid = _int(dut.m_reg_req_valid.value)
        m_ready = _int(dut.m_reg_req_ready.value)
        if m_valid & (m_valid - 1):
            self.fail(f"m_reg_req_valid {m_valid:#05b}: request offered to several targets")
        if m_valid and not s_valid:
            self.fail(f"m_reg_req_valid {m_valid:#05b} with no request from the master")
        if m_valid and s_valid:
            func, bar, addr = (_int(dut.s_reg_req_func.value), _int(dut.s_reg_req_bar.value),
                               _int(dut.s_reg_req_addr.value))
            t = self.ref.decode(func, bar, addr)
            if t == NONE or m_valid != 1 << t:
                self.fail(f"request func {func} bar {bar} addr {addr:#08x} ({TNAME[t]}) "
                          f"offered on m_reg_req_valid {m_valid:#05b}")
        fields = None
        for tgt in self.targets:
            t = tgt.index
            if tgt.rsp_driven_prev:
                tgt.rsp_sampled += 1
            if not ((m_valid >> t) & 1 and (m_ready >> t) & 1):
                continue
            if fields is None:
                fields = (_int(dut.m_reg_req_we.value), _int(dut.m_reg_req_func.value),
                          _int(dut.m_reg_req_bar.value), _int(dut.m_reg_req_addr.value),
                          _int(dut.m_reg_req_be.value), _int(dut.m_reg_req_wdata.value))
            we, func, bar, addr, be, wdata = fields
            if not tgt.expected:
                self.fail(f"target {TNAME[t]}: unexpected {'write' if we else 'read'} func {func} bar {bar} "
                          f"addr {addr:#08x} (no request for it was accepted)")
                continue
            exp = tgt.expected.popleft()
            got = (bool(we), func, bar, addr, be) + ((wdata,) if we else ())
            want = (exp.we, exp.func, exp.bar, exp.addr, exp.be) + ((exp.wdata,) if exp.we else ())
            if got != want:
                self.fail(f"target {TNAME[t]}: request {exp}: got we {we} func {func} bar {bar} "
                          f"addr {addr:#08x} be {be:#x} wdata {wdata:#010x}")
            if we:
                tgt.mem.write(t, func, bar, addr, be, wdata)
            else:
                data = tgt.mem.read(t, func, bar, addr)
                due = max(self.cycle + random.randint(tgt.min_lat, tgt.max_lat) - 1, tgt.last_due + 1)
                tgt.last_due = due
                tgt.rsp.append((due, data, exp))
                tgt.reads += 1
            out = tgt.reads - tgt.rsp_sampled
            tgt.max_outstanding = max(tgt.max_outstanding, out)
            if out > self.max_out:
                self.fail(f"target {TNAME[t]}: {out} reads in flight, MAX_OUTSTANDING is {self.max_out}")

    def _responses(self):
        dut = self.dut
        if not _int(dut.s_reg_rsp_valid.value):
            return
        data = _int(dut.s_reg_rsp_rdata.value)
        if not self.inflight:
            self.fail(f"s_reg_rsp: response {data:#010x} with no read outstanding")
            return
        req = self.inflight.popleft()
        req.rdata = data
        if data != req.expect:
            self.fail(f"read {req}: expected {req.expect:#010x}, got {data:#010x}")
        req.done.set()

    def _stats(self):
        dut = self.dut
        rd = _int(dut.stat_unmapped_rd.value)
        wr = _int(dut.stat_unmapped_wr.value)
        if rd and wr:
            self.fail("stat_unmapped_rd and stat_unmapped_wr in the same cycle")
        if not (rd or wr):
            return
        kind = "rd" if rd else "wr"
        self.n_stats[kind] += 1
        got = (kind, _int(dut.stat_unmapped_func.value), _int(dut.stat_unmapped_bar.value),
               _int(dut.stat_unmapped_addr.value))
        if not self.exp_stats:
            self.fail(f"stat_unmapped_{kind} pulse (func {got[1]} bar {got[2]} addr {got[3]:#08x}) "
                      f"with no unmapped access")
            return
        exp = self.exp_stats.popleft()
        if got != exp[:4]:
            self.fail(f"stat_unmapped for {exp[4]}: expected {exp[0]} func {exp[1]} bar {exp[2]} "
                      f"addr {exp[3]:#08x}, got {kind} func {got[1]} bar {got[2]} addr {got[3]:#08x}")

    def _drive_targets(self):
        """Outputs of the three target models for the coming cycle."""
        ready = rsp_valid = rdata = 0
        for tgt in self.targets:
            t = tgt.index
            if random.random() < tgt.ready_prob:
                ready |= 1 << t
            driven = False
            if tgt.rsp and tgt.rsp[0][0] <= self.cycle:
                _, data, _ = tgt.rsp.popleft()
                rsp_valid |= 1 << t
                rdata |= data << (32 * t)
                driven = True
            elif tgt.stray and tgt.stray[0] <= self.cycle:
                tgt.stray.popleft()
                rsp_valid |= 1 << t
                rdata |= 0xBAD00000 << (32 * t)
            else:
                rdata |= random.getrandbits(32) << (32 * t)   # garbage while not valid
            tgt.rsp_driven_prev = driven
        self.dut.m_reg_req_ready.value = ready
        self.dut.m_reg_rsp_valid.value = rsp_valid
        self.dut.m_reg_rsp_rdata.value = rdata


async def start(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


# --------------------------------------------------------------------------- tests


@cocotb.test()
async def test_each_target_and_unmapped(dut):
    """Write/read-back on every window of every function; unmapped reads give 0, writes vanish."""
    tb = await start(dut)
    for f in range(tb.num_func):
        for t in (APP, MSIX, DIAG):
            base, size = tb.ref.windows[t]
            for addr in (base, base + size - 4):
                v = random.getrandbits(32)
                tb.write(f, tb.reg_bar, addr, v)
                got = await tb.read_wait(f, tb.reg_bar, addr)
                assert got == v, f"{TNAME[t]} func {f} addr {addr:#x}: wrote {v:#010x}, read {got:#010x} ({now()})"
    top = max(b + s for b, s in tb.ref.windows.values())
    unmapped = [(tb.num_func, tb.reg_bar, 0), (255, tb.reg_bar, 0x2000),
                (0, (tb.reg_bar + 1) % 8, 0), (0, 7, 0x4000),
                (0, tb.reg_bar, top), (1, tb.reg_bar, (1 << tb.addr_w) - 4)]
    for func, bar, addr in unmapped:
        tb.write(func, bar, addr, 0xFFFFFFFF)
        got = await tb.read_wait(func, bar, addr)
        assert got == 0, f"unmapped func {func} bar {bar} addr {addr:#x}: read {got:#010x}, expected 0 ({now()})"
    # the mapped registers at the same offsets kept their values (the writes went nowhere)
    for f in range(tb.num_func):
        await tb.read_wait(f, tb.reg_bar, 0)
    await tb.quiesce()
    want = {"rd": len(unmapped), "wr": len(unmapped)}
    assert tb.n_unmapped == want, f"bench decode: {tb.n_unmapped} unmapped accesses, expected {want}"


@cocotb.test()
async def test_random_accesses(dut):
    """Random reads/writes everywhere, random target latencies and ready, random master gaps."""
    tb = await start(dut)
    for _ in range(8):
        tb.randomize_targets()
        for _ in range(250):
            tb.random_request()
        await tb.quiesce()
    tb.log.info("%d requests, unmapped %s, max outstanding per target %s",
                len(tb.accepted), tb.n_unmapped, [t.max_outstanding for t in tb.targets])


@cocotb.test()
async def test_back_to_back_reads_switch_targets(dut):
    """Reads with no gap that switch target every time (and every few times) keep their order."""
    tb = await start(dut)
    addr = {t: tb.ref.windows[t][0] + 4 * random.randrange(4) for t in (APP, MSIX, DIAG)}
    patterns = [[APP, MSIX, DIAG, NONE], [DIAG, MSIX, APP], [NONE, APP, NONE, DIAG],
                [APP, APP, MSIX, MSIX, MSIX, NONE, NONE, DIAG]]
    for lat in ([6, 3, 1], [1, 6, 3], [6, 6, 6], [1, 1, 1]):
        tb.configure(ready=1.0, latency=lat, gap=0.0)
        for pat in patterns:
            for _ in range(4):
                for t in pat:
                    if t == NONE:
                        tb.read(random.randrange(tb.num_func), (tb.reg_bar + 1) % 8, addr[APP])
                    else:
                        tb.read(random.randrange(tb.num_func), tb.reg_bar, addr[t])
            await tb.quiesce()
    # and with writes to other targets squeezed between them
    tb.randomize_targets(gap=0.0)
    for _ in range(100):
        t = random.choice([APP, MSIX, DIAG])
        if random.random() < 0.3:
            tb.write(random.randrange(tb.num_func), tb.reg_bar, addr[t], random.getrandbits(32))
        else:
            tb.read(random.randrange(tb.num_func), tb.reg_bar, addr[t])
    await tb.quiesce()


@cocotb.test()
async def test_outstanding_limit(dut):
    """Back-to-back reads to one slow target never exceed MAX_OUTSTANDING in flight."""
    tb = await start(dut)
    for t in (APP, MSIX, DIAG):
        lat = [1, 1, 1]
        lat[t] = 6
        tb.configure(ready=1.0, latency=lat)
        tb.targets[t].max_outstanding = 0
        base = tb.ref.windows[t][0]
        for i in range(40):
            tb.read(i % tb.num_func, tb.reg_bar, base + 4 * (i % 8))
        await tb.quiesce()
        got = tb.targets[t].max_outstanding
        assert got == tb.max_out, \
            f"{TNAME[t]}: at most {got} reads were in flight with latency 6, expected the cap {tb.max_out} ({now()})"


@cocotb.test()
async def test_stray_target_responses_ignored(dut):
    """A target response with no read of it outstanding never reaches the master."""
    tb = await start(dut)
    tb.configure(ready=1.0, latency=[6, 6, 6])
    for t in tb.targets:   # nothing outstanding at all
        t.stray.extend([tb.cycle + 2, tb.cycle + 5])
    await ClockCycles(dut.clk, 12)
    tb.check()
    # responses from the wrong target while reads are outstanding elsewhere
    base = tb.ref.windows[APP][0]
    for i in range(8):
        tb.read(0, tb.reg_bar, base + 4 * i)
    await tb.wait_until(lambda: len(tb.inflight) >= 2, "APP reads not outstanding")
    for t in (MSIX, DIAG):
        tb.targets[t].stray.extend(tb.cycle + k for k in range(1, 6))
    await tb.quiesce()


@cocotb.test()
async def test_reset_with_reads_outstanding(dut):
    """Reset drops reads in flight; afterwards every request is answered correctly."""
    tb = await start(dut)
    tb.configure(ready=1.0, latency=20, min_latency=20)   # every read stays in flight long enough to be caught
    for i in range(6):
        tb.read(0, tb.reg_bar, tb.ref.windows[APP][0] + 4 * i)
    await tb.wait_until(lambda: tb.req_q.empty() and not tb.master_busy and len(tb.inflight) >= 3,
                        "reads not in flight")
    tb.log.info("reset with %d reads in flight", len(tb.inflight))
    await tb.reset()
    assert not _int(dut.s_reg_rsp_valid.value), f"reset: s_reg_rsp_valid high after reset ({now()})"
    tb.randomize_targets()
    for _ in range(100):
        tb.random_request()
    await tb.quiesce()
