"""Focused bench for ``vio_pring_used`` (packed ring, used side).

The DUT runs alone.  Around it:

* host memory: pymodel ``SparseMemory``; rings are built with pymodel's
  ``PackedRingDriver`` (the Linux driver side: add, get_used with DESC
  re-arm, disable_cb / enable_cb_prepare / enable_cb_delayed);
* a queue-context responder on ctx_req/ctx_rsp (one cycle, like
  vio_virtio_regs);
* a DMA write responder: checks each request (function, RAM address, tag,
  8 bytes at slot*16+8 of that function's ring, the slot the bench expects
  next), then after a random delay checks the staged bytes (len, id, flags
  = AVAIL=USED=bench wrap, WRITE iff len > 0) against the bench's own
  expectation, applies them to host memory and tells the queue's pymodel
  ``PackedNotifyChecker`` (on_used), or answers an injected error;
* a DMA read responder: the 4-byte Driver Event Suppression area of a queue
  of that function, copied into a separate read-RAM model after a random
  delay; the snapshot goes to the checker (on_evaluate);
* write-buffer RAM model (buf_wr_*, byte enables) and read-RAM port
  (buf_rd_*, data one cycle after en);
* an interrupt sink with random backpressure: each (func, vec) maps to one
  queue; every interrupt goes to the checker (on_notification).  A REQUIRED
  notification that never comes fails the test (checker.unanswered() at each
  idle point); a SPURIOUS one is legal (virtio.md §10 #7): it is counted per
  queue and logged as a warning, never a failure.
* IRQ_EVENTS = 1: the sink takes one record per batch evaluation; each must
  name a queue of that function with its vector, carry count = the used
  writes landed since that queue's previous record (1..N), notify and novec
  never both, novec only for a NO_VECTOR queue and notify never for one;
  notify = 1 records are the notifications; at each idle point a queue has
  exactly one record per event-area read (error or not).

After each step the driver side (``PackedRingDriver.get_used``) must return
exactly the completed buffers, ids and lens, in the order they were fed.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge

from pymodel.errors import DeviceBehaviourError
from pymodel.event_suppression import NotificationClass, PackedNotifyChecker
from pymodel.memory import SparseMemory
from pymodel.packed_driver import PackedRingDriver
from pymodel.packed_layout import DescFlag, EventFlags, EventSuppress, RingPos, used_flags
from tb.util import now, serve_buffer_ram

DMA_OK = 0
DMA_ERR_UR = 1
F_EVENT_IDX = 1 << 29
F_VERSION_1 = 1 << 32
F_RING_PACKED = 1 << 34
NO_VECTOR = 0xFFFF


def t_ns() -> int:
    """Simulation time in ns, as the notification checker takes it."""
    return int(get_sim_time("ns"))


@dataclass
class Queue:
    """One virtqueue: configuration, driver, notification checker, bench expectations."""

    func: int
    queue: int
    size: int
    desc: int
    driver_area: int
    device_area: int
    vector: int
    event_idx: bool
    enable: bool
    drv: PackedRingDriver
    chk: PackedNotifyChecker
    nd: dict = field(default_factory=dict)          # buffer id -> slots it uses
    expect: deque = field(default_factory=deque)    # fed, not yet written: (id, len, nd)
    pos: RingPos = field(default_factory=RingPos)   # bench's own used position
    written: list = field(default_factory=list)     # landed, not yet taken by the driver: (id, len)
    writes: int = 0
    evals: int = 0
    reads_since: int = 0                            # event-area reads since the last check
    writes_since: int = 0                           # used writes landed since the last check
    recs_since: int = 0                             # IRQ_EVENTS records since the last check
    count_since: int = 0                            # their counts
    irqs: int = 0
    spurious: int = 0

    @property
    def where(self) -> str:
        return f"func {self.func} queue {self.queue} (size {self.size})"


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.log.info("seed %s", cocotb.RANDOM_SEED)
        self.num_func = int(dut.NUM_FUNC.value)
        self.irq_events = int(dut.IRQ_EVENTS.value)
        self.wr_base = int(dut.WR_BUF_RAM_ADDR.value)
        self.rd_base = int(dut.RD_BUF_RAM_ADDR.value)
        self.wr_tag = int(dut.WR_DMA_TAG.value)
        self.rd_tag = int(dut.RD_DMA_TAG.value)
        ram_size = 1 << int(dut.RAM_ADDR_W.value)
        self.wr_ram = bytearray(ram_size)
        self.rd_ram = bytearray(ram_size)
        self.mem = SparseMemory()
        self.queues: dict[tuple[int, int], Queue] = {}
        self.live = [True] * self.num_func
        self.features = [F_VERSION_1 | F_RING_PACKED] * self.num_func
        self.next_ring = 0x10_0000
        self.irq_ready_p = 0.6
        self.dma_delay = (1, 10)
        self.wr_fail_at: Optional[int] = None     # fail DMA write number n (1 = first)
        self.rd_fail_at: Optional[int] = None     # fail DMA read number n
        self.wr_total = 0
        self.rd_total = 0
        self.wr_inflight = 0
        self.rd_inflight = 0
        self.failed_writes: list = []
        self.needs_reset = [0] * self.num_func
        self.isr = [0] * self.num_func
        self.irq_func = [0] * self.num_func
        self.errors: list[str] = []
        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())

    # -- setup ---------------------------------------------------------------
    async def reset(self):
        d = self.dut
        for s in ("s_axis_used_valid", "s_axis_used_func", "s_axis_used_queue", "s_axis_used_id",
                  "s_axis_used_len", "s_axis_used_num_desc", "ctx_rsp_valid", "ctx_rsp_size",
                  "ctx_rsp_enable", "ctx_rsp_vector", "ctx_rsp_desc", "ctx_rsp_driver", "ctx_rsp_live",
                  "ctx_rsp_features", "queue_reset_valid", "queue_reset_func", "queue_reset_queue",
                  "func_reset", "m_axis_wr_desc_ready", "s_axis_wr_desc_status_valid",
                  "s_axis_wr_desc_status_tag", "s_axis_wr_desc_status_error", "m_axis_rd_desc_ready",
                  "s_axis_rd_desc_status_valid", "s_axis_rd_desc_status_tag",
                  "s_axis_rd_desc_status_error", "buf_rd_data", "m_axis_irq_ready"):
            getattr(d, s).value = 0
        d.rst.value = 1
        await ClockCycles(d.clk, 4)
        d.rst.value = 0
        await RisingEdge(d.clk)
        cocotb.start_soon(self._ctx_responder())
        cocotb.start_soon(self._wr_responder())
        cocotb.start_soon(self._rd_responder())
        cocotb.start_soon(self._ram_ports())
        cocotb.start_soon(self._irq_sink())

    def add_queue(self, func: int, queue: int, size: int, *, event_idx: bool = False,
                  callbacks: bool = True, vector: Optional[int] = None, enable: bool = True) -> Queue:
        """A queue with its ring at a fresh address; vectors are unique per queue."""
        base = self.next_ring + 16 * random.randrange(4)
        self.next_ring += 0x10_0000
        drv_area = base + 16 * size + 4 * random.randrange(1, 16)
        dev_area = drv_area + 64
        if event_idx:
            self.features[func] |= F_EVENT_IDX
        vec = (1 + 8 * func + queue) if vector is None else vector
        # Linux starts in ENABLE and switches to DESC at the first enable_cb after a
        # disable_cb; an EVENT_IDX queue with callbacks starts in DESC here (armed at 0/1)
        drv = PackedRingDriver(self.mem, size, base, drv_area, dev_area, event_idx=event_idx,
                               callbacks=callbacks and not event_idx)
        if callbacks and event_idx:
            drv.enable_cb_prepare()
        chk = PackedNotifyChecker(size, event_idx)
        q = Queue(func, queue, size, base, drv_area, dev_area, vec, event_idx, enable, drv, chk)
        self.queues[(func, queue)] = q
        return q

    def _fail(self, msg: str):
        full = f"{msg} at {now()}"
        self.errors.append(full)
        self.log.error(full)

    # -- models --------------------------------------------------------------
    async def _ctx_responder(self):
        d = self.dut
        while True:
            await RisingEdge(d.clk)
            if int(d.ctx_req_valid.value):
                f, qi = int(d.ctx_req_func.value), int(d.ctx_req_queue.value)
                q = self.queues.get((f, qi))
                d.ctx_rsp_size.value = q.size if q else 0
                d.ctx_rsp_enable.value = int(q.enable) if q else 0
                d.ctx_rsp_vector.value = q.vector if q else NO_VECTOR
                d.ctx_rsp_desc.value = q.desc if q else 0
                d.ctx_rsp_driver.value = q.driver_area if q else 0
                d.ctx_rsp_live.value = int(self.live[f]) if f < self.num_func else 0
                d.ctx_rsp_features.value = self.features[f] if f < self.num_func else 0
                d.ctx_rsp_valid.value = 1
            else:
                d.ctx_rsp_valid.value = 0

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
            q = next((q for q in self.queues.values()
                      if q.func == f and q.desc <= addr < q.desc + 16 * q.size), None)
            if q is None:
                self._fail(f"DMA write func {f} addr {addr:#x} len {n}: not inside a ring of that function")
            elif not q.expect:
                self._fail(f"{q.where}: DMA write addr {addr:#x} but no used record is pending")
                q = None
            else:
                slot, off = divmod(addr - q.desc, 16)
                if off != 8 or n != 8:
                    self._fail(f"{q.where}: DMA write at slot {slot} offset {off} len {n}, "
                               f"expected offset 8 len 8 (len/id/flags)")
                if slot != q.pos.off:
                    self._fail(f"{q.where}: used write for id {q.expect[0][0]} at slot {slot}, "
                               f"expected slot {q.pos.off} (wrap {int(q.pos.wrap)})")
            if ram != self.wr_base + 8:
                self._fail(f"DMA write func {f}: ram_addr {ram:#x}, expected {self.wr_base + 8:#x}")
            if tag != self.wr_tag:
                self._fail(f"DMA write func {f}: tag {tag}, expected {self.wr_tag}")
            if self.wr_inflight:
                self._fail(f"DMA write func {f} addr {addr:#x}: a second write while one is in flight")
            self.wr_inflight += 1
            err = DMA_ERR_UR if self.wr_fail_at == self.wr_total else DMA_OK
            # the staged bytes are read when the engine runs (after the descriptor)
            cocotb.start_soon(self._wr_complete(q, addr, ram, n, tag, err))

    async def _wr_complete(self, q, addr, ram, n, tag, err):
        d = self.dut
        await ClockCycles(d.clk, random.randint(*self.dma_delay))
        data = bytes(self.wr_ram[ram:ram + n])
        if q is not None:
            bid, blen, nd = q.expect.popleft()
            if err != DMA_OK:
                self.failed_writes.append((q, bid, q.pos))     # dropped by the DUT
            else:
                flags = used_flags(q.pos.wrap) | (int(DescFlag.WRITE) if blen > 0 else 0)
                exp = blen.to_bytes(4, "little") + bid.to_bytes(2, "little") + flags.to_bytes(2, "little")
                if data != exp:
                    got_len = int.from_bytes(data[0:4], "little")
                    got_id = int.from_bytes(data[4:6], "little")
                    got_fl = int.from_bytes(data[6:8], "little") if len(data) >= 8 else -1
                    self._fail(f"{q.where}: used descriptor at slot {q.pos.off}: id {got_id} len {got_len} "
                               f"flags {got_fl:#06x}, expected id {bid} len {blen} flags {flags:#06x}")
                self.mem.write(addr, data)
                q.pos = q.pos.advance(nd, q.size)
                q.written.append((bid, blen))
                q.writes += 1
                q.writes_since += 1
                q.chk.on_used(nd, t_ns())
        elif err == DMA_OK:
            self.mem.write(addr, data)
        d.s_axis_wr_desc_status_tag.value = tag
        d.s_axis_wr_desc_status_error.value = err
        d.s_axis_wr_desc_status_valid.value = 1
        self.wr_inflight -= 1
        await RisingEdge(d.clk)
        d.s_axis_wr_desc_status_valid.value = 0

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
            q = next((q for q in self.queues.values() if q.func == f and q.driver_area == addr), None)
            if q is None:
                self._fail(f"DMA read func {f} addr {addr:#x}: not the driver event area of a queue of that function")
            if n != 4:
                self._fail(f"DMA read func {f} addr {addr:#x}: len {n}, expected 4")
            if ram != self.rd_base:
                self._fail(f"DMA read func {f}: ram_addr {ram:#x}, expected {self.rd_base:#x}")
            if tag != self.rd_tag:
                self._fail(f"DMA read func {f}: tag {tag}, expected {self.rd_tag}")
            if self.rd_inflight:
                self._fail(f"DMA read func {f} addr {addr:#x}: a second read while one is in flight")
            self.rd_inflight += 1
            err = DMA_ERR_UR if self.rd_fail_at == self.rd_total else DMA_OK
            cocotb.start_soon(self._rd_complete(q, addr, ram, tag, err))

    async def _rd_complete(self, q, addr, ram, tag, err):
        d = self.dut
        await ClockCycles(d.clk, random.randint(*self.dma_delay))
        if q is not None:
            q.reads_since += 1
        if err == DMA_OK:
            snap = self.mem.read(addr, 4)
            self.rd_ram[ram:ram + 4] = snap
            if q is not None:
                q.evals += 1
                q.chk.on_evaluate(EventSuppress.unpack(snap), t_ns())
        else:
            self.rd_ram[ram:ram + 4] = bytes(random.randrange(256) for _ in range(4))
        d.s_axis_rd_desc_status_tag.value = tag
        d.s_axis_rd_desc_status_error.value = err
        d.s_axis_rd_desc_status_valid.value = 1
        self.rd_inflight -= 1
        await RisingEdge(d.clk)
        d.s_axis_rd_desc_status_valid.value = 0

    async def _ram_ports(self):
        await serve_buffer_ram(self.dut, self.rd_ram, self.wr_ram)

    def _notified(self, q: Queue, how: str):
        q.irqs += 1
        v = q.chk.on_notification(t_ns())
        if v.kind == NotificationClass.SPURIOUS:
            q.spurious += 1
            self.log.warning("%s: spurious (legal) notification via %s: %s", q.where, how, v.note)

    async def _irq_sink(self):
        d = self.dut
        while True:
            d.m_axis_irq_ready.value = int(random.random() < self.irq_ready_p)
            await RisingEdge(d.clk)
            for f in range(self.num_func):
                if int(d.needs_reset_set.value) >> f & 1:
                    self.needs_reset[f] += 1
                if int(d.isr_queue_set.value) >> f & 1:
                    self.isr[f] += 1
                    # queues without a vector are notified through ISR only
                    for q in self.queues.values():
                        if q.func == f and q.vector == NO_VECTOR:
                            self._notified(q, "ISR")
            if int(d.m_axis_irq_valid.value) and int(d.m_axis_irq_ready.value) and self.irq_events:
                self._irq_event()
            elif int(d.m_axis_irq_valid.value) and int(d.m_axis_irq_ready.value):
                f, vec = int(d.m_axis_irq_func.value), int(d.m_axis_irq_vec.value)
                if f < self.num_func:
                    self.irq_func[f] += 1
                q = next((q for q in self.queues.values() if q.func == f and q.vector == vec), None)
                if q is None:
                    self._fail(f"interrupt func {f} vec {vec}: no queue of that function has this vector")
                else:
                    self._notified(q, f"MSI-X vec {vec}")

    def _irq_event(self):
        """IRQ_EVENTS = 1: one record per batch evaluation."""
        d = self.dut
        f, vec, qi = int(d.m_axis_irq_func.value), int(d.m_axis_irq_vec.value), int(d.m_axis_irq_queue.value)
        notify, novec = int(d.m_axis_irq_notify.value), int(d.m_axis_irq_novec.value)
        count = int(d.m_axis_irq_count.value)
        q = self.queues.get((f, qi))
        if q is None:
            self._fail(f"evaluation record func {f} queue {qi}: no such queue")
            return
        q.recs_since += 1
        q.count_since += count
        no_vec = q.vector >> 11 != 0
        if vec != q.vector & 0x7FF:
            self._fail(f"{q.where}: evaluation record vec {vec:#x}, expected {q.vector & 0x7FF:#x}")
        if notify and (novec or no_vec):
            self._fail(f"{q.where}: evaluation record notify 1 novec {novec} for vector {q.vector:#x}")
        if novec and not no_vec:
            self._fail(f"{q.where}: evaluation record novec 1 for vector {q.vector:#x}")
        if not 1 <= count <= q.size or q.count_since != q.writes_since:
            self._fail(f"{q.where}: evaluation record count {count}, expected "
                       f"{q.writes_since - q.count_since + count} (used writes since the previous record)")
        if notify:
            self.irq_func[f] += 1
            self._notified(q, f"MSI-X vec {vec} (evaluation record)")

    # -- actions -------------------------------------------------------------
    def add_random(self, q: Queue, max_chain: int = 4, count: Optional[int] = None) -> list[int]:
        """Make random buffers available; returns their ids."""
        ids = []
        while count is None or len(ids) < count:
            n = random.randint(1, min(max_chain, q.size))
            if n > q.drv.num_free:
                break
            n_out = random.randint(0, n - 1)
            out = [(random.randrange(1 << 40) & ~0xF, random.randint(1, 0x1000)) for _ in range(n_out)]
            in_ = [(random.randrange(1 << 40) & ~0xF, random.randint(1, 0x1000)) for _ in range(n - n_out)]
            bid = q.drv.add(out, in_)
            q.nd[bid] = n
            ids.append(bid)
        return ids

    def add_one(self, q: Queue, n: int = 1) -> int:
        bid = q.drv.add([], [(0x1000 * (i + 1), 1500) for i in range(n)])
        q.nd[bid] = n
        return bid

    async def feed(self, q: Queue, bid: int, blen: int, nd: Optional[int] = None, gap: int = 0):
        """One used record on s_axis_used (waits for the handshake)."""
        d = self.dut
        nd = q.nd[bid] if nd is None else nd
        d.s_axis_used_func.value = q.func
        d.s_axis_used_queue.value = q.queue
        d.s_axis_used_id.value = bid
        d.s_axis_used_len.value = blen
        d.s_axis_used_num_desc.value = nd
        d.s_axis_used_valid.value = 1
        while True:
            await RisingEdge(d.clk)
            if int(d.s_axis_used_ready.value):
                break
        d.s_axis_used_valid.value = 0
        if 1 <= nd <= q.size:
            q.expect.append((bid, blen, nd))
        if gap:
            await ClockCycles(d.clk, gap)

    async def complete(self, q: Queue, ids: list[int], *, gaps: tuple[int, int] = (0, 3)):
        """Feed used records for ``ids`` (random lens, some 0) with random gaps."""
        for bid in ids:
            blen = 0 if random.random() < 0.2 else random.randint(1, 0xFFFFFFFF)
            await self.feed(q, bid, blen, gap=random.randint(*gaps))

    async def idle(self, limit: int = 100000):
        d = self.dut
        quiet = 0
        for _ in range(limit):
            await RisingEdge(d.clk)
            if (not int(d.busy.value) and not int(d.s_axis_used_valid.value) and not self.wr_inflight
                    and not self.rd_inflight and not int(d.m_axis_irq_valid.value)):
                quiet += 1
                if quiet >= 4:
                    return
            else:
                quiet = 0
        raise AssertionError(f"DUT still busy after {limit} cycles at {now()}")

    async def queue_reset(self, q: Queue):
        d = self.dut
        d.queue_reset_func.value = q.func
        d.queue_reset_queue.value = q.queue
        d.queue_reset_valid.value = 1
        await RisingEdge(d.clk)
        d.queue_reset_valid.value = 0

    # -- checks --------------------------------------------------------------
    def check_errors(self):
        assert not self.errors, "bench errors:\n" + "\n".join(self.errors)

    def check(self, q: Queue, drain: bool = True):
        """At an idle point: every fed record landed, the driver sees them in order,
        no required notification is missing."""
        # the driver's view first (independent of the bench's byte check), then the bench errors
        bench = ("\nbench errors:\n" + "\n".join(self.errors)) if self.errors else ""
        if drain:
            try:
                got = [(u.id, u.len) for u in q.drv.drain()]
            except DeviceBehaviourError as e:
                raise AssertionError(f"{q.where}: driver get_used: {e} at {now()}{bench}") from None
            exp, q.written = q.written, []
            assert got == exp, (f"{q.where}: driver get_used returned (id, len) {got}, "
                                f"expected {exp} at {now()}{bench}")
        self.check_errors()
        assert not q.expect, f"{q.where}: used records never written: {list(q.expect)} at {now()}"
        if drain:
            assert q.drv.last_used == q.pos, (f"{q.where}: driver last_used {q.drv.last_used}, "
                                              f"device position {q.pos} at {now()}")
        assert not q.chk.warnings, f"{q.where}: notification checker: {q.chk.warnings} at {now()}"
        if self.irq_events:
            assert q.recs_since == q.reads_since, (f"{q.where}: {q.recs_since} evaluation records for "
                                                   f"{q.reads_since} event-area reads at {now()}")
        q.reads_since = q.writes_since = q.recs_since = q.count_since = 0
        r = q.chk.unanswered()
        assert r is None, (f"{q.where}: missing required notification (used write at {r.used_time} ns, "
                           f"evaluated at {r.eval_time} ns, position {r.position}: {r.reason}) at {now()}")

    def check_isr_matches_irqs(self):
        for f in range(self.num_func):
            assert self.isr[f] == self.irq_func[f], (f"func {f}: {self.isr[f]} isr_queue_set pulses, "
                                                     f"{self.irq_func[f]} interrupts at {now()}")

    def summary(self):
        for q in self.queues.values():
            self.log.info("%s: %d used writes, %d evaluations, %d notifications (%d spurious, legal)",
                          q.where, q.writes, q.evals, q.irqs, q.spurious)


async def setup(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


async def run_rounds(tb: TB, q: Queue, laps: int, max_chain: int = 4, shuffle: bool = True):
    """Fill the ring, complete everything (out of order), check; until ``laps`` laps are used."""
    target = laps * q.size + 1
    used = 0
    while used < target:
        ids = tb.add_random(q, max_chain=max_chain)
        assert ids, f"{q.where}: no room to add buffers"
        if shuffle:
            random.shuffle(ids)
        # complete a random prefix now, the rest next round
        k = random.randint(1, len(ids))
        await tb.complete(q, ids[:k])
        await tb.idle()
        tb.check(q)
        used += sum(q.nd[i] for i in ids[:k])
        await tb.complete(q, ids[k:])
        await tb.idle()
        tb.check(q)
        used += sum(q.nd[i] for i in ids[k:])


# ----------------------------------------------------------------------------
# tests
# ----------------------------------------------------------------------------

@cocotb.test()
async def test_wraps_odd_sizes(dut):
    """Used writes over several laps, sizes 1, 2, 3, 5, 64, 255, chains, out-of-order completion."""
    tb = await setup(dut)
    qs = [tb.add_queue(0, i, n) for i, n in enumerate((1, 2, 3, 5, 64, 255))]
    for q in qs:
        await run_rounds(tb, q, laps=20 if q.size < 10 else 3)
    tb.check_isr_matches_irqs()
    tb.summary()


@cocotb.test()
async def test_chains_long(dut):
    """Chains up to the queue size (num_desc up to N), size 7 and 16."""
    tb = await setup(dut)
    for i, n in enumerate((7, 16)):
        q = tb.add_queue(1, i, n)
        await run_rounds(tb, q, laps=4, max_chain=n)
    tb.summary()


@cocotb.test()
async def test_enable(dut):
    """ENABLE: every evaluated batch with a used buffer must be notified."""
    tb = await setup(dut)
    q = tb.add_queue(0, 3, 8)
    for _ in range(6):
        ids = tb.add_random(q, max_chain=2)
        for bid in ids:
            before = q.irqs
            await tb.complete(q, [bid])
            await tb.idle()
            tb.check(q, drain=False)
            assert q.irqs == before + 1, (f"{q.where}: ENABLE, used id {bid}: {q.irqs - before} "
                                          f"notifications, expected 1 at {now()}")
        tb.check(q)
    tb.check_isr_matches_irqs()
    tb.summary()


@cocotb.test()
async def test_disable(dut):
    """DISABLE: nothing required; any notification counts as spurious (legal, logged)."""
    tb = await setup(dut)
    q = tb.add_queue(0, 0, 5, callbacks=False)
    await run_rounds(tb, q, laps=20)
    tb.summary()
    assert q.evals > 0, f"{q.where}: the event area was never read at {now()}"
    if q.spurious:
        tb.log.warning("%s: %d notifications while DISABLE (spurious, legal)", q.where, q.spurious)


@cocotb.test()
async def test_reserved_3(dut):
    """desc_event_flags 3 (reserved) behaves like ENABLE (§10 #8), with and without EVENT_IDX."""
    tb = await setup(dut)
    qa = tb.add_queue(0, 0, 6, event_idx=True)
    qb = tb.add_queue(1, 0, 6, event_idx=False)
    for q in (qa, qb):
        for _ in range(10):
            # an event offset the DESC math would not hit
            q.drv.set_driver_event(EventSuppress(random.randrange(q.size), random.random() < 0.5, 3))
            ids = tb.add_random(q, max_chain=2, count=1)
            before = q.irqs
            await tb.complete(q, ids)
            await tb.idle()
            tb.check(q)
            assert q.irqs == before + 1, f"{q.where}: reserved flags 3: no notification at {now()}"
    tb.summary()


@cocotb.test()
async def test_desc_without_event_idx(dut):
    """DESC without EVENT_IDX negotiated is treated as ENABLE."""
    tb = await setup(dut)
    q = tb.add_queue(0, 1, 4, event_idx=False)
    for _ in range(10):
        q.drv.set_driver_event(EventSuppress(3, False, EventFlags.DESC))   # never reached in lap 1
        ids = tb.add_random(q, max_chain=1, count=1)
        before = q.irqs
        await tb.complete(q, ids)
        await tb.idle()
        tb.check(q)
        assert q.irqs == before + 1, f"{q.where}: DESC without EVENT_IDX: no notification at {now()}"
    tb.summary()


@cocotb.test()
async def test_worked_example_4_5(dut):
    """virtio.md §4.5 (N = 4, EVENT_IDX): the table's slot writes and notify decisions."""
    tb = await setup(dut)
    q = tb.add_queue(0, 2, 4, event_idx=True)
    drv = q.drv
    a = drv.add([], [(0x10000, 1500)])
    b = drv.add([(0x20000, 12)], [(0x30000, 1500)])
    c = drv.add([], [(0x40000, 64)])
    assert (a, b, c) == (0, 1, 2)
    q.nd.update({a: 1, b: 2, c: 1})
    # add_queue armed DESC at (0, 1): off_wrap 0x8000, flags DESC
    assert drv.mem.read(q.driver_area, 4) == bytes([0x00, 0x80, 0x02, 0x00])

    async def step(bid, blen, slot, flags, notify: bool):
        before = q.irqs
        await tb.feed(q, bid, blen)
        await tb.idle()
        raw = tb.mem.read(q.desc + 16 * slot + 8, 8)
        got = (int.from_bytes(raw[4:6], "little"), int.from_bytes(raw[0:4], "little"),
               int.from_bytes(raw[6:8], "little"))
        assert got == (bid, blen, flags), (f"{q.where}: slot {slot}: (id, len, flags) "
                                           f"{got[0]}, {got[1]}, {got[2]:#06x}, expected "
                                           f"{bid}, {blen}, {flags:#06x} at {now()}")
        tb.check(q, drain=False)
        assert q.irqs - before == int(notify), (f"{q.where}: id {bid}: {q.irqs - before} notifications, "
                                                f"expected {int(notify)} at {now()}")

    await step(b, 100, 0, 0x8082, True)          # t2: E=4 old=4 new=6
    tb.check(q)                                  # t3: driver re-arms 0x8002
    assert drv.mem.read(q.driver_area, 2) == bytes([0x02, 0x80])
    await step(a, 1500, 2, 0x8082, True)         # t4: E=6 old=6 new=7
    tb.check(q)                                  # t5: re-arm 0x8003, post D at slot 0 lap 0
    d = drv.add([], [(0x50000, 1500)])
    assert d == 0
    q.nd[d] = 1
    await step(c, 64, 3, 0x8082, True)           # t7: E=7 old=7 new=0 (wrap)
    tb.check(q)                                  # t8: re-arm 0x0000
    assert drv.mem.read(q.driver_area, 2) == bytes([0x00, 0x00])
    # t9 variant first: armed at 0x0002 the device must not notify, then at 0x0000 it must
    e = drv.add([], [(0x60000, 1500)])
    q.nd[e] = 1
    drv.set_driver_event(EventSuppress(2, False, EventFlags.DESC))
    await step(d, 0, 0, 0x0000, False)           # E=2 old=0 new=1: (1-2-1)%8 = 6 >= 1
    tb.check(q)                                  # (DISABLE shadow is DESC: re-arms to 0x0001)
    drv.set_driver_event(EventSuppress(1, False, EventFlags.DESC))
    await step(e, 7, 1, 0x0002, True)            # E=1 old=1 new=2
    tb.check(q)
    tb.summary()


@cocotb.test()
async def test_desc_random(dut):
    """DESC mode with the Linux driver's re-arming, disable_cb / enable_cb / enable_cb_delayed, sizes 3 and 17."""
    tb = await setup(dut)
    for i, n in enumerate((3, 17)):
        q = tb.add_queue(0, i, n, event_idx=True)
        pending: list[int] = []
        for _ in range(60 if n < 10 else 40):
            pending += tb.add_random(q, max_chain=3)
            random.shuffle(pending)
            k = random.randint(0, len(pending))
            await tb.complete(q, pending[:k])
            pending = pending[k:]
            await tb.idle()
            r = random.random()
            if r < 0.15:
                q.drv.disable_cb()
            elif r < 0.3:
                q.drv.enable_cb_delayed()
            elif r < 0.45:
                q.drv.enable_cb()
            tb.check(q, drain=random.random() < 0.7 or len(pending) == 0)
        await tb.complete(q, pending)
        await tb.idle()
        tb.check(q)
    tb.summary()


@cocotb.test()
async def test_enable_cb_delayed(dut):
    """enable_cb_delayed arms 3/4 of the outstanding count ahead: the notification comes exactly there."""
    tb = await setup(dut)
    q = tb.add_queue(0, 5, 16, event_idx=True)
    for rnd in range(3):
        ids = [tb.add_one(q) for _ in range(8)]
        q.drv.disable_cb()
        q.drv.enable_cb_delayed()                    # off = last_used + 6
        ev = EventSuppress.unpack(tb.mem.read(q.driver_area, 4))
        start = q.pos
        expect_at = next(i for i in range(8) if start.advance(i, q.size).off == ev.off
                         and start.advance(i, q.size).wrap == ev.wrap)
        assert expect_at == 6, f"round {rnd}: enable_cb_delayed armed at {ev}, start {start}"
        for i, bid in enumerate(ids):
            before = q.irqs
            await tb.feed(q, bid, 100 + i)
            await tb.idle()
            tb.check(q, drain=False)                  # the driver sleeps: no re-arm
            assert q.irqs - before == int(i == expect_at), (
                f"{q.where} round {rnd}: used #{i} (id {bid}): {q.irqs - before} notifications, "
                f"expected {int(i == expect_at)} (event at {ev.off}/{int(ev.wrap)}) at {now()}")
        tb.check(q)
    tb.summary()


@cocotb.test()
async def test_batching(dut):
    """Back-to-back records of one queue share one event read; decisions still correct."""
    tb = await setup(dut)
    q = tb.add_queue(0, 0, 64, event_idx=True)
    for _ in range(8):
        ids = tb.add_random(q, max_chain=2)
        random.shuffle(ids)
        await tb.complete(q, ids, gaps=(0, 0))
        await tb.idle()
        tb.check(q)
    tb.summary()
    assert q.evals < q.writes, f"{q.where}: {q.evals} evaluations for {q.writes} used writes: no batching"


@cocotb.test()
async def test_two_functions_two_queues(dut):
    """Records of 2 functions x 2 queues interleaved; each queue its own context, vector and mode."""
    tb = await setup(dut)
    qs = [tb.add_queue(0, 0, 5), tb.add_queue(0, 1, 3, event_idx=True),
          tb.add_queue(1, 0, 4, event_idx=True), tb.add_queue(1, 7, 2, callbacks=False)]
    for _ in range(12):
        work = []
        for q in qs:
            ids = tb.add_random(q, max_chain=2)
            random.shuffle(ids)
            work += [(q, i) for i in ids]
        random.shuffle(work)
        # keep each queue's order as shuffled, interleave queues
        for q, bid in work:
            await tb.feed(q, bid, random.randint(0, 5000), gap=random.randint(0, 2))
        await tb.idle()
        for q in qs:
            tb.check(q)
    tb.check_isr_matches_irqs()
    tb.summary()


@cocotb.test()
async def test_no_vector(dut):
    """Queue vector NO_VECTOR: no MSI-X request, the ISR bit is still set."""
    tb = await setup(dut)
    q = tb.add_queue(1, 2, 4, vector=NO_VECTOR)
    for _ in range(5):
        ids = tb.add_random(q, max_chain=1, count=1)
        before = tb.isr[1]
        await tb.complete(q, ids)
        await tb.idle()
        tb.check(q)
        assert tb.isr[1] == before + 1, f"{q.where}: NO_VECTOR: no isr_queue_set pulse at {now()}"
    assert tb.irq_func[1] == 0, f"{q.where}: {tb.irq_func[1]} MSI-X requests for NO_VECTOR at {now()}"


@cocotb.test()
async def test_dma_write_error(dut):
    """A DMA write error: one needs_reset pulse, nothing written, the slot is not consumed."""
    tb = await setup(dut)
    q = tb.add_queue(1, 1, 5)
    other = tb.add_queue(0, 1, 5)
    ids = tb.add_random(q, max_chain=1, count=3)
    await tb.complete(q, ids[:1])
    await tb.idle()
    tb.check(q)
    slot_before = q.pos
    tb.wr_fail_at = tb.wr_total + 1
    await tb.feed(q, ids[1], 77)
    await tb.idle()
    assert tb.needs_reset == [0, 1], f"needs_reset pulses {tb.needs_reset}, expected [0, 1] at {now()}"
    assert q.pos == slot_before and len(tb.failed_writes) == 1
    assert q.drv.drain() == [], f"{q.where}: driver sees a used buffer after a failed write at {now()}"
    # the next record goes to the same slot
    await tb.feed(q, ids[2], 5)
    await tb.idle()
    got = [(u.id, u.len) for u in q.drv.drain()]
    assert got == [(ids[2], 5)], f"{q.where}: after the failed write the driver got {got} at {now()}"
    q.written = []
    tb.check(q)
    # the other function is unaffected
    await tb.complete(other, tb.add_random(other, max_chain=1, count=2))
    await tb.idle()
    tb.check(other)
    assert tb.needs_reset == [0, 1], f"needs_reset pulses {tb.needs_reset} at {now()}"


@cocotb.test()
async def test_event_read_error(dut):
    """A DMA read error on the event area: needs_reset pulse and a (conservative) notification."""
    tb = await setup(dut)
    q = tb.add_queue(0, 4, 4, callbacks=False)
    ids = tb.add_random(q, max_chain=1, count=2)
    tb.rd_fail_at = tb.rd_total + 1
    before = q.irqs
    await tb.complete(q, ids[:1])
    await tb.idle()
    assert tb.needs_reset == [1, 0], f"needs_reset pulses {tb.needs_reset}, expected [1, 0] at {now()}"
    assert q.irqs == before + 1, f"{q.where}: no conservative notification after a read error at {now()}"
    tb.check(q)


@cocotb.test()
async def test_bad_records(dut):
    """num_desc 0 / > N: needs_reset, nothing written; disabled queue, unknown queue/function: dropped."""
    tb = await setup(dut)
    q = tb.add_queue(0, 0, 4)
    off = tb.add_queue(0, 1, 4, enable=False)
    ids = tb.add_random(q, max_chain=1, count=2)
    await tb.feed(q, ids[0], 10, nd=0)
    await tb.idle()
    await tb.feed(q, ids[0], 10, nd=5)
    await tb.idle()
    assert tb.needs_reset == [2, 0], f"needs_reset pulses {tb.needs_reset}, expected [2, 0] at {now()}"
    await tb.feed(off, tb.add_one(off), 10)
    off.expect.clear()
    await tb.idle()
    d = tb.dut
    for f, qi in ((0, 200), (5, 0)):                   # out of range: dropped
        d.s_axis_used_func.value = f
        d.s_axis_used_queue.value = qi
        d.s_axis_used_num_desc.value = 1
        d.s_axis_used_valid.value = 1
        await RisingEdge(d.clk)
        while not int(d.s_axis_used_ready.value):
            await RisingEdge(d.clk)
        d.s_axis_used_valid.value = 0
        await tb.idle()
    assert tb.wr_total == 0 and tb.rd_total == 0, (f"{tb.wr_total} DMA writes / {tb.rd_total} reads "
                                                    f"for dropped records at {now()}")
    assert tb.needs_reset == [2, 0], f"needs_reset pulses {tb.needs_reset} at {now()}"
    # the queue still works from slot 0
    await tb.complete(q, ids)
    await tb.idle()
    tb.check(q)


@cocotb.test()
async def test_queue_reset(dut):
    """A queue reset returns the used context to slot 0, wrap 1; other queues keep theirs."""
    tb = await setup(dut)
    q = tb.add_queue(0, 2, 5)
    other = tb.add_queue(0, 3, 3)
    await run_rounds(tb, q, laps=1)
    await run_rounds(tb, other, laps=1)
    if q.pos.off == 0:                                  # leave the context mid-ring
        await tb.complete(q, [tb.add_one(q)])
        await tb.idle()
        tb.check(q)
    assert q.pos != RingPos(0, True)
    await tb.queue_reset(q)
    # the driver re-creates the ring (same addresses)
    q.drv = PackedRingDriver(tb.mem, q.size, q.desc, q.driver_area, q.device_area)
    q.chk.reset()
    q.pos = RingPos(0, True)
    q.nd = {}
    await run_rounds(tb, q, laps=2)
    await run_rounds(tb, other, laps=1)
    tb.summary()


def fresh_ring(tb: TB, q: Queue):
    """The driver re-creates the ring after a queue/function reset (same addresses)."""
    q.drv = PackedRingDriver(tb.mem, q.size, q.desc, q.driver_area, q.device_area)
    q.chk.reset()
    q.pos = RingPos(0, True)
    q.nd = {}
    q.expect.clear()
    q.written = []
    q.reads_since = q.writes_since = q.recs_since = q.count_since = 0


@cocotb.test()
async def test_queue_reset_in_flight(dut):
    """A queue reset while a used write is in flight: the write finishes, no event read, no
    notification, nothing written back; the queue restarts at slot 0, wrap 1."""
    tb = await setup(dut)
    q = tb.add_queue(0, 6, 5)
    await run_rounds(tb, q, laps=1)
    if q.pos.off == 0:
        await tb.complete(q, [tb.add_one(q)])
        await tb.idle()
        tb.check(q)
    tb.dma_delay = (30, 40)
    rd_before, irq_before = tb.rd_total, q.irqs
    bid = tb.add_one(q)
    await tb.feed(q, bid, 9)
    while not tb.wr_inflight:
        await RisingEdge(dut.clk)
    await tb.queue_reset(q)
    await tb.idle()
    assert tb.rd_total == rd_before and q.irqs == irq_before, (
        f"{q.where}: {tb.rd_total - rd_before} event reads / {q.irqs - irq_before} notifications "
        f"after a reset in flight at {now()}")
    tb.dma_delay = (1, 10)
    fresh_ring(tb, q)
    await run_rounds(tb, q, laps=2)
    tb.summary()


@cocotb.test()
async def test_func_reset(dut):
    """func_reset[1] (level) resets every queue of function 1 and drops its records; function 0
    keeps its position; func_quiesced[1] is low only while a record of function 1 is served."""
    tb = await setup(dut)
    q0 = tb.add_queue(0, 0, 5)
    q1 = tb.add_queue(1, 0, 5)
    q1b = tb.add_queue(1, 3, 3)
    busy_f1 = 0

    async def watch():
        nonlocal busy_f1
        while True:
            await RisingEdge(dut.clk)
            if not int(dut.func_quiesced.value) >> 1 & 1:
                busy_f1 += 1
            if not int(dut.func_quiesced.value) & 1 and not int(dut.busy.value):
                tb._fail("func_quiesced[0] low while the DUT is idle")

    cocotb.start_soon(watch())
    for q in (q0, q1, q1b):
        await run_rounds(tb, q, laps=1)
        if q.pos.off == 0:
            await tb.complete(q, [tb.add_one(q)])
            await tb.idle()
            tb.check(q)
    assert busy_f1 > 0, f"func_quiesced[1] never low while function 1 was served at {now()}"
    pos0 = q0.pos
    dut.func_reset.value = 0b10
    # a record of function 1 during the reset is dropped (no DMA)
    wr_before = tb.wr_total
    await tb.feed(q1, tb.add_one(q1), 3)
    q1.expect.clear()
    await tb.idle()
    dut.func_reset.value = 0
    await RisingEdge(dut.clk)
    assert tb.wr_total == wr_before, f"func 1: {tb.wr_total - wr_before} DMA writes during func_reset at {now()}"
    assert q0.pos == pos0
    for q in (q1, q1b):
        fresh_ring(tb, q)
    for q in (q0, q1, q1b):
        await run_rounds(tb, q, laps=1)
    tb.check_errors()
    tb.summary()


@cocotb.test()
async def test_desc_offset_out_of_range(dut):
    """DESC with desc_event_off >= N (a driver error): notify conservatively, every batch."""
    tb = await setup(dut)
    q = tb.add_queue(1, 4, 6, event_idx=True)
    for _ in range(8):
        q.drv.set_driver_event(EventSuppress(random.randint(q.size, 0x7FFF), random.random() < 0.5,
                                             EventFlags.DESC))
        ids = tb.add_random(q, max_chain=2, count=1)
        before = q.irqs
        await tb.complete(q, ids)
        await tb.idle()
        tb.check(q)
        assert q.irqs == before + 1, f"{q.where}: DESC offset >= N: no notification at {now()}"
    tb.summary()
