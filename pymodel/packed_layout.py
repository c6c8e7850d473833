"""Packed virtqueue memory layout (virtio.md §4.1, §4.2).

Pure data: the 16-byte descriptor, the 4-byte event suppression structure,
flag bits, and :class:`RingPos` -- a ring offset together with its wrap
counter, the unit every packed-ring rule is written in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

__all__ = [
    "DescFlag",
    "EventFlags",
    "DESC_SIZE",
    "EVENT_SIZE",
    "PackedDesc",
    "EventSuppress",
    "RingPos",
    "avail_flags",
    "used_flags",
]

DESC_SIZE = 16
EVENT_SIZE = 4


class DescFlag(IntFlag):
    """Descriptor flag bits (§4.1)."""

    NEXT = 0x0001
    WRITE = 0x0002
    INDIRECT = 0x0004
    AVAIL = 0x0080
    USED = 0x8000


class EventFlags(IntEnum):
    """``desc_event_flags`` values (§4.1); 3 is reserved (§10 #8)."""

    ENABLE = 0
    DISABLE = 1
    DESC = 2
    RESERVED = 3


def avail_flags(wrap: bool) -> int:
    """AVAIL/USED bits of a descriptor made available with driver wrap ``wrap``."""
    return DescFlag.AVAIL if wrap else DescFlag.USED


def used_flags(wrap: bool) -> int:
    """AVAIL/USED bits of a descriptor marked used with device wrap ``wrap``."""
    return DescFlag.AVAIL | DescFlag.USED if wrap else 0


@dataclass(frozen=True)
class PackedDesc:
    """``pvirtq_desc``: addr u64 @0, len u32 @8, id u16 @12, flags u16 @14."""

    addr: int = 0
    len: int = 0
    id: int = 0
    flags: int = 0

    def pack(self) -> bytes:
        """16 little-endian bytes."""
        return (
            self.addr.to_bytes(8, "little")
            + self.len.to_bytes(4, "little")
            + self.id.to_bytes(2, "little")
            + self.flags.to_bytes(2, "little")
        )

    @classmethod
    def unpack(cls, raw: bytes) -> "PackedDesc":
        """Decode 16 bytes."""
        if len(raw) != DESC_SIZE:
            raise ValueError("a packed descriptor is 16 bytes")
        return cls(
            int.from_bytes(raw[0:8], "little"),
            int.from_bytes(raw[8:12], "little"),
            int.from_bytes(raw[12:14], "little"),
            int.from_bytes(raw[14:16], "little"),
        )

    def has(self, flag: DescFlag) -> bool:
        """True if ``flag`` is set."""
        return bool(self.flags & flag)

    def is_avail(self, wrap: bool) -> bool:
        """Available to a device whose avail wrap counter is ``wrap`` (§4.2)."""
        return self.has(DescFlag.AVAIL) == wrap and self.has(DescFlag.USED) != wrap

    def is_used(self, wrap: bool) -> bool:
        """Used, as judged by a driver with used wrap counter ``wrap`` (§4.2)."""
        return self.has(DescFlag.AVAIL) == wrap and self.has(DescFlag.USED) == wrap


@dataclass(frozen=True)
class EventSuppress:
    """``pvirtq_event_suppress``: off_wrap u16 @0 (off 14:0, wrap 15), flags u16 @2."""

    off: int = 0
    wrap: bool = False
    flags: int = EventFlags.ENABLE

    @property
    def mode(self) -> int:
        """``desc_event_flags`` (bits 1:0 of the flags word)."""
        return self.flags & 3

    @property
    def off_wrap(self) -> int:
        """The 16-bit ``off_wrap`` word."""
        return (self.off & 0x7FFF) | (0x8000 if self.wrap else 0)

    def pack(self) -> bytes:
        """4 little-endian bytes."""
        return self.off_wrap.to_bytes(2, "little") + (self.flags & 0xFFFF).to_bytes(2, "little")

    @classmethod
    def unpack(cls, raw: bytes) -> "EventSuppress":
        """Decode 4 bytes (Linux reads them as one 32-bit snapshot, §4.1)."""
        if len(raw) != EVENT_SIZE:
            raise ValueError("an event suppression structure is 4 bytes")
        ow = int.from_bytes(raw[0:2], "little")
        return cls(ow & 0x7FFF, bool(ow & 0x8000), int.from_bytes(raw[2:4], "little"))

    @classmethod
    def at(cls, pos: "RingPos", flags: int = EventFlags.DESC) -> "EventSuppress":
        """Structure asking about ring position ``pos``."""
        return cls(pos.off, pos.wrap, flags)


@dataclass(frozen=True, order=True)
class RingPos:
    """A packed-ring position: offset in descriptor units plus wrap counter.

    All four wrap counters start at 1 (§4.2), hence the default.
    """

    off: int = 0
    wrap: bool = True

    def advance(self, n: int, size: int) -> "RingPos":
        """Position ``n`` slots further on a ring of ``size`` (wrap flips per lap)."""
        if n < 0:
            raise ValueError("cannot move backwards")
        off = self.off + n
        laps, off = divmod(off, size)
        return RingPos(off, self.wrap ^ bool(laps & 1))

    def circle(self, size: int) -> int:
        """Point on the circle of 2N used by §4.4: ``off + (wrap ? N : 0)``."""
        return self.off + (size if self.wrap else 0)

    @property
    def off_wrap(self) -> int:
        """Encoded as in ``off_wrap`` / Linux ``last_used_idx``."""
        return (self.off & 0x7FFF) | (0x8000 if self.wrap else 0)
