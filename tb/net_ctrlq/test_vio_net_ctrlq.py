"""Focused bench for ``vio_net_ctrlq`` (virtio-net control-virtqueue engine).

The DUT runs alone.  Around it:

* host memory: pymodel ``SparseMemory``; each command is a pymodel
  ``Buffer`` whose readable bytes ``{class, command, data}`` and writable room
  are cut into segments at random (class and command in different
  descriptors, zero-length segments, many small segments as an indirect table
  gives, odd addresses above 4 GiB); writable bytes are filled with junk first
  so an unwritten byte is told from a written one;
* the segments and the record are driven on s_axis_seg / s_axis_buf;
* a ctx responder (one cycle) with per-function live;
* a DMA read responder: checks every descriptor (function, tag, length, host
  range inside ONE non-empty readable segment, readable offset below
  min(readable, mailbox), RAM address = region base + readable offset,
  func_quiesced low), copies host bytes into the read-RAM model after a
  random delay (several in flight, completing out of order) and answers the
  status (or an injected error);
* a DMA write responder: the same checks against the writable segments (RAM
  address = base + writable offset); the bytes are taken from the write-RAM
  model when the write completes;
* the "firmware": on each rising mb_valid it samples the mailbox (and checks
  mb_cmd_irq pulses with it), decodes class / command / data from
  mb_cmd_data / mb_cmd_len and runs pymodel ``NetCtrl.handle`` (its own
  instance per function, configured NetConfig and negotiated features), then
  after a random delay drives ack + result on mb_rsp_data (junk after
  mb_rsp_len) / mb_rsp_len and pulses mb_done.  Policy: a command longer than
  the mailbox (mb_cmd_len > MB_WORDS*4) is answered VIRTIO_NET_ERR without
  being executed.  Other modes: silent (never answers), late (answers after
  mb_valid fell), custom (a given answer and rsp_len);
* a used-record sink with random backpressure and a monitor (needs_reset,
  mailbox interrupts, func_quiesced, buffer-RAM rows inside the regions).

Expectations: a second ``NetCtrl`` per function (the reference) runs pymodel
``NetCtrl.process`` on a copy of host memory: ack / result bytes in the
writable segments, used len, DEVICE_NEEDS_RESET on framing errors; the bytes
the firmware saw equal the buffer's readable bytes; DMA moves exactly
min(readable, mailbox) bytes in and the used len out.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Callable, Optional

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge

from pymodel.buffers import Buffer, Segment
from pymodel.errors import DeviceNeedsReset
from pymodel.features import NetFeature as NF
from pymodel.memory import SparseMemory
from pymodel.net import NetConfig
from pymodel.net_ctrl import Ack, NetCtrl
from tb.engine_ports import feed_buffer, serve_ctx, serve_rd_status, sink_used, serve_wr_status
from tb.util import now, serve_buffer_ram

DMA_OK = 0
DMA_ERR_UR = 1
PERIOD_NS = 4
VERSION_1 = 1 << 32
MAX_PAIRS = 4


def feats(*bits: int) -> int:
    return VERSION_1 | sum(1 << int(b) for b in bits)


# negotiated features: function 0 everything the model knows, function 1 a subset
NEGOTIATED = [
    feats(NF.CTRL_VQ, NF.CTRL_RX, NF.CTRL_VLAN, NF.CTRL_RX_EXTRA, NF.GUEST_ANNOUNCE, NF.MQ, NF.CTRL_MAC_ADDR,
          NF.CTRL_GUEST_OFFLOADS, NF.NOTF_COAL, NF.VQ_NOTF_COAL, NF.GUEST_CSUM, NF.GUEST_TSO4, NF.GUEST_TSO6),
    feats(NF.CTRL_VQ, NF.CTRL_RX, NF.CTRL_MAC_ADDR, NF.NOTF_COAL, NF.GUEST_CSUM),
]
ENABLED_VQS = {0, 1, 2, 3, 5}


def new_ctrl(func: int) -> NetCtrl:
    cfg = NetConfig(mac=bytes([0x52, 0x54, 0, 0x12, 0x34, 0x50 + func]), max_virtqueue_pairs=MAX_PAIRS)
    c = NetCtrl(cfg, vq_enabled=lambda vq: vq in ENABLED_VQS)
    c.set_features(NEGOTIATED[func % len(NEGOTIATED)])
    return c


@dataclass
class Req:
    """One control command as the bench builds and feeds it."""

    func: int
    queue: int
    id: int
    num_desc: int
    buf: Buffer
    seg_error: bool = False
    rec_error: bool = False

    @property
    def where(self) -> str:
        r = self.buf.readable_len
        head = ""
        if r >= 2:
            head = f"class {self.cmd_bytes[0]} command {self.cmd_bytes[1]}, "
        return (f"func {self.func} queue {self.queue} id {self.id} ({head}{r} readable / "
                f"{self.buf.writable_len} writable bytes in {len(self.buf.segments)} segments)")

    cmd_bytes: bytes = b""


@dataclass
class Expect:
    """What must happen for one command."""

    needs_reset: bool = False
    mailbox: bool = True            # the firmware sees the command
    used_len: Optional[int] = None  # None: no used record
    mem: Optional[SparseMemory] = None   # None: compute from the firmware's answer
    timeout: bool = False
    no_reads: bool = False          # not even a DMA read (framing errors, too many segments)


def copy_mem(mem: SparseMemory) -> SparseMemory:
    out = SparseMemory()
    out._pages = {k: bytearray(v) for k, v in mem._pages.items()}
    return out


def cycles() -> int:
    return int(get_sim_time("ns")) // PERIOD_NS


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.log.info("seed %s", cocotb.RANDOM_SEED)
        self.num_func = int(dut.NUM_FUNC.value)
        self.max_segs = int(dut.MAX_SEGS.value)
        self.mb_bytes = int(dut.MB_WORDS.value) * 4
        self.mb_rows = (self.mb_bytes + 63) // 64
        self.us_cycles = int(dut.US_CYCLES.value)
        self.rd_base = int(dut.RD_RAM_ADDR.value)
        self.wr_base = int(dut.WR_RAM_ADDR.value)
        self.rd_tag = int(dut.RD_DMA_TAG.value)
        self.wr_tag = int(dut.WR_DMA_TAG.value)
        ram_size = 1 << int(dut.RAM_ADDR_W.value)
        self.rd_ram = bytearray(ram_size)
        self.wr_ram = bytearray(ram_size)
        self.mem = SparseMemory()
        self.fw = [new_ctrl(f) for f in range(self.num_func)]      # the firmware's state
        self.ref = [new_ctrl(f) for f in range(self.num_func)]     # the reference
        self.live = [True] * self.num_func
        self.next_addr = 0x1_2340_0000
        self.cur: Optional[Req] = None
        self.dma_delay = (1, 12)
        self.rd_fail_at: Optional[int] = None
        self.wr_fail_at: Optional[int] = None
        self.rd_total = self.wr_total = 0
        self.rd_bytes = self.wr_bytes = 0
        self.rd_inflight = self.wr_inflight = 0
        self.rd_status_q: list = []
        self.wr_status_q: list = []
        # firmware
        self.fw_mode = "normal"
        self.fw_delay = (0, 40)
        self.fw_custom: Optional[Callable[[dict], tuple[bytes, int]]] = None
        self.fw_seen: list[dict] = []
        self.fw_answers: list[dict] = []
        self.fw_pending = 0
        self.cmd_irqs = 0
        self.timeout_irqs: list[int] = []       # cycle of each pulse
        self.used: list = []
        self.needs_reset = [0] * self.num_func
        self.errors: list[str] = []
        self.used_ready_p = 0.7
        cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())

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
                  "s_axis_wr_desc_status_error", "buf_rd_data", "mb_done", "mb_rsp_len", "mb_rsp_data",
                  "mb_timeout_us", "m_axis_used_ready"):
            getattr(d, s).value = 0
        d.rst.value = 1
        await ClockCycles(d.clk, 4)
        d.rst.value = 0
        await RisingEdge(d.clk)
        for co in (self._ctx_responder, self._rd_responder, self._wr_responder, self._rd_status,
                   self._wr_status, self._ram_ports, self._firmware, self._used_sink, self._monitor):
            cocotb.start_soon(co())

    def _fail(self, msg: str):
        full = f"{msg} at {now()}"
        self.errors.append(full)
        self.log.error(full)

    def where(self) -> str:
        return self.cur.where if self.cur else "no command"

    def quiesced(self, f: int) -> bool:
        return bool(int(self.dut.func_quiesced.value) >> f & 1)

    # -- models --------------------------------------------------------------
    async def _ctx_responder(self):
        await serve_ctx(self.dut, lambda f: (self.live[f], NEGOTIATED[f % 2]) if f < self.num_func else (False, 0))

    def _check_desc(self, kind: str, f: int, addr: int, ram: int, n: int, tag: int):
        """Descriptor checks: tag, length, inside one segment, RAM address = base + stream offset."""
        req = self.cur
        base, exp_tag = (self.rd_base, self.rd_tag) if kind == "read" else (self.wr_base, self.wr_tag)
        if tag != exp_tag:
            self._fail(f"DMA {kind} func {f}: tag {tag}, expected {exp_tag}")
        if n == 0 or n > self.mb_bytes:
            self._fail(f"DMA {kind} func {f} addr {addr:#x}: length {n}, expected 1..{self.mb_bytes}")
        if not (base <= ram and ram + n <= base + self.mb_bytes):
            self._fail(f"DMA {kind} func {f}: RAM range {ram:#x}+{n} outside the mailbox region "
                       f"{base:#x}+{self.mb_bytes}")
        if req is None:
            self._fail(f"DMA {kind} func {f} addr {addr:#x} len {n} without a command")
            return
        if f != req.func:
            self._fail(f"{req.where}: DMA {kind} with func {f}")
        if self.quiesced(f):
            self._fail(f"{req.where}: DMA {kind} while func_quiesced[{f}] is high")
        segs = req.buf.readable if kind == "read" else req.buf.writable
        pos = 0
        for s in segs:
            if s.length and s.addr <= addr and addr + n <= s.end:
                off = pos + addr - s.addr
                if ram != base + off:
                    self._fail(f"{req.where}: DMA {kind} {addr:#x}+{n} ({kind} offset {off}) uses RAM {ram:#x}, "
                               f"expected {base + off:#x}")
                if kind == "read" and off + n > self.mb_bytes:
                    self._fail(f"{req.where}: DMA read of readable bytes {off}..{off + n - 1}, beyond the "
                               f"mailbox ({self.mb_bytes} bytes)")
                return
            pos += s.length
        self._fail(f"{req.where}: DMA {kind} {addr:#x}+{n} not inside one {'readable' if kind == 'read' else 'writable'} "
                   f"segment {[(hex(s.addr), s.length) for s in segs]}")

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
            self.rd_bytes += n
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
            self.wr_bytes += n
            self._check_desc("write", f, addr, ram, n, tag)
            if int(d.mb_valid.value):
                self._fail(f"{self.where()}: DMA write {addr:#x}+{n} while mb_valid is high (no answer yet)")
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

    # -- firmware ----------------------------------------------------------------
    async def _firmware(self):
        d = self.dut
        prev = 0
        while True:
            await RisingEdge(d.clk)
            v = int(d.mb_valid.value)
            if v and not prev:
                snap = dict(func=int(d.mb_func.value), queue=int(d.mb_queue.value),
                            cmd_len=int(d.mb_cmd_len.value), rsp_room=int(d.mb_rsp_room.value),
                            data=int(d.mb_cmd_data.value).to_bytes(self.mb_bytes, "little"),
                            cycle=cycles(), mode=self.fw_mode)
                if not int(d.mb_cmd_irq.value):
                    self._fail(f"{self.where()}: mb_valid rose without an mb_cmd_irq pulse")
                self.fw_seen.append(snap)
                self.fw_pending += 1
                cocotb.start_soon(self._answer(snap))
            prev = v

    def _decide(self, snap: dict) -> tuple[bytes, int]:
        """The firmware's answer (ack + result, rsp_len) for a command it sees."""
        f = snap["func"] % self.num_func
        if snap["cmd_len"] > self.mb_bytes:
            return bytes([Ack.ERR]), 1           # cannot see it whole: ERR, not executed
        raw = snap["data"][: snap["cmd_len"]]
        if len(raw) < 2 or snap["rsp_room"] < 1:
            self._fail(f"{self.where()}: the firmware was given a command of {len(raw)} readable / "
                       f"{snap['rsp_room']} writable bytes (a framing error: needs_reset, never the mailbox)")
            return bytes([Ack.ERR]), 1
        out = self.fw[f].handle(raw[0], raw[1], raw[2:], snap["rsp_room"])
        ans = bytes([out.ack]) + out.result
        return ans, len(ans)

    async def _answer(self, snap: dict):
        d = self.dut
        try:
            mode = snap["mode"]
            if mode == "silent":
                return
            if mode == "late":
                while int(d.mb_valid.value):
                    await RisingEdge(d.clk)
                await ClockCycles(d.clk, random.randint(0, 12))
                ans, rsp_len = bytes([Ack.OK]) + random.randbytes(8), 9
            else:
                await ClockCycles(d.clk, random.randint(*self.fw_delay))
                if not int(d.mb_valid.value):
                    self._fail(f"{self.where()}: mb_valid fell before the firmware answered (mode {mode})")
                    return
                cur = int(d.mb_cmd_data.value).to_bytes(self.mb_bytes, "little")
                if cur != snap["data"] or int(d.mb_cmd_len.value) != snap["cmd_len"]:
                    self._fail(f"{self.where()}: mailbox command changed while mb_valid was high")
                if mode == "custom":
                    ans, rsp_len = self.fw_custom(snap)
                else:
                    ans, rsp_len = self._decide(snap)
            pad = ans[: self.mb_bytes] + random.randbytes(max(0, self.mb_bytes - len(ans)))
            d.mb_rsp_data.value = int.from_bytes(pad, "little")
            d.mb_rsp_len.value = rsp_len
            d.mb_done.value = 1
            self.fw_answers.append(dict(ans=pad, rsp_len=rsp_len, mode=mode, cycle=cycles()))
            await RisingEdge(d.clk)
            d.mb_done.value = 0
        finally:
            self.fw_pending -= 1

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
            if int(d.mb_cmd_irq.value):
                self.cmd_irqs += 1
            if int(d.mb_timeout_irq.value):
                self.timeout_irqs.append(cycles())
                if int(d.mb_valid.value):
                    self._fail(f"{self.where()}: mb_timeout_irq with mb_valid still high")
            for port, base in (("buf_wr", self.wr_base), ("buf_rd", self.rd_base)):
                if int(getattr(d, port + "_en").value):
                    row = int(getattr(d, port + "_addr").value)
                    if not base // 64 <= row < base // 64 + self.mb_rows:
                        self._fail(f"{self.where()}: {port} row {row:#x} outside the mailbox region "
                                   f"{base // 64:#x}+{self.mb_rows} rows")
            if not int(d.busy.value) and int(d.func_quiesced.value) != (1 << self.num_func) - 1:
                self._fail(f"func_quiesced {int(d.func_quiesced.value):#x} while the DUT is idle")
            if int(d.mb_valid.value):
                f = int(d.mb_func.value)
                if f < self.num_func and self.quiesced(f):
                    self._fail(f"{self.where()}: mb_valid high while func_quiesced[{f}] is high")
                if not int(d.busy.value):
                    self._fail("mb_valid high while the DUT is not busy")

    # -- commands ----------------------------------------------------------------
    def alloc(self, n: int) -> int:
        addr = self.next_addr + random.randrange(64)
        # the next block starts past this one's end (the random offset above included): no overlap
        self.next_addr = (addr + n + 64 + random.randrange(4096)) & ~0x3F
        return addr

    @staticmethod
    def cuts(n: int, k: int) -> list[int]:
        """``n`` bytes in ``k`` pieces (zero-length ones possible, odd boundaries)."""
        if k <= 1:
            return [n]
        pts = sorted(random.randint(0, n) for _ in range(k - 1))
        return [b - a for a, b in zip([0] + pts, pts + [n])]

    def build(self, func: int, readable: bytes, room: int, *, queue: Optional[int] = None,
              rsegs: Optional[int] = None, wsegs: Optional[int] = None, split_head: bool = False) -> Req:
        """A command: ``readable`` bytes, ``room`` writable bytes, random layout."""
        budget = self.max_segs
        if rsegs is None:
            left = budget - (wsegs if wsegs is not None else 1)
            rsegs = random.choice([1, 1, 2, random.randint(1, max(1, left // 2)), max(1, left)])
        if wsegs is None:
            wsegs = random.randint(1 if room else 0, max(1, min(4, budget - rsegs)))
        cuts = self.cuts(len(readable), rsegs)
        if split_head and len(readable) >= 2 and rsegs >= 2:
            cuts = [1] + self.cuts(len(readable) - 1, rsegs - 1)   # class and command apart
        segs = []
        pos = 0
        for n in cuts:
            a = self.alloc(n)
            self.mem.write(a, readable[pos:pos + n])
            pos += n
            segs.append(Segment(a, n, False))
        wsegs_l = []
        for n in (self.cuts(room, wsegs) if wsegs else []):
            a = self.alloc(n)
            self.mem.write(a, random.randbytes(n))
            wsegs_l.append(Segment(a, n, True))
        bid = random.randrange(1 << 16)
        nd = random.randint(1, 64)
        buf = Buffer(id=bid, segments=tuple(segs + wsegs_l), ndescs=nd, head=0)
        q = 2 * MAX_PAIRS if queue is None else queue
        return Req(func, q, bid, nd, buf, cmd_bytes=bytes(readable[:2]))

    def rand_cmd(self) -> tuple[bytes, int]:
        """A random control command (valid or not) and a writable room for it."""
        r = random.random
        kind = random.randrange(14)
        room = random.choice([1, 1, 1, 2, random.randint(1, 12)])
        if kind == 0:
            cmd = bytes([0, random.randrange(7)]) + bytes([random.randrange(2)]) * random.choice([0, 1, 1, 3])
        elif kind == 1:
            n_u, n_m = random.randrange(4), random.randrange(4)
            body = n_u.to_bytes(4, "little") + random.randbytes(6 * n_u) + n_m.to_bytes(4, "little") + random.randbytes(6 * n_m)
            if r() < 0.2:
                body += b"\0"                   # not exact: ERR
            cmd = bytes([1, 0]) + body
        elif kind == 2:
            cmd = bytes([1, 1]) + random.randbytes(random.choice([6, 6, 6, 5, 7]))
        elif kind == 3:
            vid = random.choice([random.randrange(4096), random.randrange(4096, 65536)])
            cmd = bytes([2, random.choice([0, 1, 1, 2])]) + vid.to_bytes(2, "little") + random.randbytes(random.choice([0, 0, 3]))
        elif kind == 4:
            cmd = bytes([3, random.choice([0, 0, 1])])
        elif kind == 5:
            cmd = bytes([4, random.choice([0, 0, 1])]) + random.randrange(7).to_bytes(2, "little")
        elif kind == 6:
            bitmap = random.choice([0, 1 << NF.GUEST_CSUM, (1 << NF.GUEST_CSUM) | (1 << NF.GUEST_TSO4), 1 << NF.GUEST_UFO])
            cmd = bytes([5, 0]) + bitmap.to_bytes(8, "little")
        elif kind == 7:
            cmd = bytes([6, random.randrange(2)]) + random.randbytes(8)
        elif kind == 8:
            cmd = bytes([6, 2]) + random.randrange(8).to_bytes(2, "little") + bytes(2) + random.randbytes(8)
        elif kind == 9:
            cmd = bytes([6, 3]) + random.randrange(8).to_bytes(2, "little")
            room = random.choice([1, 8, 9, 9, 12])
        elif kind == 10:
            cmd = bytes([random.choice([7, 0x80, 0xFF]), random.randrange(256)]) + random.randbytes(random.randrange(6))
        elif kind == 11:
            cmd = bytes([0, random.randrange(2)])     # no data: ERR
        else:
            cmd = bytes([random.randrange(7), random.randrange(4)]) + random.randbytes(random.randrange(20))
        return cmd, room

    def rand_req(self, func: Optional[int] = None) -> Req:
        f = random.randrange(self.num_func) if func is None else func
        cmd, room = self.rand_cmd()
        return self.build(f, cmd, room, split_head=random.random() < 0.3)

    def expect(self, req: Req) -> Expect:
        """pymodel's outcome with the bench firmware in normal mode, on a copy of memory."""
        buf = req.buf
        if len(buf.segments) > self.max_segs:
            return Expect(needs_reset=True, mailbox=False, no_reads=True)
        mem2 = copy_mem(self.mem)
        if buf.readable_len < 2 or buf.writable_len < 1:
            try:
                self.ref[req.func].process(buf, mem2, queue=req.queue)
            except DeviceNeedsReset:
                return Expect(needs_reset=True, mailbox=False, no_reads=True)
            raise AssertionError("bench: pymodel accepted a framing error")
        if buf.readable_len > self.mb_bytes:
            n = buf.scatter(mem2, bytes([Ack.ERR]))           # bench firmware policy
            return Expect(used_len=n, mem=mem2)
        out = self.ref[req.func].process(buf, mem2, queue=req.queue)
        return Expect(used_len=min(out.used_len, buf.writable_len), mem=mem2)

    async def feed(self, req: Req):
        self.cur = req
        await feed_buffer(self.dut, req.buf.segments, func=req.func, queue=req.queue, buf_id=req.id, num_desc=req.num_desc,
                          seg_error=req.seg_error, rec_error=req.rec_error,
                          indirect=len(req.buf.segments) > 4)

    async def idle(self, limit: int = 200000):
        d = self.dut
        quiet = 0
        for _ in range(limit):
            await RisingEdge(d.clk)
            if (not int(d.busy.value) and not self.rd_inflight and not self.wr_inflight and not self.fw_pending
                    and not self.rd_status_q and not self.wr_status_q and not int(d.mb_valid.value)):
                quiet += 1
                if quiet >= 4:
                    return
            else:
                quiet = 0
        raise AssertionError(f"{self.where()}: DUT still busy after {limit} cycles at {now()} "
                             f"(busy {int(d.busy.value)}, mb_valid {int(d.mb_valid.value)}, {self.rd_inflight} reads / "
                             f"{self.wr_inflight} writes in flight, firmware pending {self.fw_pending}); "
                             f"bench errors: {self.errors}")

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

    def check_seen(self, req: Req, snap: dict):
        """The mailbox carried the buffer's readable bytes and sizes."""
        w = req.where
        raw = req.buf.gather(self.mem)
        n = min(len(raw), self.mb_bytes)
        want = dict(func=req.func, queue=req.queue, cmd_len=min(len(raw), 0xFFFF),
                    rsp_room=min(req.buf.writable_len, 0xFFFF))
        got = {k: snap[k] for k in want}
        assert got == want, f"{w}: mailbox {got}, expected {want} at {now()}"
        data = snap["data"]
        if data[:n] != raw[:n]:
            j = next(k for k in range(n) if data[k] != raw[k])
            raise AssertionError(f"{w}: mb_cmd_data byte {j} is {data[j]:#04x}, expected readable byte "
                                 f"{raw[j]:#04x} (firmware saw {data[:n].hex()}, buffer has {raw[:n].hex()}) at {now()}")
        if any(data[n:]):
            j = n + next(k for k, b in enumerate(data[n:]) if b)
            raise AssertionError(f"{w}: mb_cmd_data byte {j} is {data[j]:#04x} beyond the {n} command bytes, "
                                 f"expected 0 at {now()}")

    async def run(self, req: Req, exp: Optional[Expect] = None, *, mode: str = "normal") -> Expect:
        """Feed one command, wait for the DUT (and the firmware) to go idle, compare."""
        self.fw_mode = mode
        if exp is None and mode in ("silent", "late"):
            # the firmware does not execute it (the reference must not either): ERR by timeout
            mem2 = copy_mem(self.mem)
            req.buf.scatter(mem2, bytes([Ack.ERR]))
            exp = Expect(used_len=1, mem=mem2, timeout=True)
        exp = exp or self.expect(req)
        mem_before = copy_mem(self.mem)
        nr0 = list(self.needs_reset)
        used0, seen0, ans0, wr0, rd0 = len(self.used), len(self.fw_seen), len(self.fw_answers), self.wr_total, self.rd_total
        rdb0, wrb0, irq0, to0 = self.rd_bytes, self.wr_bytes, self.cmd_irqs, len(self.timeout_irqs)
        await self.feed(req)
        await self.idle()
        self.check_errors()
        w = req.where
        got_nr = [a - b for a, b in zip(self.needs_reset, nr0)]
        want_nr = [int(exp.needs_reset and f == req.func) for f in range(self.num_func)]
        assert got_nr == want_nr, f"{w}: needs_reset pulses {got_nr}, expected {want_nr} at {now()}"
        used = self.used[used0:]
        seen = self.fw_seen[seen0:]
        assert self.cmd_irqs - irq0 == len(seen), f"{w}: {self.cmd_irqs - irq0} mb_cmd_irq pulses for {len(seen)} commands at {now()}"
        if not exp.mailbox:
            assert not seen, f"{w}: the firmware was given {len(seen)} command(s), expected none at {now()}"
            assert not used, f"{w}: used records {used}, expected none at {now()}"
            assert self.wr_total == wr0, f"{w}: {self.wr_total - wr0} DMA writes, expected none at {now()}"
            if exp.no_reads:
                assert self.rd_total == rd0, f"{w}: {self.rd_total - rd0} DMA reads, expected none at {now()}"
            diff = self.mem_diff(req, mem_before)
            assert diff is None, f"{w}: host memory changed: {diff} at {now()}"
            return exp
        assert len(seen) == 1, f"{w}: the firmware was given {len(seen)} commands, expected 1 at {now()}"
        self.check_seen(req, seen[0])
        cmd_n = min(req.buf.readable_len, self.mb_bytes)
        assert self.rd_bytes - rdb0 == cmd_n, f"{w}: {self.rd_bytes - rdb0} bytes read by DMA, expected {cmd_n} at {now()}"
        timeouts = self.timeout_irqs[to0:]
        if exp.timeout:
            tmo = int(self.dut.mb_timeout_us.value) * self.us_cycles
            assert len(timeouts) == 1, f"{w}: {len(timeouts)} mb_timeout_irq pulses, expected 1 at {now()}"
            dt = timeouts[0] - seen[0]["cycle"]
            assert tmo <= dt <= tmo + 2, (f"{w}: mb_timeout_irq {dt} cycles after mb_valid rose, expected "
                                          f"{tmo}..{tmo + 2} (timeout {tmo // self.us_cycles} us) at {now()}")
        else:
            assert not timeouts, f"{w}: mb_timeout_irq pulses at cycles {timeouts}, expected none at {now()}"
        if exp.mem is None:
            # custom answer: the first min(rsp_len, writable, mailbox) bytes of it at writable offset 0
            ans = self.fw_answers[ans0:]
            assert len(ans) == 1, f"{w}: bench: {len(ans)} firmware answers"
            n = min(ans[0]["rsp_len"], req.buf.writable_len, self.mb_bytes)
            exp.mem = copy_mem(mem_before)
            req.buf.scatter(exp.mem, ans[0]["ans"][:n])
            exp.used_len = n
        want = dict(func=req.func, queue=req.queue, id=req.id, len=exp.used_len, num_desc=req.num_desc)
        assert used == [want], f"{w}: used records {used}, expected [{want}] at {now()}"
        diff = self.mem_diff(req, exp.mem)
        assert diff is None, f"{w}: host memory: {diff} at {now()}"
        assert self.wr_bytes - wrb0 == exp.used_len, (f"{w}: {self.wr_bytes - wrb0} bytes written by DMA, expected "
                                                      f"{exp.used_len} at {now()}")
        return exp


async def setup(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


def head_pieces(req: Req, limit: int) -> int:
    """DMA reads the gather takes: non-empty readable segments overlapping bytes 0..limit-1."""
    pos, n = 0, 0
    for s in req.buf.readable:
        if s.length and pos < limit:
            n += 1
        pos += s.length
    return n


def ans_pieces(req: Req, n: int) -> int:
    """DMA writes an answer of ``n`` bytes takes."""
    return len(req.buf.writable_ranges(0, n))


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------

@cocotb.test()
async def test_random_commands(dut):
    """Random control commands (every class, valid and invalid) on both functions, random layouts
    (class / command in different descriptors, zero-length segments, many small segments),
    random firmware delay, timeout off or generous."""
    tb = await setup(dut)
    stats: dict = {}
    for i in range(70):
        tb.dut.mb_timeout_us.value = random.choice([0, 0, 1000])
        req = tb.rand_req()
        exp = await tb.run(req)
        ack = tb.mem.read(*req.buf.writable_ranges(0, 1)[0])[0]
        key = (req.cmd_bytes[0], "OK" if ack == Ack.OK else "ERR")
        stats[key] = stats.get(key, 0) + 1
    tb.log.info("(class, ack) counts: %s", sorted(stats.items()))
    oks = sum(v for (c, a), v in stats.items() if a == "OK")
    assert oks >= 10, f"only {oks} commands answered OK in the random mix at {now()}"
    # the firmware's state followed the reference (same commands, same order)
    for f in range(tb.num_func):
        assert tb.fw[f].config.mac == tb.ref[f].config.mac and tb.fw[f].curr_pairs == tb.ref[f].curr_pairs, (
            f"func {f}: firmware state (mac {tb.fw[f].config.mac.hex()}, pairs {tb.fw[f].curr_pairs}) differs from "
            f"the reference (mac {tb.ref[f].config.mac.hex()}, pairs {tb.ref[f].curr_pairs}) at {now()}")


@cocotb.test()
async def test_framing_errors(dut):
    """Fewer than 2 readable bytes, or no writable byte (none, or only zero-length ones):
    needs_reset, no mailbox, no DMA, no used record."""
    tb = await setup(dut)
    cases = [(b"", 1, 1, 1), (b"", 4, 0, 1), (b"\x00", 2, 3, 2), (b"\x04", 1, 1, 1),
             (b"\x00\x00\x01", 1, 2, 0), (b"\x04\x00\x02\x00", 2, 1, 0), (b"\x01\x01", 0, 1, 3),
             (b"\x00", 0, 1, 0)]
    for cmd, room, rsegs, wsegs in cases:
        req = tb.build(random.randrange(2), cmd, room, rsegs=rsegs, wsegs=wsegs)
        exp = await tb.run(req)
        assert exp.needs_reset, f"bench: pymodel does not call {req.where} a framing error"
        await tb.run(tb.rand_req())


@cocotb.test()
async def test_oversized_command(dut):
    """Readable part longer than the mailbox: mb_cmd_len carries the true length (saturating at
    65535), mb_cmd_data the first MB_WORDS*4 bytes, DMA reads only those; the firmware answers ERR.
    Exactly MB_WORDS*4 bytes is an ordinary command."""
    tb = await setup(dut)
    mb = tb.mb_bytes
    # exactly the mailbox: VLAN ADD with trailing bytes (ignored) -> OK
    cmd = bytes([2, 0]) + (100).to_bytes(2, "little") + random.randbytes(mb - 4)
    req = tb.build(0, cmd, 1, rsegs=random.randint(1, 5))
    exp = await tb.run(req)
    assert exp.used_len == 1 and exp.mem.read(*req.buf.writable_ranges(0, 1)[0]) == bytes([Ack.OK]), \
        "bench: pymodel does not answer OK to a mailbox-sized VLAN ADD"
    for n, room in ((mb + 1, 1), (mb + 63, 3), (2 * mb + 5, 70000), (1000, 2), (70000, 1), (70000, 65536)):
        cmd = bytes([2, 0]) + (7).to_bytes(2, "little") + random.randbytes(n - 4)
        await tb.run(tb.build(random.randrange(2), cmd, room, rsegs=random.randint(1, 6), split_head=True))
    # a short command with a writable part beyond 65535 bytes: mb_rsp_room saturates, the answer is normal
    await tb.run(tb.build(0, bytes([0, 0, 1]), 65536 + random.randrange(5000), wsegs=random.randint(1, 4)))
    await tb.run(tb.rand_req())


@cocotb.test()
async def test_firmware_timeout(dut):
    """The firmware never answers: after mb_timeout_us the engine answers VIRTIO_NET_ERR itself
    (used len 1), pulses mb_timeout_irq, mb_valid falls; then normal commands work with the
    timeout still armed."""
    tb = await setup(dut)
    for t_us in (3, 1, 17):
        tb.dut.mb_timeout_us.value = t_us
        cmd, room = tb.rand_cmd()
        await tb.run(tb.build(random.randrange(2), cmd, room + 2), mode="silent")
        tb.fw_delay = (0, t_us * tb.us_cycles - 3)
        for _ in range(3):
            await tb.run(tb.rand_req())
    tb.dut.mb_timeout_us.value = 0
    tb.fw_delay = (300, 400)        # timeout off: a slow answer is still taken
    await tb.run(tb.rand_req())


@cocotb.test()
async def test_late_done_ignored(dut):
    """The firmware answers after the timeout (mb_valid low): that mb_done is ignored (the ERR
    answer stays, one used record); the next command gets its own answer."""
    tb = await setup(dut)
    for _ in range(4):
        tb.dut.mb_timeout_us.value = random.randint(1, 4)
        cmd, room = tb.rand_cmd()
        await tb.run(tb.build(random.randrange(2), cmd, room + 9), mode="late")
        tb.fw_delay = (0, 5)
        await tb.run(tb.rand_req())


@cocotb.test()
async def test_rsp_len_clamped(dut):
    """mb_rsp_len larger than the writable room or the mailbox: clamped to min(rsp_len, writable,
    MB_WORDS*4); rsp_len 0: nothing written, used len 0; smaller answers stop at rsp_len."""
    tb = await setup(dut)
    mb = tb.mb_bytes
    cases = [(1, 2), (3, 0xFFFF), (10, 11), (mb + 40, 0xFFFF), (mb + 40, mb + 1), (2 * mb, mb - 1),
             (200, 50), (5, 0), (1, 0), (37, 37), (64, 65), (130, 129)]
    tb.fw_mode = "custom"
    for room, rsp_len in cases:
        tb.fw_custom = lambda snap, rl=rsp_len: (random.randbytes(mb), rl)
        req = tb.build(random.randrange(2), bytes([random.randrange(7), 0, 1]), room,
                       wsegs=random.randint(1, 6))
        exp = await tb.run(req, Expect(), mode="custom")
        want = min(rsp_len, room, mb)
        assert exp.used_len == want, f"bench: used len {exp.used_len}, expected {want}"
    await tb.run(tb.rand_req())


@cocotb.test()
async def test_dma_read_error(dut):
    """DMA read error on any piece of the gather: needs_reset, no mailbox, no write, no used record."""
    tb = await setup(dut)
    for _ in range(5):
        cmd, room = tb.rand_cmd()
        cmd += random.randbytes(random.randrange(60))
        req = tb.build(random.randrange(2), cmd, room, rsegs=random.randint(2, 8))
        tb.rd_fail_at = tb.rd_total + random.randint(1, head_pieces(req, tb.mb_bytes))
        await tb.run(req, Expect(needs_reset=True, mailbox=False))
        tb.rd_fail_at = None
        await tb.run(tb.rand_req())


@cocotb.test()
async def test_dma_write_error(dut):
    """DMA write error on any piece of the answer: needs_reset, no used record."""
    tb = await setup(dut)
    tb.dma_delay = (1, 30)
    for _ in range(5):
        room = random.randint(8, 80)
        n = min(room, tb.mb_bytes, random.randint(2, 80))
        req = tb.build(random.randrange(2), bytes([6, 3, 0, 0]), room, wsegs=random.randint(2, 6))
        tb.fw_custom = lambda snap, n=n: (random.randbytes(n), n)
        tb.wr_fail_at = tb.wr_total + random.randint(1, ans_pieces(req, n))
        f = req.func
        nr0, used0 = list(tb.needs_reset), len(tb.used)
        tb.fw_mode = "custom"
        await tb.feed(req)
        await tb.idle()
        tb.check_errors()
        tb.wr_fail_at = None
        got_nr = [a - b for a, b in zip(tb.needs_reset, nr0)]
        want_nr = [int(x == f) for x in range(tb.num_func)]
        assert got_nr == want_nr, f"{req.where} (write error): needs_reset pulses {got_nr}, expected {want_nr} at {now()}"
        assert len(tb.used) == used0, f"{req.where} (write error): used records {tb.used[used0:]}, expected none at {now()}"
        await tb.run(tb.rand_req())


@cocotb.test()
async def test_func_reset_mid_command(dut):
    """func_reset[f] during the gather, while the firmware holds the command (mb_valid falls, a later
    mb_done is ignored) and during the write-back: DMA in flight finishes, no used record, no
    needs_reset; func_quiesced[f] low meanwhile; the next command is fine."""
    tb = await setup(dut)
    d = tb.dut
    tb.dma_delay = (5, 30)
    for phase in ("gather", "mailbox", "writeback") * 2:
        f = random.randrange(2)
        if phase == "gather":
            req = tb.build(f, bytes([1, 0]) + random.randbytes(60), 3, rsegs=random.randint(3, 8))
            tb.fw_mode = "normal"
        elif phase == "mailbox":
            req = tb.build(f, bytes([0, 0, 1]), 2)
            tb.fw_mode = "late"
        else:
            room = random.randint(40, 90)
            req = tb.build(f, bytes([6, 3, 0, 0]), room, wsegs=random.randint(3, 6))
            tb.fw_custom = lambda snap, n=room: (random.randbytes(n), n)
            tb.fw_mode = "custom"
        used0, nr0, seen0, wr0, rd0 = len(tb.used), list(tb.needs_reset), len(tb.fw_seen), tb.wr_total, tb.rd_total
        feeder = cocotb.start_soon(tb.feed(req))
        for _ in range(20000):
            await RisingEdge(d.clk)
            if ((phase == "gather" and tb.rd_total > rd0 and tb.rd_inflight)
                    or (phase == "mailbox" and int(d.mb_valid.value))
                    or (phase == "writeback" and tb.wr_total > wr0)):
                break
        else:
            raise AssertionError(f"{req.where}: bench: never reached the {phase} phase at {now()}")
        assert not tb.quiesced(f), f"{req.where}: func_quiesced[{f}] high mid-command ({phase}) at {now()}"
        d.func_reset.value = 1 << f
        if phase == "mailbox":
            await ClockCycles(d.clk, 2)
            assert not int(d.mb_valid.value), f"{req.where}: mb_valid still high 2 cycles after func_reset at {now()}"
        await feeder
        await tb.idle()
        w = f"{req.where} (func_reset during {phase})"
        assert tb.quiesced(f), f"{w}: func_quiesced[{f}] low after the command was dropped at {now()}"
        d.func_reset.value = 0
        await RisingEdge(d.clk)
        tb.check_errors()
        assert len(tb.used) == used0, f"{w}: used records {tb.used[used0:]}, expected none at {now()}"
        assert tb.needs_reset == nr0, f"{w}: needs_reset pulses {tb.needs_reset}, expected {nr0} at {now()}"
        if phase == "gather":
            assert len(tb.fw_seen) == seen0, f"{w}: the firmware was given the command at {now()}"
        if phase == "mailbox":
            assert tb.wr_total == wr0, f"{w}: {tb.wr_total - wr0} DMA writes after the reset at {now()}"
        tb.fw_mode = "normal"
        await tb.run(tb.rand_req(f))


@cocotb.test()
async def test_too_many_segments(dut):
    """MAX_SEGS segments work; MAX_SEGS+1 (and more): needs_reset, no DMA; the next command is fine."""
    tb = await setup(dut)
    m = tb.max_segs
    cmd = bytes([0, 0, 1]) + random.randbytes(20)
    await tb.run(tb.build(0, cmd, 3, rsegs=m - 1, wsegs=1))
    await tb.run(tb.build(1, cmd, m - 2, rsegs=2, wsegs=m - 2))
    await tb.run(tb.build(0, cmd, 3, rsegs=m, wsegs=1))
    await tb.run(tb.build(1, cmd, 3, rsegs=2, wsegs=m - 1))
    await tb.run(tb.build(0, cmd, 3, rsegs=m + 5, wsegs=2))
    await tb.run(tb.rand_req(0))


@cocotb.test()
async def test_dropped_records(dut):
    """Record with error, segment with error, function not live, function in reset, func >= NUM_FUNC:
    dropped silently (no DMA, no mailbox, no used record, no needs_reset)."""
    tb = await setup(dut)
    d = tb.dut
    silent = Expect(mailbox=False, no_reads=True)

    async def dropped(req: Req, what: str):
        rd0 = tb.rd_total
        tb.cur = req
        await tb.run(req, silent)
        assert tb.rd_total == rd0, f"{req.where} ({what}): {tb.rd_total - rd0} DMA reads, expected none at {now()}"

    req = tb.rand_req(0)
    req.rec_error = True
    await dropped(req, "record error")
    req = tb.rand_req(1)
    req.seg_error = True
    await dropped(req, "segment error")
    tb.live[1] = False
    await dropped(tb.rand_req(1), "not live")
    tb.live[1] = True
    d.func_reset.value = 0b01
    await dropped(tb.rand_req(0), "func_reset")
    d.func_reset.value = 0
    req = tb.rand_req(0)
    req.func = 7
    await dropped(req, "func out of range")
    await tb.run(tb.rand_req(0))
    await tb.run(tb.rand_req(1))
