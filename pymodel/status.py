"""``device_status`` register and its state machine (virtio.md §1).

The model follows the driver-visible rules of §1.2/§1.3:

* writing 0 resets the device (the owner then restores every register);
* the driver never clears a bit: a non-zero write is OR-ed into the current
  value (bits the write leaves clear stay set).  Bit 6 DEVICE_NEEDS_RESET
  belongs to the device, bit 5 is reserved and bit 4 SUSPEND is not modelled
  (never offered), so those bits of a driver write are ignored;
* a write that newly sets FEATURES_OK runs the feature validator; on
  rejection the *whole* write is ignored (QEMU's behaviour, §1.3), so
  FEATURES_OK reads back clear;
* DRIVER_OK written while FEATURES_OK is clear is a driver error the spec
  gives no outcome for: the write is applied and DEVICE_NEEDS_RESET is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntFlag
from typing import Callable, Optional

__all__ = ["Status", "StatusEvent", "StatusWriteResult", "DeviceStatus", "DRIVER_SETTABLE"]


class Status(IntFlag):
    """``device_status`` bits (virtio.md §1.1)."""

    ACKNOWLEDGE = 0x01
    DRIVER = 0x02
    DRIVER_OK = 0x04
    FEATURES_OK = 0x08
    SUSPEND = 0x10
    DEVICE_NEEDS_RESET = 0x40
    FAILED = 0x80


#: Bits a driver write may set (SUSPEND excluded: not offered by this model).
DRIVER_SETTABLE = (
    Status.ACKNOWLEDGE | Status.DRIVER | Status.DRIVER_OK | Status.FEATURES_OK | Status.FAILED
)


class StatusEvent(Enum):
    """What a status write caused, for the owner of the register to act on."""

    RESET = "reset"
    FEATURES_OK = "features_ok"
    FEATURES_REJECTED = "features_rejected"
    DRIVER_OK = "driver_ok"
    NEEDS_RESET = "needs_reset"
    FAILED = "failed"


@dataclass(frozen=True)
class StatusWriteResult:
    """Outcome of one ``device_status`` write."""

    value: int
    events: tuple[StatusEvent, ...] = ()
    reason: Optional[str] = None


class DeviceStatus:
    """The ``device_status`` byte of one function.

    Args:
        validate_features: called when a write newly sets FEATURES_OK;
            returns ``None`` to accept or a reason string to reject (see
            :func:`pymodel.features.validate_driver_features`).
    """

    def __init__(self, validate_features: Callable[[], Optional[str]]) -> None:
        self._validate = validate_features
        self.value = 0
        self.needs_reset_reason: Optional[str] = None

    # -- queries ---------------------------------------------------------
    def has(self, bit: Status) -> bool:
        """True if ``bit`` is set."""
        return bool(self.value & bit)

    @property
    def features_ok(self) -> bool:
        """FEATURES_OK is set (the feature set is fixed)."""
        return self.has(Status.FEATURES_OK)

    @property
    def driver_ok(self) -> bool:
        """DRIVER_OK is set."""
        return self.has(Status.DRIVER_OK)

    @property
    def needs_reset(self) -> bool:
        """DEVICE_NEEDS_RESET is set."""
        return self.has(Status.DEVICE_NEEDS_RESET)

    @property
    def live(self) -> bool:
        """The device may consume buffers and notify (§1.3: after DRIVER_OK)."""
        return self.driver_ok and not self.needs_reset

    # -- mutation ----------------------------------------------------------
    def reset(self) -> None:
        """Return to the reset value 0."""
        self.value = 0
        self.needs_reset_reason = None

    def set_needs_reset(self, reason: str) -> bool:
        """Set DEVICE_NEEDS_RESET; returns True if it was newly set.

        The caller owes a configuration-change notification if DRIVER_OK is
        set (§1.3).
        """
        if self.needs_reset:
            return False
        self.value |= Status.DEVICE_NEEDS_RESET
        self.needs_reset_reason = reason
        return True

    def write(self, value: int) -> StatusWriteResult:
        """Apply a driver write of ``value`` (8 bits)."""
        value &= 0xFF
        if value == 0:
            self.reset()
            return StatusWriteResult(0, (StatusEvent.RESET,))
        new_bits = value & DRIVER_SETTABLE & ~self.value
        events: list[StatusEvent] = []
        reason: Optional[str] = None
        if new_bits & Status.FEATURES_OK:
            reason = self._validate()
            if reason is not None:
                return StatusWriteResult(self.value, (StatusEvent.FEATURES_REJECTED,), reason)
            events.append(StatusEvent.FEATURES_OK)
        self.value |= new_bits
        if new_bits & Status.FAILED:
            events.append(StatusEvent.FAILED)
        if new_bits & Status.DRIVER_OK:
            if not self.features_ok:
                reason = "DRIVER_OK without FEATURES_OK"
                if self.set_needs_reset(reason):
                    events.append(StatusEvent.NEEDS_RESET)
            else:
                events.append(StatusEvent.DRIVER_OK)
        return StatusWriteResult(self.value, tuple(events), reason)
