"""One virtqueue as configured over vhost-user, served by pymodel's rings.

:class:`Vring` collects what the front-end says about a queue (size,
addresses, base, kick/call/err eventfds, enable) and, when the queue starts,
builds the device side of the ring from pymodel:
:class:`pymodel.packed_ring.PackedRingDevice` when VIRTIO_F_RING_PACKED was
negotiated, :class:`pymodel.split_ring.SplitRingDevice` otherwise.  Every
descriptor walk, used write and notification decision is pymodel's; this
class only moves eventfd signals and translates the vring base.

Vring base encoding (SET/GET_VRING_BASE ``num``):

* split: the next avail index (u16);
* packed: bits 0-14 next avail offset, bit 15 avail wrap counter, bits
  16-30 used offset, bit 31 used wrap counter (QEMU).  DPDK's virtio-user
  sends only the low half (``1 << 15`` at start); a zero high half means
  "used = avail", which is the only consistent state with nothing in flight.
"""

from __future__ import annotations

import os
import threading
from typing import Callable, Optional, Union

from ..buffers import Buffer
from ..features import Transport
from ..packed_layout import EventFlags, RingPos
from ..packed_ring import PackedRingDevice
from ..split_ring import SplitRingDevice
from .guest_memory import GuestMemory
from .protocol import VringAddr

__all__ = ["Vring", "Ring", "RingBuilder"]

Ring = Union[PackedRingDevice, SplitRingDevice]
_FENCE = threading.Lock()


def memory_barrier() -> None:
    """Full barrier between our stores and later loads of shared memory.

    A lock round trip is a LOCK-prefixed atomic on x86 (what ``smp_mb`` is).
    Used where the device writes its event suppression and then re-reads the
    ring: without it the store could still sit in the store buffer while the
    driver decides not to kick.
    """
    _FENCE.acquire()
    _FENCE.release()
#: ``build(desc, driver_area, device_area) -> ring`` (guest-physical addresses)
RingBuilder = Callable[[int, int, int], Ring]
_ONE = (1).to_bytes(8, "little")


def _close(fd: int) -> None:
    if fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass


class Vring:
    """Front-end configuration and run state of virtqueue ``index``."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.num = 0
        self.addr: Optional[VringAddr] = None
        self.base = 0
        self.kick_fd = -1
        self.call_fd = -1
        self.err_fd = -1
        self.enabled = False
        self.ring: Optional[Ring] = None
        self.mem: Optional[GuestMemory] = None
        self.broken: Optional[str] = None
        self.calls = 0  # used-buffer notifications sent (eventfd writes)

    # -- lifecycle ----------------------------------------------------------------
    @property
    def started(self) -> bool:
        """A ring exists (SET_VRING_KICK seen, GET_VRING_BASE not yet)."""
        return self.ring is not None

    @property
    def live(self) -> bool:
        """The device may process this queue now."""
        return self.ring is not None and self.enabled and self.broken is None

    @property
    def packed(self) -> bool:
        """The ring is a packed one."""
        return isinstance(self.ring, PackedRingDevice)

    def start(self, mem: GuestMemory, features: int, build: Optional[RingBuilder] = None) -> Ring:
        """Build the device side of the ring (called at SET_VRING_KICK).

        ``build(desc, driver, device)`` (guest-physical addresses) makes the
        ring; by default the pymodel ring class is constructed here.  The
        vring base is then applied to whatever ring was built.

        Raises:
            ValueError / BadAddress: the configuration is incomplete or points
                outside shared memory.
        """
        if self.addr is None or self.num == 0:
            raise ValueError(f"vq {self.index}: kick before SET_VRING_NUM/ADDR")
        desc = mem.uva_to_gpa(self.addr.desc)
        driver = mem.uva_to_gpa(self.addr.avail)
        device = mem.uva_to_gpa(self.addr.used)
        ring = (build or self._default_builder(mem, features))(desc, driver, device)
        if isinstance(ring, PackedRingDevice):
            avail = RingPos(self.base & 0x7FFF, bool(self.base >> 15 & 1))
            high = self.base >> 16 & 0xFFFF
            used = avail if high == 0 else RingPos(high & 0x7FFF, bool(high >> 15 & 1))
            ring.avail, ring.used, ring.last_eval = avail, used, used
        else:
            ring.last_avail = ring.used_idx = ring.last_eval = self.base & 0xFFFF
        self.ring, self.mem, self.broken = ring, mem, None
        return ring

    def _default_builder(self, mem: GuestMemory, features: int) -> RingBuilder:
        indirect = bool(features >> Transport.INDIRECT_DESC & 1)
        in_order = bool(features >> Transport.IN_ORDER & 1)
        event_idx = bool(features >> Transport.EVENT_IDX & 1)

        def build(desc: int, driver: int, device: int) -> Ring:
            if features >> Transport.RING_PACKED & 1:
                return PackedRingDevice(mem, self.num, desc, driver, device, indirect_desc=indirect,
                                        in_order=in_order, event_idx=event_idx, queue=self.index)
            return SplitRingDevice(mem, self.num, desc, driver, device, indirect_desc=indirect,
                                   in_order=in_order, event_idx=event_idx, queue=self.index)

        return build

    def stop(self) -> int:
        """Stop the ring (GET_VRING_BASE); return the base to report."""
        ring = self.ring
        if isinstance(ring, PackedRingDevice):
            self.base = ring.avail.off_wrap | ring.used.off_wrap << 16
        elif isinstance(ring, SplitRingDevice):
            self.base = ring.last_avail
        self.ring = None
        self.mem = None
        _close(self.kick_fd)
        self.kick_fd = -1
        return self.base

    def close(self) -> None:
        """Forget everything (disconnect / reset): stop and close all fds."""
        self.stop()
        _close(self.call_fd)
        _close(self.err_fd)
        self.call_fd = self.err_fd = -1
        self.enabled = False
        self.base = 0
        self.broken = None

    # -- fds --------------------------------------------------------------------------
    def set_kick(self, fd: int) -> None:
        """Replace the kick eventfd."""
        _close(self.kick_fd)
        self.kick_fd = fd

    def set_call(self, fd: int) -> None:
        """Replace the call eventfd."""
        _close(self.call_fd)
        self.call_fd = fd

    def set_err(self, fd: int) -> None:
        """Replace the error eventfd."""
        _close(self.err_fd)
        self.err_fd = fd

    def drain_kick(self) -> None:
        """Consume a pending kick."""
        if self.kick_fd >= 0:
            try:
                os.read(self.kick_fd, 8)
            except (BlockingIOError, InterruptedError):
                pass

    @staticmethod
    def _signal(fd: int) -> None:
        if fd >= 0:
            try:
                os.write(fd, _ONE)
            except (BlockingIOError, BrokenPipeError, OSError):
                pass

    # -- device side ------------------------------------------------------------------
    def pop(self) -> Optional[Buffer]:
        """Next available buffer, or None (pymodel walks the chain)."""
        assert self.ring is not None
        return self.ring.pop()

    def has_available(self) -> bool:
        """A buffer is waiting."""
        ring = self.ring
        if isinstance(ring, PackedRingDevice):
            return ring.has_available()
        return ring is not None and ring.avail_pending() > 0

    def mark(self) -> tuple[object, int]:
        """Snapshot of the avail position (to give popped buffers back)."""
        ring = self.ring
        if isinstance(ring, PackedRingDevice):
            return ring.avail, ring.popped
        assert ring is not None
        return ring.last_avail, ring.popped

    def rewind(self, mark: tuple[object, int]) -> None:
        """Un-pop every buffer taken since :meth:`mark` (nothing was used)."""
        ring = self.ring
        pos, popped = mark
        if isinstance(ring, PackedRingDevice):
            assert isinstance(pos, RingPos)
            ring.avail, ring.popped = pos, popped
        elif isinstance(ring, SplitRingDevice):
            assert isinstance(pos, int)
            ring.last_avail, ring.popped = pos, popped

    def push_used(self, buf: Buffer, written: int) -> None:
        """Return one buffer to the driver."""
        assert self.ring is not None
        self.ring.push_used(buf, written)

    def notify(self) -> bool:
        """Apply pymodel's event-suppression decision; signal call if required."""
        if self.ring is not None and self.ring.should_notify():
            self.signal_call()
            return True
        return False

    def signal_call(self) -> None:
        """Send a used-buffer notification (the caller decided it is due)."""
        self._signal(self.call_fd)
        self.calls += 1

    def suppress_kicks(self, suppress: bool) -> None:
        """Ask the driver not to kick (while the device is busy) or to kick again."""
        ring = self.ring
        if isinstance(ring, PackedRingDevice):
            ring.set_kick_suppression(EventFlags.DISABLE if suppress else EventFlags.ENABLE)
        elif isinstance(ring, SplitRingDevice):
            ring.set_kick_suppression(suppress)
        if not suppress:
            memory_barrier()

    def fail(self, reason: str) -> None:
        """The driver broke the ring: stop serving it and signal the error fd."""
        self.broken = reason
        self._signal(self.err_fd)
