"""Focused bench for ``vio_dma_rd`` (DMA read engine, host memory -> buffer RAM).

The DUT runs alone.  Around it:

* a host memory model (``bytearray`` of random bytes at ``HOST_BASE``);
* a completer on RQ/RC, built from cocotbext-pcie's ``RqSink``/``RcSource``
  and ``Tlp_us``, that checks every MemRd (size <= MRRS, no 4 KiB crossing,
  tag not already outstanding, requester function, byte enables, every byte
  of a descriptor requested exactly once) and answers in selectable modes
  (whole, split at RCB, at max payload or anywhere, random delays that
  reorder tags, gaps that interleave them) with per-request faults (UR, CA,
  poisoned, dropped, late, malformed, the hard block's own completion
  timeout);
* the hard block's receive completion buffer, modelled as cocotbext-pcie's
  UltraScale+ model does it (``upstream_recv``): every completion takes 1
  header and ceil(payload DWs / 4) + 1 data credits from the moment the
  completer sends it until its last beat is accepted on RC; a completion
  that does not fit would be dropped by the hard block, so it fails the test
  (the RC pause generator slows the drain so the buffer really fills);
* a buffer RAM model that applies ``ram_wr_*`` every cycle and flags any
  byte written outside the window of a descriptor in flight.

At each status the bench checks the tag, the error (computed from the faults
it injected), that every TLP of the descriptor had been answered, and the RAM
window byte by byte: host bytes where the TLP succeeded, the old RAM bytes
where it failed.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from dataclasses import dataclass, field

import cocotb
from cocotb.clock import Clock
from cocotb.queue import Queue
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, Event, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus
from cocotbext.pcie.core.tlp import CplStatus, TlpType
from cocotbext.pcie.core.utils import PcieId
from cocotbext.pcie.xilinx.us.interface import RcSource, RqSink
from cocotbext.pcie.xilinx.us.tlp import ErrorCode, Tlp_us

# vio_pkg DMA status codes
DMA_OK = 0
DMA_ERR_UR = 1
DMA_ERR_CA = 2
DMA_ERR_POISON = 3
DMA_ERR_TIMEOUT = 4
DMA_ERR_CPL = 5
ERR_NAME = {0: "OK", 1: "UR", 2: "CA", 3: "POISON", 4: "TIMEOUT", 5: "CPL", 6: "BME", 7: "FLR"}

# fault kinds the completer can inject, and the status each must produce
FAULT_ERR = {
    "ur": DMA_ERR_UR,            # one completion, status UR
    "ca": DMA_ERR_CA,            # one completion, status CA
    "poison": DMA_ERR_POISON,    # every completion poisoned (EP), data inverted
    "drop": DMA_ERR_TIMEOUT,     # never answered
    "late": DMA_ERR_TIMEOUT,     # answered only when the test calls send_late()
    "bc_short": DMA_ERR_CPL,     # every completion's byte_count 4 short (the last one completes)
    "bc_long": DMA_ERR_CPL,      # every completion's byte_count 4 long (the request never completes)
    "no_data": DMA_ERR_CPL,      # SC completion without data: error_code INVALID_LENGTH
    "discontinue": DMA_ERR_CPL,  # every completion with the discontinue bit
    "core_timeout": DMA_ERR_TIMEOUT,  # the hard block's completion timeout: error_code TIMEOUT
}
# a faulty request's bytes are never written: the RAM keeps its old bytes there

HOST_BASE = 0x0000_00A5_1230_0000   # above 4 GiB: 64-bit addresses
HOST_SIZE = 1 << 20
RAM_ADDR_W = 18
RAM_SIZE = 1 << RAM_ADDR_W
# DUT parameters the bench relies on (read back from the DUT in TB.__init__)
PCIE_TAG_COUNT = 32
OP_COUNT = 16
# the pytest entry sets it well above the worst completion backlog of these
# tests (all tags x 4 KiB through a paused RC stream), so only dropped
# requests time out
CPL_TIMEOUT = 8000
# the hard block's receive completion buffer (cocotbext-pcie usp_model:
# rx_buf_cplh_fc_limit = 256, rx_buf_cpld_fc_limit = 32768 // 16); the bench
# models a buffer of the DUT's CPLH_FC_LIMIT / CPLD_FC_LIMIT, which the
# pytest entry sets to these values except in the reduced-buffer runs
US_CPLH_FC_LIMIT = 256
US_CPLD_FC_LIMIT = 32768 // 16
CPLH_FC_LIMIT = US_CPLH_FC_LIMIT
CPLD_FC_LIMIT = US_CPLD_FC_LIMIT
CLK_NS = 4


def now_ns() -> float:
    return get_sim_time("ns")


def be_span(be: int) -> tuple[int, int]:
    """(offset of first enabled byte, offset after last) of a contiguous BE."""
    lo = (be & -be).bit_length() - 1
    return lo, be.bit_length()


CONTIGUOUS_BE = {0x1, 0x2, 0x4, 0x8, 0x3, 0x6, 0xC, 0x7, 0xE, 0xF}


@dataclass(eq=False)
class Request:
    """One MemRd seen on RQ."""

    tag: int
    addr: int               # DW-aligned address
    length: int             # DWs
    start: int              # first requested byte
    end: int                # after the last requested byte
    func: int
    desc: "Desc"
    cycle: int              # bench cycle at which RQ accepted it
    fate: str = "ok"
    state: str = "pending"  # pending -> done | dropped | late
    err_seq: int = -1       # completion sequence number of its erroring completion
    frames: list = field(default_factory=list)   # held frames (late)


@dataclass(eq=False)
class Desc:
    """One descriptor given to the DUT."""

    tag: int
    func: int
    pcie_addr: int
    ram_addr: int
    length: int
    submitted: float = 0.0
    accepted_cycle: int = -1
    status: int | None = None
    status_cycle: int = -1
    snapshot: bytes = b""
    reqs: list = field(default_factory=list)
    requested: bytearray = field(default_factory=bytearray)
    done: Event = field(default_factory=Event)

    def __str__(self) -> str:
        return (f"desc tag {self.tag} func {self.func} pcie {self.pcie_addr:#x} "
                f"ram {self.ram_addr:#x} len {self.length}")


class Completer:
    """Host side of RQ/RC: checks every request and answers it."""

    def __init__(self, tb: "TB") -> None:
        self.tb = tb
        self.split = "whole"     # whole | rcb | mps | random
        self.rcb = 64
        self.mps = 256
        self.delay = (0, 0)      # cycles before a request's first completion
        self.gap = (0, 0)        # cycles between the completions of one request
        self.faults: dict[int, str] = {}     # host address -> fault kind
        self.outstanding: dict[int, Request] = {}
        self.late: list[Request] = []
        self.cpl_seq = 0
        self.req_count = 0
        self.max_outstanding = 0
        self.max_req_bytes = 0
        self.first_cpl_order: list[int] = []     # request numbers in answer order
        # receive completion buffer: frames sent and not yet delivered on RC
        # (tag, headers, data credits, the request it ends or None, late/stray)
        self.buf_frames: deque[tuple[int, int, int, Request | None, bool]] = deque()
        self.buf_stray = 0       # queued completions of no outstanding request (late, stray)
        self.buf_h = 0
        self.buf_d = 0
        self.buf_peak_h = 0
        self.buf_peak_d = 0
        # requests accepted on RQ whose last completion has not been delivered on RC
        self.in_flight: set[Request] = set()
        self.max_in_flight = 0
        cocotb.start_soon(self._run())

    def inject(self, addr: int, kind: str) -> None:
        """The request that covers host byte ``addr`` gets fault ``kind``."""
        assert kind in FAULT_ERR, kind
        self.faults[addr] = kind

    # ---------------------------------------------------------------- checks

    async def _run(self) -> None:
        while True:
            frame = await self.tb.rq_sink.recv()
            tlp = Tlp_us.unpack_us_rq(frame)
            req = self._check(tlp)
            if req is not None:
                cocotb.start_soon(self._respond(req, tlp, self.req_count))
                self.req_count += 1

    def _check(self, tlp: Tlp_us) -> Request | None:
        tb = self.tb
        where = f"RQ tag {tlp.tag} addr {tlp.address:#x} len {tlp.length} DW BE {tlp.first_be:#x}/{tlp.last_be:#x}"
        if tlp.fmt_type not in (TlpType.MEM_READ, TlpType.MEM_READ_64):
            return tb.fail(f"request type: {where}: expected MemRd, got {tlp.fmt_type}")
        if tlp.discontinue or tlp.ep or tlp.requester_id_enable:
            return tb.fail(f"request flags: {where}: expected discontinue/poisoned/requester_id_enable 0, "
                           f"got {tlp.discontinue}/{tlp.ep}/{tlp.requester_id_enable}")
        if tlp.tag >= PCIE_TAG_COUNT:
            return tb.fail(f"request tag: {where}: expected tag < {PCIE_TAG_COUNT}, got {tlp.tag}")
        if tlp.tag in self.outstanding:
            old = self.outstanding[tlp.tag]
            return tb.fail(f"tag reuse: {where}: tag {tlp.tag} still outstanding for request "
                           f"{old.start:#x}..{old.end:#x} of {old.desc}")
        length = tlp.length or 1024
        if length * 4 > tb.mrrs:
            return tb.fail(f"request size: {where}: expected <= MRRS {tb.mrrs} bytes, got {length * 4}")
        if (tlp.address & 0xFFF) + length * 4 > 0x1000:
            return tb.fail(f"4 KiB crossing: {where}: spans {tlp.address:#x}..{tlp.address + length * 4:#x}")
        if length == 1:
            ok = tlp.last_be == 0 and tlp.first_be in CONTIGUOUS_BE
        else:
            ok = tlp.first_be in (0xF, 0xE, 0xC, 0x8) and tlp.last_be in (0x1, 0x3, 0x7, 0xF)
        if not ok:
            return tb.fail(f"byte enables: {where}: not a valid contiguous first/last BE pair")
        fbo, _ = be_span(tlp.first_be)
        _, lhi = be_span(tlp.first_be if length == 1 else tlp.last_be)
        start = tlp.address + fbo
        end = tlp.address + (length - 1) * 4 + lhi
        desc = tb.desc_at(start, end)
        if desc is None:
            return tb.fail(f"request outside descriptors: {where}: bytes {start:#x}..{end:#x} "
                           f"are not inside one descriptor in flight")
        func = int(tlp.requester_id) & 0xFF
        if func != desc.func or int(tlp.requester_id) >> 8:
            return tb.fail(f"requester id: {where} for {desc}: expected function {desc.func} (bus 0), "
                           f"got requester id {int(tlp.requester_id):#06x}")
        o0, o1 = start - desc.pcie_addr, end - desc.pcie_addr
        if any(desc.requested[o0:o1]):
            dup = next(i for i in range(o0, o1) if desc.requested[i])
            return tb.fail(f"byte requested twice: {where} for {desc}: offset {dup}")
        desc.requested[o0:o1] = b"\x01" * (o1 - o0)

        req = Request(tag=tlp.tag, addr=tlp.address, length=length, start=start, end=end,
                      func=func, desc=desc, cycle=tb.cycle)
        for addr in sorted(self.faults):
            if start <= addr < end:
                req.fate = self.faults.pop(addr)
                break
        desc.reqs.append(req)
        self.outstanding[tlp.tag] = req
        self.in_flight.add(req)
        self.max_in_flight = max(self.max_in_flight, len(self.in_flight))
        self.max_outstanding = max(self.max_outstanding, len(self.outstanding))
        self.max_req_bytes = max(self.max_req_bytes, length * 4)
        return req

    # ----------------------------------------------------------- completions

    def _chunks(self, req: Request) -> list[tuple[int, int]]:
        """(first DW, DW count) of each completion of ``req``."""
        out, off = [], 0
        while off < req.length:
            addr = req.addr + 4 * off
            if self.split == "whole":
                k = req.length
            elif self.split == "rcb":
                k = (self.rcb - addr % self.rcb) // 4
            elif self.split == "mps":
                k = (self.mps - addr % self.rcb) // 4
            else:
                k = random.randint(1, 24)
            k = min(k, req.length - off)
            out.append((off, k))
            off += k
        return out

    def _cpl(self, req: Request, off: int, k: int, **kw) -> Tlp_us:
        cpl = Tlp_us()
        cpl.fmt_type = TlpType.CPL_DATA if k else TlpType.CPL
        cpl.requester_id = PcieId.from_int(req.func)
        cpl.completer_id = PcieId(0, 0, 0)
        cpl.tag = req.tag
        addr = req.addr + 4 * off
        first = max(addr, req.start)
        cpl.lower_address = first & 0xFFF
        cpl.byte_count = req.end - first
        if k:
            h = addr - HOST_BASE
            cpl.set_data(self.tb.host[h:h + 4 * k])
        cpl.request_completed = off + k >= req.length
        for key, val in kw.items():
            setattr(cpl, key, val)
        return cpl

    def _frames(self, req: Request) -> list:
        fate = req.fate
        if fate in ("ur", "ca"):
            cpl = self._cpl(req, 0, 0, status=CplStatus.UR if fate == "ur" else CplStatus.CA,
                            error_code=ErrorCode.BAD_STATUS, request_completed=True)
            return [cpl.pack_us_rc()]
        if fate == "no_data":
            cpl = self._cpl(req, 0, 0, error_code=ErrorCode.INVALID_LENGTH, request_completed=True)
            return [cpl.pack_us_rc()]
        if fate == "core_timeout":
            # request_completed left 0: the error code alone must end the request
            cpl = self._cpl(req, 0, 0, error_code=ErrorCode.TIMEOUT, request_completed=False)
            return [cpl.pack_us_rc()]
        frames = []
        resolved = False
        for off, k in self._chunks(req):
            if resolved:
                # bc_short: an earlier completion already claimed the request's end, so the hard block
                # resolved the tag; this one arrives for a tag that is not open (stat_unexpected_cpl)
                self.tb.expected_unexpected += 1
            cpl = self._cpl(req, off, k)
            if fate == "poison":
                cpl.ep = True
                cpl.error_code = ErrorCode.POISONED
                cpl.data = bytearray(b ^ 0xFF for b in cpl.data)
            elif fate in ("bc_short", "bc_long"):
                cpl.byte_count += -4 if fate == "bc_short" else 4
                # as the hard block computes it
                cpl.request_completed = cpl.byte_count <= 4 * k - (cpl.lower_address & 3)
                resolved = resolved or cpl.request_completed
            frame = cpl.pack_us_rc()
            if fate == "discontinue":
                frame.discontinue = True
            frames.append(frame)
        return frames

    async def _respond(self, req: Request, tlp: Tlp_us, number: int) -> None:
        tb = self.tb
        delay = random.randint(*self.delay)
        if delay:
            await ClockCycles(tb.dut.clk, delay)
        if req.fate in ("drop", "late"):
            del self.outstanding[req.tag]
            self.in_flight.discard(req)
            req.state = "dropped"
            if req.fate == "late":
                req.frames = self._frames_as_ok(req)
                self.late.append(req)
            return
        frames = self._frames(req)
        self.first_cpl_order.append(number)
        for i, frame in enumerate(frames):
            if i:
                gap = random.randint(*self.gap)
                if gap:
                    await ClockCycles(tb.dut.clk, gap)
            if i == len(frames) - 1 and req.fate != "bc_long":
                # the DUT may reuse the tag once it has this completion
                del self.outstanding[req.tag]
                req.state = "done"
            if req.fate != "ok" and req.err_seq < 0:
                req.err_seq = self.cpl_seq
            self.cpl_seq += 1
            self.deliver(frame, req.tag, req if i == len(frames) - 1 else None)
        if req.fate == "bc_long":
            # the request never completes: the DUT times the tag out
            del self.outstanding[req.tag]
            req.state = "done"

    def _frames_as_ok(self, req: Request) -> list:
        fate, req.fate = req.fate, "ok"
        frames = self._frames(req)
        req.fate = fate
        return frames

    # ----------------------------------------------- receive completion buffer

    def deliver(self, frame, tag: int, ends: Request | None = None, stray: bool = False) -> None:
        """A completion arrives at the hard block: it must fit the buffer, then it queues for RC.

        Cost as cocotbext-pcie's model: 1 header, ceil(payload DWs / 4) + 1
        data credits.  Completions split at arbitrary DWs (split 'random',
        illegal in PCIe: only RCB boundaries are allowed) can exceed any
        RCB-based reservation, so for them the buffer is only counted.
        """
        tb = self.tb
        payload_dw = len(frame.data) - 3        # after the 3-DW RC descriptor
        cost_d = (payload_dw + 3) // 4 + 1
        if self.split != "random" and (self.buf_h + 1 > CPLH_FC_LIMIT or self.buf_d + cost_d > CPLD_FC_LIMIT):
            tb.fail(f"completion buffer overflow: completion for tag {tag} ({payload_dw} DW: "
                    f"1 header, {cost_d} data credits) does not fit, the hard block would drop it: "
                    f"in use CPLH {self.buf_h} / limit {CPLH_FC_LIMIT}, CPLD {self.buf_d} / limit {CPLD_FC_LIMIT} "
                    f"({len(self.buf_frames)} completions queued, {self.buf_stray} of them late/stray; "
                    f"{len(self.in_flight)} requests in flight)")
        self.buf_frames.append((tag, 1, cost_d, ends, stray))
        self.buf_stray += stray
        self.buf_h += 1
        self.buf_d += cost_d
        self.buf_peak_h = max(self.buf_peak_h, self.buf_h)
        self.buf_peak_d = max(self.buf_peak_d, self.buf_d)
        tb.rc_source.send_nowait(frame)     # same order as buf_frames

    def delivered(self) -> None:
        """The last beat of the oldest queued completion was accepted on RC: its credits return."""
        if not self.buf_frames:
            self.tb.fail("bench: RC frame delivered that the completion buffer model never saw")
        _, h, d, ends, stray = self.buf_frames.popleft()
        self.buf_h -= h
        self.buf_d -= d
        self.buf_stray -= stray
        self.in_flight.discard(ends)

    async def send_late(self) -> int:
        """Send the held answers of 'late' requests; returns the frame count."""
        n = 0
        for req in self.late:
            for frame in req.frames:
                self.deliver(frame, req.tag, stray=True)
                n += 1
        self.late.clear()
        return n

    async def send_stray(self, tag: int, addr: int = HOST_BASE, dwords: int = 4) -> None:
        """A completion for a tag the DUT has not got outstanding."""
        cpl = Tlp_us()
        cpl.fmt_type = TlpType.CPL_DATA
        cpl.tag = tag
        cpl.lower_address = addr & 0xFFF
        cpl.byte_count = 4 * dwords
        cpl.request_completed = True
        cpl.set_data(bytes(random.getrandbits(8) for _ in range(4 * dwords)))
        self.deliver(cpl.pack_us_rc(), tag, stray=True)


class TB:
    """Clock, reset, descriptor driver, completer, RAM model and checkers."""

    def __init__(self, dut) -> None:
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.log.info("seed %d", cocotb.RANDOM_SEED)

        cocotb.start_soon(Clock(dut.clk, CLK_NS, unit="ns").start())

        self.rq_sink = RqSink(AxiStreamBus.from_prefix(dut, "m_axis_rq"), dut.clk, dut.rst)
        self.rc_source = RcSource(AxiStreamBus.from_prefix(dut, "s_axis_rc"), dut.clk, dut.rst)
        for port in ("m_axis_rq", "s_axis_rc"):
            logging.getLogger(f"cocotb.{dut._name}.{port}").setLevel(logging.WARNING)

        self.host = bytearray(random.randbytes(HOST_SIZE))
        self.ram = bytearray(random.randbytes(RAM_SIZE))
        self.host_ptr = 0
        self.ram_ptr = 0
        self.next_tag = 0
        self.mrrs = 512

        self.inflight: list[Desc] = []       # submitted, no status yet
        self.by_tag: dict[int, Desc] = {}
        self.finished: list[Desc] = []
        self.errors: list[str] = []
        self.cycle = 0
        self.unexpected = 0                  # stat_unexpected_cpl pulses
        self.expected_unexpected = 0
        self.rc_stalls = 0                   # cycles with RC valid and not ready
        self.desc_stalls = 0                 # cycles with a descriptor valid and not ready
        self.ram_writes = 0
        self.max_ops = 0
        self.idle = Event()
        self.idle.set()

        global PCIE_TAG_COUNT, OP_COUNT, CPL_TIMEOUT, CPLH_FC_LIMIT, CPLD_FC_LIMIT
        PCIE_TAG_COUNT = int(dut.PCIE_TAG_COUNT.value)
        OP_COUNT = int(dut.OP_COUNT.value)
        CPL_TIMEOUT = int(dut.CPL_TIMEOUT.value)
        CPLH_FC_LIMIT = int(dut.CPLH_FC_LIMIT.value)
        CPLD_FC_LIMIT = int(dut.CPLD_FC_LIMIT.value)
        assert int(dut.RAM_ADDR_W.value) == RAM_ADDR_W, "bench: RAM_ADDR_W must be 18"
        self.log.info("PCIE_TAG_COUNT %d OP_COUNT %d CPL_TIMEOUT %d completion buffer CPLH %d CPLD %d%s",
                      PCIE_TAG_COUNT, OP_COUNT, CPL_TIMEOUT, CPLH_FC_LIMIT, CPLD_FC_LIMIT,
                      "" if (CPLH_FC_LIMIT, CPLD_FC_LIMIT) == (US_CPLH_FC_LIMIT, US_CPLD_FC_LIMIT)
                      else " (reduced; the UltraScale+ hard block has 256 / 2048)")

        self.desc_queue: Queue[Desc] = Queue()
        self.completer = Completer(self)

        dut.s_axis_rd_desc_valid.value = 0
        dut.s_axis_rd_desc_func.value = 0
        dut.s_axis_rd_desc_pcie_addr.value = 0
        dut.s_axis_rd_desc_ram_addr.value = 0
        dut.s_axis_rd_desc_len.value = 0
        dut.s_axis_rd_desc_tag.value = 0
        dut.cfg_max_read_req.value = 2
        cocotb.start_soon(self._drive_desc())
        cocotb.start_soon(self._monitor())

    # ------------------------------------------------------------- plumbing

    def expect(self, cond: bool, msg: str) -> None:
        if not cond:
            self.fail(msg)

    def fail(self, msg: str) -> None:
        """A checker saw the DUT misbehave: the test fails here, at this time."""
        msg = f"vio_dma_rd: {msg} (t={now_ns():.0f} ns)"
        self.log.error(msg)
        self.errors.append(msg)
        raise AssertionError(msg)

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 8)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 4)

    async def set_mrrs(self, n: int) -> None:
        """cfg_max_read_req = n; only while idle (the DUT registers it)."""
        assert not self.inflight
        self.dut.cfg_max_read_req.value = n
        self.mrrs = 128 << min(n, 5)
        await ClockCycles(self.dut.clk, 2)

    def set_pauses(self, rq: float = 0.0, rc: float = 0.0) -> None:
        """Random backpressure on RQ and idle gaps on RC (probability per cycle)."""
        def gen(p):
            while True:
                yield random.random() < p
        for port, p in ((self.rq_sink, rq), (self.rc_source, rc)):
            port.set_pause_generator(gen(p) if p else None)
            if not p:
                port.pause = False    # clearing a generator leaves the last value

    # ----------------------------------------------------------- descriptors

    def alloc(self, length: int, pcie_off: int | None = None, ram_off: int | None = None) -> tuple[int, int]:
        """Fresh host and RAM windows: pcie_off/ram_off are offsets inside a 4 KiB page / RAM row."""
        if pcie_off is None:
            pcie_off = random.randrange(4096)
        if ram_off is None:
            ram_off = random.randrange(64)
        page = (self.host_ptr + 4095) // 4096 * 4096
        if page + pcie_off + length > HOST_SIZE:
            page = 0
        self.host_ptr = page + pcie_off + length
        row = (self.ram_ptr + 63) // 64 * 64
        if row + ram_off + length > RAM_SIZE:
            row = 0
        self.ram_ptr = row + ram_off + length
        ram = row + ram_off
        for d in self.inflight:
            assert not (ram < d.ram_addr + d.length and d.ram_addr < ram + length), "bench: RAM windows overlap"
        return HOST_BASE + page + pcie_off, ram

    def read(self, length: int, pcie_off: int | None = None, ram_off: int | None = None,
             func: int | None = None) -> Desc:
        """Queue one descriptor; returns it (its .done event fires at its status)."""
        pcie, ram = self.alloc(length, pcie_off, ram_off)
        while self.next_tag in self.by_tag:
            self.next_tag = (self.next_tag + 1) % 256
        d = Desc(tag=self.next_tag, func=random.randrange(256) if func is None else func,
                 pcie_addr=pcie, ram_addr=ram, length=length)
        self.next_tag = (self.next_tag + 1) % 256
        d.requested = bytearray(length)
        d.snapshot = bytes(self.ram[ram:ram + length])
        d.submitted = now_ns()
        self.inflight.append(d)
        self.by_tag[d.tag] = d
        self.idle.clear()
        self.desc_queue.put_nowait(d)
        return d

    def desc_at(self, start: int, end: int) -> Desc | None:
        for d in self.inflight:
            if d.pcie_addr <= start and end <= d.pcie_addr + d.length:
                return d
        return None

    async def _drive_desc(self) -> None:
        dut = self.dut
        while True:
            d = await self.desc_queue.get()
            dut.s_axis_rd_desc_func.value = d.func
            dut.s_axis_rd_desc_pcie_addr.value = d.pcie_addr
            dut.s_axis_rd_desc_ram_addr.value = d.ram_addr
            dut.s_axis_rd_desc_len.value = d.length
            dut.s_axis_rd_desc_tag.value = d.tag
            dut.s_axis_rd_desc_valid.value = 1
            while True:
                await RisingEdge(dut.clk)
                if int(dut.s_axis_rd_desc_ready.value):
                    break
                self.desc_stalls += 1
            d.accepted_cycle = self.cycle
            ops = sum(1 for x in self.inflight if x.accepted_cycle >= 0)
            self.max_ops = max(self.max_ops, ops)
            if self.desc_queue.empty():
                dut.s_axis_rd_desc_valid.value = 0

    async def wait_all(self, timeout_us: float = 200) -> None:
        """Wait for every submitted descriptor's status; a hang fails with what is missing."""
        try:
            await with_timeout(self.idle.wait(), timeout_us, "us")
        except TimeoutError:
            missing = "; ".join(
                f"{d} ({len(d.reqs)} TLPs, states {sorted(set(r.state for r in d.reqs))})"
                for d in self.inflight)
            raise AssertionError(f"vio_dma_rd: hang: no status after {timeout_us} us for {missing} "
                                 f"(t={now_ns():.0f} ns)") from None

    async def finish(self) -> None:
        """End of test: everything answered, no checker complaint."""
        await self.wait_all()
        await ClockCycles(self.dut.clk, 20)
        if self.completer.faults:
            self.fail(f"bench: faults never triggered: {self.completer.faults}")
        if self.completer.outstanding:
            self.fail(f"tags still outstanding at the completer: {sorted(self.completer.outstanding)}")
        if self.completer.buf_frames:
            self.fail(f"bench: {len(self.completer.buf_frames)} completions never delivered on RC")
        if self.unexpected != self.expected_unexpected:
            self.fail(f"stat_unexpected_cpl: expected {self.expected_unexpected} pulses, got {self.unexpected}")
        assert not self.errors, f"{len(self.errors)} error(s):\n" + "\n".join(self.errors[:10])
        self.log.info("%d descriptors, %d TLPs, %d RAM writes, %d cycles",
                      len(self.finished), self.completer.req_count, self.ram_writes, self.cycle)

    # --------------------------------------------------- RAM model, status

    async def _monitor(self) -> None:
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            self.cycle += 1
            if int(dut.ram_wr_en.value):
                self._ram_write(int(dut.ram_wr_addr.value), int(dut.ram_wr_be.value),
                                int(dut.ram_wr_data.value))
            if int(dut.m_axis_rd_desc_status_valid.value):
                self._status(int(dut.m_axis_rd_desc_status_tag.value),
                             int(dut.m_axis_rd_desc_status_error.value))
            if int(dut.stat_unexpected_cpl.value):
                self.unexpected += 1
            if int(dut.s_axis_rc_tvalid.value):
                if not int(dut.s_axis_rc_tready.value):
                    self.rc_stalls += 1
                elif int(dut.s_axis_rc_tlast.value):
                    self.completer.delivered()

    def _window(self, lo: int, hi: int) -> Desc | None:
        for d in self.inflight:
            if d.ram_addr <= lo and hi <= d.ram_addr + d.length:
                return d
        return None

    def _ram_write(self, row: int, be: int, data: int) -> None:
        self.ram_writes += 1
        base = row * 64
        raw = data.to_bytes(64, "little")
        lo, hi = be_span(be)
        if be == ((1 << hi) - 1) ^ ((1 << lo) - 1):
            runs = [(lo, hi)]
        else:
            runs = [(i, i + 1) for i in range(64) if be >> i & 1]
        for a, b in runs:
            if self._window(base + a, base + b) is None:
                bad = next(base + i for i in range(a, b) if self._window(base + i, base + i + 1) is None)
                owner = [str(d) for d in self.finished if d.ram_addr <= bad < d.ram_addr + d.length][-1:]
                self.fail(f"RAM write outside active windows: row {row:#x} be {be:#018x}: byte {bad:#x} "
                          f"is in no descriptor in flight"
                          + (f" (last belonged to finished {owner[0]})" if owner else ""))
                continue
            self.ram[base + a:base + b] = raw[a:b]

    def _status(self, tag: int, err: int) -> None:
        d = self.by_tag.get(tag)
        if d is None or d.accepted_cycle < 0:
            self.fail(f"unexpected status: tag {tag} error {ERR_NAME.get(err, err)} is not a descriptor in flight")
            return
        d.status, d.status_cycle = err, self.cycle
        self.inflight.remove(d)
        del self.by_tag[tag]
        self.finished.append(d)
        self._check_desc(d)
        d.done.set()
        if not self.inflight:
            self.idle.set()

    def expected_error(self, d: Desc) -> int:
        bad = [r for r in d.reqs if r.fate != "ok"]
        if not bad:
            return DMA_OK
        # the first erroring completion the DUT received; timeouts come last
        answered = [r for r in bad if r.err_seq >= 0 and r.fate != "bc_long"]
        if answered:
            return FAULT_ERR[min(answered, key=lambda r: r.err_seq).fate]
        answered = [r for r in bad if r.err_seq >= 0]
        return FAULT_ERR[(answered or bad)[0].fate]

    def _check_desc(self, d: Desc) -> None:
        missing = d.length - sum(d.requested)
        if missing:
            first = d.requested.index(0)
            self.fail(f"status before every byte was requested: {d}: {missing} bytes never requested, "
                      f"first at offset {first}")
        for r in d.reqs:
            if r.state == "pending":
                self.fail(f"status before completion: {d}: request tag {r.tag} {r.start:#x}..{r.end:#x} "
                          f"not answered yet (status {ERR_NAME.get(d.status)})")
        exp = self.expected_error(d)
        if d.status != exp:
            tlps = ", ".join(f"tag {r.tag} @{r.start - d.pcie_addr} {r.fate}" for r in d.reqs[:8])
            self.fail(f"status error: {d}: expected {ERR_NAME[exp]}, got {ERR_NAME.get(d.status, d.status)} "
                      f"(TLPs: {tlps}{', ...' if len(d.reqs) > 8 else ''})")
        if d.length == 0 and d.status_cycle - d.accepted_cycle > 8:
            self.fail(f"zero-length status late: {d}: {d.status_cycle - d.accepted_cycle} cycles")
        # RAM window: host bytes where the TLP succeeded, old bytes elsewhere
        expected = bytearray(d.snapshot)
        for r in d.reqs:
            if r.fate == "ok":
                o0, o1 = r.start - d.pcie_addr, r.end - d.pcie_addr
                h = r.start - HOST_BASE
                expected[o0:o1] = self.host[h:h + (o1 - o0)]
        actual = self.ram[d.ram_addr:d.ram_addr + d.length]
        if actual != expected:
            bad = [i for i in range(d.length) if actual[i] != expected[i]]
            i = bad[0]
            r = next((r for r in d.reqs if r.start <= d.pcie_addr + i < r.end), None)
            via = f"TLP tag {r.tag} fate {r.fate}" if r else "no TLP"
            self.fail(f"RAM data mismatch: {d}: {len(bad)} bad bytes, first at offset {i} "
                      f"(ram {d.ram_addr + i:#x}, pcie {d.pcie_addr + i:#x}, {via}): "
                      f"expected {expected[i]:#04x}, got {actual[i]:#04x}")


