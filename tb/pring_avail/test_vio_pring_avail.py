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
from pymodel.packed_layout import DescFlag, PackedDesc
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
        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())

    # -- setup ---------------------------------------------------------------
    async def reset(self):
        d = self.dut
        for s in ("s_axis_notify_valid", "ctx_rsp_valid", "queue_reset_valid", "func_reset",
                  "m_axis_rd_desc_ready", "s_axis_rd_desc_status_valid", "m_axis_buf_ready",
                  "m_axis_seg_ready"):
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
                           indirect=int(d.m_axis_buf_indirect.value), error=int(d.m_axis_buf_error.value))
                if not self.seg_groups:
                    self._fail(f"buffer record {rec} without a completed segment list before it")
                    segs = []
                else:
                    segs = self.seg_groups.pop(0)
                q = self.queues.get((rec["func"], rec["queue"]))
                if q is None:
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
                    and not self.dma_inflight):
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
            exp_rec = dict(func=q.func, queue=q.queue, id=buf.id, slot=buf.head, wrap=int(buf.head_wrap),
                           ndesc=buf.ndescs, indirect=int(buf.indirect), error=0)
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
