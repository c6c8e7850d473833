"""Packed virtqueue, device side (virtio.md §4).

:class:`PackedRingDevice` finds available buffers with the device's avail
wrap counter, walks chains (also across the end of the ring) and indirect
tables, and writes one used descriptor per buffer at the device's used
position, advancing it by the buffer's chain length (§4.3).  After each
batch :meth:`PackedRingDevice.notify_decision` applies §4.4.

Malformed input -> :class:`~pymodel.errors.DeviceNeedsReset` (the spec gives
no device outcome for any of these, so DEVICE_NEEDS_RESET applies):

==========================================  ====================================
driver error                                reason starts with
==========================================  ====================================
NEXT chain longer than the queue size       ``chain too long``
chain longer than ``max_chain``             ``chain too long``
chain descriptor not marked available       ``chain descriptor not available``
(AVAIL/USED must be right in every one,
§4.2; only with ``strict_chain_flags``)
readable descriptor after a writable one    ``readable after writable``
INDIRECT without INDIRECT_DESC negotiated   ``indirect not negotiated``
INDIRECT together with NEXT                 ``indirect with NEXT``
INDIRECT descriptor inside a NEXT chain     ``indirect in chain``
indirect ``len`` 0 or not a multiple of 16  ``indirect table length``
INDIRECT flag inside an indirect table      ``nested indirect``
indirect table longer than ``max_chain``    ``chain too long``
==========================================  ====================================

Tolerated (documented outcome, no reset): zero-length descriptors (kept as
zero-length segments), WRITE on the INDIRECT descriptor (ignored, §4.3),
NEXT inside an indirect table (ignored, entries are consumed in sequence,
§4.3), chains whose descriptor ids disagree (the id of the last descriptor
is used, a warning is recorded on the Buffer, §10 #5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .buffers import Buffer, Segment
from .errors import DeviceNeedsReset, ModelUsageError
from .event_suppression import NotifyDecision, packed_decision
from .memory import Memory
from .packed_layout import (
    DESC_SIZE,
    EVENT_SIZE,
    DescFlag,
    EventFlags,
    EventSuppress,
    PackedDesc,
    RingPos,
    used_flags,
)

__all__ = ["UsedElem", "PackedRingDevice"]


@dataclass(frozen=True)
class UsedElem:
    """A used descriptor as the device wrote it (what a scoreboard expects)."""

    slot: int
    wrap: bool
    id: int
    len: int
    flags: int
    skip: int  # descriptors the used position advanced by

    def desc(self) -> PackedDesc:
        """The used descriptor (addr is unused and written as 0 by the model)."""
        return PackedDesc(0, self.len, self.id, self.flags)


class PackedRingDevice:
    """Device view of one packed virtqueue.

    Args:
        mem: guest memory.
        size: queue size N (1..32768, any value).
        desc_addr / driver_area / device_area: ``queue_desc``,
            ``queue_driver`` (driver event suppression) and ``queue_device``
            (device event suppression).
        indirect_desc / in_order / event_idx: negotiated features.
        max_chain: device limit on descriptors per buffer (None = N).
        strict_chain_flags: require AVAIL/USED to be correct in every chain
            descriptor, not only the head (§4.2).
        queue: virtqueue index, for error messages.
    """

    def __init__(
        self,
        mem: Memory,
        size: int,
        desc_addr: int,
        driver_area: int,
        device_area: int,
        *,
        indirect_desc: bool = False,
        in_order: bool = False,
        event_idx: bool = False,
        max_chain: Optional[int] = None,
        strict_chain_flags: bool = True,
        queue: Optional[int] = None,
    ) -> None:
        if not 1 <= size <= 32768:
            raise ValueError("packed queue size must be 1..32768")
        self.mem = mem
        self.size = size
        self.desc_addr = desc_addr
        self.driver_area = driver_area
        self.device_area = device_area
        self.indirect_desc = indirect_desc
        self.in_order = in_order
        self.event_idx = event_idx
        self.max_chain = max_chain
        self.strict_chain_flags = strict_chain_flags
        self.queue = queue
        self.reset()

    # -- state -------------------------------------------------------------
    def reset(self) -> None:
        """Queue reset: offsets 0, wrap counters 1 (§1.3)."""
        self.avail = RingPos(0, True)
        self.used = RingPos(0, True)
        self.last_eval = RingPos(0, True)
        self.popped = 0
        self.completed = 0

    def _fail(self, reason: str, readable: tuple[tuple[int, int], ...] = ()) -> DeviceNeedsReset:
        return DeviceNeedsReset(reason, self.queue, readable)

    def read_desc(self, slot: int) -> PackedDesc:
        """Descriptor at ring slot ``slot``."""
        return PackedDesc.unpack(self.mem.read(self.desc_addr + DESC_SIZE * slot, DESC_SIZE))

    # -- available side ------------------------------------------------------
    def has_available(self) -> bool:
        """True if the slot at the avail position holds an available head."""
        return self.read_desc(self.avail.off).is_avail(self.avail.wrap)

    def pop(self) -> Optional[Buffer]:
        """Take the next available buffer, or None if the next slot is not available.

        Raises:
            DeviceNeedsReset: the chain is malformed (see module docstring).
        """
        start = self.avail
        d = self.read_desc(start.off)
        if not d.is_avail(start.wrap):
            return None
        limit = self.size if self.max_chain is None else min(self.size, self.max_chain)
        segs: list[Segment] = []
        ids: list[int] = []
        warnings: list[str] = []
        pos = start
        n = 0
        seen_writable = False
        indirect = False
        table: Optional[Segment] = None
        while True:
            n += 1
            ids.append(d.id)
            if d.has(DescFlag.INDIRECT):
                if not self.indirect_desc:
                    raise self._fail(f"indirect not negotiated (slot {pos.off})")
                if n > 1:
                    raise self._fail(f"indirect in chain (slot {pos.off})")
                if d.has(DescFlag.NEXT):
                    raise self._fail(f"indirect with NEXT (slot {pos.off})")
                segs.extend(self._walk_indirect(d, pos.off))
                indirect = True
                table = Segment(d.addr, d.len, False)
                break
            writable = d.has(DescFlag.WRITE)
            if seen_writable and not writable:
                raise self._fail(f"readable after writable (slot {pos.off})")
            seen_writable |= writable
            segs.append(Segment(d.addr, d.len, writable))
            if not d.has(DescFlag.NEXT):
                break
            if n >= limit:
                raise self._fail(f"chain too long (more than {limit} descriptors from slot {start.off})")
            pos = pos.advance(1, self.size)
            d = self.read_desc(pos.off)
            if self.strict_chain_flags and not d.is_avail(pos.wrap):
                raise self._fail(
                    f"chain descriptor not available (slot {pos.off}, flags {d.flags:#06x})"
                )
        if len(set(ids)) > 1:
            warnings.append(f"chain ids disagree {ids}; using the last (§10 #5)")
        buf = Buffer(
            id=ids[-1],
            segments=tuple(segs),
            ndescs=n,
            head=start.off,
            head_wrap=start.wrap,
            indirect=indirect,
            avail_index=self.popped,
            warnings=tuple(warnings),
            table=table,
        )
        self.avail = start.advance(n, self.size)
        self.popped += 1
        return buf

    def _walk_indirect(self, d: PackedDesc, slot: int) -> list[Segment]:
        if d.len == 0 or d.len % DESC_SIZE:
            raise self._fail(f"indirect table length {d.len} (slot {slot})")
        count = d.len // DESC_SIZE
        if self.max_chain is not None and count > self.max_chain:
            raise self._fail(f"chain too long (indirect table of {count} at slot {slot})")
        raw = self.mem.read(d.addr, d.len)
        segs: list[Segment] = []
        seen_writable = False
        for i in range(count):
            e = PackedDesc.unpack(raw[DESC_SIZE * i : DESC_SIZE * (i + 1)])
            if e.has(DescFlag.INDIRECT):
                raise self._fail(f"nested indirect (slot {slot}, entry {i})", ((d.addr, d.len),))
            writable = e.has(DescFlag.WRITE)
            if seen_writable and not writable:
                raise self._fail(f"readable after writable (slot {slot}, indirect entry {i})", ((d.addr, d.len),))
            seen_writable |= writable
            segs.append(Segment(e.addr, e.len, writable))
        return segs

    def pop_all(self) -> list[Buffer]:
        """Take every buffer available right now."""
        out = []
        while (b := self.pop()) is not None:
            out.append(b)
        return out

    # -- used side -----------------------------------------------------------
    def _write_used(self, slot: int, buf_id: int, length: int, flags: int, flags_now: bool) -> None:
        base = self.desc_addr + DESC_SIZE * slot
        self.mem.write(base + 8, length.to_bytes(4, "little") + buf_id.to_bytes(2, "little"))
        if flags_now:
            self.mem.write(base + 14, flags.to_bytes(2, "little"))

    def _elem(self, buf_id: int, written: int, skip: int) -> UsedElem:
        if not 0 <= written <= 0xFFFF_FFFF:
            raise ModelUsageError("used len out of range")
        flags = used_flags(self.used.wrap) | (DescFlag.WRITE if written > 0 else 0)
        e = UsedElem(self.used.off, self.used.wrap, buf_id, written, flags, skip)
        self.used = self.used.advance(skip, self.size)
        return e

    def _check_order(self, buf: Buffer) -> None:
        if self.in_order and buf.avail_index != self.completed:
            raise ModelUsageError(
                f"IN_ORDER: buffer #{buf.avail_index} used before #{self.completed}"
            )
        self.completed += 1

    def push_used(self, buf: Buffer, written: int) -> UsedElem:
        """Mark one buffer used with ``written`` bytes; id/len first, flags last (§4.3)."""
        return self.push_used_batch([(buf, written)])[0]

    def push_used_batch(self, items: Sequence[tuple[Buffer, int]]) -> list[UsedElem]:
        """Mark several buffers used; the first element's flags are written last (§4.3)."""
        elems = []
        for buf, written in items:
            self._check_order(buf)
            elems.append(self._elem(buf.id, written, buf.ndescs))
        for i, e in enumerate(elems):
            self._write_used(e.slot, e.id, e.len, e.flags, flags_now=i > 0)
        if elems:
            first = elems[0]
            self._write_used(first.slot, first.id, first.len, first.flags, flags_now=True)
        return elems

    def push_used_in_order(self, bufs: Sequence[Buffer], written_last: int) -> UsedElem:
        """IN_ORDER batch: one used descriptor with the last buffer's id (§4.3)."""
        if not self.in_order:
            raise ModelUsageError("in-order batching needs IN_ORDER")
        if not bufs:
            raise ModelUsageError("empty batch")
        for b in bufs:
            self._check_order(b)
        e = self._elem(bufs[-1].id, written_last, sum(b.ndescs for b in bufs))
        self._write_used(e.slot, e.id, e.len, e.flags, flags_now=True)
        return e

    # -- event suppression ------------------------------------------------------
    def read_driver_event(self) -> EventSuppress:
        """Snapshot of the Driver Event Suppression structure."""
        return EventSuppress.unpack(self.mem.read(self.driver_area, EVENT_SIZE))

    def notify_decision(self) -> NotifyDecision:
        """Evaluate §4.4 for the used writes since the previous evaluation."""
        d = packed_decision(
            self.size, self.read_driver_event(), self.last_eval, self.used, self.event_idx
        )
        self.last_eval = self.used
        return d

    def should_notify(self) -> bool:
        """:meth:`notify_decision` == REQUIRED."""
        return self.notify_decision() == NotifyDecision.REQUIRED

    def set_kick_suppression(self, flags: EventFlags, at: Optional[RingPos] = None) -> None:
        """Write the Device Event Suppression structure (gates driver kicks).

        ``at`` defaults to the device's next avail position (§4.4).
        """
        pos = self.avail if at is None else at
        self.mem.write(self.device_area, EventSuppress.at(pos, flags).pack())
