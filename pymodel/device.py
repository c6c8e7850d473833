"""The golden model as a software device that serves a driver.

:class:`Device` owns one :class:`~pymodel.function.FunctionModel` per PCI
function, all sharing one guest memory.  A transport (a vhost-user
backend, a unit test, a bench in "model only" mode) forwards register
accesses and queue notifications to it and gets back the interrupts to
deliver; TX frames come out in :attr:`Device.tx_frames`, RX frames go in
through :meth:`Device.receive`.

Behaviour per notification (virtio.md §4, §5, §6, §7): every available
buffer is taken in ring order and executed; used elements are written as
one batch (the first flags last, §4.3); the queue's event suppression is
evaluated once after the batch (§4.4) and the notification goes out via
MSI-X or ISR/INTx (§3.5).  A malformed buffer sets DEVICE_NEEDS_RESET after
the buffers before it are completed, and sends a configuration-change
notification if DRIVER_OK is set (§1.3).

Coalescing (§6.6) is *not* applied by this face: it notifies at once,
which §6.6 permits ("best effort").  Timing bounds are the Checker's job.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Mapping, Union

from .blk import BackendOp
from .event_suppression import NotifyDecision
from .features import DeviceType
from .function import FunctionConfig, FunctionModel, Interrupt, QueueKind, Region
from .memory import Memory
from .net import NetStatus
from .net_rx import RxResult

__all__ = ["RxDelivery", "TxFrame", "Device"]

RX_BACKLOG = 256


class RxDelivery(Enum):
    """What happened to a frame offered to :meth:`Device.receive`."""

    PLACED = "placed"
    QUEUED = "queued"  # no buffers now; retried when the driver adds some
    FILTERED = "filtered"
    TOO_BIG = "too_big"
    NOT_READY = "not_ready"  # not DRIVER_OK, needs reset, queue not enabled / not in use


@dataclass(frozen=True)
class TxFrame:
    """A frame the device transmitted."""

    function: int
    vq: int
    frame: bytes


class Device:
    """A multi-function virtio device.

    ``mem`` is the guest memory, or one memory per function (e.g. per-function
    DMA windows, or wrappers that tag each access with its requester).
    """

    def __init__(
        self, functions: Mapping[int, FunctionConfig], mem: Union[Memory, Mapping[int, Memory]]
    ) -> None:
        mems = mem if isinstance(mem, Mapping) else {fid: mem for fid in functions}
        self.functions = {fid: FunctionModel(fid, cfg, mems[fid]) for fid, cfg in functions.items()}
        self.tx_frames: list[TxFrame] = []
        self.backend_ops: list[tuple[int, BackendOp]] = []
        self.dropped_tx: list[tuple[int, int, str]] = []
        self._backlog: dict[tuple[int, int], deque[bytes]] = {}

    def fn(self, fid: int) -> FunctionModel:
        """The function model of ``fid``."""
        return self.functions[fid]

    # -- registers -----------------------------------------------------------------------------
    def read(self, fid: int, region: Region, offset: int, width: int) -> int:
        """Register read as the driver sees it (reading the ISR clears it)."""
        f = self.fn(fid)
        if region == Region.ISR:
            return f.isr_read() if offset == 0 else 0
        return f.read(region, offset, width)

    def write(self, fid: int, region: Region, offset: int, width: int, value: int) -> list[Interrupt]:
        """Register write; notify-region writes are queue notifications (value = vq index)."""
        f = self.fn(fid)
        if region == Region.NOTIFY:
            return self.notify(fid, value & 0xFFFF)
        before = f.common.status.live
        out = f.write(region, offset, width, value)
        if not before and f.common.status.live:
            for vq in list(f.queues):
                out += self.notify(fid, vq)
        return out

    def msix_control_write(self, fid: int, value: int) -> list[Interrupt]:
        """MSI-X Message Control write (config space)."""
        return self.fn(fid).msix_control_write(value)

    # -- queues ------------------------------------------------------------------------------------
    def notify(self, fid: int, vq: int) -> list[Interrupt]:
        """Available-buffer notification for ``vq``: process the queue."""
        f = self.fn(fid)
        q = f.queues.get(vq)
        if q is None or not f.live:
            return []
        if q.kind == QueueKind.RX:
            return self._drain_backlog(fid, q.pair)
        new = f.sync(vq)
        items = []
        for p in new:
            assert p.completion is not None
            c = p.completion
            if c.blk is not None:
                self.backend_ops.extend((fid, op) for op in c.blk.ops)
            if c.tx is not None:
                if c.tx.frame is not None:
                    self.tx_frames.append(TxFrame(fid, vq, c.tx.frame))
                else:
                    self.dropped_tx.append((fid, vq, c.tx.drop_reason or ""))
            items.append((p.buf, c.used_len))
            q.pending.remove(p)
        irqs: list[Interrupt] = []
        if items:
            q.ring.push_used_batch(items)
            for p in new:
                if p.completion is not None and p.completion.ctrl is not None:
                    f.apply_ctrl_effects(p.completion.ctrl, 0)
            if q.ring.notify_decision() == NotifyDecision.REQUIRED:
                irqs.append(f.queue_interrupt(vq))
        if q.broken is not None:
            irqs += f.needs_reset(str(q.broken))
        return irqs

    # -- net RX ----------------------------------------------------------------------------------------
    def receive(self, fid: int, frame: bytes, pair: int = 0) -> tuple[RxDelivery, list[Interrupt]]:
        """Offer a frame from the wire to RX queue ``pair`` of net function ``fid``."""
        f = self.fn(fid)
        if f.cfg.device_type != DeviceType.NET or not f.live:
            return RxDelivery.NOT_READY, []
        assert f.net_ctrl is not None
        if pair >= f.net_ctrl.curr_pairs or 2 * pair not in f.queues:
            return RxDelivery.NOT_READY, []
        if not f.rx_accepts(frame):
            return RxDelivery.FILTERED, []
        backlog = self._backlog.setdefault((fid, pair), deque(maxlen=RX_BACKLOG))
        if backlog:
            backlog.append(frame)
            return RxDelivery.QUEUED, self._drain_backlog(fid, pair)
        res, irqs = self._place(fid, pair, frame)
        if res == RxResult.NO_BUFFERS:
            backlog.append(frame)
            return RxDelivery.QUEUED, irqs
        return (RxDelivery.PLACED if res == RxResult.PLACED else RxDelivery.TOO_BIG), irqs

    def _place(self, fid: int, pair: int, frame: bytes) -> tuple[RxResult, list[Interrupt]]:
        f = self.fn(fid)
        vq = 2 * pair
        q = f.queues[vq]
        f.sync(vq)
        irqs: list[Interrupt] = []
        placement = f.place_frame(vq, frame)
        if placement.result == RxResult.PLACED:
            for b in placement.buffers:
                q.pending.remove(next(p for p in q.pending if p.buf is b))
            q.ring.push_used_batch(list(zip(placement.buffers, placement.lens)))
            if q.ring.notify_decision() == NotifyDecision.REQUIRED:
                irqs.append(f.queue_interrupt(vq))
        if q.broken is not None:
            irqs += f.needs_reset(str(q.broken))
        return placement.result, irqs

    def _drain_backlog(self, fid: int, pair: int) -> list[Interrupt]:
        backlog = self._backlog.get((fid, pair))
        irqs: list[Interrupt] = []
        while backlog:
            res, more = self._place(fid, pair, backlog[0])
            irqs += more
            if res == RxResult.NO_BUFFERS:
                break
            backlog.popleft()
        return irqs

    def flr(self, fid: int) -> None:
        """Function level reset of ``fid``."""
        self.fn(fid).function_level_reset()
        for key in [k for k in self._backlog if k[0] == fid]:
            del self._backlog[key]

    # -- device-side events ----------------------------------------------------------------------------------
    def set_link(self, fid: int, up: bool) -> list[Interrupt]:
        """Link state change on a net function: config change notification (§6.3)."""
        f = self.fn(fid)
        assert f.net_config is not None
        old = f.net_config.status
        f.net_config.status = (old | NetStatus.LINK_UP) if up else (old & ~NetStatus.LINK_UP)
        if f.net_config.status == old:
            return []
        return f.config_changed()
