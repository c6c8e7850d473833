# SPDX-License-Identifier: Apache-2.0
"""Focused bench for vio_axis_rq_mux: the RQ frame arbiter.

One cocotbext-axi AxiStreamSource per input port (bound to that port's slice
of the packed ``s_axis_*`` vectors through ``PortSlice``) and one
AxiStreamSink on ``m_axis_*``. Every frame the bench sends is remembered
(``sent[port][seq]``); each beat carries random data, a random tkeep and a
random tuser, and DWORD 0 of every beat is a tag (port, frame, beat) so a
misplaced beat can be named in the failure message.

Checkers, always on:

* input monitor (``_input_monitor``): at most one tready, no beat of another
  port accepted while a frame is in progress (no interleaving at the
  inputs), and the round-robin bound: once a port offers a frame, at most
  PORTS-1 frames of other ports start before it does. It also records the
  order in which frames were accepted.
* output checker (``_output_checker``): every frame leaving on ``m_axis``
  equals, beat by beat (data, tkeep, tuser, frame boundary), the frame the
  bench sent whose acceptance is next in line, so nothing is interleaved,
  lost, duplicated, reordered or corrupted.
* output protocol (``_output_protocol``): once tvalid is high the beat is
  held unchanged until tready.
"""

from __future__ import annotations

import logging
import os
import random
from collections import deque
from dataclasses import dataclass, field

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb.types import LogicArray
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from tb.util import now, as_int as _int, random_pause




# --------------------------------------------------------------------------- packed port shim


class PackedSignal:
    """A ``[PORTS*W-1:0]`` DUT vector shared by several per-port drivers.

    Writes go through a shadow so that two drivers updating their slices in
    the same time step do not overwrite each other.
    """

    def __init__(self, handle):
        self.handle = handle
        self.shadow = 0

    def write(self, lo: int, width: int, val: int):
        mask = (1 << width) - 1
        self.shadow = (self.shadow & ~(mask << lo)) | ((val & mask) << lo)
        self.handle.value = self.shadow

    def read(self, lo: int, width: int) -> int:
        return (_int(self.handle.value) >> lo) & ((1 << width) - 1)


class PortSlice:
    """One port's slice of a PackedSignal, usable where cocotbext-axi expects a handle."""

    def __init__(self, packed: PackedSignal, port: int, width: int):
        self.packed = packed
        self.lo = port * width
        self.width = width

    def __len__(self) -> int:
        return self.width

    @property
    def value(self) -> LogicArray:
        return LogicArray(self.packed.read(self.lo, self.width), self.width)

    @value.setter
    def value(self, val):
        try:
            val = int(val)
        except ValueError:   # the source's initial all-X: drive 0
            val = 0
        self.packed.write(self.lo, self.width, val)

    def setimmediatevalue(self, val):
        self.value = val


class PortBus:
    """The attributes of an AxiStreamBus for input port ``port``."""

    NAMES = ("tdata", "tkeep", "tvalid", "tready", "tlast", "tuser")

    def __init__(self, dut, packed: dict[str, PackedSignal], widths: dict[str, int], port: int):
        self._entity = dut
        self._name = f"s_axis{port}"
        self._signals = {}
        self._optional_signals = []
        for name in self.NAMES:
            handle = PortSlice(packed[name], port, widths[name])
            setattr(self, name, handle)
            self._signals[name] = handle


# --------------------------------------------------------------------------- frames


@dataclass
class Beat:
    data: list[int]   # KEEP_W DWORDs
    keep: int
    user: int


@dataclass
class Frame:
    port: int
    seq: int
    beats: list[Beat] = field(default_factory=list)

    def __str__(self) -> str:
        return f"port {self.port} frame {self.seq} ({len(self.beats)} beats)"


def beat_tag(port: int, seq: int, beat: int) -> int:
    return 0xA0000000 | (port << 24) | ((seq & 0xFFF) << 12) | (beat << 8)


def describe_tag(dword: int) -> str:
    if dword >> 28 != 0xA:
        return "untagged data"
    return f"port {(dword >> 24) & 0xF} frame {(dword >> 12) & 0xFFF} beat {(dword >> 8) & 0xF}"



