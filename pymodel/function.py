"""One virtio PCI function: the core shared by the Device and the Checker.

:class:`FunctionModel` ties together the common configuration (§3.3), the
device configuration, ISR (§3.5), MSI-X (§9.3), the virtqueues of the
function (packed or split, created when the driver enables them) and the
personality (virtio-net: TX, RX, controlq; virtio-blk: request queues).
It works on any :class:`~pymodel.memory.Memory`: the real guest memory when
it serves a driver (:class:`~pymodel.device.Device`), or the checker's
private copy of host memory (:class:`~pymodel.checker.Checker`).

Buffers are taken from a ring with :meth:`FunctionModel.sync` (all that are
available, in ring order); TX, blk and controlq buffers are executed right
away (:class:`Completion`), RX buffers wait for frames
(:meth:`FunctionModel.place_frame`).  :meth:`FunctionModel.complete` writes
the used element.  A malformed buffer marks its queue broken and sets
DEVICE_NEEDS_RESET (§1.3) -- the buffers taken before it stay valid.

Queue notifications (driver -> device) for a queue that is not enabled, or
out of range, or before DRIVER_OK, are ignored (QEMU).  A MAC_ADDR_SET
through the controlq changes device config, so ``config_generation`` is
bumped (§3.3) -- without a configuration-change notification, since the
driver caused the change.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Optional, Sequence, Union

from .blk import BlkDevice, BlkOutcome
from .blk_config import BlkConfig
from .buffers import Buffer
from .coalescing import QueueCoalescing
from .common_cfg import CfgEventKind, CommonCfg, DriverFeaturePolicy
from .disk import Disk
from .errors import DeviceNeedsReset
from .event_suppression import NotifyChecker, PackedNotifyChecker, SplitNotifyChecker
from .features import DeviceType, NetFeature, Transport, validate_offer
from .memory import Memory
from .msix import Delivery, MsixMessage, MsixModel
from .net import UNMODELLED_NET_FEATURES, NetConfig, QueueRole, TxPacket, extract_tx
from .net_ctrl import CtrlEffectKind, CtrlOutcome, NetCtrl
from .net_rx import RxPlacement, RxResult, place_rx, write_rx
from .packed_ring import PackedRingDevice, UsedElem
from .split_ring import SplitRingDevice, SplitUsedElem

__all__ = [
    "Region",
    "FunctionConfig",
    "QueueKind",
    "Completion",
    "Pending",
    "QueueState",
    "Interrupt",
    "FunctionModel",
]

RingDevice = Union[PackedRingDevice, SplitRingDevice]


class Region(Enum):
    """Register regions of a function (where they sit in a BAR is the bench's business)."""

    COMMON = "common"
    NOTIFY = "notify"
    ISR = "isr"
    DEVICE = "device"
    MSIX_TABLE = "msix_table"
    MSIX_PBA = "msix_pba"


@dataclass
class FunctionConfig:
    """Static description of one function.

    Args:
        device_type: NET or BLK.
        features: offered feature word (checked with ``validate_offer``).
        queue_sizes: maximum size of every queue (``num_queues`` entries).
            virtio-net: 2 x max_virtqueue_pairs (+1 with CTRL_VQ).
        msix_vectors: MSI-X table size.
        net / blk / disk / serial: personality configuration.
        max_chain: device limit on descriptors per buffer.
        strict_chain_flags: see :class:`~pymodel.packed_ring.PackedRingDevice`.
        feature_policy: see :class:`~pymodel.common_cfg.DriverFeaturePolicy`.
    """

    device_type: DeviceType
    features: int
    queue_sizes: Sequence[int]
    msix_vectors: int = 8
    net: Optional[NetConfig] = None
    blk: Optional[BlkConfig] = None
    disk: Optional[Disk] = None
    serial: str = ""
    max_chain: Optional[int] = None
    strict_chain_flags: bool = True
    feature_policy: DriverFeaturePolicy = DriverFeaturePolicy.MIRROR_ALL


class QueueKind(Enum):
    """What a queue carries."""

    BLK = "blk"
    RX = "rx"
    TX = "tx"
    CTRL = "ctrl"


@dataclass(frozen=True)
class Completion:
    """What the device must do for one executed buffer (TX, blk, controlq)."""

    used_len: int
    tx: Optional[TxPacket] = None
    blk: Optional[BlkOutcome] = None
    ctrl: Optional[CtrlOutcome] = None


@dataclass
class Pending:
    """A buffer taken from a ring and not yet used."""

    buf: Buffer
    completion: Optional[Completion] = None


@dataclass
class QueueState:
    """Runtime state of one enabled queue."""

    index: int
    kind: QueueKind
    pair: int
    ring: RingDevice
    notify: NotifyChecker  # type: ignore[type-arg]
    coalescing: QueueCoalescing = field(default_factory=QueueCoalescing)
    pending: deque[Pending] = field(default_factory=deque)
    broken: Optional[DeviceNeedsReset] = None

    @property
    def packed(self) -> bool:
        """The ring is packed."""
        return isinstance(self.ring, PackedRingDevice)

    def find(self, buf_id: int) -> Optional[Pending]:
        """The oldest pending buffer with ``buf_id``."""
        return next((p for p in self.pending if p.buf.id == buf_id), None)


@dataclass(frozen=True)
class Interrupt:
    """An interrupt the function raises: for queue ``source`` (None = config change)."""

    source: Optional[int]
    delivery: Delivery
    message: Optional[MsixMessage] = None


class FunctionModel:
    """See the module docstring.

    Args:
        fid: function number (for messages).
        cfg: the function's configuration.
        mem: the memory rings and buffers live in.
    """

    def __init__(self, fid: int, cfg: FunctionConfig, mem: Memory) -> None:
        reason = validate_offer(cfg.device_type, cfg.features)
        if reason is not None:
            raise ValueError(f"function {fid}: inconsistent offer: {reason}")
        self.fid = fid
        self.cfg = cfg
        self.mem = mem
        self.common = CommonCfg(
            cfg.device_type,
            cfg.features,
            cfg.queue_sizes,
            msix_table_size=cfg.msix_vectors,
            feature_policy=cfg.feature_policy,
        )
        self.msix = MsixModel(cfg.msix_vectors)
        self.isr = 0
        self.queues: dict[int, QueueState] = {}
        self.net_ctrl: Optional[NetCtrl] = None
        self.blk: Optional[BlkDevice] = None
        self.net_config: Optional[NetConfig] = None
        if cfg.device_type == DeviceType.NET:
            for f in UNMODELLED_NET_FEATURES:
                if cfg.features >> f & 1:
                    raise NotImplementedError(f"net model does not implement {f.name}")
            self.net_config = cfg.net or NetConfig()
            self.net_ctrl = NetCtrl(self.net_config, vq_enabled=self._vq_enabled)
        else:
            disk = cfg.disk if cfg.disk is not None else Disk(0)
            self.blk = BlkDevice(disk, cfg.blk or BlkConfig(), cfg.features, cfg.serial)

    # -- small helpers ------------------------------------------------------------------
    def _vq_enabled(self, vq: int) -> bool:
        return 0 <= vq < self.common.num_queues and self.common.queues[vq].enable

    @property
    def negotiated(self) -> int:
        """Negotiated feature word (0 before FEATURES_OK)."""
        return self.common.negotiated

    @property
    def live(self) -> bool:
        """DRIVER_OK set and DEVICE_NEEDS_RESET clear."""
        return self.common.status.live

    def kind_of(self, vq: int) -> tuple[QueueKind, int]:
        """Queue kind and net pair of ``vq``."""
        if self.blk is not None:
            return QueueKind.BLK, -1
        assert self.net_config is not None
        role, pair = self.net_ctrl.role(vq) if self.net_ctrl else (QueueRole.NONE, -1)
        kind = {QueueRole.RX: QueueKind.RX, QueueRole.TX: QueueKind.TX, QueueRole.CTRL: QueueKind.CTRL}.get(role)
        if kind is None:
            raise ValueError(f"vq {vq} has no role under the negotiated features")
        return kind, pair

    # -- reset / features / queues ----------------------------------------------------------------
    def device_reset(self) -> None:
        """Everything device-side back to reset values (registers are reset by CommonCfg)."""
        self.queues.clear()
        self.isr = 0
        if self.net_ctrl is not None:
            self.net_ctrl.reset()
        if self.blk is not None:
            self.blk.reset()

    def function_level_reset(self, time: int = 0) -> None:
        """FLR / conventional reset: virtio registers *and* MSI-X state (§9.3) back to reset values."""
        self.common.reset()
        self.device_reset()
        self.msix.reset(time)

    def _enable_queue(self, vq: int) -> None:
        q = self.common.queues[vq]
        neg = self.negotiated
        kw = dict(
            indirect_desc=bool(neg >> Transport.INDIRECT_DESC & 1),
            in_order=bool(neg >> Transport.IN_ORDER & 1),
            event_idx=bool(neg >> Transport.EVENT_IDX & 1),
            max_chain=self.cfg.max_chain,
            queue=vq,
        )
        ring: RingDevice
        notify: NotifyChecker  # type: ignore[type-arg]
        if self.common.packed:
            ring = PackedRingDevice(
                self.mem, q.size, q.desc, q.driver, q.device,
                strict_chain_flags=self.cfg.strict_chain_flags, **kw,  # type: ignore[arg-type]
            )
            notify = PackedNotifyChecker(q.size, bool(kw["event_idx"]))
        else:
            ring = SplitRingDevice(self.mem, q.size, q.desc, q.driver, q.device, **kw)  # type: ignore[arg-type]
            notify = SplitNotifyChecker(q.size, bool(kw["event_idx"]))
        try:
            kind, pair = self.kind_of(vq)
        except ValueError:
            return  # a queue with no role under the negotiated features stays inert
        state = QueueState(vq, kind, pair, ring, notify)
        if self.net_ctrl is not None:
            state.coalescing.params = self.net_ctrl.coalescing(vq)
        self.queues[vq] = state

    # -- registers --------------------------------------------------------------------------------
    def read(self, region: Region, offset: int, width: int) -> int:
        """Side-effect-free register read (ISR: use :meth:`isr_read`)."""
        if region == Region.COMMON:
            return self.common.read(offset, width)
        if region == Region.DEVICE:
            if self.blk is not None:
                return self.blk.config_read(offset, width)
            assert self.net_config is not None
            return self.net_config.read(offset, width)
        if region == Region.ISR:
            return self.isr if offset == 0 else 0
        if region == Region.MSIX_TABLE:
            return self.msix.table_read(offset, width)
        if region == Region.MSIX_PBA:
            return self.msix.pba_read(offset, width)
        return 0

    def isr_read(self) -> int:
        """Read the ISR byte: returns it and clears it (§3.5)."""
        v, self.isr = self.isr, 0
        return v

    def write(self, region: Region, offset: int, width: int, value: int, time: int = 0) -> list[Interrupt]:
        """Driver register write; returns interrupts it causes (MSI-X replays, config changes)."""
        if region == Region.COMMON:
            return self._common_write(offset, width, value, time)
        if region == Region.DEVICE:
            if self.blk is not None:
                self.blk.config_write(offset, width, value, self.common.status.features_ok)
            return []
        if region == Region.MSIX_TABLE:
            return [Interrupt(None, Delivery.SENT, m) for m in self.msix.table_write(offset, value, width, time)]
        return []

    def msix_control_write(self, value: int, time: int = 0) -> list[Interrupt]:
        """Write of the MSI-X Message Control word in config space."""
        return [Interrupt(None, Delivery.SENT, m) for m in self.msix.control_write(value, time)]

    def _common_write(self, offset: int, width: int, value: int, time: int) -> list[Interrupt]:
        res = self.common.write(offset, width, value)
        out: list[Interrupt] = []
        for ev in res.events:
            if ev.kind == CfgEventKind.DEVICE_RESET:
                self.device_reset()
            elif ev.kind == CfgEventKind.FEATURES_OK:
                if self.net_ctrl is not None:
                    self.net_ctrl.set_features(self.negotiated)
                if self.blk is not None:
                    self.blk.set_features(self.negotiated)
            elif ev.kind == CfgEventKind.QUEUE_ENABLED and ev.queue is not None:
                # forget the old VQ_SET first: the queue starts with the last TX_SET/RX_SET (§6.6)
                if self.net_ctrl is not None:
                    self.net_ctrl.on_queue_reenabled(ev.queue)
                self._enable_queue(ev.queue)
            elif ev.kind == CfgEventKind.QUEUE_RESET and ev.queue is not None:
                self.queues.pop(ev.queue, None)
            elif ev.kind == CfgEventKind.NEEDS_RESET:
                out += self._config_interrupt()
        return out

    # -- interrupts ---------------------------------------------------------------------------------
    def _config_interrupt(self) -> list[Interrupt]:
        """Configuration change notification (ISR bit 1, config vector), only after DRIVER_OK."""
        if not self.common.status.driver_ok:
            return []
        self.isr |= 2
        r = self.msix.signal(self.common.config_msix_vector)
        return [Interrupt(None, r.delivery, r.message)]

    def config_changed(self) -> list[Interrupt]:
        """Device config changed: bump ``config_generation`` and notify (§3.3, §6.3)."""
        self.common.bump_generation()
        return self._config_interrupt()

    def queue_interrupt(self, vq: int) -> Interrupt:
        """Deliver a used-buffer notification for ``vq`` (MSI-X vector or ISR bit 0)."""
        r = self.msix.signal(self.common.queues[vq].msix_vector)
        if r.delivery == Delivery.INTX:
            self.isr |= 1
        return Interrupt(vq, r.delivery, r.message)

    def needs_reset(self, reason: str) -> list[Interrupt]:
        """Set DEVICE_NEEDS_RESET (§1.3); notifies if DRIVER_OK."""
        if self.common.set_needs_reset(reason):
            return self._config_interrupt()
        return []

    # -- queue processing ------------------------------------------------------------------------------
    def sync(self, vq: int) -> list[Pending]:
        """Take every available buffer of ``vq`` and execute TX/blk/ctrl ones.

        Returns the newly taken buffers.  A malformed buffer stops the walk:
        the queue is marked ``broken`` (the caller decides when to raise
        DEVICE_NEEDS_RESET, see :meth:`needs_reset`).
        """
        q = self.queues.get(vq)
        if q is None or q.broken is not None or not self.live:
            return []
        new: list[Pending] = []
        while True:
            try:
                buf = q.ring.pop()
                if buf is None:
                    break
                p = Pending(buf, self._execute(q, buf))
            except DeviceNeedsReset as e:
                q.broken = e
                break
            q.pending.append(p)
            new.append(p)
        return new

    def _execute(self, q: QueueState, buf: Buffer) -> Optional[Completion]:
        if q.kind == QueueKind.BLK:
            assert self.blk is not None
            out = self.blk.process(buf, self.mem, queue=q.index)
            return Completion(out.used_len, blk=out)
        if q.kind == QueueKind.TX:
            limit = self.net_config.max_frame if self.net_config is not None else None
            return Completion(0, tx=extract_tx(buf, self.mem, self.negotiated, q.index, limit))
        if q.kind == QueueKind.CTRL:
            assert self.net_ctrl is not None
            out_c = self.net_ctrl.process(buf, self.mem, queue=q.index)
            return Completion(out_c.used_len, ctrl=out_c)
        return None  # RX waits for a frame

    def apply_ctrl_effects(self, out: CtrlOutcome, time: int) -> None:
        """Apply a controlq command's side effects once it is used (coalescing, MAC)."""
        for e in out.effects:
            if e.kind == CtrlEffectKind.COALESCING and e.vq in self.queues:
                assert self.net_ctrl is not None
                self.queues[e.vq].coalescing.set_params(self.net_ctrl.coalescing(e.vq), time)
            elif e.kind == CtrlEffectKind.MAC_CHANGED:
                self.common.bump_generation()

    def complete(self, vq: int, pending: Pending, used_len: Optional[int] = None) -> Union[UsedElem, SplitUsedElem]:
        """Write the used element for ``pending`` (its completion's len unless given)."""
        q = self.queues[vq]
        if used_len is None:
            if pending.completion is None:
                raise ValueError("RX buffers need an explicit used_len")
            used_len = pending.completion.used_len
        q.pending.remove(pending)
        return q.ring.push_used(pending.buf, used_len)

    def place_frame(self, vq: int, frame: bytes, commit: bool = True) -> RxPlacement:
        """Place a received frame into the pending RX buffers of ``vq``.

        With ``commit`` the header and frame are written to memory; the
        buffers stay pending either way (the caller uses them).
        """
        q = self.queues[vq]
        rx: deque[Pending] = deque(p for p in q.pending if p.completion is None)
        taken: list[Pending] = []

        def take() -> Optional[Buffer]:
            if not rx:
                return None
            p = rx.popleft()
            taken.append(p)
            return p.buf

        def give_back(bufs: Sequence[Buffer]) -> None:
            for _ in bufs:
                rx.appendleft(taken.pop())

        placement = place_rx(frame, take, give_back, self.negotiated, vq)
        if commit and placement.result == RxResult.PLACED:
            write_rx(placement, frame, self.mem)
        return placement

    def rx_accepts(self, frame: bytes) -> bool:
        """The receive filter lets ``frame`` through."""
        return self.net_ctrl is not None and self.net_ctrl.rx_filter.accepts(frame)

    def has_feature(self, bit: int) -> bool:
        """Feature negotiated."""
        return bool(self.negotiated >> int(bit) & 1)

    @property
    def mergeable(self) -> bool:
        """MRG_RXBUF negotiated."""
        return self.has_feature(NetFeature.MRG_RXBUF)
