"""The interface between the vhost-user transport and a device personality.

The transport (:mod:`.session`, :mod:`.server`) knows rings, fds and
messages; a :class:`VhostDevice` knows what a buffer means.  The two
implementations, :class:`~.blk_device.BlkDevice` and
:class:`~.net_device.NetDevice`, take their request semantics from
pymodel's blk and net modules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, Optional

from ..features import DeviceType
from .guest_memory import GuestMemory
from .vring import RingBuilder, Vring

__all__ = ["VhostDevice"]


class VhostDevice(ABC):
    """A device personality served over vhost-user.

    Attributes:
        device_type: NET or BLK.
        num_queues: queues the front-end may configure (GET_QUEUE_NUM).
        protocol_features: VHOST_USER_PROTOCOL_F_* bits this personality
            needs on top of the transport's own (blk: CONFIG).
    """

    device_type: DeviceType
    num_queues: int = 1
    protocol_features: int = 0

    def __init__(self) -> None:
        self._wake: Optional[Callable[[], None]] = None
        self.features = 0

    @abstractmethod
    def offered_features(self) -> int:
        """Virtio feature bits the device offers (transport bits included)."""

    def set_features(self, features: int) -> None:
        """The driver's accepted feature set (SET_FEATURES, bit 30 removed)."""
        self.features = features

    def config(self) -> bytes:
        """Device-specific configuration space (GET_CONFIG)."""
        return b""

    def set_config(self, offset: int, data: bytes) -> None:
        """Driver write to the configuration space (SET_CONFIG)."""

    def ring_builder(self, vq: Vring, mem: GuestMemory, features: int) -> Optional[RingBuilder]:
        """How to build the ring of ``vq`` when it starts (None: pymodel's ring
        classes, constructed by the transport)."""
        return None

    def ring_stopped(self, vq: Vring) -> None:
        """``vq`` was stopped by the front-end (GET_VRING_BASE)."""

    @abstractmethod
    def process(self, vq: Vring, mem: GuestMemory) -> int:
        """Serve queue ``vq`` as far as possible now; return buffers completed.

        Unless :attr:`notifies_itself` is set, the caller evaluates event
        suppression (and signals the call eventfd) after each call that
        completed something.  Raising :class:`pymodel.errors.DeviceNeedsReset`
        (or a bad guest address) breaks only this queue.
        """

    def wants_buffers(self, vq: Vring) -> bool:
        """Would :meth:`process` take more buffers from ``vq`` if there were any?

        True for request queues; a receive queue only wants buffers while
        frames are waiting for them.
        """
        return True

    #: The device decides used-buffer notifications itself (signals ``vq.signal_call``).
    notifies_itself: bool = False

    def reset(self) -> None:
        """The driver went away or reset the device: drop per-session state."""

    def attach(self, wake: Optional[Callable[[], None]]) -> None:
        """Give the device a thread-safe way to ask the transport to run it
        (net: a frame arrived from the wire side)."""
        self._wake = wake

    def wake(self) -> None:
        """Ask the transport to call :meth:`process` on every live queue."""
        if self._wake is not None:
            self._wake()
