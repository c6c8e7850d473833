"""Buffers as the device sees them after walking a descriptor chain.

A :class:`Buffer` is ring-layout independent: packed and split device
models both produce it, and the device personalities (net, blk) consume
it.  Readable segments always precede writable ones (virtio.md §4.3); the
ring walkers enforce that before a Buffer is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .memory import Memory

__all__ = ["Segment", "Buffer"]


@dataclass(frozen=True)
class Segment:
    """One guest-memory range of a buffer."""

    addr: int
    length: int
    writable: bool

    @property
    def end(self) -> int:
        """One past the last byte."""
        return self.addr + self.length


@dataclass(frozen=True)
class Buffer:
    """One available buffer taken from a virtqueue.

    Attributes:
        id: buffer ID (packed: from the last descriptor, §4.3/§10 #5; split:
            the head descriptor index).
        segments: data ranges in chain order (indirect tables expanded).
        ndescs: ring slots the buffer occupied (chain length, 1 if indirect);
            the packed device advances its used offset by this (§4.3).
        head: ring slot of the first descriptor (split: descriptor index).
        head_wrap: packed only, the device avail wrap counter the head was
            found with (always True for split rings).
        indirect: the buffer came through an indirect table.
        avail_index: sequence number of the buffer in availability order
            (0 for the first buffer taken after the queue was enabled).
        warnings: non-fatal oddities found while walking (e.g. chain ids
            that disagree, §10 #5).
        table: the indirect table as an (addr, len) segment, if any.
    """

    id: int
    segments: tuple[Segment, ...]
    ndescs: int
    head: int
    head_wrap: bool = True
    indirect: bool = False
    avail_index: int = 0
    warnings: tuple[str, ...] = field(default=())
    table: Segment | None = None

    @property
    def readable(self) -> tuple[Segment, ...]:
        """Device-readable segments."""
        return tuple(s for s in self.segments if not s.writable)

    @property
    def writable(self) -> tuple[Segment, ...]:
        """Device-writable segments."""
        return tuple(s for s in self.segments if s.writable)

    @property
    def readable_len(self) -> int:
        """Total bytes the device may read."""
        return sum(s.length for s in self.readable)

    @property
    def writable_len(self) -> int:
        """Total bytes the device may write."""
        return sum(s.length for s in self.writable)

    def gather(self, mem: Memory, limit: int | None = None) -> bytes:
        """Concatenate the readable bytes (at most ``limit``)."""
        out = bytearray()
        for s in self.readable:
            if limit is not None and len(out) >= limit:
                break
            take = s.length if limit is None else min(s.length, limit - len(out))
            if take > 0:  # zero-length segments contribute nothing and do not end the stream
                out += mem.read(s.addr, take)
        return bytes(out)

    def scatter(self, mem: Memory, data: bytes, offset: int = 0) -> int:
        """Write ``data`` into the writable space starting ``offset`` bytes in.

        Returns the number of bytes written (``data`` is truncated to fit).
        """
        written = 0
        pos = 0
        for s in self.writable:
            if written >= len(data):
                break
            seg_start, seg_end = pos, pos + s.length
            pos = seg_end
            lo = max(offset + written, seg_start)
            if lo >= seg_end:
                continue
            take = min(seg_end - lo, len(data) - written)
            mem.write(s.addr + (lo - seg_start), data[written : written + take])
            written += take
        return written

    def writable_ranges(self, offset: int, length: int) -> list[tuple[int, int]]:
        """Guest (addr, len) ranges covering writable bytes ``[offset, offset+length)``."""
        out = []
        pos = 0
        end = offset + length
        for s in self.writable:
            lo, hi = max(offset, pos), min(end, pos + s.length)
            if lo < hi:
                out.append((s.addr + lo - pos, hi - lo))
            pos += s.length
        return out
