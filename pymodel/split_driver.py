"""Split virtqueue, driver side, modelled on Linux ``virtio_ring.c`` (split half).

Descriptors come from a free list; the head index is the buffer id.  The
avail ring entry is written before ``avail.idx`` (§5).  Notification
suppression follows Linux: ``used_event`` re-armed at ``last_used`` on each
:meth:`get_used` unless callbacks are disabled, ``disable_cb`` writes
NO_INTERRUPT (or, with EVENT_IDX, leaves the flags alone), and
``enable_cb_delayed`` arms ``used_event`` 3/4 of the outstanding buffers ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .errors import DeviceBehaviourError, ModelUsageError
from .event_suppression import split_kick_needed
from .memory import Memory, rd16, rd32, wr16
from .split_ring import AVAIL_F_NO_INTERRUPT, SplitDesc, SplitDescFlag, SplitLayout

__all__ = ["SplitUsed", "SplitRingDriver"]

Sg = tuple[int, int]


@dataclass(frozen=True)
class SplitUsed:
    """A buffer returned by the device: head id and used len."""

    id: int
    len: int
    index: int


class SplitRingDriver:
    """Driver view of one split virtqueue."""

    def __init__(
        self,
        mem: Memory,
        size: int,
        desc_addr: int,
        avail_addr: int,
        used_addr: int,
        *,
        event_idx: bool = False,
        callbacks: bool = True,
    ) -> None:
        if not 1 <= size <= 32768 or size & (size - 1):
            raise ValueError("split queue size must be a power of 2 <= 32768")
        if desc_addr % 16 or avail_addr % 2 or used_addr % 4:
            raise ValueError("misaligned ring area")
        self.mem = mem
        self.size = size
        self.layout = SplitLayout(size, desc_addr, avail_addr, used_addr)
        self.event_idx = event_idx
        self.avail_idx = 0
        self.last_used = 0
        self.num_added = 0
        self.num_free = size
        self.free_head = 0
        self._next = [(i + 1) % size for i in range(size)]
        self._chain: dict[int, list[int]] = {}
        self.avail_flags_shadow = 0 if callbacks else AVAIL_F_NO_INTERRUPT
        mem.write(desc_addr, bytes(16 * size))
        mem.write(avail_addr, bytes(6 + 2 * size))
        mem.write(used_addr, bytes(6 + 8 * size))
        if not event_idx:
            wr16(mem, self.layout.avail_flags, self.avail_flags_shadow)

    @property
    def outstanding(self) -> int:
        """Buffers handed to the device and not returned yet."""
        return len(self._chain)

    # -- adding --------------------------------------------------------------------
    def _alloc(self, n: int) -> list[int]:
        if n > self.num_free:
            raise ModelUsageError(f"ring full: need {n} descriptors, {self.num_free} free")
        out = []
        i = self.free_head
        for _ in range(n):
            out.append(i)
            i = self._next[i]
        self.free_head = i
        self.num_free -= n
        return out

    def add(
        self, out: Sequence[Sg] = (), in_: Sequence[Sg] = (), *, indirect_table: Optional[int] = None
    ) -> int:
        """Make a buffer available; returns its head index (the id)."""
        elems = [(a, n, 0) for a, n in out] + [(a, n, int(SplitDescFlag.WRITE)) for a, n in in_]
        if not elems:
            raise ModelUsageError("a buffer needs at least one element")
        if indirect_table is not None:
            table = b"".join(
                SplitDesc(a, n, f | (SplitDescFlag.NEXT if k + 1 < len(elems) else 0), k + 1).pack()
                for k, (a, n, f) in enumerate(elems)
            )
            self.mem.write(indirect_table, table)
            elems = [(indirect_table, len(table), int(SplitDescFlag.INDIRECT))]
        idxs = self._alloc(len(elems))
        for k, ((a, n, f), i) in enumerate(zip(elems, idxs)):
            last = k + 1 == len(idxs)
            nxt = idxs[k + 1] if not last else self._next[i]
            flags = f | (0 if last else SplitDescFlag.NEXT)
            self.mem.write(self.layout.desc_addr(i), SplitDesc(a, n, flags, nxt).pack())
        return self._publish(idxs)

    def add_raw(self, descs: Sequence[SplitDesc], indices: Sequence[int]) -> int:
        """Write ``descs`` at table ``indices`` as given and publish ``indices[0]`` (negative tests).

        The descriptors are taken off the free list if they are on it; the
        ``next`` fields are written exactly as given.
        """
        if len(descs) != len(indices):
            raise ModelUsageError("one index per descriptor")
        for d, i in zip(descs, indices):
            self.mem.write(self.layout.desc_addr(i), d.pack())
        self.num_free -= len(indices)
        return self._publish(list(indices))

    def _publish(self, idxs: list[int]) -> int:
        head = idxs[0]
        self._chain[head] = idxs
        wr16(self.mem, self.layout.avail_ring(self.avail_idx), head)
        self.avail_idx = (self.avail_idx + 1) & 0xFFFF
        wr16(self.mem, self.layout.avail_idx, self.avail_idx)
        self.num_added += 1
        return head

    # -- kicks -----------------------------------------------------------------------------
    def kick_prepare(self) -> bool:
        """True if the device must be notified (Linux ``virtqueue_kick_prepare_split``)."""
        new = self.avail_idx
        old = (new - self.num_added) & 0xFFFF
        self.num_added = 0
        return split_kick_needed(
            rd16(self.mem, self.layout.used_flags),
            rd16(self.mem, self.layout.avail_event),
            old,
            new,
            self.event_idx,
        )

    # -- used --------------------------------------------------------------------------------
    def has_used(self) -> bool:
        """``used.idx`` moved past ``last_used``."""
        return rd16(self.mem, self.layout.used_idx) != self.last_used

    def get_used(self) -> Optional[SplitUsed]:
        """Take the next used buffer, or None.

        Raises:
            DeviceBehaviourError: the used id is not an outstanding head.
        """
        if not self.has_used():
            return None
        a = self.layout.used_ring(self.last_used)
        bid, length = rd32(self.mem, a), rd32(self.mem, a + 4)
        if bid not in self._chain:
            raise DeviceBehaviourError(f"used entry {self.last_used} carries id {bid}, not outstanding")
        idxs = self._chain.pop(bid)
        self._next[idxs[-1]] = self.free_head
        self.free_head = idxs[0]
        self.num_free += len(idxs)
        u = SplitUsed(bid, length, self.last_used)
        self.last_used = (self.last_used + 1) & 0xFFFF
        if not self.avail_flags_shadow & AVAIL_F_NO_INTERRUPT:
            wr16(self.mem, self.layout.used_event, self.last_used)
        return u

    def drain(self) -> list[SplitUsed]:
        """Every used buffer available now."""
        out = []
        while (u := self.get_used()) is not None:
            out.append(u)
        return out

    # -- callbacks --------------------------------------------------------------------------
    def disable_cb(self) -> None:
        """Linux ``virtqueue_disable_cb_split``."""
        if not self.avail_flags_shadow & AVAIL_F_NO_INTERRUPT:
            self.avail_flags_shadow |= AVAIL_F_NO_INTERRUPT
            if self.event_idx:
                wr16(self.mem, self.layout.used_event, 0)
            else:
                wr16(self.mem, self.layout.avail_flags, self.avail_flags_shadow)

    def _clear_no_interrupt(self) -> None:
        if self.avail_flags_shadow & AVAIL_F_NO_INTERRUPT:
            self.avail_flags_shadow &= ~AVAIL_F_NO_INTERRUPT
            if not self.event_idx:
                wr16(self.mem, self.layout.avail_flags, self.avail_flags_shadow)

    def enable_cb_prepare(self) -> int:
        """Linux ``virtqueue_enable_cb_prepare_split``; returns ``last_used`` for :meth:`poll`."""
        self._clear_no_interrupt()
        wr16(self.mem, self.layout.used_event, self.last_used)
        return self.last_used

    def poll(self, last: int) -> bool:
        """True if ``used.idx`` != ``last``."""
        return rd16(self.mem, self.layout.used_idx) != last

    def enable_cb(self) -> bool:
        """Re-enable; True if nothing is pending."""
        return not self.poll(self.enable_cb_prepare())

    def enable_cb_delayed(self) -> bool:
        """Linux ``virtqueue_enable_cb_delayed_split``; False if more than 3/4 already used."""
        self._clear_no_interrupt()
        bufs = ((self.avail_idx - self.last_used) & 0xFFFF) * 3 // 4
        wr16(self.mem, self.layout.used_event, self.last_used + bufs)
        return not ((rd16(self.mem, self.layout.used_idx) - self.last_used) & 0xFFFF) > bufs
