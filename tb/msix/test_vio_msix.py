# SPDX-License-Identifier: Apache-2.0
"""Focused bench for vio_msix: MSI-X tables/PBA on the reg port, messages on RQ.

The DUT runs alone. A register master and an interrupt-request driver feed
it; an RqSink (cocotbext-pcie) collects the messages. ``MsixRef`` is the
reference: the table/PBA/mask semantics of PCIe MSI-X as summarised in
virtio.md §9.3, plus the choices the block documents (requests to a function
with MSI-X disabled are dropped without setting the pending bit; a pending
vector is sent as soon as it becomes deliverable: vector unmasked by a table
write, or function mask cleared / MSI-X enabled).

Ordering contract the bench relies on: the DUT handles its two inputs one
request at a time, in acceptance order, so the reference is stepped at each
handshake. Config-space inputs (enable / function mask) are changed only when
the DUT is quiescent and take effect within a few cycles.
"""

from __future__ import annotations

import itertools
import logging
import random
import struct
from collections import deque
from dataclasses import dataclass, field

import cocotb
from cocotb.clock import Clock
from cocotb.queue import Queue
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, Event, ReadOnly, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus
from cocotbext.pcie.core.tlp import TlpType
from cocotbext.pcie.xilinx.us.interface import RqSink
from cocotbext.pcie.xilinx.us.tlp import Tlp_us
from tb.util import now


STORM_STEPS = 3000   # operations in test_random_storm



# --------------------------------------------------------------------------- reference model


@dataclass(frozen=True)
class Msg:
    """One expected MSI-X message."""

    func: int
    vec: int
    address: int
    data: int

    def __str__(self) -> str:
        vec = f" vec {self.vec}" if self.vec >= 0 else ""
        return f"func {self.func}{vec} addr {self.address:#x} data {self.data:#010x}"


@dataclass
class Entry:
    addr: int = 0      # Message Address as stored (bits 1:0 read 0)
    upper: int = 0     # Message Upper Address
    data: int = 0      # Message Data
    mask: bool = True  # Vector Control bit 0, resets to masked


@dataclass
class FuncState:
    entries: list[Entry]
    pending: set[int] = field(default_factory=set)
    enable: bool = False
    fmask: bool = False
    in_reset: bool = False   # func_reset high (FLR / VF absent): requests dropped, accesses read 0


