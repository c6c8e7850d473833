"""Focused bench for ``vio_net_tx`` (virtio-net transmit engine).

The DUT runs alone.  Around it:

* host memory: pymodel ``SparseMemory``; each TX buffer is a pymodel
  ``Buffer`` whose readable byte stream (virtio_net_hdr + frame) is cut into
  segments at random (header split across segments, header and frame in one
  segment, zero-length segments, odd boundaries, addresses above 4 GiB, odd
  alignment);
* frames are built with scapy (Ether/IPv4/IPv6 with TCP/UDP and random
  payload sizes, or raw bytes for tiny frames and odd checksum offsets); with
  NEEDS_CSUM the L4 checksum field holds the pseudo-header sum, as Linux
  leaves it for CHECKSUM_PARTIAL;
* the segments and the record are driven on s_axis_seg / s_axis_buf; the
  buffer whose record was taken last is the "current" one;
* a ctx responder (one cycle) with per-function live / negotiated features
  (header size 12/20/24/32 by the features, CSUM or not);
* a DMA read responder: checks every descriptor (function, tag, RAM range
  inside the region, length 1..MAX_FRAME, host range inside ONE non-empty
  readable segment of the current buffer, func_quiesced low), copies host
  bytes into the RAM model after a random delay (several in flight,
  completing out of order) and answers the status (or an injected error);
* the RAM read port served from the RAM model (row inside the region);
* an m_axis_tx sink with random backpressure: AXI-stream rules (beat held
  while stalled), tkeep all ones but on the last beat, contiguous from byte
  0 there, tuser constant over a frame;
* a used-record sink with random backpressure and a needs_reset monitor.

Expectations: pymodel ``extract_tx`` (max_frame = MAX_FRAME) on the same
buffer and memory, computed when the buffer is built (TX never writes host
memory): the frame on the wire byte for byte (or none), its tuser, one used
record of len 0 (none for DEVICE_NEEDS_RESET), the needs_reset pulses and
stat_tx_drop_count.  For real TCP/UDP frames with NEEDS_CSUM the wire frame's
L4 checksum is also verified with scapy (independent of pymodel).
"""

from __future__ import annotations

import logging
import random
import struct
from dataclasses import dataclass
from typing import Optional

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge
from scapy.layers.inet import IP, TCP, UDP, in4_chksum
from scapy.layers.inet6 import IPv6, in6_chksum
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from pymodel.buffers import Buffer, Segment
from pymodel.errors import DeviceNeedsReset
from pymodel.features import NetFeature
from pymodel.memory import SparseMemory
from pymodel.net import NetHdr, internet_checksum, net_hdr_size, extract_tx
from tb.engine_ports import feed_buffer, serve_ctx, serve_rd_status, sink_used
from tb.util import now

DMA_OK = 0
DMA_ERR_UR = 1
FULL_KEEP = (1 << 64) - 1
F_VERSION_1 = 1 << 32
F_CSUM = 1 << NetFeature.CSUM
# negotiated feature sets by header size (only the bits net_hdr_size looks at matter)
HDR_FEATURES = {
    12: F_VERSION_1,
    20: F_VERSION_1 | 1 << NetFeature.HASH_REPORT,
    24: F_VERSION_1 | 1 << NetFeature.HOST_UDP_TUNNEL_GSO,
    32: F_VERSION_1 | 1 << NetFeature.OUT_NET_HEADER,
}
L4_HDR = {"tcp4": 54, "udp4": 42, "tcp6": 74, "udp6": 62}


@dataclass
class Pkt:
    """One TX buffer as the bench builds and feeds it."""

    func: int
    queue: int
    id: int
    num_desc: int
    buf: Buffer
    kind: str
    hdr: NetHdr
    frame: bytes               # the frame bytes in the buffer (before the checksum)
    hsize: int
    seg_error: bool = False
    rec_error: bool = False

    @property
    def where(self) -> str:
        lens = [("W" if s.writable else "") + str(s.length) for s in self.buf.segments]
        return (f"func {self.func} queue {self.queue} id {self.id} ({self.kind}, {len(self.frame)}-byte frame, "
                f"{self.hsize}-byte hdr flags {self.hdr.flags:#x} gso {self.hdr.gso_type:#x} "
                f"csum_start {self.hdr.csum_start} csum_offset {self.hdr.csum_offset}, "
                f"{len(lens)} segments {lens[:12]}{'...' if len(lens) > 12 else ''})")


