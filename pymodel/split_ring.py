"""Split virtqueue: layout and device side (virtio.md §5).

Layout: descriptor table ``{le64 addr; le32 len; le16 flags; le16 next}``;
avail ring ``flags, idx, ring[N], used_event``; used ring ``flags, idx,
{le32 id; le32 len}[N], avail_event``.  Indices are free-running u16.

Malformed input -> :class:`~pymodel.errors.DeviceNeedsReset`:

======================================================  ==========================
driver error                                            reason starts with
======================================================  ==========================
avail ``idx`` more than N ahead of the device (QEMU)    ``avail idx``
head index >= N                                         ``head out of range``
``next`` >= N (or >= table length in an indirect table)  ``next out of range``
chain visits more than N descriptors (loop)             ``chain too long``
chain longer than ``max_chain``                         ``chain too long``
readable descriptor after a writable one                ``readable after writable``
INDIRECT without INDIRECT_DESC negotiated               ``indirect not negotiated``
INDIRECT together with NEXT                             ``indirect with NEXT``
INDIRECT on a non-head descriptor (as packed, §4.3)     ``indirect in chain``
indirect ``len`` 0 or not a multiple of 16              ``indirect table length``
INDIRECT inside an indirect table                       ``nested indirect``
======================================================  ==========================

Zero-length descriptors are kept as zero-length segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from typing import Optional, Sequence

from .buffers import Buffer, Segment
from .errors import DeviceNeedsReset, ModelUsageError
from .event_suppression import NotifyDecision, SplitEvent, split_decision
from .memory import Memory, rd16, wr16

__all__ = [
    "SplitDescFlag",
    "SplitDesc",
    "AVAIL_F_NO_INTERRUPT",
    "USED_F_NO_NOTIFY",
    "SplitLayout",
    "SplitUsedElem",
    "SplitRingDevice",
]

AVAIL_F_NO_INTERRUPT = 1
USED_F_NO_NOTIFY = 1
DESC_SIZE = 16


class SplitDescFlag(IntFlag):
    """Split descriptor flags (§5)."""

    NEXT = 1
    WRITE = 2
    INDIRECT = 4


@dataclass(frozen=True)
class SplitDesc:
    """``virtq_desc``: addr u64 @0, len u32 @8, flags u16 @12, next u16 @14."""

    addr: int = 0
    len: int = 0
    flags: int = 0
    next: int = 0

    def pack(self) -> bytes:
        """16 little-endian bytes."""
        return (
            self.addr.to_bytes(8, "little")
            + self.len.to_bytes(4, "little")
            + self.flags.to_bytes(2, "little")
            + self.next.to_bytes(2, "little")
        )

    @classmethod
    def unpack(cls, raw: bytes) -> "SplitDesc":
        """Decode 16 bytes."""
        return cls(
            int.from_bytes(raw[0:8], "little"),
            int.from_bytes(raw[8:12], "little"),
            int.from_bytes(raw[12:14], "little"),
            int.from_bytes(raw[14:16], "little"),
        )

    def has(self, flag: SplitDescFlag) -> bool:
        """True if ``flag`` is set."""
        return bool(self.flags & flag)


@dataclass(frozen=True)
class SplitLayout:
    """Addresses of the three split-ring areas and the fields inside them."""

    size: int
    desc: int
    avail: int
    used: int

    def desc_addr(self, i: int) -> int:
        """Address of descriptor ``i``."""
        return self.desc + DESC_SIZE * i

    @property
    def avail_flags(self) -> int:
        """``avail.flags``."""
        return self.avail

    @property
    def avail_idx(self) -> int:
        """``avail.idx``."""
        return self.avail + 2

    def avail_ring(self, i: int) -> int:
        """``avail.ring[i mod N]``."""
        return self.avail + 4 + 2 * (i % self.size)

    @property
    def used_event(self) -> int:
        """``used_event`` (EVENT_IDX), at byte 4 + 2N of the avail ring."""
        return self.avail + 4 + 2 * self.size

    @property
    def used_flags(self) -> int:
        """``used.flags``."""
        return self.used

    @property
    def used_idx(self) -> int:
        """``used.idx``."""
        return self.used + 2

    def used_ring(self, i: int) -> int:
        """``used.ring[i mod N]``."""
        return self.used + 4 + 8 * (i % self.size)

    @property
    def avail_event(self) -> int:
        """``avail_event`` (EVENT_IDX), at byte 4 + 8N of the used ring."""
        return self.used + 4 + 8 * self.size


@dataclass(frozen=True)
class SplitUsedElem:
    """A used-ring entry as the device wrote it."""

    index: int  # free-running used index the entry was written at
    id: int
    len: int


class SplitRingDevice:
    """Device view of one split virtqueue.

    Args are as for :class:`~pymodel.packed_ring.PackedRingDevice`; ``size``
    must be a power of 2.
    """

    def __init__(
        self,
        mem: Memory,
        size: int,
        desc_addr: int,
        avail_addr: int,
        used_addr: int,
        *,
        indirect_desc: bool = False,
        in_order: bool = False,
        event_idx: bool = False,
        max_chain: Optional[int] = None,
        queue: Optional[int] = None,
    ) -> None:
        if not 1 <= size <= 32768 or size & (size - 1):
            raise ValueError("split queue size must be a power of 2 <= 32768")
        self.mem = mem
        self.layout = SplitLayout(size, desc_addr, avail_addr, used_addr)
        self.size = size
        self.indirect_desc = indirect_desc
        self.in_order = in_order
        self.event_idx = event_idx
        self.max_chain = max_chain
        self.queue = queue
        self.reset()

    def reset(self) -> None:
        """Queue reset: all indices 0."""
        self.last_avail = 0
        self.used_idx = 0
        self.last_eval = 0
        self.popped = 0
        self.completed = 0

    def _fail(self, reason: str) -> DeviceNeedsReset:
        return DeviceNeedsReset(reason, self.queue)

    def _desc(self, i: int) -> SplitDesc:
        return SplitDesc.unpack(self.mem.read(self.layout.desc_addr(i), DESC_SIZE))

    # -- available side ---------------------------------------------------------
    def avail_pending(self) -> int:
        """Number of heads the driver has published and the device not taken."""
        idx = rd16(self.mem, self.layout.avail_idx)
        n = (idx - self.last_avail) & 0xFFFF
        if n > self.size:
            raise self._fail(f"avail idx moved from {self.last_avail} to {idx}")
        return n

    def pop(self) -> Optional[Buffer]:
        """Take the next available buffer, or None."""
        if self.avail_pending() == 0:
            return None
        head = rd16(self.mem, self.layout.avail_ring(self.last_avail))
        if head >= self.size:
            raise self._fail(f"head out of range ({head} >= {self.size})")
        limit = self.size if self.max_chain is None else min(self.size, self.max_chain)
        segs: list[Segment] = []
        seen_writable = False
        indirect = False
        table: Optional[Segment] = None
        i = head
        n = 0
        while True:
            n += 1
            d = self._desc(i)
            if d.has(SplitDescFlag.INDIRECT):
                if not self.indirect_desc:
                    raise self._fail(f"indirect not negotiated (desc {i})")
                if d.has(SplitDescFlag.NEXT):
                    raise self._fail(f"indirect with NEXT (desc {i})")
                if n > 1:
                    raise self._fail(f"indirect in chain (desc {i})")
                segs.extend(self._walk_indirect(d, i))
                indirect = True
                table = Segment(d.addr, d.len, False)
                break
            writable = d.has(SplitDescFlag.WRITE)
            if seen_writable and not writable:
                raise self._fail(f"readable after writable (desc {i})")
            seen_writable |= writable
            segs.append(Segment(d.addr, d.len, writable))
            if not d.has(SplitDescFlag.NEXT):
                break
            if d.next >= self.size:
                raise self._fail(f"next out of range ({d.next} from desc {i})")
            if n >= limit:
                raise self._fail(f"chain too long (more than {limit} descriptors from head {head})")
            i = d.next
        buf = Buffer(
            id=head,
            segments=tuple(segs),
            ndescs=n,
            head=head,
            indirect=indirect,
            avail_index=self.popped,
            table=table,
        )
        self.last_avail = (self.last_avail + 1) & 0xFFFF
        self.popped += 1
        return buf

    def _walk_indirect(self, d: SplitDesc, at: int) -> list[Segment]:
        if d.len == 0 or d.len % DESC_SIZE:
            raise self._fail(f"indirect table length {d.len} (desc {at})")
        count = d.len // DESC_SIZE
        raw = self.mem.read(d.addr, d.len)
        table = [SplitDesc.unpack(raw[16 * k : 16 * (k + 1)]) for k in range(count)]
        limit = count if self.max_chain is None else min(count, self.max_chain)
        segs: list[Segment] = []
        seen_writable = False
        k = 0
        n = 0
        while True:
            n += 1
            e = table[k]
            if e.has(SplitDescFlag.INDIRECT):
                raise self._fail(f"nested indirect (desc {at}, entry {k})")
            writable = e.has(SplitDescFlag.WRITE)
            if seen_writable and not writable:
                raise self._fail(f"readable after writable (desc {at}, indirect entry {k})")
            seen_writable |= writable
            segs.append(Segment(e.addr, e.len, writable))
            if not e.has(SplitDescFlag.NEXT):
                return segs
            if e.next >= count:
                raise self._fail(f"next out of range ({e.next} in indirect table of {count})")
            if n >= limit:
                raise self._fail(f"chain too long (indirect table at desc {at})")
            k = e.next

    def pop_all(self) -> list[Buffer]:
        """Take every buffer available now."""
        out = []
        while (b := self.pop()) is not None:
            out.append(b)
        return out

    # -- used side -------------------------------------------------------------------
    def _check_order(self, buf: Buffer) -> None:
        if self.in_order and buf.avail_index != self.completed:
            raise ModelUsageError(
                f"IN_ORDER: buffer #{buf.avail_index} used before #{self.completed}"
            )
        self.completed += 1

    def push_used_batch(self, items: Sequence[tuple[Buffer, int]]) -> list[SplitUsedElem]:
        """Write used entries, then bump ``used.idx`` once (§5)."""
        out = []
        idx = self.used_idx
        for buf, written in items:
            self._check_order(buf)
            a = self.layout.used_ring(idx)
            self.mem.write(a, buf.id.to_bytes(4, "little") + written.to_bytes(4, "little"))
            out.append(SplitUsedElem(idx, buf.id, written))
            idx = (idx + 1) & 0xFFFF
        self.used_idx = idx
        wr16(self.mem, self.layout.used_idx, idx)
        return out

    def push_used(self, buf: Buffer, written: int) -> SplitUsedElem:
        """Mark one buffer used."""
        return self.push_used_batch([(buf, written)])[0]

    def push_used_in_order(self, bufs: Sequence[Buffer], written_last: int) -> SplitUsedElem:
        """IN_ORDER batch: one entry with the last head id, ``idx`` += batch size (§5)."""
        if not self.in_order:
            raise ModelUsageError("in-order batching needs IN_ORDER")
        if not bufs:
            raise ModelUsageError("empty batch")
        for b in bufs:
            self._check_order(b)
        idx = (self.used_idx + len(bufs) - 1) & 0xFFFF
        a = self.layout.used_ring(idx)
        self.mem.write(a, bufs[-1].id.to_bytes(4, "little") + written_last.to_bytes(4, "little"))
        self.used_idx = (self.used_idx + len(bufs)) & 0xFFFF
        wr16(self.mem, self.layout.used_idx, self.used_idx)
        return SplitUsedElem(idx, bufs[-1].id, written_last)

    # -- notifications ------------------------------------------------------------------
    def read_driver_event(self) -> SplitEvent:
        """Avail ``flags`` and ``used_event`` as the device reads them."""
        return SplitEvent(rd16(self.mem, self.layout.avail_flags), rd16(self.mem, self.layout.used_event))

    def notify_decision(self) -> NotifyDecision:
        """Evaluate §5 for the used entries since the previous evaluation."""
        ev = self.read_driver_event()
        d = split_decision(ev.avail_flags, ev.used_event, self.last_eval, self.used_idx, self.event_idx)
        self.last_eval = self.used_idx
        return d

    def should_notify(self) -> bool:
        """:meth:`notify_decision` == REQUIRED."""
        return self.notify_decision() == NotifyDecision.REQUIRED

    def set_kick_suppression(self, no_notify: bool, avail_event: Optional[int] = None) -> None:
        """Write ``used.flags`` NO_NOTIFY and ``avail_event`` (default: next avail index)."""
        wr16(self.mem, self.layout.used_flags, USED_F_NO_NOTIFY if no_notify else 0)
        wr16(self.mem, self.layout.avail_event, self.last_avail if avail_event is None else avail_event)