class MsixRef:
    """Per-function MSI-X table, PBA, masks and the messages they imply."""

    def __init__(self, num_func: int, num_vec: int, table_offset: int, pba_offset: int):
        self.num_func = num_func
        self.num_vec = num_vec
        self.table_offset = table_offset
        self.pba_offset = pba_offset
        self.table_bytes = -(-16 * num_vec // 4096) * 4096  # the block's table region
        self.pba_bytes = 4096
        self.funcs = [FuncState([Entry() for _ in range(num_vec)]) for _ in range(num_func)]

    def deliverable(self, f: int) -> bool:
        st = self.funcs[f]
        return st.enable and not st.fmask

    def msg(self, f: int, v: int) -> Msg:
        e = self.funcs[f].entries[v]
        return Msg(f, v, (e.upper << 32) | (e.addr & ~3), e.data)

    def _locate(self, f: int, addr: int):
        """('tbl', vec, dword) | ('pba', dword) | None."""
        if f >= self.num_func or self.funcs[f].in_reset:
            return None
        rel = addr - self.table_offset
        if 0 <= rel < self.table_bytes:
            vec, dw = rel // 16, (rel % 16) // 4
            return ("tbl", vec, dw) if vec < self.num_vec else None
        rel = addr - self.pba_offset
        if 0 <= rel < self.pba_bytes:
            return ("pba", rel // 4)
        return None

    def describe(self, f: int, addr: int) -> str:
        loc = self._locate(f, addr)
        if f >= self.num_func:
            where = "no such function"
        elif loc is None:
            where = "unmapped"
        elif loc[0] == "pba":
            where = f"PBA dword {loc[1]}"
        else:
            where = f"table vec {loc[1]} {('address', 'upper address', 'data', 'vector control')[loc[2]]}"
        return f"func {f} addr {addr:#x} ({where})"

    def read(self, f: int, addr: int) -> int:
        loc = self._locate(f, addr)
        if loc is None:
            return 0
        st = self.funcs[f]
        if loc[0] == "pba":
            base = 32 * loc[1]
            return sum(1 << (v - base) for v in st.pending if base <= v < base + 32)
        e = st.entries[loc[1]]
        return [e.addr & ~3, e.upper, e.data, int(e.mask)][loc[2]]

    def write(self, f: int, addr: int, be: int, data: int) -> list[Msg]:
        loc = self._locate(f, addr)
        if loc is None or loc[0] == "pba":
            return []  # unmapped, or the read-only PBA
        _, v, dw = loc
        st = self.funcs[f]
        e = st.entries[v]
        bmask = sum(0xFF << (8 * b) for b in range(4) if be >> b & 1)
        if dw < 3:
            name = ("addr", "upper", "data")[dw]
            setattr(e, name, (getattr(e, name) & ~bmask) | (data & bmask))
            return []
        if be & 1:
            e.mask = bool(data & 1)
        if not e.mask and v in st.pending and self.deliverable(f):
            st.pending.discard(v)
            return [self.msg(f, v)]
        return []

    def irq(self, f: int, v: int) -> tuple[str, list[Msg]]:
        """An interrupt event: ('dropped' | 'pending' | 'sent', messages)."""
        if f >= self.num_func or v >= self.num_vec:
            return "dropped", []
        st = self.funcs[f]
        if not st.enable or st.in_reset:
            return "dropped", []
        if st.fmask or st.entries[v].mask:
            st.pending.add(v)
            return "pending", []
        st.pending.discard(v)
        return "sent", [self.msg(f, v)]

    def function_reset(self, f: int) -> None:
        """func_reset[f] rose: the function's entries return to reset values (config bits stay)."""
        st = self.funcs[f]
        st.entries = [Entry() for _ in range(self.num_vec)]
        st.pending.clear()
        st.in_reset = True

    def set_cfg(self, f: int, enable: bool, fmask: bool) -> list[Msg]:
        """Config-space change; returns the replayed messages (any order)."""
        st = self.funcs[f]
        was = self.deliverable(f)
        st.enable, st.fmask = enable, fmask
        if was or not self.deliverable(f):
            return []
        out = [self.msg(f, v) for v in sorted(st.pending) if not st.entries[v].mask]
        for m in out:
            st.pending.discard(m.vec)
        return out


# --------------------------------------------------------------------------- bench


@dataclass
class RegReq:
    we: bool
    func: int
    addr: int
    be: int
    wdata: int = 0
    expect: int | None = None   # read: the reference value at acceptance
    rdata: int | None = None
    done: Event = field(default_factory=Event)


@dataclass
class IrqReq:
    func: int
    vec: int
    outcome: str | None = None
    accepted: Event = field(default_factory=Event)


class TB:
    RQ_PORT = "m_axis_rq"

    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.num_func = int(dut.NUM_FUNC.value)
        self.num_vec = int(dut.NUM_VEC.value)
        self.table_offset = int(dut.TABLE_OFFSET.value)
        self.pba_offset = int(dut.PBA_OFFSET.value)
        self.pba_dwords = 2 * (-(-self.num_vec // 64))
        self.log.info("test seed %d: NUM_FUNC=%d NUM_VEC=%d TABLE_OFFSET=%#x PBA_OFFSET=%#x",
                      cocotb.RANDOM_SEED, self.num_func, self.num_vec, self.table_offset, self.pba_offset)

        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())

        self.rq = RqSink(AxiStreamBus.from_prefix(dut, self.RQ_PORT), dut.clk, dut.rst)
        logging.getLogger(f"cocotb.{dut._name}.{self.RQ_PORT}").setLevel(logging.WARNING)

        self.ref = MsixRef(self.num_func, self.num_vec, self.table_offset, self.pba_offset)
        self.expected: deque[list[Msg]] = deque()   # groups; order inside a group is free
        self.received: list[Msg] = []
        self.errors: list[str] = []
        self.stats = {"sent": 0, "pending": 0, "dropped": 0}
        self.exp_stats = {"sent": 0, "pending": 0, "dropped": 0}
        self.accept_time = -1

        self.reg_q: Queue[RegReq] = Queue()
        self.reg_busy = False
        self.reads_inflight: deque[RegReq] = deque()
        self.irq_q: Queue[IrqReq] = Queue()
        self.irq_busy = False
        self.cfg_en = 0
        self.cfg_mask = 0

        dut.rst.value = 1
        for name in ("s_reg_req_valid", "s_reg_req_we", "s_reg_req_func", "s_reg_req_bar",
                     "s_reg_req_addr", "s_reg_req_be", "s_reg_req_wdata",
                     "s_axis_irq_valid", "s_axis_irq_func", "s_axis_irq_vec",
                     "cfg_msix_enable", "cfg_msix_mask", "func_reset"):
            getattr(dut, name).value = 0

        cocotb.start_soon(self._reg_driver())
        cocotb.start_soon(self._rsp_monitor())
        cocotb.start_soon(self._irq_driver())
        cocotb.start_soon(self._rq_checker())
        cocotb.start_soon(self._rq_beat_monitor())
        cocotb.start_soon(self._stat_monitor())

    # ------------------------------------------------------------ reset / sync
    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 5)
        self.dut.rst.value = 0
        # the block sweeps its RAMs (NUM_FUNC*NUM_VEC cycles) before it accepts anything
        limit = self.num_func * self.num_vec + 50
        for _ in range(limit):
            await RisingEdge(self.dut.clk)
            if int(self.dut.s_reg_req_ready.value):
                return
        raise AssertionError(f"vio_msix: not ready {limit} cycles after reset ({now()})")

    def fail(self, text: str):
        self.errors.append(f"{text} ({now()})")
        self.log.error("%s (%s)", text, now())

    def check(self):
        if self.errors:
            more = f"\n... and {len(self.errors) - 10} more" if len(self.errors) > 10 else ""
            raise AssertionError("\n".join(self.errors[:10]) + more)

    def _accepted(self, what: str):
        # the reference is stepped in acceptance order: two inputs accepted on
        # one edge would make that order ambiguous
        t = get_sim_time("step")
        if self.accept_time == t:
            self.fail(f"{what}: reg and irq requests accepted on the same clock edge")
        self.accept_time = t

    def _expect(self, msgs: list[Msg]):
        if msgs:
            self.expected.append(list(msgs))

    async def quiesce(self, idle_cycles: int = 12, timeout_cycles: int = 20000):
        """Drivers empty, every expected message received, then idle cycles."""
        for _ in range(timeout_cycles):
            if (self.reg_q.empty() and not self.reg_busy and not self.reads_inflight
                    and self.irq_q.empty() and not self.irq_busy and not self.expected):
                break
            await RisingEdge(self.dut.clk)
        else:
            todo = [m for g in self.expected for m in g]
            missing = "; ".join(str(m) for m in todo[:8]) + (f"; ... ({len(todo)} in all)" if len(todo) > 8 else "")
            raise AssertionError(
                f"vio_msix: not quiescent after {timeout_cycles} cycles ({now()}): "
                f"reg queue {self.reg_q.qsize()}, reads in flight {len(self.reads_inflight)}, "
                f"irq queue {self.irq_q.qsize()}, missing messages: {missing or 'none'}")
        await ClockCycles(self.dut.clk, idle_cycles)
        self.check()

    async def settle(self):
        """Quiesce and compare the statistics pulses with the reference counts."""
        await self.quiesce()
        await ClockCycles(self.dut.clk, 30)   # room for an unexpected late message
        self.check()
        if self.stats != self.exp_stats:
            raise AssertionError(f"statistics pulses: expected {self.exp_stats}, got {self.stats} ({now()})")

    # ------------------------------------------------------------ config space
    async def set_cfg(self, func: int, enable: bool | None = None, fmask: bool | None = None):
        await self.quiesce(idle_cycles=4)
        st = self.ref.funcs[func] if func < self.num_func else None
        en = st.enable if enable is None else enable
        fm = st.fmask if fmask is None else fmask
        self.cfg_en = (self.cfg_en & ~(1 << func)) | (int(en) << func)
        self.cfg_mask = (self.cfg_mask & ~(1 << func)) | (int(fm) << func)
        self.dut.cfg_msix_enable.value = self.cfg_en
        self.dut.cfg_msix_mask.value = self.cfg_mask
        msgs = self.ref.set_cfg(func, en, fm)
        self.exp_stats["sent"] += len(msgs)
        self._expect(msgs)
        await ClockCycles(self.dut.clk, 4)   # registered inputs, then the replay scan starts

    # ------------------------------------------------------------ register port
    def tbl_addr(self, vec: int, dw: int) -> int:
        return self.table_offset + 16 * vec + 4 * dw

    def pba_addr(self, dword: int) -> int:
        return self.pba_offset + 4 * dword

    def reg_write_nowait(self, func, addr, wdata, be=0xF) -> RegReq:
        req = RegReq(True, func, addr, be, wdata)
        self.reg_q.put_nowait(req)
        return req

    def reg_read_nowait(self, func, addr, be=0xF) -> RegReq:
        req = RegReq(False, func, addr, be)
        self.reg_q.put_nowait(req)
        return req

    async def reg_write(self, func, addr, wdata, be=0xF):
        req = self.reg_write_nowait(func, addr, wdata, be)
        await self._wait(req.done, f"write func {func} addr {addr:#x} not accepted")

    async def reg_read(self, func, addr, be=0xF) -> int:
        """Read one DWORD; the response is checked against the reference."""
        req = self.reg_read_nowait(func, addr, be)
        await self._wait(req.done, f"read func {func} addr {addr:#x}: no response")
        self.check()
        return req.rdata

    async def _wait(self, event: Event, what: str, cycles: int = 20000):
        try:
            await with_timeout(event.wait(), cycles * 4, "ns")
        except Exception as exc:  # SimTimeoutError
            raise AssertionError(f"vio_msix: {what} within {cycles} cycles ({now()})") from exc

    async def _reg_driver(self):
        dut = self.dut
        while True:
            if self.reg_q.empty():
                dut.s_reg_req_valid.value = 0
                self.reg_busy = False
                req = await self.reg_q.get()
            else:
                req = self.reg_q.get_nowait()
            self.reg_busy = True
            dut.s_reg_req_we.value = int(req.we)
            dut.s_reg_req_func.value = req.func
            dut.s_reg_req_bar.value = 0
            dut.s_reg_req_addr.value = req.addr
            dut.s_reg_req_be.value = req.be
            dut.s_reg_req_wdata.value = req.wdata
            dut.s_reg_req_valid.value = 1
            while True:
                await RisingEdge(dut.clk)
                if int(dut.s_reg_req_ready.value):
                    break
            self._accepted(f"reg {'write' if req.we else 'read'} func {req.func} addr {req.addr:#x}")
            if req.we:
                msgs = self.ref.write(req.func, req.addr, req.be, req.wdata)
                self.exp_stats["sent"] += len(msgs)
                self._expect(msgs)
                req.done.set()
            else:
                req.expect = self.ref.read(req.func, req.addr)
                self.reads_inflight.append(req)

    async def _rsp_monitor(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            if not int(dut.s_reg_rsp_valid.value):
                continue
            data = int(dut.s_reg_rsp_rdata.value)
            if not self.reads_inflight:
                self.fail(f"read response {data:#010x} without an outstanding read")
                continue
            req = self.reads_inflight.popleft()
            req.rdata = data
            if data != req.expect:
                self.fail(f"read {self.ref.describe(req.func, req.addr)} be {req.be:#x}: "
                          f"expected {req.expect:#010x}, got {data:#010x}")
            req.done.set()

    # ------------------------------------------------------------ interrupt requests
    def irq_nowait(self, func: int, vec: int) -> IrqReq:
        req = IrqReq(func, vec)
        self.irq_q.put_nowait(req)
        return req

    async def irq(self, func: int, vec: int) -> str:
        """Request an interrupt; returns the reference outcome."""
        req = self.irq_nowait(func, vec)
        await self._wait(req.accepted, f"irq func {func} vec {vec} not accepted")
        return req.outcome

    async def _irq_driver(self):
        dut = self.dut
        while True:
            if self.irq_q.empty():
                dut.s_axis_irq_valid.value = 0
                self.irq_busy = False
                req = await self.irq_q.get()
            else:
                req = self.irq_q.get_nowait()
            self.irq_busy = True
            dut.s_axis_irq_func.value = req.func
            dut.s_axis_irq_vec.value = req.vec
            dut.s_axis_irq_valid.value = 1
            while True:
                await RisingEdge(dut.clk)
                if int(dut.s_axis_irq_ready.value):
                    break
            self._accepted(f"irq func {req.func} vec {req.vec}")
            outcome, msgs = self.ref.irq(req.func, req.vec)
            self.exp_stats[outcome] += 1
            self._expect(msgs)
            req.outcome = outcome
            req.accepted.set()

    # ------------------------------------------------------------ RQ messages
    async def _rq_checker(self):
        while True:
            frame = await self.rq.recv()
            self._check_frame(frame)

    def _check_frame(self, frame):
        where = f"RQ message #{len(self.received)}"
        if len(frame.data) != 5:
            self.fail(f"{where}: {len(frame.data)} DWORDs, expected 4 descriptor + 1 payload")
            return
        tlp = Tlp_us.unpack_us_rq(frame)
        func = int(tlp.requester_id) & 0xFF
        data = struct.unpack("<I", bytes(tlp.data))[0]
        got = Msg(func, -1, tlp.address, data)
        exp_type = TlpType.MEM_WRITE_64 if tlp.address > 0xFFFFFFFF else TlpType.MEM_WRITE
        problems = []
        if tlp.fmt_type != exp_type:
            problems.append(f"type {tlp.fmt_type}, expected {exp_type}")
        if tlp.length != 1:
            problems.append(f"length {tlp.length} DW, expected 1")
        if frame.first_be != 0xF or frame.last_be != 0:
            problems.append(f"first_be/last_be {frame.first_be:#x}/{frame.last_be:#x}, expected 0xf/0x0")
        if frame.discontinue:
            problems.append("discontinue set")
        if int(tlp.requester_id) >> 8:
            problems.append(f"requester bus {int(tlp.requester_id) >> 8:#x}, expected 0 (filled by the core)")
        if tlp.requester_id_enable:
            problems.append("requester_id_enable set")
        if int(tlp.tc) or int(tlp.attr) or int(tlp.at):
            problems.append(f"tc {int(tlp.tc)} attr {int(tlp.attr)} at {int(tlp.at)}, expected 0")
        if problems:
            self.fail(f"{where} (func {func} addr {tlp.address:#x}): " + "; ".join(problems))
        self.received.append(got)
        if not self.expected:
            self.fail(f"{where}: unexpected message func {func} addr {tlp.address:#x} data {data:#010x}")
            return
        group = self.expected[0]
        for i, m in enumerate(group):
            if (m.func, m.address, m.data) == (got.func, got.address, got.data):
                del group[i]
                if not group:
                    self.expected.popleft()
                return
        want = " | ".join(str(m) for m in group)
        self.fail(f"{where}: got func {func} addr {tlp.address:#x} data {data:#010x}, expected {want}")
        self.expected.popleft()   # resynchronise on the next group

    async def _rq_beat_monitor(self):
        """Sideband of each RQ beat: one-beat TLP, sop/eop flags and pointer as PG213 (512-bit)."""
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            if not (int(dut.m_axis_rq_tvalid.value) and int(dut.m_axis_rq_tready.value)):
                continue
            tuser = int(dut.m_axis_rq_tuser.value)
            tkeep = int(dut.m_axis_rq_tkeep.value)
            got = (int(dut.m_axis_rq_tlast.value), tkeep, tuser >> 20 & 3, tuser >> 22 & 3,
                   tuser >> 26 & 3, tuser >> 28 & 0xF)
            want = (1, 0x1F, 1, 0, 1, 4)
            if got != want:
                self.fail("RQ beat (tlast, tkeep, is_sop, is_sop0_ptr, is_eop, is_eop0_ptr) = "
                          f"{got}, expected {want}")

    async def _stat_monitor(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            if int(dut.stat_irq_sent.value):
                self.stats["sent"] += 1
            if int(dut.stat_irq_pending.value):
                self.stats["pending"] += 1
            if int(dut.stat_irq_dropped.value):
                self.stats["dropped"] += 1

    # ------------------------------------------------------------ helpers
    async def program(self, func: int, vec: int, address: int, data: int, mask: bool = False):
        await self.reg_write(func, self.tbl_addr(vec, 0), address & 0xFFFFFFFF)
        await self.reg_write(func, self.tbl_addr(vec, 1), address >> 32)
        await self.reg_write(func, self.tbl_addr(vec, 2), data)
        await self.reg_write(func, self.tbl_addr(vec, 3), int(mask))

    async def set_mask(self, func: int, vec: int, mask: bool):
        await self.reg_write(func, self.tbl_addr(vec, 3), int(mask))

    async def pba(self, func: int) -> int:
        """The function's whole PBA as one integer (each DWORD checked on the way)."""
        val = 0
        for k in range(self.pba_dwords):
            val |= await self.reg_read(func, self.pba_addr(k)) << (32 * k)
        return val

    def ref_pba(self, func: int) -> int:
        return sum(1 << v for v in self.ref.funcs[func].pending)

    def rand_address(self) -> int:
        if random.random() < 0.5:
            return random.randrange(0, 1 << 32) & ~3
        return random.randrange(1 << 32, 1 << 64) & ~3

    async def expect_no_message(self, cycles: int = 60):
        n = len(self.received)
        await ClockCycles(self.dut.clk, cycles)
        if len(self.received) != n:
            extra = "; ".join(str(m) for m in self.received[n:])
            raise AssertionError(f"unexpected message(s) while none is due: {extra} ({now()})")
        self.check()


async def setup(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


# --------------------------------------------------------------------------- tests


@cocotb.test()
async def test_reset_values(dut):
    """Every table field of every function and every PBA DWORD reads its reset value."""
    tb = await setup(dut)
    for f in range(tb.num_func):
        for v in range(tb.num_vec):
            for dw, want in enumerate((0, 0, 0, 1)):
                got = await tb.reg_read(f, tb.tbl_addr(v, dw))
                assert got == want, f"func {f} vec {v} dword {dw}: reset value {got:#x}, expected {want:#x} ({now()})"
        for k in range(tb.pba_dwords):
            got = await tb.reg_read(f, tb.pba_addr(k))
            assert got == 0, f"func {f} PBA dword {k}: reset value {got:#x}, expected 0 ({now()})"
    await tb.settle()


@cocotb.test()
async def test_table_byte_enables(dut):
    """Each field of sampled entries takes byte-enable writes; reads return the exact values."""
    tb = await setup(dut)
    vecs = sorted({0, tb.num_vec - 1, *random.sample(range(tb.num_vec), min(6, tb.num_vec))})
    for f in range(tb.num_func):
        for v in vecs:
            for dw in range(4):
                for be in random.sample(range(16), 6) + [0xF]:
                    data = random.getrandbits(32)
                    await tb.reg_write(f, tb.tbl_addr(v, dw), data, be)
                    await tb.reg_read(f, tb.tbl_addr(v, dw))   # checked against the reference
        # nothing bled into the neighbours or the other function
        for v in range(tb.num_vec):
            for dw in range(4):
                await tb.reg_read(f, tb.tbl_addr(v, dw))
    # all 16 byte-enable patterns on one field, from a known value
    for be in range(16):
        await tb.reg_write(0, tb.tbl_addr(0, 2), 0xFFFFFFFF)
        await tb.reg_write(0, tb.tbl_addr(0, 2), 0x12345678, be)
        await tb.reg_read(0, tb.tbl_addr(0, 2))
    # address bits 1:0 and Vector Control bits 31:1 read 0
    await tb.reg_write(0, tb.tbl_addr(0, 0), 0xFFFFFFFF)
    assert await tb.reg_read(0, tb.tbl_addr(0, 0)) == 0xFFFFFFFC, f"address bits 1:0 not 0 ({now()})"
    await tb.reg_write(0, tb.tbl_addr(0, 3), 0xFFFFFFFE)
    assert await tb.reg_read(0, tb.tbl_addr(0, 3)) == 0, f"vector control reads other than bit 0 ({now()})"
    await tb.settle()


@cocotb.test()
async def test_pba_read_only(dut):
    """PBA writes are ignored, whether the bits are set or clear."""
    tb = await setup(dut)
    f = tb.num_func - 1
    await tb.set_cfg(f, enable=True)
    pend = random.sample(range(tb.num_vec), min(5, tb.num_vec))
    for v in pend:
        assert await tb.irq(f, v) == "pending"
    for k in range(tb.pba_dwords):
        for val in (0xFFFFFFFF, 0x0, random.getrandbits(32)):
            await tb.reg_write(f, tb.pba_addr(k), val)
            await tb.reg_write(0, tb.pba_addr(k), val)
    for func in range(tb.num_func):
        got = await tb.pba(func)
        assert got == tb.ref_pba(func), f"func {func} PBA {got:#x}, expected {tb.ref_pba(func):#x} ({now()})"
    await tb.settle()


@cocotb.test()
async def test_delivery(dut):
    """Unmasked vectors of every function send one MemWr with their address, data and requester."""
    tb = await setup(dut)
    for f in range(tb.num_func):
        await tb.set_cfg(f, enable=True)
        for v in sorted(set(random.sample(range(tb.num_vec), min(4, tb.num_vec))) | {tb.num_vec - 1}):
            await tb.program(f, v, tb.rand_address(), random.getrandbits(32))
            n = len(tb.received)
            assert await tb.irq(f, v) == "sent"
            await tb.quiesce()
            assert len(tb.received) == n + 1, f"func {f} vec {v}: {len(tb.received) - n} messages, expected 1 ({now()})"
            assert await tb.pba(f) == 0
    await tb.settle()


@cocotb.test()
async def test_vector_mask_pending(dut):
    """Masked vector: pending bit, no message; unmask sends exactly one with the current table."""
    tb = await setup(dut)
    f = tb.num_func - 1
    v = random.randrange(tb.num_vec)
    await tb.set_cfg(f, enable=True)
    await tb.program(f, v, tb.rand_address(), random.getrandbits(32), mask=True)
    for _ in range(3):
        assert await tb.irq(f, v) == "pending"
    await tb.expect_no_message()
    assert await tb.pba(f) == 1 << v, f"func {f} vec {v}: PBA bit not set ({now()})"
    # the message uses the table contents at send time
    await tb.program(f, v, tb.rand_address(), random.getrandbits(32), mask=True)
    n = len(tb.received)
    await tb.set_mask(f, v, False)
    await tb.quiesce()
    assert len(tb.received) == n + 1, f"func {f} vec {v}: {len(tb.received) - n} messages on unmask, expected 1 ({now()})"
    assert await tb.pba(f) == 0, f"func {f} vec {v}: PBA bit still set after unmask ({now()})"
    # unmasking again (no pending) sends nothing
    await tb.set_mask(f, v, True)
    await tb.set_mask(f, v, False)
    await tb.expect_no_message()
    await tb.settle()


@cocotb.test()
async def test_function_mask_replay(dut):
    """Function mask: events go pending; clearing it replays each unmasked pending vector once."""
    tb = await setup(dut)
    for f in range(tb.num_func):
        await tb.set_cfg(f, enable=True, fmask=True)
        vecs = random.sample(range(tb.num_vec), min(8, tb.num_vec))
        for i, v in enumerate(vecs):
            await tb.program(f, v, tb.rand_address(), random.getrandbits(32), mask=(i % 3 == 0))
        for v in vecs + vecs[:3]:
            assert await tb.irq(f, v) == "pending"
        await tb.expect_no_message()
        assert await tb.pba(f) == tb.ref_pba(f)
        n = len(tb.received)
        await tb.set_cfg(f, fmask=False)
        await tb.quiesce()
        replayed = len([v for i, v in enumerate(vecs) if i % 3])
        assert len(tb.received) - n == replayed, \
            f"func {f}: {len(tb.received) - n} replayed messages, expected {replayed} ({now()})"
        assert await tb.pba(f) == tb.ref_pba(f)
        for i, v in enumerate(vecs):   # the vector-masked ones are still pending
            if i % 3 == 0:
                await tb.set_mask(f, v, False)
        await tb.quiesce()
        assert await tb.pba(f) == 0, f"func {f}: PBA not clear after unmasking everything ({now()})"
    await tb.settle()


@cocotb.test()
async def test_msix_disabled(dut):
    """MSI-X disabled: requests are dropped, nothing becomes pending, enabling later sends nothing."""
    tb = await setup(dut)
    f = 0
    vecs = random.sample(range(tb.num_vec), min(4, tb.num_vec))
    for v in vecs:
        await tb.program(f, v, tb.rand_address(), random.getrandbits(32), mask=(v == vecs[0]))
        assert await tb.irq(f, v) == "dropped"
    await tb.expect_no_message()
    assert await tb.pba(f) == 0, f"func {f}: PBA set while MSI-X disabled ({now()})"
    await tb.set_cfg(f, enable=True)
    await tb.expect_no_message()
    # pending survives a disable and is sent when the function can send again
    v = vecs[0]
    assert await tb.irq(f, v) == "pending"
    await tb.set_cfg(f, enable=False)
    await tb.set_mask(f, v, False)
    await tb.expect_no_message()
    assert await tb.pba(f) == 1 << v
    await tb.set_cfg(f, enable=True)
    await tb.quiesce()
    assert await tb.pba(f) == 0
    await tb.settle()


@cocotb.test()
async def test_function_reset(dut):
    """func_reset[f] (an FLR, a VF gone): f's table and PBA return to reset values within NUM_VEC cycles
    (func_reset_busy until then), f's requests are dropped and its accesses read 0 while held, other
    functions keep their entries, pending bits and deliveries."""
    tb = await setup(dut)
    for f in range(tb.num_func):
        await tb.set_cfg(f, enable=True)
        for v in range(min(tb.num_vec, 8)):
            await tb.program(f, v, tb.rand_address(), random.getrandbits(32), mask=v % 2 == 1)
            assert await tb.irq(f, v) == ("pending" if v % 2 else "sent")
    await tb.quiesce()
    fr = random.randrange(tb.num_func)
    dut.func_reset.value = 1 << fr
    tb.ref.function_reset(fr)
    await RisingEdge(dut.clk)
    limit = tb.num_vec + 64
    for cycle in range(limit):
        await RisingEdge(dut.clk)
        await ReadOnly()
        if not int(dut.func_reset_busy.value) >> fr & 1:
            break
    else:
        assert False, f"func {fr}: func_reset_busy still high {limit} cycles after func_reset rose ({now()})"
    await RisingEdge(dut.clk)
    assert await tb.irq(fr, 0) == "dropped"
    assert await tb.reg_read(fr, tb.tbl_addr(0, 2)) == 0
    await tb.expect_no_message()
    dut.func_reset.value = 0
    tb.ref.funcs[fr].in_reset = False
    await RisingEdge(dut.clk)
    for f in range(tb.num_func):                       # every read is checked against the reference
        for v in range(min(tb.num_vec, 8)):
            for dw in range(4):
                await tb.reg_read(f, tb.tbl_addr(v, dw))
        assert await tb.pba(f) == tb.ref_pba(f), f"func {f}: PBA after the reset of func {fr} ({now()})"
    # the reset function works again from its reset state (vector masked: pending)
    assert await tb.irq(fr, 0) == "pending"
    await tb.settle()


@cocotb.test()
async def test_out_of_range(dut):
    """Bad function/vector numbers and unmapped offsets: dropped / read 0 / ignored, no hang."""
    tb = await setup(dut)
    for f in range(tb.num_func):
        await tb.set_cfg(f, enable=True)
        for v in range(min(tb.num_vec, 4)):
            await tb.program(f, v, tb.rand_address(), random.getrandbits(32))
    bad_irqs = [(tb.num_func, 0), (255, 0), (0, tb.num_vec), (tb.num_func - 1, 2047), (255, 2047)]
    for f, v in bad_irqs:
        assert await tb.irq(f, v) == "dropped"
    await tb.expect_no_message()
    # functions >= NUM_FUNC: reads 0, writes land nowhere
    for f in (tb.num_func, 255):
        for addr in (tb.tbl_addr(0, 0), tb.tbl_addr(0, 3), tb.pba_addr(0)):
            await tb.reg_write(f, addr, 0xFFFFFFFF)
            assert await tb.reg_read(f, addr) == 0
    # entries past NUM_VEC inside the table region, PBA DWORDs past the array, other offsets
    region_end = tb.table_offset + tb.ref.table_bytes
    odd = [tb.tbl_addr(tb.num_vec, 0), tb.tbl_addr(tb.num_vec, 3), region_end - 4,
           tb.pba_addr(tb.pba_dwords), tb.pba_offset + 4092,
           0x0, tb.table_offset - 4, region_end, tb.pba_offset + 4096]
    odd = [a for a in odd if a >= 0 and not (tb.pba_offset <= a < tb.pba_offset + 4096 and (a - tb.pba_offset) // 4 < tb.pba_dwords)]
    for f in range(tb.num_func):
        for addr in odd:
            await tb.reg_write(f, addr, random.getrandbits(32))
            await tb.reg_read(f, addr)
    # be = 0 writes change nothing; reads with any be return the whole DWORD
    await tb.reg_write(0, tb.tbl_addr(0, 2), 0xDEADBEEF, be=0)
    await tb.reg_read(0, tb.tbl_addr(0, 2), be=0)
    # nothing above aliased onto a real entry
    for f in range(tb.num_func):
        for v in range(tb.num_vec):
            for dw in range(4):
                await tb.reg_read(f, tb.tbl_addr(v, dw))
        await tb.pba(f)
    await tb.settle()


@cocotb.test()
async def test_rq_backpressure(dut):
    """Messages queued behind a stalled RQ are all delivered once, in order, none lost."""
    tb = await setup(dut)
    tb.rq.set_pause_generator(itertools.cycle([1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0]))
    for f in range(tb.num_func):
        await tb.set_cfg(f, enable=True)
        for v in range(min(tb.num_vec, 6)):
            await tb.program(f, v, tb.rand_address(), random.getrandbits(32))
    n = len(tb.received)
    reqs = [(f, v) for _ in range(3) for f in range(tb.num_func) for v in range(min(tb.num_vec, 6))]
    random.shuffle(reqs)
    for f, v in reqs:
        tb.irq_nowait(f, v)
    # register traffic in parallel with the stalled messages
    for _ in range(20):
        f, v = random.randrange(tb.num_func), random.randrange(tb.num_vec)
        tb.reg_read_nowait(f, tb.tbl_addr(v, random.randrange(4)))
    await tb.quiesce()
    assert len(tb.received) - n == len(reqs), \
        f"{len(tb.received) - n} messages under backpressure, expected {len(reqs)} ({now()})"
    # a full stop, then release
    tb.rq.clear_pause_generator()
    tb.rq.pause = True
    for f in range(tb.num_func):
        tb.irq_nowait(f, 0)
        tb.irq_nowait(f, 0)
    await ClockCycles(dut.clk, 200)
    tb.rq.pause = False
    await tb.settle()


@cocotb.test()
async def test_random_storm(dut):
    """Seeded mix of requests, mask/unmask, function mask and enable toggles, table rewrites,
    reads, out-of-range requests and RQ stalls, checked message by message."""
    tb = await setup(dut)
    tb.rq.set_pause_generator(iter(lambda: random.random() < 0.3, None))
    hot = {f: random.sample(range(tb.num_vec), min(6, tb.num_vec)) for f in range(tb.num_func)}

    def pick():
        f = random.randrange(tb.num_func)
        v = random.choice(hot[f]) if random.random() < 0.8 else random.randrange(tb.num_vec)
        return f, v

    for f in range(tb.num_func):
        await tb.set_cfg(f, enable=random.random() < 0.8, fmask=random.random() < 0.3)
        for v in hot[f]:
            await tb.program(f, v, tb.rand_address(), random.getrandbits(32), mask=random.random() < 0.5)

    for step in range(STORM_STEPS):
        r = random.random()
        if r < 0.40:
            f, v = pick()
            if random.random() < 0.05:
                f, v = random.choice([(tb.num_func, v), (f, tb.num_vec + random.randrange(2048 - tb.num_vec))])
            tb.irq_nowait(f, v)
        elif r < 0.60:
            f, v = pick()
            tb.reg_write_nowait(f, tb.tbl_addr(v, 3), random.getrandbits(32), random.randrange(16))
        elif r < 0.72:
            f, v = pick()
            dw = random.randrange(3)
            tb.reg_write_nowait(f, tb.tbl_addr(v, dw), random.getrandbits(32), random.randrange(16))
        elif r < 0.85:
            f, v = pick()
            if random.random() < 0.5:
                tb.reg_read_nowait(f, tb.tbl_addr(v, random.randrange(4)))
            else:
                tb.reg_read_nowait(f, tb.pba_addr(random.randrange(tb.pba_dwords)))
        elif r < 0.88:
            tb.reg_write_nowait(random.randrange(tb.num_func), tb.pba_addr(random.randrange(tb.pba_dwords)),
                                random.getrandbits(32))
        elif r < 0.96:
            f = random.randrange(tb.num_func)
            await tb.set_cfg(f, fmask=not tb.ref.funcs[f].fmask)
        else:
            f = random.randrange(tb.num_func)
            enabled = tb.ref.funcs[f].enable
            if not enabled or random.random() < 0.4:   # keep functions mostly enabled
                await tb.set_cfg(f, enable=not enabled)
        if random.random() < 0.1:
            await ClockCycles(dut.clk, random.randrange(1, 20))
        tb.check()
    for f in range(tb.num_func):
        assert await tb.pba(f) == tb.ref_pba(f)
    await tb.settle()
    tb.log.info("storm: %d messages, stats %s", len(tb.received), tb.stats)

