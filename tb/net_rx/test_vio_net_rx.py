"""Focused bench for ``vio_net_rx`` (virtio-net receive engine).

The DUT runs alone.  Around it:

* frames built with scapy (Ether / 802.1Q / IPv4 / TCP / UDP, raw bytes for
  tiny frames) to broadcast, multicast and unicast destinations, driven on
  s_axis_rx beat by beat with random pauses (tuser = {pair_hint, func});
* the buffer source (what vio_pring_avail's fetch / commit does), in Python:
  per (function, queue) a list of posted RX buffers (pymodel ``Buffer``s
  with random writable layouts: zero-length segments, odd boundaries,
  addresses above 4 GiB) with ring positions (slots, wrap counter; ring of
  RING_SIZE slots) and a committed index. A fetch with cursor 0 answers the
  buffer at the committed index, a fetch with cursor 1 must name the
  slot_next / wrap_next of the previous answer of the same frame (else the
  bench fails); no buffer (or func_reset) -> a none record. Answers come
  after a random delay, segments then record, with random gaps. A commit
  must name the position after the last buffer answered for the frame, and
  moves the committed index there. Random backpressure on fetch;
* host memory: pymodel ``SparseMemory``; writable bytes are filled with
  junk when a buffer is posted, and an expected image (the same junk plus
  pymodel ``write_rx`` of every placed frame) is kept beside it;
* a DMA write responder: checks every descriptor (function, tag, RAM range
  inside the region, length, host range inside ONE non-empty writable
  segment of a buffer answered for the current frame, func_quiesced low);
  the bytes are taken from the RAM model when the write completes (random
  delay, out of order) or an error is injected;
* the RAM write port into the RAM model (rows inside the region); the
  filter table read ports (MAC table / VLAN table, one cycle latency) from
  the bench's tables; ctx (one cycle) with per-function live / features;
* a used-record sink with random backpressure, a needs_reset monitor.

Expectations: for each frame, in order, pymodel ``RxFilter.accepts`` and
``place_rx`` over the same posted buffers (plus the device's own rules:
function checks, MAX_FRAME, MAX_SEGS, error records); the used records
(func, queue, id, len, num_desc, order), the commits, the number of
fetches, the stat counters, the needs_reset pulses and every writable byte
of every buffer answered (``write_rx`` into the expected image, the header's
num_buffers included).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Optional

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from pymodel.buffers import Buffer, Segment
from pymodel.errors import DeviceNeedsReset
from pymodel.features import NetFeature
from pymodel.memory import SparseMemory
from pymodel.net import net_hdr_size
from pymodel.net_rx import RxFilter, RxResult, place_rx, write_rx
from tb.engine_ports import feed_buffer, serve_ctx, serve_wr_status, sink_used
from tb.util import now

DMA_OK = 0
DMA_ERR_UR = 1
F_VERSION_1 = 1 << 32
F_MRG = 1 << NetFeature.MRG_RXBUF
F_VLAN = 1 << NetFeature.CTRL_VLAN
F_HASH = 1 << NetFeature.HASH_REPORT        # 20-byte header
RING_SIZE = 256
BCAST = b"\xff" * 6
MODE_BITS = ["promisc", "allmulti", "alluni", "nomulti", "nouni", "nobcast", "uni_overflow", "multi_overflow"]


def mac_str(m: bytes) -> str:
    return ":".join(f"{x:02x}" for x in m)


def rand_uni() -> bytes:
    return bytes([random.randrange(256) & 0xFE | 0x02]) + random.randbytes(5)


def rand_multi() -> bytes:
    return random.choice([b"\x01\x00\x5e" + bytes([random.randrange(128)]) + random.randbytes(2),
                          b"\x33\x33" + random.randbytes(4)])


@dataclass
class RxBuf:
    """One posted RX buffer of a ring."""

    buf: Buffer
    pos: int                   # ring position (slots) of its head, counted from 0 without wrapping
    err: bool = False          # answered as malformed (error segment + error record)

    @property
    def next_pos(self) -> int:
        return self.pos + self.buf.ndescs


class Ring:
    """The available buffers of one RX queue, as the source sees them."""

    def __init__(self, func: int, vq: int):
        self.func, self.vq = func, vq
        self.bufs: list[RxBuf] = []
        self.committed = 0          # index of the next buffer (moved by the DUT's commits)
        self.exp_committed = 0      # the same, as the expectation model moves it
        self.end = 0                # position after the last posted buffer

    @staticmethod
    def enc(pos: int) -> tuple[int, int]:
        return pos % RING_SIZE, 1 ^ (pos // RING_SIZE) & 1


@dataclass
class Answer:
    key: tuple[int, int]
    idx: int
    none: bool
    err: bool = False
    next_pos: int = 0


@dataclass
class Exp:
    """What pymodel (and the device's own limits) say a frame does."""

    kind: str                                  # placed / nobuf / filter / other / needs_reset
    why: str = ""
    func: int = 0
    vq: int = 0
    fetches: int = 0
    used: list = field(default_factory=list)   # expected used records
    commit: Optional[tuple] = None             # (func, queue, slot, wrap)
    bufs: tuple = ()                           # (key, idx) of the buffers it takes


@dataclass
class Frame:
    func: int
    hint: int
    data: bytes
    bad_keep: bool = False
    desc: str = ""

    def where(self, exp: Optional[Exp] = None) -> str:
        q = f" queue {exp.vq}" if exp else ""
        return (f"frame [{self.desc}] func {self.func}{q} hint {self.hint} len {len(self.data)} "
                f"dst {mac_str(self.data[:6])}")


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.log.info("seed %s", cocotb.RANDOM_SEED)
        self.num_func = int(dut.NUM_FUNC.value)
        self.func_net = int(dut.FUNC_NET.value)
        self.max_segs = int(dut.MAX_SEGS.value)
        self.max_frame = int(dut.MAX_FRAME.value)
        self.base = int(dut.WR_RAM_ADDR.value)
        self.wr_tag = int(dut.WR_DMA_TAG.value)
        self.region = 64 + 64 * ((self.max_frame + 63) // 64)
        self.ram = bytearray(1 << int(dut.RAM_ADDR_W.value))
        self.mem = SparseMemory()
        self.exp_mem = SparseMemory()
        self.live = [True] * self.num_func
        self.features = [F_VERSION_1] * self.num_func
        self.pairs = [1] * self.num_func
        self.filters = [RxFilter(mac=rand_uni()) for _ in range(self.num_func)]
        self.mac_table = [[(0, 0, b"\0" * 6)] * 64 for _ in range(self.num_func)]
        self.vlan_table = [[0] * 128 for _ in range(self.num_func)]
        self.rings: dict[tuple[int, int], Ring] = {}
        self.next_addr = 0x2_3450_0000
        # source state
        self.answers: list[Answer] = []        # answers of the current frame
        self.handed: list[Segment] = []        # writable segments the DUT may write now
        self.pending = False                   # a fetch is being answered
        self.fetches = 0
        self.commits: list[tuple] = []
        self.touched: set = set()              # (key, idx) answered since the last check
        self.answer_gap = (0, 6)
        # DMA
        self.dma_delay = (1, 12)
        self.wr_fail_at: Optional[int] = None
        self.wr_total = 0
        self.wr_bytes = 0
        self.wr_inflight = 0
        self.wr_status_q: list = []
        # port and sinks
        self.rx_q: list[Frame] = []
        self.rx_busy = False
        self.rx_gap = 0.2
        self.used: list = []
        self.used_ready_p = 0.7
        self.fetch_ready_p = 0.6
        self.needs_reset = [0] * self.num_func
        self.errors: list[str] = []
        self.stats: dict[str, int] = {}
        self.spans: dict[int, int] = {}          # buffers per placed frame -> count
        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())

    # -- setup ---------------------------------------------------------------
    async def reset(self):
        d = self.dut
        for s in ("s_axis_rx_tdata", "s_axis_rx_tkeep", "s_axis_rx_tvalid", "s_axis_rx_tlast", "s_axis_rx_tuser",
                  "m_axis_fetch_ready", "s_axis_seg_valid", "s_axis_seg_addr", "s_axis_seg_len",
                  "s_axis_seg_write", "s_axis_seg_error", "s_axis_seg_last", "s_axis_buf_valid", "s_axis_buf_func",
                  "s_axis_buf_queue", "s_axis_buf_id", "s_axis_buf_slot_first", "s_axis_buf_wrap_first",
                  "s_axis_buf_num_desc", "s_axis_buf_indirect", "s_axis_buf_error", "s_axis_buf_fetch",
                  "s_axis_buf_none", "s_axis_buf_slot_next", "s_axis_buf_wrap_next", "ctx_rsp_valid",
                  "ctx_rsp_live", "ctx_rsp_features", "func_reset", "filt_mac_rd_data", "filt_vlan_rd_data",
                  "m_axis_wr_desc_ready", "s_axis_wr_desc_status_valid", "s_axis_wr_desc_status_tag",
                  "s_axis_wr_desc_status_error", "m_axis_used_ready"):
            getattr(d, s).value = 0
        for f in range(self.num_func):
            self.set_filter(f, self.filters[f])
        d.rst.value = 1
        await ClockCycles(d.clk, 4)
        d.rst.value = 0
        await RisingEdge(d.clk)
        for co in (self._ctx, self._source, self._wr_responder, self._wr_status, self._ram_port, self._filt_port,
                   self._rx_driver, self._used_sink, self._monitor):
            cocotb.start_soon(co())

    def _fail(self, msg: str):
        full = f"{msg} at {now()}"
        self.errors.append(full)
        self.log.error(full)

    def quiesced(self, f: int) -> bool:
        return bool(int(self.dut.func_quiesced.value) >> f & 1)

    def counters(self) -> dict[str, int]:
        d = self.dut
        return dict(placed=int(d.stat_rx_frames.value), nobuf=int(d.stat_rx_drop_nobuf.value),
                    filter=int(d.stat_rx_drop_filter.value), other=int(d.stat_rx_drop_other.value))

    # -- configuration ---------------------------------------------------------
    def is_net(self, f: int) -> bool:
        return f < self.num_func and bool(self.func_net >> f & 1)

    def set_filter(self, f: int, flt: RxFilter):
        """Program function f's receive filter (net_mac / net_rx_mode / MAC and VLAN tables) from ``flt``;
        the MAC table gets the uni / multi lists at random indices and invalid decoys elsewhere."""
        d = self.dut
        flt.vlan_filtering = bool(self.features[f] & F_VLAN)
        self.filters[f] = flt
        self.drive_filter_state()
        entries = [(0, m) for m in flt.uni] + [(1, m) for m in flt.multi]
        assert len(entries) <= 64, "bench: MAC table too long"
        idx = random.sample(range(64), len(entries))
        table = [(random.randrange(2), 0, random.choice(entries)[1] if entries and random.random() < 0.3
                  else random.randbytes(6)) for _ in range(64)]      # invalid decoys
        for i, (mc, m) in zip(idx, entries):
            table[i] = (mc, 1, m)
        self.mac_table[f] = table
        self.vlan_table[f] = [sum(1 << b for b in range(32) if 32 * w + b in flt.vlans) for w in range(128)]

    def drive_filter_state(self):
        """net_mac / net_rx_mode / net_pairs of every function from the bench's state."""
        d = self.dut
        mac = mode = pairs = 0
        for f, flt in enumerate(self.filters):
            mac |= int.from_bytes(flt.mac, "big") << 48 * f
            mode |= sum(int(getattr(flt, n)) << i for i, n in enumerate(MODE_BITS)) << 8 * f
            pairs |= (self.pairs[f] & 0xFFFF) << 16 * f
        d.net_mac.value = mac
        d.net_rx_mode.value = mode
        d.net_pairs.value = pairs

    def flush(self, f: int):
        """Take every posted but unconsumed buffer of f's queues off the rings (the driver reposts)."""
        for (ff, _), r in self.rings.items():
            if ff == f:
                r.committed = r.exp_committed = len(r.bufs)

    def set_pairs(self, f: int, pairs: int):
        self.pairs[f] = pairs
        self.set_filter(f, self.filters[f])

    def set_features(self, f: int, features: int):
        self.features[f] = features
        self.filters[f].vlan_filtering = bool(features & F_VLAN)

    def hsize(self, f: int) -> int:
        return net_hdr_size(self.features[f])

    def mrg(self, f: int) -> bool:
        return bool(self.features[f] & F_MRG)

    # -- buffers ---------------------------------------------------------------
    def ring(self, f: int, vq: int) -> Ring:
        return self.rings.setdefault((f, vq), Ring(f, vq))

    def alloc(self, n: int) -> int:
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

    def layout(self, n: int, max_k: int = 3) -> list[int]:
        """Writable segment lengths of an ``n``-byte buffer: at most ``max_k`` segments."""
        if random.random() < 0.5 or n < 2 or max_k < 2:
            return [n]
        segs = self.cuts(n, random.randint(2, max_k))
        if len(segs) < max_k and random.random() < 0.2:
            segs.insert(random.randrange(len(segs) + 1), 0)
        return segs

    def post(self, f: int, vq: int, wlens: list[int], *, readable: tuple = (), err: bool = False,
             num_desc: Optional[int] = None) -> RxBuf:
        """Make one RX buffer available: readable segment lengths ``readable`` first, then writable
        ``wlens`` (junk-filled in host memory and in the expected image)."""
        r = self.ring(f, vq)
        segs = []
        for n in readable:
            segs.append(Segment(self.alloc(n), n, False))
        for n in wlens:
            a = self.alloc(n)
            junk = random.randbytes(n)
            self.mem.write(a, junk)
            self.exp_mem.write(a, junk)
            segs.append(Segment(a, n, True))
        nd = num_desc if num_desc is not None else random.randint(1, 4)
        rb = RxBuf(Buffer(id=random.randrange(1 << 16), segments=tuple(segs), ndescs=nd, head=r.end % RING_SIZE),
                   r.end, err)
        outstanding = r.end + nd - (r.bufs[r.committed].pos if r.committed < len(r.bufs) else r.end)
        assert outstanding <= RING_SIZE, "bench: more slots outstanding than the ring holds"
        r.end += nd
        r.bufs.append(rb)
        return rb

    def post_room(self, f: int, vq: int, need: int, *, short: int = 0, exact: bool = False):
        """Buffers for a frame of ``need`` bytes (header included): one buffer without MRG_RXBUF, several
        with (all but the last short of the total); ``short`` bytes less than needed; ``exact``: no spare
        room."""
        left = need - short
        tight = exact or short > 0
        if not self.mrg(f):
            extra = 0 if tight else random.choice([0, 0, random.randrange(2000)])
            self.post(f, vq, self.layout(left + extra, min(3, self.max_segs)))
            return
        # k buffers (at most MAX_SEGS/2, 8), the first at least a header, the sum reaching the room only
        # with the last one
        hs = self.hsize(f)
        k = random.randint(1, max(1, min(8, self.max_segs // 2, left - hs)))
        pts = sorted(random.sample(range(hs, left), k - 1)) if k > 1 else []
        lens = [b - a for a, b in zip([0] + pts, pts + [left])]
        if not tight and random.random() < 0.5:
            lens[-1] += random.randrange(1000)
        per = min(3, max(1, (self.max_segs - (1 if short else 0)) // k))   # room for one more buffer if short
        for n in lens:
            self.post(f, vq, self.layout(n, per))

    def wants_buffers(self, fr: Frame) -> bool:
        """The frame gets as far as the fetch (net function, live, length, filter)."""
        f = fr.func
        return (self.is_net(f) and self.live[f] and 0 < len(fr.data) <= self.max_frame and not fr.bad_keep
                and self.filters[f].accepts(fr.data))

    # -- frames ----------------------------------------------------------------
    def make_frame(self, size: int, dst: bytes, vid: Optional[int] = None) -> bytes:
        src = rand_uni()
        l2 = Ether(dst=mac_str(dst), src=mac_str(src))
        if vid is not None:
            l2 = l2 / Dot1Q(vlan=vid, prio=random.randrange(8))
        eth = len(bytes(l2))
        ip = IP(src=f"10.{random.randrange(256)}.0.{random.randrange(1, 255)}",
                dst=f"192.168.{random.randrange(256)}.{random.randrange(1, 255)}", id=random.randrange(65536))
        if size >= eth + 40 and random.random() < 0.5:
            p = l2 / ip / TCP(sport=random.randrange(1, 65536), dport=random.randrange(1, 65536),
                              seq=random.randrange(1 << 32), flags="PA") / Raw(random.randbytes(size - eth - 40))
        elif size >= eth + 28:
            p = l2 / ip / UDP(sport=random.randrange(1, 65536), dport=random.randrange(1, 65536)) / Raw(
                random.randbytes(size - eth - 28))
        else:
            raw = bytes(l2) if vid is not None else bytes(l2)[:12] + random.randbytes(2)
            return (raw + random.randbytes(size))[:size]
        raw = bytes(p)
        assert len(raw) == size, f"bench: frame {len(raw)} bytes, wanted {size}"
        return raw

    def rand_dst(self, f: int, kind: Optional[str] = None) -> tuple[bytes, str]:
        flt = self.filters[f]
        kinds = ["bcast", "own", "uni_tab", "multi_tab", "uni_rand", "multi_rand"]
        kind = kind or random.choice(kinds)
        if kind == "uni_tab" and not flt.uni:
            kind = "uni_rand"
        if kind == "multi_tab" and not flt.multi:
            kind = "multi_rand"
        dst = {"bcast": lambda: BCAST, "own": lambda: flt.mac, "uni_tab": lambda: random.choice(flt.uni),
               "multi_tab": lambda: random.choice(flt.multi), "uni_rand": rand_uni,
               "multi_rand": rand_multi}[kind]()
        return dst, kind

    def rand_size(self) -> int:
        mf = self.max_frame
        return random.choice([random.randint(14, 128), random.randint(60, min(mf, 1514)), random.randint(14, mf), mf])

    def rand_frame(self, f: int, *, size: Optional[int] = None, dst_kind: Optional[str] = None,
                   vid: Optional[int] = None, hint: Optional[int] = None) -> Frame:
        size = size if size is not None else self.rand_size()
        dst, kind = self.rand_dst(f, dst_kind)
        if vid is None and random.random() < 0.15:
            vid = random.randrange(4096)
        data = self.make_frame(size, dst, vid)
        return Frame(f, random.randrange(256) if hint is None else hint, data,
                     desc=f"{kind}{'' if vid is None else f' vid {vid}'}")

    # -- expectation -------------------------------------------------------------
    def expect(self, fr: Frame) -> Exp:
        """The outcome of ``fr`` given the buffers posted now (advances the model's committed index)."""
        f = fr.func
        if not self.is_net(f):
            return Exp("other", "not a net function", f)
        vq = 2 * (fr.hint % (self.pairs[f] or 1))
        n = len(fr.data)
        if not self.live[f]:
            return Exp("other", "not live", f, vq)
        if fr.bad_keep:
            return Exp("other", "bad tkeep", f, vq)
        if n > self.max_frame or n == 0:
            return Exp("other", "too long" if n else "empty", f, vq)
        if not self.filters[f].accepts(fr.data):
            return Exp("filter", "filter", f, vq)
        r = self.ring(f, vq)
        taken: list[int] = []
        state = dict(segs=0, ovf=None)

        class ErrAnswer(Exception):
            pass

        def take() -> Optional[Buffer]:
            i = r.exp_committed + len(taken)
            if i >= len(r.bufs):
                return None
            rb = r.bufs[i]
            taken.append(i)
            if rb.err:
                raise ErrAnswer()
            state["segs"] += len(rb.buf.segments)
            if state["ovf"] is None and (state["segs"] > self.max_segs or len(taken) > self.max_segs):
                state["ovf"] = len(taken) - 1
            return rb.buf

        key = (f, vq)
        try:
            p = place_rx(fr.data, take, lambda _: None, self.features[f], vq)
        except ErrAnswer:
            return Exp("other", "error answer", f, vq, len(taken))
        except DeviceNeedsReset as e:
            if state["ovf"] is not None and state["ovf"] < len(taken) - 1:
                return Exp("other", "MAX_SEGS", f, vq, state["ovf"] + 1)
            return Exp("needs_reset", str(e), f, vq, len(taken))
        if state["ovf"] is not None:
            return Exp("other", "MAX_SEGS", f, vq, state["ovf"] + 1)
        if p.result == RxResult.NO_BUFFERS:
            return Exp("nobuf", "no buffers", f, vq, len(taken) + 1)
        if p.result == RxResult.TOO_BIG:
            return Exp("nobuf", "too big", f, vq, len(taken))
        write_rx(p, fr.data, self.exp_mem)
        used = [dict(func=f, queue=vq, id=b.id, len=ln, num_desc=b.ndescs) for b, ln in zip(p.buffers, p.lens)]
        last = r.bufs[taken[-1]]
        slot, wrap = Ring.enc(last.next_pos)
        r.exp_committed = taken[-1] + 1
        return Exp("placed", f"{len(taken)} buffer(s)", f, vq, len(taken), used, (f, vq, slot, wrap),
                   tuple((key, i) for i in taken))

    # -- port agents --------------------------------------------------------------
    async def _ctx(self):
        await serve_ctx(self.dut, lambda f: (self.live[f], self.features[f]) if f < self.num_func else (False, 0))

    async def _rx_driver(self):
        d = self.dut
        while True:
            if not self.rx_q:
                d.s_axis_rx_tvalid.value = 0
                self.rx_busy = False
                await RisingEdge(d.clk)
                continue
            self.rx_busy = True
            fr = self.rx_q.pop(0)
            data = fr.data
            nb = max(1, (len(data) + 63) // 64)
            bad_at = random.randrange(nb) if fr.bad_keep else -1
            for b in range(nb):
                while random.random() < self.rx_gap:
                    d.s_axis_rx_tvalid.value = 0
                    await RisingEdge(d.clk)
                chunk = data[64 * b:64 * b + 64]
                keep = (1 << len(chunk)) - 1
                if b == bad_at:
                    # a hole in the byte enables (not contiguous from byte 0 / not full before tlast)
                    keep = keep & ~(1 << random.randrange(max(1, len(chunk) - 1))) if len(chunk) > 1 else 0b10
                d.s_axis_rx_tdata.value = int.from_bytes(chunk + random.randbytes(64 - len(chunk)), "little")
                d.s_axis_rx_tkeep.value = keep
                d.s_axis_rx_tlast.value = int(b == nb - 1)
                d.s_axis_rx_tuser.value = fr.hint << 8 | fr.func
                d.s_axis_rx_tvalid.value = 1
                await RisingEdge(d.clk)
                while not int(d.s_axis_rx_tready.value):
                    await RisingEdge(d.clk)
            d.s_axis_rx_tvalid.value = 0

    async def _source(self):
        """Fetch requests -> answers (segments, record); commits."""
        d = self.dut
        while True:
            d.m_axis_fetch_ready.value = int(random.random() < self.fetch_ready_p)
            await RisingEdge(d.clk)
            if int(d.m_commit_valid.value):
                self._commit(int(d.m_commit_func.value), int(d.m_commit_queue.value), int(d.m_commit_slot.value),
                             int(d.m_commit_wrap.value))
            if not (int(d.m_axis_fetch_valid.value) and int(d.m_axis_fetch_ready.value)):
                continue
            f, q = int(d.m_axis_fetch_func.value), int(d.m_axis_fetch_queue.value)
            cursor, slot, wrap = (int(d.m_axis_fetch_cursor.value), int(d.m_axis_fetch_slot.value),
                                  int(d.m_axis_fetch_wrap.value))
            self.fetches += 1
            where = f"fetch func {f} queue {q} cursor {cursor} slot {slot} wrap {wrap}"
            if self.pending:
                self._fail(f"{where} while the previous fetch is still being answered")
                continue
            if cursor == 0:
                self.answers = []
                self.handed = []
                r = self.rings.get((f, q))
                idx = r.committed if r else 0
            else:
                last = self.answers[-1] if self.answers else None
                if last is None or last.none or last.err:
                    self._fail(f"{where}: cursor fetch without a previous buffer answer for this frame")
                    continue
                want = Ring.enc(last.next_pos)
                if (f, q) != last.key or (slot, wrap) != want:
                    self._fail(f"{where}: expected func {last.key[0]} queue {last.key[1]} slot {want[0]} wrap "
                               f"{want[1]} (after id {self.rings[last.key].bufs[last.idx].buf.id})")
                    continue
                idx = last.idx + 1
            self.pending = True
            cocotb.start_soon(self._answer(f, q, idx))

    async def _answer(self, f: int, q: int, idx: int):
        d = self.dut
        await ClockCycles(d.clk, random.randint(*self.answer_gap) + 1)
        r = self.rings.get((f, q))
        reset = f < self.num_func and int(d.func_reset.value) >> f & 1
        if r is None or idx >= len(r.bufs) or reset:
            d.s_axis_buf_none.value = 1
            d.s_axis_buf_fetch.value = 1
            d.s_axis_buf_slot_next.value = random.randrange(1 << 16)
            d.s_axis_buf_wrap_next.value = random.randrange(2)
            ans = Answer((f, q), idx, True)
            await feed_buffer(d, (), func=f, queue=q, buf_id=random.randrange(1 << 16), num_desc=0)
        else:
            rb = r.bufs[idx]
            slot, wrap = Ring.enc(rb.next_pos)
            d.s_axis_buf_none.value = 0
            d.s_axis_buf_fetch.value = 1
            d.s_axis_buf_slot_next.value = slot
            d.s_axis_buf_wrap_next.value = wrap
            ans = Answer((f, q), idx, False, rb.err, rb.next_pos)
            self.touched.add(((f, q), idx))
            if not rb.err:
                self.handed += [s for s in rb.buf.segments if s.writable and s.length]
            segs = rb.buf.segments if rb.buf.segments or not rb.err else (Segment(0, 0, False),)
            await feed_buffer(d, segs, func=f, queue=q, buf_id=rb.buf.id, num_desc=rb.buf.ndescs,
                              seg_error=rb.err, rec_error=rb.err, gap=0.3)
        self.answers.append(ans)
        self.pending = False

    def _commit(self, f: int, q: int, slot: int, wrap: int):
        where = f"commit func {f} queue {q} slot {slot} wrap {wrap}"
        self.commits.append((f, q, slot, wrap))
        if self.pending:
            self._fail(f"{where} while a fetch is being answered")
        last = self.answers[-1] if self.answers else None
        if last is None or last.none or last.err:
            self._fail(f"{where}: no buffer was answered for this frame")
            return
        want = Ring.enc(last.next_pos)
        if (f, q) != last.key or (slot, wrap) != want:
            self._fail(f"{where}: not a position handed over; expected func {last.key[0]} queue {last.key[1]} "
                       f"slot {want[0]} wrap {want[1]}")
            return
        self.rings[last.key].committed = last.idx + 1
        self.answers = []
        self.handed = []

    async def _wr_responder(self):
        d = self.dut
        lo, hi = self.base, self.base + self.region
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
            where = f"DMA write func {f} addr {addr:#x} len {n} ram {ram:#x}"
            if tag != self.wr_tag:
                self._fail(f"{where}: tag {tag}, expected {self.wr_tag}")
            if not (lo <= ram and ram + n <= hi):
                self._fail(f"{where}: RAM range outside the region {lo:#x}+{self.region}")
            if n == 0 or n > self.max_frame + 32:
                self._fail(f"{where}: length {n}, expected 1..{self.max_frame + 32}")
            if f < self.num_func and self.quiesced(f):
                self._fail(f"{where}: func_quiesced[{f}] is high")
            if not self.answers or self.answers[-1].key[0] != f:
                self._fail(f"{where}: not the function of the buffers answered "
                           f"({self.answers[-1].key if self.answers else 'none'})")
            if not any(s.addr <= addr and addr + n <= s.end for s in self.handed):
                self._fail(f"{where}: not inside one writable segment handed over for this frame "
                           f"{[(hex(s.addr), s.length) for s in self.handed][:8]}")
            err = DMA_ERR_UR if self.wr_fail_at == self.wr_total else DMA_OK
            self.wr_inflight += 1
            cocotb.start_soon(self._complete((addr, ram, n, tag, err)))

    async def _complete(self, item):
        await ClockCycles(self.dut.clk, random.randint(*self.dma_delay))
        self.wr_status_q.append(item)

    async def _wr_status(self):
        await serve_wr_status(self.dut, self.wr_status_q, lambda: self.mem, self.ram, self._wr_done)

    def _wr_done(self):
        self.wr_inflight -= 1

    async def _ram_port(self):
        d = self.dut
        lo, hi = self.base // 64, (self.base + self.region) // 64
        while True:
            await RisingEdge(d.clk)
            if int(d.buf_wr_en.value):
                row = int(d.buf_wr_addr.value)
                if not lo <= row < hi:
                    self._fail(f"RAM write of row {row} outside the region rows {lo}..{hi - 1}")
                    continue
                be = int(d.buf_wr_be.value)
                data = int(d.buf_wr_data.value).to_bytes(64, "little")
                for i in range(64):
                    if be >> i & 1:
                        self.ram[64 * row + i] = data[i]

    async def _filt_port(self):
        d = self.dut
        while True:
            await RisingEdge(d.clk)
            if int(d.filt_mac_rd_en.value):
                f, i = int(d.filt_mac_rd_func.value), int(d.filt_mac_rd_index.value)
                mc, v, m = self.mac_table[f][i] if f < self.num_func else (0, 0, b"\0" * 6)
                d.filt_mac_rd_data.value = mc << 49 | v << 48 | int.from_bytes(m, "big")
            if int(d.filt_vlan_rd_en.value):
                f, i = int(d.filt_vlan_rd_func.value), int(d.filt_vlan_rd_index.value)
                d.filt_vlan_rd_data.value = self.vlan_table[f][i] if f < self.num_func else 0

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

    # -- driving and checking -------------------------------------------------------
    async def idle(self, limit: int = 300000):
        d = self.dut
        quiet = 0
        for _ in range(limit):
            await RisingEdge(d.clk)
            if (not int(d.busy.value) and not self.rx_q and not self.rx_busy and not self.pending
                    and not self.wr_inflight and not self.wr_status_q and not int(d.m_axis_used_valid.value)):
                quiet += 1
                if quiet >= 4:
                    return
            else:
                quiet = 0
        raise AssertionError(f"DUT still busy after {limit} cycles at {now()} (busy {int(d.busy.value)}, "
                             f"{len(self.rx_q)} frames queued, fetch pending {self.pending}, {self.wr_inflight} "
                             f"writes in flight, used valid {int(d.m_axis_used_valid.value)}); "
                             f"bench errors: {self.errors}")

    def check_errors(self):
        assert not self.errors, "bench errors:\n" + "\n".join(self.errors)

    def check_memory(self, keys, what: str):
        """Every writable byte of the buffers ``keys`` against the expected image."""
        for key, idx in sorted(keys):
            rb = self.rings[key].bufs[idx]
            off = 0
            for s in rb.buf.writable:
                got, want = self.mem.read(s.addr, s.length), self.exp_mem.read(s.addr, s.length)
                if got != want:
                    j = next(k for k in range(s.length) if got[k] != want[k])
                    field_ = " = num_buffers in a first buffer" if off + j in (10, 11) else ""
                    raise AssertionError(
                        f"{what}: func {key[0]} queue {key[1]} buffer id {rb.buf.id} (slot {rb.pos % RING_SIZE}): "
                        f"writable byte {off + j}{field_} (segment {s.addr:#x}+{s.length}) "
                        f"is {got[j]:#04x}, expected {want[j]:#04x} at {now()}")
                off += s.length

    def sync_memory(self, keys):
        """After a partial (abandoned) placement: the expected image takes what the DUT wrote."""
        for key, idx in keys:
            for s in self.rings[key].bufs[idx].buf.writable:
                self.exp_mem.write(s.addr, self.mem.read(s.addr, s.length))

    async def run(self, frames: list[Frame], *, label: str = "") -> list[Exp]:
        """Expectations for ``frames`` (in order, over the buffers posted now), then send them back to
        back and check every outcome."""
        exps = [self.expect(fr) for fr in frames]
        c0, nr0, used0, commits0, fetch0 = (self.counters(), list(self.needs_reset), len(self.used),
                                            len(self.commits), self.fetches)
        self.touched = set()
        self.rx_q += frames
        await self.idle()
        self.check_errors()
        tag = f"{label}: " if label else ""
        used, commits = self.used[used0:], self.commits[commits0:]
        for i, (fr, e) in enumerate(zip(frames, exps)):
            w = f"{tag}frame {i} of {len(frames)}: {fr.where(e)} [pymodel: {e.kind}, {e.why}]"
            n = len(e.used)
            got, used = used[:n], used[n:]
            for k, (g, x) in enumerate(zip(got, e.used)):
                assert g == x, f"{w}: used record {k} is {g}, expected {x} at {now()}"
            assert len(got) == n, f"{w}: {len(got)} used records {got}, expected {n} {e.used} at {now()}"
            if e.commit:
                assert commits and commits[0] == e.commit, (
                    f"{w}: commit {commits[0] if commits else 'none'}, expected (func, queue, slot, wrap) "
                    f"{e.commit} at {now()}")
                commits = commits[1:]
            self.stats[e.kind] = self.stats.get(e.kind, 0) + 1
            if e.kind == "placed":
                self.spans[len(e.used)] = self.spans.get(len(e.used), 0) + 1
        assert not used, f"{tag}extra used records {used} after the frames at {now()}"
        assert not commits, f"{tag}extra commits {commits} after the frames at {now()}"
        c1 = self.counters()
        want = dict(placed=0, nobuf=0, filter=0, other=0)
        for e in exps:
            want["other" if e.kind == "needs_reset" else e.kind] += 1
        got = {k: c1[k] - c0[k] for k in c1}
        assert got == want, (f"{tag}stat counter increments {got}, expected {want} "
                             f"(outcomes {[e.kind for e in exps]}) at {now()}")
        want_nr = [sum(int(e.kind == "needs_reset" and e.func == f) for e in exps) for f in range(self.num_func)]
        got_nr = [a - b for a, b in zip(self.needs_reset, nr0)]
        assert got_nr == want_nr, f"{tag}needs_reset pulses {got_nr}, expected {want_nr} at {now()}"
        want_fetch = sum(e.fetches for e in exps)
        assert self.fetches - fetch0 == want_fetch, (f"{tag}{self.fetches - fetch0} buffer fetches, expected "
                                                     f"{want_fetch} ({[e.fetches for e in exps]}) at {now()}")
        for key, r in self.rings.items():
            assert r.committed == r.exp_committed, (f"{tag}func {key[0]} queue {key[1]}: committed index "
                                                    f"{r.committed}, expected {r.exp_committed} at {now()}")
        self.check_memory(self.touched | {b for e in exps for b in e.bufs}, tag + "host memory")
        return exps


async def setup(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


def summary(tb: TB):
    tb.check_errors()
    tb.log.info("outcomes %s; buffers per placed frame %s; %d fetches, %d commits, %d DMA writes (%d bytes), "
                "%d used records, needs_reset %s, counters %s", tb.stats, dict(sorted(tb.spans.items())),
                tb.fetches, len(tb.commits), tb.wr_total, tb.wr_bytes, len(tb.used), tb.needs_reset, tb.counters())


def net_funcs(tb: TB) -> list[int]:
    return [f for f in range(tb.num_func) if tb.is_net(f)]


def rand_filter(tb: TB, f: int, promisc: Optional[bool] = None) -> RxFilter:
    flt = RxFilter(mac=tb.filters[f].mac)
    flt.promisc = random.random() < 0.3 if promisc is None else promisc
    for n in MODE_BITS[1:]:
        setattr(flt, n, random.random() < 0.15)
    flt.uni = [rand_uni() for _ in range(random.randint(0, 8))]
    flt.multi = [rand_multi() for _ in range(random.randint(0, 8))]
    flt.vlans = {random.randrange(4096) for _ in range(random.randint(0, 20))}
    return flt


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------

@cocotb.test()
async def test_random_mix(dut):
    """Random frames (14..MAX_FRAME, broadcast / multicast / unicast, some VLAN-tagged) on every function
    and pair, with and without MRG_RXBUF, random buffer sizes and layouts (frames spanning up to 8
    buffers), random filters; groups of frames back to back with backpressure on every port."""
    tb = await setup(dut)
    nets = net_funcs(tb)
    for g in range(12):
        for f in nets:
            feats = F_VERSION_1 | (F_MRG if g % 2 else 0) | (F_VLAN if random.random() < 0.5 else 0) \
                | (F_HASH if random.random() < 0.2 else 0)
            tb.set_features(f, feats)
            tb.pairs[f] = random.randint(1, 4)
            tb.set_filter(f, rand_filter(tb, f))
        tb.used_ready_p = random.choice([0.3, 0.7, 1.0])
        tb.fetch_ready_p = random.choice([0.3, 0.7, 1.0])
        tb.rx_gap = random.choice([0.0, 0.2, 0.5])
        frames = []
        for _ in range(12):
            f = random.choice(nets + [random.randrange(tb.num_func)])
            fr = tb.rand_frame(f)
            if tb.wants_buffers(fr) and random.random() < 0.95:
                vq = 2 * (fr.hint % tb.pairs[f])
                tb.post_room(f, vq, tb.hsize(f) + len(fr.data))
            frames.append(fr)
        await tb.run(frames, label=f"group {g}")
    assert tb.stats.get("placed", 0) >= 20, f"only {tb.stats} outcomes in the random mix"
    if tb.max_frame > 4096 and tb.max_segs >= 8:
        assert max(tb.spans) >= 3, f"no frame spanned 3+ buffers: {tb.spans}"
    summary(tb)


@cocotb.test()
async def test_spanning(dut):
    """MRG_RXBUF: frames spanning exactly 1..8 buffers (random sizes, all but the last filled), the header
    split over the first buffer's segments; num_buffers = the count."""
    tb = await setup(dut)
    f = net_funcs(tb)[0]
    for hs_feat in (0, F_HASH):
        tb.set_features(f, F_VERSION_1 | F_MRG | hs_feat)
        hs = tb.hsize(f)
        for k in range(1, 9):
            if k > tb.max_segs:
                break
            size = random.randint(max(14, 8 * k), tb.max_frame)
            need = hs + size
            # k buffers: the first at least hs bytes, the sum reaching need only with the last one
            pts = sorted(random.sample(range(hs + 1, need), k - 1)) if k > 1 else []
            lens = [b - a for a, b in zip([0] + pts, pts + [need])]
            lens[-1] += random.choice([0, 0, random.randrange(500)])
            fr = tb.rand_frame(f, size=size, hint=0)
            for i, n in enumerate(lens):
                layout = tb.cuts(n, 2) if (i == 0 and n > hs and random.random() < 0.5) else [n]
                tb.post(f, 0, layout)
            exps = await tb.run([fr], label=f"{k} buffers, {hs}-byte header")
            assert exps[0].kind == "placed" and len(exps[0].used) == k, f"bench: pymodel says {exps[0]}"
    summary(tb)


@cocotb.test()
async def test_exact_fit(dut):
    """The buffer room exactly header + frame (placed) and one byte short: without MRG_RXBUF TOO_BIG
    (dropped, not consumed: the next frame that fits takes it), with MRG_RXBUF not enough buffers
    (dropped, nothing committed, placed once one more buffer is posted)."""
    tb = await setup(dut)
    f = net_funcs(tb)[0]
    for mrg in (False, True):
        tb.set_features(f, F_VERSION_1 | (F_MRG if mrg else 0))
        hs = tb.hsize(f)
        for size in (14, 60, 64 - hs, 128 - hs, 1514, tb.max_frame, random.randint(14, tb.max_frame)):
            need = hs + size
            fr = tb.rand_frame(f, size=size, hint=0)
            # exact fit
            tb.post_room(f, 0, need, exact=True)
            e = await tb.run([fr], label=f"exact fit {need}")
            assert e[0].kind == "placed" and sum(u["len"] for u in e[0].used) == need
            # one byte short
            tb.post_room(f, 0, need, short=1)
            e = await tb.run([fr], label=f"one byte short of {need}")
            assert e[0].kind == "nobuf", f"bench: pymodel says {e[0]}"
            if mrg:
                tb.post(f, 0, [1 + random.randrange(3)])
                e = await tb.run([fr], label=f"one more buffer for {need}")
            else:
                small = tb.make_frame(max(1, size - 1 - random.randrange(3)), BCAST)
                e = await tb.run([Frame(f, 0, small, desc="fits the short buffer")], label="smaller frame")
            assert e[0].kind == "placed", f"bench: pymodel says {e[0]}"
    summary(tb)


@cocotb.test()
async def test_no_buffers(dut):
    """No buffer posted (queue empty or never used): dropped, counted, nothing committed; after buffers
    are posted the next frames are placed normally (with and without MRG_RXBUF); with MRG_RXBUF buffers
    for half the frame: dropped, nothing consumed, placed once the rest is posted."""
    tb = await setup(dut)
    for f in net_funcs(tb):
        for mrg in (False, True):
            tb.flush(f)
            tb.set_features(f, F_VERSION_1 | (F_MRG if mrg else 0))
            tb.set_pairs(f, 2)
            frs = [tb.rand_frame(f, hint=h) for h in (0, 1, 3)]
            e = await tb.run(frs, label="no buffers")
            assert all(x.kind == "nobuf" for x in e), f"bench: {[x.kind for x in e]}"
            for fr in frs:
                tb.post_room(f, 2 * (fr.hint % 2), tb.hsize(f) + len(fr.data))
            e = await tb.run(frs, label="after posting")
            assert all(x.kind == "placed" for x in e), f"bench: {[x.kind for x in e]}"
            if not mrg:
                continue
            fr = tb.rand_frame(f, size=random.randint(min(3000, tb.max_frame), tb.max_frame), hint=0)
            need = tb.hsize(f) + len(fr.data)
            tb.post_room(f, 0, need, short=need // 2)
            e = await tb.run([fr], label="half the room")
            assert e[0].kind == "nobuf", f"bench: {e[0]}"
            tb.post(f, 0, [need // 2 + random.randrange(100)])
            e = await tb.run([fr], label="rest posted")
            assert e[0].kind == "placed", f"bench: {e[0]}"
    summary(tb)


@cocotb.test()
async def test_filter_modes(dut):
    """Each net_rx_mode bit alone and in pairs, MAC table hits and misses (valid / invalid entries, uni
    vs multi lists), own MAC, broadcast, VLAN filtering with CTRL_VLAN (tagged hit / miss, untagged,
    without CTRL_VLAN), frames shorter than 14 / 16 bytes; pymodel RxFilter decides."""
    tb = await setup(dut)
    f = net_funcs(tb)[-1]
    kinds = ["bcast", "own", "uni_tab", "multi_tab", "uni_rand", "multi_rand"]
    settings = [None] + [[b] for b in MODE_BITS] + [random.sample(MODE_BITS, 2) for _ in range(6)]
    for vlan in (False, True):
        tb.set_features(f, F_VERSION_1 | (F_VLAN if vlan else 0))
        for bits in settings:
            flt = RxFilter(mac=tb.filters[f].mac, promisc=False)
            for b in bits or []:
                setattr(flt, b, True)
            # a multicast address on the uni list and a unicast one on the multi list: an entry matches
            # only a destination of its own kind
            flt.uni = [rand_uni() for _ in range(random.randint(1, 6))] + [rand_multi()]
            flt.multi = [rand_multi() for _ in range(random.randint(1, 6))] + [rand_uni()]
            flt.vlans = {random.randrange(4096) for _ in range(random.randint(1, 10))}
            tb.set_filter(f, flt)
            frames = []
            for k in kinds:
                vids = [None, random.choice(sorted(flt.vlans)), random.randrange(4096)]
                for vid in vids:
                    fr = tb.rand_frame(f, size=random.randint(14, 300), dst_kind=k, vid=vid, hint=0)
                    frames.append(fr)
            for dst, k in ((flt.uni[-1], "multicast on the uni list"), (flt.multi[-1], "unicast on the multi list")):
                frames.append(Frame(f, 0, tb.make_frame(random.randint(14, 300), dst), desc=k))
            for n in (1, 6, 13, 14, 15):
                dst, k = tb.rand_dst(f)
                frames.append(Frame(f, 0, (dst + b"\x81\x00" * 8)[:n], desc=f"short {k}"))
            for fr in frames:
                if tb.wants_buffers(fr):
                    tb.post_room(f, 0, tb.hsize(f) + len(fr.data))
            exps = await tb.run(frames, label=f"mode {bits} vlan {vlan}")
            # nothing was committed for the filtered frames: their buffers went to the next frames;
            # take the leftovers off the ring for the next setting
            r = tb.ring(f, 0)
            r.committed = r.exp_committed = len(r.bufs)
            tb.log.info("mode %s vlan %s: %s", bits, vlan, [e.kind for e in exps])
    assert tb.stats.get("filter", 0) > 20 and tb.stats.get("placed", 0) > 20, f"outcomes {tb.stats}"
    summary(tb)


@cocotb.test()
async def test_queue_selection(dut):
    """vq = 2 * (pair_hint mod curr_pairs) for curr_pairs 0 (as 1), 1, 2, 3, 5, 8, 255, 256, 65535 and
    hints 0..255: the used records and commits name that queue, the other queues stay untouched."""
    tb = await setup(dut)
    f = net_funcs(tb)[0]
    for pairs in (0, 1, 2, 3, 5, 8, 255, 256, 65535):
        tb.set_pairs(f, pairs)
        frames = []
        hints = [0, 1, 2, 255, 254, 128] + [random.randrange(256) for _ in range(6)]
        for h in hints:
            fr = tb.rand_frame(f, size=random.randint(14, 200), hint=h)
            tb.post_room(f, 2 * (h % (pairs or 1)), tb.hsize(f) + len(fr.data))
            frames.append(fr)
        exps = await tb.run(frames, label=f"curr_pairs {pairs}")
        assert all(e.kind == "placed" for e in exps), f"bench: {[e.kind for e in exps]}"
    summary(tb)


@cocotb.test()
async def test_bad_inputs(dut):
    """Readable segment (needs_reset), MRG_RXBUF first buffer < header (needs_reset), error answer,
    non-net function, function out of range, oversize (MAX_FRAME+1, far longer), empty frame,
    bad tkeep, MAX_SEGS+1 segments (and exactly MAX_SEGS): dropped, nothing committed; the next frame
    is placed."""
    tb = await setup(dut)
    f = net_funcs(tb)[0]
    good = lambda: tb.rand_frame(f, size=random.randint(14, 500), hint=0)

    async def bad_then_good(frame: Frame, label: str, post=None):
        """The bad frame alone (over the buffers ``post`` makes available), its leftovers off the ring,
        then a good frame over fresh buffers."""
        tb.flush(f)
        if post:
            post()
        e = (await tb.run([frame], label=label))[0]
        tb.flush(f)
        nxt = good()
        tb.post_room(f, 0, tb.hsize(f) + len(nxt.data))
        e2 = (await tb.run([nxt], label=f"after {label}"))[0]
        assert e2.kind == "placed", f"bench: {label}: next frame {e2}"
        return e

    for mrg in (False, True):
        tb.set_features(f, F_VERSION_1 | (F_MRG if mrg else 0))
        hs = tb.hsize(f)
        fr = good()
        need = hs + len(fr.data)
        # a readable segment (also of length 0), first or later buffer
        for rl in (0, 1, 100):
            e = await bad_then_good(fr, f"readable segment {rl}", lambda: tb.post(f, 0, [need], readable=(rl,)))
            assert e.kind == "needs_reset"
        if mrg:
            def two():
                tb.post(f, 0, [hs + 1])
                tb.post(f, 0, [need], readable=(8,))
            e = await bad_then_good(fr, "readable segment in the second buffer", two)
            assert e.kind == "needs_reset"
            # first buffer smaller than the header
            for n in (0, 1, hs - 1):
                e = await bad_then_good(fr, f"first buffer {n} bytes",
                                        lambda: [tb.post(f, 0, tb.cuts(n, 2)), tb.post(f, 0, [need])])
                assert e.kind == "needs_reset"
            # a later buffer smaller than the header is fine
            e = await bad_then_good(fr, "second buffer 1 byte", lambda: [tb.post(f, 0, [hs]), tb.post(f, 0, [1]),
                                                                         tb.post(f, 0, [need])])
            assert e.kind == "placed"
        # error answer (first or later buffer)
        e = await bad_then_good(fr, "error answer", lambda: tb.post(f, 0, [need], err=True))
        assert e.kind == "other"
        if mrg:
            e = await bad_then_good(fr, "error answer second", lambda: [tb.post(f, 0, [hs + 3]),
                                                                        tb.post(f, 0, [need], err=True)])
            assert e.kind == "other"
        # MAX_SEGS segments over the frame's buffers: placed; MAX_SEGS+1: dropped
        m = tb.max_segs
        for k, want in ((m, "placed"), (m + 1, "other")):
            big = tb.rand_frame(f, size=max(14, min(tb.max_frame, 40 * k)), hint=0)
            nd = hs + len(big.data)
            if mrg and k > 1:
                split = random.randint(1, k - 1)
                a = random.randint(hs, nd - 1)
                post = lambda: [tb.post(f, 0, tb.cuts(a, split)), tb.post(f, 0, tb.cuts(nd - a, k - split))]
            else:
                post = lambda: tb.post(f, 0, tb.cuts(nd, k))
            e = await bad_then_good(big, f"{k} segments", post)
            assert e.kind == want, f"bench: {k} segments: {e}"
        # the frame itself
        for n in (tb.max_frame + 1, tb.max_frame + 64, 2 * tb.max_frame):
            e = await bad_then_good(Frame(f, 0, tb.make_frame(n, BCAST), desc="oversize"), f"{n}-byte frame",
                                    lambda: tb.post_room(f, 0, hs + n))
            assert e.kind == "other"
        bf = tb.rand_frame(f, size=random.randint(14, 300), hint=0)
        bf.bad_keep = True
        bf.desc += " bad tkeep"
        e = await bad_then_good(bf, "bad tkeep", lambda: tb.post_room(f, 0, hs + len(bf.data)))
        assert e.kind == "other"
        e = await bad_then_good(Frame(f, 0, b"", desc="empty"), "empty frame", lambda: tb.post_room(f, 0, hs + 64))
        assert e.kind == "other"
    # a function that is not virtio-net, a function number out of range
    for bad_f in [x for x in range(tb.num_func) if not tb.is_net(x)] + [tb.num_func, 255]:
        fr = Frame(bad_f, random.randrange(256), tb.make_frame(100, BCAST), desc="not net")
        e = await bad_then_good(fr, f"function {bad_f}")
        assert e.kind == "other"
    summary(tb)


@cocotb.test()
async def test_not_live(dut):
    """A function that is not live, or in func_reset, drops every frame (no fetch, counted in other);
    frames of the other functions go on."""
    tb = await setup(dut)
    d = tb.dut
    nets = net_funcs(tb)
    f = nets[0]
    tb.live[f] = False
    frs = [tb.rand_frame(f, hint=0) for _ in range(3)]
    for fr in frs:
        tb.post_room(f, 0, tb.hsize(f) + len(fr.data))
    e = await tb.run(frs, label="not live")
    assert all(x.kind == "other" for x in e)
    tb.live[f] = True
    e = await tb.run(frs, label="live again")
    assert all(x.kind == "placed" for x in e)
    d.func_reset.value = 1 << f
    fr = tb.rand_frame(f, hint=0)
    tb.post_room(f, 0, tb.hsize(f) + len(fr.data))
    c0 = tb.counters()
    f0 = tb.fetches
    tb.rx_q.append(fr)
    await tb.idle()
    d.func_reset.value = 0
    assert tb.counters()["other"] == c0["other"] + 1 and tb.fetches == f0, \
        f"{fr.where()}: func_reset frame: counters {tb.counters()} (before {c0}), {tb.fetches - f0} fetches at {now()}"
    await tb.run([fr], label="after func_reset")
    summary(tb)


@cocotb.test()
async def test_dma_write_error(dut):
    """A DMA write error on the first, a middle or the last piece: needs_reset, no used record, no
    commit (the buffers stay), counted in other; the next frame is placed."""
    tb = await setup(dut)
    f = net_funcs(tb)[0]
    for i in range(6):
        tb.set_features(f, F_VERSION_1 | (F_MRG if i % 2 else 0))
        fr = tb.rand_frame(f, size=random.randint(500, tb.max_frame), hint=0)
        need = tb.hsize(f) + len(fr.data)
        tb.post_room(f, 0, need)
        # a clean run to count the pieces, then the same layout again with one piece failing
        w0 = tb.wr_total
        r = tb.ring(f, 0)
        start = r.committed
        await tb.run([fr], label="clean")
        pieces = tb.wr_total - w0
        for rb in r.bufs[start:r.committed]:
            tb.post(f, 0, [s.length for s in rb.buf.writable], num_desc=rb.buf.ndescs)
        k = [1, pieces, random.randint(1, pieces)][i % 3]
        tb.wr_fail_at = tb.wr_total + k
        c0, nr0, u0, cm0 = tb.counters(), list(tb.needs_reset), len(tb.used), len(tb.commits)
        tb.touched = set()
        tb.rx_q.append(fr)
        await tb.idle()
        tb.wr_fail_at = None
        tb.check_errors()
        w = f"{fr.where()} (DMA write error on piece {k} of {pieces})"
        got_nr = [a - b for a, b in zip(tb.needs_reset, nr0)]
        assert got_nr == [int(x == f) for x in range(tb.num_func)], f"{w}: needs_reset pulses {got_nr} at {now()}"
        assert len(tb.used) == u0, f"{w}: used records {tb.used[u0:]}, expected none at {now()}"
        assert len(tb.commits) == cm0, f"{w}: commits {tb.commits[cm0:]}, expected none at {now()}"
        c1 = tb.counters()
        assert c1["other"] == c0["other"] + 1 and c1["placed"] == c0["placed"], f"{w}: counters {c1} (before {c0}) at {now()}"
        tb.sync_memory(tb.touched)
        await tb.run([fr], label="after the DMA error")
    summary(tb)


@cocotb.test()
async def test_func_reset_mid_frame(dut):
    """func_reset[f] while buffers are fetched, while the DMA writes run, or while used records go out:
    no commit, no needs_reset, at most the used records already presented, counted in other;
    func_quiesced low meanwhile and high after; the next frame is placed."""
    tb = await setup(dut)
    d = tb.dut
    f = net_funcs(tb)[0]
    for ph in ["fetch", "dma", "used", "fetch", "dma", "used"]:
        tb.set_features(f, F_VERSION_1 | F_MRG)
        tb.used_ready_p = 0.1 if ph == "used" else 0.7
        fr = tb.rand_frame(f, size=random.randint(2000, tb.max_frame) if tb.max_frame > 2000 else tb.max_frame,
                           dst_kind="bcast", hint=0)
        need = tb.hsize(f) + len(fr.data)
        tb.post_room(f, 0, need)
        r = tb.ring(f, 0)
        c0, nr0, u0, cm0, w0, fe0 = (tb.counters(), list(tb.needs_reset), len(tb.used), len(tb.commits),
                                     tb.wr_total, tb.fetches)
        tb.touched = set()
        tb.rx_q.append(fr)
        hit = False
        for _ in range(200000):
            await RisingEdge(d.clk)
            if ph == "fetch" and tb.fetches > fe0:
                hit = True
            if ph == "dma" and tb.wr_total > w0:
                hit = True
            if ph == "used" and int(d.m_axis_used_valid.value):
                hit = True
            if hit:
                break
        assert hit, f"{fr.where()}: phase {ph} never reached at {now()}"
        assert not tb.quiesced(f), f"{fr.where()}: func_quiesced[{f}] high mid-frame ({ph}) at {now()}"
        d.func_reset.value = 1 << f
        await tb.idle()
        assert tb.quiesced(f), f"{fr.where()}: func_quiesced[{f}] low after the frame was abandoned at {now()}"
        d.func_reset.value = 0
        await RisingEdge(d.clk)
        tb.check_errors()
        w = f"{fr.where()} (func_reset during {ph})"
        assert tb.needs_reset == nr0, f"{w}: needs_reset pulses {tb.needs_reset}, expected {nr0} at {now()}"
        assert len(tb.commits) == cm0, f"{w}: commits {tb.commits[cm0:]}, expected none at {now()}"
        assert len(tb.used) - u0 <= (1 if ph == "used" else 0), f"{w}: used records {tb.used[u0:]} at {now()}"
        c1 = tb.counters()
        assert c1["other"] == c0["other"] + 1 and c1["placed"] == c0["placed"], f"{w}: counters {c1} (before {c0}) at {now()}"
        tb.log.info("func_reset during %s: %d used record(s) already out", ph, len(tb.used) - u0)
        tb.sync_memory(tb.touched)
        r.exp_committed = r.committed
        await tb.run([fr], label=f"after func_reset during {ph}")
    summary(tb)
