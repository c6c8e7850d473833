"""Guest-memory access protocol and simple implementations.

Every ring and device model reaches host (guest) memory only through the
:class:`Memory` protocol: ``read(addr, n) -> bytes`` and ``write(addr, data)``.
The bench passes its root-complex memory wrapped in an object with these two
methods; tests use :class:`SparseMemory`.  All virtio fields are
little-endian (virtio.md §0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "Memory",
    "SparseMemory",
    "BumpAllocator",
    "TeeMemory",
    "WriteObserver",
    "rd16",
    "rd32",
    "rd64",
    "wr16",
    "wr32",
    "wr64",
]


@runtime_checkable
class Memory(Protocol):
    """Byte-addressed memory as seen by the device's DMA engine."""

    def read(self, addr: int, n: int) -> bytes:
        """Return ``n`` bytes starting at ``addr``."""
        ...

    def write(self, addr: int, data: bytes) -> None:
        """Store ``data`` starting at ``addr``."""
        ...


class SparseMemory:
    """A 64-bit address space backed by 4 KiB pages allocated on first write.

    Unwritten bytes read as zero.  Suitable as guest memory in unit tests and
    as the model's private copy of host memory in a scoreboard.
    """

    PAGE = 4096

    def __init__(self) -> None:
        self._pages: dict[int, bytearray] = {}

    def read(self, addr: int, n: int) -> bytes:
        """``n`` bytes at ``addr`` (zeros where nothing was written)."""
        if addr < 0 or n < 0:
            raise ValueError("negative address or length")
        out = bytearray()
        while n > 0:
            page, off = divmod(addr, self.PAGE)
            take = min(n, self.PAGE - off)
            buf = self._pages.get(page)
            out += buf[off : off + take] if buf is not None else bytes(take)
            addr += take
            n -= take
        return bytes(out)

    def write(self, addr: int, data: bytes) -> None:
        """Store ``data`` at ``addr``."""
        if addr < 0:
            raise ValueError("negative address")
        view = memoryview(bytes(data))
        while len(view):
            page, off = divmod(addr, self.PAGE)
            take = min(len(view), self.PAGE - off)
            buf = self._pages.setdefault(page, bytearray(self.PAGE))
            buf[off : off + take] = view[:take]
            addr += take
            view = view[take:]


@dataclass
class BumpAllocator:
    """Hands out aligned, never-reused address ranges (test and bench helper)."""

    base: int = 0x1000_0000
    limit: int = 1 << 48
    _next: int = field(init=False, default=-1)

    def alloc(self, size: int, align: int = 16) -> int:
        """Return the address of a fresh ``size``-byte region aligned to ``align``."""
        if self._next < 0:
            self._next = self.base
        if align <= 0 or align & (align - 1):
            raise ValueError("alignment must be a power of two")
        addr = (self._next + align - 1) & ~(align - 1)
        if addr + size > self.limit:
            raise MemoryError("allocator exhausted")
        self._next = addr + max(size, 1)
        return addr


def rd16(mem: Memory, addr: int) -> int:
    """Read a little-endian u16."""
    return int.from_bytes(mem.read(addr, 2), "little")


def rd32(mem: Memory, addr: int) -> int:
    """Read a little-endian u32."""
    return int.from_bytes(mem.read(addr, 4), "little")


def rd64(mem: Memory, addr: int) -> int:
    """Read a little-endian u64."""
    return int.from_bytes(mem.read(addr, 8), "little")


def wr16(mem: Memory, addr: int, value: int) -> None:
    """Write a little-endian u16."""
    mem.write(addr, (value & 0xFFFF).to_bytes(2, "little"))


def wr32(mem: Memory, addr: int, value: int) -> None:
    """Write a little-endian u32."""
    mem.write(addr, (value & 0xFFFF_FFFF).to_bytes(4, "little"))


def wr64(mem: Memory, addr: int, value: int) -> None:
    """Write a little-endian u64."""
    mem.write(addr, (value & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little"))


class WriteObserver(Protocol):
    """Something that wants to hear about host-memory writes made by the driver side."""

    def host_write(self, addr: int, data: bytes) -> None:
        """``data`` was written at ``addr`` by the host (not by the device)."""
        ...


class TeeMemory:
    """Memory wrapper that forwards every write to observers as well.

    The bench wraps the memory its driver model writes through, so a
    :class:`~pymodel.checker.Checker` keeps a private copy of host memory that
    the device under test cannot disturb.
    """

    def __init__(self, inner: Memory, *observers: WriteObserver) -> None:
        self.inner = inner
        self.observers = list(observers)

    def read(self, addr: int, n: int) -> bytes:
        """Read from the wrapped memory."""
        return self.inner.read(addr, n)

    def write(self, addr: int, data: bytes) -> None:
        """Write to the wrapped memory, then tell every observer."""
        self.inner.write(addr, data)
        for o in self.observers:
            o.host_write(addr, bytes(data))