@dataclass
class Expect:
    """What pymodel says a TX buffer does."""

    needs_reset: bool
    frame: Optional[bytes] = None      # on the wire
    drop: Optional[str] = None         # drop reason (used len 0, counted)


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.log.info("seed %s", cocotb.RANDOM_SEED)
        self.num_func = int(dut.NUM_FUNC.value)
        self.max_segs = int(dut.MAX_SEGS.value)
        self.max_frame = int(dut.MAX_FRAME.value)
        self.base = int(dut.RD_RAM_ADDR.value)
        self.rd_tag = int(dut.RD_DMA_TAG.value)
        self.region = 64 + 64 * ((self.max_frame + 63) // 64)
        self.ram = bytearray(1 << int(dut.RAM_ADDR_W.value))
        self.mem = SparseMemory()
        self.live = [True] * self.num_func
        # negotiated: function 0 CSUM with a 12-byte header, the others without CSUM, 20-byte header
        self.features = [F_VERSION_1 | F_CSUM] + [HDR_FEATURES[20]] * (self.num_func - 1)
        self.next_addr = 0x1_5670_0000
        self.cur: Optional[Pkt] = None
        self.dma_delay = (1, 12)
        self.rd_fail_at: Optional[int] = None
        self.rd_total = 0
        self.rd_bytes = 0
        self.rd_inflight = 0
        self.rd_status_q: list = []
        self.frames: list[dict] = []       # complete frames seen on m_axis_tx
        self.beats_seen = 0                # beats of every frame, including the one in progress
        self.partial: list = []
        self.used: list = []
        self.needs_reset = [0] * self.num_func
        self.errors: list[str] = []
        self.used_ready_p = 0.7
        self.tx_ready_p = 0.7
        self.stats: dict[str, int] = {}
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
                  "buf_rd_data", "m_axis_tx_tready", "m_axis_used_ready"):
            getattr(d, s).value = 0
        d.rst.value = 1
        await ClockCycles(d.clk, 4)
        d.rst.value = 0
        await RisingEdge(d.clk)
        for co in (self._ctx_responder, self._rd_responder, self._rd_status, self._ram_port,
                   self._tx_sink, self._used_sink, self._monitor):
            cocotb.start_soon(co())

    def _fail(self, msg: str):
        full = f"{msg} at {now()}"
        self.errors.append(full)
        self.log.error(full)

    def where(self) -> str:
        return self.cur.where if self.cur else "no buffer"

    def quiesced(self, f: int) -> bool:
        return bool(int(self.dut.func_quiesced.value) >> f & 1)

    def drops(self) -> int:
        return int(self.dut.stat_tx_drop_count.value)

    # -- models --------------------------------------------------------------
    async def _ctx_responder(self):
        await serve_ctx(self.dut, lambda f: (self.live[f], self.features[f]) if f < self.num_func else (False, 0))

    def _check_desc(self, f: int, addr: int, ram: int, n: int, tag: int):
        pkt = self.cur
        if tag != self.rd_tag:
            self._fail(f"DMA read func {f}: tag {tag}, expected {self.rd_tag}")
        if not (self.base <= ram and ram + n <= self.base + self.region):
            self._fail(f"DMA read func {f}: RAM range {ram:#x}+{n} outside {self.base:#x}+{self.region}")
        if n == 0 or n > self.max_frame:
            self._fail(f"DMA read func {f} addr {addr:#x}: length {n}, expected 1..{self.max_frame}")
        if pkt is None:
            self._fail(f"DMA read func {f} addr {addr:#x} len {n} without a buffer")
            return
        if f != pkt.func:
            self._fail(f"{pkt.where}: DMA read with func {f}")
        if self.quiesced(f):
            self._fail(f"{pkt.where}: DMA read while func_quiesced[{f}] is high")
        segs = pkt.buf.readable
        if not any(s.length and s.addr <= addr and addr + n <= s.end for s in segs):
            self._fail(f"{pkt.where}: DMA read {addr:#x}+{n} not inside one readable segment "
                       f"{[(hex(s.addr), s.length) for s in segs][:8]}")

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
            self._check_desc(f, addr, ram, n, tag)
            err = DMA_ERR_UR if self.rd_fail_at == self.rd_total else DMA_OK
            self.rd_inflight += 1
            cocotb.start_soon(self._complete((addr, ram, n, tag, err)))

    async def _complete(self, item):
        await ClockCycles(self.dut.clk, random.randint(*self.dma_delay))
        self.rd_status_q.append(item)

    async def _rd_status(self):
        """One read status per cycle; the data lands in the RAM model with it."""
        await serve_rd_status(self.dut, self.rd_status_q, lambda: self.mem, self.ram, self._rd_done)

    def _rd_done(self):
        self.rd_inflight -= 1

    async def _ram_port(self):
        """buf_rd_en/addr -> buf_rd_data one cycle later (the RAM model; the DUT has no write port)."""
        d = self.dut
        lo, hi = self.base // 64, (self.base + self.region) // 64
        while True:
            await RisingEdge(d.clk)
            if int(d.buf_rd_en.value):
                row = int(d.buf_rd_addr.value)
                if not lo <= row < hi:
                    self._fail(f"{self.where()}: RAM read of row {row} outside the region rows {lo}..{hi - 1}")
                d.buf_rd_data.value = int.from_bytes(self.ram[64 * row:64 * row + 64], "little")

    async def _tx_sink(self):
        d = self.dut
        held = None              # beat presented but not taken last cycle
        while True:
            d.m_axis_tx_tready.value = int(random.random() < self.tx_ready_p)
            await RisingEdge(d.clk)
            if not int(d.m_axis_tx_tvalid.value):
                if held is not None:
                    self._fail(f"{self.where()}: m_axis_tx tvalid dropped before the beat was taken")
                held = None
                continue
            beat = (int(d.m_axis_tx_tdata.value), int(d.m_axis_tx_tkeep.value), int(d.m_axis_tx_tlast.value),
                    int(d.m_axis_tx_tuser.value))
            if held is not None and beat != held:
                self._fail(f"{self.where()}: m_axis_tx beat changed while stalled "
                           f"(keep {held[1]:#x}->{beat[1]:#x}, last {held[2]}->{beat[2]}, user {held[3]:#x}->{beat[3]:#x})")
            if not int(d.m_axis_tx_tready.value):
                held = beat
                continue
            held = None
            tdata, tkeep, tlast, tuser = beat
            self.beats_seen += 1
            if self.partial and tuser != self.partial[0][3]:
                self._fail(f"{self.where()}: m_axis_tx tuser {tuser:#x} changes mid-frame (was {self.partial[0][3]:#x})")
            if not tlast and tkeep != FULL_KEEP:
                self._fail(f"{self.where()}: m_axis_tx beat {len(self.partial)} (not last) has tkeep {tkeep:#x}")
            if tlast and (tkeep == 0 or tkeep & (tkeep + 1)):
                self._fail(f"{self.where()}: m_axis_tx last beat tkeep {tkeep:#x} (empty or not contiguous from byte 0)")
            if not self.partial:
                t_first = get_sim_time("ns")
            self.partial.append(beat)
            if tlast:
                data = b"".join(b[0].to_bytes(64, "little")[:bin(b[1]).count("1")] for b in self.partial)
                self.frames.append(dict(func=tuser & 0xFF, queue=tuser >> 8, data=data, t=now(),
                                        cycles=int(get_sim_time("ns") - t_first) // 4 + 1))
                self.partial = []

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

    # -- buffers -------------------------------------------------------------
    def alloc(self, n: int) -> int:
        # the next allocation starts past this one: (n + 64 + gap) & ~0x3F alone can be short of the
        # random start offset, so a later buffer's bytes overwrote this one's tail in host memory
        addr = self.next_addr + random.randrange(64)
        self.next_addr = (addr + n + 64 + random.randrange(4096)) & ~0x3F
        return addr

    @staticmethod
    def cuts(n: int, k: int) -> list[int]:
        """``n`` bytes in ``k`` pieces (zero-length ones possible, odd boundaries)."""
        if k <= 1:
            return [n]
        pts = sorted(random.randint(0, n) for _ in range(k - 1))
        return [b - a for a, b in zip([0] + pts, pts + [n])]

    def layout(self, hsize: int, total: int, nsegs: Optional[int] = None) -> list[int]:
        """Readable segment lengths for ``total`` bytes of which the first ``hsize`` are the header."""
        m = self.max_segs
        if nsegs is not None:
            return self.cuts(total, nsegs)
        mode = random.choice(["one", "hdr_alone", "split_hdr", "random", "random", "zeros"])
        if mode == "one" or total < 2:
            return [total]
        if mode == "hdr_alone" and total >= hsize:
            return [hsize] + self.cuts(total - hsize, random.randint(1, m - 1))
        if mode == "split_hdr" and total > hsize:
            k = random.randint(2, min(4, m - 1))
            pts = sorted(random.sample(range(1, hsize), k - 1))
            head = [b - a for a, b in zip([0] + pts, pts + [hsize])]
            return head + self.cuts(total - hsize, random.randint(1, m - k))
        if mode == "zeros":
            segs = self.cuts(total, random.randint(1, max(1, m // 2)))
            for _ in range(random.randint(0, m - len(segs))):
                segs.insert(random.randrange(len(segs) + 1), 0)
            return segs
        return self.cuts(total, random.randint(1, m))

    def build(self, func: int, frame: bytes, hdr: NetHdr, *, kind: str = "raw", queue: Optional[int] = None,
              segs: Optional[list[int]] = None, wsegs: tuple = (), hdr_raw: Optional[bytes] = None,
              num_desc: Optional[int] = None) -> Pkt:
        """A TX buffer: header (``hdr`` packed to the function's size, junk in the fields the
        device ignores) then ``frame``, cut into ``segs``; ``wsegs`` writable segment lengths after."""
        hsize = net_hdr_size(self.features[func])
        if hdr_raw is None:
            hdr_raw = hdr.pack(12) + random.randbytes(hsize - 12)
        readable = hdr_raw + frame
        if segs is None:
            segs = self.layout(hsize, len(readable))
        assert sum(segs) == len(readable), "bench: layout does not cover the buffer"
        out = []
        pos = 0
        for n in segs:
            a = self.alloc(n)
            self.mem.write(a, readable[pos:pos + n])
            pos += n
            out.append(Segment(a, n, False))
        for n in wsegs:
            out.append(Segment(self.alloc(n), n, True))
        bid = random.randrange(1 << 16)
        nd = num_desc if num_desc is not None else random.randint(1, 64)
        buf = Buffer(id=bid, segments=tuple(out), ndescs=nd, head=0)
        return Pkt(func, random.randrange(1 << 16) if queue is None else queue, bid, nd, buf, kind, hdr,
                   frame, hsize)

    def expect(self, pkt: Pkt) -> Expect:
        """pymodel's outcome (TX only reads host memory)."""
        if len(pkt.buf.segments) > self.max_segs:
            return Expect(True)           # FunctionConfig max_chain = MAX_SEGS: chain too long
        try:
            tx = extract_tx(pkt.buf, self.mem, self.features[pkt.func], pkt.queue, max_frame=self.max_frame)
        except DeviceNeedsReset:
            return Expect(True)
        return Expect(False, tx.frame, tx.drop_reason)

    # -- frames ----------------------------------------------------------------
    def make_frame(self, kind: str, size: int, csum: bool) -> tuple[bytes, int, int]:
        """A frame of ``size`` bytes: (bytes, csum_start, csum_offset); with ``csum`` the L4 checksum
        field holds the pseudo-header sum (Linux CHECKSUM_PARTIAL)."""
        if kind == "raw":
            return random.randbytes(size), 0, 0
        pay = Raw(random.randbytes(size - L4_HDR[kind]))
        sport, dport = random.randrange(1, 65536), random.randrange(1, 65536)
        l4 = (TCP(sport=sport, dport=dport, seq=random.randrange(1 << 32), flags="PA") if kind[:3] == "tcp"
              else UDP(sport=sport, dport=dport))
        if kind[-1] == "4":
            ip = IP(src=f"10.{random.randrange(256)}.0.{random.randrange(1, 255)}",
                    dst=f"192.168.{random.randrange(256)}.{random.randrange(1, 255)}", id=random.randrange(65536))
        else:
            ip = IPv6(src=f"fd00::{random.randrange(1, 65536):x}", dst=f"fd00:1::{random.randrange(1, 65536):x}")
        p = Ether(src="52:54:00:12:34:56", dst="52:54:00:ab:cd:ef") / ip / l4 / pay
        raw = bytearray(bytes(p))
        assert len(raw) == size, f"bench: {kind} frame {len(raw)} bytes, wanted {size}"
        start = 14 + (20 if kind[-1] == "4" else 40)
        off = 16 if kind[:3] == "tcp" else 6
        if csum:
            l4len = size - start
            proto = 6 if kind[:3] == "tcp" else 17
            if kind[-1] == "4":
                pseudo = raw[26:34] + struct.pack("!BBH", 0, proto, l4len)
            else:
                pseudo = raw[22:54] + struct.pack("!IxxxB", l4len, proto)
            partial = ~internet_checksum(bytes(pseudo)) & 0xFFFF
            raw[start + off:start + off + 2] = partial.to_bytes(2, "big")
        return bytes(raw), start, off

    def rand_pkt(self, func: Optional[int] = None, *, kind: Optional[str] = None, size: Optional[int] = None,
                 csum: Optional[bool] = None) -> Pkt:
        f = random.randrange(self.num_func) if func is None else func
        kind = kind or random.choice(["tcp4", "udp4", "tcp6", "udp6", "raw"])
        mf = self.max_frame
        if size is None:
            if kind == "raw":
                size = random.choice([random.randint(1, 64), random.randint(1, mf)])
            else:
                size = random.choice([random.randint(L4_HDR[kind] + 1, min(mf, 1514)),
                                      random.randint(L4_HDR[kind] + 1, mf), mf])
        if kind != "raw" and size <= L4_HDR[kind]:
            kind = "raw"
        can_csum = bool(self.features[f] & F_CSUM)
        if csum is None:
            csum = kind != "raw" and can_csum and random.random() < 0.7
        frame, start, off = self.make_frame(kind, size, csum)
        flags = (1 if csum else 0) | (random.randrange(256) & 0xFE if random.random() < 0.3 else 0)
        hdr = NetHdr(flags=flags, gso_type=0, hdr_len=random.randrange(1 << 16), gso_size=random.randrange(1 << 16),
                     csum_start=start if csum else random.randrange(1 << 16),
                     csum_offset=off if csum else random.randrange(1 << 16), num_buffers=0)
        return self.build(f, frame, hdr, kind=kind)

    # -- driving and checking ----------------------------------------------------
    async def feed(self, pkt: Pkt):
        await feed_buffer(self.dut, pkt.buf.segments, func=pkt.func, queue=pkt.queue, buf_id=pkt.id, num_desc=pkt.num_desc,
                          seg_error=pkt.seg_error, rec_error=pkt.rec_error)
        self.cur = pkt

    async def idle(self, limit: int = 200000):
        d = self.dut
        quiet = 0
        for _ in range(limit):
            await RisingEdge(d.clk)
            if (not int(d.busy.value) and not self.rd_inflight and not self.rd_status_q
                    and not int(d.m_axis_tx_tvalid.value) and not int(d.m_axis_used_valid.value)):
                quiet += 1
                if quiet >= 4:
                    return
            else:
                quiet = 0
        raise AssertionError(f"{self.where()}: DUT still busy after {limit} cycles at {now()} "
                             f"(busy {int(d.busy.value)}, {self.rd_inflight} reads in flight, tx valid "
                             f"{int(d.m_axis_tx_tvalid.value)}, used valid {int(d.m_axis_used_valid.value)}); "
                             f"bench errors: {self.errors}")

    def check_errors(self):
        assert not self.errors, "bench errors:\n" + "\n".join(self.errors)

    @staticmethod
    def frame_diff(got: bytes, want: bytes) -> str:
        if len(got) != len(want):
            return f"{len(got)} bytes, expected {len(want)}"
        j = next(k for k in range(len(got)) if got[k] != want[k])
        return f"byte {j} (beat {j // 64} lane {j % 64}) is {got[j]:#04x}, expected {want[j]:#04x}"

    def check_l4(self, pkt: Pkt, frame: bytes):
        """Independent of pymodel: the L4 checksum of a NEEDS_CSUM TCP/UDP frame verifies (scapy)."""
        if pkt.kind == "raw" or not pkt.hdr.flags & 1:
            return
        p = Ether(frame)
        l4 = p[TCP] if pkt.kind[:3] == "tcp" else p[UDP]
        proto = 6 if pkt.kind[:3] == "tcp" else 17
        raw = bytes(l4)
        res = in4_chksum(proto, p[IP], raw) if pkt.kind[-1] == "4" else in6_chksum(proto, p[IPv6], raw)
        assert res == 0, (f"{pkt.where}: wire frame's {pkt.kind} checksum {l4.chksum:#06x} does not verify "
                          f"(scapy residue {res:#06x}) at {now()}")

    def outcome_msg(self, exp: Expect) -> str:
        if exp.needs_reset:
            return "needs_reset"
        return f"dropped ({exp.drop})" if exp.frame is None else f"sent ({len(exp.frame)} bytes)"

    async def run(self, pkt: Pkt, exp: Optional[Expect] = None) -> Expect:
        """Feed one buffer, wait for the DUT to go idle, compare with pymodel."""
        exp = exp or self.expect(pkt)
        nr0 = list(self.needs_reset)
        fr0, used0, drops0 = len(self.frames), len(self.used), self.drops()
        await self.feed(pkt)
        await self.idle()
        self.check_errors()
        self.check_outcome(pkt, exp, self.frames[fr0:], self.used[used0:],
                           [a - b for a, b in zip(self.needs_reset, nr0)], self.drops() - drops0)
        return exp

    def check_outcome(self, pkt: Pkt, exp: Expect, frames: list, used: list, got_nr: list, got_drops: int):
        w = f"{pkt.where} [pymodel: {self.outcome_msg(exp)}]"
        key = self.outcome_msg(exp).split(" ")[0]
        self.stats[key] = self.stats.get(key, 0) + 1
        want_nr = [int(exp.needs_reset and f == pkt.func) for f in range(self.num_func)]
        assert got_nr == want_nr, f"{w}: needs_reset pulses {got_nr}, expected {want_nr} at {now()}"
        if exp.frame is None:
            assert not frames, (f"{w}: {len(frames)} frame(s) on m_axis_tx "
                                f"({[len(x['data']) for x in frames]} bytes), expected none at {now()}")
        else:
            assert len(frames) == 1, (f"{w}: {len(frames)} frames on m_axis_tx "
                                      f"({[len(x['data']) for x in frames]} bytes), expected 1 at {now()}")
            fr = frames[0]
            assert (fr["func"], fr["queue"]) == (pkt.func, pkt.queue), (
                f"{w}: frame tuser func {fr['func']} queue {fr['queue']}, expected func {pkt.func} "
                f"queue {pkt.queue} at {fr['t']}")
            assert fr["data"] == exp.frame, f"{w}: wire frame {self.frame_diff(fr['data'], exp.frame)} at {fr['t']}"
            self.check_l4(pkt, fr["data"])
        want_drops = int(not exp.needs_reset and exp.frame is None)
        assert got_drops == want_drops, f"{w}: stat_tx_drop_count +{got_drops}, expected +{want_drops} at {now()}"
        if exp.needs_reset:
            assert not used, f"{w}: used records {used}, expected none (needs_reset) at {now()}"
        else:
            want = dict(func=pkt.func, queue=pkt.queue, id=pkt.id, len=0, num_desc=pkt.num_desc)
            assert used == [want], f"{w}: used records {used}, expected [{want}] at {now()}"


async def setup(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


def summary(tb: TB):
    tb.check_errors()
    tb.log.info("checked outcomes %s; %d frames, %d beats, %d DMA reads (%d bytes), %d used records, "
                "needs_reset %s, drop count %d", tb.stats, len(tb.frames), tb.beats_seen, tb.rd_total,
                tb.rd_bytes, len(tb.used), tb.needs_reset, tb.drops())


def csum_hdr(start: int, off: int, flags: int = 1) -> NetHdr:
    return NetHdr(flags=flags, gso_type=0, hdr_len=0, gso_size=0, csum_start=start, csum_offset=off)


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------

@cocotb.test()
async def test_random_mix(dut):
    """Random TCP/UDP/IPv4/IPv6/raw frames (1..MAX_FRAME), NEEDS_CSUM or not, random header sizes and
    segment layouts, a few bad buffers; fed back to back, frames in order, random backpressure."""
    tb = await setup(dut)
    hs = list(HDR_FEATURES)
    pkts, exps = [], []
    for i in range(48):
        if i % 12 == 0:    # new negotiated features now and then (header sizes, CSUM)
            tb.features = [HDR_FEATURES[random.choice(hs)] | (F_CSUM if random.random() < 0.7 else 0)
                           for _ in range(tb.num_func)]
            tb.features[0] |= F_CSUM
        pkt = tb.rand_pkt()
        r = random.random()
        if r < 0.04:
            pkt = tb.build(pkt.func, pkt.frame, pkt.hdr, kind=pkt.kind, wsegs=(random.randint(0, 64),))
        elif r < 0.08:
            pkt = tb.build(pkt.func, pkt.frame, NetHdr(flags=pkt.hdr.flags, gso_type=random.choice([1, 3, 4, 5, 0x81]),
                                                       csum_start=pkt.hdr.csum_start, csum_offset=pkt.hdr.csum_offset),
                           kind=pkt.kind)
        elif r < 0.12:
            pkt = tb.build(pkt.func, b"", pkt.hdr, kind="empty")
        pkts.append(pkt)
        exps.append(tb.expect(pkt))
        if i % 12 == 11:
            # feed this group back to back (features are fixed for the group)
            grp, gexp = pkts, exps
            pkts, exps = [], []
            nr0 = list(tb.needs_reset)
            fr0, used0, drops0 = len(tb.frames), len(tb.used), tb.drops()

            async def feeder():
                for p in grp:
                    await tb.feed(p)
            await cocotb.start_soon(feeder())
            await tb.idle()
            tb.check_errors()
            frames, used = tb.frames[fr0:], tb.used[used0:]
            # walk the group in order: each buffer takes its frame / used record from the front
            for p, e in zip(grp, gexp):
                nf = int(e.frame is not None)
                nu = int(not e.needs_reset)
                fr, frames = frames[:nf], frames[nf:]
                us, used = used[:nu], used[nu:]
                tb.check_outcome(p, e, fr, us, [int(e.needs_reset and f == p.func) for f in range(tb.num_func)],
                                 int(not e.needs_reset and e.frame is None))
            assert not frames and not used, f"extra frames {len(frames)} / used records {used} after the group at {now()}"
            want_nr = [sum(int(e.needs_reset and p.func == f) for p, e in zip(grp, gexp)) for f in range(tb.num_func)]
            got_nr = [a - b for a, b in zip(tb.needs_reset, nr0)]
            assert got_nr == want_nr, f"needs_reset pulses {got_nr} over the group, expected {want_nr} at {now()}"
            want_drops = sum(int(not e.needs_reset and e.frame is None) for e in gexp)
            assert tb.drops() - drops0 == want_drops, (f"stat_tx_drop_count +{tb.drops() - drops0} over the group, "
                                                      f"expected +{want_drops} at {now()}")
    lim = min(4096, tb.max_frame // 2)
    big = [f for f in tb.frames if len(f["data"]) > lim]
    assert big, f"no frame longer than {lim} bytes in the random mix at {now()}"
    summary(tb)


@cocotb.test()
async def test_csum_offload(dut):
    """NEEDS_CSUM on TCP/UDP over IPv4/IPv6 (scapy-verified), odd csum_start / offsets, the field
    across a beat boundary, at the end of the frame, start at row boundaries, all-zero data."""
    tb = await setup(dut)
    tb.features = [F_VERSION_1 | F_CSUM, HDR_FEATURES[32] | F_CSUM][: tb.num_func]
    mf = tb.max_frame
    for kind in ("tcp4", "udp4", "tcp6", "udp6"):
        for size in (L4_HDR[kind] + 1, L4_HDR[kind] + 9, random.randint(100, 1514), random.randint(1515, mf), mf):
            await tb.run(tb.rand_pkt(random.randrange(tb.num_func), kind=kind, size=min(size, mf), csum=True))
    # synthetic frames: (frame length, csum_start, csum_offset)
    cases = [(100, 1, 0), (100, 33, 5), (100, 98, 0), (100, 97, 1), (100, 0, 98), (128, 63, 0), (128, 62, 1),
             (128, 61, 1), (130, 64, 64), (200, 127, 0), (64, 0, 62), (65, 63, 0), (66, 64, 0), (2, 0, 0),
             (3, 1, 0), (3, 0, 1), (1000, 513, 383), (mf, 1, mf - 3), (mf, mf - 2, 0), (mf, 63, 64 * 3),
             (mf, 0, 0), (mf, 7, 12)]
    for n, start, off in cases:
        frame = random.randbytes(n)
        if random.random() < 0.3:
            frame = bytes(n)                        # all zero: checksum 0xFFFF
        await tb.run(tb.build(random.randrange(tb.num_func), frame, csum_hdr(start, off, 1 | random.randrange(256) & 0xFE)))
    summary(tb)


@cocotb.test()
async def test_bad_inputs(dut):
    """Each bad input of pymodel's TX table: writable segment, short header, gso_type != 0, NEEDS_CSUM
    without CSUM -> needs_reset; csum offsets beyond the frame, empty frame -> dropped; the next buffer is fine."""
    tb = await setup(dut)
    tb.features = [F_VERSION_1 | F_CSUM, HDR_FEATURES[24]][: tb.num_func]
    f1 = 1 % tb.num_func
    good = lambda: tb.run(tb.rand_pkt(random.randrange(tb.num_func)))
    ok = tb.rand_pkt(0)
    # writable segment (also of length 0), before or after the readable ones
    for wl in (0, 1, 100):
        await tb.run(tb.build(0, ok.frame, ok.hdr, kind=ok.kind, wsegs=(wl,)))
    p = tb.build(0, ok.frame, ok.hdr, kind=ok.kind)
    segs = (Segment(tb.alloc(8), 8, True),) + p.buf.segments
    p.buf = Buffer(id=p.id, segments=segs, ndescs=p.num_desc, head=0)
    await tb.run(p)
    await good()
    # short header: 0 .. hdr-1 readable bytes, split and with zero-length segments
    for f in (0, f1):
        hs = net_hdr_size(tb.features[f])
        for n in (0, 1, hs // 2, hs - 1):
            raw = random.randbytes(n)
            await tb.run(tb.build(f, b"", NetHdr(), hdr_raw=raw, segs=tb.cuts(n, random.randint(1, 4))))
    await good()
    # gso_type != 0 (with or without NEEDS_CSUM; also when the frame would be dropped)
    for gso in (1, 3, 4, 5, 0x80, 0x21, 0xFF):
        fr = random.randbytes(random.randint(0, 300))
        await tb.run(tb.build(0, fr, NetHdr(flags=random.randrange(2), gso_type=gso, csum_start=0, csum_offset=0)))
    await tb.run(tb.build(0, random.randbytes(tb.max_frame + 1), NetHdr(gso_type=1)))
    await good()
    # NEEDS_CSUM without CSUM negotiated (function 1), valid or invalid offsets, empty frame
    for start, off, n in ((34, 16, 100), (0, 0, 2), (500, 500, 10), (0, 0, 0)):
        await tb.run(tb.build(f1, random.randbytes(n), csum_hdr(start, off)) if f1 != 0 else tb.rand_pkt(0))
    # NEEDS_CSUM with offsets beyond the frame (CSUM negotiated): dropped
    for n, start, off in ((100, 99, 0), (100, 98, 1), (100, 101, 0), (100, 100, 0), (100, 0, 99), (1, 0, 0),
                          (10, 0xFFFF, 0xFFFF), (10, 5, 0xFFFF), (64, 63, 0), (65, 64, 0)):
        exp = await tb.run(tb.build(0, random.randbytes(n), csum_hdr(start, off)))
        assert exp.frame is None and exp.drop, f"bench: pymodel keeps {n}/{start}/{off}"
    await good()
    # empty frame: exactly the header, in one or several segments (some empty), with and without NEEDS_CSUM
    for f in (0, f1):
        for k in (1, 3):
            hs = net_hdr_size(tb.features[f])
            await tb.run(tb.build(f, b"", NetHdr(flags=0), segs=tb.cuts(hs, k) + [0] * random.randint(0, 2)))
    await tb.run(tb.build(0, b"", csum_hdr(0, 0)))
    await good()
    summary(tb)


@cocotb.test()
async def test_max_frame(dut):
    """Frames of MAX_FRAME bytes go out; MAX_FRAME+1 and far longer ones are dropped without fetching
    anything after the header."""
    tb = await setup(dut)
    tb.features = [F_VERSION_1 | F_CSUM, HDR_FEATURES[20] | F_CSUM][: tb.num_func]
    mf = tb.max_frame
    for n in (mf, mf - 1, mf + 1, mf + 63, mf, 2 * mf, mf + 1):
        for csum in (False, True):
            f = random.randrange(tb.num_func)
            pkt = (tb.rand_pkt(f, kind=random.choice(["tcp4", "udp6"]), size=n, csum=True) if csum and n <= mf
                   else tb.build(f, random.randbytes(n), csum_hdr(random.randrange(n - 2), 0, int(csum))))
            b0 = tb.rd_bytes
            exp = await tb.run(pkt)
            got = tb.rd_bytes - b0
            if n > mf:
                assert exp.frame is None, f"bench: pymodel sends a {n}-byte frame"
                assert got == pkt.hsize, (f"{pkt.where}: {got} bytes fetched for a dropped over-long frame, "
                                          f"expected only the {pkt.hsize}-byte header at {now()}")
            else:
                assert got == pkt.hsize + n, f"{pkt.where}: {got} bytes fetched, expected {pkt.hsize + n} at {now()}"
    # a segment longer than any DMA length (2^16+) and a frame beyond 2^32 bytes in total
    big = 0xFFFF_FFF0
    hs = net_hdr_size(tb.features[0])
    for lens in ([hs + 70000], [hs, 0x10000, 5], [hs] + [big] * min(3, tb.max_segs - 1)):
        segs = []
        for n in lens:
            a = tb.alloc(64)
            segs.append(Segment(a, n, False))
            tb.next_addr += n & ~0x3F
        tb.mem.write(segs[0].addr, NetHdr().pack(hs))
        pkt = Pkt(0, 7, 0x1234, 3, Buffer(id=0x1234, segments=tuple(segs), ndescs=3, head=0), "raw", NetHdr(),
                  b"", hs)
        b0 = tb.rd_bytes
        await tb.feed(pkt)
        await tb.idle()
        tb.check_errors()
        assert tb.rd_bytes - b0 == hs, f"{pkt.where} (lens {lens}): {tb.rd_bytes - b0} bytes fetched, expected {hs}"
        assert tb.used[-1] == dict(func=0, queue=7, id=0x1234, len=0, num_desc=3), f"used {tb.used[-1]} at {now()}"
    await tb.run(tb.rand_pkt(0))
    summary(tb)


@cocotb.test()
async def test_dma_read_error(dut):
    """DMA read error on a header or a frame piece: needs_reset, no frame, no used record, nothing
    counted; the next buffer is fine."""
    tb = await setup(dut)
    for i in range(8):
        f = random.randrange(tb.num_func)
        pkt = tb.rand_pkt(f, size=random.randint(200, tb.max_frame))
        exp = tb.expect(pkt)
        # count the pieces on a clean run first, then fail one of them
        r0 = tb.rd_total
        await tb.run(pkt, exp)
        pieces = tb.rd_total - r0
        k = 1 if i % 2 == 0 else random.randint(1, pieces)
        tb.rd_fail_at = tb.rd_total + k
        nr0, fr0, used0, drops0 = list(tb.needs_reset), len(tb.frames), len(tb.used), tb.drops()
        await tb.feed(pkt)
        await tb.idle()
        tb.rd_fail_at = None
        tb.check_errors()
        w = f"{pkt.where} (DMA read error on piece {k} of {pieces})"
        got_nr = [a - b for a, b in zip(tb.needs_reset, nr0)]
        want_nr = [int(x == f) for x in range(tb.num_func)]
        assert got_nr == want_nr, f"{w}: needs_reset pulses {got_nr}, expected {want_nr} at {now()}"
        assert len(tb.frames) == fr0, f"{w}: a frame went out after a DMA read error at {tb.frames[-1]['t']}"
        assert len(tb.used) == used0, f"{w}: used records {tb.used[used0:]}, expected none at {now()}"
        assert tb.drops() == drops0, f"{w}: stat_tx_drop_count moved at {now()}"
        await tb.run(tb.rand_pkt(f))
    summary(tb)


@cocotb.test()
async def test_func_reset_mid_packet(dut):
    """func_reset[f] during the DMA, the checksum pass or the stream: before the first beat no frame at
    all; once the frame started it is completed intact; never a used record or needs_reset; func_quiesced
    low meanwhile and high after; the next buffer is fine."""
    tb = await setup(dut)
    d = tb.dut
    phases = ["dma", "stream", "stream_stalled", "dma", "csum", "stream", "late"] * 2
    for ph in phases:
        f = random.randrange(tb.num_func)
        tb.features[f] |= F_CSUM
        pkt = tb.rand_pkt(f, kind=random.choice(["tcp4", "udp4"]), size=random.randint(2000, tb.max_frame),
                          csum=ph == "csum" or random.random() < 0.5)
        exp = tb.expect(pkt)
        assert exp.frame is not None
        nr0, fr0, used0, beats0 = list(tb.needs_reset), len(tb.frames), len(tb.used), tb.beats_seen
        tb.tx_ready_p = 0.05 if ph == "stream_stalled" else 0.7
        feeder = cocotb.start_soon(tb.feed(pkt))
        r0 = tb.rd_total
        started = False
        for _ in range(200000):
            await RisingEdge(d.clk)
            if ph == "dma" and tb.cur is pkt and tb.rd_total >= r0 + 2:
                break
            if ph == "csum" and tb.cur is pkt and int(d.buf_rd_en.value) and not int(d.m_axis_tx_tvalid.value) \
                    and tb.rd_total > r0 + 1 and not tb.rd_inflight and random.random() < 0.2:
                break
            if ph.startswith("stream") and tb.beats_seen >= beats0 + random.randint(1, 3):
                break
            if ph == "late" and int(d.m_axis_used_valid.value):
                break
        started = tb.beats_seen > beats0 or int(d.m_axis_tx_tvalid.value)
        assert not tb.quiesced(f), f"{pkt.where}: func_quiesced[{f}] high mid-packet ({ph}) at {now()}"
        d.func_reset.value = 1 << f
        await feeder
        await tb.idle()
        d.func_reset.value = 0
        await RisingEdge(d.clk)
        tb.check_errors()
        tb.tx_ready_p = 0.7
        w = f"{pkt.where} (func_reset during {ph}, frame {'started' if started else 'not started'})"
        frames = tb.frames[fr0:]
        tb.log.info("func_reset during %s: frame %s, %d frame(s) out", ph, "started" if started else "not started",
                    len(frames))
        assert tb.needs_reset == nr0, f"{w}: needs_reset pulses {tb.needs_reset}, expected {nr0} at {now()}"
        if ph == "late":
            assert len(tb.used) - used0 <= 1, f"{w}: used records {tb.used[used0:]}"
        else:
            assert len(tb.used) == used0, f"{w}: used records {tb.used[used0:]}, expected none at {now()}"
        assert not tb.partial, f"{w}: truncated frame on m_axis_tx ({len(tb.partial)} beats, no tlast) at {now()}"
        if started:
            assert len(frames) == 1 and frames[0]["data"] == exp.frame, (
                f"{w}: frames {[len(x['data']) for x in frames]}, expected the whole {len(exp.frame)}-byte frame "
                f"({tb.frame_diff(frames[0]['data'], exp.frame) if frames else 'none'}) at {now()}")
        else:
            assert not frames, f"{w}: frame of {len(frames[0]['data'])} bytes went out after func_reset at {now()}"
        assert tb.quiesced(f), f"{w}: func_quiesced[{f}] low after the packet was dropped at {now()}"
        await tb.run(tb.rand_pkt(f))
    summary(tb)


@cocotb.test()
async def test_too_many_segments(dut):
    """MAX_SEGS segments work (header and frame cut everywhere); MAX_SEGS+1: needs_reset, no DMA."""
    tb = await setup(dut)
    m = tb.max_segs
    for _ in range(2):
        pkt = tb.rand_pkt(0, size=random.randint(200, 3000))
        await tb.run(tb.build(0, pkt.frame, pkt.hdr, kind=pkt.kind, segs=tb.cuts(pkt.hsize + len(pkt.frame), m)))
        r0 = tb.rd_total
        await tb.run(tb.build(0, pkt.frame, pkt.hdr, kind=pkt.kind, segs=tb.cuts(pkt.hsize + len(pkt.frame), m + 1)))
        await tb.run(tb.build(0, pkt.frame, pkt.hdr, kind=pkt.kind,
                              segs=tb.cuts(pkt.hsize + len(pkt.frame), m + 1 + random.randint(1, 9))))
        assert tb.rd_total == r0, f"{tb.rd_total - r0} DMA reads for over-long chains at {now()}"
    await tb.run(tb.rand_pkt(0))
    summary(tb)


@cocotb.test()
async def test_dropped_records(dut):
    """Record with error, segment with error, function not live, function in reset, func >= NUM_FUNC:
    dropped silently (no DMA, no frame, no used record, no needs_reset, not counted)."""
    tb = await setup(dut)
    d = tb.dut
    f1 = 1 % tb.num_func

    async def dropped(pkt: Pkt, what: str):
        before = (tb.rd_total, len(tb.frames), len(tb.used), list(tb.needs_reset), tb.drops())
        await tb.feed(pkt)
        await tb.idle()
        tb.check_errors()
        after = (tb.rd_total, len(tb.frames), len(tb.used), list(tb.needs_reset), tb.drops())
        assert after == before, (f"{pkt.where} ({what}): (reads, frames, used, needs_reset, drops) "
                                 f"{after}, expected {before} at {now()}")

    pkt = tb.rand_pkt(0)
    pkt.rec_error = True
    await dropped(pkt, "record error")
    pkt = tb.rand_pkt(0)
    pkt.seg_error = True
    await dropped(pkt, "segment error")
    tb.live[f1] = False
    await dropped(tb.rand_pkt(f1), "not live")
    tb.live[f1] = True
    d.func_reset.value = 1
    await dropped(tb.rand_pkt(0), "func_reset")
    d.func_reset.value = 0
    pkt = tb.rand_pkt(0)
    pkt.func = 200
    await dropped(pkt, "func out of range")
    await tb.run(tb.rand_pkt(0))
    await tb.run(tb.rand_pkt(f1))
    summary(tb)


@cocotb.test()
async def test_full_rate(dut):
    """With m_axis_tx always ready a frame goes out one beat per cycle (NEEDS_CSUM or not)."""
    tb = await setup(dut)
    tb.tx_ready_p = 1.0
    for csum in (False, True, False, True):
        pkt = tb.rand_pkt(0, kind="tcp4", size=random.randint(tb.max_frame // 2, tb.max_frame), csum=csum)
        await tb.run(pkt)
        fr = tb.frames[-1]
        beats = (len(fr["data"]) + 63) // 64
        assert fr["cycles"] == beats, (f"{pkt.where}: {beats}-beat frame took {fr['cycles']} cycles with tready "
                                       f"always high, expected {beats} at {fr['t']}")
    summary(tb)
