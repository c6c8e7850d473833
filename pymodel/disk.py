"""Backing store for the virtio-blk model: 512-byte sectors in a bytearray or a file.

Besides the data, the disk records what a checker needs to judge later
reads and durability (virtio.md §7):

* ``volatile`` -- sectors written (or zeroed) but not yet stable: they
  become stable at the next completed FLUSH;
* ``discarded`` -- sectors whose content is unspecified after DISCARD (the
  device MAY deallocate them); the model zeroes them, a checker should
  accept any data read from them until they are written again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Optional, Union

__all__ = ["SECTOR", "Disk"]

SECTOR = 512


class Disk:
    """A disk of ``capacity`` sectors.

    Args:
        capacity: size in 512-byte sectors (ignored when ``path`` names an
            existing file: the file size decides, rounded down).
        path: optional image file; created (sparse) with ``capacity``
            sectors if it does not exist.
        image: optional initial contents (bytearray, used in place).
    """

    def __init__(
        self,
        capacity: int = 0,
        *,
        path: Union[str, Path, None] = None,
        image: Optional[bytearray] = None,
    ) -> None:
        self._file: Optional[BinaryIO] = None
        self._mem: Optional[bytearray] = None
        if path is not None:
            p = Path(path)
            if not p.exists():
                with open(p, "wb") as f:
                    f.truncate(capacity * SECTOR)
            self._file = open(p, "r+b")
            self.capacity = os.path.getsize(p) // SECTOR
        elif image is not None:
            self._mem = image
            self.capacity = len(image) // SECTOR
        else:
            self._mem = bytearray(capacity * SECTOR)
            self.capacity = capacity
        self.volatile: set[int] = set()
        self.discarded: set[int] = set()

    def close(self) -> None:
        """Close the image file, if any."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def in_range(self, sector: int, count: int) -> bool:
        """``[sector, sector+count)`` lies inside the disk."""
        return 0 <= sector and 0 <= count and sector + count <= self.capacity

    def read(self, sector: int, count: int) -> bytes:
        """``count`` sectors starting at ``sector``."""
        if not self.in_range(sector, count):
            raise ValueError("read beyond capacity")
        if self._mem is not None:
            return bytes(self._mem[sector * SECTOR : (sector + count) * SECTOR])
        assert self._file is not None
        self._file.seek(sector * SECTOR)
        data = self._file.read(count * SECTOR)
        return data + bytes(count * SECTOR - len(data))

    def write(self, sector: int, data: bytes, *, volatile: bool = False) -> None:
        """Store whole sectors; ``volatile`` marks them not yet stable."""
        if len(data) % SECTOR:
            raise ValueError("writes are whole sectors")
        count = len(data) // SECTOR
        if not self.in_range(sector, count):
            raise ValueError("write beyond capacity")
        if self._mem is not None:
            self._mem[sector * SECTOR : (sector + count) * SECTOR] = data
        else:
            assert self._file is not None
            self._file.seek(sector * SECTOR)
            self._file.write(data)
        span = range(sector, sector + count)
        self.discarded.difference_update(span)
        if volatile:
            self.volatile.update(span)
        else:
            self.volatile.difference_update(span)

    def discard(self, sector: int, count: int) -> None:
        """Deallocate: content becomes unspecified (modelled as zeros)."""
        self.write(sector, bytes(count * SECTOR))
        self.discarded.update(range(sector, sector + count))

    def flush(self) -> None:
        """Everything written so far is stable."""
        self.volatile.clear()
        if self._file is not None:
            self._file.flush()
