"""The whole golden model behind vhost-user: :class:`pymodel.device.Device`.

:class:`VhostModelDevice` gives one function of a :class:`pymodel.device.Device`
(common configuration, status machine, feature validation, rings, blk / net
personalities, event suppression, interrupts) to a vhost-user front-end.
vhost-user has no registers, so each front-end action is replayed as the
register writes a PCI driver would have made:

=================================  ================================================
vhost-user                         register writes on the model (common config)
=================================  ================================================
SET_FEATURES                       status 0, ACK, DRIVER, driver_feature 0..1,
                                   FEATURES_OK (read back: refused sets are logged)
SET_VRING_KICK (ring starts)       queue_select, queue_size, queue_desc/driver/device,
                                   queue_enable = 1; the vring base is then applied
                                   to the ring the model built
first kick served                  status |= DRIVER_OK (the model serves every
                                   enabled queue, as after a PCI DRIVER_OK)
kick                               ``Device.notify`` (queue notification)
GET_VRING_BASE of the last ring    status 0 (device reset)
GET_CONFIG / SET_CONFIG            device-config reads / writes
=================================  ================================================

Interrupts the model raises for a queue become writes to that queue's call
eventfd (MSI-X is never enabled, so they arrive as INTx; which is all a call
eventfd is).  Configuration-change interrupts have no vhost-user channel and
are only counted.  TX frames come out of ``Device.tx_frames``; wire frames
go in through ``Device.receive``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from typing import Callable, Optional, Sequence

from ..blk import BackendOpKind
from ..blk_config import BlkConfig
from ..common_cfg import Reg
from ..device import Device, RxDelivery
from ..disk import Disk
from ..errors import DeviceNeedsReset
from ..features import DeviceType, validate_driver_features
from ..function import FunctionConfig, Interrupt, QueueKind, Region
from ..msix import Delivery
from ..net import NetConfig
from ..packed_ring import PackedRingDevice
from ..status import Status
from .blk_device import DEFAULT_BLK_FEATURES
from .device import VhostDevice
from .guest_memory import BadAddress, GuestMemory
from .net_device import DEFAULT_NET_FEATURES, NetCounters
from .protocol import ProtocolFeature
from .vring import Ring, RingBuilder, Vring

__all__ = ["VhostModelDevice"]

log = logging.getLogger("pymodel.vhost_user")

FID = 0
Listener = Callable[[bytes], None]
#: blk backend operations, named after the request type that causes them
_OP_NAMES = {BackendOpKind.READ: "IN", BackendOpKind.WRITE: "OUT", BackendOpKind.FLUSH: "FLUSH",
             BackendOpKind.DISCARD: "DISCARD", BackendOpKind.WRITE_ZEROES: "WRITE_ZEROES"}


class _SessionMemory:
    """The Memory the model was built with: the current session's shared memory."""

    def __init__(self) -> None:
        self.target: Optional[GuestMemory] = None

    def read(self, addr: int, n: int) -> bytes:
        if self.target is None:
            raise BadAddress("no front-end memory")
        return self.target.read(addr, n)

    def write(self, addr: int, data: bytes) -> None:
        if self.target is None:
            raise BadAddress("no front-end memory")
        self.target.write(addr, data)