# ======================================================================
# tests
# ======================================================================

EDGE_LENGTHS = [1, 2, 3, 4, 63, 64, 65, 4095, 4096, 4097, 8192]


async def setup(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


@cocotb.test()
async def test_single_read(dut):
    """A 300-byte read at odd offsets lands byte-exact; then two 1-DW reads and the longest descriptor."""
    tb = await setup(dut)
    d = tb.read(300, pcie_off=0x7F5, ram_off=0x23, func=5)
    await tb.wait_all()
    tb.expect(d.status == DMA_OK and d.reqs,
              f"single read: {d}: status {ERR_NAME.get(d.status)}, {len(d.reqs)} TLPs")
    tb.read(1, pcie_off=2, ram_off=63)       # 1 DW, first_be 0x4, last_be 0
    tb.read(3, pcie_off=1, ram_off=0)        # 1 DW, first_be 0xe
    tb.read(65535, pcie_off=0x10, ram_off=7)  # the longest descriptor
    await tb.finish()


@cocotb.test()
async def test_zero_length(dut):
    """len == 0: DMA_OK at once and no TLP, also between normal reads."""
    tb = await setup(dut)
    z = tb.read(0)
    await tb.wait_all()
    tb.expect(tb.completer.req_count == 0, f"zero length: {z}: {tb.completer.req_count} TLPs issued")
    for _ in range(6):
        tb.read(random.choice([0, 0, 40, 700]))
    await tb.finish()


@cocotb.test()
async def test_length_sweep(dut):
    """Lengths 1..8192 (edges + random) at random PCIe/RAM alignments, some across 4 KiB."""
    tb = await setup(dut)
    await tb.set_mrrs(2)
    lengths = EDGE_LENGTHS + [random.randint(1, 8192) for _ in range(16)]
    for n in lengths:
        tb.read(n)
    for n in (2, 5, 64, 200, 4096, 5000):   # start just below a 4 KiB boundary
        tb.read(n, pcie_off=4096 - random.randint(1, min(n, 64)))
    await tb.finish()


@cocotb.test()
async def test_many_outstanding(dut):
    """More descriptors than op slots, more TLPs than tags, answered late: every slot, then every tag in use."""
    tb = await setup(dut)
    await tb.set_mrrs(0)
    c = tb.completer
    c.delay = (100, 400)
    for _ in range(2 * OP_COUNT):      # one TLP each: the op slots run out first
        tb.read(random.randint(1, 100), pcie_off=random.randrange(0, 4096, 128))
    await tb.wait_all()
    tb.expect(tb.max_ops == OP_COUNT,
              f"many outstanding: at most {tb.max_ops} descriptors in flight, expected {OP_COUNT}")
    tb.expect(tb.desc_stalls > 0, "many outstanding: descriptors were never backpressured")
    for _ in range(24):                # 5..17 TLPs each: the tags run out first
        tb.read(random.randint(600, 2100))
    await tb.finish()
    tb.expect(c.max_outstanding == PCIE_TAG_COUNT,
              f"many outstanding: at most {c.max_outstanding} tags outstanding, expected {PCIE_TAG_COUNT}")


@cocotb.test()
async def test_split_completions(dut):
    """Completions split at RCB 64, RCB 128, max payload 256 and at arbitrary DWs, interleaved between tags."""
    tb = await setup(dut)
    await tb.set_mrrs(5)
    c = tb.completer
    c.gap = (0, 6)
    for split, rcb in (("rcb", 64), ("rcb", 128), ("mps", 64), ("random", 64)):
        c.split, c.rcb = split, rcb
        for _ in range(5):
            tb.read(random.randint(1, 6000))
        await tb.wait_all()
    await tb.finish()


@cocotb.test()
async def test_out_of_order(dut):
    """Random answer delays reorder completions across tags; data still lands right."""
    tb = await setup(dut)
    await tb.set_mrrs(1)
    c = tb.completer
    c.split, c.delay, c.gap = "rcb", (0, 120), (0, 10)
    for _ in range(14):
        tb.read(random.randint(100, 3000))
    await tb.finish()
    order = c.first_cpl_order
    inversions = sum(1 for a, b in zip(order, order[1:]) if b < a)
    tb.expect(inversions > 0, f"out of order: completions were never reordered ({order[:20]}...)")


@cocotb.test()
async def test_mrrs(dut):
    """MRRS 128, 512, 4096 and a reserved code (read as 4096): every request within it, the full size used."""
    tb = await setup(dut)
    for n in (0, 2, 5, 7):
        await tb.set_mrrs(n)
        tb.completer.max_req_bytes = 0
        for _ in range(4):
            tb.read(random.randint(8192, 12000))   # always holds one whole 4 KiB page
        await tb.wait_all()
        tb.expect(tb.completer.max_req_bytes == tb.mrrs,
                  f"mrrs {tb.mrrs}: largest request {tb.completer.max_req_bytes} bytes, expected {tb.mrrs}")
    await tb.finish()


@cocotb.test()
async def test_backpressure(dut):
    """RQ backpressure and RC idle gaps (pause generators) with split, delayed completions."""
    tb = await setup(dut)
    await tb.set_mrrs(1)
    tb.set_pauses(rq=0.6, rc=0.5)
    c = tb.completer
    c.split, c.delay, c.gap = "rcb", (0, 30), (0, 3)
    for _ in range(16):
        tb.read(random.randint(1, 2500))
    await tb.finish()


@cocotb.test()
async def test_streaming_rate(dut):
    """Whole 4 KiB completions back to back: one RAM row per beat, a stall only for a spill row."""
    tb = await setup(dut)
    await tb.set_mrrs(5)
    d = tb.read(32768, pcie_off=0, ram_off=0x30)
    await tb.finish()
    frames = len(d.reqs)
    tb.expect(tb.rc_stalls <= frames, f"streaming: {tb.rc_stalls} RC stall cycles for {frames} completions")
    rows = (0x30 + 32768 + 63) // 64
    tb.expect(tb.ram_writes <= rows + frames, f"streaming: {tb.ram_writes} RAM writes for {rows} rows")


async def error_then_good(tb: TB, kind: str) -> None:
    """A fault on one middle TLP of a read: that read gets its status, the
    others in flight and a later read are untouched."""
    await tb.set_mrrs(1)   # 256-byte TLPs
    tb.completer.split = "rcb"
    bad = tb.read(1500, pcie_off=0x40)
    tb.completer.inject(bad.pcie_addr + 600, kind)
    good = [tb.read(random.randint(1, 1500)) for _ in range(3)]
    await tb.wait_all()
    tb.expect(bad.status == FAULT_ERR[kind],
              f"{kind}: {bad}: expected {ERR_NAME[FAULT_ERR[kind]]}, got {ERR_NAME.get(bad.status)}")
    tb.expect(all(g.status == DMA_OK for g in good),
              f"{kind}: reads beside the faulty one: {[(g.tag, ERR_NAME.get(g.status)) for g in good]}")
    after = tb.read(777)
    await tb.wait_all()
    tb.expect(after.status == DMA_OK, f"{kind}: read after the error: {after}: status {ERR_NAME.get(after.status)}")
    r = next(r for r in bad.reqs if r.fate == kind)
    waited = bad.status_cycle - r.cycle
    if kind == "drop":
        limit = CPL_TIMEOUT * 9 // 8 + 32
        tb.expect(CPL_TIMEOUT <= waited <= limit,
                  f"{kind}: {bad}: tag {r.tag} timed out after {waited} cycles, expected {CPL_TIMEOUT}..{limit}")
    elif kind == "core_timeout":
        # reported from the completion, not from the engine's own timer
        tb.expect(waited < CPL_TIMEOUT // 2,
                  f"{kind}: {bad}: tag {r.tag} status after {waited} cycles, expected < {CPL_TIMEOUT // 2} "
                  f"(the TIMEOUT completion must resolve the request)")


@cocotb.test()
async def test_error_ur(dut):
    """Completion status UR -> DMA_ERR_UR, then a good read works."""
    tb = await setup(dut)
    await error_then_good(tb, "ur")
    await tb.finish()


@cocotb.test()
async def test_error_ca(dut):
    """Completion status CA -> DMA_ERR_CA, then a good read works."""
    tb = await setup(dut)
    await error_then_good(tb, "ca")
    await tb.finish()


@cocotb.test()
async def test_error_poisoned(dut):
    """Poisoned completions -> DMA_ERR_POISON and their data is not written."""
    tb = await setup(dut)
    await error_then_good(tb, "poison")
    await tb.finish()


@cocotb.test()
async def test_error_timeout(dut):
    """A request never answered -> DMA_ERR_TIMEOUT after CPL_TIMEOUT cycles."""
    tb = await setup(dut)
    await error_then_good(tb, "drop")
    await tb.finish()


@cocotb.test()
async def test_error_core_timeout(dut):
    """The hard block's own completion timeout (error_code 0b1001) -> DMA_ERR_TIMEOUT at once."""
    tb = await setup(dut)
    await error_then_good(tb, "core_timeout")
    await tb.finish()


@cocotb.test()
async def test_malformed_completions(dut):
    """Bad byte count (short and long), SC without data, discontinue -> DMA_ERR_CPL, nothing written."""
    tb = await setup(dut)
    for kind in ("bc_short", "bc_long", "no_data", "discontinue"):
        await error_then_good(tb, kind)
    await tb.finish()


@cocotb.test()
async def test_first_error_wins(dut):
    """UR on the 2nd TLP and poison on the 4th, answered in order: status UR."""
    tb = await setup(dut)
    await tb.set_mrrs(0)
    d = tb.read(800, pcie_off=0)
    tb.completer.inject(d.pcie_addr + 200, "ur")
    tb.completer.inject(d.pcie_addr + 450, "poison")
    await tb.finish()
    tb.expect(d.status == DMA_ERR_UR, f"first error: {d}: expected UR, got {ERR_NAME.get(d.status)}")


@cocotb.test()
async def test_late_and_stray_completions(dut):
    """A completion after its timeout and completions for unknown tags are dropped and counted."""
    tb = await setup(dut)
    d = tb.read(300, pcie_off=0x100)
    tb.completer.inject(d.pcie_addr, "late")
    await tb.wait_all()
    tb.expect(d.status == DMA_ERR_TIMEOUT, f"late: {d}: expected TIMEOUT, got {ERR_NAME.get(d.status)}")
    tb.expected_unexpected += await tb.completer.send_late()
    await tb.completer.send_stray(tag=d.reqs[0].tag)   # tag known but free
    await tb.completer.send_stray(tag=31)              # never used
    await tb.completer.send_stray(tag=200, dwords=20)  # beyond PCIE_TAG_COUNT
    tb.expected_unexpected += 3
    await ClockCycles(dut.clk, 50)
    tb.read(1000)
    await tb.finish()


@cocotb.test()
async def test_random_mix(dut):
    """Everything at once: random lengths, modes, pauses, delays and one fault per faulty read."""
    tb = await setup(dut)
    c = tb.completer
    for _ in range(3):
        await tb.set_mrrs(random.choice([0, 1, 2, 5]))
        c.split = random.choice(["whole", "rcb", "mps", "random"])
        c.rcb = random.choice([64, 128])
        c.delay = (0, random.choice([0, 40, 150]))
        c.gap = (0, random.choice([0, 5]))
        tb.set_pauses(rq=random.choice([0, 0.3]), rc=random.choice([0, 0.3]))
        for _ in range(12):
            d = tb.read(random.choice([random.randint(1, 64), random.randint(1, 9000)]))
            if d.length >= 8 and random.random() < 0.25:
                c.inject(d.pcie_addr + random.randrange(d.length),
                         random.choice(["ur", "ca", "poison", "bc_short", "no_data", "discontinue"]))
        await tb.wait_all()
    await tb.finish()


# ----------------------------------------------------------------------
# receive completion buffer of the hard block
# ----------------------------------------------------------------------

def worst_cpl_cost(addr: int, nbytes: int) -> tuple[int, int]:
    """Most completion-buffer space one MemRd can take (PCIe: completions split only at
    RCB boundaries, RCB >= 64): one header per 64-byte block touched; per completion
    ceil(DWs / 4) + 1 data credits, which sum to the 16-byte blocks touched + headers."""
    h = (addr % 64 + nbytes + 63) // 64
    return h, (addr % 16 + nbytes + 15) // 16 + h


def max_outstanding_for(nbytes: int, addr: int = 0) -> int:
    """Requests the engine can keep outstanding when all look like (addr, nbytes)."""
    h, d = worst_cpl_cost(addr, nbytes)
    return min(PCIE_TAG_COUNT, CPLH_FC_LIMIT // h, CPLD_FC_LIMIT // d)


async def stream_through_buffer(tb: TB, mrrs_code: int, count: int, split: str, rc_pause: float,
                                delay: tuple[int, int] = (0, 0)) -> None:
    """count x 4 KiB page-aligned reads; every byte and status is checked at its status,
    every completion against the buffer limits as it is sent; as many requests in flight
    as the buffer (or the tags) allow."""
    await tb.set_mrrs(mrrs_code)
    c = tb.completer
    c.split, c.rcb, c.delay = split, 64, delay
    c.max_in_flight = 0
    c.buf_peak_h = c.buf_peak_d = 0
    tb.set_pauses(rc=rc_pause)
    reads = []
    while len(reads) < count:
        # at most 40 descriptors (160 KiB of the 256 KiB RAM) in flight: windows never overlap
        if len(tb.inflight) < 40:
            reads.append(tb.read(4096, pcie_off=0, ram_off=random.randrange(64)))
        else:
            await RisingEdge(tb.dut.clk)
    await tb.wait_all(timeout_us=2000)
    tb.set_pauses()
    bad = [(d.tag, ERR_NAME.get(d.status)) for d in reads if d.status != DMA_OK]
    tb.expect(not bad, f"stream mrrs {tb.mrrs} split {split}: reads not OK: {bad[:8]}")
    exp = max_outstanding_for(tb.mrrs)
    tb.expect(c.max_in_flight == exp,
              f"stream mrrs {tb.mrrs} split {split}: at most {c.max_in_flight} requests in flight, "
              f"expected {exp} (tags {PCIE_TAG_COUNT}, buffer CPLH {CPLH_FC_LIMIT} CPLD {CPLD_FC_LIMIT})")
    tb.log.info("stream mrrs %d split %s: %d requests in flight, buffer peak CPLH %d / %d, CPLD %d / %d",
                tb.mrrs, split, c.max_in_flight, c.buf_peak_h, CPLH_FC_LIMIT, c.buf_peak_d, CPLD_FC_LIMIT)


@cocotb.test()
async def test_cpl_buffer_mrrs4096(dut):
    """64 x 4 KiB at MRRS 4096 through a slowly drained RC: completions split at RCB 64 fill
    the buffer to its limit; then whole 4 KiB completions, then random lengths and offsets;
    no completion would be dropped, every byte lands."""
    tb = await setup(dut)
    c = tb.completer
    await stream_through_buffer(tb, 5, 64, "rcb", rc_pause=0.5)
    # the buffer really filled: as many completions as the reservations allow
    per_req_h, per_req_d = 64, 64 * (4 + 1)
    n = max_outstanding_for(4096)
    tb.expect(c.buf_peak_h >= n * per_req_h * 9 // 10 and c.buf_peak_d >= n * per_req_d * 9 // 10,
              f"buffer fill (rcb): peak CPLH {c.buf_peak_h} CPLD {c.buf_peak_d}, "
              f"expected >= 90% of {n * per_req_h} / {n * per_req_d} ({n} requests of 64 completions)")
    await stream_through_buffer(tb, 5, 32, "whole", rc_pause=0.5)
    # the leading offset counts: 3970 bytes at offset 63 touch 64 blocks of 64 bytes
    # (not 63), interleaved with 64-byte reads that would take any header left over
    tb.set_pauses(rc=0.5)
    c.split, c.rcb = "rcb", 64
    for i in range(32):
        tb.read(*((3970, 63) if i % 2 == 0 else (64, 0)))
    await tb.wait_all(timeout_us=1000)
    # unaligned requests of random lengths (page crossings), RCB 64 and 128 splits
    for rcb in (64, 128):
        c.split, c.rcb = "rcb", rcb
        for _ in range(12):
            tb.read(random.randint(1, 9000))
        await tb.wait_all(timeout_us=1000)
    await tb.finish()


@cocotb.test()
async def test_cpl_buffer_mrrs128(dut):
    """64 x 4 KiB at MRRS 128 (2048 small reads): the reservations are small, every tag is used."""
    tb = await setup(dut)
    await stream_through_buffer(tb, 0, 64, "rcb", rc_pause=0.3, delay=(50, 150))
    await tb.finish()


@cocotb.test()
async def test_cpl_buffer_credits_return(dut):
    """Requests that end in every error (status, poison, malformed, timeouts) return their
    reservation: afterwards 4 KiB reads again get the whole buffer (a leak of even one
    header or credit would leave fewer in flight, or hang the minimal buffer)."""
    tb = await setup(dut)
    await tb.set_mrrs(2)
    c = tb.completer
    c.split, c.rcb = "rcb", 64
    kinds = sorted(FAULT_ERR)
    reads = []
    for kind in kinds * 2:
        d = tb.read(512, pcie_off=512 * random.randrange(8))   # one 512-byte TLP
        c.inject(d.pcie_addr + random.randrange(512), kind)
        reads.append((d, kind))
    await tb.wait_all()
    for d, kind in reads:
        tb.expect(d.status == FAULT_ERR[kind],
                  f"credits return: {d} with {kind}: expected {ERR_NAME[FAULT_ERR[kind]]}, "
                  f"got {ERR_NAME.get(d.status)}")
    tb.expected_unexpected += await c.send_late()
    # completions arriving after the engine timed their request out hold
    # buffer space no reservation covers: let them drain first
    while c.buf_frames:
        await RisingEdge(dut.clk)
    await stream_through_buffer(tb, 5, 16, "rcb", rc_pause=0.5)
    await tb.finish()


@cocotb.test()
async def test_stream_throughput(dut):
    """256 KiB (64 x 4 KiB) at MRRS 512, whole completions, no host latency: close to one RC
    beat per cycle; then the same with 1 us of host latency (logged)."""
    tb = await setup(dut)
    await tb.set_mrrs(2)
    c = tb.completer
    results = []
    for delay in (0, 250):
        c.delay = (delay, delay)
        reads = [tb.read(4096, pcie_off=0, ram_off=0) for _ in range(64)]
        await tb.wait_all()
        cycles = max(d.status_cycle for d in reads) - min(d.accepted_cycle for d in reads)
        results.append(cycles)
        tb.log.info("256 KiB at MRRS 512, host latency %d cycles: %d cycles, %.1f bytes/cycle, "
                    "%d requests in flight at most", delay, cycles, 262144 / cycles, c.max_in_flight)
    # 512 completions of 512 bytes: 9 RC beats each (12-byte descriptor + 8 rows)
    beats = 512 * ((12 + 512 + 63) // 64)
    tb.expect(results[0] <= beats * 105 // 100 + 64,
              f"throughput: 256 KiB at MRRS 512 took {results[0]} cycles, expected <= "
              f"{beats * 105 // 100 + 64} ({beats} RC beats)")
    await tb.finish()
