"""Used-buffer and available-buffer notification rules (virtio.md §4.4, §5).

Two layers:

* pure decision functions -- what a device must do after a batch of used
  buffers (:func:`packed_decision`, :func:`split_decision`) and when a driver
  must kick (:func:`packed_kick_needed`, :func:`split_kick_needed`);
* checkers (:class:`PackedNotifyChecker`, :class:`SplitNotifyChecker`) that a
  scoreboard feeds with the observed sequence of used writes, event
  suppression reads and notifications.  Each notification is classified as
  REQUIRED or SPURIOUS (spurious is legal, §10 #7); a required notification
  that never comes is reported by :meth:`NotifyChecker.overdue` /
  :meth:`NotifyChecker.unanswered`.

Decision rules (§4.4, §10 #8):

=====================  ===============================================
driver event flags     decision after a batch that moved old -> new
=====================  ===============================================
DISABLE                SUPPRESSED (a notification is legal but SHOULD NOT)
ENABLE                 REQUIRED if new != old
DESC + EVENT_IDX       REQUIRED iff E in [old, new) on the 2N circle
DESC without EVENT_IDX treated as ENABLE
3 (reserved)           treated as ENABLE (Linux / vhost, §10 #8)
DESC, desc_event_off   REQUIRED ("notify conservatively", §4.4)
>= N
=====================  ===============================================

The checker also treats an evaluation that covers more than N positions
(the device failed to "evaluate at least once per N", §4.4) as REQUIRED
unless DISABLE, since the 2N arithmetic is ambiguous there.

Split rings (§5): without EVENT_IDX, avail ``flags`` bit 0 gives SUPPRESSED;
with EVENT_IDX the flags are ignored and ``vring_need_event(used_event, new,
old)`` decides.

How the checker defines a batch: a batch ends whenever the device reads the
driver's event suppression area (packed) or ``used_event``/avail flags
(split); the scoreboard reports that read with the bytes it returned via
``on_evaluate``.  If the device never reads it, :meth:`NotifyChecker.flush`
evaluates the uncovered used writes against the current memory contents.
A requirement is answered by any notification observed after the used
write that triggered it (for ENABLE: after the batch's last used write).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, Optional, TypeVar

from .packed_layout import EventFlags, EventSuppress, RingPos

__all__ = [
    "NotifyDecision",
    "NotificationClass",
    "vring_need_event",
    "packed_need_event",
    "packed_decision",
    "split_decision",
    "packed_kick_needed",
    "split_kick_needed",
    "SplitEvent",
    "Requirement",
    "NotificationVerdict",
    "NotifyChecker",
    "PackedNotifyChecker",
    "SplitNotifyChecker",
]

SPLIT_AVAIL_F_NO_INTERRUPT = 1
SPLIT_USED_F_NO_NOTIFY = 1


class NotifyDecision(Enum):
    """What the device owes the driver after one evaluation."""

    REQUIRED = "required"
    NOT_REQUIRED = "not_required"
    SUPPRESSED = "suppressed"


class NotificationClass(Enum):
    """Classification of an observed notification."""

    REQUIRED = "required"
    SPURIOUS = "spurious"


def vring_need_event(event_idx: int, new_idx: int, old_idx: int) -> bool:
    """Linux/QEMU ``vring_need_event`` in u16 arithmetic (§5)."""
    return ((new_idx - event_idx - 1) & 0xFFFF) < ((new_idx - old_idx) & 0xFFFF)


def packed_need_event(
    size: int, ev_off: int, ev_wrap: bool, old: RingPos, new: RingPos
) -> bool:
    """The 2N-circle DESC rule of §4.4: E in [old, new)."""
    two_n = 2 * size
    e = ev_off + (size if ev_wrap else 0)
    o, n = old.circle(size), new.circle(size)
    return (n - e - 1) % two_n < (n - o) % two_n


def packed_decision(
    size: int, event: EventSuppress, old: RingPos, new: RingPos, event_idx: bool
) -> NotifyDecision:
    """Device decision after the used position moved ``old -> new`` (§4.4)."""
    mode = event.mode
    if mode == EventFlags.DISABLE:
        return NotifyDecision.SUPPRESSED
    if old == new:
        return NotifyDecision.NOT_REQUIRED
    if mode == EventFlags.DESC and event_idx:
        if event.off >= size:
            return NotifyDecision.REQUIRED
        hit = packed_need_event(size, event.off, event.wrap, old, new)
        return NotifyDecision.REQUIRED if hit else NotifyDecision.NOT_REQUIRED
    return NotifyDecision.REQUIRED


def split_decision(
    avail_flags: int, used_event: int, old_idx: int, new_idx: int, event_idx: bool
) -> NotifyDecision:
    """Device decision after used ``idx`` moved ``old_idx -> new_idx`` (§5)."""
    if event_idx:
        if (old_idx & 0xFFFF) == (new_idx & 0xFFFF):
            return NotifyDecision.NOT_REQUIRED
        hit = vring_need_event(used_event, new_idx, old_idx)
        return NotifyDecision.REQUIRED if hit else NotifyDecision.NOT_REQUIRED
    if avail_flags & SPLIT_AVAIL_F_NO_INTERRUPT:
        return NotifyDecision.SUPPRESSED
    if (old_idx & 0xFFFF) == (new_idx & 0xFFFF):
        return NotifyDecision.NOT_REQUIRED
    return NotifyDecision.REQUIRED


def packed_kick_needed(size: int, event: EventSuppress, next_avail: RingPos, num_added: int) -> bool:
    """Driver kick decision, Linux ``virtqueue_kick_prepare_packed`` (§4.4).

    ``event`` is the Device Event Suppression structure, ``next_avail`` the
    driver's next avail position and ``num_added`` the descriptors made
    available since the previous kick decision.
    """
    if event.mode != EventFlags.DESC:
        return event.mode != EventFlags.DISABLE
    e = event.off
    if event.wrap != next_avail.wrap:
        e -= size
    new = next_avail.off
    return vring_need_event(e & 0xFFFF, new, (new - num_added) & 0xFFFF)


def split_kick_needed(
    used_flags: int, avail_event: int, old_idx: int, new_idx: int, event_idx: bool
) -> bool:
    """Driver kick decision for split rings (mirror of :func:`split_decision`)."""
    if event_idx:
        return vring_need_event(avail_event, new_idx, old_idx)
    return not used_flags & SPLIT_USED_F_NO_NOTIFY


@dataclass(frozen=True)
class SplitEvent:
    """What a split-ring device reads before deciding: avail flags and used_event."""

    avail_flags: int
    used_event: int


@dataclass(frozen=True)
class Requirement:
    """A notification the device owes.

    Attributes:
        used_time: time the used write that created the obligation landed.
        eval_time: time of the evaluation that found it.
        position: absolute used position (descriptors / used entries since
            the queue was enabled) the driver must be told about.
        reason: the rule that applied, for messages.
    """

    used_time: int
    eval_time: int
    position: int
    reason: str


@dataclass(frozen=True)
class NotificationVerdict:
    """How one observed notification was classified."""

    kind: NotificationClass
    time: int
    answered: Optional[Requirement] = None
    note: str = ""


_S = TypeVar("_S")


@dataclass
class NotifyChecker(Generic[_S]):
    """Shared bookkeeping of the packed and split notification checkers.

    Positions are absolute (never wrap) so the 2N / u16 arithmetic of the
    rules is applied only inside :meth:`_decide`.
    """

    size: int
    event_idx: bool
    used_abs: int = 0
    eval_abs: int = 0
    covered_abs: int = 0
    outstanding: Optional[Requirement] = None
    verdicts: list[NotificationVerdict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _writes: list[tuple[int, int]] = field(default_factory=list)  # (abs after, time)
    _last_snapshot: Optional[_S] = None

    @property
    def last_snapshot(self) -> Optional[_S]:
        """What the device read at its latest evaluation (None before the first)."""
        return self._last_snapshot

    @property
    def all_evaluated(self) -> bool:
        """Every used write so far was followed by an evaluation."""
        return self.used_abs == self.eval_abs

    # -- feeding -----------------------------------------------------------
    def on_used(self, count: int, time: int) -> None:
        """A used write became visible, advancing the used position by ``count``.

        Packed: ``count`` = descriptors the used element skips (chain length,
        1 for indirect, the batch total for an in-order batch).  Split: the
        amount the used ``idx`` moved.
        """
        if count <= 0:
            raise ValueError("a used write advances by at least 1")
        self.used_abs += count
        self._writes.append((self.used_abs, time))

    def on_evaluate(self, snapshot: _S, time: int) -> NotifyDecision:
        """The device read the driver's suppression state (``snapshot``)."""
        self._last_snapshot = snapshot
        old, new = self.eval_abs, self.used_abs
        if new - old > self.size:
            self.warnings.append(
                f"t={time}: {new - old} positions used between evaluations (> N={self.size})"
            )
        decision, position, reason = self._decide(snapshot, old, new)
        if new - old > self.size and decision == NotifyDecision.NOT_REQUIRED:
            decision, position, reason = (
                NotifyDecision.REQUIRED,
                new,
                "more than N used positions since the previous evaluation",
            )
        if decision == NotifyDecision.REQUIRED:
            used_time = next((t for a, t in self._writes if a >= position), time)
            req = Requirement(used_time, time, position, reason)
            if self.covered_abs < position and self.outstanding is None:
                self.outstanding = req
        self.eval_abs = new
        self._writes = [(a, t) for a, t in self._writes if a > new]
        return decision

    def on_notification(self, time: int) -> NotificationVerdict:
        """A notification for this queue was observed."""
        self.covered_abs = self.used_abs
        if self.outstanding is not None:
            v = NotificationVerdict(NotificationClass.REQUIRED, time, self.outstanding)
            self.outstanding = None
        else:
            note = "no used buffer owed a notification"
            if self.used_abs == self.eval_abs and self._last_snapshot is not None:
                note = f"last evaluation: {self._describe(self._last_snapshot)}"
            v = NotificationVerdict(NotificationClass.SPURIOUS, time, None, note)
        self.verdicts.append(v)
        return v

    def flush(self, snapshot: _S, time: int) -> NotifyDecision:
        """Evaluate used writes no device read covered, against ``snapshot``."""
        if self.used_abs == self.eval_abs:
            return NotifyDecision.NOT_REQUIRED
        return self.on_evaluate(snapshot, time)

    def unanswered(self) -> Optional[Requirement]:
        """The oldest requirement not answered yet."""
        return self.outstanding

    def overdue(self, now: int, allowance: int) -> Optional[Requirement]:
        """The outstanding requirement if more than ``allowance`` passed since its used write."""
        r = self.outstanding
        if r is not None and now - r.used_time > allowance:
            return r
        return None

    def reset(self) -> None:
        """Queue (or device) reset: positions restart from 0, nothing is owed."""
        self.used_abs = self.eval_abs = self.covered_abs = 0
        self.outstanding = None
        self._writes = []
        self._last_snapshot = None

    # -- per-layout ------------------------------------------------------------
    def _decide(self, snapshot: _S, old: int, new: int) -> tuple[NotifyDecision, int, str]:
        raise NotImplementedError

    def _describe(self, snapshot: _S) -> str:
        return repr(snapshot)

    def _after(self, position: int) -> int:
        """Absolute position after the used write that covered ``position``."""
        return next((a for a, _ in self._writes if a > position), self.used_abs)


