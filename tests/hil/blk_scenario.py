"""The block scenario every blk test runs, and its independently computed answers.

The guest reads the whole disk (sha256), writes a pattern with
``conv=fsync`` (OUT requests, then FLUSH), reads the pattern region and the
whole disk back with O_DIRECT and prints every checksum.  The test computes
the same checksums from the image and the pattern it generated itself.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DISK_BYTES", "PATTERN_SEEK_BLOCKS", "BlkScenario", "make_scenario", "feature_bits"]

DISK_BYTES = 16 << 20
BLOCK = 4096
PATTERN_SEEK_BLOCKS = 259  # 1 MiB + 12 KiB: not at the start, not 64 KiB aligned
PATTERN_BLOCKS = 16

SCRIPT = f"""
echo HIL:FEATURES=$(cat /sys/block/vda/device/features)
echo HIL:SECTORS=$(cat /sys/block/vda/size)
echo HIL:SHA_BEFORE=$(sha256sum /dev/vda | cut -d' ' -f1)
dd if=/pattern.bin of=/dev/vda bs={BLOCK} seek={PATTERN_SEEK_BLOCKS} conv=fsync 2>/dev/null
echo HIL:DD_RC=$?
echo HIL:SHA_REGION=$(dd if=/dev/vda bs={BLOCK} skip={PATTERN_SEEK_BLOCKS} count={PATTERN_BLOCKS} iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
echo HIL:SHA_AFTER=$(dd if=/dev/vda bs=1048576 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
"""


@dataclass(frozen=True)
class BlkScenario:
    """Inputs and expected results of one run."""

    image: Path
    initial: bytes
    pattern: bytes
    script: str = SCRIPT

    @property
    def offset(self) -> int:
        """Byte offset of the pattern in the disk."""
        return PATTERN_SEEK_BLOCKS * BLOCK

    @property
    def expected_after(self) -> bytes:
        """The disk contents once the pattern is written."""
        return self.initial[: self.offset] + self.pattern + self.initial[self.offset + len(self.pattern) :]

    @property
    def sha_before(self) -> str:
        return hashlib.sha256(self.initial).hexdigest()

    @property
    def sha_after(self) -> str:
        return hashlib.sha256(self.expected_after).hexdigest()

    @property
    def sha_region(self) -> str:
        return hashlib.sha256(self.pattern).hexdigest()

    @property
    def files(self) -> dict[str, bytes]:
        """Files the guest needs in its initramfs."""
        return {"pattern.bin": self.pattern}


def make_scenario(path: Path) -> BlkScenario:
    """Write a deterministic 16 MiB image to ``path``; the pattern differs from it."""
    initial = random.Random(0x5EED_B1C).randbytes(DISK_BYTES)
    pattern = random.Random(0xFA77E2).randbytes(PATTERN_BLOCKS * BLOCK)
    path.write_bytes(initial)
    return BlkScenario(path, initial, pattern)


def feature_bits(features: str) -> set[int]:
    """Bit numbers set in the sysfs ``features`` string (character i = bit i)."""
    if not features or set(features) - {"0", "1"}:
        raise AssertionError(f"not a sysfs feature string: {features!r}")
    return {i for i, c in enumerate(features) if c == "1"}