class VhostModelDevice(VhostDevice):
    """One function of :class:`pymodel.device.Device` served over vhost-user.

    Build with :meth:`blk` or :meth:`net` (or from any ``FunctionConfig``).

    Attributes:
        model: the :class:`pymodel.device.Device`.
        counts: blk backend operations, by the request type that caused them
            (``IN``, ``OUT``, ``FLUSH``...; GET_ID causes none).
        bytes_read / bytes_written: blk data moved.
        counters: net wire counters (as :class:`~.net_device.NetCounters`).
        config_interrupts: configuration-change interrupts raised by the model.
        refused: why the model refused the last feature set (None if accepted).
    """

    notifies_itself = True

    def __init__(self, cfg: FunctionConfig) -> None:
        super().__init__()
        self.device_type = DeviceType(cfg.device_type)
        self.num_queues = len(cfg.queue_sizes)
        self.protocol_features = 1 << ProtocolFeature.CONFIG if self.device_type == DeviceType.BLK else 0
        self.cfg = cfg
        self._mem = _SessionMemory()
        self.model = Device({FID: cfg}, self._mem)
        self.fn = self.model.fn(FID)
        self._vrings: dict[int, Vring] = {}
        self.refused: Optional[str] = None
        self.config_interrupts = 0
        # blk
        self.counts: Counter[str] = Counter()
        self.bytes_read = 0
        self.bytes_written = 0
        # net
        self.counters = NetCounters()
        self.keep_frames = False
        self.wire_frames: list[bytes] = []
        self._listeners: list[Listener] = []
        self._pending: deque[bytes] = deque()
        self._queued: deque[int] = deque()  # lengths of frames waiting inside the model
        self._lock = threading.Lock()

    # -- construction ------------------------------------------------------------------
    @classmethod
    def blk(cls, disk: Disk, *, features: int = DEFAULT_BLK_FEATURES, queue_size: int = 256,
            serial: str = "pymodel-vhost") -> "VhostModelDevice":
        """A virtio-blk function on ``disk``."""
        config = BlkConfig(seg_max=max(1, queue_size - 2), blk_size=512, writeback=1)
        return cls(FunctionConfig(DeviceType.BLK, features, [queue_size], blk=config, disk=disk,
                                  serial=serial))

    @classmethod
    def net(cls, *, features: int = DEFAULT_NET_FEATURES, config: Optional[NetConfig] = None,
            queue_size: int = 1024, keep_frames: bool = False) -> "VhostModelDevice":
        """A one-queue-pair virtio-net function with a software wire."""
        dev = cls(FunctionConfig(DeviceType.NET, features, [queue_size, queue_size], net=config))
        dev.keep_frames = keep_frames
        return dev

    # -- registers ------------------------------------------------------------------------
    def _w(self, reg: int, width: int, value: int) -> list[Interrupt]:
        return self.model.write(FID, Region.COMMON, reg, width, value)

    @property
    def status(self) -> int:
        """The model's ``device_status``."""
        return self.fn.read(Region.COMMON, Reg.DEVICE_STATUS, 1)

    def _negotiate(self) -> None:
        self._w(Reg.DEVICE_STATUS, 1, 0)
        self._w(Reg.DEVICE_STATUS, 1, Status.ACKNOWLEDGE)
        self._w(Reg.DEVICE_STATUS, 1, Status.ACKNOWLEDGE | Status.DRIVER)
        for sel in range(2):
            self._w(Reg.DRIVER_FEATURE_SELECT, 4, sel)
            self._w(Reg.DRIVER_FEATURE, 4, self.features >> (32 * sel) & 0xFFFF_FFFF)
        self._w(Reg.DEVICE_STATUS, 1, Status.ACKNOWLEDGE | Status.DRIVER | Status.FEATURES_OK)
        if self.status & Status.FEATURES_OK:
            self.refused = None
        else:
            self.refused = (validate_driver_features(self.device_type, self.cfg.features, self.features)
                            or "FEATURES_OK not accepted")
            log.warning("the model refused the driver's features %#x: %s", self.features, self.refused)

    def _enable(self, index: int, size: int, desc: int, driver: int, device: int) -> Ring:
        self._w(Reg.QUEUE_SELECT, 2, index)
        self._w(Reg.QUEUE_SIZE, 2, size)
        self._w(Reg.QUEUE_DESC_LO, 8, desc)
        self._w(Reg.QUEUE_DRIVER_LO, 8, driver)
        self._w(Reg.QUEUE_DEVICE_LO, 8, device)
        self._w(Reg.QUEUE_ENABLE, 2, 1)
        q = self.fn.queues.get(index)
        if q is None:
            raise ValueError(f"the model did not enable vq {index} (status {self.status:#x}, "
                             f"refused: {self.refused})")
        return q.ring

    # -- VhostDevice -------------------------------------------------------------------------
    def offered_features(self) -> int:
        return self.cfg.features

    def set_features(self, features: int) -> None:
        if features == self.features and self.status & Status.FEATURES_OK:
            return  # QEMU repeats SET_FEATURES; renegotiating would reset live queues
        super().set_features(features)
        self._vrings.clear()
        self._negotiate()

    def config(self) -> bytes:
        size = 96 if self.device_type == DeviceType.BLK else NetConfig.SIZE
        return bytes(self.fn.read(Region.DEVICE, i, 1) for i in range(size))

    def set_config(self, offset: int, data: bytes) -> None:
        for i, b in enumerate(data):
            self.model.write(FID, Region.DEVICE, offset + i, 1, b)

    def reset(self) -> None:
        """Front-end gone: device reset, forget waiting frames."""
        self._w(Reg.DEVICE_STATUS, 1, 0)
        self._vrings.clear()
        self._mem.target = None
        with self._lock:
            self._pending.clear()
        self._queued.clear()

    def ring_builder(self, vq: Vring, mem: GuestMemory, features: int) -> RingBuilder:
        self._mem.target = mem

        def build(desc: int, driver: int, device: int) -> Ring:
            if not self.status & Status.FEATURES_OK or self.fn.common.queues[vq.index].enable:
                self._restart(except_index=vq.index)
            ring = self._enable(vq.index, vq.num, desc, driver, device)
            self._vrings[vq.index] = vq
            return ring

        return build

    def _restart(self, except_index: int) -> None:
        """Reset and renegotiate, re-enabling the other running queues where they were."""
        keep = [(i, v) for i, v in self._vrings.items() if i != except_index and v.ring is not None]
        self._negotiate()
        self._vrings.clear()
        for i, v in keep:
            old = v.ring
            if isinstance(old, PackedRingDevice):
                new = self._enable(i, v.num, old.desc_addr, old.driver_area, old.device_area)
                assert isinstance(new, PackedRingDevice)
                new.avail, new.used, new.last_eval = old.avail, old.used, old.last_eval
            elif old is not None:
                lay = old.layout
                new = self._enable(i, v.num, lay.desc, lay.avail, lay.used)
                assert not isinstance(new, PackedRingDevice)
                new.last_avail, new.used_idx, new.last_eval = old.last_avail, old.used_idx, old.last_eval
            else:
                continue
            v.ring = new
            self._vrings[i] = v

    def ring_stopped(self, vq: Vring) -> None:
        self._vrings.pop(vq.index, None)
        if not self._vrings:
            self._w(Reg.DEVICE_STATUS, 1, 0)

    # -- data path ------------------------------------------------------------------------------
    def _deliver(self, irqs: Sequence[Interrupt]) -> None:
        for irq in irqs:
            if irq.source is None:
                self.config_interrupts += 1
            elif irq.delivery != Delivery.NONE and irq.source in self._vrings:
                self._vrings[irq.source].signal_call()

    def wants_buffers(self, vq: Vring) -> bool:
        q = self.fn.queues.get(vq.index)
        if q is None:
            return False
        return q.kind != QueueKind.RX or bool(self._pending) or self._model_backlog(q.pair) > 0

    def process(self, vq: Vring, mem: GuestMemory) -> int:
        self._mem.target = mem
        irqs: list[Interrupt] = []
        if not self.status & Status.DRIVER_OK:
            irqs += self._w(Reg.DEVICE_STATUS, 1, self.status | Status.DRIVER_OK)
        q = self.fn.queues.get(vq.index)
        if q is None:
            self._deliver(irqs)
            return 0
        irqs += self.model.notify(FID, vq.index)
        if q.kind == QueueKind.RX:
            self._count_drained(q.pair)
            irqs += self._receive(q.pair)
        self._collect()
        self._deliver(irqs)
        if q.broken is not None:
            raise q.broken if isinstance(q.broken, DeviceNeedsReset) else DeviceNeedsReset(str(q.broken))
        return 0

    def _collect(self) -> None:
        """Move what the model produced (TX frames, blk operations) to the counters."""
        c = self.counters
        for tx in self.model.tx_frames:
            c.tx_packets += 1
            c.tx_bytes += len(tx.frame)
            if self.keep_frames:
                self.wire_frames.append(tx.frame)
            for listener in self._listeners:
                listener(tx.frame)
        self.model.tx_frames.clear()
        c.tx_dropped += len(self.model.dropped_tx)
        self.model.dropped_tx.clear()
        for _fid, op in self.model.backend_ops:
            self.counts[_OP_NAMES.get(op.kind, op.kind.value)] += 1
            if op.kind == BackendOpKind.READ:
                self.bytes_read += 512 * op.count
            elif op.kind == BackendOpKind.WRITE:
                self.bytes_written += 512 * op.count
        self.model.backend_ops.clear()

    # -- wire side ---------------------------------------------------------------------------------
    def on_wire(self, listener: Listener) -> None:
        """Call ``listener(frame)`` for every frame the driver transmits."""
        self._listeners.append(listener)

    def inject(self, frames: bytes | Sequence[bytes]) -> None:
        """Frames arriving from the wire (thread-safe)."""
        batch = [frames] if isinstance(frames, (bytes, bytearray)) else list(frames)
        with self._lock:
            self._pending.extend(bytes(f) for f in batch)
        self.wake()

    def _model_backlog(self, pair: int) -> int:
        # Device keeps frames that found no buffer in a private bounded backlog
        backlog = getattr(self.model, "_backlog", {}).get((FID, pair))
        return len(backlog) if backlog is not None else 0

    @property
    def rx_pending(self) -> int:
        """Frames not yet placed in a driver buffer."""
        with self._lock:
            return len(self._pending) + self._model_backlog(0)

    def _count_drained(self, pair: int) -> None:
        """Frames that left the model's backlog were placed: count them."""
        left = self._model_backlog(pair)
        while len(self._queued) > left:
            self.counters.rx_packets += 1
            self.counters.rx_bytes += self._queued.popleft()

    def _receive(self, pair: int) -> list[Interrupt]:
        """Offer waiting frames; at most one waits inside the model at a time."""
        irqs: list[Interrupt] = []
        c = self.counters
        while True:
            with self._lock:
                if not self._pending or self._model_backlog(pair):
                    break
                frame = self._pending.popleft()
            res, more = self.model.receive(FID, frame, pair)
            irqs += more
            if res == RxDelivery.NOT_READY:
                with self._lock:
                    self._pending.appendleft(frame)
                break
            if res == RxDelivery.FILTERED:
                c.rx_filtered += 1
            elif res == RxDelivery.TOO_BIG:
                c.rx_too_big += 1
            elif res == RxDelivery.PLACED:
                c.rx_packets += 1
                c.rx_bytes += len(frame)
            else:  # QUEUED: placed when the driver posts buffers
                self._queued.append(len(frame))
                self._count_drained(pair)
        return irqs