class PackedNotifyChecker(NotifyChecker[EventSuppress]):
    """Checker for a packed ring; snapshots are :class:`EventSuppress`."""

    def pos(self, absolute: int) -> RingPos:
        """Ring position of an absolute used position (wrap starts at 1)."""
        lap, off = divmod(absolute, self.size)
        return RingPos(off, not lap & 1)

    def _decide(self, snapshot: EventSuppress, old: int, new: int) -> tuple[NotifyDecision, int, str]:
        d = packed_decision(self.size, snapshot, self.pos(old), self.pos(new), self.event_idx)
        if d != NotifyDecision.REQUIRED:
            return d, new, ""
        if snapshot.mode == EventFlags.DESC and self.event_idx and snapshot.off < self.size:
            for a in range(old, new):
                p = self.pos(a)
                if p.off == snapshot.off and p.wrap == snapshot.wrap:
                    return d, self._after(a), f"DESC event at {snapshot.off}/{int(snapshot.wrap)}"
        return d, new, self._describe(snapshot)

    def _describe(self, snapshot: EventSuppress) -> str:
        names = {0: "ENABLE", 1: "DISABLE", 2: "DESC", 3: "reserved(3)"}
        return f"flags {names[snapshot.mode]} off {snapshot.off} wrap {int(snapshot.wrap)}"


class SplitNotifyChecker(NotifyChecker[SplitEvent]):
    """Checker for a split ring; snapshots are :class:`SplitEvent`."""

    def _decide(self, snapshot: SplitEvent, old: int, new: int) -> tuple[NotifyDecision, int, str]:
        d = split_decision(
            snapshot.avail_flags, snapshot.used_event, old & 0xFFFF, new & 0xFFFF, self.event_idx
        )
        if d != NotifyDecision.REQUIRED:
            return d, new, ""
        if self.event_idx:
            for a in range(old, new):
                if a & 0xFFFF == snapshot.used_event:
                    return d, self._after(a), f"used_event {snapshot.used_event}"
        return d, new, self._describe(snapshot)

    def _describe(self, snapshot: SplitEvent) -> str:
        return f"avail flags {snapshot.avail_flags:#x} used_event {snapshot.used_event}"
