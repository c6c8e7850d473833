"""Exceptions shared by the golden model.

Two kinds of failure exist and must never be confused:

* :class:`DeviceNeedsReset` -- the *driver* did something the device cannot
  recover from (malformed chain, bad indirect table, blk request without a
  status byte, ...).  The modelled device reacts by setting
  ``DEVICE_NEEDS_RESET`` in ``device_status`` (virtio.md §1.3) and stops
  processing; a checker treats it as an expected outcome, not as a bench
  failure.
* :class:`ModelUsageError` -- the *caller* misused the model API (e.g. added a
  buffer to a full ring through the driver helper).  This is a bug in the
  bench or test, never device behaviour.
"""

from __future__ import annotations

__all__ = ["DeviceNeedsReset", "ModelUsageError", "DeviceBehaviourError"]


class DeviceNeedsReset(Exception):
    """The device hit an unrecoverable driver error (virtio.md §1.3).

    Attributes:
        reason: one-line human readable description, stable enough to be
            matched in tests (the text starts with a short keyword such as
            ``"chain too long"``).
        queue: virtqueue index involved, when known.
        readable: guest ranges (addr, len) the driver handed over and the
            device had to read to find the fault (an indirect table whose
            entries are malformed): reading them is not a DMA violation.
    """

    def __init__(self, reason: str, queue: int | None = None,
                 readable: tuple[tuple[int, int], ...] = ()) -> None:
        super().__init__(reason if queue is None else f"vq {queue}: {reason}")
        self.reason = reason
        self.queue = queue
        self.readable = readable


class ModelUsageError(Exception):
    """The model's API was called in a way that makes no sense."""


class DeviceBehaviourError(Exception):
    """The device under test broke a ring rule, as seen by a driver helper.

    Raised by the driver-side ring models (e.g. a used descriptor carrying
    an ID that is not outstanding).  A bench turns it into a mismatch.
    """
