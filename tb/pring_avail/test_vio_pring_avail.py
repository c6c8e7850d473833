"""Focused bench for ``vio_pring_avail`` (packed ring, available side).

The DUT runs alone.  Around it:

* host memory: pymodel ``SparseMemory``; rings are built in it with pymodel's
  ``PackedRingDriver`` (Linux-like: chain descriptors first, head flags last);
* a queue-context responder on ctx_req/ctx_rsp (one cycle, like
  vio_virtio_regs) serving the bench's queue table;
* a DMA responder on the rd descriptor port: checks every request (function,
  RAM address, tag, length a multiple of 16 and at most BATCH descriptors,
  inside the ring of that function or inside a registered indirect table,
  one in flight), copies host bytes into a Python buffer-RAM model after a
  random delay and answers the status (or an injected error);
* the buffer-RAM read port (data one cycle after en);
* sinks on m_axis_seg / m_axis_buf with optional random backpressure.

Expectations come from pymodel's ``PackedRingDevice`` run over the same
memory after the DUT went idle: the DUT must have produced exactly the
buffers the golden model pops, in order, with the same segments.  The used
side is played by the golden model (``push_used``) and the driver reclaims
slots, so rings wrap many times.

RX buffer fetch (``s_axis_fetch_*`` / ``s_commit_*``): the bench plays the
receive engine.  Fetch answers (records with ``fetch`` set) are kept apart
from notification buffers and checked against the golden model peeked at the
fetch's start position (``PackedRingDevice.avail`` set to the cursor, popped,
restored): a buffer, or ``none``, or DeviceNeedsReset.  Every record's
``slot_next``/``wrap_next`` is checked (notification records too), and the
``walk_*`` outputs are sampled on every cycle a segment or record is offered:
from a buffer's first segment to its record they must name that record's
(func, queue, fetch) with ``walk_active`` high.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Optional

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge

from pymodel.errors import DeviceNeedsReset
from pymodel.memory import SparseMemory
from pymodel.packed_driver import PackedRingDriver
from pymodel.packed_layout import DescFlag, PackedDesc, RingPos
from pymodel.packed_ring import PackedRingDevice

DMA_OK = 0
DMA_ERR_UR = 1
F_INDIRECT_DESC = 1 << 28
F_VERSION_1 = 1 << 32
F_RING_PACKED = 1 << 34


def now() -> str:
    return f"{get_sim_time('ns')} ns"


@dataclass
class Queue:
    """One virtqueue of the bench: configuration, driver, golden device, results."""

    func: int
    queue: int
    size: int
    desc: int
    driver_area: int
    device_area: int
    enable: bool
    drv: PackedRingDriver
    dev: PackedRingDevice
    got: list = field(default_factory=list)      # (record, segments) from the DUT
    checked: int = 0                             # records already compared
    dma_reads: int = 0
    descs_fetched: int = 0


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.batch = int(dut.BATCH.value)
        self.ram_base = int(dut.BUF_RAM_ADDR.value)
        self.dma_tag = int(dut.DMA_TAG.value)
        self.num_func = int(dut.NUM_FUNC.value)
        self.mem = SparseMemory()
        self.ram = bytearray(1 << int(dut.RAM_ADDR_W.value))
        self.queues: dict[tuple[int, int], Queue] = {}
        self.live = [True] * self.num_func
        self.features = [F_VERSION_1 | F_RING_PACKED] * self.num_func
        self.next_ring = 0x10_0000
        self.seg_ready_p = 1.0
        self.buf_ready_p = 1.0
        self.dma_delay = (1, 8)
        self.dma_fail: Optional[int] = None       # error code for the next DMA read
        self.dma_fail_at: Optional[int] = None    # fail the read with this number (1 = first)
        self.dma_inflight = 0
        self.dma_total = 0
        self.tables: list[tuple[int, int]] = []   # indirect tables the DUT may read
        self.table_reads = 0
        self.needs_reset = [0] * self.num_func
        self.cur_segs: list = []
        self.seg_groups: list = []
        self.errors: list[str] = []
        self.cycle = 0
        self.fetch_got: list = []                  # (record, segments) answering fetches, in order
        self.walk_samples: list = []               # walk_* while seg/buf beats are offered
        self.accepted: list = []                   # ("fetch"|"notify", func, queue) in acceptance order
        self.fetch_sent = 0
        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())

    # -- setup ---------------------------------------------------------------
    async def reset(self):
        d = self.dut
        for s in ("s_axis_notify_valid", "ctx_rsp_valid", "queue_reset_valid", "func_reset",
                  "m_axis_rd_desc_ready", "s_axis_rd_desc_status_valid", "m_axis_buf_ready",
                  "m_axis_seg_ready", "s_axis_fetch_valid", "s_axis_fetch_func", "s_axis_fetch_queue",
                  "s_axis_fetch_cursor", "s_axis_fetch_slot", "s_axis_fetch_wrap", "s_commit_valid",
                  "s_commit_func", "s_commit_queue", "s_commit_slot", "s_commit_wrap"):
            getattr(d, s).value = 0
        for s in ("s_axis_notify_func", "s_axis_notify_queue", "ctx_rsp_size", "ctx_rsp_enable",
                  "ctx_rsp_desc", "ctx_rsp_live", "ctx_rsp_features", "queue_reset_func",
                  "queue_reset_queue", "s_axis_rd_desc_status_tag", "s_axis_rd_desc_status_error",
                  "buf_rd_data"):
            getattr(d, s).value = 0
        d.rst.value = 1
        await ClockCycles(d.clk, 4)
        d.rst.value = 0
        await RisingEdge(d.clk)
        cocotb.start_soon(self._ctx_responder())
        cocotb.start_soon(self._dma_responder())
        cocotb.start_soon(self._ram_port())
        cocotb.start_soon(self._sinks())

    def add_queue(self, func: int, queue: int, size: int, *, enable: bool = True) -> Queue:
        """A queue with its ring at a fresh address (16-aligned, not 64-aligned on purpose)."""
        base = self.next_ring + 16 * random.randrange(4)
        self.next_ring += 0x10_0000
        drv_area = base + 16 * size + 64
        dev_area = drv_area + 64
        drv = PackedRingDriver(self.mem, size, base, drv_area, dev_area)
        dev = PackedRingDevice(self.mem, size, base, drv_area, dev_area,
                               indirect_desc=bool(self.features[func] & F_INDIRECT_DESC), queue=queue)
        q = Queue(func, queue, size, base, drv_area, dev_area, enable, drv, dev)
        self.queues[(func, queue)] = q
        return q

    # -- models --------------------------------------------------------------
    async def _ctx_responder(self):
        d = self.dut
        while True:
            await RisingEdge(d.clk)
            self.cycle += 1
            if int(d.ctx_req_valid.value):
                f, qi = int(d.ctx_req_func.value), int(d.ctx_req_queue.value)
                q = self.queues.get((f, qi))
                d.ctx_rsp_size.value = q.size if q else 0
                d.ctx_rsp_enable.value = int(q.enable) if q else 0
                d.ctx_rsp_desc.value = q.desc if q else 0
                d.ctx_rsp_live.value = int(self.live[f]) if f < self.num_func else 0
                d.ctx_rsp_features.value = self.features[f] if f < self.num_func else 0
                d.ctx_rsp_valid.value = 1
            else:
                d.ctx_rsp_valid.value = 0

    def _fail(self, msg: str):
        full = f"{msg} at {now()}"
        self.errors.append(full)
        self.log.error(full)

    async def _dma_responder(self):
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
            q = next((q for q in self.queues.values()
                      if q.func == f and q.desc <= addr < q.desc + 16 * q.size), None)
            t = next(((ta, tl) for ta, tl in self.tables if ta <= addr < ta + tl), None)
            if t is not None:
                if n == 0 or n % 16 or n > 16 * self.batch or addr + n > t[0] + t[1]:
                    self._fail(f"DMA read func {f} addr {addr:#x} len {n}: bad indirect table read "
                               f"(table {t[0]:#x}+{t[1]})")
                self.table_reads += 1
            elif q is None:
                self._fail(f"DMA read func {f} addr {addr:#x} len {n}: not inside a ring of that function")
            elif n == 0 or n % 16 or n > 16 * self.batch or addr % 16 or addr + n > q.desc + 16 * q.size:
                self._fail(f"DMA read func {f} q {q.queue} addr {addr:#x} len {n}: bad length/alignment "
                           f"(batch {self.batch}, ring {q.desc:#x}+{16 * q.size})")
            else:
                q.dma_reads += 1
                q.descs_fetched += n // 16
            if ram != self.ram_base:
                self._fail(f"DMA read func {f}: ram_addr {ram:#x}, expected {self.ram_base:#x}")
            if tag != self.dma_tag:
                self._fail(f"DMA read func {f}: tag {tag}, expected {self.dma_tag}")
            if self.dma_inflight:
                self._fail(f"DMA read func {f} addr {addr:#x}: a second read while one is in flight")
            self.dma_inflight += 1
            self.dma_total += 1
            err, self.dma_fail = (self.dma_fail or DMA_OK), None
            if self.dma_fail_at == self.dma_total:
                err = DMA_ERR_UR
            cocotb.start_soon(self._dma_complete(addr, ram, n, tag, err))

    async def _dma_complete(self, addr, ram, n, tag, err):
        d = self.dut
        await ClockCycles(d.clk, random.randint(*self.dma_delay))
        if err == DMA_OK:
            self.ram[ram:ram + n] = self.mem.read(addr, n)
        else:
            # a failed read leaves garbage in the RAM window
            self.ram[ram:ram + n] = bytes(random.randrange(256) for _ in range(n))
        d.s_axis_rd_desc_status_tag.value = tag
        d.s_axis_rd_desc_status_error.value = err
        d.s_axis_rd_desc_status_valid.value = 1
        self.dma_inflight -= 1
        await RisingEdge(d.clk)
        d.s_axis_rd_desc_status_valid.value = 0

    async def _ram_port(self):
        d = self.dut
        while True:
            await RisingEdge(d.clk)
            if int(d.buf_rd_en.value):
                row = int(d.buf_rd_addr.value)
                d.buf_rd_data.value = int.from_bytes(self.ram[64 * row:64 * row + 64], "little")

    async def _sinks(self):
        d = self.dut
        while True:
            d.m_axis_seg_ready.value = int(random.random() < self.seg_ready_p)
            d.m_axis_buf_ready.value = int(random.random() < self.buf_ready_p)
            await RisingEdge(d.clk)
            nr = int(d.needs_reset_set.value)
            for f in range(self.num_func):
                if nr >> f & 1:
                    self.needs_reset[f] += 1
            if int(d.s_axis_fetch_valid.value) and int(d.s_axis_fetch_ready.value):
                self.accepted.append(("fetch", int(d.s_axis_fetch_func.value), int(d.s_axis_fetch_queue.value)))
            if int(d.s_axis_notify_valid.value) and int(d.s_axis_notify_ready.value):
                self.accepted.append(("notify", int(d.s_axis_notify_func.value), int(d.s_axis_notify_queue.value)))
            if int(d.m_axis_seg_valid.value) or int(d.m_axis_buf_valid.value):
                self.walk_samples.append((int(d.walk_active.value), int(d.walk_func.value),
                                          int(d.walk_queue.value), int(d.walk_fetch.value), now()))
            if int(d.m_axis_seg_valid.value) and int(d.m_axis_seg_ready.value):
                self.cur_segs.append(dict(
                    addr=int(d.m_axis_seg_addr.value), len=int(d.m_axis_seg_len.value),
                    write=int(d.m_axis_seg_write.value),
                    error=int(d.m_axis_seg_error.value), last=int(d.m_axis_seg_last.value)))
                if self.cur_segs[-1]["last"]:
                    self.seg_groups.append(self.cur_segs)
                    self.cur_segs = []
            if int(d.m_axis_buf_valid.value) and int(d.m_axis_buf_ready.value):
                rec = dict(func=int(d.m_axis_buf_func.value), queue=int(d.m_axis_buf_queue.value),
                           id=int(d.m_axis_buf_id.value), slot=int(d.m_axis_buf_slot_first.value),
                           wrap=int(d.m_axis_buf_wrap_first.value), ndesc=int(d.m_axis_buf_num_desc.value),
                           indirect=int(d.m_axis_buf_indirect.value), error=int(d.m_axis_buf_error.value),
                           fetch=int(d.m_axis_buf_fetch.value), none=int(d.m_axis_buf_none.value),
                           slot_next=int(d.m_axis_buf_slot_next.value),
                           wrap_next=int(d.m_axis_buf_wrap_next.value))
                if rec["none"]:
                    # nothing precedes a none record on m_axis_seg
                    if self.seg_groups or self.cur_segs:
                        self._fail(f"none record {rec} with segments before it: "
                                   f"{self.seg_groups + [self.cur_segs]}")
                        self.seg_groups = []
                        self.cur_segs = []
                    segs = []
                elif not self.seg_groups:
                    self._fail(f"buffer record {rec} without a completed segment list before it")
                    segs = []
                else:
                    segs = self.seg_groups.pop(0)
                want = (1, rec["func"], rec["queue"], rec["fetch"])
                bad = next((w for w in self.walk_samples if w[:4] != want), None)
                if bad is not None:
                    self._fail(f"func {rec['func']} queue {rec['queue']} record (slot {rec['slot']}, "
                               f"fetch {rec['fetch']}): walk_active/func/queue/fetch {bad[:4]} at {bad[4]} "
                               f"during its beats, expected {want}")
                self.walk_samples = []
                q = self.queues.get((rec["func"], rec["queue"]))
                if rec["fetch"]:
                    self.fetch_got.append((rec, segs))
                elif q is None:
                    self._fail(f"buffer record for unknown queue: {rec}")
                else:
                    q.got.append((rec, segs))

    # -- actions -------------------------------------------------------------
    async def notify(self, func: int, queue: int):
        """Send one notification (waits for the handshake)."""
        d = self.dut
        d.s_axis_notify_func.value = func
        d.s_axis_notify_queue.value = queue
        d.s_axis_notify_valid.value = 1
        while True:
            await RisingEdge(d.clk)
            if int(d.s_axis_notify_ready.value):
                break
        d.s_axis_notify_valid.value = 0

    async def idle(self, limit: int = 200000):
        """Wait until the DUT has served every notification and the outputs drained."""
        d = self.dut
        quiet = 0
        for _ in range(limit):
            await RisingEdge(d.clk)
            if (not int(d.busy.value) and not int(d.s_axis_notify_valid.value)
                    and not int(d.s_axis_fetch_valid.value) and not self.dma_inflight):
                quiet += 1
                if quiet >= 4:
                    return
            else:
                quiet = 0
        raise AssertionError(f"DUT still busy after {limit} cycles at {now()}")

    async def kick(self, q: Queue):
        await self.notify(q.func, q.queue)
        try:
            await self.idle()
        except AssertionError as e:
            raise AssertionError(f"kick of func {q.func} queue {q.queue} (size {q.size}): {e}; "
                                 f"{len(q.got)} buffers emitted so far, {q.dma_reads} DMA reads") from None

    async def queue_reset(self, func: int, queue: int):
        d = self.dut
        d.queue_reset_func.value = func
        d.queue_reset_queue.value = queue
        d.queue_reset_valid.value = 1
        await RisingEdge(d.clk)
        d.queue_reset_valid.value = 0

    async def fetch(self, func: int, queue: int, cursor: Optional[RingPos] = None, *, wait: bool = True,
                    limit: int = 100000):
        """One fetch request (cursor None: from the context); returns its answer (record, segments).

        With ``wait=False`` only the request handshake is awaited (the answer lands in fetch_got).
        """
        d = self.dut
        d.s_axis_fetch_func.value = func
        d.s_axis_fetch_queue.value = queue
        d.s_axis_fetch_cursor.value = int(cursor is not None)
        d.s_axis_fetch_slot.value = cursor.off if cursor is not None else random.randrange(1 << 16)
        d.s_axis_fetch_wrap.value = int(cursor.wrap) if cursor is not None else random.randrange(2)
        d.s_axis_fetch_valid.value = 1
        while True:
            await RisingEdge(d.clk)
            if int(d.s_axis_fetch_ready.value):
                break
        d.s_axis_fetch_valid.value = 0
        idx = self.fetch_sent
        self.fetch_sent += 1
        if not wait:
            return None
        for _ in range(limit):
            if len(self.fetch_got) > idx:
                return self.fetch_got[idx]
            await RisingEdge(d.clk)
        raise AssertionError(f"fetch func {func} queue {queue} cursor {cursor}: no answer after {limit} cycles "
                             f"at {now()}")

    async def commit(self, func: int, queue: int, pos: RingPos):
        d = self.dut
        d.s_commit_func.value = func
        d.s_commit_queue.value = queue
        d.s_commit_slot.value = pos.off
        d.s_commit_wrap.value = int(pos.wrap)
        d.s_commit_valid.value = 1
        await RisingEdge(d.clk)
        d.s_commit_valid.value = 0

    def add_random(self, q: Queue, max_chain: int = 4, count: Optional[int] = None) -> int:
        """Make random buffers available (chains of mixed readable/writable); returns how many."""
        added = 0
        while count is None or added < count:
            n = random.randint(1, min(max_chain, q.size))
            if n > q.drv.num_free:
                break
            n_out = random.randint(0, n)
            out = [(random.randrange(1 << 40) & ~0xF, random.randint(0, 0x10000)) for _ in range(n_out)]
            in_ = [(random.randrange(1 << 40) & ~0xF, random.randint(1, 0x10000)) for _ in range(n - n_out)]
            q.drv.add(out, in_)
            added += 1
        return added

    # -- checks --------------------------------------------------------------
    def check_errors(self):
        assert not self.errors, "bench errors:\n" + "\n".join(self.errors)

    def check_queue(self, q: Queue, complete: bool = True) -> list:
        """Compare the DUT's new buffers of ``q`` with the golden model; returns the buffers."""
        self.check_errors()
        expect = q.dev.pop_all()
        got = q.got[q.checked:]
        where = f"func {q.func} queue {q.queue} (size {q.size})"
        for i, ((rec, segs), buf) in enumerate(zip(got, expect)):
            n = q.checked + i
            nxt = RingPos(buf.head, buf.head_wrap).advance(buf.ndescs, q.size)
            exp_rec = dict(func=q.func, queue=q.queue, id=buf.id, slot=buf.head, wrap=int(buf.head_wrap),
                           ndesc=buf.ndescs, indirect=int(buf.indirect), error=0, fetch=0, none=0,
                           slot_next=nxt.off, wrap_next=int(nxt.wrap))
            assert rec == exp_rec, f"{where} buffer #{n}: record {rec}, expected {exp_rec} at {now()}"
            exp_segs = [dict(addr=s.addr, len=s.length, write=int(s.writable), error=0,
                             last=int(j == len(buf.segments) - 1))
                        for j, s in enumerate(buf.segments)]
            assert segs == exp_segs, (f"{where} buffer #{n} (head slot {buf.head}): segments {segs}, "
                                      f"expected {exp_segs} at {now()}")
        assert len(got) == len(expect), (
            f"{where}: DUT emitted {len(got)} buffers, golden model {len(expect)} at {now()}; "
            f"first missing expected {expect[len(got):len(got) + 1]}, first extra got {got[len(expect):len(expect) + 1]}")
        q.checked += len(got)
        if complete:
            for buf in expect:
                q.dev.push_used(buf, 0)
            q.drv.drain()
        return expect


    @staticmethod
    def peek(q: Queue, start: RingPos):
        """The golden model's answer to a fetch at ``start``: (Buffer or None, DeviceNeedsReset reason or None)."""
        if start.off >= q.size:
            return None, None
        dev = q.dev
        saved = (dev.avail, dev.popped)
        dev.avail = start
        try:
            return dev.pop(), None
        except DeviceNeedsReset as e:
            return None, str(e)
        finally:
            dev.avail, dev.popped = saved

    def check_fetch(self, func: int, queue: int, start: RingPos, answer, q: Optional[Queue] = None):
        """Check a fetch answer against the golden model peeked at ``start`` (q None: a none answer).

        Returns the Buffer, None (none) or the DeviceNeedsReset reason (str).
        """
        self.check_errors()
        rec, segs = answer
        where = f"fetch func {func} queue {queue} from slot {start.off} wrap {int(start.wrap)}"
        buf, reason = self.peek(q, start) if q is not None else (None, None)
        none = dict(func=func, queue=queue, id=0, slot=start.off, wrap=int(start.wrap), ndesc=0, indirect=0,
                    error=0, fetch=1, none=1, slot_next=start.off, wrap_next=int(start.wrap))
        if reason is not None:
            # malformed: error record; segments emitted before the error are closed by the error segment
            if segs:
                assert segs[-1]["error"] and segs[-1]["last"] and not any(x["error"] for x in segs[:-1]), (
                    f"{where} ({reason}): error buffer segments {segs} at {now()}")
            exp = dict(none, error=1, none=int(not segs), ndesc=rec["ndesc"], id=rec["id"],
                       indirect=rec["indirect"])
            assert rec == exp, f"{where} ({reason}): answer {rec}, expected {exp} at {now()}"
            return reason
        if buf is None:
            assert rec == none and segs == [], f"{where}: answer {rec} {segs}, expected none {none} at {now()}"
            return None
        nxt = start.advance(buf.ndescs, q.size)
        exp = dict(func=func, queue=queue, id=buf.id, slot=buf.head, wrap=int(buf.head_wrap), ndesc=buf.ndescs,
                   indirect=int(buf.indirect), error=0, fetch=1, none=0, slot_next=nxt.off, wrap_next=int(nxt.wrap))
        assert rec == exp, f"{where}: answer {rec}, expected {exp} at {now()}"
        exp_segs = [dict(addr=x.addr, len=x.length, write=int(x.writable), error=0,
                         last=int(j == len(buf.segments) - 1)) for j, x in enumerate(buf.segments)]
        assert segs == exp_segs, f"{where} (head slot {buf.head}): segments {segs}, expected {exp_segs} at {now()}"
        return buf


