"""Register model of the virtio PCI common configuration structure.

Layout and access rules: virtio.md §3.3.  The model is the reference the
bench compares RTL register reads against: :meth:`CommonCfg.read` returns
the value any naturally aligned read of 1, 2, 4 or 8 bytes must return, and
:meth:`CommonCfg.write` applies a driver write with the device-side rules.

Rules chosen where the spec leaves the device free (each one is a write that
is *ignored*, i.e. leaves every register unchanged, unless stated):

* writes to read-only fields, writes of the wrong width or misaligned, and
  writes beyond 0x40;
* ``driver_feature`` after FEATURES_OK (QEMU, §1.3), and to windows >= 4
  (bits >= 128 are reserved); selects 0..3 store 32 bits each.  Whether
  unoffered bits are kept is :class:`DriverFeaturePolicy` (§3.3 allows both);
* queue fields (``queue_size``, ``queue_desc/driver/device``,
  ``queue_enable``) before FEATURES_OK, or while the selected queue is
  enabled; ``queue_msix_vector`` may be written any time;
* ``queue_select`` beyond ``num_queues`` stores the value, the queue fields
  then read 0 (``queue_size`` 0 = "no such queue") and ignore writes;
* ``queue_size`` of 0, above the maximum, or (split ring) not a power of 2;
* ``queue_enable`` = 0 (the driver must use ``queue_reset``, §3.3);
  ``queue_enable`` = 1 with a misaligned ring address (§4.1/§5) sets
  DEVICE_NEEDS_RESET instead of enabling;
* ``*_msix_vector`` >= MSI-X table size (other than 0xFFFF) reads back
  0xFFFF (mapping failure, §3.5);
* ``queue_reset`` without RING_RESET negotiated, or of a value other than 1.
  With RING_RESET, writing 1 resets the queue to its defaults at once, so
  both ``queue_reset`` and ``queue_enable`` read 0 afterwards (§3.3; an RTL
  may read 1 while the reset is in progress).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Optional, Sequence

from .features import DeviceType, Transport, validate_driver_features
from .status import DeviceStatus, StatusEvent

__all__ = [
    "Reg",
    "NO_VECTOR",
    "COMMON_CFG_SIZE",
    "DriverFeaturePolicy",
    "QueueConfig",
    "CfgEventKind",
    "CfgEvent",
    "CfgWriteResult",
    "CommonCfg",
]

NO_VECTOR = 0xFFFF
COMMON_CFG_SIZE = 0x40
MAX_QUEUE_SIZE = 32768
_FEATURE_WINDOWS = 4


class Reg(IntEnum):
    """Field offsets of ``virtio_pci_common_cfg`` (virtio.md §3.3)."""

    DEVICE_FEATURE_SELECT = 0x00
    DEVICE_FEATURE = 0x04
    DRIVER_FEATURE_SELECT = 0x08
    DRIVER_FEATURE = 0x0C
    CONFIG_MSIX_VECTOR = 0x10
    NUM_QUEUES = 0x12
    DEVICE_STATUS = 0x14
    CONFIG_GENERATION = 0x15
    QUEUE_SELECT = 0x16
    QUEUE_SIZE = 0x18
    QUEUE_MSIX_VECTOR = 0x1A
    QUEUE_ENABLE = 0x1C
    QUEUE_NOTIFY_OFF = 0x1E
    QUEUE_DESC_LO = 0x20
    QUEUE_DESC_HI = 0x24
    QUEUE_DRIVER_LO = 0x28
    QUEUE_DRIVER_HI = 0x2C
    QUEUE_DEVICE_LO = 0x30
    QUEUE_DEVICE_HI = 0x34
    QUEUE_NOTIF_CONFIG_DATA = 0x38
    QUEUE_RESET = 0x3A
    ADMIN_QUEUE_INDEX = 0x3C
    ADMIN_QUEUE_NUM = 0x3E


#: (width, writable) of every field, by offset.
_FIELDS: dict[int, tuple[int, bool]] = {
    Reg.DEVICE_FEATURE_SELECT: (4, True),
    Reg.DEVICE_FEATURE: (4, False),
    Reg.DRIVER_FEATURE_SELECT: (4, True),
    Reg.DRIVER_FEATURE: (4, True),
    Reg.CONFIG_MSIX_VECTOR: (2, True),
    Reg.NUM_QUEUES: (2, False),
    Reg.DEVICE_STATUS: (1, True),
    Reg.CONFIG_GENERATION: (1, False),
    Reg.QUEUE_SELECT: (2, True),
    Reg.QUEUE_SIZE: (2, True),
    Reg.QUEUE_MSIX_VECTOR: (2, True),
    Reg.QUEUE_ENABLE: (2, True),
    Reg.QUEUE_NOTIFY_OFF: (2, False),
    Reg.QUEUE_DESC_LO: (4, True),
    Reg.QUEUE_DESC_HI: (4, True),
    Reg.QUEUE_DRIVER_LO: (4, True),
    Reg.QUEUE_DRIVER_HI: (4, True),
    Reg.QUEUE_DEVICE_LO: (4, True),
    Reg.QUEUE_DEVICE_HI: (4, True),
    Reg.QUEUE_NOTIF_CONFIG_DATA: (2, False),
    Reg.QUEUE_RESET: (2, True),
    Reg.ADMIN_QUEUE_INDEX: (2, False),
    Reg.ADMIN_QUEUE_NUM: (2, False),
}


class DriverFeaturePolicy(Enum):
    """What ``driver_feature`` stores (virtio.md §3.3 allows either)."""

    MIRROR_ALL = "mirror_all"  # every written bit is kept and validated
    KEEP_OFFERED = "keep_offered"  # unoffered bits are dropped on write


@dataclass
class QueueConfig:
    """Per-queue fields of the common configuration (reset values by default)."""

    max_size: int
    notify_off: int
    notif_config_data: int
    size: int = 0
    msix_vector: int = NO_VECTOR
    enable: bool = False
    desc: int = 0
    driver: int = 0
    device: int = 0

    def __post_init__(self) -> None:
        if self.size == 0:
            self.size = self.max_size

    def reset(self) -> None:
        """Return to the reset values (§1.3: size = max, vector = NO_VECTOR)."""
        self.size = self.max_size
        self.msix_vector = NO_VECTOR
        self.enable = False
        self.desc = self.driver = self.device = 0


class CfgEventKind(Enum):
    """Side effects of a common-configuration write the owner must act on."""

    DEVICE_RESET = "device_reset"
    FEATURES_OK = "features_ok"
    FEATURES_REJECTED = "features_rejected"
    DRIVER_OK = "driver_ok"
    NEEDS_RESET = "needs_reset"
    QUEUE_ENABLED = "queue_enabled"
    QUEUE_RESET = "queue_reset"


@dataclass(frozen=True)
class CfgEvent:
    """One side effect: ``kind`` plus the queue or reason it concerns."""

    kind: CfgEventKind
    queue: Optional[int] = None
    reason: Optional[str] = None


@dataclass(frozen=True)
class CfgWriteResult:
    """Outcome of :meth:`CommonCfg.write`.

    ``applied`` is False when the write was ignored; ``note`` then says why.
    """

    applied: bool
    note: Optional[str] = None
    events: tuple[CfgEvent, ...] = ()


def _ignored(note: str) -> CfgWriteResult:
    return CfgWriteResult(False, note)


@dataclass
class CommonCfg:
    """Common configuration of one PCI function.

    Args:
        device_type: NET or BLK (selects the feature dependency table).
        device_features: offered feature word (up to 128 bits).
        queue_max_sizes: maximum size of each queue; ``num_queues`` is its
            length.
        msix_table_size: number of MSI-X vectors (0 = no MSI-X).
        notify_offs: ``queue_notify_off`` per queue (default: the index).
        notif_config_data: ``queue_notif_config_data`` per queue (default:
            the index).
        feature_policy: see :class:`DriverFeaturePolicy`.
    """

    device_type: DeviceType
    device_features: int
    queue_max_sizes: Sequence[int]
    msix_table_size: int = 0
    notify_offs: Optional[Sequence[int]] = None
    notif_config_data: Optional[Sequence[int]] = None
    feature_policy: DriverFeaturePolicy = DriverFeaturePolicy.MIRROR_ALL
    device_feature_select: int = field(init=False, default=0)
    driver_feature_select: int = field(init=False, default=0)
    config_msix_vector: int = field(init=False, default=NO_VECTOR)
    queue_select: int = field(init=False, default=0)
    config_generation: int = field(init=False, default=0)
    queues: list[QueueConfig] = field(init=False)
    status: DeviceStatus = field(init=False)
    _driver_windows: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.device_type = DeviceType(self.device_type)
        n = len(self.queue_max_sizes)
        if not 0 < n <= 0xFFFF:
            raise ValueError("num_queues must be 1..65535")
        for m in self.queue_max_sizes:
            if not 1 <= m <= MAX_QUEUE_SIZE:
                raise ValueError(f"queue max size {m} out of 1..32768")
        offs = list(self.notify_offs) if self.notify_offs is not None else list(range(n))
        data = (
            list(self.notif_config_data) if self.notif_config_data is not None else list(range(n))
        )
        self.queues = [
            QueueConfig(max_size=m, notify_off=offs[i], notif_config_data=data[i])
            for i, m in enumerate(self.queue_max_sizes)
        ]
        self.status = DeviceStatus(self._validate)
        self._driver_windows = [0] * _FEATURE_WINDOWS

    # -- derived state -------------------------------------------------------
    @property
    def num_queues(self) -> int:
        """Number of queues (admin queues excluded)."""
        return len(self.queues)

    @property
    def driver_features(self) -> int:
        """The driver feature word as currently stored."""
        out = 0
        for i, w in enumerate(self._driver_windows):
            out |= w << (32 * i)
        return out

    @property
    def negotiated(self) -> int:
        """Negotiated features: the driver word once FEATURES_OK is set, else 0."""
        return self.driver_features if self.status.features_ok else 0

    def has(self, bit: int) -> bool:
        """True if feature ``bit`` is negotiated."""
        return bool(self.negotiated >> int(bit) & 1)

    @property
    def packed(self) -> bool:
        """Queues use the packed layout (RING_PACKED negotiated)."""
        return self.has(Transport.RING_PACKED)

    @property
    def selected(self) -> Optional[QueueConfig]:
        """The queue ``queue_select`` points at, or None if out of range."""
        if self.queue_select < self.num_queues:
            return self.queues[self.queue_select]
        return None

    def _validate(self) -> Optional[str]:
        return validate_driver_features(
            self.device_type, self.device_features, self.driver_features
        )

    # -- reset -----------------------------------------------------------------
    def reset(self) -> None:
        """Device reset (status write 0): every field back to its reset value.

        ``config_generation`` is not reset: it only has to change when device
        config changes (§3.3), and keeping it monotonic is always safe.
        """
        self.device_feature_select = 0
        self.driver_feature_select = 0
        self.config_msix_vector = NO_VECTOR
        self.queue_select = 0
        self._driver_windows = [0] * _FEATURE_WINDOWS
        for q in self.queues:
            q.reset()
        self.status.reset()

    def bump_generation(self) -> None:
        """Advance ``config_generation`` (device config changed)."""
        self.config_generation = (self.config_generation + 1) & 0xFF

    def set_needs_reset(self, reason: str) -> bool:
        """Set DEVICE_NEEDS_RESET (see :meth:`DeviceStatus.set_needs_reset`)."""
        return self.status.set_needs_reset(reason)

    # -- reads -------------------------------------------------------------------
    def _field_value(self, off: int) -> int:
        q = self.selected
        if off == Reg.DEVICE_FEATURE_SELECT:
            return self.device_feature_select
        if off == Reg.DEVICE_FEATURE:
            sel = self.device_feature_select
            return (self.device_features >> (32 * sel)) & 0xFFFF_FFFF if sel < 8 else 0
        if off == Reg.DRIVER_FEATURE_SELECT:
            return self.driver_feature_select
        if off == Reg.DRIVER_FEATURE:
            sel = self.driver_feature_select
            return self._driver_windows[sel] if sel < _FEATURE_WINDOWS else 0
        if off == Reg.CONFIG_MSIX_VECTOR:
            return self.config_msix_vector
        if off == Reg.NUM_QUEUES:
            return self.num_queues
        if off == Reg.DEVICE_STATUS:
            return self.status.value
        if off == Reg.CONFIG_GENERATION:
            return self.config_generation
        if off == Reg.QUEUE_SELECT:
            return self.queue_select
        if off in (Reg.ADMIN_QUEUE_INDEX, Reg.ADMIN_QUEUE_NUM):
            return 0
        if q is None:
            return 0
        return {
            Reg.QUEUE_SIZE: q.size,
            Reg.QUEUE_MSIX_VECTOR: q.msix_vector,
            Reg.QUEUE_ENABLE: int(q.enable),
            Reg.QUEUE_NOTIFY_OFF: q.notify_off,
            Reg.QUEUE_DESC_LO: q.desc & 0xFFFF_FFFF,
            Reg.QUEUE_DESC_HI: q.desc >> 32,
            Reg.QUEUE_DRIVER_LO: q.driver & 0xFFFF_FFFF,
            Reg.QUEUE_DRIVER_HI: q.driver >> 32,
            Reg.QUEUE_DEVICE_LO: q.device & 0xFFFF_FFFF,
            Reg.QUEUE_DEVICE_HI: q.device >> 32,
            Reg.QUEUE_NOTIF_CONFIG_DATA: q.notif_config_data,
            Reg.QUEUE_RESET: 0,
        }[Reg(off)]

    def image(self) -> bytes:
        """The 64-byte structure as it reads right now."""
        out = bytearray(COMMON_CFG_SIZE)
        for off, (width, _) in _FIELDS.items():
            out[off : off + width] = self._field_value(off).to_bytes(width, "little")
        return bytes(out)

    def read(self, offset: int, width: int) -> int:
        """Value of a ``width``-byte read at ``offset`` (no side effects).

        Any naturally aligned access of 1, 2, 4 or 8 bytes is answered from
        :meth:`image`; bytes beyond the structure read 0.
        """
        if width not in (1, 2, 4, 8) or offset % width:
            raise ValueError(f"unaligned or odd-width read: offset {offset:#x} width {width}")
        img = self.image() + bytes(8)
        if offset >= COMMON_CFG_SIZE:
            return 0
        return int.from_bytes(img[offset : offset + width], "little")

    # -- writes ------------------------------------------------------------------
    def write(self, offset: int, width: int, value: int) -> CfgWriteResult:
        """Apply a driver write; see the module docstring for ignored writes."""
        if width == 8 and offset in (Reg.QUEUE_DESC_LO, Reg.QUEUE_DRIVER_LO, Reg.QUEUE_DEVICE_LO):
            lo = self.write(offset, 4, value & 0xFFFF_FFFF)
            if not lo.applied:
                return lo
            return self.write(offset + 4, 4, value >> 32)
        spec = _FIELDS.get(offset)
        if spec is None:
            return _ignored(f"no field at {offset:#x}")
        fwidth, writable = spec
        if width != fwidth:
            return _ignored(f"{Reg(offset).name} is {fwidth} bytes wide, write was {width}")
        if not writable:
            return _ignored(f"{Reg(offset).name} is read-only")
        value &= (1 << (8 * width)) - 1
        reg = Reg(offset)
        if reg == Reg.DEVICE_FEATURE_SELECT:
            self.device_feature_select = value
            return CfgWriteResult(True)
        if reg == Reg.DRIVER_FEATURE_SELECT:
            self.driver_feature_select = value
            return CfgWriteResult(True)
        if reg == Reg.DRIVER_FEATURE:
            return self._write_driver_feature(value)
        if reg == Reg.CONFIG_MSIX_VECTOR:
            self.config_msix_vector = self._map_vector(value)
            return CfgWriteResult(True)
        if reg == Reg.DEVICE_STATUS:
            return self._write_status(value)
        if reg == Reg.QUEUE_SELECT:
            self.queue_select = value
            return CfgWriteResult(True)
        return self._write_queue_field(reg, value)

    def _map_vector(self, value: int) -> int:
        return value if value < self.msix_table_size else NO_VECTOR

    def _write_driver_feature(self, value: int) -> CfgWriteResult:
        if self.status.features_ok:
            return _ignored("driver_feature written after FEATURES_OK")
        sel = self.driver_feature_select
        if sel >= _FEATURE_WINDOWS:
            return _ignored(f"driver_feature_select {sel} beyond bit 127")
        if self.feature_policy == DriverFeaturePolicy.KEEP_OFFERED:
            value &= (self.device_features >> (32 * sel)) & 0xFFFF_FFFF
        self._driver_windows[sel] = value
        return CfgWriteResult(True)

    def _write_status(self, value: int) -> CfgWriteResult:
        res = self.status.write(value)
        if StatusEvent.RESET in res.events:
            self.reset()
            return CfgWriteResult(True, None, (CfgEvent(CfgEventKind.DEVICE_RESET),))
        mapping = {
            StatusEvent.FEATURES_OK: CfgEventKind.FEATURES_OK,
            StatusEvent.FEATURES_REJECTED: CfgEventKind.FEATURES_REJECTED,
            StatusEvent.DRIVER_OK: CfgEventKind.DRIVER_OK,
            StatusEvent.NEEDS_RESET: CfgEventKind.NEEDS_RESET,
        }
        events = tuple(CfgEvent(mapping[e], reason=res.reason) for e in res.events if e in mapping)
        applied = StatusEvent.FEATURES_REJECTED not in res.events
        return CfgWriteResult(applied, res.reason, events)

    def _write_queue_field(self, reg: Reg, value: int) -> CfgWriteResult:
        q = self.selected
        qi = self.queue_select
        if q is None:
            return _ignored(f"queue_select {qi} >= num_queues {self.num_queues}")
        if reg == Reg.QUEUE_MSIX_VECTOR:
            q.msix_vector = self._map_vector(value)
            return CfgWriteResult(True)
        if reg == Reg.QUEUE_RESET:
            return self._write_queue_reset(qi, q, value)
        if not self.status.features_ok:
            return _ignored(f"{reg.name} written before FEATURES_OK")
        if q.enable:
            return _ignored(f"{reg.name} written while queue {qi} is enabled")
        if reg == Reg.QUEUE_SIZE:
            return self._write_queue_size(q, value)
        if reg == Reg.QUEUE_ENABLE:
            return self._write_queue_enable(qi, q, value)
        attr, hi = {
            Reg.QUEUE_DESC_LO: ("desc", False),
            Reg.QUEUE_DESC_HI: ("desc", True),
            Reg.QUEUE_DRIVER_LO: ("driver", False),
            Reg.QUEUE_DRIVER_HI: ("driver", True),
            Reg.QUEUE_DEVICE_LO: ("device", False),
            Reg.QUEUE_DEVICE_HI: ("device", True),
        }[reg]
        old = getattr(q, attr)
        new = (old & 0xFFFF_FFFF) | (value << 32) if hi else (old & ~0xFFFF_FFFF) | value
        setattr(q, attr, new)
        return CfgWriteResult(True)

    def _write_queue_size(self, q: QueueConfig, value: int) -> CfgWriteResult:
        if value == 0:
            return _ignored("queue_size 0")
        if value > q.max_size:
            return _ignored(f"queue_size {value} above maximum {q.max_size}")
        if not self.packed and value & (value - 1):
            return _ignored(f"split queue_size {value} not a power of 2")
        q.size = value
        return CfgWriteResult(True)

    def _write_queue_enable(self, qi: int, q: QueueConfig, value: int) -> CfgWriteResult:
        if value != 1:
            return _ignored(f"queue_enable written with {value} (only 1 is allowed)")
        drv_align = 4 if self.packed else 2
        bad = [
            name
            for name, addr, align in (
                ("queue_desc", q.desc, 16),
                ("queue_driver", q.driver, drv_align),
                ("queue_device", q.device, 4),
            )
            if addr % align
        ]
        if bad:
            reason = "misaligned ring address: " + ", ".join(bad)
            ev: tuple[CfgEvent, ...] = ()
            if self.set_needs_reset(reason):
                ev = (CfgEvent(CfgEventKind.NEEDS_RESET, qi, reason),)
            return CfgWriteResult(False, reason, ev)
        q.enable = True
        return CfgWriteResult(True, None, (CfgEvent(CfgEventKind.QUEUE_ENABLED, qi),))

    def _write_queue_reset(self, qi: int, q: QueueConfig, value: int) -> CfgWriteResult:
        if not self.has(Transport.RING_RESET):
            return _ignored("queue_reset without RING_RESET negotiated")
        if value != 1:
            return _ignored(f"queue_reset written with {value}")
        q.reset()
        return CfgWriteResult(True, None, (CfgEvent(CfgEventKind.QUEUE_RESET, qi),))