# --------------------------------------------------------------------------- bench


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.ports = int(dut.PORTS.value)
        self.data_w = int(dut.DATA_W.value)
        self.keep_w = int(dut.KEEP_W.value)
        self.user_w = int(dut.USER_W.value)
        self.log.info("seed %s (test PRNG seed %d): PORTS=%d DATA_W=%d USER_W=%d",
                      os.environ.get("COCOTB_RANDOM_SEED"), cocotb.RANDOM_SEED,
                      self.ports, self.data_w, self.user_w)

        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())

        widths = {"tdata": self.data_w, "tkeep": self.keep_w, "tvalid": 1, "tready": 1,
                  "tlast": 1, "tuser": self.user_w}
        packed = {n: PackedSignal(getattr(dut, f"s_axis_{n}")) for n in PortBus.NAMES}
        # the models log every frame at INFO: quiet them before they are built
        self.model_logs = [logging.getLogger(f"cocotb.{dut._name}.{n}")
                           for n in [f"s_axis{p}" for p in range(self.ports)] + ["m_axis"]]
        for lg in self.model_logs:
            lg.setLevel(logging.WARNING)
        self.src = [AxiStreamSource(PortBus(dut, packed, widths, p), dut.clk, dut.rst)
                    for p in range(self.ports)]
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)

        self.errors: list[str] = []
        self._clear_tracking()

        dut.rst.value = 1
        dut.m_axis_tready.value = 0
        cocotb.start_soon(self._input_monitor())
        cocotb.start_soon(self._output_checker())
        cocotb.start_soon(self._output_protocol())

    def _clear_tracking(self):
        """Forget everything in flight (start, and after a reset)."""
        self.sent: list[list[Frame]] = [[] for _ in range(self.ports)]   # every frame, per port
        self.order: deque[tuple[int, int]] = deque()    # frames in input acceptance order
        self.received: list[tuple[int, int]] = []       # frames in output order
        self.started = [0] * self.ports                 # frames whose first beat was accepted
        self.accepted = [0] * self.ports                # frames whose last beat was accepted
        self.beats_in = [0] * self.ports
        self.in_frame = [False] * self.ports
        self.locked: int | None = None
        self.waiting: list[int | None] = [None] * self.ports   # frames passed while waiting
        self.max_wait_frames = 0
        self.grants: list[int] = []
        self.out_beats = 0
        self.out_first: float | None = None
        self.out_last: float | None = None
        self.out_cycles = 0

    # ------------------------------------------------------------ reset / sync
    async def reset(self):
        for lg in self.model_logs:   # the sources warn about every frame a reset flushes
            lg.setLevel(logging.ERROR)
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        for lg in self.model_logs:
            lg.setLevel(logging.WARNING)
        for src in self.src:
            src.clear()
        self.sink.clear()
        self._clear_tracking()
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    def fail(self, text: str):
        self.errors.append(f"{text} ({now()})")
        self.log.error("%s (%s)", text, now())

    def check(self):
        assert not self.errors, "\n".join(self.errors[:10])

    def outstanding(self) -> list[str]:
        got = set(self.received)
        return [str(f) for frames in self.sent for f in frames if (f.port, f.seq) not in got]

    async def wait_idle(self, timeout_cycles: int = 20000, idle_cycles: int = 20):
        """Every sent frame received, then idle cycles with nothing else arriving."""
        total = sum(len(s) for s in self.sent)
        for _ in range(timeout_cycles):
            if len(self.received) >= total and all(s.idle() for s in self.src):
                break
            if self.errors:   # fail fast with the first real problem
                break
            await RisingEdge(self.dut.clk)
        else:
            self.check()
            missing = self.outstanding()
            raise AssertionError(
                f"vio_axis_rq_mux: {len(missing)} frame(s) not delivered within {timeout_cycles} "
                f"cycles ({now()}): {', '.join(missing[:8])}")
        await ClockCycles(self.dut.clk, idle_cycles)
        self.check()
        if len(self.received) != total:
            raise AssertionError(f"vio_axis_rq_mux: {len(self.received)} frames out, {total} sent ({now()})")
        for p in range(self.ports):
            n = sum(1 for q, _ in self.received if q == p)
            assert n == len(self.sent[p]), \
                f"vio_axis_rq_mux: port {p}: {len(self.sent[p])} frames sent, {n} delivered ({now()})"

    async def wait_for(self, cond, what: str, timeout_cycles: int = 5000):
        for _ in range(timeout_cycles):
            if cond():
                return
            await RisingEdge(self.dut.clk)
        self.check()
        raise AssertionError(f"vio_axis_rq_mux: {what} within {timeout_cycles} cycles ({now()})")

    # ------------------------------------------------------------ traffic
    def make_frame(self, port: int, beats: int | None = None) -> Frame:
        seq = len(self.sent[port])
        n = beats if beats is not None else random.randint(1, 8)
        frame = Frame(port, seq)
        for b in range(n):
            data = [beat_tag(port, seq, b) | random.getrandbits(8)]
            data += [random.getrandbits(32) for _ in range(self.keep_w - 1)]
            frame.beats.append(Beat(data, random.getrandbits(self.keep_w), random.getrandbits(self.user_w)))
        return frame

    def send(self, port: int, beats: int | None = None) -> Frame:
        frame = self.make_frame(port, beats)
        self.sent[port].append(frame)
        tdata, tkeep, tuser = [], [], []
        for beat in frame.beats:
            tdata += beat.data
            tkeep += [(beat.keep >> i) & 1 for i in range(self.keep_w)]
            tuser += [beat.user] * self.keep_w
        self.src[port].send_nowait(AxiStreamFrame(tdata, tkeep=tkeep, tuser=tuser))
        return frame

    def set_pauses(self, src_prob: float | list[float] = 0.0, sink_prob: float = 0.0):
        probs = src_prob if isinstance(src_prob, list) else [src_prob] * self.ports
        for src, prob in zip(self.src, probs):
            src.set_pause_generator(random_pause(prob) if prob else None)
            src.pause = False
        self.sink.set_pause_generator(random_pause(sink_prob) if sink_prob else None)
        self.sink.pause = False

    # ------------------------------------------------------------ monitors
    async def _input_monitor(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            if _int(dut.rst.value):
                continue
            tvalid = _int(dut.s_axis_tvalid.value)
            tready = _int(dut.s_axis_tready.value)
            tlast = _int(dut.s_axis_tlast.value)
            if tready & (tready - 1):
                self.fail(f"s_axis_tready {tready:#b}: more than one input ready")
            for p in range(self.ports):
                if (tvalid >> p) & 1 and not self.in_frame[p] and self.waiting[p] is None:
                    self.waiting[p] = 0   # a new frame is offered on p
            acc = tvalid & tready
            for q in range(self.ports):
                if not (acc >> q) & 1:
                    continue
                if self.locked is not None and self.locked != q:
                    self.fail(f"interleave: beat of port {q} accepted while port {self.locked} "
                              f"frame {self.started[self.locked] - 1} is in progress")
                if not self.in_frame[q]:   # first beat of a frame
                    self.order.append((q, self.started[q]))
                    self.started[q] += 1
                    self.grants.append(q)
                    for p in range(self.ports):
                        if p != q and self.waiting[p] is not None:
                            self.waiting[p] += 1
                            self.max_wait_frames = max(self.max_wait_frames, self.waiting[p])
                            if self.waiting[p] > self.ports - 1:
                                self.fail(f"fairness: port {p} frame {self.started[p]} has waited while "
                                          f"{self.waiting[p]} frames of other ports started "
                                          f"(round-robin bound {self.ports - 1}); latest grant port {q}")
                    self.waiting[q] = None
                    self.in_frame[q] = True
                    self.locked = q
                self.beats_in[q] += 1
                if (tlast >> q) & 1:
                    self.in_frame[q] = False
                    self.locked = None
                    self.accepted[q] += 1

    async def _output_protocol(self):
        dut = self.dut
        held = None
        while True:
            await RisingEdge(dut.clk)
            if _int(dut.rst.value):
                held = None
                continue
            valid = _int(dut.m_axis_tvalid.value)
            ready = _int(dut.m_axis_tready.value)
            if valid:
                beat = (_int(dut.m_axis_tdata.value), _int(dut.m_axis_tkeep.value),
                        _int(dut.m_axis_tlast.value), _int(dut.m_axis_tuser.value))
                if held is not None and beat != held:
                    self.fail(f"m_axis beat changed while stalled (tag was {describe_tag(held[0] & 0xFFFFFFFF)}, "
                              f"now {describe_tag(beat[0] & 0xFFFFFFFF)})")
                held = None if ready else beat
                if ready:
                    self.out_beats += 1
                    self.out_last = get_sim_time("ns")
                    if self.out_first is None:
                        self.out_first = self.out_last
            elif held is not None:
                self.fail(f"m_axis tvalid dropped without a handshake ({describe_tag(held[0] & 0xFFFFFFFF)})")
                held = None

    async def _output_checker(self):
        while True:
            frame = await self.sink.recv(compact=False)
            self._check_frame(frame)

    def _check_frame(self, rx: AxiStreamFrame):
        k = len(self.received)
        n_beats = len(rx.tdata) // self.keep_w
        first_tag = describe_tag(rx.tdata[0]) if rx.tdata else "empty"
        if not self.order:
            self.fail(f"output frame #{k}: unexpected frame of {n_beats} beats ({first_tag}), "
                      f"no accepted frame is pending")
            return
        port, seq = self.order.popleft()
        exp = self.sent[port][seq] if seq < len(self.sent[port]) else None
        self.received.append((port, seq))
        if exp is None:
            self.fail(f"output frame #{k}: port {port} accepted frame {seq} the bench never sent")
            return
        where = f"output frame #{k} (expected {exp})"
        if n_beats != len(exp.beats):
            self.fail(f"{where}: {n_beats} beats, expected {len(exp.beats)}; "
                      f"received beats are from: {', '.join(describe_tag(rx.tdata[b * self.keep_w]) for b in range(n_beats))}")
            return
        for b, beat in enumerate(exp.beats):
            lanes = slice(b * self.keep_w, (b + 1) * self.keep_w)
            data = rx.tdata[lanes]
            keep = sum(bit << i for i, bit in enumerate(rx.tkeep[lanes]))
            user = rx.tuser[b * self.keep_w]
            if data != beat.data:
                i = next(i for i in range(self.keep_w) if data[i] != beat.data[i])
                self.fail(f"{where}: beat {b} DWORD {i}: expected {beat.data[i]:#010x}, got {data[i]:#010x} "
                          f"(received beat is {describe_tag(data[0])})")
                return
            if keep != beat.keep:
                self.fail(f"{where}: beat {b} tkeep: expected {beat.keep:#06x}, got {keep:#06x}")
                return
            if user != beat.user:
                self.fail(f"{where}: beat {b} tuser: expected {beat.user:#x}, got {user:#x} "
                          f"(xor {beat.user ^ user:#x})")
                return


async def start(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


# --------------------------------------------------------------------------- tests


@cocotb.test()
async def test_frames_pass_intact(dut):
    """Each port alone, then all together: 1..8-beat frames arrive whole, exactly once."""
    tb = await start(dut)
    for p in range(tb.ports):
        for beats in (1, 2, 8, random.randint(1, 8)):
            tb.send(p, beats)
        await tb.wait_idle()
    for _ in range(5):
        for p in range(tb.ports):
            tb.send(p)
    await tb.wait_idle()
    tb.log.info("%d frames, max frames passed while waiting %d", len(tb.received), tb.max_wait_frames)


@cocotb.test()
async def test_random_traffic(dut):
    """Random frames on every port under input bubbles and output backpressure."""
    tb = await start(dut)
    profiles = [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.6, 0.7),
                ([0.0, 0.8, 0.3], 0.3)]
    for src_prob, sink_prob in profiles:
        tb.set_pauses(src_prob, sink_prob)
        for _ in range(40):
            for p in range(tb.ports):
                if random.random() < 0.8:
                    tb.send(p)
        await tb.wait_idle()
        tb.log.info("profile src %s sink %.1f: %d frames so far, max wait %d frames",
                    src_prob, sink_prob, len(tb.received), tb.max_wait_frames)


@cocotb.test()
async def test_fairness_saturated(dut):
    """All ports always busy: round-robin grants, wait bounded, no bubble on the output."""
    tb = await start(dut)
    beats = [8, 1, random.randint(1, 8)]   # long frames must not starve short ones
    for p in range(tb.ports):
        for _ in range(20):
            tb.send(p, beats[p % 3])
    await tb.wait_idle()
    total_beats = sum(len(f.beats) for frames in tb.sent for f in frames)
    span = round((tb.out_last - tb.out_first) / 4) + 1
    assert tb.out_beats == total_beats, \
        f"fairness: {tb.out_beats} beats left, {total_beats} sent ({now()})"
    assert span == total_beats, \
        f"fairness: {total_beats} beats took {span} cycles on an always-ready output (expected no bubble) ({now()})"
    # while every port still has frames the grant order is strict rotation
    busy = min(len(s) for s in tb.sent) * tb.ports
    g = tb.grants[:busy]
    for i in range(1, len(g)):
        if g[i] != (g[i - 1] + 1) % tb.ports:
            raise AssertionError(f"fairness: grant {i} went to port {g[i]} after port {g[i - 1]} "
                                 f"while all ports were busy (grants {g[max(0, i - 4):i + 2]}) ({now()})")
    tb.log.info("%d beats in %d cycles, max wait %d frames", total_beats, span, tb.max_wait_frames)

    # the same under output backpressure
    tb.set_pauses(0.0, 0.5)
    for p in range(tb.ports):
        for _ in range(10):
            tb.send(p)
    await tb.wait_idle()


@cocotb.test()
async def test_output_stopped(dut):
    """The output stalls for a long time while every input pushes: nothing lost, then all drains."""
    tb = await start(dut)
    tb.set_pauses(0.2, 0.0)
    tb.sink.pause = True
    for _ in range(6):
        for p in range(tb.ports):
            tb.send(p)
    await ClockCycles(dut.clk, 200)
    tb.check()
    assert tb.out_beats == 0, f"output: {tb.out_beats} beats handshaken while tready was low ({now()})"
    assert sum(tb.beats_in) <= 2, \
        f"input: {sum(tb.beats_in)} beats accepted into a stopped mux (at most the output register + 1) ({now()})"
    tb.sink.pause = False
    await tb.wait_idle()


@cocotb.test()
async def test_order_follows_acceptance(dut):
    """A frame accepted on port A before a frame on port B is offered leaves first."""
    tb = await start(dut)
    tb.set_pauses([0.3, 0.3, 0.3], 0.5)
    background = cocotb.start_soon(_background(tb))
    pairs = []
    for rnd in range(24):
        a, b = random.sample(range(tb.ports - 1), 2)   # the last port is background traffic
        fa = tb.send(a)
        if rnd % 2:   # B offered once A's first beat is in (A is then locked to the end)
            await tb.wait_for(lambda: tb.started[a] > fa.seq, f"port {a} frame {fa.seq} not started")
        else:         # B offered once all of A is in
            await tb.wait_for(lambda: tb.accepted[a] > fa.seq, f"port {a} frame {fa.seq} not accepted")
        fb = tb.send(b)
        pairs.append((fa, fb))
        await ClockCycles(dut.clk, random.randint(0, 6))
    background.cancel()
    await tb.wait_idle()
    pos = {key: i for i, key in enumerate(tb.received)}
    for fa, fb in pairs:
        ia, ib = pos[(fa.port, fa.seq)], pos[(fb.port, fb.seq)]
        assert ia < ib, (f"order: {fa} was accepted before {fb} was offered but left as output frame "
                         f"#{ia}, after #{ib} ({now()})")


async def _background(tb: TB):
    p = tb.ports - 1
    while True:
        if tb.src[p].count() < 2:
            tb.send(p)
        await ClockCycles(tb.dut.clk, random.randint(1, 12))


@cocotb.test()
async def test_stalled_frame_holds_port(dut):
    """A source that stalls mid-frame keeps the port; the others wait, then everything drains."""
    tb = await start(dut)
    for _ in range(3):
        tb.send(0, 8)
        await tb.wait_for(lambda: tb.in_frame[0], "port 0 frame not started")
        tb.src[0].pause = True
        for p in range(1, tb.ports):
            tb.send(p)
        await ClockCycles(dut.clk, 3)   # the beat already on the bus may still go
        others = [tb.beats_in[p] for p in range(1, tb.ports)]
        await ClockCycles(dut.clk, 40)
        tb.check()
        assert tb.in_frame[0], f"stall: port 0 frame {tb.sent[0][-1].seq} ended while its source was paused ({now()})"
        now_others = [tb.beats_in[p] for p in range(1, tb.ports)]
        assert now_others == others, \
            f"stall: ports 1.. accepted {now_others} beats (were {others}) while port 0 held a frame open ({now()})"
        tb.src[0].pause = False
        await tb.wait_idle()


@cocotb.test()
async def test_reset_mid_frame(dut):
    """Reset in the middle of a frame frees the port; traffic afterwards is clean."""
    tb = await start(dut)
    tb.set_pauses(0.0, 0.6)
    for p in range(tb.ports):
        tb.send(p, 8)
    await tb.wait_for(lambda: tb.locked is not None and tb.beats_in[tb.locked] >= 3, "no frame in progress")
    held = tb.locked
    tb.log.info("reset while port %d is mid-frame", held)
    await tb.reset()
    assert not _int(dut.m_axis_tvalid.value), f"reset: m_axis_tvalid still high after reset ({now()})"
    tb.set_pauses(0.3, 0.3)
    for _ in range(4):
        for p in [(held + 1) % tb.ports, (held + 2) % tb.ports, held]:
            tb.send(p)
    await tb.wait_idle()