class RxEngine:
    """The receive engine's use of one queue: committed context, cursor, buffers peeked since the commit."""

    def __init__(self, tb: TB, q: Queue):
        self.tb, self.q = tb, q
        self.committed = RingPos(0, True)
        self.cursor = RingPos(0, True)
        self.peeked: list = []
        self.fetches = 0
        self.buffers = 0
        self.nones = 0

    async def take(self):
        """Fetch the next buffer after the cursor (from the context when nothing is peeked)."""
        tb, q = self.tb, self.q
        start = self.cursor
        use_cursor = bool(self.peeked) or random.random() < 0.5
        ans = await tb.fetch(q.func, q.queue, start if use_cursor else None)
        self.fetches += 1
        buf = tb.check_fetch(q.func, q.queue, start, ans, q)
        assert not isinstance(buf, str), f"func {q.func} queue {q.queue}: well-formed ring rejected: {buf}"
        if buf is None:
            self.nones += 1
        else:
            self.buffers += 1
            self.peeked.append(buf)
            self.cursor = start.advance(buf.ndescs, q.size)
        return buf

    async def peek_context(self):
        """Fetch from the context (no cursor): the first buffer after the committed position, again."""
        ans = await self.tb.fetch(self.q.func, self.q.queue)
        self.fetches += 1
        return self.tb.check_fetch(self.q.func, self.q.queue, self.committed, ans, self.q)

    async def commit(self):
        """Commit the cursor: the peeked buffers are consumed (golden pops them, used side, reclaim)."""
        tb, q = self.tb, self.q
        await tb.commit(q.func, q.queue, self.cursor)
        for b in self.peeked:
            g = q.dev.pop()
            assert g is not None and (g.head, g.ndescs, g.segments) == (b.head, b.ndescs, b.segments), (g, b)
            q.dev.push_used(g, 0)
        assert q.dev.avail == self.cursor, (q.dev.avail, self.cursor)
        q.drv.drain()
        self.committed = self.cursor
        self.peeked = []

    def rewind(self):
        """The frame did not fit: nothing consumed, peek again from the committed position."""
        self.cursor = self.committed
        self.peeked = []


