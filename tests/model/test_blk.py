"""virtio-blk requests (virtio.md §7): every type, every malformed shape."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pymodel.blk import BackendOpKind, BlkDevice, BlkStatus
from pymodel.blk_config import BlkConfig
from pymodel.buffers import Buffer, Segment
from pymodel.disk import Disk
from pymodel.errors import DeviceNeedsReset
from pymodel.features import BlkFeature as B, Transport as T, mask
from pymodel.memory import SparseMemory

pytestmark = pytest.mark.model

CAP = 64  # sectors
ALL = mask(T.VERSION_1, B.FLUSH, B.DISCARD, B.WRITE_ZEROES, B.CONFIG_WCE, B.SEG_MAX)


def pattern(sector: int) -> bytes:
    return bytes((sector * 7 + i) & 0xFF for i in range(512))


def make(offered: int = ALL, negotiated: int | None = None, **cfg: int) -> tuple[SparseMemory, BlkDevice]:
    img = bytearray(b"".join(pattern(s) for s in range(CAP)))
    conf = BlkConfig(max_discard_sectors=16, max_discard_seg=2, max_write_zeroes_sectors=16,
                     max_write_zeroes_seg=2, **cfg)
    dev = BlkDevice(Disk(image=img), conf, offered, serial="VIRTIO-MODEL-0001")
    dev.set_features(offered if negotiated is None else negotiated)
    return SparseMemory(), dev


def header(rtype: int, sector: int = 0) -> bytes:
    return struct.pack("<IIQ", rtype, 0, sector)


def request(mem: SparseMemory, readable: bytes, data_room: int, status_room: int = 1,
            split_header: bool = False) -> Buffer:
    """Readable bytes at 0x1000 (optionally split after 5 bytes), writable data at 0x8000, status at 0xF000."""
    segs = []
    mem.write(0x1000, readable)
    if split_header and len(readable) > 5:
        segs += [Segment(0x1000, 5, False), Segment(0x1005, len(readable) - 5, False)]
    elif readable:
        segs.append(Segment(0x1000, len(readable), False))
    if data_room:
        mem.write(0x8000, b"\xEE" * data_room)
        segs.append(Segment(0x8000, data_room, True))
    if status_room:
        mem.write(0xF000, b"\xEE" * status_room)
        segs.append(Segment(0xF000, status_room, True))
    return Buffer(id=0, segments=tuple(segs), ndescs=len(segs), head=0)


def status_byte(mem: SparseMemory, room: int = 1) -> int:
    return mem.read(0xF000 + room - 1, 1)[0]


def test_in_reads_sectors() -> None:
    mem, dev = make()
    buf = request(mem, header(0, 3), 1024, split_header=True)
    out = dev.process(buf, mem)
    assert out.status == BlkStatus.OK and status_byte(mem) == 0
    assert mem.read(0x8000, 1024) == pattern(3) + pattern(4)
    assert out.used_len == 1025
    assert [op.kind for op in out.ops] == [BackendOpKind.READ]
    assert (out.ops[0].sector, out.ops[0].count) == (3, 2)


def test_out_writes_sectors() -> None:
    mem, dev = make()
    data = bytes(range(256)) * 2
    out = dev.process(request(mem, header(1, 10) + data, 0), mem)
    assert out.status == BlkStatus.OK and out.used_len == 1
    assert dev.disk.read(10, 1) == data
    assert out.ops[0].kind == BackendOpKind.WRITE and out.ops[0].data == data


def test_out_with_ro_offered_is_ioerr_and_writes_nothing() -> None:
    ro = ALL | mask(B.RO)
    mem, dev = make(ro, negotiated=ALL)  # RO offered but not accepted still applies
    out = dev.process(request(mem, header(1, 10) + b"\x11" * 512, 0), mem)
    assert out.status == BlkStatus.IOERR and status_byte(mem) == 1
    assert dev.disk.read(10, 1) == pattern(10) and out.ops == ()


@pytest.mark.parametrize("rtype", [0, 1])
def test_beyond_capacity_is_ioerr(rtype: int) -> None:
    mem, dev = make()
    readable = header(rtype, CAP - 1) + (b"\0" * 1024 if rtype == 1 else b"")
    out = dev.process(request(mem, readable, 1024 if rtype == 0 else 0), mem)
    assert out.status == BlkStatus.IOERR
    if rtype == 0:
        assert mem.read(0x8000, 4) == b"\xEE" * 4 and out.used_len == 1


def test_in_last_sector_ok_and_zero_length_at_capacity_ok() -> None:
    mem, dev = make()
    assert dev.process(request(mem, header(0, CAP - 1), 512), mem).status == BlkStatus.OK
    assert dev.process(request(mem, header(0, CAP), 0), mem).status == BlkStatus.OK
    assert dev.process(request(mem, header(0, CAP + 1), 0), mem).status == BlkStatus.IOERR


@pytest.mark.parametrize("rtype", [0, 1])
def test_partial_sector_is_ioerr(rtype: int) -> None:
    mem, dev = make()
    readable = header(rtype, 0) + (b"\0" * 100 if rtype == 1 else b"")
    out = dev.process(request(mem, readable, 100 if rtype == 0 else 0), mem)
    assert out.status == BlkStatus.IOERR


def test_flush() -> None:
    mem, dev = make(writeback=1)  # CONFIG_WCE negotiated, writeback mode
    dev.process(request(mem, header(1, 0) + b"\1" * 512, 0), mem)
    assert dev.disk.volatile == {0}
    out = dev.process(request(mem, header(4), 0), mem)
    assert out.status == BlkStatus.OK and dev.disk.volatile == set()
    assert [op.kind for op in out.ops] == [BackendOpKind.FLUSH]


def test_flush_not_negotiated_is_unsupp() -> None:
    mem, dev = make(negotiated=mask(T.VERSION_1))
    assert dev.process(request(mem, header(4), 0), mem).status == BlkStatus.UNSUPP


def test_durability_rules() -> None:
    # §7: stable at completion if FLUSH offered but neither CONFIG_WCE nor FLUSH negotiated
    mem, dev = make(negotiated=mask(T.VERSION_1))
    dev.process(request(mem, header(1, 0) + b"\1" * 512, 0), mem)
    assert dev.disk.volatile == set()
    # ... or if writeback stayed 0 (CONFIG_WCE negotiated)
    mem, dev = make(negotiated=ALL, writeback=0)
    dev.process(request(mem, header(1, 0) + b"\1" * 512, 0), mem)
    assert dev.disk.volatile == set()
    assert dev.config_write(32, 1, 1, features_ok=True)
    dev.process(request(mem, header(1, 1) + b"\1" * 512, 0), mem)
    assert dev.disk.volatile == {1}
    # FLUSH negotiated without CONFIG_WCE: volatile until FLUSH
    mem, dev = make(negotiated=mask(T.VERSION_1, B.FLUSH))
    dev.process(request(mem, header(1, 2) + b"\1" * 512, 0), mem)
    assert dev.disk.volatile == {2}
    # FLUSH not offered at all: always writethrough
    mem, dev = make(mask(T.VERSION_1))
    dev.process(request(mem, header(1, 0) + b"\1" * 512, 0), mem)
    assert dev.disk.volatile == set()


def test_get_id() -> None:
    mem, dev = make()
    out = dev.process(request(mem, header(8), 20), mem)
    assert out.status == BlkStatus.OK
    assert mem.read(0x8000, 20) == b"VIRTIO-MODEL-0001\0\0\0"
    assert out.used_len == 21


def test_get_id_short_buffer_truncated() -> None:
    mem, dev = make()
    out = dev.process(request(mem, header(8), 6), mem)
    assert mem.read(0x8000, 6) == b"VIRTIO" and out.used_len == 7


def seg(sector: int, count: int, flags: int = 0) -> bytes:
    return struct.pack("<QII", sector, count, flags)


def test_write_zeroes() -> None:
    mem, dev = make()
    out = dev.process(request(mem, header(13) + seg(2, 2) + seg(8, 1, 1), 0), mem)
    assert out.status == BlkStatus.OK
    assert dev.disk.read(2, 2) == bytes(1024) and dev.disk.read(8, 1) == bytes(512)
    assert dev.disk.read(4, 1) == pattern(4)
    assert [(o.kind, o.sector, o.count) for o in out.ops] == [
        (BackendOpKind.WRITE_ZEROES, 2, 2), (BackendOpKind.WRITE_ZEROES, 8, 1)]


def test_discard_marks_range_unspecified() -> None:
    mem, dev = make()
    out = dev.process(request(mem, header(11) + seg(5, 3), 0), mem)
    assert out.status == BlkStatus.OK and dev.disk.discarded == {5, 6, 7}


def test_discard_with_unmap_is_unsupp() -> None:
    mem, dev = make()
    assert dev.process(request(mem, header(11) + seg(5, 3, 1), 0), mem).status == BlkStatus.UNSUPP


@pytest.mark.parametrize("rtype", [11, 13])
def test_unknown_segment_flags_unsupp(rtype: int) -> None:
    mem, dev = make()
    assert dev.process(request(mem, header(rtype) + seg(5, 3, 2), 0), mem).status == BlkStatus.UNSUPP


@pytest.mark.parametrize("rtype", [11, 13])
def test_segment_limits(rtype: int) -> None:
    mem, dev = make()
    assert dev.process(request(mem, header(rtype) + seg(0, 1) * 3, 0), mem).status == BlkStatus.UNSUPP
    assert dev.process(request(mem, header(rtype) + seg(0, 17), 0), mem).status == BlkStatus.IOERR
    assert dev.process(request(mem, header(rtype) + seg(CAP - 1, 2), 0), mem).status == BlkStatus.IOERR


def test_failing_segment_changes_nothing() -> None:
    mem, dev = make()
    out = dev.process(request(mem, header(13) + seg(0, 1) + seg(CAP, 1), 0), mem)
    assert out.status == BlkStatus.IOERR and dev.disk.read(0, 1) == pattern(0)


@pytest.mark.parametrize("rtype", [11, 13])
def test_segment_features_not_negotiated_unsupp(rtype: int) -> None:
    mem, dev = make(negotiated=mask(T.VERSION_1))
    assert dev.process(request(mem, header(rtype) + seg(0, 1), 0), mem).status == BlkStatus.UNSUPP


@pytest.mark.parametrize("nbytes", [8, 20])
def test_malformed_segment_area_needs_reset(nbytes: int) -> None:
    mem, dev = make()
    with pytest.raises(DeviceNeedsReset, match="blk segment"):
        dev.process(request(mem, header(13) + bytes(nbytes), 0), mem)


@pytest.mark.parametrize("rtype", [2, 3, 5, 10, 14, 15, 99, 0x80000000])
def test_unknown_or_unsupported_types_unsupp(rtype: int) -> None:
    mem, dev = make()
    out = dev.process(request(mem, header(rtype), 0), mem)
    assert out.status == BlkStatus.UNSUPP and status_byte(mem) == 2 and out.used_len == 1


def test_short_header_needs_reset() -> None:
    mem, dev = make()
    with pytest.raises(DeviceNeedsReset, match="blk short header"):
        dev.process(request(mem, header(0)[:15], 512), mem)


def test_missing_status_byte_needs_reset() -> None:
    mem, dev = make()
    with pytest.raises(DeviceNeedsReset, match="blk missing status"):
        dev.process(request(mem, header(1) + bytes(512), 0, status_room=0), mem)


def test_status_goes_to_last_writable_byte() -> None:
    mem, dev = make()
    dev.process(request(mem, header(4), 0, status_room=4), mem)
    assert mem.read(0xF000, 4) == b"\xEE\xEE\xEE\x00"


def test_config_layout_offsets() -> None:
    c = BlkConfig(capacity=0x1122334455667788, size_max=0xA1A2A3A4, seg_max=126, cylinders=0x0102,
                  heads=3, sectors=4, blk_size=4096, physical_block_exp=3, alignment_offset=1,
                  min_io_size=8, opt_io_size=0x20, writeback=1, num_queues=4, max_discard_sectors=5,
                  max_discard_seg=6, discard_sector_alignment=7, max_write_zeroes_sectors=8,
                  max_write_zeroes_seg=9, write_zeroes_may_unmap=1)
    raw = c.pack()
    assert len(raw) == 96
    want = {0: (8, 0x1122334455667788), 8: (4, 0xA1A2A3A4), 12: (4, 126), 16: (2, 0x0102), 18: (1, 3),
            19: (1, 4), 20: (4, 4096), 24: (1, 3), 25: (1, 1), 26: (2, 8), 28: (4, 0x20), 32: (1, 1),
            34: (2, 4), 36: (4, 5), 40: (4, 6), 44: (4, 7), 48: (4, 8), 52: (4, 9), 56: (1, 1)}
    for off, (w, v) in want.items():
        assert int.from_bytes(raw[off:off + w], "little") == v, off
        assert c.read(off, w) == v


def test_writeback_writable_only_with_config_wce_after_features_ok() -> None:
    mem, dev = make(negotiated=mask(T.VERSION_1, B.FLUSH))
    assert not dev.config_write(32, 1, 1, features_ok=True)
    mem, dev = make()
    assert not dev.config_write(32, 1, 1, features_ok=False)
    assert not dev.config_write(0, 4, 1, features_ok=True)  # capacity is read-only
    assert dev.config_write(32, 1, 1, features_ok=True) and dev.config_read(32, 1) == 1
    dev.reset()
    assert dev.config_read(32, 1) == 0


def test_file_backed_disk(tmp_path: Path) -> None:
    p = tmp_path / "disk.img"
    disk = Disk(8, path=p)
    dev = BlkDevice(disk, BlkConfig(), mask(T.VERSION_1))
    mem = SparseMemory()
    dev.process(request(mem, header(1, 7) + b"\x5A" * 512, 0), mem)
    disk.close()
    assert p.read_bytes()[7 * 512:8 * 512] == b"\x5A" * 512
    assert dev.config_read(0, 8) == 8


def test_gather_skips_zero_length_segments() -> None:
    """A zero-length readable segment contributes 0 bytes; it does not end the byte stream (§4.3 tolerated)."""
    from pymodel.buffers import Buffer, Segment
    from pymodel.memory import SparseMemory

    mem = SparseMemory()
    mem.write(0x1000, b"ABCD")
    mem.write(0x2000, b"EFGH")
    buf = Buffer(1, (Segment(0x3000, 0, False), Segment(0x1000, 4, False), Segment(0x4000, 0, False),
                     Segment(0x2000, 4, False), Segment(0x5000, 1, True)), 5, 0)
    assert buf.gather(mem) == b"ABCDEFGH"
    assert buf.gather(mem, 6) == b"ABCDEF"
