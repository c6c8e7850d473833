"""virtio-net header, config, queue roles, TX and RX paths (virtio.md §6.1-§6.3)."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from pymodel.buffers import Buffer, Segment
from pymodel.errors import DeviceNeedsReset
from pymodel.features import NetFeature as N, Transport as T, mask
from pymodel.memory import SparseMemory
from pymodel.net import NetConfig, NetHdr, QueueRole, extract_tx, net_hdr_size, queue_role
from pymodel.net_rx import RxFilter, RxResult, place_rx, write_rx

pytestmark = pytest.mark.model

V1 = mask(T.VERSION_1)


@pytest.mark.parametrize(
    ("features", "size"),
    [
        (V1, 12),
        (V1 | mask(N.MRG_RXBUF), 12),
        (V1 | mask(N.HASH_REPORT), 20),
        (V1 | mask(N.HOST_UDP_TUNNEL_GSO), 24),
        (V1 | mask(N.GUEST_UDP_TUNNEL_GSO), 24),  # §10 #9: either
        (V1 | mask(N.HASH_REPORT, N.GUEST_UDP_TUNNEL_GSO), 24),
        (V1 | mask(N.OUT_NET_HEADER), 32),
        (V1 | mask(N.IPSEC, N.HASH_REPORT), 32),
    ],
)
def test_header_size_table(features: int, size: int) -> None:
    assert net_hdr_size(features) == size


def test_header_layout() -> None:
    h = NetHdr(flags=1, gso_type=4, hdr_len=0x0203, gso_size=0x0405, csum_start=0x0607,
               csum_offset=0x0809, num_buffers=0x0A0B, hash_value=0x11223344, hash_report=5)
    assert h.pack(12) == bytes([1, 4, 3, 2, 5, 4, 7, 6, 9, 8, 0xB, 0xA])
    assert h.pack(20)[12:] == bytes([0x44, 0x33, 0x22, 0x11, 5, 0, 0, 0])
    assert NetHdr.unpack(h.pack(20)) == h


def test_config_layout() -> None:
    c = NetConfig(mac=bytes([1, 2, 3, 4, 5, 6]), status=3, max_virtqueue_pairs=4, mtu=9000,
                  speed=10000, duplex=1)
    raw = c.pack()
    assert raw[0:6] == bytes([1, 2, 3, 4, 5, 6])
    assert raw[6:8] == b"\x03\x00" and raw[8:10] == b"\x04\x00" and raw[10:12] == (9000).to_bytes(2, "little")
    assert raw[12:16] == (10000).to_bytes(4, "little") and raw[16] == 1
    assert c.read(8, 2) == 4 and c.read(0, 4) == 0x04030201


@pytest.mark.parametrize(
    ("vq", "features", "pairs", "role"),
    [
        (0, V1, 4, (QueueRole.RX, 0)),
        (1, V1, 4, (QueueRole.TX, 0)),
        (2, V1 | mask(N.CTRL_VQ), 4, (QueueRole.CTRL, -1)),  # MQ not negotiated: N = 1
        (2, V1 | mask(N.CTRL_VQ, N.MQ), 4, (QueueRole.RX, 1)),
        (7, V1 | mask(N.CTRL_VQ, N.MQ), 4, (QueueRole.TX, 3)),
        (8, V1 | mask(N.CTRL_VQ, N.MQ), 4, (QueueRole.CTRL, -1)),
        (8, V1 | mask(N.MQ), 4, (QueueRole.NONE, -1)),
        (2, V1, 1, (QueueRole.NONE, -1)),
    ],
)
def test_queue_roles(vq: int, features: int, pairs: int, role: tuple[QueueRole, int]) -> None:
    assert queue_role(vq, features, pairs) == role


# -- TX -----------------------------------------------------------------------------------
def tx_buffer(mem: SparseMemory, hdr: bytes, frame: bytes, split_at: int | None = None) -> Buffer:
    raw = hdr + frame
    mem.write(0x4000, raw)
    segs: tuple[Segment, ...]
    if split_at is None:
        segs = (Segment(0x4000, len(raw), False),)
    else:
        segs = (Segment(0x4000, split_at, False), Segment(0x4000 + split_at, len(raw) - split_at, False))
    return Buffer(0, segs, len(segs), 0)


def test_tx_plain_frame_split_anywhere() -> None:
    mem = SparseMemory()
    frame = bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / IP() / UDP() / b"hello")
    for split in (None, 3, 12, 20):
        p = extract_tx(tx_buffer(mem, NetHdr().pack(), frame, split), mem, V1)
        assert p.frame == frame and p.drop_reason is None


def test_tx_checksum_offload_matches_scapy() -> None:
    mem = SparseMemory()
    pkt = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80) / (b"x" * 101)
    full = bytes(pkt)  # scapy computes the correct TCP checksum
    ip = pkt[IP]
    # Linux CHECKSUM_PARTIAL: the field holds the folded (not inverted) pseudo-header sum
    tcp_len = len(full) - 34
    pseudo = sum([0x0A00, 0x0001, 0x0A00, 0x0002, 6, tcp_len])
    while pseudo >> 16:
        pseudo = (pseudo & 0xFFFF) + (pseudo >> 16)
    partial = bytearray(full)
    partial[50:52] = pseudo.to_bytes(2, "big")
    hdr = NetHdr(flags=1, csum_start=34, csum_offset=16).pack()
    p = extract_tx(tx_buffer(mem, hdr, bytes(partial)), mem, V1 | mask(N.CSUM))
    assert p.frame == full
    assert ip.src == "10.0.0.1"


def test_tx_checksum_fields_beyond_frame_dropped() -> None:
    mem = SparseMemory()
    hdr = NetHdr(flags=1, csum_start=30, csum_offset=16).pack()
    p = extract_tx(tx_buffer(mem, hdr, bytes(40)), mem, V1 | mask(N.CSUM))
    assert p.frame is None and p.drop_reason


def test_tx_empty_frame_dropped() -> None:
    mem = SparseMemory()
    p = extract_tx(tx_buffer(mem, NetHdr().pack(), b""), mem, V1)
    assert p.frame is None and p.drop_reason == "empty frame"


def test_tx_short_header_needs_reset() -> None:
    mem = SparseMemory()
    with pytest.raises(DeviceNeedsReset, match="net tx short header"):
        extract_tx(tx_buffer(mem, NetHdr().pack()[:10], b""), mem, V1)


def test_tx_writable_segment_needs_reset() -> None:
    mem = SparseMemory()
    b = Buffer(0, (Segment(0x4000, 40, False), Segment(0x5000, 4, True)), 2, 0)
    with pytest.raises(DeviceNeedsReset, match="net tx writable"):
        extract_tx(b, mem, V1)


def test_tx_gso_needs_reset() -> None:
    mem = SparseMemory()
    with pytest.raises(DeviceNeedsReset, match="net tx gso"):
        extract_tx(tx_buffer(mem, NetHdr(flags=1, gso_type=1).pack(), bytes(60)), mem, V1 | mask(N.CSUM))


def test_tx_needs_csum_without_csum_needs_reset() -> None:
    mem = SparseMemory()
    with pytest.raises(DeviceNeedsReset, match="net tx csum"):
        extract_tx(tx_buffer(mem, NetHdr(flags=1, csum_start=34, csum_offset=16).pack(), bytes(60)), mem, V1)


# -- RX --------------------------------------------------------------------------------------
class Queue:
    """A list of available buffers with pop / unpop, standing in for a ring."""

    def __init__(self, sizes: list[int]) -> None:
        self.bufs = [Buffer(i, (Segment(0x10000 * (i + 1), n, True),), 1, i) for i, n in enumerate(sizes)]
        self.pos = 0

    def take(self) -> Buffer | None:
        if self.pos == len(self.bufs):
            return None
        self.pos += 1
        return self.bufs[self.pos - 1]

    def give_back(self, bufs: object) -> None:
        self.pos -= len(bufs)  # type: ignore[arg-type]


def test_rx_single_buffer() -> None:
    mem, q = SparseMemory(), Queue([1526])
    frame = bytes(range(256)) * 4
    p = place_rx(frame, q.take, q.give_back, V1)
    assert p.result == RxResult.PLACED and p.lens == (12 + 1024,)
    write_rx(p, frame, mem)
    assert mem.read(0x10000, 12) == bytes(10) + b"\x01\x00"  # num_buffers = 1
    assert mem.read(0x10000 + 12, 1024) == frame


def test_rx_too_big_without_mrg_dropped_and_buffer_kept() -> None:
    q = Queue([100, 5000])
    p = place_rx(bytes(200), q.take, q.give_back, V1)
    assert p.result == RxResult.TOO_BIG and q.pos == 0


def test_rx_mergeable_spreads_and_counts() -> None:
    mem, q = SparseMemory(), Queue([100, 100, 100, 100])
    frame = bytes((i * 3) & 0xFF for i in range(250))
    p = place_rx(frame, q.take, q.give_back, V1 | mask(N.MRG_RXBUF))
    assert p.result == RxResult.PLACED
    assert p.lens == (100, 100, 62)  # 12 + 250 = 262 bytes over three buffers
    write_rx(p, frame, mem)
    assert mem.read(0x10000, 12) == bytes(10) + b"\x03\x00"  # num_buffers = 3
    got = mem.read(0x10000 + 12, 88) + mem.read(0x20000, 100) + mem.read(0x30000, 62)
    assert got == frame
    assert q.pos == 3


def test_rx_mergeable_not_enough_room_consumes_nothing() -> None:
    q = Queue([100, 100])
    p = place_rx(bytes(500), q.take, q.give_back, V1 | mask(N.MRG_RXBUF))
    assert p.result == RxResult.NO_BUFFERS and q.pos == 0


def test_rx_no_buffers() -> None:
    q = Queue([])
    assert place_rx(bytes(60), q.take, q.give_back, V1).result == RxResult.NO_BUFFERS


def test_rx_readable_buffer_needs_reset() -> None:
    b = Buffer(0, (Segment(0x1000, 100, False),), 1, 0)
    with pytest.raises(DeviceNeedsReset, match="net rx buffer with device-readable"):
        place_rx(bytes(60), lambda: b, lambda _: None, V1)


def test_rx_mergeable_first_buffer_smaller_than_header_needs_reset() -> None:
    q = Queue([8, 100])
    with pytest.raises(DeviceNeedsReset, match="smaller than the header"):
        place_rx(bytes(60), q.take, q.give_back, V1 | mask(N.MRG_RXBUF))


MAC = bytes.fromhex("525400123456")


def frame_to(dst: str, vlan: int | None = None) -> bytes:
    e = Ether(dst=dst, src="02:00:00:00:00:01")
    return bytes(e / Dot1Q(vlan=vlan) / IP() if vlan is not None else e / IP())


def test_rx_filter_rules() -> None:
    f = RxFilter(mac=MAC)
    assert f.accepts(frame_to("01:02:03:04:05:06"))  # promiscuous after reset
    f.promisc = False
    assert f.accepts(frame_to("52:54:00:12:34:56"))
    assert not f.accepts(frame_to("52:54:00:12:34:57"))
    assert f.accepts(frame_to("ff:ff:ff:ff:ff:ff"))
    assert not f.accepts(frame_to("01:00:5e:00:00:01"))
    f.multi = [bytes.fromhex("01005e000001")]
    assert f.accepts(frame_to("01:00:5e:00:00:01"))
    f.nobcast = True
    assert not f.accepts(frame_to("ff:ff:ff:ff:ff:ff"))
    f.alluni = True
    assert f.accepts(frame_to("52:54:00:12:34:57"))
    f.nouni = True
    assert not f.accepts(frame_to("52:54:00:12:34:56"))
    f.nomulti = True
    assert not f.accepts(frame_to("01:00:5e:00:00:01"))


def test_rx_vlan_filter() -> None:
    f = RxFilter(mac=MAC, promisc=False, vlan_filtering=True)
    assert not f.accepts(frame_to("52:54:00:12:34:56", vlan=5))
    f.vlans.add(5)
    assert f.accepts(frame_to("52:54:00:12:34:56", vlan=5))
    assert f.accepts(frame_to("52:54:00:12:34:56"))  # untagged


def test_tx_frame_longer_than_the_port_is_dropped() -> None:
    """A frame longer than NetConfig.max_frame is dropped (not put on the wire), the buffer still used."""
    from pymodel.buffers import Buffer, Segment
    from pymodel.memory import SparseMemory

    mem = SparseMemory()
    mem.write(0x1000, bytes(12) + b"\xAB" * 100)
    buf = Buffer(0, (Segment(0x1000, 112, False),), 1, 0)
    assert extract_tx(buf, mem, 1 << 32, 0, max_frame=100).frame == b"\xAB" * 100
    pkt = extract_tx(buf, mem, 1 << 32, 0, max_frame=99)
    assert pkt.frame is None and "longer" in (pkt.drop_reason or "")
