"""Byte-range bookkeeping for the checker: interval coverage and written-byte tracking."""

from __future__ import annotations

from typing import Iterable

from .memory import SparseMemory

__all__ = ["covered", "WrittenImage"]


def covered(addr: int, length: int, intervals: Iterable[tuple[int, int]]) -> bool:
    """True if ``[addr, addr+length)`` lies inside the union of (start, len) intervals."""
    pos, end = addr, addr + length
    for start, n in sorted((s, n) for s, n in intervals if n > 0):
        if start > pos:
            break
        pos = max(pos, start + n)
        if pos >= end:
            return True
    return pos >= end


class WrittenImage:
    """The bytes a device wrote, plus which bytes it wrote (one flag byte per data byte)."""

    def __init__(self) -> None:
        self.data = SparseMemory()
        self._mask = SparseMemory()

    def write(self, addr: int, data: bytes) -> None:
        """Record a device write."""
        self.data.write(addr, data)
        self._mask.write(addr, b"\x01" * len(data))

    def fully_written(self, addr: int, length: int) -> bool:
        """Every byte of the range was written."""
        return length == 0 or self._mask.read(addr, length) == b"\x01" * length

    def forget(self, addr: int, length: int) -> None:
        """Clear the written flags of a range (e.g. a used slot after it was judged)."""
        self._mask.write(addr, bytes(length))

    def read(self, addr: int, length: int) -> bytes:
        """The recorded bytes (0 where never written)."""
        return self.data.read(addr, length)
