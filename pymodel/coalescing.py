"""Per-virtqueue notification coalescing as checkable bounds (virtio.md §6.6).

Coalescing is best effort (§6.6: "more or fewer notifications are allowed"),
so the model does not predict exact interrupt times.  It gives two bounds
per owed notification:

* **latest** (enforced): a notification that event suppression says is
  REQUIRED (§4.4/§5) must be observed by ``max(trigger, met) + slack``,
  where ``trigger`` is the time of the used write that created the
  obligation, ``slack`` the device's own pipeline latency (a bench
  parameter) and ``met`` the time the coalescing condition is met:
  ``min(first + max_usecs, nth)`` with ``first`` the first and ``nth`` the
  ``max_packets``-th packet since the last reset point, or ``first`` alone
  without coalescing (either parameter 0); after a parameter change with
  packets pending, ``met`` is no earlier than the change (§6.6
  "re-evaluate at once": at the change if the new condition already holds).
* **earliest** (informational): the time the coalescing condition is met;
  a notification before it is classified EARLY -- legal, but it shows
  coalescing not taking effect.

Reset points.  The device resets its timer and counter whenever the
condition is met, whether or not the notification was suppressed.  A
checker sees only notifications, so the model also treats every
evaluation that did *not* require a notification as a possible reset point
(:meth:`QueueCoalescing.on_quiet_evaluation`).  This can only make the
enforced bound later, never earlier, than what a correct device does, so a
correct RTL is never flagged; EARLY may then be reported for a notification
a correct device was entitled to send.

Time is in integer nanoseconds; ``max_usecs`` is converted with ×1000.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

__all__ = ["CoalescingParams", "CoalescingTiming", "CoalescingWindow", "QueueCoalescing", "NS_PER_US"]

NS_PER_US = 1000


@dataclass(frozen=True)
class CoalescingParams:
    """``virtio_net_ctrl_coal``: ``{le32 max_packets; le32 max_usecs}`` (§6.5)."""

    max_packets: int = 0
    max_usecs: int = 0

    @property
    def active(self) -> bool:
        """Coalescing applies only when both are non-zero (§6.6)."""
        return self.max_packets != 0 and self.max_usecs != 0

    def pack(self) -> bytes:
        """8 little-endian bytes, max_packets first."""
        return self.max_packets.to_bytes(4, "little") + self.max_usecs.to_bytes(4, "little")

    @classmethod
    def unpack(cls, raw: bytes) -> "CoalescingParams":
        """Decode 8 bytes."""
        if len(raw) != 8:
            raise ValueError("virtio_net_ctrl_coal is 8 bytes")
        return cls(int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little"))


@dataclass(frozen=True)
class CoalescingWindow:
    """Bounds for the notification owed since ``trigger``: earliest coalesced, latest allowed."""

    earliest: int
    latest: int


class CoalescingTiming(Enum):
    """Classification of an observed notification's timing."""

    ON_TIME = "on_time"  # at or after the condition was met
    EARLY = "early"  # before the condition: legal (best effort), not coalesced
    NO_PENDING = "no_pending"  # no packet since the last reset point


@dataclass
class QueueCoalescing:
    """Coalescing state of one RX or TX virtqueue."""

    params: CoalescingParams = field(default_factory=CoalescingParams)
    _times: list[int] = field(default_factory=list)
    _floor: Optional[int] = None

    def reset(self) -> None:
        """Device reset: parameters 0 and nothing pending (§6.6)."""
        self.params = CoalescingParams()
        self._restart()

    def _restart(self) -> None:
        self._times = []
        self._floor = None

    @property
    def pending(self) -> int:
        """Packets counted since the last reset point."""
        return len(self._times)

    # -- events ----------------------------------------------------------------
    def on_packet(self, time: int, count: int = 1) -> None:
        """``count`` packets were sent / received on this queue at ``time``."""
        self._times.extend([time] * count)

    def set_params(self, params: CoalescingParams, time: int) -> None:
        """New parameters take effect at ``time`` and are re-evaluated at once (§6.6).

        With packets pending, the condition under the new parameters is met
        no earlier than ``time`` (and at ``time`` if it already holds).
        """
        self.params = params
        if self._times:
            self._floor = time

    def on_notification(self, time: int) -> CoalescingTiming:
        """A notification was observed: classify its timing, then restart counting."""
        if not self._times:
            verdict = CoalescingTiming.NO_PENDING
        else:
            met = self.condition_time()
            verdict = CoalescingTiming.EARLY if met is not None and time < met else CoalescingTiming.ON_TIME
        self._restart()
        return verdict

    def on_quiet_evaluation(self, time: int) -> None:
        """An evaluation found no notification owed: a possible device reset point."""
        del time
        self._restart()

    # -- bounds ------------------------------------------------------------------
    def condition_time(self) -> Optional[int]:
        """When the coalescing condition is (or will be) met; None if nothing is pending."""
        if not self._times:
            return None
        if not self.params.active:
            met = self._times[0]
        else:
            met = self._times[0] + self.params.max_usecs * NS_PER_US
            if len(self._times) >= self.params.max_packets:
                met = min(met, self._times[self.params.max_packets - 1])
        return met if self._floor is None else max(met, self._floor)

    def latest(self, trigger: int, slack: int) -> int:
        """Latest time a notification owed since ``trigger`` may arrive (module docstring)."""
        met = self.condition_time()
        return max(trigger, trigger if met is None else met) + slack

    def window(self, trigger: int, slack: int) -> CoalescingWindow:
        """:meth:`condition_time` (earliest, informational) and :meth:`latest` together."""
        met = self.condition_time()
        return CoalescingWindow(trigger if met is None else met, self.latest(trigger, slack))