async def setup(dut, **kw) -> TB:
    tb = TB(dut)
    tb.log.info("seed %s", cocotb.RANDOM_SEED)
    for k, v in kw.items():
        setattr(tb, k, v)
    await tb.reset()
    return tb


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------

@cocotb.test()
async def test_single_buffers(dut):
    """Single-descriptor buffers, one kick: every one emitted with its slot, id, segment."""
    tb = await setup(dut)
    q = tb.add_queue(0, 0, 16)
    for _ in range(5):
        q.drv.add([(random.randrange(1 << 48), random.randint(1, 4096))])
    await tb.kick(q)
    assert len(tb.check_queue(q)) == 5
    # nothing new: a second kick emits nothing
    await tb.kick(q)
    assert tb.check_queue(q) == []
    assert tb.needs_reset == [0, 0]


@cocotb.test()
async def test_chains(dut):
    """Chains of 1..6 descriptors, readable then writable, across batch boundaries."""
    tb = await setup(dut)
    q = tb.add_queue(0, 1, 64)
    for rnd in range(4):
        tb.add_random(q, max_chain=6, count=8)
        await tb.kick(q)
        bufs = tb.check_queue(q)
        assert len(bufs) == 8, f"round {rnd}: {len(bufs)} buffers"
    # chain ids that disagree: the id of the last descriptor counts (§10 #5)
    q = tb.add_queue(0, 2, 8)
    q.drv.add_raw([PackedDesc(0x100, 8, 5, DescFlag.NEXT), PackedDesc(0x200, 8, 6, DescFlag.NEXT),
                   PackedDesc(0x300, 8, 3, DescFlag.WRITE)], buf_id=3)
    await tb.kick(q)
    bufs = tb.check_queue(q)
    assert len(bufs) == 1 and bufs[0].id == 3 and bufs[0].warnings, bufs
    assert tb.needs_reset == [0, 0]


