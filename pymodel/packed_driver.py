"""Packed virtqueue, driver side: what the bench uses to build rings in host memory.

Modelled on Linux ``drivers/virtio/virtio_ring.c`` (packed half), so the
bench produces exactly the memory traffic a Linux guest would:

* :meth:`PackedRingDriver.add` writes every descriptor of a buffer, the head
  flags last (§4.2), the same buffer id in every descriptor (Linux, §4.3);
* :meth:`PackedRingDriver.kick_prepare` = ``virtqueue_kick_prepare_packed``;
* :meth:`PackedRingDriver.get_used` = ``virtqueue_get_buf_ctx_packed``
  including the re-arm of ``off_wrap`` in DESC mode;
* :meth:`PackedRingDriver.disable_cb`, :meth:`enable_cb_prepare`,
  :meth:`enable_cb`, :meth:`enable_cb_delayed` = their Linux namesakes
  (delayed arms about 3/4 of the outstanding descriptors ahead).

:meth:`PackedRingDriver.add_raw` writes arbitrary descriptors (malformed
chains for negative tests).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Optional, Sequence

from .errors import DeviceBehaviourError, ModelUsageError
from .event_suppression import packed_kick_needed
from .memory import Memory
from .packed_layout import (
    DESC_SIZE,
    EVENT_SIZE,
    DescFlag,
    EventFlags,
    EventSuppress,
    PackedDesc,
    RingPos,
    avail_flags,
)

__all__ = ["UsedBuffer", "PackedRingDriver"]

Sg = tuple[int, int]  # (guest address, length)


@dataclass(frozen=True)
class UsedBuffer:
    """A buffer the driver got back: id, used len, the flags it saw and where."""

    id: int
    len: int
    flags: int
    slot: int
    wrap: bool


class PackedRingDriver:
    """Driver view of one packed virtqueue.

    Args:
        mem: host memory the rings live in.
        size: queue size N.
        desc_addr / driver_area / device_area: ring addresses (16/4/4 aligned).
        event_idx: EVENT_IDX negotiated (enables the DESC mode).
        callbacks: start with used-buffer notifications enabled (Linux
            disables them for queues without a callback).
    """

    def __init__(
        self,
        mem: Memory,
        size: int,
        desc_addr: int,
        driver_area: int,
        device_area: int,
        *,
        event_idx: bool = False,
        callbacks: bool = True,
    ) -> None:
        if not 1 <= size <= 32768:
            raise ValueError("packed queue size must be 1..32768")
        if desc_addr % 16 or driver_area % 4 or device_area % 4:
            raise ValueError("misaligned ring area")
        self.mem = mem
        self.size = size
        self.desc_addr = desc_addr
        self.driver_area = driver_area
        self.device_area = device_area
        self.event_idx = event_idx
        self.next_avail = RingPos(0, True)
        self.last_used = RingPos(0, True)
        self.num_free = size
        self.num_added = 0
        self._free_ids: deque[int] = deque(range(size))
        self._chain: dict[int, int] = {}
        mem.write(desc_addr, bytes(DESC_SIZE * size))
        self.event_flags_shadow = EventFlags.ENABLE if callbacks else EventFlags.DISABLE
        mem.write(driver_area, EventSuppress(0, False, self.event_flags_shadow).pack())
        mem.write(device_area, bytes(EVENT_SIZE))

    # -- helpers -------------------------------------------------------------
    def _slot_addr(self, slot: int) -> int:
        return self.desc_addr + DESC_SIZE * slot

    def _write_driver_event_off(self, pos: RingPos) -> None:
        self.mem.write(self.driver_area, pos.off_wrap.to_bytes(2, "little"))

    def _write_driver_event_flags(self) -> None:
        self.mem.write(self.driver_area + 2, int(self.event_flags_shadow).to_bytes(2, "little"))

    @property
    def outstanding(self) -> int:
        """Buffers handed to the device and not returned yet."""
        return len(self._chain)

    # -- adding buffers ------------------------------------------------------
    def _take_id(self, buf_id: Optional[int]) -> int:
        if buf_id is None:
            if not self._free_ids:
                raise ModelUsageError("no free buffer id")
            return self._free_ids.popleft()
        if buf_id in self._chain:
            raise ModelUsageError(f"buffer id {buf_id} is still outstanding")
        try:
            self._free_ids.remove(buf_id)
        except ValueError:
            pass
        return buf_id

    def add(
        self,
        out: Sequence[Sg] = (),
        in_: Sequence[Sg] = (),
        *,
        indirect_table: Optional[int] = None,
        buf_id: Optional[int] = None,
    ) -> int:
        """Make a buffer available; returns its id.

        ``out`` are device-readable (addr, len) pairs, ``in_`` device-writable
        ones.  With ``indirect_table`` (a 16-aligned address with room for
        16 bytes per element) the elements go into an indirect table and the
        buffer takes one ring slot.
        """
        total = len(out) + len(in_)
        if total == 0:
            raise ModelUsageError("a buffer needs at least one element")
        elems = [(a, n, 0) for a, n in out] + [(a, n, int(DescFlag.WRITE)) for a, n in in_]
        if indirect_table is not None:
            table = b"".join(PackedDesc(a, n, 0, f).pack() for a, n, f in elems)
            self.mem.write(indirect_table, table)
            elems = [(indirect_table, len(table), int(DescFlag.INDIRECT))]
        need = len(elems)
        if need > self.num_free:
            raise ModelUsageError(f"ring full: need {need} slots, {self.num_free} free")
        bid = self._take_id(buf_id)
        descs = [
            PackedDesc(a, n, bid, f | (DescFlag.NEXT if i + 1 < need else 0))
            for i, (a, n, f) in enumerate(elems)
        ]
        self._publish(descs, bid, fix_wrap_bits=True)
        return bid

    def add_raw(self, descs: Sequence[PackedDesc], *, buf_id: int, fix_wrap_bits: bool = True) -> None:
        """Write ``descs`` at consecutive slots, head flags last (negative tests).

        With ``fix_wrap_bits`` the AVAIL/USED bits are replaced by the correct
        ones for the slot's lap; NEXT/WRITE/INDIRECT, ids, addresses and
        lengths are written as given.  ``buf_id`` is what :meth:`get_used`
        expects back; the buffer occupies ``len(descs)`` slots.
        """
        if len(descs) > self.num_free:
            raise ModelUsageError("ring full")
        self._take_id(buf_id)
        self._publish(list(descs), buf_id, fix_wrap_bits)

    def _publish(self, descs: list[PackedDesc], bid: int, fix_wrap_bits: bool) -> None:
        pos = self.next_avail
        head_slot, head_flags = pos.off, 0
        for i, d in enumerate(descs):
            flags = d.flags
            if fix_wrap_bits:
                flags = (flags & ~(DescFlag.AVAIL | DescFlag.USED)) | avail_flags(pos.wrap)
            raw = PackedDesc(d.addr, d.len, d.id, flags).pack()
            if i == 0:
                head_flags = flags
                self.mem.write(self._slot_addr(pos.off), raw[:14])
            else:
                self.mem.write(self._slot_addr(pos.off), raw)
            pos = pos.advance(1, self.size)
        self.mem.write(self._slot_addr(head_slot) + 14, head_flags.to_bytes(2, "little"))
        self.next_avail = pos
        self.num_free -= len(descs)
        self.num_added += len(descs)
        self._chain[bid] = len(descs)

    # -- kicks ------------------------------------------------------------------
    def read_device_event(self) -> EventSuppress:
        """Snapshot of the Device Event Suppression structure."""
        return EventSuppress.unpack(self.mem.read(self.device_area, EVENT_SIZE))

    def kick_prepare(self) -> bool:
        """True if the device must be notified about the buffers added since the last call."""
        added, self.num_added = self.num_added, 0
        return packed_kick_needed(self.size, self.read_device_event(), self.next_avail, added)

    def notification_data(self, vq_index: int) -> int:
        """32-bit NOTIFICATION_DATA value: vq | next_off << 16 | next_wrap << 31 (§3.4)."""
        return (vq_index & 0xFFFF) | (self.next_avail.off << 16) | (int(self.next_avail.wrap) << 31)

    # -- used buffers -------------------------------------------------------------
    def _used_at(self, pos: RingPos) -> Optional[PackedDesc]:
        d = PackedDesc.unpack(self.mem.read(self._slot_addr(pos.off), DESC_SIZE))
        return d if d.is_used(pos.wrap) else None

    def has_used(self) -> bool:
        """A used descriptor waits at ``last_used``."""
        return self._used_at(self.last_used) is not None

    def get_used(self) -> Optional[UsedBuffer]:
        """Take the next used buffer, or None.

        Raises:
            DeviceBehaviourError: the used id is not an outstanding buffer.
        """
        pos = self.last_used
        d = self._used_at(pos)
        if d is None:
            return None
        if d.id not in self._chain:
            raise DeviceBehaviourError(
                f"used descriptor at slot {pos.off} carries id {d.id}, not outstanding"
            )
        n = self._chain.pop(d.id)
        self._free_ids.appendleft(d.id)  # Linux reuses the last freed id first
        self.num_free += n
        self.last_used = pos.advance(n, self.size)
        if self.event_flags_shadow == EventFlags.DESC:
            self._write_driver_event_off(self.last_used)
        return UsedBuffer(d.id, d.len, d.flags, pos.off, pos.wrap)

    def drain(self) -> list[UsedBuffer]:
        """Every used buffer available now."""
        out = []
        while (u := self.get_used()) is not None:
            out.append(u)
        return out

    # -- used-buffer notifications (driver event suppression) -----------------------
    def disable_cb(self) -> None:
        """Ask for no used-buffer notifications (flags = DISABLE)."""
        if self.event_flags_shadow != EventFlags.DISABLE:
            self.event_flags_shadow = EventFlags.DISABLE
            self._write_driver_event_flags()

    def _arm(self) -> None:
        if self.event_flags_shadow == EventFlags.DISABLE:
            self.event_flags_shadow = EventFlags.DESC if self.event_idx else EventFlags.ENABLE
            self._write_driver_event_flags()

    def enable_cb_prepare(self) -> RingPos:
        """Linux ``virtqueue_enable_cb_prepare``: arm at ``last_used``; returns it for :meth:`poll`."""
        if self.event_idx:
            self._write_driver_event_off(self.last_used)
        self._arm()
        return self.last_used

    def poll(self, last: RingPos) -> bool:
        """True if a used buffer is at ``last`` (Linux ``virtqueue_poll``)."""
        return self._used_at(last) is not None

    def enable_cb(self) -> bool:
        """Re-enable notifications; True if nothing is pending (Linux ``virtqueue_enable_cb``)."""
        return not self.poll(self.enable_cb_prepare())

    def enable_cb_delayed(self) -> bool:
        """Linux ``virtqueue_enable_cb_delayed``: DESC armed ~3/4 of outstanding ahead.

        Returns False if a used buffer is already pending at ``last_used``.
        """
        if self.event_idx:
            bufs = (self.size - self.num_free) * 3 // 4
            self._write_driver_event_off(self.last_used.advance(bufs, self.size))
        self._arm()
        return not self.has_used()

    def set_driver_event(self, event: EventSuppress) -> None:
        """Write the Driver Event Suppression structure directly (tests)."""
        self.event_flags_shadow = EventFlags(event.mode)
        self.mem.write(self.driver_area, event.pack())
