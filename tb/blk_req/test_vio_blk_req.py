"""Focused bench for ``vio_blk_req`` (virtio-blk request engine).

The DUT runs alone.  Around it:

* host memory: pymodel ``SparseMemory``; each request is a pymodel
  ``Buffer`` whose readable / writable byte streams are cut into segments at
  random (header split across segments, zero-length segments, data cut at
  odd boundaries, addresses above 4 GiB, odd alignment); writable bytes are
  filled with junk first so an unwritten byte is told from a written one;
* the segments and the record are driven on s_axis_seg / s_axis_buf;
* a ctx responder (one cycle) with per-function live / negotiated features;
* a DMA read responder: checks every descriptor (function, tag, RAM range,
  length <= CHUNK, host range inside ONE non-empty readable segment of the
  current buffer, func_quiesced low), copies host bytes into the read-RAM
  model after a random delay (several in flight, completing out of order)
  and answers the status (or an injected error);
* a DMA write responder: the same checks against the writable segments;
  the bytes are taken from the write-RAM model when the write completes (so
  a RAM region reused too early is caught); the write covering the status
  byte (writable offset room-1) must be one byte, with no other write in
  flight, and no write of the request may follow it;
* a disk model on the backend ports: pymodel ``Disk`` over a temporary image
  file per function; it checks each be_req (op, func, queue, range), sends
  READ frames / takes WRITE frames (count*512 bytes, tlast on the last beat)
  with random stalls, logs the ops and answers rsp (or an injected error);
* a used-record sink with random backpressure and a needs_reset monitor.

Expectations: pymodel ``BlkDevice.process`` run on a copy of host memory and
a copy of the disk before the request is fed: status byte, used len, every
byte of the buffer's segments, the backend op sequence, the disk contents.
"""

from __future__ import annotations

import logging
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from pymodel.blk import BackendOpKind, BlkDevice, BlkStatus
from pymodel.blk_config import BlkConfig
from pymodel.buffers import Buffer, Segment
from pymodel.disk import SECTOR, Disk
from pymodel.errors import DeviceNeedsReset
from pymodel.memory import SparseMemory
from tb.engine_ports import feed_buffer, serve_ctx, serve_rd_status, sink_used, serve_wr_status
from tb.util import now, serve_buffer_ram

DMA_OK = 0
DMA_ERR_UR = 1
F_RO = 1 << 5
F_FLUSH = 1 << 9
F_VERSION_1 = 1 << 32
OFFERED_DEFAULT = [F_VERSION_1 | F_FLUSH, F_VERSION_1 | F_FLUSH | F_RO]
T_IN, T_OUT, T_FLUSH, T_GET_ID = 0, 1, 4, 8
OP_NAMES = {0: BackendOpKind.READ, 1: BackendOpKind.WRITE, 2: BackendOpKind.FLUSH}
CAPACITY = 1024          # sectors per function disk
FULL_KEEP = (1 << 64) - 1


@dataclass
class Req:
    """One request as the bench builds and feeds it."""

    func: int
    queue: int
    id: int
    num_desc: int
    buf: Buffer
    rtype: int
    sector: int
    seg_error: bool = False
    rec_error: bool = False

    @property
    def where(self) -> str:
        return (f"func {self.func} queue {self.queue} id {self.id} (type {self.rtype}, sector {self.sector:#x}, "
                f"{self.buf.readable_len} readable / {self.buf.writable_len} writable bytes in "
                f"{len(self.buf.segments)} segments)")

    def status_addr(self) -> Optional[int]:
        room = self.buf.writable_len
        if room < 1:
            return None
        r = self.buf.writable_ranges(room - 1, 1)
        return r[0][0]


@dataclass
class Expect:
    """What pymodel says a request does."""

    needs_reset: bool
    status: Optional[int] = None
    used_len: Optional[int] = None
    ops: tuple = ()
    mem: Optional[SparseMemory] = None
    disk: Optional[bytes] = None