@cocotb.test()
async def test_wraps_odd_sizes(dut):
    """Queue sizes 1, 2, 3, 5, 64, 255 (each its own context), several laps each."""
    tb = await setup(dut)
    sizes = [1, 2, 3, 5, 64, 255]
    queues = [tb.add_queue(0, i, s) for i, s in enumerate(sizes)]
    for q in queues:
        laps = 0
        total = 0
        rounds = 0
        while total < 3 * q.size + 7 and rounds < 400:
            rounds += 1
            tb.add_random(q, max_chain=min(4, q.size), count=random.randint(1, max(1, q.size // 2)))
            await tb.kick(q)
            bufs = tb.check_queue(q)
            total += sum(b.ndescs for b in bufs)
        laps = total // q.size
        tb.log.info("size %d: %d slots consumed, %d laps, %d DMA reads", q.size, total, laps, q.dma_reads)
        assert laps >= 3, f"size {q.size}: only {laps} laps"
    assert tb.needs_reset == [0, 0]


@cocotb.test()
async def test_chain_across_wrap(dut):
    """A chain that starts 2 slots before the ring end and continues at slot 0 (second DMA read)."""
    tb = await setup(dut)
    q = tb.add_queue(1, 2, 5)
    q.drv.add([(0x1000, 16)], [(0x2000, 16)])
    q.drv.add([(0x3000, 16)])
    await tb.kick(q)
    tb.check_queue(q)
    # driver at slot 3: chain of 4 -> slots 3, 4, 0, 1
    q.drv.add([(0xA000, 100), (0xB000, 200)], [(0xC000, 300), (0xD000, 400)])
    reads = q.dma_reads
    await tb.kick(q)
    bufs = tb.check_queue(q)
    assert len(bufs) == 1 and bufs[0].head == 3 and bufs[0].ndescs == 4, bufs
    assert q.dma_reads - reads >= 2, "the wrap needs a second read"
    # and the next lap still works (wrap counter flipped)
    tb.add_random(q, max_chain=3, count=3)
    await tb.kick(q)
    tb.check_queue(q)
    assert tb.needs_reset == [0, 0]


@cocotb.test()
async def test_dma_reads_per_descriptor(dut):
    """200 single-descriptor buffers behind one kick: far fewer DMA reads than descriptors."""
    tb = await setup(dut)
    q = tb.add_queue(0, 3, 256)
    for _ in range(200):
        q.drv.add([(random.randrange(1 << 48), 64)])
    await tb.kick(q)
    bufs = tb.check_queue(q)
    assert len(bufs) == 200
    # ceil(200/8) reads for the descriptors + one that finds the next slot empty
    limit = -(-200 // tb.batch) + 1
    ratio = q.dma_reads / 200
    tb.log.info("DMA reads %d for 200 descriptors (%.3f per descriptor, %d descriptors fetched)",
                q.dma_reads, ratio, q.descs_fetched)
    assert q.dma_reads <= limit, f"{q.dma_reads} DMA reads for 200 descriptors, expected <= {limit} at {now()}"


@cocotb.test()
async def test_backpressure(dut):
    """Random ready on both output streams and slow DMA: same buffers, nothing lost or doubled."""
    tb = await setup(dut, seg_ready_p=0.3, buf_ready_p=0.4, dma_delay=(1, 40))
    q = tb.add_queue(0, 4, 37)
    for _ in range(12):
        tb.add_random(q, max_chain=5)
        await tb.kick(q)
        tb.check_queue(q)
    assert q.checked > 20
    assert tb.needs_reset == [0, 0]


@cocotb.test()
async def test_two_functions_interleaved(dut):
    """Four queues on two functions, notifications back to back: each queue's buffers in order."""
    tb = await setup(dut, seg_ready_p=0.7)
    qs = [tb.add_queue(0, 0, 17), tb.add_queue(0, 7, 8), tb.add_queue(1, 0, 33), tb.add_queue(1, 5, 3)]
    for rnd in range(10):
        order = []
        for q in qs:
            tb.add_random(q, max_chain=3, count=random.randint(0, 4))
            order += [q] * random.randint(1, 2)
        random.shuffle(order)
        for q in order:
            await tb.notify(q.func, q.queue)
        await tb.idle()
        for q in qs:
            tb.check_queue(q)
    assert all(q.checked > 5 for q in qs), [q.checked for q in qs]
    assert tb.needs_reset == [0, 0]


def add_indirect(tb: TB, q: Queue, n_out: int, n_in: int) -> None:
    """A buffer through an indirect table of n_out readable + n_in writable entries."""
    table = 0x4000_0000 + 0x1000 * len(tb.tables) + 16 * random.randrange(8)
    tb.tables.append((table, 16 * (n_out + n_in)))
    q.drv.add([(random.randrange(1 << 40), random.randint(0, 5000)) for _ in range(n_out)],
              [(random.randrange(1 << 40), random.randint(1, 5000)) for _ in range(n_in)],
              indirect_table=table)


@cocotb.test()
async def test_indirect(dut):
    """INDIRECT negotiated: tables of 1..20 entries walked (several reads), mixed with chains."""
    tb = TB(dut)
    tb.features[1] |= F_INDIRECT_DESC
    tb.log.info("seed %s", cocotb.RANDOM_SEED)
    await tb.reset()
    q = tb.add_queue(1, 1, 9)
    n_ind = 0
    for rnd in range(10):
        for _ in range(random.randint(1, 4)):
            if random.random() < 0.5 and q.drv.num_free:
                n = random.randint(1, 20)
                n_out = random.randint(0, n)
                add_indirect(tb, q, n_out, n - n_out)
                n_ind += 1
            else:
                tb.add_random(q, max_chain=3, count=1)
        await tb.kick(q)
        bufs = tb.check_queue(q)
        assert all(len(b.segments) for b in bufs)
    tb.log.info("%d indirect buffers, %d table reads", n_ind, tb.table_reads)
    assert n_ind > 5 and tb.table_reads >= n_ind
    assert tb.needs_reset == [0, 0]


async def malformed(tb: TB, q: Queue, descs, buf_id: int = 0, **kw):
    """Publish ``descs`` raw, kick, and check: golden model rejects, DUT pulses needs_reset."""
    q.drv.add_raw(descs, buf_id=buf_id, **kw)
    before = list(tb.needs_reset)
    await tb.kick(q)
    tb.check_errors()
    try:
        q.dev.pop()
    except DeviceNeedsReset as e:
        reason = str(e)
    else:
        raise AssertionError("golden model accepted the malformed chain (bench error)")
    assert tb.needs_reset[q.func] == before[q.func] + 1, (
        f"func {q.func} queue {q.queue} ({reason}): needs_reset pulses {tb.needs_reset[q.func] - before[q.func]}, "
        f"expected 1 at {now()}")
    got = q.got[q.checked:]
    # nothing good emitted; a buffer whose segments had started ends with an error record
    assert all(r["error"] for r, _ in got), f"func {q.func} queue {q.queue} ({reason}): good buffer {got}"
    for rec, segs in got:
        assert segs and segs[-1]["error"] and segs[-1]["last"], f"({reason}) error buffer segments {segs}"
        # the good segments before the error one, never a whole ring or more
        assert rec["ndesc"] < q.size and (rec["indirect"] or len(segs) - 1 == rec["ndesc"]), (
            f"func {q.func} queue {q.queue} ({reason}): error record {rec} with {len(segs) - 1} "
            f"segments before the error one, ring size {q.size} at {now()}")
    q.checked = len(q.got)
    tb.log.info("%s -> needs_reset, %d error records", reason, len(got))
    return reason


@cocotb.test()
async def test_chain_too_long(dut):
    """A NEXT chain longer than the queue size: needs_reset pulse, error record, no buffer."""
    tb = await setup(dut)
    q = tb.add_queue(0, 2, 4)
    descs = [PackedDesc(0x1000 * i, 8, 0, DescFlag.NEXT) for i in range(4)]
    reason = await malformed(tb, q, descs)
    assert "chain too long" in reason
    # the context did not move: after a queue reset the ring works again from slot 0
    await tb.queue_reset(0, 2)
    q2 = tb.add_queue(0, 2, 4)
    tb.add_random(q2, max_chain=2, count=2)
    await tb.kick(q2)
    tb.check_queue(q2)


@cocotb.test()
async def test_malformed_chains(dut):
    """Chain descriptor not available, readable after writable, INDIRECT misuse: needs_reset each."""
    tb = await setup(dut)
    q = tb.add_queue(0, 0, 8)
    d = PackedDesc
    reason = await malformed(tb, q, [d(0x100, 8, 0, DescFlag.NEXT | DescFlag.WRITE), d(0x200, 8, 0, 0)])
    assert "readable after writable" in reason, reason
    q = tb.add_queue(0, 1, 8)
    # second descriptor carries the wrong AVAIL/USED bits
    reason = await malformed(tb, q, [d(0x100, 8, 0, DescFlag.NEXT | DescFlag.AVAIL),
                                     d(0x200, 8, 0, DescFlag.USED)], fix_wrap_bits=False)
    assert "chain descriptor not available" in reason, reason
    q = tb.add_queue(1, 0, 8)
    reason = await malformed(tb, q, [d(0x100, 32, 0, DescFlag.INDIRECT)])
    assert "indirect not negotiated" in reason, reason


@cocotb.test()
async def test_malformed_indirect(dut):
    """INDIRECT with NEXT, inside a chain, bad table length, nested or readable-after-writable entries."""
    tb = TB(dut)
    tb.features[1] |= F_INDIRECT_DESC
    tb.log.info("seed %s", cocotb.RANDOM_SEED)
    await tb.reset()
    d = PackedDesc
    table = 0x5000_0000
    tb.tables.append((table, 0x1000))
    ind = DescFlag.INDIRECT
    cases = [
        ("indirect with NEXT", [d(table, 32, 0, ind | DescFlag.NEXT), d(0x100, 8, 0, 0)]),
        ("indirect in chain", [d(0x100, 8, 0, DescFlag.NEXT), d(table, 32, 0, ind)]),
        ("indirect table length", [d(table, 0, 0, ind)]),
        ("indirect table length", [d(table, 24, 0, ind)]),
        ("nested indirect", [d(table, 16 * 11, 0, ind)]),
        ("readable after writable", [d(table + 0x100, 16 * 10, 0, ind)]),
    ]
    # table entries: 10 good ones then a nested INDIRECT; at +0x100: 9 writable then a readable one
    tb.mem.write(table, b"".join(d(0x1000 * i, 8, 0, 0).pack() for i in range(10))
                 + d(0x9999, 16, 0, ind).pack())
    tb.mem.write(table + 0x100, b"".join(d(0x1000 * i, 8, 0, DescFlag.WRITE).pack() for i in range(9))
                 + d(0x8888, 16, 0, 0).pack())
    for i, (want, descs) in enumerate(cases):
        q = tb.add_queue(1, i, 8)
        reason = await malformed(tb, q, descs)
        assert want in reason, f"case {i}: golden reason {reason!r}, bench meant {want!r}"


@cocotb.test()
async def test_dma_error(dut):
    """A descriptor read that fails: needs_reset pulse for that function, nothing emitted."""
    tb = await setup(dut)
    q = tb.add_queue(1, 3, 16)
    tb.add_random(q, max_chain=3, count=4)
    tb.dma_fail = DMA_ERR_UR
    await tb.kick(q)
    tb.check_errors()
    assert tb.needs_reset == [0, 1], f"needs_reset pulses {tb.needs_reset}, expected [0, 1] at {now()}"
    assert q.got == [], f"buffers emitted after a failed read: {q.got}"
    # the context did not move: a retry sees the same buffers
    await tb.kick(q)
    tb.check_queue(q)


@cocotb.test()
async def test_disabled_queue_ignored(dut):
    """Notify for a disabled queue, a function not live, or an unknown queue: no read, no output."""
    tb = await setup(dut)
    q = tb.add_queue(0, 1, 16, enable=False)
    tb.add_random(q, count=3)
    await tb.kick(q)
    tb.live[1] = False
    q1 = tb.add_queue(1, 1, 16)
    tb.add_random(q1, count=3)
    await tb.kick(q1)
    await tb.notify(0, 7)            # not configured: size 0
    await tb.notify(5, 0)            # no such function
    await tb.notify(0, 200)          # queue beyond MAX_QUEUES
    await tb.idle()
    tb.check_errors()
    assert tb.dma_total == 0, f"{tb.dma_total} DMA reads for ignored notifications at {now()}"
    assert q.got == [] and q1.got == []
    assert tb.needs_reset == [0, 0]
    # enabling / going live later: the buffers are all there from slot 0
    q.enable = True
    tb.live[1] = True
    await tb.kick(q)
    await tb.kick(q1)
    assert len(tb.check_queue(q)) == 3 and len(tb.check_queue(q1)) == 3


@cocotb.test()
async def test_queue_and_func_reset(dut):
    """Queue reset and function reset put the context back to slot 0, wrap 1."""
    tb = await setup(dut)
    q = tb.add_queue(0, 6, 7)
    tb.add_random(q, max_chain=3, count=3)
    await tb.kick(q)
    tb.check_queue(q)
    await tb.queue_reset(0, 6)
    q = tb.add_queue(0, 6, 7)       # fresh ring (driver and golden at slot 0)
    tb.add_random(q, max_chain=3, count=3)
    await tb.kick(q)
    tb.check_queue(q)
    q1 = tb.add_queue(1, 2, 5)
    tb.add_random(q1, max_chain=2, count=2)
    await tb.kick(q1)
    tb.check_queue(q1)
    dut.func_reset.value = 0b10
    await ClockCycles(dut.clk, 3)
    dut.func_reset.value = 0
    q1 = tb.add_queue(1, 2, 5)
    q0 = q
    tb.add_random(q1, max_chain=2, count=2)
    tb.add_random(q0, max_chain=2, count=1)
    await tb.kick(q1)
    await tb.kick(q0)              # function 0 kept its position
    tb.check_queue(q1)
    tb.check_queue(q0)


@cocotb.test()
async def test_reset_during_walk(dut):
    """Queue reset while its buffers are walked: the current buffer completes, the walk stops, slot 0 next."""
    tb = await setup(dut, seg_ready_p=0.15)
    q = tb.add_queue(0, 5, 64)
    tb.add_random(q, max_chain=3, count=30)
    await tb.notify(0, 5)
    await ClockCycles(dut.clk, 60)
    assert int(dut.func_quiesced.value) == 0b10, (
        f"func_quiesced {int(dut.func_quiesced.value):#04b} while func 0 is walked, expected 0b10 at {now()}")
    await tb.queue_reset(0, 5)
    n_at_reset = len(q.got)
    await tb.idle()
    assert int(dut.func_quiesced.value) == 0b11, f"func_quiesced {int(dut.func_quiesced.value):#04b} when idle"
    tb.check_errors()
    got = q.got
    assert 0 < len(got) < 30, f"{len(got)} buffers emitted around a reset at {now()} (test needs a middle)"
    # only the buffer being walked at the reset may still complete
    assert len(got) <= n_at_reset + 1, (
        f"func 0 queue 5: {len(got)} buffers emitted, {n_at_reset} before the reset; at most one more "
        f"may complete at {now()}")
    # what came out is exactly the golden prefix, each buffer whole
    for i, (rec, segs) in enumerate(got):
        buf = q.dev.pop()
        exp = [dict(addr=s.addr, len=s.length, write=int(s.writable), error=0,
                    last=int(j == len(buf.segments) - 1)) for j, s in enumerate(buf.segments)]
        assert (rec["slot"], rec["ndesc"], segs) == (buf.head, buf.ndescs, exp), (
            f"func 0 queue 5 buffer #{i}: got {rec} {segs}, expected {buf} at {now()}")
    assert not tb.cur_segs, f"partial buffer left after the reset: {tb.cur_segs}"
    # the context is back at slot 0 / wrap 1: a fresh ring is served from its start
    q = tb.add_queue(0, 5, 64)
    tb.seg_ready_p = 1.0
    tb.add_random(q, max_chain=3, count=4)
    await tb.kick(q)
    assert len(tb.check_queue(q)) == 4
    assert tb.needs_reset == [0, 0]


@cocotb.test()
async def test_dma_error_mid_chain(dut):
    """The second read of a chain that spans two batches fails: good buffers before, then an error record."""
    tb = await setup(dut)
    q = tb.add_queue(0, 4, 16)
    for i in range(6):
        q.drv.add([(0x1000 * (i + 1), 100 + i)])
    q.drv.add([(0xA000, 1), (0xB000, 2)], [(0xC000, 3), (0xD000, 4)])    # slots 6..9
    tb.dma_fail_at = 2
    await tb.kick(q)
    tb.check_errors()
    assert tb.needs_reset == [1, 0], f"needs_reset pulses {tb.needs_reset}, expected [1, 0] at {now()}"
    expect = [q.dev.pop() for _ in range(6)]
    got = q.got
    assert len(got) == 7, f"func 0 queue 4: {len(got)} records, expected 6 good + 1 error at {now()}"
    for i, ((rec, segs), buf) in enumerate(zip(got, expect)):
        assert (rec["slot"], rec["id"], rec["error"], segs[0]["addr"]) == (buf.head, buf.id, 0, buf.segments[0].addr), (
            f"func 0 queue 4 buffer #{i}: {rec} {segs}, expected {buf} at {now()}")
    rec, segs = got[6]
    assert rec["error"] == 1 and rec["slot"] == 6 and rec["ndesc"] == 2, f"error record {rec} at {now()}"
    assert [(s["addr"], s["error"], s["last"]) for s in segs] == [(0xA000, 0, 0), (0xB000, 0, 0), (0, 1, 1)], (
        f"error buffer segments {segs} at {now()}")
    # the context stayed at the chain head: a retry delivers the chain whole
    q.checked = 7
    await tb.kick(q)
    bufs = tb.check_queue(q)
    assert len(bufs) == 1 and bufs[0].head == 6 and bufs[0].ndescs == 4, bufs


# ---------------------------------------------------------------------------
# RX buffer fetch (peek with cursor) and commit
# ---------------------------------------------------------------------------

@cocotb.test()
async def test_fetch_none(dut):
    """Fetch answers none (no segments, start position echoed): empty ring, disabled, not live, out of range."""
    tb = await setup(dut)
    q = tb.add_queue(0, 1, 16)
    start = RingPos(0, True)
    tb.check_fetch(0, 1, start, await tb.fetch(0, 1), q)                     # empty ring (from the context)
    tb.check_fetch(0, 1, RingPos(9, False), await tb.fetch(0, 1, RingPos(9, False)), q)   # empty, cursor
    reads = tb.dma_total
    qd = tb.add_queue(0, 2, 16, enable=False)
    tb.add_random(qd, count=3)
    tb.check_fetch(0, 2, start, await tb.fetch(0, 2), None)                  # not enabled
    tb.live[1] = False
    ql = tb.add_queue(1, 2, 16)
    tb.add_random(ql, count=3)
    tb.check_fetch(1, 2, RingPos(0, True), await tb.fetch(1, 2, RingPos(0, True)), None)   # not live
    tb.live[1] = True
    tb.check_fetch(0, 7, start, await tb.fetch(0, 7), None)                  # size 0 (not configured)
    tb.check_fetch(0, 200, start, await tb.fetch(0, 200), None)              # queue beyond MAX_QUEUES
    tb.check_fetch(5, 0, RingPos(7, False), await tb.fetch(5, 0, RingPos(7, False)), None)  # no such function
    tb.check_fetch(1, 2, RingPos(16, True), await tb.fetch(1, 2, RingPos(16, True)), None)  # cursor past the end
    dut.func_reset.value = 0b10
    tb.check_fetch(1, 2, RingPos(0, True), await tb.fetch(1, 2, RingPos(0, True)), None)    # func_reset high
    dut.func_reset.value = 0
    assert tb.dma_total == reads, f"{tb.dma_total - reads} DMA reads for fetches that must answer none at {now()}"
    # the buffers are there: enabled / live again, the same fetches find them
    qd.enable = True
    tb.check_fetch(0, 2, start, await tb.fetch(0, 2), qd)
    assert tb.check_fetch(1, 2, start, await tb.fetch(1, 2, start), ql) is not None
    await tb.idle()
    tb.check_errors()
    assert tb.needs_reset == [0, 0]
    assert all(not q_.got for q_ in tb.queues.values()), "a fetch produced a notification record"


@cocotb.test()
async def test_fetch_chain_indirect_peek_commit(dut):
    """Chains and indirect buffers peeked with the cursor; peeks repeat until a commit; commit moves the context."""
    tb = TB(dut)
    tb.features[1] |= F_INDIRECT_DESC
    tb.log.info("seed %s", cocotb.RANDOM_SEED)
    tb.seg_ready_p, tb.buf_ready_p = 0.5, 0.5
    await tb.reset()
    q = tb.add_queue(1, 4, 16)
    q.drv.add([], [(0x1000, 100), (0x2000, 200), (0x3000, 300)])          # slots 0..2
    add_indirect(tb, q, 0, 5)                                               # slot 3 (5 table entries)
    q.drv.add([], [(0x4000, 400)])                                          # slot 4
    rx = RxEngine(tb, q)
    # peek twice without commit: the same buffer, the context did not move
    b1 = await rx.peek_context()
    b2 = await rx.peek_context()
    assert b1 is not None and b1.ndescs == 3 and (b1.head, b1.id) == (b2.head, b2.id)
    # cursor walk: chain, indirect, single, none
    got = [await rx.take() for _ in range(4)]
    assert [b.ndescs if b else None for b in got] == [3, 1, 1, None], got
    assert got[1].indirect and len(got[1].segments) == 5
    assert rx.cursor == RingPos(5, True)
    # nothing committed: the context still answers the chain
    rx.rewind()
    b3 = await rx.peek_context()
    assert b3.head == 0 and b3.ndescs == 3
    # take the chain and the indirect buffer, commit: the context answers the single at slot 4
    await rx.take()
    await rx.take()
    await rx.commit()
    b4 = await rx.peek_context()
    assert b4 is not None and b4.head == 4 and b4.ndescs == 1, b4
    # commits are ignored for an out-of-range context ((7, 4) would alias (1, 4) in the context array)
    await tb.commit(1, 200, RingPos(1, True))
    await tb.commit(7, 4, RingPos(1, True))
    assert (await rx.peek_context()).head == 4
    # a function reset of another function leaves the context alone
    dut.func_reset.value = 0b01
    await ClockCycles(dut.clk, 2)
    dut.func_reset.value = 0
    assert (await rx.peek_context()).head == 4
    # a commit while func_reset[f] is high is ignored: the context is slot 0 / wrap 1 afterwards
    dut.func_reset.value = 0b10
    await ClockCycles(dut.clk, 2)
    await tb.commit(1, 4, RingPos(4, True))
    dut.func_reset.value = 0
    rx.committed = rx.cursor = RingPos(0, True)
    assert (await rx.peek_context()) is None     # slot 0 holds a used descriptor now
    await tb.idle()
    tb.check_errors()
    assert tb.needs_reset == [0, 0] and not q.got


@cocotb.test()
async def test_fetch_cursor_wrap(dut):
    """Fetches with the cursor across the ring end: slot_next wraps to 0 and wrap_next flips."""
    tb = await setup(dut)
    q = tb.add_queue(0, 3, 5)
    rx = RxEngine(tb, q)
    for i in range(3):
        q.drv.add([], [(0x1000 * (i + 1), 64)])
    for _ in range(3):
        await rx.take()
    await rx.commit()
    assert rx.committed == RingPos(3, True)
    # a chain ending at the last slot (3, 4): next is slot 0 of the second lap; then 0..2 there
    q.drv.add([(0x5000, 10)], [(0x6000, 20)])
    q.drv.add([], [(0x7000, 1), (0x8000, 2), (0x9000, 3)])
    b = await rx.take()
    assert b.head == 3 and b.ndescs == 2 and rx.cursor == RingPos(0, False), (b, rx.cursor)
    b = await rx.take()
    assert b.head == 0 and b.head_wrap is False and rx.cursor == RingPos(3, False), (b, rx.cursor)
    await rx.commit()
    # a chain across the end (3, 4, 0): the flip happens inside it; then a single at slot 1 (third lap)
    q.drv.add([(0xA000, 10)], [(0xB000, 20), (0xC000, 30)])
    q.drv.add([], [(0xD000, 40)])
    b = await rx.take()
    assert b.head == 3 and b.ndescs == 3 and rx.cursor == RingPos(1, True), (b, rx.cursor)
    b = await rx.take()
    assert b.head == 1 and b.head_wrap is True and rx.cursor == RingPos(2, True), (b, rx.cursor)
    assert await rx.take() is None
    # the same, with the cursor given explicitly over the wrapped position
    ans = await tb.fetch(0, 3, RingPos(1, True))
    assert tb.check_fetch(0, 3, RingPos(1, True), ans, q).head == 1
    assert (ans[0]["slot_next"], ans[0]["wrap_next"]) == (2, 1), ans[0]
    # a cursor at the right slot but the wrong lap finds nothing there
    tb.check_fetch(0, 3, RingPos(1, False), await tb.fetch(0, 3, RingPos(1, False)), q)
    await rx.commit()
    assert (await rx.peek_context()) is None
    await tb.idle()
    tb.check_errors()
    assert tb.needs_reset == [0, 0]


@cocotb.test()
async def test_fetch_malformed(dut):
    """Malformed chains and a DMA error during fetches: needs_reset pulse and an error record (fetch 1) each."""
    tb = await setup(dut, seg_ready_p=0.6)
    d = PackedDesc
    cases = [
        # segments already out, then the error segment: error 1, none 0
        ("readable after writable", [d(0x100, 8, 0, DescFlag.NEXT | DescFlag.WRITE), d(0x200, 8, 0, 0)], 1),
        # nothing emitted: error 1 and none 1
        ("indirect not negotiated", [d(0x100, 32, 0, DescFlag.INDIRECT)], 0),
    ]
    for i, (want, descs, nsegs) in enumerate(cases):
        q = tb.add_queue(0, i, 8)
        q.drv.add_raw(descs, buf_id=0)
        before = list(tb.needs_reset)
        ans = await tb.fetch(0, i, RingPos(0, True))
        reason = tb.check_fetch(0, i, RingPos(0, True), ans, q)
        assert isinstance(reason, str) and want in reason, f"case {i}: golden {reason!r}, bench meant {want!r}"
        rec, segs = ans
        assert len(segs) == (nsegs + 1 if nsegs else 0) and rec["none"] == int(not nsegs), (
            f"fetch func 0 queue {i} ({reason}): record {rec} segments {segs} at {now()}")
        await tb.idle()
        assert tb.needs_reset[0] == before[0] + 1, (
            f"fetch func 0 queue {i} ({reason}): needs_reset pulses {tb.needs_reset[0] - before[0]}, expected 1 "
            f"at {now()}")
    # a failed descriptor read: error 1, none 1; a retry finds the buffer
    q = tb.add_queue(1, 3, 16)
    tb.add_random(q, max_chain=3, count=2)
    tb.dma_fail = DMA_ERR_UR
    rec, segs = await tb.fetch(1, 3)
    tb.check_errors()
    exp = dict(func=1, queue=3, id=0, slot=0, wrap=1, ndesc=0, indirect=0, error=1, fetch=1, none=1,
               slot_next=0, wrap_next=1)
    assert (rec, segs) == (exp, []), f"fetch func 1 queue 3 with a DMA error: {rec} {segs}, expected {exp} at {now()}"
    await tb.idle()
    assert tb.needs_reset == [2, 1], f"needs_reset pulses {tb.needs_reset}, expected [2, 1] at {now()}"
    assert tb.check_fetch(1, 3, RingPos(0, True), await tb.fetch(1, 3), q) is not None
    assert all(not q_.got for q_ in tb.queues.values())


@cocotb.test()
async def test_fetch_arbitration(dut):
    """A waiting fetch goes before a waiting notification, but never twice in a row while one waits."""
    tb = await setup(dut, seg_ready_p=0.1)
    qa = tb.add_queue(0, 0, 32)
    qc = tb.add_queue(0, 1, 8)
    qb = tb.add_queue(1, 2, 8)
    tb.add_random(qa, max_chain=2, count=12)
    tb.add_random(qc, max_chain=2, count=2)
    qb.drv.add([], [(0x7000, 1500)])
    await tb.notify(0, 0)                          # busy for a while (slow segment sink)
    await ClockCycles(dut.clk, 5)
    assert int(dut.busy.value)
    tb.accepted = []

    async def fetcher():
        for _ in range(3):                         # back to back: valid stays high
            await tb.fetch(1, 2, wait=False)

    fetches = cocotb.start_soon(fetcher())
    await tb.notify(0, 1)                          # waits together with the fetches
    await fetches
    await tb.idle()
    order = [a[0] for a in tb.accepted]
    assert order == ["fetch", "notify", "fetch", "fetch"], (
        f"acceptance order {tb.accepted}, expected fetch, notify, fetch, fetch at {now()}")
    # all three fetches were peeks of the context: the same buffer three times
    for i, ans in enumerate(tb.fetch_got):
        b = tb.check_fetch(1, 2, RingPos(0, True), ans, qb)
        assert b is not None and b.head == 0, f"fetch #{i}: {b}"
    tb.check_queue(qa)
    tb.check_queue(qc)
    assert len(tb.fetch_got) == 3 and tb.needs_reset == [0, 0]


@cocotb.test()
async def test_fetch_and_notify_interleaved(dut):
    """Notifications on one queue, fetch/commit on another at the same time: both served, nothing lost."""
    tb = await setup(dut, seg_ready_p=0.6, buf_ready_p=0.7)
    qa = tb.add_queue(0, 6, 13)
    qb = tb.add_queue(1, 1, 11)
    rx = RxEngine(tb, qb)
    done = False

    async def notifier():
        while not done:
            tb.add_random(qa, max_chain=3, count=random.randint(0, 3))
            await tb.notify(0, 6)
            await ClockCycles(dut.clk, random.randint(0, 30))

    task = cocotb.start_soon(notifier())
    for _ in range(60):
        tb.add_random(qb, max_chain=3, count=random.randint(0, 2))
        n = random.randint(1, 3)
        for _ in range(n):
            await rx.take()
        if random.random() < 0.7:
            await rx.commit()
        else:
            rx.rewind()
        if random.random() < 0.2:
            # the notification side: check and give the used buffers back, so the driver can go on
            await tb.idle()
            tb.check_queue(qa)
    done = True
    await task
    await tb.idle()
    tb.check_queue(qa)
    tb.log.info("notification buffers %d, fetches %d (%d buffers, %d none)", qa.checked, rx.fetches,
                rx.buffers, rx.nones)
    assert qa.checked > 20 and rx.buffers > 20, (qa.checked, rx.buffers)
    assert tb.needs_reset == [0, 0]
    assert not qb.got, "notification records for the RX queue"


@cocotb.test()
async def test_commit_during_notify_walk(dut):
    """A commit of the queue a notification is walking: the commit wins, the walk stops without write-back."""
    tb = await setup(dut, seg_ready_p=0.15)
    q = tb.add_queue(0, 5, 64)
    assert tb.add_random(q, max_chain=2, count=30) == 30
    bufs = RxEngine(tb, q)                 # only for its model peeks
    golden = []
    pos = RingPos(0, True)
    while (b := tb.peek(q, pos)[0]) is not None:
        golden.append(b)
        pos = pos.advance(b.ndescs, q.size)
    assert len(golden) == 30
    target = golden[20]
    await tb.notify(0, 5)
    await ClockCycles(dut.clk, 60)
    n_at = len(q.got)
    await tb.commit(0, 5, RingPos(target.head, target.head_wrap))
    await tb.idle()
    tb.check_errors()
    got = q.got
    assert 0 < len(got) <= n_at + 1 < 20, (
        f"func 0 queue 5: {len(got)} buffers, {n_at} before the commit; at most one more may complete at {now()}")
    for i, (rec, segs) in enumerate(got):
        assert (rec["slot"], rec["ndesc"]) == (golden[i].head, golden[i].ndescs), (
            f"func 0 queue 5 buffer #{i}: {rec}, expected {golden[i]} at {now()}")
    # the context is the committed position, not the walk's
    bufs.committed = RingPos(target.head, target.head_wrap)
    b = await bufs.peek_context()
    assert b is not None and b.head == target.head, f"context after the commit: answer {b}, expected {target}"
    assert tb.needs_reset == [0, 0]


@cocotb.test()
async def test_fetch_random(dut):
    """Seeded random fetch / commit / rewind sequences on three queues, each answer against the golden model."""
    tb = TB(dut)
    tb.features[1] |= F_INDIRECT_DESC
    tb.log.info("seed %s", cocotb.RANDOM_SEED)
    tb.seg_ready_p = random.choice([1.0, 0.7, 0.3])
    tb.buf_ready_p = random.choice([1.0, 0.5])
    await tb.reset()
    rxs = [RxEngine(tb, tb.add_queue(0, 2, random.randint(1, 12))),
           RxEngine(tb, tb.add_queue(1, 3, random.randint(2, 40))),
           RxEngine(tb, tb.add_queue(1, 7, random.choice([1, 3, 64])))]
    ops = {"add": 0, "take": 0, "peek": 0, "commit": 0, "rewind": 0, "bogus": 0}
    for _ in range(600):
        rx = random.choice(rxs)
        q = rx.q
        op = random.choices(list(ops), weights=[3, 6, 1, 2, 1, 0.3])[0]
        ops[op] += 1
        if op == "add":
            if q.func == 1 and random.random() < 0.3 and q.drv.num_free:
                n = random.randint(1, 9)
                k = random.randint(0, n)
                add_indirect(tb, q, k, n - k)
            else:
                tb.add_random(q, max_chain=min(4, q.size), count=random.randint(1, 3))
        elif op == "take":
            await rx.take()
        elif op == "peek":
            await rx.peek_context()
        elif op == "commit":
            await rx.commit()
        elif op == "rewind":
            rx.rewind()
        else:
            start = RingPos(random.randint(q.size, 0xFFFF), bool(random.randrange(2)))
            tb.check_fetch(q.func, q.queue, start, await tb.fetch(q.func, q.queue, start), q)
    await tb.idle()
    tb.check_errors()
    tb.log.info("ops %s; per queue (size, fetches, buffers, none): %s", ops,
                [(r.q.size, r.fetches, r.buffers, r.nones) for r in rxs])
    assert sum(r.buffers for r in rxs) > 50
    assert tb.needs_reset == [0, 0]
    assert all(not r.q.got for r in rxs)
