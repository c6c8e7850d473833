"""Guest memory shared by the front-end, as a :class:`pymodel.memory.Memory`.

SET_MEM_TABLE hands over one fd per region (a memfd for QEMU's
``memory-backend-memfd,share=on``, a hugepage or memfd file for DPDK).
Each region is mmap'd ``MAP_SHARED`` and knows three address spaces:

* guest physical (``guest_phys_addr``): what descriptors carry, and the
  address space :meth:`GuestMemory.read` / :meth:`GuestMemory.write` use, so
  pymodel's rings and devices see exactly what a DMA engine would;
* front-end virtual (``userspace_addr``): what SET_VRING_ADDR carries,
  turned into guest physical by :meth:`GuestMemory.uva_to_gpa`;
* file offset (``mmap_offset``): where the region starts in the fd.

Accesses never keep a ``memoryview`` into a mapping, so :meth:`close` can
always unmap, whatever state a disconnecting driver left the rings in.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from typing import Optional

from .protocol import MemRegionDesc

__all__ = ["GuestMemory", "MappedRegion", "BadAddress"]


class BadAddress(Exception):
    """An access falls outside every region the front-end shared."""


@dataclass
class MappedRegion:
    """One mapped region."""

    desc: MemRegionDesc
    mm: mmap.mmap

    @property
    def gpa(self) -> int:
        """First guest-physical address."""
        return self.desc.guest_phys_addr

    @property
    def size(self) -> int:
        """Bytes in the region."""
        return self.desc.memory_size

    @property
    def base(self) -> int:
        """Offset of the region's first byte inside the mapping."""
        return self.desc.mmap_offset


class GuestMemory:
    """The set of regions of one session; implements the Memory protocol."""

    def __init__(self) -> None:
        self.regions: list[MappedRegion] = []
        self._last: Optional[MappedRegion] = None

    # -- table management -------------------------------------------------------
    def add(self, desc: MemRegionDesc, fd: int) -> None:
        """Map ``fd`` for ``desc``; the fd is closed (the mapping keeps the memory)."""
        try:
            if desc.memory_size == 0:
                raise ValueError("zero-sized memory region")
            length = desc.mmap_offset + desc.memory_size
            mm = mmap.mmap(fd, length, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        self.regions.append(MappedRegion(desc, mm))

    def remove(self, desc: MemRegionDesc) -> bool:
        """Unmap the region matching ``desc`` (REM_MEM_REG); True if found."""
        for r in self.regions:
            if r.gpa == desc.guest_phys_addr and r.size == desc.memory_size:
                self.regions.remove(r)
                self._last = None
                r.mm.close()
                return True
        return False

    def close(self) -> None:
        """Unmap every region."""
        for r in self.regions:
            r.mm.close()
        self.regions = []
        self._last = None

    # -- translation --------------------------------------------------------------
    def uva_to_gpa(self, uva: int) -> int:
        """Front-end virtual address -> guest physical address."""
        for r in self.regions:
            off = uva - r.desc.userspace_addr
            if 0 <= off < r.size:
                return r.gpa + off
        raise BadAddress(f"front-end address {uva:#x} is in no shared region")

    def _find(self, gpa: int, n: int) -> tuple[MappedRegion, int, int]:
        """Region holding ``gpa``, offset in its mapping, bytes available there (<= n)."""
        r = self._last
        if r is not None:
            off = gpa - r.gpa
            if 0 <= off and off + n <= r.size:
                return r, r.base + off, n
        for r in self.regions:
            off = gpa - r.gpa
            if 0 <= off < r.size:
                self._last = r
                return r, r.base + off, min(n, r.size - off)
        raise BadAddress(f"guest address {gpa:#x} is in no shared region")

    # -- Memory protocol ------------------------------------------------------------
    def read(self, addr: int, n: int) -> bytes:
        """``n`` bytes at guest physical ``addr`` (may span adjacent regions)."""
        r, off, take = self._find(addr, n)
        if take == n:
            return r.mm[off : off + n]
        out = bytearray()
        while n > 0:
            r, off, take = self._find(addr, n)
            out += r.mm[off : off + take]
            addr += take
            n -= take
        return bytes(out)

    def write(self, addr: int, data: bytes) -> None:
        """Store ``data`` at guest physical ``addr`` (may span adjacent regions)."""
        n = len(data)
        r, off, take = self._find(addr, n)
        if take == n:
            r.mm[off : off + n] = data
            return
        pos = 0
        while pos < n:
            r, off, take = self._find(addr + pos, n - pos)
            r.mm[off : off + take] = data[pos : pos + take]
            pos += take