def copy_mem(mem: SparseMemory) -> SparseMemory:
    out = SparseMemory()
    out._pages = {k: bytearray(v) for k, v in mem._pages.items()}
    return out


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.log.info("seed %s", cocotb.RANDOM_SEED)
        self.num_func = int(dut.NUM_FUNC.value)
        self.max_segs = int(dut.MAX_SEGS.value)
        self.chunk = int(dut.CHUNK.value)
        self.rd_base = int(dut.RD_RAM_ADDR.value)
        self.wr_base = int(dut.WR_RAM_ADDR.value)
        self.rd_tag = int(dut.RD_DMA_TAG.value)
        self.wr_tag = int(dut.WR_DMA_TAG.value)
        try:
            ff = int(dut.FUNC_FEATURES.value)
            self.offered = [(ff >> (128 * f)) & ((1 << 128) - 1) for f in range(self.num_func)]
        except Exception:           # wide parameters are not always visible
            self.offered = OFFERED_DEFAULT[: self.num_func]
        ram_size = 1 << int(dut.RAM_ADDR_W.value)
        self.rd_ram = bytearray(ram_size)
        self.wr_ram = bytearray(ram_size)
        self.mem = SparseMemory()
        self.tmp = tempfile.TemporaryDirectory(prefix="blk_req_")
        self.disks = [Disk(CAPACITY, path=Path(self.tmp.name) / f"f{f}.img") for f in range(self.num_func)]
        for dk in self.disks:
            for s in random.sample(range(CAPACITY), CAPACITY // 4):
                dk.write(s, random.randbytes(SECTOR))
        self.serials = [f"SN-{f}-{random.randrange(10**6):06d}XY"[: 8 + 6 * f] for f in range(self.num_func)]
        self.live = [True] * self.num_func
        self.features = [F_VERSION_1 | F_FLUSH] + [F_VERSION_1] * (self.num_func - 1)   # negotiated
        self.next_addr = 0x1_2340_0000
        self.cur: Optional[Req] = None
        self.dma_delay = (1, 12)
        self.rd_fail_at: Optional[int] = None
        self.wr_fail_at: Optional[int] = None
        self.be_fail = 0                       # rsp status of the next backend op (one shot)
        self.rd_total = self.wr_total = 0
        self.rd_inflight = self.wr_inflight = 0
        self.rd_status_q: list = []
        self.wr_status_q: list = []
        self.status_written = False
        self.be_busy = False
        self.be_ops: list = []
        self.be_wr_beats: list = []
        self.be_frame_beats = 0                # be_rd beats sent
        self.used: list = []
        self.needs_reset = [0] * self.num_func
        self.errors: list[str] = []
        self.used_ready_p = 0.7
        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())

    # -- setup ---------------------------------------------------------------
    async def reset(self):
        d = self.dut
        for s in ("s_axis_seg_valid", "s_axis_seg_addr", "s_axis_seg_len", "s_axis_seg_write",
                  "s_axis_seg_error", "s_axis_seg_last", "s_axis_buf_valid", "s_axis_buf_func",
                  "s_axis_buf_queue", "s_axis_buf_id", "s_axis_buf_slot_first", "s_axis_buf_wrap_first",
                  "s_axis_buf_num_desc", "s_axis_buf_indirect", "s_axis_buf_error", "ctx_rsp_valid",
                  "ctx_rsp_live", "ctx_rsp_features", "func_reset", "m_axis_rd_desc_ready",
                  "s_axis_rd_desc_status_valid", "s_axis_rd_desc_status_tag", "s_axis_rd_desc_status_error",
                  "m_axis_wr_desc_ready", "s_axis_wr_desc_status_valid", "s_axis_wr_desc_status_tag",
                  "s_axis_wr_desc_status_error", "buf_rd_data", "m_axis_be_req_ready", "m_axis_be_wr_tready",
                  "s_axis_be_rd_tdata", "s_axis_be_rd_tkeep", "s_axis_be_rd_tvalid", "s_axis_be_rd_tlast",
                  "s_axis_be_rsp_valid", "s_axis_be_rsp_tag", "s_axis_be_rsp_status", "m_axis_used_ready"):
            getattr(d, s).value = 0
        d.blk_capacity.value = sum(dk.capacity << (64 * f) for f, dk in enumerate(self.disks))
        d.blk_serial.value = sum(int.from_bytes(s.encode().ljust(20, b"\0"), "little") << (160 * f)
                                 for f, s in enumerate(self.serials))
        d.rst.value = 1
        await ClockCycles(d.clk, 4)
        d.rst.value = 0
        await RisingEdge(d.clk)
        for co in (self._ctx_responder, self._rd_responder, self._wr_responder, self._rd_status,
                   self._wr_status, self._ram_ports, self._be_req_sink, self._be_wr_sink,
                   self._used_sink, self._monitor):
            cocotb.start_soon(co())

    def _fail(self, msg: str):
        full = f"{msg} at {now()}"
        self.errors.append(full)
        self.log.error(full)

    def where(self) -> str:
        return self.cur.where if self.cur else "no request"

    def quiesced(self, f: int) -> bool:
        return bool(int(self.dut.func_quiesced.value) >> f & 1)

    # -- models --------------------------------------------------------------
    async def _ctx_responder(self):
        await serve_ctx(self.dut, lambda f: (self.live[f], self.features[f]) if f < self.num_func else (False, 0))

    def _check_desc(self, kind: str, f: int, addr: int, ram: int, n: int, tag: int):
        """Common descriptor checks; returns True if the range is inside the buffer."""
        req = self.cur
        base, exp_tag = (self.rd_base, self.rd_tag) if kind == "read" else (self.wr_base, self.wr_tag)
        if tag != exp_tag:
            self._fail(f"DMA {kind} func {f}: tag {tag}, expected {exp_tag}")
        if not (base <= ram and ram + n <= base + 64 + self.chunk):
            self._fail(f"DMA {kind} func {f}: RAM range {ram:#x}+{n} outside {base:#x}+{64 + self.chunk}")
        if n == 0 or n > self.chunk:
            self._fail(f"DMA {kind} func {f} addr {addr:#x}: length {n}, expected 1..{self.chunk}")
        if req is None:
            self._fail(f"DMA {kind} func {f} addr {addr:#x} len {n} without a request")
            return False
        if f != req.func:
            self._fail(f"{req.where}: DMA {kind} with func {f}")
        if self.quiesced(f):
            self._fail(f"{req.where}: DMA {kind} while func_quiesced[{f}] is high")
        segs = req.buf.readable if kind == "read" else req.buf.writable
        if not any(s.length and s.addr <= addr and addr + n <= s.end for s in segs):
            self._fail(f"{req.where}: DMA {kind} {addr:#x}+{n} not inside one {'readable' if kind == 'read' else 'writable'} "
                       f"segment {[(hex(s.addr), s.length) for s in segs]}")
            return False
        return True

    async def _rd_responder(self):
        d = self.dut
        while True:
            d.m_axis_rd_desc_ready.value = int(random.random() < 0.7)
            await RisingEdge(d.clk)
            if not (int(d.m_axis_rd_desc_valid.value) and int(d.m_axis_rd_desc_ready.value)):
                continue
            f = int(d.m_axis_rd_desc_func.value)
            addr = int(d.m_axis_rd_desc_pcie_addr.value)
            ram = int(d.m_axis_rd_desc_ram_addr.value)
            n = int(d.m_axis_rd_desc_len.value)
            tag = int(d.m_axis_rd_desc_tag.value)
            self.rd_total += 1
            self._check_desc("read", f, addr, ram, n, tag)
            err = DMA_ERR_UR if self.rd_fail_at == self.rd_total else DMA_OK
            self.rd_inflight += 1
            cocotb.start_soon(self._complete(self.rd_status_q, (addr, ram, n, tag, err)))

    async def _wr_responder(self):
        d = self.dut
        while True:
            d.m_axis_wr_desc_ready.value = int(random.random() < 0.7)
            await RisingEdge(d.clk)
            if not (int(d.m_axis_wr_desc_valid.value) and int(d.m_axis_wr_desc_ready.value)):
                continue
            f = int(d.m_axis_wr_desc_func.value)
            addr = int(d.m_axis_wr_desc_pcie_addr.value)
            ram = int(d.m_axis_wr_desc_ram_addr.value)
            n = int(d.m_axis_wr_desc_len.value)
            tag = int(d.m_axis_wr_desc_tag.value)
            self.wr_total += 1
            self._check_desc("write", f, addr, ram, n, tag)
            req = self.cur
            if req is not None:
                sa = req.status_addr()
                if self.status_written:
                    self._fail(f"{req.where}: DMA write {addr:#x}+{n} after the status byte was written")
                if sa is not None and addr <= sa < addr + n:
                    if n != 1:
                        self._fail(f"{req.where}: status byte written by a {n}-byte write at {addr:#x}, expected 1 byte")
                    if self.wr_inflight:
                        self._fail(f"{req.where}: status byte write issued with {self.wr_inflight} data writes "
                                   f"still in flight (must be last)")
                    self.status_written = True
            err = DMA_ERR_UR if self.wr_fail_at == self.wr_total else DMA_OK
            self.wr_inflight += 1
            cocotb.start_soon(self._complete(self.wr_status_q, (addr, ram, n, tag, err)))

    async def _complete(self, q: list, item):
        await ClockCycles(self.dut.clk, random.randint(*self.dma_delay))
        q.append(item)

    async def _rd_status(self):
        """One read status per cycle; the data lands in the RAM model with it."""
        await serve_rd_status(self.dut, self.rd_status_q, lambda: self.mem, self.rd_ram, self._rd_done)

    def _rd_done(self):
        self.rd_inflight -= 1

    async def _wr_status(self):
        """One write status per cycle; the bytes are taken from the write RAM then."""
        await serve_wr_status(self.dut, self.wr_status_q, lambda: self.mem, self.wr_ram, self._wr_done)

    def _wr_done(self):
        self.wr_inflight -= 1

    async def _ram_ports(self):
        await serve_buffer_ram(self.dut, self.rd_ram, self.wr_ram)

    # -- backend (disk model) --------------------------------------------------
    async def _be_req_sink(self):
        d = self.dut
        while True:
            d.m_axis_be_req_ready.value = int(random.random() < 0.6)
            await RisingEdge(d.clk)
            if not (int(d.m_axis_be_req_valid.value) and int(d.m_axis_be_req_ready.value)):
                continue
            op = dict(op=int(d.m_axis_be_req_op.value), func=int(d.m_axis_be_req_func.value),
                      queue=int(d.m_axis_be_req_queue.value), sector=int(d.m_axis_be_req_sector.value),
                      count=int(d.m_axis_be_req_count.value), tag=int(d.m_axis_be_req_tag.value), data=None)
            req = self.cur
            if self.be_busy:
                self._fail(f"{self.where()}: be_req {op} while the previous backend op is not answered")
            if req is None or op["func"] != req.func or op["queue"] != req.queue:
                self._fail(f"{self.where()}: be_req {op} for another function/queue")
            if op["op"] not in OP_NAMES:
                self._fail(f"{self.where()}: be_req with op {op['op']}")
                continue
            if self.quiesced(op["func"] % self.num_func):
                self._fail(f"{self.where()}: be_req while func_quiesced[{op['func']}] is high")
            self.be_busy = True
            self.be_ops.append(op)
            cocotb.start_soon(self._be_serve(op))

    async def _be_wr_sink(self):
        d = self.dut
        while True:
            d.m_axis_be_wr_tready.value = int(random.random() < 0.7)
            await RisingEdge(d.clk)
            if int(d.m_axis_be_wr_tvalid.value) and int(d.m_axis_be_wr_tready.value):
                self.be_wr_beats.append((int(d.m_axis_be_wr_tdata.value), int(d.m_axis_be_wr_tkeep.value),
                                         int(d.m_axis_be_wr_tlast.value)))

    async def _be_serve(self, op: dict):
        d = self.dut
        disk = self.disks[op["func"] % self.num_func]
        kind = OP_NAMES[op["op"]]
        sector, count = op["sector"], op["count"]
        where = self.where()
        status = 0
        in_range = disk.in_range(sector, count)
        if kind in (BackendOpKind.READ, BackendOpKind.WRITE) and not in_range:
            self._fail(f"{where}: backend {kind.name} sector {sector:#x} count {count} beyond capacity {disk.capacity}")
            count = count if count <= 64 else 0      # keep the frame (zeros) if it is small
        beats = count * SECTOR // 64
        if kind == BackendOpKind.READ:
            data = disk.read(sector, count) if in_range else bytes(count * SECTOR)
            for i in range(beats):
                while random.random() < 0.3:
                    d.s_axis_be_rd_tvalid.value = 0
                    await RisingEdge(d.clk)
                d.s_axis_be_rd_tdata.value = int.from_bytes(data[64 * i:64 * i + 64], "little")
                d.s_axis_be_rd_tkeep.value = FULL_KEEP
                d.s_axis_be_rd_tlast.value = int(i == beats - 1)
                d.s_axis_be_rd_tvalid.value = 1
                await RisingEdge(d.clk)
                while not int(d.s_axis_be_rd_tready.value):
                    await RisingEdge(d.clk)
                self.be_frame_beats += 1
            d.s_axis_be_rd_tvalid.value = 0
            d.s_axis_be_rd_tlast.value = 0
        elif kind == BackendOpKind.WRITE:
            for _ in range(200000):
                if len(self.be_wr_beats) >= beats:
                    break
                await RisingEdge(d.clk)
            else:
                self._fail(f"{where}: WRITE frame of {beats} beats: only {len(self.be_wr_beats)} came")
            frame, self.be_wr_beats = self.be_wr_beats[:beats], self.be_wr_beats[beats:]
            data = bytearray()
            keep_ok = []
            for i, (tdata, tkeep, tlast) in enumerate(frame):
                if tlast != int(i == beats - 1):
                    self._fail(f"{where}: WRITE frame beat {i}/{beats}: tlast {tlast}")
                if tkeep not in (0, FULL_KEEP):
                    self._fail(f"{where}: WRITE frame beat {i}: tkeep {tkeep:#x}, expected all ones or 0")
                keep_ok.append(tkeep == FULL_KEEP)
                data += tdata.to_bytes(64, "little")
            op["data"] = bytes(data)
            op["keep"] = keep_ok
            status = self.be_fail
            self.be_fail = 0
            if status == 0:
                for s in range(count):
                    k = keep_ok[8 * s:8 * s + 8]
                    if all(k) and in_range:
                        disk.write(sector + s, bytes(data[SECTOR * s:SECTOR * (s + 1)]))
                    elif any(k):
                        self._fail(f"{where}: WRITE sector {sector + s}: tkeep mixes full and empty beats")
        else:
            disk.flush()
        if kind != BackendOpKind.WRITE:
            status = self.be_fail
            self.be_fail = 0
        await ClockCycles(d.clk, random.randint(0, 6))
        d.s_axis_be_rsp_tag.value = op["tag"]
        d.s_axis_be_rsp_status.value = status
        d.s_axis_be_rsp_valid.value = 1
        await RisingEdge(d.clk)
        while not int(d.s_axis_be_rsp_ready.value):
            await RisingEdge(d.clk)
        d.s_axis_be_rsp_valid.value = 0
        self.be_busy = False

    # -- used sink, monitors ---------------------------------------------------
    async def _used_sink(self):
        await sink_used(self.dut, self.used, lambda: self.used_ready_p)

    async def _monitor(self):
        d = self.dut
        while True:
            await RisingEdge(d.clk)
            nr = int(d.needs_reset_set.value)
            for f in range(self.num_func):
                if nr >> f & 1:
                    self.needs_reset[f] += 1
            if not int(d.busy.value) and int(d.func_quiesced.value) != (1 << self.num_func) - 1:
                self._fail(f"func_quiesced {int(d.func_quiesced.value):#x} while the DUT is idle")

    # -- requests ----------------------------------------------------------------
    def alloc(self, n: int) -> int:
        addr = self.next_addr + random.randrange(64)
        # the next block starts past this one's end (the random offset above included): segments never overlap
        self.next_addr = (addr + n + 64 + random.randrange(4096)) & ~0x3F
        return addr

    @staticmethod
    def cuts(n: int, k: int) -> list[int]:
        """``n`` bytes in ``k`` pieces (zero-length ones possible, odd boundaries)."""
        if k <= 1:
            return [n]
        pts = sorted(random.randint(0, n) for _ in range(k - 1))
        return [b - a for a, b in zip([0] + pts, pts + [n])]

    def build(self, func: int, rtype: int, sector: int, data: bytes, room: int, *, queue: Optional[int] = None,
              rsegs: Optional[int] = None, wsegs: Optional[int] = None, hdr: Optional[bytes] = None,
              num_desc: Optional[int] = None) -> Req:
        """A request: readable = header + data, ``room`` writable bytes (status last)."""
        if hdr is None:
            hdr = (rtype.to_bytes(4, "little") + random.randbytes(4) + sector.to_bytes(8, "little"))
        readable = hdr + data
        budget = self.max_segs
        if rsegs is None:
            rsegs = random.randint(1, max(1, budget // 2))
        if wsegs is None:
            wsegs = random.randint(1 if room else 0, max(1, budget - rsegs))
        segs = []
        pos = 0
        for n in self.cuts(len(readable), rsegs):
            a = self.alloc(n)
            self.mem.write(a, readable[pos:pos + n])
            pos += n
            segs.append(Segment(a, n, False))
        for n in (self.cuts(room, wsegs) if wsegs else []):
            a = self.alloc(n)
            self.mem.write(a, random.randbytes(n))
            segs.append(Segment(a, n, True))
        bid = random.randrange(1 << 16)
        nd = num_desc if num_desc is not None else random.randint(1, 64)
        buf = Buffer(id=bid, segments=tuple(segs), ndescs=nd, head=0)
        return Req(func, random.randrange(4) if queue is None else queue, bid, nd, buf, rtype, sector)

    def expect(self, req: Req) -> Expect:
        """pymodel's outcome, on copies of memory and disk."""
        mem2 = copy_mem(self.mem)
        disk2 = Disk(image=bytearray(self.disks[req.func].read(0, CAPACITY)))
        dev = BlkDevice(disk2, BlkConfig(), self.offered[req.func], self.serials[req.func])
        dev.set_features(self.features[req.func])
        if len(req.buf.segments) > self.max_segs:
            return Expect(True)           # FunctionConfig max_chain = MAX_SEGS: chain too long
        try:
            out = dev.process(req.buf, mem2, queue=req.queue)
        except DeviceNeedsReset:
            return Expect(True)
        ops = tuple((op.kind, op.sector, op.count, op.data) for op in out.ops)
        return Expect(False, int(out.status), out.used_len, ops, mem2, bytes(disk2.read(0, CAPACITY)))

    async def feed(self, req: Req):
        self.cur = req
        self.status_written = False
        await feed_buffer(self.dut, req.buf.segments, func=req.func, queue=req.queue, buf_id=req.id, num_desc=req.num_desc,
                          seg_error=req.seg_error, rec_error=req.rec_error)

    async def idle(self, limit: int = 300000):
        d = self.dut
        quiet = 0
        for _ in range(limit):
            await RisingEdge(d.clk)
            if (not int(d.busy.value) and not self.rd_inflight and not self.wr_inflight and not self.be_busy
                    and not self.rd_status_q and not self.wr_status_q):
                quiet += 1
                if quiet >= 4:
                    return
            else:
                quiet = 0
        raise AssertionError(f"{self.where()}: DUT still busy after {limit} cycles at {now()} "
                             f"(busy {int(d.busy.value)}, {self.rd_inflight} reads / {self.wr_inflight} writes "
                             f"in flight, backend busy {self.be_busy}); bench errors: {self.errors}")

    def check_errors(self):
        assert not self.errors, "bench errors:\n" + "\n".join(self.errors)

    def mem_diff(self, req: Req, exp_mem) -> Optional[str]:
        """First byte of the buffer's segments where host memory differs from ``exp_mem``."""
        wpos = 0
        for i, s in enumerate(req.buf.segments):
            got = self.mem.read(s.addr, s.length)
            want = exp_mem.read(s.addr, s.length)
            if got != want:
                j = next(k for k in range(s.length) if got[k] != want[k])
                what = f"writable offset {wpos + j}" if s.writable else "readable segment"
                return (f"segment {i} ({'W' if s.writable else 'R'} {s.addr:#x}+{s.length}) byte {j} "
                        f"({what}, addr {s.addr + j:#x}): expected {want[j]:#04x}, got {got[j]:#04x}")
            if s.writable:
                wpos += s.length
        return None

    def got_ops(self, first: int) -> tuple:
        return tuple((OP_NAMES[o["op"]], o["sector"], o["count"],
                      o["data"] if o["op"] == 1 else None) for o in self.be_ops[first:])

    async def run(self, req: Req, exp: Optional[Expect] = None) -> Expect:
        """Feed one request, wait for the DUT to go idle, compare with pymodel."""
        exp = exp or self.expect(req)
        mem_before = copy_mem(self.mem)
        nr0 = list(self.needs_reset)
        ops0, used0, wr0 = len(self.be_ops), len(self.used), self.wr_total
        await self.feed(req)
        await self.idle()
        self.check_errors()
        w = req.where
        got_nr = [a - b for a, b in zip(self.needs_reset, nr0)]
        want_nr = [int(exp.needs_reset and f == req.func) for f in range(self.num_func)]
        assert got_nr == want_nr, f"{w}: needs_reset pulses {got_nr}, expected {want_nr} at {now()}"
        used = self.used[used0:]
        if exp.needs_reset:
            assert not used, f"{w}: used records {used}, expected none (needs_reset) at {now()}"
            assert len(self.be_ops) == ops0, f"{w}: backend ops {self.be_ops[ops0:]}, expected none at {now()}"
            assert self.wr_total == wr0, f"{w}: {self.wr_total - wr0} DMA writes, expected none at {now()}"
            diff = self.mem_diff(req, mem_before)
            assert diff is None, f"{w}: host memory changed: {diff} at {now()}"
            return exp
        want = dict(func=req.func, queue=req.queue, id=req.id, len=exp.used_len, num_desc=req.num_desc)
        assert used == [want], f"{w}: used records {used}, expected [{want}] (status {exp.status}) at {now()}"
        sa = req.status_addr()
        got_st = self.mem.read(sa, 1)[0]
        assert got_st == exp.status, f"{w}: status byte {got_st}, expected {exp.status} at {now()}"
        diff = self.mem_diff(req, exp.mem)
        assert diff is None, f"{w}: host memory: {diff} at {now()}"
        got_ops = self.got_ops(ops0)
        assert got_ops == exp.ops, (f"{w}: backend ops {[(k.name, s, c, len(x) if x else None) for k, s, c, x in got_ops]}, "
                                    f"expected {[(k.name, s, c, len(x) if x else None) for k, s, c, x in exp.ops]} "
                                    f"(or WRITE data differs) at {now()}")
        self.check_disk(req, exp.disk)
        assert not self.be_wr_beats, f"{w}: {len(self.be_wr_beats)} be_wr beats beyond the frame at {now()}"
        return exp

    def check_disk(self, req: Req, want: bytes):
        got = self.disks[req.func].read(0, CAPACITY)
        if got != want:
            s = next(k for k in range(CAPACITY) if got[SECTOR * k:SECTOR * (k + 1)] != want[SECTOR * k:SECTOR * (k + 1)])
            raise AssertionError(f"{req.where}: disk of func {req.func} differs first at sector {s} at {now()}")

    # -- request generators ----------------------------------------------------------
    def rand_req(self, func: Optional[int] = None, rtype: Optional[int] = None) -> Req:
        f = random.randrange(self.num_func) if func is None else func
        t = random.choice([T_IN, T_IN, T_OUT, T_OUT, T_FLUSH, T_GET_ID, T_FLUSH]) if rtype is None else rtype
        max_cnt = 3 * self.chunk // SECTOR + 2
        cnt = random.choice([0, 1, random.randint(1, max_cnt), max_cnt])
        sector = random.randint(0, CAPACITY - cnt)
        extra_r = random.choice([0, 0, random.randint(1, 40)])
        if t == T_IN:
            return self.build(f, t, sector, random.randbytes(extra_r), cnt * SECTOR + 1)
        if t == T_OUT:
            return self.build(f, t, sector, random.randbytes(cnt * SECTOR), 1 + random.choice([0, 0, 7]))
        if t == T_GET_ID:
            return self.build(f, t, sector, random.randbytes(extra_r), random.randint(1, 30))
        return self.build(f, t, sector, random.randbytes(extra_r), random.randint(1, 3))


async def setup(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------

@cocotb.test()
async def test_random_mixed(dut):
    """Random IN / OUT / FLUSH / GET_ID on both functions, random layouts, multi-chunk requests."""
    tb = await setup(dut)
    stats: dict = {}
    for _ in range(60):
        req = tb.rand_req()
        exp = await tb.run(req)
        key = (req.rtype, exp.status)
        stats[key] = stats.get(key, 0) + 1
    tb.log.info("type/status counts: %s", stats)
    big = [o for o in tb.be_ops if o["count"] * SECTOR > tb.chunk]
    assert big, f"no request larger than CHUNK ({tb.chunk}) in the random mix at {now()}"


@cocotb.test()
async def test_short_header(dut):
    """Fewer than 16 readable bytes (split, zero-length segments): needs_reset, nothing else."""
    tb = await setup(dut)
    for n in (0, 1, 8, 15):
        hdr = (T_IN.to_bytes(4, "little") + bytes(12))[:n]
        await tb.run(tb.build(0, T_IN, 0, b"", 513, hdr=hdr, rsegs=random.randint(1, 3)))
    await tb.run(tb.rand_req(0, T_IN))


@cocotb.test()
async def test_no_status_byte(dut):
    """No writable byte (no writable segment, or only zero-length ones): needs_reset."""
    tb = await setup(dut)
    await tb.run(tb.build(0, T_OUT, 0, random.randbytes(512), 0, wsegs=0))
    await tb.run(tb.build(1, T_FLUSH, 0, b"", 0, wsegs=3))
    await tb.run(tb.build(0, T_GET_ID, 0, b"", 0, wsegs=1))
    await tb.run(tb.rand_req(0, T_OUT))


@cocotb.test()
async def test_sector_beyond_capacity(dut):
    """IN / OUT ranges at and beyond the capacity, including sector + count overflowing 2^64."""
    tb = await setup(dut)
    cases = [(CAPACITY - 2, 2), (CAPACITY - 1, 2), (CAPACITY, 0), (CAPACITY + 1, 0), (CAPACITY, 1),
             ((1 << 64) - 1, 1), ((1 << 64) - 2, 2), ((1 << 64) - 1, 0), (1 << 63, 8)]
    for sector, cnt in cases:
        for t in (T_IN, T_OUT):
            if t == T_IN:
                req = tb.build(0, t, sector, b"", cnt * SECTOR + 1)
            else:
                req = tb.build(0, t, sector, random.randbytes(cnt * SECTOR), 1)
            exp = await tb.run(req)
            want = BlkStatus.OK if sector + cnt <= CAPACITY else BlkStatus.IOERR
            assert exp.status == want, f"bench: pymodel says {exp.status} for sector {sector:#x} count {cnt}"


@cocotb.test()
async def test_data_not_multiple_of_512(dut):
    """IN room / OUT data not a multiple of 512: IOERR, no backend op."""
    tb = await setup(dut)
    for n in (1, 100, 511, 513, 1000, 4097):
        await tb.run(tb.build(0, T_IN, 4, b"", n + 1))
        await tb.run(tb.build(0, T_OUT, 4, random.randbytes(n), 1))


@cocotb.test()
async def test_ro_out_ioerr(dut):
    """OUT on the function offering RO: IOERR, nothing written to its disk; IN still works."""
    tb = await setup(dut)
    for _ in range(4):
        exp = await tb.run(tb.rand_req(1, T_OUT))
        assert exp.status == BlkStatus.IOERR
        await tb.run(tb.rand_req(1, T_IN))


@cocotb.test()
async def test_flush_not_negotiated(dut):
    """FLUSH: UNSUPP without FLUSH negotiated (function 1), backend FLUSH with it (function 0)."""
    tb = await setup(dut)
    e1 = await tb.run(tb.build(1, T_FLUSH, 0, b"", 1))
    e0 = await tb.run(tb.build(0, T_FLUSH, 0, b"", 1))
    assert e1.status == BlkStatus.UNSUPP and e0.status == BlkStatus.OK
    tb.features[1] |= F_FLUSH
    e1 = await tb.run(tb.build(1, T_FLUSH, 5, b"", 4))
    assert e1.status == BlkStatus.OK


@cocotb.test()
async def test_unknown_types(dut):
    """Unknown / not offered types (DISCARD, WRITE_ZEROES, GET_LIFETIME, ...): UNSUPP, no backend op."""
    tb = await setup(dut)
    for t in (2, 3, 5, 7, 10, 11, 13, 14, 16, 0x80000000, 0xFFFFFFFF):
        exp = await tb.run(tb.build(random.randrange(2), t, 0, random.randbytes(random.choice([0, 16, 512])),
                                    random.randint(1, 600)))
        assert exp.status == BlkStatus.UNSUPP


@cocotb.test()
async def test_too_many_segments(dut):
    """MAX_SEGS segments work; MAX_SEGS+1: needs_reset, no DMA; the next request is fine."""
    tb = await setup(dut)
    m = tb.max_segs
    await tb.run(tb.build(0, T_OUT, 3, random.randbytes(1024), 1, rsegs=m - 1, wsegs=1))
    await tb.run(tb.build(0, T_IN, 3, b"", 1025, rsegs=1, wsegs=m - 1))
    rd0 = tb.rd_total
    await tb.run(tb.build(0, T_IN, 3, b"", 1025, rsegs=2, wsegs=m - 1))
    await tb.run(tb.build(1, T_GET_ID, 0, b"", 20, rsegs=m + 3, wsegs=1))
    assert tb.rd_total == rd0, f"{tb.rd_total - rd0} DMA reads for over-long chains at {now()}"
    await tb.run(tb.rand_req(0))


@cocotb.test()
async def test_get_id(dut):
    """GET_ID with room 1..40: min(20, room-1) serial bytes, NUL padded."""
    tb = await setup(dut)
    tb.dma_delay = (1, 40)         # slow writes: the status byte must still wait for the ID bytes
    for room in (1, 2, 9, 20, 21, 22, 40, 23, 30, 33):
        await tb.run(tb.build(random.randrange(2), T_GET_ID, 0, b"", room))


@cocotb.test()
async def test_dropped_records(dut):
    """Record with error, segment with error, function not live, function in reset, func >= NUM_FUNC:
    dropped silently (no DMA, no used record, no needs_reset)."""
    tb = await setup(dut)
    d = tb.dut

    async def dropped(req: Req, what: str):
        before = (tb.rd_total, tb.wr_total, len(tb.be_ops), len(tb.used), list(tb.needs_reset))
        await tb.feed(req)
        await tb.idle()
        tb.check_errors()
        after = (tb.rd_total, tb.wr_total, len(tb.be_ops), len(tb.used), list(tb.needs_reset))
        assert after == before, (f"{req.where} ({what}): (reads, writes, backend ops, used, needs_reset) "
                                 f"{after}, expected {before} at {now()}")

    req = tb.rand_req(0, T_IN)
    req.rec_error = True
    await dropped(req, "record error")
    req = tb.rand_req(0, T_OUT)
    req.seg_error = True
    await dropped(req, "segment error")
    tb.live[1] = False
    await dropped(tb.rand_req(1, T_IN), "not live")
    tb.live[1] = True
    d.func_reset.value = 0b01
    await dropped(tb.rand_req(0, T_IN), "func_reset")
    d.func_reset.value = 0
    req = tb.rand_req(0, T_IN)
    req.func = 7
    tb.cur = None
    await dropped(req, "func out of range")
    await tb.run(tb.rand_req(0, T_IN))
    await tb.run(tb.rand_req(1, T_GET_ID))


def hdr_pieces(req: Req) -> int:
    """DMA reads the header takes: non-empty readable segments overlapping bytes 0..15."""
    pos, n = 0, 0
    for s in req.buf.readable:
        if s.length and pos < 16:
            n += 1
        pos += s.length
    return n


async def failed(tb: TB, req: Req, what: str, *, status_kept: bool = True):
    """Feed a request expected to fail with needs_reset: no used record, no status byte."""
    sa = req.status_addr()
    before = tb.mem.read(sa, 1) if sa is not None else None
    nr0 = list(tb.needs_reset)
    used0 = len(tb.used)
    await tb.feed(req)
    await tb.idle()
    tb.check_errors()
    w = f"{req.where} ({what})"
    got_nr = [a - b for a, b in zip(tb.needs_reset, nr0)]
    want_nr = [int(f == req.func) for f in range(tb.num_func)]
    assert got_nr == want_nr, f"{w}: needs_reset pulses {got_nr}, expected {want_nr} at {now()}"
    assert len(tb.used) == used0, f"{w}: used records {tb.used[used0:]}, expected none at {now()}"
    if status_kept:
        assert tb.mem.read(sa, 1) == before, f"{w}: status byte written ({tb.mem.read(sa, 1)[0]}) at {now()}"
    assert not tb.be_wr_beats, f"{w}: {len(tb.be_wr_beats)} be_wr beats beyond the frame at {now()}"


@cocotb.test()
async def test_dma_read_error_header(dut):
    """DMA read error on (any piece of) the header: needs_reset, no backend op, no write."""
    tb = await setup(dut)
    for _ in range(4):
        req = tb.rand_req(0, random.choice([T_IN, T_OUT]))
        tb.rd_fail_at = tb.rd_total + random.randint(1, hdr_pieces(req))
        ops0, wr0 = len(tb.be_ops), tb.wr_total
        await failed(tb, req, "header read error")
        assert len(tb.be_ops) == ops0 and tb.wr_total == wr0, f"{req.where}: backend op / DMA write after a header read error"
        tb.rd_fail_at = None
        await tb.run(tb.rand_req(0))


@cocotb.test()
async def test_dma_read_error_data(dut):
    """DMA read error on OUT data: needs_reset, no status; the WRITE frame is still completed (later beats
    with tkeep 0) so the backend stays in sync; every disk sector is old or new data."""
    tb = await setup(dut)
    for _ in range(3):
        cnt = random.randint(2 * tb.chunk // SECTOR, 3 * tb.chunk // SECTOR)
        sector = random.randint(0, CAPACITY - cnt)
        data = random.randbytes(cnt * SECTOR)
        req = tb.build(0, T_OUT, sector, data, 1, rsegs=random.randint(2, 5))
        old = tb.disks[0].read(sector, cnt)
        tb.rd_fail_at = tb.rd_total + hdr_pieces(req) + random.randint(1, 2)
        ops0 = len(tb.be_ops)
        await failed(tb, req, "data read error")
        tb.rd_fail_at = None
        ops = tb.be_ops[ops0:]
        assert len(ops) == 1 and ops[0]["op"] == 1 and ops[0]["count"] == cnt, (
            f"{req.where}: backend ops {[(o['op'], o['sector'], o['count']) for o in ops]}, expected one WRITE of {cnt}")
        assert not all(ops[0]["keep"]), f"{req.where}: the WRITE frame after a DMA read error has no tkeep-0 beat"
        new = tb.disks[0].read(sector, cnt)
        for s in range(cnt):
            sl = slice(SECTOR * s, SECTOR * (s + 1))
            assert new[sl] in (old[sl], data[sl]), f"{req.where}: sector {sector + s} is neither old nor new data"
        await tb.run(tb.rand_req(0))


@cocotb.test()
async def test_dma_write_error(dut):
    """DMA write error on IN data or on the status byte: needs_reset, no used record; backend in sync."""
    tb = await setup(dut)
    for which in ("data", "status", "data", "getid"):
        if which == "getid":
            req = tb.build(0, T_GET_ID, 0, b"", 25, wsegs=3)
        else:
            cnt = random.randint(2, 3 * tb.chunk // SECTOR)
            req = tb.build(0, T_IN, random.randint(0, CAPACITY - cnt), b"", cnt * SECTOR + 1)
        if which == "status":
            # the last write is the status byte: count the data writes first on a copy run
            exp = tb.expect(req)
            mem_save = copy_mem(tb.mem)
            wr0 = tb.wr_total
            await tb.run(req, exp)
            n_writes = tb.wr_total - wr0
            tb.mem = mem_save              # same request again, failing its last write
            tb.wr_fail_at = tb.wr_total + n_writes
            await failed(tb, req, "status byte write error", status_kept=False)
        else:
            tb.wr_fail_at = tb.wr_total + 1
            await failed(tb, req, f"{which} write error")
        tb.wr_fail_at = None
        await tb.run(tb.rand_req(0))


@cocotb.test()
async def test_backend_error(dut):
    """Backend rsp status != 0: IOERR, used len 1 (IN data already written stays); disk unchanged on WRITE."""
    tb = await setup(dut)
    for t in (T_IN, T_OUT, T_FLUSH, T_IN, T_OUT):
        cnt = random.randint(1, 2 * tb.chunk // SECTOR)
        sector = random.randint(0, CAPACITY - cnt)
        if t == T_IN:
            req = tb.build(0, t, sector, b"", cnt * SECTOR + 1)
        elif t == T_OUT:
            req = tb.build(0, t, sector, random.randbytes(cnt * SECTOR), 1)
        else:
            req = tb.build(0, t, 0, b"", 1)
        exp = tb.expect(req)
        assert exp.status == BlkStatus.OK
        # backend failure: status IOERR, used len 1, the rest as pymodel (IN data written, WRITE not applied)
        sa = req.status_addr()
        exp.mem.write(sa, bytes([BlkStatus.IOERR]))
        exp.status = int(BlkStatus.IOERR)
        exp.used_len = 1
        exp.disk = tb.disks[0].read(0, CAPACITY)
        tb.be_fail = 1 + random.randrange(3)
        await tb.run(req, exp)
        await tb.run(tb.rand_req(0))


@cocotb.test()
async def test_func_reset_mid_request(dut):
    """func_reset[f] during an IN / OUT: the DMA in flight finishes, the backend exchange is completed,
    no status byte, no used record; func_quiesced[f] is low meanwhile; the next request is fine."""
    tb = await setup(dut)
    d = tb.dut
    for t in (T_IN, T_OUT, T_IN, T_OUT):
        f = random.randrange(2) if t == T_IN else 0
        cnt = random.randint(2 * tb.chunk // SECTOR, 3 * tb.chunk // SECTOR)
        sector = random.randint(0, CAPACITY - cnt)
        if t == T_IN:
            req = tb.build(f, t, sector, b"", cnt * SECTOR + 1)
        else:
            req = tb.build(f, t, sector, random.randbytes(cnt * SECTOR), 1)
        sa = req.status_addr()
        st_before = tb.mem.read(sa, 1)
        used0, ops0, nr0 = len(tb.used), len(tb.be_ops), list(tb.needs_reset)
        feeder = cocotb.start_soon(tb.feed(req))
        # wait until some data moves, then reset the function
        # (OUT: after the header reads, so the WRITE has been sent to the backend)
        target = (tb.wr_total if t == T_IN else tb.rd_total + hdr_pieces(req)) + random.randint(1, 2)
        for _ in range(100000):
            await RisingEdge(d.clk)
            if (tb.wr_total if t == T_IN else tb.rd_total) >= target:
                break
        assert not tb.quiesced(f), f"{req.where}: func_quiesced[{f}] high mid-request at {now()}"
        d.func_reset.value = 1 << f
        await feeder
        await tb.idle()
        d.func_reset.value = 0
        await RisingEdge(d.clk)
        tb.check_errors()
        w = f"{req.where} (func_reset)"
        assert len(tb.used) == used0, f"{w}: used records {tb.used[used0:]}, expected none at {now()}"
        assert tb.mem.read(sa, 1) == st_before, f"{w}: status byte written at {now()}"
        assert tb.needs_reset == nr0, f"{w}: needs_reset pulses {tb.needs_reset}, expected {nr0} at {now()}"
        ops = tb.be_ops[ops0:]
        assert len(ops) == 1 and ops[0]["count"] == cnt, f"{w}: backend ops {ops}, expected one of count {cnt}"
        assert not tb.be_wr_beats, f"{w}: be_wr beats beyond the frame at {now()}"
        assert tb.quiesced(f), f"{w}: func_quiesced[{f}] low after the request was dropped at {now()}"
        await tb.run(tb.rand_req(f))
