"""Driver model: virtio-net on a :class:`~tb.device.virtio_pci.VirtioPciDevice`, as Linux drives it.

Mirrors ``drivers/net/virtio_net.c`` where it matters to the device:

* queues: receiveq/transmitq pairs ``2k``/``2k+1`` and the controlq at ``2N``
  (N = max_virtqueue_pairs with MQ, virtio.md §6.1); per-queue MSI-X vectors
  (``vp_find_vqs_msix``), the controlq without a callback (NO_VECTOR);
* the controlq is synchronous (``virtnet_send_command``): one command at a
  time, ``{class, command}`` + data readable, ``ack`` (+ result) writable,
  kick, then poll the used ring;
* transmit (``xmit_skb``): the 12-byte ``virtio_net_hdr`` pushed in front of
  the frame (one descriptor) or as its own descriptor; completions reaped
  like ``free_old_xmit``;
* receive: ``add_recvbuf_mergeable`` (device-writable buffers of
  ``rx_buf_size`` bytes, header only in the first, ``num_buffers`` says how
  many) or ``add_recvbuf_small`` (one buffer holds header + frame);
  ``receive_mergeable`` reassembles; every used buffer is reposted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Optional

from cocotb.triggers import Timer

from pymodel.features import NetFeature as N
from pymodel.function import Region
from pymodel.net import NetHdr
from pymodel.packed_driver import UsedBuffer
from tb.device.virtio_pci import NO_VECTOR, VirtioPciDevice
from tb.util import now

HDR = 12                       # virtio_net_hdr with VERSION_1 (virtio.md §6.2)
VIRTIO_NET_OK, VIRTIO_NET_ERR = 0, 1


@dataclass
class RxFrame:
    """A frame the driver received: its bytes, header and where it came from."""

    vq: int
    frame: bytes
    hdr: NetHdr
    num_buffers: int


@dataclass
class _RxBuf:
    addr: int
    size: int


@dataclass
class NetDriver:
    """virtio_net.c over one function."""

    dev: VirtioPciDevice
    rx_buf_size: int = 1536
    tx_split_hdr: bool = False          # header in its own descriptor (no room to push it)
    rx_posted: dict[int, dict[int, _RxBuf]] = field(default_factory=dict)   # vq -> id -> buffer
    tx_inflight: dict[int, dict[int, bytes]] = field(default_factory=dict)  # vq -> id -> frame
    received: list[RxFrame] = field(default_factory=list)
    tx_done: int = 0

    # -- features and queues ------------------------------------------------------------------
    @property
    def mergeable(self) -> bool:
        return bool(self.dev.features >> N.MRG_RXBUF & 1)

    @property
    def max_pairs(self) -> int:
        return self._max_pairs

    @property
    def ctrl_vq(self) -> int:
        n = self._max_pairs if self.dev.features >> N.MQ & 1 else 1
        return 2 * n

    async def init(self, queue_size: int = 64, want: Optional[int] = None, pairs: Optional[int] = None,
                   rx_fill: Optional[int] = None) -> None:
        """virtnet_probe + virtnet_open: negotiate, set up every queue, DRIVER_OK, fill RX, VQ_PAIRS_SET."""
        dev = self.dev
        if not dev.caps:
            await dev.probe()
        ok = await dev.negotiate(want)
        assert ok, f"{now()}: fn {dev.fid}: FEATURES_OK refused for {dev.features:#x}"
        self._max_pairs = await dev.rd(Region.DEVICE, 8, 2) if dev.features >> N.MQ & 1 else 1
        await dev.setup_msix()
        await dev.wr(Region.COMMON, 0x10, 2, 0)          # config vector 0
        queues = list(range(2 * self._max_pairs))
        for q in queues:
            await dev.setup_queue(q, queue_size)
        if dev.features >> N.CTRL_VQ & 1:
            await dev.setup_queue(self.ctrl_vq, queue_size, vector=NO_VECTOR, callbacks=False)
            queues.append(self.ctrl_vq)
        for q in queues:
            await dev.enable_queue(q)
        await dev.wr(Region.COMMON, 0x14, 1, 0x0F)        # ACK | DRIVER | FEATURES_OK | DRIVER_OK
        for q in range(0, 2 * self._max_pairs, 2):
            self.rx_posted[q] = {}
            self.fill_rx(q, rx_fill if rx_fill is not None else queue_size)
            await dev.kick(q)
        for q in range(1, 2 * self._max_pairs, 2):
            self.tx_inflight[q] = {}
        want_pairs = self._max_pairs if pairs is None else pairs
        if dev.features >> N.MQ & 1 and want_pairs > 1:
            ack, _ = await self.ctrl(4, 0, struct.pack("<H", want_pairs))
            assert ack == VIRTIO_NET_OK, f"{now()}: fn {dev.fid}: VQ_PAIRS_SET {want_pairs} -> ack {ack}"

    # -- control queue ------------------------------------------------------------------------
    async def ctrl(self, cls: int, cmd: int, data: bytes = b"", result_len: int = 0,
                   timeout_us: float = 500) -> tuple[int, bytes]:
        """virtnet_send_command: returns (ack, result bytes)."""
        dev, vq = self.dev, self.ctrl_vq
        mem, alloc = dev.mem, dev.alloc
        hdr = alloc.alloc(2, 2)
        mem.write(hdr, bytes([cls, cmd]))
        out = [(hdr, 2)]
        if data:
            d = alloc.alloc(len(data), 8)
            mem.write(d, data)
            out.append((d, len(data)))
        st = alloc.alloc(1 + result_len, 8)
        mem.write(st, b"\xEE" * (1 + result_len))        # poison: the device must write the ack
        ring = dev.vqs[vq].ring
        bid = ring.add(out, [(st, 1 + result_len)])
        await dev.kick(vq)
        waited = 0.0
        while True:
            u = ring.get_used()
            if u is not None:
                assert u.id == bid, f"{now()}: fn {dev.fid} vq {vq}: used id {u.id}, expected {bid}"
                raw = mem.read(st, 1 + result_len)
                return raw[0], raw[1:]
            await Timer(1, "us")
            waited += 1
            assert waited < timeout_us, (f"{now()}: fn {dev.fid} vq {vq}: control command {cls}/{cmd} "
                                         f"not answered within {timeout_us} us")

    # -- transmit -----------------------------------------------------------------------------
    def tx_post(self, frame: bytes, vq: int = 1, hdr: Optional[NetHdr] = None) -> int:
        """xmit_skb: header + frame as one buffer; returns the buffer id."""
        dev = self.dev
        raw_hdr = (hdr or NetHdr()).pack(HDR)
        if self.tx_split_hdr:
            h = dev.alloc.alloc(HDR, 8)
            dev.mem.write(h, raw_hdr)
            d = dev.alloc.alloc(len(frame), 64)
            dev.mem.write(d, frame)
            out = [(h, HDR), (d, len(frame))]
        else:
            b = dev.alloc.alloc(HDR + len(frame), 64)
            dev.mem.write(b, raw_hdr + frame)
            out = [(b, HDR + len(frame))]
        bid = dev.vqs[vq].ring.add(out, [])
        self.tx_inflight.setdefault(vq, {})[bid] = frame
        return bid

    def tx_reap(self, vq: int) -> int:
        """free_old_xmit: every used TX buffer has len 0 and was in flight."""
        n = 0
        for u in self.dev.vqs[vq].ring.drain():
            assert u.id in self.tx_inflight[vq], f"{now()}: fn {self.dev.fid} vq {vq} slot {u.slot}: id {u.id} not in flight"
            del self.tx_inflight[vq][u.id]
            n += 1
        self.tx_done += n
        return n

    # -- receive ------------------------------------------------------------------------------
    def fill_rx(self, vq: int, count: int, size: Optional[int] = None) -> int:
        """try_fill_recv: post up to ``count`` receive buffers (as many as fit the ring)."""
        ring = self.dev.vqs[vq].ring
        size = size or self.rx_buf_size
        posted = 0
        while posted < count and ring.outstanding < ring.size:
            a = self.dev.alloc.alloc(size, 64)
            self.dev.mem.write(a, b"\xA5" * size)          # poison: what the device writes must be its own
            bid = ring.add([], [(a, size)])
            self.rx_posted[vq][bid] = _RxBuf(a, size)
            posted += 1
        return posted

    def _take(self, vq: int, u: UsedBuffer) -> bytes:
        b = self.rx_posted[vq].pop(u.id, None)
        assert b is not None, f"{now()}: fn {self.dev.fid} vq {vq} slot {u.slot}: used id {u.id} was not posted"
        assert u.len <= b.size, f"{now()}: fn {self.dev.fid} vq {vq} slot {u.slot}: used len {u.len} > buffer {b.size}"
        return self.dev.mem.read(b.addr, u.len)

    def rx_reap(self, vq: int, refill: bool = True) -> list[RxFrame]:
        """receive_buf / receive_mergeable: reassemble frames from used buffers, then repost."""
        ring = self.dev.vqs[vq].ring
        got: list[RxFrame] = []
        used = 0
        while True:
            u = ring.get_used()
            if u is None:
                break
            used += 1
            data = self._take(vq, u)
            assert len(data) >= HDR, f"{now()}: fn {self.dev.fid} vq {vq} slot {u.slot}: used len {u.len} < header"
            hdr = NetHdr.unpack(data[:HDR])
            nb = hdr.num_buffers
            assert nb >= 1, f"{now()}: fn {self.dev.fid} vq {vq} slot {u.slot}: num_buffers {nb}"
            if not self.mergeable:
                assert nb == 1, f"{now()}: fn {self.dev.fid} vq {vq} slot {u.slot}: num_buffers {nb} without MRG_RXBUF"
            frame = data[HDR:]
            for k in range(1, nb):
                v = ring.get_used()
                assert v is not None, (f"{now()}: fn {self.dev.fid} vq {vq}: {nb - k} of {nb} buffers missing "
                                       f"after slot {u.slot} (all must be used together, §6.2)")
                used += 1
                frame += self._take(vq, v)
            got.append(RxFrame(vq, frame, hdr, nb))
        self.received += got
        if refill and used:
            self.fill_rx(vq, used)
        return got
