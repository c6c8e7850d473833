"""virtio-blk request processing (virtio.md §7).

A request is one :class:`~pymodel.buffers.Buffer`: device-readable header
``{le32 type; le32 reserved; le64 sector}`` (16 bytes), then data, then the
device-writable status byte -- the *last* writable byte.  VERSION_1 implies
any layout, so the model works on the byte streams, never on descriptor
boundaries.

Outcomes (spec outcome where it has one, QEMU's where it has one,
DEVICE_NEEDS_RESET for framing errors the spec leaves open):

==============================================  =============================
request                                         outcome
==============================================  =============================
readable part shorter than 16 bytes             DEVICE_NEEDS_RESET ``blk short header``
no writable byte for the status                 DEVICE_NEEDS_RESET ``blk missing status``
unknown type, GET_LIFETIME, SECURE_ERASE,       UNSUPP
zone types, legacy types
FLUSH without FLUSH negotiated                  UNSUPP
DISCARD / WRITE_ZEROES not negotiated           UNSUPP
OUT / DISCARD / WRITE_ZEROES with RO offered    IOERR, nothing written (§7)
IN / OUT data not a multiple of 512             IOERR (QEMU)
IN / OUT range beyond capacity                  IOERR (QEMU)
DISCARD / WRITE_ZEROES segment area empty or    DEVICE_NEEDS_RESET ``blk segment``
not a multiple of 16 bytes
more segments than max_*_seg                    UNSUPP (QEMU)
num_sectors > max_*_sectors                     IOERR (QEMU)
segment range beyond capacity                   IOERR (QEMU)
unknown segment flag bits; DISCARD with unmap   UNSUPP (§7)
==============================================  =============================

DISCARD / WRITE_ZEROES validate every segment before touching the disk; a
failing request changes nothing.  Used ``len`` = data bytes written into
the buffer + 1 for the status byte (§7: "bytes written, status byte
included").  GET_ID writes ``min(20, room)`` bytes of the serial, NUL
padded (QEMU truncates to the buffer).  ``seg_max``/``size_max`` are hints
to the driver and are not enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Optional

from .blk_config import WRITEBACK_OFFSET, BlkConfig
from .buffers import Buffer
from .disk import SECTOR, Disk
from .errors import DeviceNeedsReset
from .features import BlkFeature
from .memory import Memory

__all__ = [
    "BlkReqType",
    "BlkStatus",
    "BackendOpKind",
    "BackendOp",
    "BlkOutcome",
    "BlkDevice",
    "HEADER_SIZE",
    "ID_BYTES",
]

HEADER_SIZE = 16
ID_BYTES = 20
SEGMENT_SIZE = 16
SEG_FLAG_UNMAP = 1


class BlkReqType(IntEnum):
    """Request types (§7)."""

    IN = 0
    OUT = 1
    FLUSH = 4
    GET_ID = 8
    GET_LIFETIME = 10
    DISCARD = 11
    WRITE_ZEROES = 13
    SECURE_ERASE = 14


class BlkStatus(IntEnum):
    """Status byte values (§7)."""

    OK = 0
    IOERR = 1
    UNSUPP = 2


class BackendOpKind(Enum):
    """Operations the device issues to its backing store."""

    READ = "read"
    WRITE = "write"
    FLUSH = "flush"
    DISCARD = "discard"
    WRITE_ZEROES = "write_zeroes"


@dataclass(frozen=True)
class BackendOp:
    """One backend operation: sector range and, for WRITE, the data."""

    kind: BackendOpKind
    sector: int = 0
    count: int = 0
    data: Optional[bytes] = None


@dataclass(frozen=True)
class BlkOutcome:
    """Everything one request did.

    Attributes:
        status: the status byte written.
        used_len: the used ``len`` to report.
        data: bytes written to the data area of the buffer (IN, GET_ID).
        ops: backend operations, in order.
        type: the request type field as read.
        sector: the sector field as read.
    """

    status: BlkStatus
    used_len: int
    data: bytes = b""
    ops: tuple[BackendOp, ...] = field(default=())
    type: int = 0
    sector: int = 0


class BlkDevice:
    """The virtio-blk personality of one function.

    Args:
        disk: backing store.
        config: device configuration (``capacity`` is forced to the disk's).
        offered: offered feature word (RO decides by *offered*, §7).
        serial: GET_ID string (ASCII, at most 20 characters).
    """

    def __init__(self, disk: Disk, config: BlkConfig, offered: int, serial: str = "") -> None:
        if len(serial.encode("ascii")) > ID_BYTES:
            raise ValueError("serial longer than 20 bytes")
        for unsupported in (BlkFeature.LIFETIME, BlkFeature.SECURE_ERASE, BlkFeature.ZONED):
            if offered >> unsupported & 1:
                raise NotImplementedError(f"blk model does not implement {unsupported.name}")
        self.disk = disk
        self.config = config
        self.config.capacity = disk.capacity
        self.offered = offered
        self.serial = serial
        self.negotiated = 0
        self._writeback_default = config.writeback

    # -- features / config ------------------------------------------------------
    def has(self, bit: BlkFeature) -> bool:
        """Feature negotiated."""
        return bool(self.negotiated >> bit & 1)

    def set_features(self, negotiated: int) -> None:
        """Called at FEATURES_OK."""
        self.negotiated = negotiated

    def reset(self) -> None:
        """Device reset: negotiated features and ``writeback`` back to their initial values."""
        self.negotiated = 0
        self.config.writeback = self._writeback_default

    def config_read(self, offset: int, width: int) -> int:
        """Device-config read."""
        return self.config.read(offset, width)

    def config_write(self, offset: int, width: int, value: int, features_ok: bool) -> bool:
        """Device-config write; only ``writeback`` with CONFIG_WCE negotiated takes effect."""
        if (
            features_ok
            and self.has(BlkFeature.CONFIG_WCE)
            and offset == WRITEBACK_OFFSET
            and width == 1
            and value in (0, 1)
        ):
            self.config.writeback = value
            return True
        return False

    @property
    def write_cache(self) -> bool:
        """Completed writes are volatile until FLUSH (§7 durability rule)."""
        if not self.offered >> BlkFeature.FLUSH & 1:
            return False
        if self.has(BlkFeature.CONFIG_WCE):
            return self.config.writeback == 1
        return self.has(BlkFeature.FLUSH)

    @property
    def read_only(self) -> bool:
        """RO is offered (§7 decides by the offer)."""
        return bool(self.offered >> BlkFeature.RO & 1)

    # -- requests ------------------------------------------------------------------
    def process(self, buf: Buffer, mem: Memory, *, queue: Optional[int] = None) -> BlkOutcome:
        """Execute one request: disk and guest memory are updated, the status byte written.

        Raises:
            DeviceNeedsReset: framing errors (see the module table).
        """
        if buf.readable_len < HEADER_SIZE:
            raise DeviceNeedsReset(f"blk short header ({buf.readable_len} readable bytes)", queue)
        room = buf.writable_len
        if room < 1:
            raise DeviceNeedsReset("blk missing status byte (no writable byte)", queue)
        hdr = buf.gather(mem, HEADER_SIZE)
        rtype = int.from_bytes(hdr[0:4], "little")
        sector = int.from_bytes(hdr[8:16], "little")
        data_room = room - 1
        out = self._dispatch(buf, mem, rtype, sector, data_room, queue)
        buf.scatter(mem, bytes([out.status]), offset=room - 1)
        return BlkOutcome(out.status, len(out.data) + 1, out.data, out.ops, rtype, sector)

    def _dispatch(
        self, buf: Buffer, mem: Memory, rtype: int, sector: int, data_room: int, queue: Optional[int]
    ) -> BlkOutcome:
        if rtype == BlkReqType.IN:
            return self._read(buf, mem, sector, data_room)
        if rtype == BlkReqType.OUT:
            return self._write(buf, mem, sector)
        if rtype == BlkReqType.FLUSH:
            if not self.has(BlkFeature.FLUSH):
                return _status(BlkStatus.UNSUPP)
            self.disk.flush()
            return BlkOutcome(BlkStatus.OK, 0, ops=(BackendOp(BackendOpKind.FLUSH),))
        if rtype == BlkReqType.GET_ID:
            ident = self.serial.encode("ascii").ljust(ID_BYTES, b"\0")[: min(ID_BYTES, data_room)]
            buf.scatter(mem, ident)
            return BlkOutcome(BlkStatus.OK, 0, ident)
        if rtype == BlkReqType.DISCARD:
            return self._segments(buf, mem, BlkFeature.DISCARD, queue)
        if rtype == BlkReqType.WRITE_ZEROES:
            return self._segments(buf, mem, BlkFeature.WRITE_ZEROES, queue)
        return _status(BlkStatus.UNSUPP)

    def _read(self, buf: Buffer, mem: Memory, sector: int, nbytes: int) -> BlkOutcome:
        if nbytes % SECTOR or not self.disk.in_range(sector, nbytes // SECTOR):
            return _status(BlkStatus.IOERR)
        count = nbytes // SECTOR
        data = self.disk.read(sector, count)
        buf.scatter(mem, data)
        return BlkOutcome(BlkStatus.OK, 0, data, (BackendOp(BackendOpKind.READ, sector, count),))

    def _write(self, buf: Buffer, mem: Memory, sector: int) -> BlkOutcome:
        if self.read_only:
            return _status(BlkStatus.IOERR)
        data = buf.gather(mem)[HEADER_SIZE:]
        if len(data) % SECTOR or not self.disk.in_range(sector, len(data) // SECTOR):
            return _status(BlkStatus.IOERR)
        self.disk.write(sector, data, volatile=self.write_cache)
        count = len(data) // SECTOR
        return BlkOutcome(BlkStatus.OK, 0, ops=(BackendOp(BackendOpKind.WRITE, sector, count, data),))

    def _segments(self, buf: Buffer, mem: Memory, feature: BlkFeature, queue: Optional[int]) -> BlkOutcome:
        if not self.has(feature):
            return _status(BlkStatus.UNSUPP)
        if self.read_only:
            return _status(BlkStatus.IOERR)
        raw = buf.gather(mem)[HEADER_SIZE:]
        if not raw or len(raw) % SEGMENT_SIZE:
            raise DeviceNeedsReset(f"blk segment area of {len(raw)} bytes", queue)
        zeroes = feature == BlkFeature.WRITE_ZEROES
        max_seg = self.config.max_write_zeroes_seg if zeroes else self.config.max_discard_seg
        max_sectors = self.config.max_write_zeroes_sectors if zeroes else self.config.max_discard_sectors
        segs = []
        for k in range(len(raw) // SEGMENT_SIZE):
            s = raw[SEGMENT_SIZE * k : SEGMENT_SIZE * (k + 1)]
            segs.append(
                (
                    int.from_bytes(s[0:8], "little"),
                    int.from_bytes(s[8:12], "little"),
                    int.from_bytes(s[12:16], "little"),
                )
            )
        if len(segs) > max_seg:
            return _status(BlkStatus.UNSUPP)
        for sector, count, flags in segs:
            if count > max_sectors or not self.disk.in_range(sector, count):
                return _status(BlkStatus.IOERR)
            if flags & ~SEG_FLAG_UNMAP or (not zeroes and flags & SEG_FLAG_UNMAP):
                return _status(BlkStatus.UNSUPP)
        ops = []
        for sector, count, _flags in segs:
            if zeroes:
                self.disk.write(sector, bytes(count * SECTOR), volatile=self.write_cache)
                ops.append(BackendOp(BackendOpKind.WRITE_ZEROES, sector, count))
            else:
                self.disk.discard(sector, count)
                ops.append(BackendOp(BackendOpKind.DISCARD, sector, count))
        return BlkOutcome(BlkStatus.OK, 0, ops=tuple(ops))


def _status(status: BlkStatus) -> BlkOutcome:
    return BlkOutcome(status, 0)
