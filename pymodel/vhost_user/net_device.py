"""virtio-net over vhost-user: pymodel's net TX/RX rules on real rings.

* TX (odd queues): each buffer goes through :func:`pymodel.net.extract_tx`
  (header, checksum completion, framing errors); the frame it returns is
  handed to every wire listener; the buffer is used with len 0.
* RX (even queues): frames injected on the wire side are filtered by
  :class:`pymodel.net_rx.RxFilter` and placed by
  :func:`pymodel.net_rx.place_rx` / :func:`pymodel.net_rx.write_rx`
  (header, ``num_buffers``, MRG_RXBUF chaining, used lens).  When the driver
  has no room, the frame waits on the wire side (nothing is lost) until the
  driver posts buffers.

The wire side is thread-safe: :meth:`VhostNetDevice.inject` may be called
from any thread; listeners registered with :meth:`VhostNetDevice.on_wire`
run in the back-end's thread and may inject replies.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable, Sequence

from ..features import DeviceType, NetFeature, Transport, mask, validate_offer
from ..net import NetConfig, QueueRole, extract_tx, queue_role
from ..net_rx import RxFilter, RxResult, place_rx, write_rx
from .device import VhostDevice
from .guest_memory import GuestMemory
from .vring import Vring

__all__ = ["VhostNetDevice", "NetCounters", "DEFAULT_NET_FEATURES"]

#: Offered by default: modern transport, both ring layouts, indirect tables,
#: EVENT_IDX, IN_ORDER (DPDK takes it), mergeable RX buffers, MAC and MTU.
DEFAULT_NET_FEATURES = mask(
    Transport.VERSION_1,
    Transport.RING_PACKED,
    Transport.EVENT_IDX,
    Transport.INDIRECT_DESC,
    Transport.IN_ORDER,
    NetFeature.MRG_RXBUF,
    NetFeature.MAC,
    NetFeature.MTU,
)

Listener = Callable[[bytes], None]


@dataclass
class NetCounters:
    """Wire-side counters (frames without the virtio-net header)."""

    tx_packets: int = 0
    tx_bytes: int = 0
    tx_dropped: int = 0  # extract_tx said drop (e.g. bad checksum offsets)
    rx_packets: int = 0
    rx_bytes: int = 0
    rx_filtered: int = 0  # refused by the receive filter
    rx_too_big: int = 0  # no single buffer large enough (no MRG_RXBUF)


class VhostNetDevice(VhostDevice):
    """A one-queue-pair virtio-net device with a software wire.

    Args:
        features: offered feature word.
        config: MAC/MTU/status (pymodel's :class:`pymodel.net.NetConfig`).
        keep_frames: remember every TX frame in :attr:`wire_frames`.
    """

    device_type = DeviceType.NET
    num_queues = 2

    def __init__(
        self, *, features: int = DEFAULT_NET_FEATURES, config: NetConfig | None = None,
        keep_frames: bool = False,
    ) -> None:
        super().__init__()
        problem = validate_offer(DeviceType.NET, features)
        if problem:
            raise ValueError(f"inconsistent net offer: {problem}")
        self._offered = features
        self.net_config = config or NetConfig()
        self.rx_filter = RxFilter(mac=self.net_config.mac)
        self.counters = NetCounters()
        self.keep_frames = keep_frames
        self.wire_frames: list[bytes] = []
        self._listeners: list[Listener] = []
        self._pending: deque[bytes] = deque()
        self._lock = threading.Lock()

    # -- wire side ------------------------------------------------------------------
    def on_wire(self, listener: Listener) -> None:
        """Call ``listener(frame)`` for every frame the driver transmits."""
        self._listeners.append(listener)

    def inject(self, frames: bytes | Sequence[bytes]) -> None:
        """Frames arriving from the wire, for the driver's RX queue (thread-safe)."""
        batch = [frames] if isinstance(frames, (bytes, bytearray)) else list(frames)
        with self._lock:
            self._pending.extend(bytes(f) for f in batch)
        self.wake()

    @property
    def rx_pending(self) -> int:
        """Frames waiting for RX buffers."""
        return len(self._pending)

    # -- VhostDevice ------------------------------------------------------------------
    def offered_features(self) -> int:
        return self._offered

    def config(self) -> bytes:
        return self.net_config.pack()

    def set_features(self, features: int) -> None:
        super().set_features(features)
        self.rx_filter.reset(self.net_config.mac, bool(features >> NetFeature.CTRL_VLAN & 1))

    def reset(self) -> None:
        """Driver gone: forget frames that were waiting for it."""
        with self._lock:
            self._pending.clear()

    def wants_buffers(self, vq: Vring) -> bool:
        role, _pair = queue_role(vq.index, self.features, 1)
        return role != QueueRole.RX or bool(self._pending)

    def process(self, vq: Vring, mem: GuestMemory) -> int:
        role, _pair = queue_role(vq.index, self.features, 1)
        if role == QueueRole.TX:
            return self._tx(vq, mem)
        if role == QueueRole.RX:
            return self._rx(vq, mem)
        return 0

    def _tx(self, vq: Vring, mem: GuestMemory) -> int:
        done = 0
        c = self.counters
        while (buf := vq.pop()) is not None:
            pkt = extract_tx(buf, mem, self.features, vq.index)
            vq.push_used(buf, 0)
            done += 1
            if pkt.frame is None:
                c.tx_dropped += 1
                continue
            c.tx_packets += 1
            c.tx_bytes += len(pkt.frame)
            if self.keep_frames:
                self.wire_frames.append(pkt.frame)
            for listener in self._listeners:
                listener(pkt.frame)
        return done

    def _rx(self, vq: Vring, mem: GuestMemory) -> int:
        done = 0
        c = self.counters
        while True:
            with self._lock:
                if not self._pending:
                    break
                frame = self._pending[0]
            if not self.rx_filter.accepts(frame):
                c.rx_filtered += 1
                self._pending.popleft()
                continue
            mark = vq.mark()
            p = place_rx(frame, vq.pop, lambda _bufs: vq.rewind(mark), self.features, vq.index)
            if p.result == RxResult.NO_BUFFERS:
                break
            self._pending.popleft()
            if p.result == RxResult.TOO_BIG:
                c.rx_too_big += 1
                continue
            write_rx(p, frame, mem)
            for b, n in zip(p.buffers, p.lens):
                vq.push_used(b, n)
            c.rx_packets += 1
            c.rx_bytes += len(frame)
            done += len(p.buffers)
        return done
