"""What the checker reports: :class:`Mismatch`, :class:`CheckError` and options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

__all__ = ["Mismatch", "CheckError", "CheckerOptions"]


@dataclass(frozen=True)
class Mismatch:
    """One observed behaviour that contradicts the model.

    Attributes:
        check: short category (``register``, ``used``, ``dma``, ``isolation``,
            ``msix``, ``notification``, ``tx``, ``rx``, ``backend``, ``status``).
        function: PCI function number.
        queue: virtqueue index, if the mismatch concerns one.
        slot: ring slot (packed) or used index (split), if relevant.
        expected / actual: the values compared.
        time: simulation time of the observation.
        detail: free text (the rule that applied).
    """

    check: str
    function: int
    queue: Optional[int]
    slot: Optional[int]
    expected: object
    actual: object
    time: int
    detail: str = ""

    def __str__(self) -> str:
        where = f"fn {self.function}"
        if self.queue is not None:
            where += f" vq {self.queue}"
        if self.slot is not None:
            where += f" slot {self.slot}"
        exp = f"{self.expected:#x}" if isinstance(self.expected, int) else repr(self.expected)
        act = f"{self.actual:#x}" if isinstance(self.actual, int) else repr(self.actual)
        text = f"t={self.time}: {where}: {self.check}: expected {exp}, got {act}"
        return text + (f" ({self.detail})" if self.detail else "")


class CheckError(AssertionError):
    """Raised by the checker (when configured to raise) on the first mismatch."""

    def __init__(self, mismatch: Mismatch) -> None:
        super().__init__(str(mismatch))
        self.mismatch = mismatch


@dataclass(frozen=True)
class CheckerOptions:
    """Tolerances and policies of :class:`~pymodel.checker.Checker`.

    Attributes:
        irq_slack: time the device may take, beyond the coalescing bound,
            to send a required notification (also after an unmask).
        reg_settle: time after a ``queue_reset`` write during which
            ``queue_reset`` may still read 1 (§3.3).
        check_used_write_flag: require WRITE in a used packed descriptor iff
            len > 0 (§10 #6 recommendation).
        raise_on_mismatch: raise :class:`CheckError` at once instead of only
            collecting mismatches.
        allow_rx_drops: at :meth:`finish`, accepted RX frames never delivered
            are not mismatches (the device may drop when buffers run out).
        allow_data_valid: RX headers may carry DATA_VALID when GUEST_CSUM is
            negotiated although the model writes 0.
        strict_disable: a queue notification that answers nothing, sent
            while the device's last evaluation read ``DISABLE`` (§4.4: "send
            nothing"), is a mismatch. Extra notifications are legal in
            general (§4.4 cross-checks), so this is off by default; an RTL
            bench whose device evaluates after every batch turns it on.
    """

    irq_slack: int = 2_000
    reg_settle: int = 1_000
    check_used_write_flag: bool = True
    raise_on_mismatch: bool = True
    allow_rx_drops: bool = False
    allow_data_valid: bool = True
    strict_disable: bool = False
