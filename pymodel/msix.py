"""MSI-X capability, table and PBA of one function (virtio.md §9.3, §3.5).

:class:`MsixModel` holds the PCIe state -- Message Control (enable,
function mask), the table (address, data, vector control with its mask
bit, reset value masked) and the pending bits -- and answers the one
question the rest of the model asks: *an interrupt event occurred on vector
v; what must the function do?*  (:meth:`MsixModel.signal`)

==================================  ===============================
state                               outcome of an event on vector v
==================================  ===============================
MSI-X disabled                      INTX (virtio: ISR bit + INTx, §3.5)
v == 0xFFFF (NO_VECTOR)             nothing (virtio: deliver nothing)
v >= table size                     nothing (mapping would have failed)
function mask or vector mask set    PENDING bit set, no message
otherwise                           SENT: DWORD write of Data to Address
==================================  ===============================

Unmasking (vector mask or function mask cleared, or MSI-X enabled) with the
pending bit set sends the message and clears the bit; the methods that can
unmask return the messages that must go out.  Every state change takes the
current time, so a checker can ask since when a vector has been
deliverable (:meth:`MsixModel.deliverable_since`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

__all__ = [
    "NO_VECTOR",
    "MSIX_CAP_ID",
    "CTRL_ENABLE",
    "CTRL_FUNCTION_MASK",
    "MsixEntry",
    "MsixMessage",
    "Delivery",
    "SignalResult",
    "MsixModel",
]

NO_VECTOR = 0xFFFF
MSIX_CAP_ID = 0x11
CTRL_ENABLE = 1 << 15
CTRL_FUNCTION_MASK = 1 << 14
ENTRY_SIZE = 16
VC_MASK = 1


@dataclass
class MsixEntry:
    """One table entry; Vector Control resets to 1 (masked)."""

    address: int = 0
    data: int = 0
    control: int = VC_MASK

    @property
    def masked(self) -> bool:
        """Vector Control bit 0."""
        return bool(self.control & VC_MASK)


@dataclass(frozen=True)
class MsixMessage:
    """A message the function sends: a DWORD write of ``data`` to ``address``."""

    vector: int
    address: int
    data: int


class Delivery(Enum):
    """What an interrupt event on a vector resulted in."""

    SENT = "sent"
    PENDING = "pending"
    INTX = "intx"
    NONE = "none"


@dataclass(frozen=True)
class SignalResult:
    """Outcome of :meth:`MsixModel.signal`; ``message`` is set iff SENT."""

    delivery: Delivery
    message: Optional[MsixMessage] = None


@dataclass
class MsixModel:
    """MSI-X state of one function with ``table_size`` vectors (1..2048)."""

    table_size: int
    enabled: bool = False
    function_mask: bool = False
    table: list[MsixEntry] = field(init=False)
    pending: list[bool] = field(init=False)
    _since: list[Optional[int]] = field(init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.table_size <= 2048:
            raise ValueError("MSI-X table size must be 1..2048")
        self.reset()

    def reset(self, time: int = 0) -> None:
        """Function reset (FLR / conventional reset): disabled, everything masked."""
        self.enabled = False
        self.function_mask = False
        self.table = [MsixEntry() for _ in range(self.table_size)]
        self.pending = [False] * self.table_size
        self._since = [None] * self.table_size
        self._refresh(time)

    # -- deliverability ---------------------------------------------------------------
    def deliverable(self, vector: int) -> bool:
        """A message on ``vector`` could be sent right now."""
        return (
            0 <= vector < self.table_size
            and self.enabled
            and not self.function_mask
            and not self.table[vector].masked
        )

    def deliverable_since(self, vector: int) -> Optional[int]:
        """Time since which ``vector`` has been continuously deliverable (None if not now)."""
        if not 0 <= vector < self.table_size:
            return None
        return self._since[vector]

    def _refresh(self, time: int) -> list[MsixMessage]:
        """Update deliverability; send (and clear) pending bits of newly unmasked vectors."""
        out = []
        for v in range(self.table_size):
            ok = self.deliverable(v)
            if ok and self._since[v] is None:
                self._since[v] = time
            elif not ok:
                self._since[v] = None
            if ok and self.pending[v]:
                self.pending[v] = False
                out.append(self._message(v))
        return out

    def _message(self, v: int) -> MsixMessage:
        e = self.table[v]
        return MsixMessage(v, e.address, e.data)

    # -- events -------------------------------------------------------------------------
    def signal(self, vector: int) -> SignalResult:
        """An interrupt event on ``vector`` (see the module table)."""
        if not self.enabled:
            return SignalResult(Delivery.INTX)
        if vector == NO_VECTOR or not 0 <= vector < self.table_size:
            return SignalResult(Delivery.NONE)
        if self.function_mask or self.table[vector].masked:
            self.pending[vector] = True
            return SignalResult(Delivery.PENDING)
        return SignalResult(Delivery.SENT, self._message(vector))

    # -- capability registers ----------------------------------------------------------------
    def control_read(self) -> int:
        """Message Control: table size - 1, function mask (b14), enable (b15)."""
        return (
            (self.table_size - 1)
            | (CTRL_FUNCTION_MASK if self.function_mask else 0)
            | (CTRL_ENABLE if self.enabled else 0)
        )

    def control_write(self, value: int, time: int = 0) -> list[MsixMessage]:
        """Write Message Control (only bits 15:14 are writable); returns replayed messages."""
        self.enabled = bool(value & CTRL_ENABLE)
        self.function_mask = bool(value & CTRL_FUNCTION_MASK)
        return self._refresh(time)

    # -- table and PBA (BAR space) --------------------------------------------------------------
    def _entry_field(self, offset: int) -> tuple[MsixEntry, int]:
        v, off = divmod(offset, ENTRY_SIZE)
        if not 0 <= v < self.table_size:
            raise ValueError(f"table offset {offset:#x} beyond {self.table_size} entries")
        return self.table[v], off

    def table_read(self, offset: int, width: int = 4) -> int:
        """Read 4 or 8 bytes of the table at ``offset``."""
        if width == 8:
            return self.table_read(offset, 4) | self.table_read(offset + 4, 4) << 32
        if width != 4 or offset % 4:
            raise ValueError("MSI-X table accesses are aligned DWORDs or QWORDs")
        e, off = self._entry_field(offset)
        return {
            0: e.address & 0xFFFF_FFFC,
            4: e.address >> 32,
            8: e.data,
            12: e.control,
        }[off]

    def table_write(self, offset: int, value: int, width: int = 4, time: int = 0) -> list[MsixMessage]:
        """Write 4 or 8 bytes of the table; returns messages released by an unmask."""
        if width == 8:
            out = self.table_write(offset, value & 0xFFFF_FFFF, 4, time)
            return out + self.table_write(offset + 4, value >> 32, 4, time)
        if width != 4 or offset % 4:
            raise ValueError("MSI-X table accesses are aligned DWORDs or QWORDs")
        e, off = self._entry_field(offset)
        value &= 0xFFFF_FFFF
        if off == 0:
            e.address = (e.address & ~0xFFFF_FFFF) | (value & 0xFFFF_FFFC)
        elif off == 4:
            e.address = (e.address & 0xFFFF_FFFF) | (value << 32)
        elif off == 8:
            e.data = value
        else:
            # bit 0 mask; bits 31:16 steering tag; other bits reserved (read 0)
            e.control = value & (VC_MASK | 0xFFFF_0000)
        return self._refresh(time)

    def pba_read(self, offset: int, width: int = 8) -> int:
        """Read 4 or 8 bytes of the PBA (one bit per vector, QWORD packed)."""
        if width not in (4, 8) or offset % width:
            raise ValueError("PBA accesses are aligned DWORDs or QWORDs")
        out = 0
        for bit in range(8 * width):
            v = 8 * offset + bit
            if v < self.table_size and self.pending[v]:
                out |= 1 << bit
        return out

    @property
    def pba_size(self) -> int:
        """PBA size in bytes: ceil(N/64) QWORDs."""
        return 8 * ((self.table_size + 63) // 64)

    def vector_for(self, address: int, data: int) -> list[int]:
        """Vectors whose entry currently holds (address, data)."""
        return [
            v for v, e in enumerate(self.table) if e.address == address and e.data == data
        ]
