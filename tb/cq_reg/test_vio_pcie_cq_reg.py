"""Focused bench for vio_pcie_cq_reg.

The DUT alone: cocotbext-pcie's CqSource drives completer requests built
with Tlp_us, CcSink collects the completions, and a register-slave model on
the `reg` port (sparse memory per (function, BAR, offset), random ready
backpressure, random in-order response latency) records every access.

Every request the bench sends is turned, independently of the DUT, into the
register accesses it must cause and the completions it must produce (lower
address, byte count, DWORD count, status, IDs, split points, data under the
request's byte enables, read from the bench's own reference memory). The
final check compares both lists in order, plus the stat_ur / stat_drop pulse
counts, and fails on a hang (work left after a cycle budget).
"""

from __future__ import annotations

import logging
import os
import random
import struct
from collections import deque
from dataclasses import dataclass, field

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus
from cocotbext.pcie.core.tlp import CplStatus, TlpAt, TlpAttr, TlpTc, TlpType
from cocotbext.pcie.core.utils import PcieId
from cocotbext.pcie.xilinx.us.interface import CcSink, CqSource, UsPcieFrame
from cocotbext.pcie.xilinx.us.tlp import ReqType, Tlp_us

# ---------------------------------------------------------------------------
# reference computations (PCIe rules, written independently of the RTL)
# ---------------------------------------------------------------------------


def be_per_dw(length: int, first_be: int, last_be: int) -> list[int]:
    """Byte enables of each DWORD of a request."""
    if length == 1:
        return [first_be]
    return [first_be] + [0xF] * (length - 2) + [last_be]


def be_mask(be: int) -> int:
    """32-bit mask of the bytes enabled by ``be``."""
    return sum(0xFF << (8 * b) for b in range(4) if be >> b & 1)


def read_byte_count(length: int, first_be: int, last_be: int) -> int:
    """Byte Count of the first completion of a read (PCIe Base spec, 2.3.1.1)."""
    if length == 1:
        if first_be == 0:
            return 1  # zero-length read
        return (first_be.bit_length() - 1) - ((first_be & -first_be).bit_length() - 1) + 1
    first_gap = (first_be & -first_be).bit_length() - 1 if first_be else 0
    last_gap = 4 - last_be.bit_length() if last_be else 0
    return length * 4 - first_gap - last_gap


