"""virtio-blk device configuration layout (virtio.md §7).

:class:`BlkConfig` holds the field values and packs them at the §7
offsets; fields whose feature is not offered still occupy their offsets and
read as configured (0 by default).  Only ``writeback`` (offset 32) is
writable, and only once CONFIG_WCE is negotiated (FEATURES_OK set: the
driver may read but not write device config before that, §1.2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["BlkConfig", "BLK_CONFIG_SIZE", "WRITEBACK_OFFSET"]

BLK_CONFIG_SIZE = 96
WRITEBACK_OFFSET = 32


@dataclass
class BlkConfig:
    """Field values of ``virtio_blk_config``."""

    capacity: int = 0
    size_max: int = 0
    seg_max: int = 0
    cylinders: int = 0
    heads: int = 0
    sectors: int = 0
    blk_size: int = 512
    physical_block_exp: int = 0
    alignment_offset: int = 0
    min_io_size: int = 0
    opt_io_size: int = 0
    writeback: int = 0
    num_queues: int = 1
    max_discard_sectors: int = 0
    max_discard_seg: int = 0
    discard_sector_alignment: int = 0
    max_write_zeroes_sectors: int = 0
    max_write_zeroes_seg: int = 0
    write_zeroes_may_unmap: int = 0
    max_secure_erase_sectors: int = 0
    max_secure_erase_seg: int = 0
    secure_erase_sector_alignment: int = 0

    def pack(self) -> bytes:
        """The 96-byte structure (zoned area at 72..95 reads 0: ZONED is not modelled)."""
        head = struct.pack(
            "<QIIHBBIBBHIBBHIIIIIB3xIII",
            self.capacity,
            self.size_max,
            self.seg_max,
            self.cylinders,
            self.heads,
            self.sectors,
            self.blk_size,
            self.physical_block_exp,
            self.alignment_offset,
            self.min_io_size,
            self.opt_io_size,
            self.writeback,
            0,  # unused0
            self.num_queues,
            self.max_discard_sectors,
            self.max_discard_seg,
            self.discard_sector_alignment,
            self.max_write_zeroes_sectors,
            self.max_write_zeroes_seg,
            self.write_zeroes_may_unmap,
            self.max_secure_erase_sectors,
            self.max_secure_erase_seg,
            self.secure_erase_sector_alignment,
        )
        return head + bytes(BLK_CONFIG_SIZE - len(head))

    def read(self, offset: int, width: int) -> int:
        """A ``width``-byte little-endian read at ``offset`` (0 beyond the structure)."""
        raw = self.pack() + bytes(8)
        if offset >= BLK_CONFIG_SIZE:
            return 0
        return int.from_bytes(raw[offset : offset + width], "little")