def split_read(addr: int, length: int, first_be: int, last_be: int, split: int):
    """Completions of a read: [(lower_address, byte_count, first DW index, DW count)].

    Walks the requested byte range and cuts it at every multiple of ``split``.
    """
    first_gap = (first_be & -first_be).bit_length() - 1 if first_be else 0
    start = addr + first_gap
    end = start + read_byte_count(length, first_be, last_be)
    out = []
    cur = start
    while cur < end:
        nxt = min(end, (cur // split + 1) * split)
        dw0, dw1 = cur // 4, -(-nxt // 4)
        out.append((cur & 0x7F, end - cur, dw0 - addr // 4, dw1 - dw0))
        cur = nxt
    return out


def initial_value(func: int, bar: int, addr: int) -> int:
    """Contents of a register nobody has written yet (distinct per location)."""
    x = (func * 0x9E3779B1 + bar * 0x85EBCA77 + addr * 0xC2B2AE3D + 0x27D4EB2F) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    return x


# ---------------------------------------------------------------------------
# transactions
# ---------------------------------------------------------------------------


@dataclass
class Req:
    """One completer request as the bench sends it."""

    kind: str  # "wr", "rd", or a name from UR_KINDS / DROP_KINDS
    func: int = 0
    bar: int = 0
    aperture: int = 24
    base: int = 0  # BAR base address (aligned to 2**aperture)
    offset: int = 0  # DWORD-aligned BAR offset of the first DWORD
    length: int = 1
    first_be: int = 0xF
    last_be: int = 0
    data: list[int] = field(default_factory=list)  # payload DWORDs
    tag: int = 0
    rid: int = 0
    tc: int = 0
    attr: int = 0
    at: int = 0

    @property
    def address(self) -> int:
        return self.base | self.offset

    def __str__(self) -> str:
        return (f"{self.kind} func {self.func} bar {self.bar} off {self.offset:#x} len {self.length} "
                f"fbe {self.first_be:#x} lbe {self.last_be:#x} tag {self.tag} rid {self.rid:#06x}")


@dataclass
class ExpAccess:
    we: int
    func: int
    bar: int
    addr: int
    be: int
    data: int | None  # write data (compared under be); None for reads
    origin: str


@dataclass
class ExpCpl:
    req: Req
    lower_address: int
    byte_count: int
    dword_count: int
    status: CplStatus
    locked: bool = False
    data: list[tuple[int, int]] = field(default_factory=list)  # (value, mask) per DWORD
    first_dw: int = 0  # index in the request of the first DWORD carried
    part: str = ""
    req_values: list[int] = field(default_factory=list)  # reference value of every DWORD of the read


@dataclass
class Access:
    we: int
    func: int
    bar: int
    addr: int
    be: int
    data: int
    time: float


UR_KINDS = ("io_rd", "io_wr", "fetch_add", "swap", "cas", "rd_locked", "cfg_rd")
DROP_KINDS = ("msg", "msg_vendor", "msg_ats")


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------


class CqSourceHw(CqSource):
    """CqSource that raises discontinue only in the last beat, as the hard block does."""

    async def _drive(self, obj):
        if not obj.tlast:
            obj.tuser &= ~(1 << self.discontinue_offset)
        await super()._drive(obj)


class RegSlave:
    """Register slave on the `reg` port: sparse memory, backpressure, latency, access log."""

    def __init__(self, dut):
        self.dut = dut
        self.mem: dict[tuple[int, int, int], int] = {}
        self.log: list[Access] = []
        self.ready_prob = 1.0
        self.latency = (1, 1)
        self.pending: deque[tuple[int, int]] = deque()  # (due cycle, data)
        self.stalled = None  # request fields seen while valid and not ready
        dut.m_reg_req_ready.setimmediatevalue(0)
        dut.m_reg_rsp_valid.setimmediatevalue(0)
        dut.m_reg_rsp_rdata.setimmediatevalue(0)
        cocotb.start_soon(self._run())

    def busy(self) -> bool:
        return bool(self.pending)

    def read(self, func, bar, addr):
        return self.mem.get((func, bar, addr), initial_value(func, bar, addr))

    async def _run(self):
        dut = self.dut
        ready = 0
        cycle = 0
        last_due = -1
        while True:
            await RisingEdge(dut.clk)
            cycle += 1
            if dut.rst.value:
                ready = 0
                dut.m_reg_req_ready.value = 0
                dut.m_reg_rsp_valid.value = 0
                continue
            valid = int(dut.m_reg_req_valid.value)
            if valid and not ready:
                held = tuple(int(getattr(dut, f"m_reg_req_{n}").value) for n in ("we", "func", "bar", "addr", "be", "wdata"))
                if self.stalled is not None and held != self.stalled:
                    names = ("we", "func", "bar", "addr", "be", "wdata")
                    diff = ", ".join(f"{n} {a:#x} -> {b:#x}" for n, a, b in zip(names, self.stalled, held) if a != b)
                    raise AssertionError(
                        f"RegSlave: reg request changed while valid and not ready at {get_sim_time('ns')} ns: {diff}")
                self.stalled = held
            else:
                self.stalled = None
            if ready and valid:
                a = Access(int(dut.m_reg_req_we.value), int(dut.m_reg_req_func.value),
                           int(dut.m_reg_req_bar.value), int(dut.m_reg_req_addr.value),
                           int(dut.m_reg_req_be.value), int(dut.m_reg_req_wdata.value),
                           get_sim_time("ns"))
                key = (a.func, a.bar, a.addr)
                if a.we:
                    m = be_mask(a.be)
                    self.mem[key] = (self.read(*key) & ~m) | (a.data & m)
                else:
                    a.data = self.read(*key)
                    due = max(cycle + random.randint(*self.latency) - 1, last_due + 1)
                    self.pending.append((due, a.data))
                    last_due = due
                self.log.append(a)
            ready = int(random.random() < self.ready_prob)
            dut.m_reg_req_ready.value = ready
            if self.pending and self.pending[0][0] <= cycle:
                dut.m_reg_rsp_valid.value = 1
                dut.m_reg_rsp_rdata.value = self.pending.popleft()[1]
            else:
                dut.m_reg_rsp_valid.value = 0
                dut.m_reg_rsp_rdata.value = random.getrandbits(32)  # junk when not valid


# ---------------------------------------------------------------------------
# bench
# ---------------------------------------------------------------------------


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.log.info("seed %d", cocotb.RANDOM_SEED)

        self.reg_addr_w = self._param("REG_ADDR_W", 24)
        self.cpl_split = self._param("CPL_SPLIT", 64)
        self.log.info("REG_ADDR_W %d, CPL_SPLIT %d", self.reg_addr_w, self.cpl_split)

        Clock(dut.clk, 4, unit="ns").start()
        self.cq = CqSourceHw(AxiStreamBus.from_prefix(dut, "s_axis_cq"), dut.clk, dut.rst)
        self.cc = CcSink(AxiStreamBus.from_prefix(dut, "m_axis_cc"), dut.clk, dut.rst)
        for port in ("s_axis_cq", "m_axis_cc"):
            logging.getLogger(f"cocotb.{dut._name}.{port}").setLevel(logging.WARNING)
        self.regs = RegSlave(dut)

        self.ref: dict[tuple[int, int, int], int] = {}  # reference register contents
        self.exp_reg: list[ExpAccess] = []
        self.exp_cpl: list[ExpCpl] = []
        self.act_cpl: list[tuple[float, UsPcieFrame]] = []
        self.exp_ur = 0
        self.exp_drop = 0
        self.n_ur = 0
        self.n_drop = 0
        self.np_req_zero = 0  # cycles after reset without an NP credit request
        self.work = 0  # rough cycle estimate of what was sent (hang budget)
        self.tag = 0
        self.in_reset = True
        cocotb.start_soon(self._collect_cc())
        cocotb.start_soon(self._monitor())

    def _param(self, name, default):
        try:
            return int(getattr(self.dut, name).value)
        except (AttributeError, ValueError, TypeError):
            return int(os.environ.get(name, default))

    async def reset(self):
        self.dut.rst.setimmediatevalue(1)
        await ClockCycles(self.dut.clk, 8)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 4)
        self.in_reset = False

    async def _collect_cc(self):
        while True:
            frame = await self.cc.recv()
            self.act_cpl.append((get_sim_time("ns"), frame))

    async def _monitor(self):
        """Stat pulses, NP credit requests, and CC stream rules: a beat is held while
        stalled, and tvalid stays high from the first to the last beat of a completion."""
        dut = self.dut
        in_packet = False
        stalled = None
        while True:
            await RisingEdge(dut.clk)
            if self.in_reset:
                continue
            now = get_sim_time("ns")
            self.n_ur += int(dut.stat_ur.value)
            self.n_drop += int(dut.stat_drop.value)
            if int(dut.pcie_cq_np_req.value) == 0:
                self.np_req_zero += 1
            valid, ready = int(dut.m_axis_cc_tvalid.value), int(dut.m_axis_cc_tready.value)
            if in_packet and not valid:
                raise AssertionError(f"monitor: m_axis_cc_tvalid dropped inside a completion at {now} ns")
            if valid and not ready:
                beat = (int(dut.m_axis_cc_tdata.value), int(dut.m_axis_cc_tkeep.value), int(dut.m_axis_cc_tlast.value))
                if stalled is not None and beat != stalled:
                    raise AssertionError(f"monitor: CC beat changed while stalled at {now} ns")
                stalled = beat
            else:
                stalled = None
            if valid and ready:
                in_packet = not int(dut.m_axis_cc_tlast.value)

    def set_backpressure(self, reg_ready=1.0, latency=(1, 1), cc_ready=1.0):
        self.regs.ready_prob = reg_ready
        self.regs.latency = latency
        if cc_ready >= 1.0:
            self.cc.clear_pause_generator()
            self.cc.pause = False
        else:
            def gen():
                while True:
                    yield random.random() >= cc_ready
            self.cc.set_pause_generator(gen())

    def hold_cc(self):
        """m_axis_cc_tready low until the next set_backpressure()."""
        self.cc.clear_pause_generator()
        self.cc.pause = True

    def cpl_buffer_rows(self) -> int:
        """512-bit rows of the DUT's completion buffer as its header documents them: two of the
        largest completion (3 header + CPL_SPLIT/4 data DWORDs), rounded up to a power of two."""
        largest = -(-(3 + self.cpl_split // 4) // 16)
        return 1 << (2 * largest - 1).bit_length()

    # -- reference memory -------------------------------------------------

    def ref_read(self, func, bar, addr):
        if addr >= 1 << self.reg_addr_w:
            return 0
        return self.ref.get((func, bar, addr), initial_value(func, bar, addr))

    def ref_write(self, func, bar, addr, data, be):
        m = be_mask(be)
        self.ref[(func, bar, addr)] = (self.ref_read(func, bar, addr) & ~m) | (data & m)

    # -- building requests ------------------------------------------------

    def new_req(self, kind, func=0, bar=0, offset=0, length=1, first_be=0xF, last_be=None,
                data=None, aperture=None, base=None, **kw) -> Req:
        """A request with random IDs / TC / attr / AT and a random BAR base."""
        if aperture is None:
            aperture = self.reg_addr_w
        if base is None:
            base = random.getrandbits(64 if random.random() < 0.5 else 32) & ~((1 << aperture) - 1)
        if last_be is None:
            last_be = 0 if length == 1 else 0xF
        if data is None and kind in ("wr", "io_wr", "fetch_add", "swap", "cas", "msg", "msg_vendor"):
            data = [random.getrandbits(32) for _ in range(length)]
        self.tag = (self.tag + 1) & 0xFF
        req = Req(kind=kind, func=func, bar=bar, aperture=aperture, base=base, offset=offset,
                  length=length, first_be=first_be, last_be=last_be, data=data or [],
                  tag=self.tag, rid=random.getrandbits(16), tc=random.randrange(8),
                  attr=random.randrange(8), at=random.choice(list(TlpAt)))
        for k, v in kw.items():
            setattr(req, k, v)
        return req

    def frame_of(self, req: Req, length_field=None, discontinue=False) -> UsPcieFrame:
        tlp = Tlp_us()
        tlp.fmt_type = {
            "wr": TlpType.MEM_WRITE_64, "rd": TlpType.MEM_READ_64,
            "io_rd": TlpType.IO_READ, "io_wr": TlpType.IO_WRITE,
            "fetch_add": TlpType.FETCH_ADD_64, "swap": TlpType.SWAP_64, "cas": TlpType.CAS_64,
            "rd_locked": TlpType.MEM_READ_LOCKED_64,
            "cfg_rd": TlpType.IO_READ, "msg": TlpType.MEM_WRITE_64,
            "msg_vendor": TlpType.MEM_WRITE_64, "msg_ats": TlpType.MEM_READ_64,
        }[req.kind]
        tlp.address = req.address
        tlp.length = req.length if length_field is None else length_field
        tlp.first_be = req.first_be
        tlp.last_be = req.last_be
        tlp.data = bytearray(struct.pack(f"<{len(req.data)}L", *req.data))
        tlp.requester_id = PcieId.from_int(req.rid)
        tlp.tag = req.tag
        tlp.tc = TlpTc(req.tc)
        tlp.attr = TlpAttr(req.attr)
        tlp.at = TlpAt(req.at)
        tlp.bar_id = req.bar
        tlp.bar_aperture = req.aperture
        tlp.discontinue = discontinue
        frame = tlp.pack_us_cq()
        # Tlp_us packs only a 3-bit target function; the ARI function is 8 bits
        frame.data[3] = (frame.data[3] & ~0xFF00) | (req.func << 8)
        patch_type = {"cfg_rd": ReqType.CFG_READ_0, "msg": ReqType.MSG,
                      "msg_vendor": ReqType.MSG_VENDOR, "msg_ats": ReqType.MSG_ATS}.get(req.kind)
        if patch_type is not None:
            frame.data[2] = (frame.data[2] & ~(0xF << 11)) | (patch_type << 11)
        frame.update_parity()
        return frame

    # -- sending requests with their expected effects -----------------------

    async def send(self, req: Req):
        """Send a well-formed request and record what it must cause."""
        self.work += 24 + req.length
        if req.kind == "wr":
            self._expect_write(req)
        elif req.kind == "rd":
            self._expect_read(req)
        elif req.kind in UR_KINDS:
            self._expect_ur(req)
        elif req.kind in DROP_KINDS:
            self.exp_drop += 1
        else:
            raise ValueError(req.kind)
        await self.cq.send(self.frame_of(req))

    async def send_dropped(self, req: Req, frame: UsPcieFrame):
        """Send a frame the DUT must discard without any effect."""
        self.work += 24 + len(frame.data)
        self.exp_drop += 1
        await self.cq.send(frame)

    def _in_range(self, addr):
        return addr < 1 << self.reg_addr_w

    def _expect_write(self, req: Req):
        for k, be in enumerate(be_per_dw(req.length, req.first_be, req.last_be)):
            addr = req.offset + 4 * k
            if be == 0 or not self._in_range(addr):
                continue
            self.exp_reg.append(ExpAccess(1, req.func, req.bar, addr, be, req.data[k], f"{req} DW{k}"))
            self.ref_write(req.func, req.bar, addr, req.data[k], be)

    def _expect_read(self, req: Req, locked_ur=False):
        bes = be_per_dw(req.length, req.first_be, req.last_be)
        values = []
        for k, be in enumerate(bes):
            addr = req.offset + 4 * k
            if self._in_range(addr):
                self.exp_reg.append(ExpAccess(0, req.func, req.bar, addr, be, None, f"{req} DW{k}"))
            values.append(self.ref_read(req.func, req.bar, addr))
        parts = split_read(req.address, req.length, req.first_be, req.last_be, self.cpl_split)
        for n, (la, bc, i0, dwc) in enumerate(parts):
            data = [(values[i], be_mask(bes[i])) for i in range(i0, i0 + dwc)]
            self.exp_cpl.append(ExpCpl(req, la, bc, dwc, CplStatus.SC, data=data, first_dw=i0,
                                       part=f"completion {n + 1}/{len(parts)}", req_values=values))

    def _expect_ur(self, req: Req):
        self.exp_ur += 1
        la, bc, locked = 0, 4, False
        if req.kind == "rd_locked":
            parts = split_read(req.address, req.length, req.first_be, req.last_be, 1 << 13)
            la, bc, locked = parts[0][0], parts[0][1], True
        elif req.kind in ("fetch_add", "swap"):
            la, bc = req.address & 0x7C, 4 * req.length
        elif req.kind == "cas":
            la, bc = req.address & 0x7C, 2 * req.length
        self.exp_cpl.append(ExpCpl(req, la, bc, 0, CplStatus.UR, locked=locked, part="UR completion"))

    # -- waiting and checking -----------------------------------------------

    async def drain(self):
        """Wait until everything sent has been executed and completed, then check."""
        budget = 400 + 6 * self.work
        quiet, last = 0, None
        for _ in range(budget):
            await RisingEdge(self.dut.clk)
            if (self.cq.idle() and not self.regs.busy()
                    and len(self.regs.log) >= len(self.exp_reg)
                    and len(self.act_cpl) >= len(self.exp_cpl)):
                break
            # more than expected already, or everything taken and nothing moves any more:
            # let check() name the first difference
            now = (len(self.regs.log), len(self.act_cpl))
            if now[0] > len(self.exp_reg) or now[1] > len(self.exp_cpl):
                break
            quiet = quiet + 1 if now == last and self.cq.idle() else 0
            last = now
            if quiet >= 1000:
                break
        else:
            raise AssertionError(
                f"drain: DUT hung at {get_sim_time('ns')} ns after {budget} cycles: "
                f"{len(self.regs.log)}/{len(self.exp_reg)} reg accesses, "
                f"{len(self.act_cpl)}/{len(self.exp_cpl)} completions, CQ source idle {self.cq.idle()}")
        await ClockCycles(self.dut.clk, 64)  # room for anything extra to show up
        self.check()
        self.log.info("checked %d reg accesses, %d completions, %d UR, %d dropped at %s ns",
                      len(self.exp_reg), len(self.exp_cpl), self.exp_ur, self.exp_drop, get_sim_time("ns"))

    def check(self):
        self.check_reg_accesses()
        self.check_completions()
        self.check_stats()

    def check_reg_accesses(self):
        exp, act = self.exp_reg, self.regs.log
        for i, (e, a) in enumerate(zip(exp, act)):
            bad = []
            for name in ("we", "func", "bar", "addr", "be"):
                if getattr(e, name) != getattr(a, name):
                    bad.append(f"{name} expected {getattr(e, name):#x} got {getattr(a, name):#x}")
            if e.we and (e.data ^ a.data) & be_mask(e.be):
                bad.append(f"wdata expected {e.data:#010x} got {a.data:#010x} (be {e.be:#x})")
            if bad:
                raise AssertionError(
                    f"check_reg_accesses: reg access #{i} for [{e.origin}] at {a.time} ns: " + "; ".join(bad))
        if len(act) > len(exp):
            a = act[len(exp)]
            raise AssertionError(
                f"check_reg_accesses: {len(act) - len(exp)} unexpected reg access(es), first at {a.time} ns: "
                f"we {a.we} func {a.func} bar {a.bar} addr {a.addr:#x} be {a.be:#x} data {a.data:#010x}")
        if len(act) < len(exp):
            e = exp[len(act)]
            raise AssertionError(
                f"check_reg_accesses: {len(exp) - len(act)} reg access(es) missing at {get_sim_time('ns')} ns, "
                f"first: we {e.we} addr {e.addr:#x} be {e.be:#x} for [{e.origin}]")

    def check_completions(self):
        exp, act = self.exp_cpl, self.act_cpl
        for i, (e, (t, frame)) in enumerate(zip(exp, act)):
            where = f"check_completions: completion #{i} ({e.part} of [{e.req}]) at {t} ns"
            cpl = Tlp_us.unpack_us_cc(frame)
            bad = []
            fields = (
                ("lower_address", e.lower_address, cpl.lower_address),
                ("byte_count", e.byte_count, cpl.byte_count),
                ("dword_count", e.dword_count, cpl.length),
                ("status", int(e.status), int(cpl.status)),
                ("tag", e.req.tag, cpl.tag),
                ("requester_id", e.req.rid, int(cpl.requester_id)),
                ("completer_id", e.req.func, int(cpl.completer_id)),
                ("completer_id_enable", 0, int(cpl.completer_id_enable)),
                ("tc", e.req.tc, int(cpl.tc)),
                ("attr", e.req.attr, int(cpl.attr)),
                ("at", e.req.at, int(cpl.at)),
                ("locked", int(e.locked), int(cpl.fmt_type == TlpType.CPL_LOCKED)),
                ("poisoned", 0, int(cpl.ep)),
                ("discontinue", 0, int(frame.discontinue)),
                ("frame DWORDs", 3 + e.dword_count, len(frame.data)),
            )
            for name, want, got in fields:
                if want != got:
                    bad.append(f"{name} expected {want:#x} got {got:#x}")
            if bad:
                raise AssertionError(f"{where}: " + "; ".join(bad))
            for j, (want, mask) in enumerate(e.data):
                got = frame.data[3 + j]
                if (want ^ got) & mask:
                    raise AssertionError(
                        f"{where}: data DW{j} (BAR offset {e.req.offset + 4 * (e.first_dw + j):#x}) "
                        f"expected {want:#010x} got {got:#010x} under mask {mask:#010x}"
                        + self._whose_value(e, e.first_dw + j, got))
        if len(act) > len(exp):
            t, frame = act[len(exp)]
            raise AssertionError(
                f"check_completions: {len(act) - len(exp)} unexpected completion(s), first at {t} ns: "
                f"{Tlp_us.unpack_us_cc(frame)!r}")
        if len(act) < len(exp):
            e = exp[len(act)]
            raise AssertionError(
                f"check_completions: {len(exp) - len(act)} completion(s) missing at {get_sim_time('ns')} ns, "
                f"first: {e.part} of [{e.req}] (tag {e.req.tag})")

    def _whose_value(self, e: ExpCpl, k: int, got: int) -> str:
        """Name the DWORD of this or another read whose reference value was returned instead, if
        any (read data landed in / was taken from the wrong place of the completion buffer)."""
        if got == 0:  # too common (unwritten / out-of-window DWORDs) to point anywhere
            return ""
        seen = set()
        for other in [e] + self.exp_cpl:
            if id(other.req_values) in seen:
                continue
            seen.add(id(other.req_values))
            for i, v in enumerate(other.req_values):
                if v == got and (other.req is not e.req or i != k):
                    which = "the same read" if other.req is e.req else f"[{other.req}]"
                    return (f" -- that is the value of DW{i} (BAR offset {other.req.offset + 4 * i:#x}) of "
                            f"{which}: read data misplaced or overwritten in the completion buffer")
        return ""

    def check_stats(self):
        now = get_sim_time("ns")
        if self.n_ur != self.exp_ur:
            raise AssertionError(f"check_stats: stat_ur pulsed {self.n_ur} times, expected {self.exp_ur} (at {now} ns)")
        if self.n_drop != self.exp_drop:
            raise AssertionError(
                f"check_stats: stat_drop pulsed {self.n_drop} times, expected {self.exp_drop} (at {now} ns)")
        if self.np_req_zero:
            raise AssertionError(
                f"check_stats: pcie_cq_np_req requested no credit in {self.np_req_zero} cycles after reset (at {now} ns)")

    # -- convenience --------------------------------------------------------

    def byte_access(self, kind, func, bar, byte_addr, nbytes, **kw) -> Req:
        """A request for ``nbytes`` bytes at BAR byte offset ``byte_addr`` (PCIe BE rules)."""
        first_dw, last_dw = byte_addr // 4, (byte_addr + nbytes - 1) // 4
        length = last_dw - first_dw + 1
        ends = [(byte_addr - 4 * first_dw), (byte_addr + nbytes - 1) - 4 * last_dw]
        if length == 1:
            first_be = ((1 << nbytes) - 1) << ends[0]
            last_be = 0
        else:
            first_be = (0xF << ends[0]) & 0xF
            last_be = 0xF >> (3 - ends[1])
        return self.new_req(kind, func, bar, 4 * first_dw, length, first_be, last_be, **kw)

    def random_req(self, kinds=("wr", "rd"), max_len=32, funcs=(0, 1, 5, 130), bars=(0, 2, 4)) -> Req:
        kind = random.choice(kinds)
        length = random.choice([1, 1, 2, 3, random.randint(1, max_len)])
        offset = 4 * random.randrange(0, 0x1000 // 4)
        offset = min(offset, 0x1000 - 4 * length) + 0x1000 * random.randrange(4)
        first_be = random.choice([0xF, 0xF, random.randrange(16)])
        last_be = 0 if length == 1 else random.choice([0xF, random.randrange(1, 16)])
        if length > 2:  # contiguous byte enables for longer requests
            first_be = (0xF << random.randrange(4)) & 0xF
            last_be = 0xF >> random.randrange(4)
        elif length == 2 and first_be == 0:
            first_be = 0xF
        return self.new_req(kind, random.choice(funcs), random.choice(bars), offset, length, first_be, last_be)


async def setup(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


async def normal_traffic(tb: TB, n=6):
    """A few writes and read-backs: the DUT still works after something odd."""
    for _ in range(n):
        req = tb.random_req(max_len=20)
        await tb.send(req)
        if req.kind == "wr":
            await tb.send(tb.new_req("rd", req.func, req.bar, req.offset, req.length, req.first_be, req.last_be))


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


@cocotb.test()
async def test_access_widths_and_alignments(dut):
    """1/2/4/8-byte writes and reads at every byte alignment, each read back."""
    tb = await setup(dut)
    for nbytes in (1, 2, 4, 8):
        for align in range(8):
            for dw_base in (0x100, 0x3C, 0x7C):  # also across RCB / split boundaries
                addr = dw_base + align
                func, bar = random.choice([(0, 0), (1, 2), (3, 5)])
                await tb.send(tb.byte_access("wr", func, bar, addr, nbytes))
                await tb.send(tb.byte_access("rd", func, bar, addr, nbytes))
                await tb.send(tb.byte_access("rd", func, bar, addr - addr % 8, 8))
    await tb.drain()


@cocotb.test()
async def test_byte_enable_patterns(dut):
    """Every first BE of 1-DW requests, every first/last BE pair of 2-DW requests, contiguous 3-DW."""
    tb = await setup(dut)
    cases = [(1, fbe, 0) for fbe in range(16)]
    cases += [(2, fbe, lbe) for fbe in range(1, 16) for lbe in range(1, 16)]
    cases += [(3, fbe, lbe) for fbe in (0xF, 0xE, 0xC, 0x8) for lbe in (0x1, 0x3, 0x7, 0xF)]
    random.shuffle(cases)
    for length, fbe, lbe in cases:
        offset = random.choice([0x40 - 4, 0x80 - 4, 0x200, 4 * random.randrange(0x400)])
        offset = min(offset, 0x1000 - 4 * length)
        await tb.send(tb.new_req("wr", 2, 1, offset, length, fbe, lbe))
        await tb.send(tb.new_req("rd", 2, 1, offset, length, fbe, lbe))
    await tb.drain()


@cocotb.test()
async def test_long_transfers(dut):
    """128- and 1024-DW writes and reads (many beats, many completions), odd starts and BEs."""
    tb = await setup(dut)
    await tb.send(tb.new_req("wr", 0, 0, 0x0000, 1024))
    await tb.send(tb.new_req("rd", 0, 0, 0x0000, 1024))
    await tb.send(tb.new_req("wr", 1, 2, 0x1014, 128, 0xE, 0x7))
    await tb.send(tb.new_req("rd", 1, 2, 0x1014, 128, 0xC, 0x3))
    await tb.send(tb.new_req("rd", 0, 0, 0x0ffc - 4 * 200, 201, 0x8, 0x1))
    for _ in range(6):
        length = random.randint(17, 300)
        offset = 4 * random.randrange((0x1000 - 4 * length) // 4) + 0x2000
        await tb.send(tb.new_req(random.choice(["wr", "rd"]), 7, 3, offset, length,
                                 (0xF << random.randrange(4)) & 0xF, 0xF >> random.randrange(4)))
    await tb.drain()


@cocotb.test()
async def test_zero_length(dut):
    """Zero-length read: one reg read with BE 0, completion of 1 DW, byte count 1; zero-length write: nothing."""
    tb = await setup(dut)
    for offset in (0x0, 0x3C, 0x40, 0x7C, 0xFFC):
        await tb.send(tb.new_req("rd", 4, 1, offset, 1, 0x0, 0x0))
        await tb.send(tb.new_req("wr", 4, 1, offset, 1, 0x0, 0x0))
    await normal_traffic(tb)
    await tb.drain()


@cocotb.test()
async def test_functions_and_bars(dut):
    """Function / BAR routing, BAR offset from aperture, offsets beyond REG_ADDR_W read 0 / drop writes."""
    tb = await setup(dut)
    for func in (0, 1, 7, 8, 64, 200, 255):
        for bar in range(6):
            aperture = random.choice([12, 16, tb.reg_addr_w])
            offset = 4 * random.randrange((1 << aperture) // 4 - 8)
            await tb.send(tb.new_req("wr", func, bar, offset, 2, aperture=aperture))
            await tb.send(tb.new_req("rd", func, bar, offset, 2, aperture=aperture))
    # same offset in every function / BAR: each read must see its own write
    for func in (3, 9):
        for bar in (0, 1):
            await tb.send(tb.new_req("wr", func, bar, 0x80, 1))
    for func in (3, 9):
        for bar in (0, 1):
            await tb.send(tb.new_req("rd", func, bar, 0x80, 1))
    # BAR larger than the register window: beyond 2**REG_ADDR_W nothing is accessed
    big = tb.reg_addr_w + 2
    for offset in ((1 << tb.reg_addr_w) + 0x40, (3 << tb.reg_addr_w) - 0x1000):
        await tb.send(tb.new_req("wr", 2, 0, offset, 8, aperture=big))
        await tb.send(tb.new_req("rd", 2, 0, offset, 20, aperture=big))
    await tb.send(tb.new_req("rd", 2, 0, (1 << tb.reg_addr_w) - 0x1000, 1024, aperture=big))
    await normal_traffic(tb)
    await tb.drain()


@cocotb.test()
async def test_backpressure(dut):
    """Random mixed traffic with reg ready / response latency / CC tready backpressure."""
    tb = await setup(dut)
    for reg_ready, latency, cc_ready in ((0.5, (1, 8), 0.5), (0.2, (1, 3), 1.0), (1.0, (4, 16), 0.2)):
        tb.set_backpressure(reg_ready, latency, cc_ready)
        for _ in range(40):
            await tb.send(tb.random_req(max_len=48))
        await tb.send(tb.new_req("rd", 5, 4, 0x3000, 160, 0xE, 0x7))
        await tb.drain()


@cocotb.test()
async def test_completion_buffer_full(dut):
    """CC held off while long reads queue up: the completion buffer fills and the DUT stops
    issuing reg reads (it never reads more than it can buffer), also when its buffer pointers
    wrap; once CC runs again every completion arrives intact. Repeated so the full state is
    reached at different buffer positions."""
    tb = await setup(dut)
    split_dw = tb.cpl_split // 4
    # read DWORDs the DUT can hold while CC is stalled: the buffer rows plus the one beat
    # waiting in the CC output register
    capacity = 16 * (tb.cpl_buffer_rows() + 1)
    rounds = 6 if split_dw <= 64 else 3
    for rnd in range(rounds):
        tb.set_backpressure(1.0, (1, 4), 1.0)
        tb.hold_cc()
        reads_before = sum(1 for a in tb.regs.log if not a.we)
        sent = 0
        while sent < capacity + split_dw:  # more than fits: the DUT must stop and wait
            length = min(1024, random.randint(split_dw, 4 * split_dw))
            offset = 4 * random.randrange((0x4000 - 4 * length) // 4)
            await tb.send(tb.new_req("rd", 3, 1, offset, length, (0xF << random.randrange(4)) & 0xF,
                                     0xF >> random.randrange(4)))
            sent += length
        # let the DUT run into the full buffer and stay there (CQ stalls behind the waiting read)
        last, quiet = -1, 0
        for _ in range(400 + 4 * sent):
            await RisingEdge(dut.clk)
            n = len(tb.regs.log)
            quiet = quiet + 1 if n == last else 0
            last = n
            if quiet >= 64:
                break
        issued = sum(1 for a in tb.regs.log if not a.we) - reads_before
        tb.log.info("round %d: %d read DWORDs sent, %d issued while CC held (buffer holds %d)",
                    rnd, sent, issued, capacity)
        if issued > capacity:
            raise AssertionError(
                f"test_completion_buffer_full: round {rnd}: {issued} reg reads issued while CC was held, "
                f"but the completion buffer holds at most {capacity} DWORDs ({tb.cpl_buffer_rows()} rows "
                f"+ the CC output beat): buffered completions were overwritten (at {get_sim_time('ns')} ns)")
        if issued >= sent:
            raise AssertionError(
                f"test_completion_buffer_full: round {rnd}: all {sent} read DWORDs were issued while CC was "
                f"held: the DUT did not wait for completion buffer space (at {get_sim_time('ns')} ns)")
        tb.set_backpressure(1.0, (1, 4), random.choice([1.0, 0.5]))
        await tb.drain()


@cocotb.test()
async def test_read_after_write(dut):
    """Reads queued right behind writes (no waiting) see those writes; write after read does not leak back."""
    tb = await setup(dut)
    tb.set_backpressure(0.6, (1, 6), 0.7)
    for _ in range(30):
        func, bar = random.choice([(0, 0), (1, 1), (6, 2)])
        offset = 4 * random.randrange(64)
        length = random.randint(1, 8)
        await tb.send(tb.new_req("wr", func, bar, offset, length))
        await tb.send(tb.new_req("rd", func, bar, offset, length))
        await tb.send(tb.new_req("wr", func, bar, offset, 1, random.randrange(1, 16)))
        await tb.send(tb.new_req("rd", func, bar, offset, length))
    await tb.drain()


@cocotb.test()
async def test_unsupported_requests_ur(dut):
    """IO, atomics, locked read, config read -> one UR completion each, no reg access; traffic continues."""
    tb = await setup(dut)
    tb.set_backpressure(0.7, (1, 4), 0.6)
    for kind, length in (("io_rd", 1), ("io_wr", 1), ("fetch_add", 1), ("fetch_add", 2), ("swap", 1),
                         ("swap", 2), ("cas", 2), ("cas", 8), ("rd_locked", 1), ("rd_locked", 3),
                         ("cfg_rd", 1)):
        last_be = 0 if length == 1 else 0x3
        await tb.send(tb.new_req(kind, random.choice([0, 1, 9]), 1, 4 * random.randrange(256), length,
                                 0xE if kind == "rd_locked" else 0xF, last_be))
        await normal_traffic(tb, 2)
    await tb.drain()


@cocotb.test()
async def test_dropped_requests(dut):
    """Messages, discontinue (last beat only) and malformed requests are discarded without effect."""
    tb = await setup(dut)
    for kind in DROP_KINDS:
        await tb.send(tb.new_req(kind, 1, 0, 0x10, 2 if kind != "msg_ats" else 1))
        await normal_traffic(tb, 2)
    # discontinue on a 1-beat write, a 40-beat write, and a read
    for kind, length in (("wr", 4), ("wr", 600), ("rd", 4)):
        req = tb.new_req(kind, 1, 0, 0x100, length)
        await tb.send_dropped(req, tb.frame_of(req, discontinue=True))
        await normal_traffic(tb, 2)
    # malformed: payload shorter / longer than Dword Count, Dword Count above 1024, descriptor cut short
    req = tb.new_req("wr", 1, 0, 0x200, 8)
    await tb.send_dropped(req, tb.frame_of(req, length_field=9))
    req = tb.new_req("wr", 1, 0, 0x200, 20)
    await tb.send_dropped(req, tb.frame_of(req, length_field=19))
    req = tb.new_req("wr", 1, 0, 0x0, 1100)
    await tb.send_dropped(req, tb.frame_of(req))
    req = tb.new_req("rd", 1, 0, 0x0, 1)
    await tb.send_dropped(req, tb.frame_of(req, length_field=1500))
    short = UsPcieFrame()
    short.data = tb.frame_of(req).data[:3]
    short.byte_en = [0] * 3
    short.update_parity()
    await tb.send_dropped(req, short)
    await normal_traffic(tb, 4)
    await tb.drain()


@cocotb.test()
async def test_streaming_rate(dut):
    """Long requests stream at about one DWORD per cycle with 8-cycle read latency (reads are pipelined)."""
    tb = await setup(dut)
    tb.set_backpressure(1.0, (8, 8), 1.0)
    for kind in ("wr", "rd"):
        start = get_sim_time("ns")
        n_reg, n_cpl = len(tb.exp_reg), len(tb.exp_cpl)
        await tb.send(tb.new_req(kind, 0, 0, 0x0, 1024))
        while len(tb.regs.log) < len(tb.exp_reg) or len(tb.act_cpl) < len(tb.exp_cpl):
            await RisingEdge(dut.clk)
            if get_sim_time("ns") - start > 4 * 4000:
                break
        cycles = (get_sim_time("ns") - start) / 4
        limit = 1.25 * 1024 + 100
        tb.log.info("1024-DW %s: %d reg accesses, %d completions in %d cycles",
                    kind, len(tb.exp_reg) - n_reg, len(tb.exp_cpl) - n_cpl, cycles)
        assert cycles <= limit, (f"test_streaming_rate: 1024-DW {kind} at offset 0 of func 0 bar 0 took "
                                 f"{cycles:.0f} cycles, expected at most {limit:.0f} (at {get_sim_time('ns')} ns)")
    await tb.drain()
