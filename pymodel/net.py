"""virtio-net: header, device configuration, queue roles and TX (virtio.md §6.1-§6.3).

* :func:`net_hdr_size` -- header size by negotiated features (§6.2 table,
  §10 #9: 24 bytes if either UDP-tunnel GSO bit is negotiated);
* :class:`NetHdr` -- ``virtio_net_hdr`` (fields at fixed offsets whatever
  the size);
* :class:`NetConfig` -- device configuration layout (§6.3; duplex per
  §10 #4);
* :func:`queue_role` -- which vq is RX/TX of which pair, or the controlq;
* :func:`extract_tx` -- what the device must put on the wire for one TX
  buffer.

TX outcomes the spec leaves open (DEVICE_NEEDS_RESET for framing errors, as
QEMU's ``virtio_error``; drop for packet-level problems):

=========================================  ==================================
TX buffer                                  outcome
=========================================  ==================================
any device-writable segment                DEVICE_NEEDS_RESET ``net tx writable``
readable part shorter than the header      DEVICE_NEEDS_RESET ``net tx short header``
gso_type != NONE (no HOST_TSO/UFO/USO is   DEVICE_NEEDS_RESET ``net tx gso``
modelled, so it is never negotiated)
NEEDS_CSUM without CSUM negotiated         DEVICE_NEEDS_RESET ``net tx csum``
NEEDS_CSUM with csum_start + csum_offset   dropped (``drop_reason`` set)
+ 2 beyond the frame
empty frame (nothing after the header)     dropped (an AXI-stream port cannot
                                           carry an empty packet)
frame longer than ``max_frame`` (the       dropped (§6.3: with MTU the driver
port's limit, NetConfig.max_frame)         MUST NOT send more; the device may
                                           drop what it cannot carry)
=========================================  ==================================

Every TX buffer is used with len 0.  Unknown header flags are ignored (§6.2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum, IntEnum, IntFlag
from typing import Optional

from .buffers import Buffer
from .errors import DeviceNeedsReset
from .features import NetFeature
from .memory import Memory

__all__ = [
    "NetHdrFlag",
    "GsoType",
    "net_hdr_size",
    "NetHdr",
    "NetStatus",
    "NetConfig",
    "QueueRole",
    "queue_role",
    "TxPacket",
    "extract_tx",
    "internet_checksum",
    "UNMODELLED_NET_FEATURES",
]


class NetHdrFlag(IntFlag):
    """``virtio_net_hdr.flags`` (§6.2)."""

    NEEDS_CSUM = 0x01
    DATA_VALID = 0x02
    RSC_INFO = 0x04
    UDP_TUNNEL_CSUM = 0x08


class GsoType(IntEnum):
    """``gso_type`` values (§6.2); ECN (0x80) and tunnel bits are OR-ed in."""

    NONE = 0
    TCPV4 = 1
    UDP = 3
    TCPV6 = 4
    UDP_L4 = 5


#: Offloads this model does not implement; a device offering them is refused.
UNMODELLED_NET_FEATURES = (
    NetFeature.HOST_TSO4,
    NetFeature.HOST_TSO6,
    NetFeature.HOST_ECN,
    NetFeature.HOST_UFO,
    NetFeature.HOST_USO,
    NetFeature.GUEST_TSO4,
    NetFeature.GUEST_TSO6,
    NetFeature.GUEST_ECN,
    NetFeature.GUEST_UFO,
    NetFeature.GUEST_USO4,
    NetFeature.GUEST_USO6,
    NetFeature.RSS,
    NetFeature.HASH_REPORT,
    NetFeature.HASH_TUNNEL,
    NetFeature.RSC_EXT,
    NetFeature.DEVICE_STATS,
    NetFeature.RSS_CONTEXT,
    NetFeature.GUEST_UDP_TUNNEL_GSO,
    NetFeature.GUEST_UDP_TUNNEL_GSO_CSUM,
    NetFeature.HOST_UDP_TUNNEL_GSO,
    NetFeature.HOST_UDP_TUNNEL_GSO_CSUM,
    NetFeature.OUT_NET_HEADER,
    NetFeature.IPSEC,
)


def _has(word: int, bit: int) -> bool:
    return bool(word >> int(bit) & 1)


def net_hdr_size(negotiated: int) -> int:
    """Header size for a VERSION_1 device (§6.2 table, §10 #9)."""
    if _has(negotiated, NetFeature.OUT_NET_HEADER) or _has(negotiated, NetFeature.IPSEC):
        return 32
    if _has(negotiated, NetFeature.HOST_UDP_TUNNEL_GSO) or _has(negotiated, NetFeature.GUEST_UDP_TUNNEL_GSO):
        return 24
    if _has(negotiated, NetFeature.HASH_REPORT):
        return 20
    return 12


@dataclass(frozen=True)
class NetHdr:
    """``virtio_net_hdr`` fields that this model uses (first 12 bytes + hash)."""

    flags: int = 0
    gso_type: int = 0
    hdr_len: int = 0
    gso_size: int = 0
    csum_start: int = 0
    csum_offset: int = 0
    num_buffers: int = 0
    hash_value: int = 0
    hash_report: int = 0

    def pack(self, size: int = 12) -> bytes:
        """``size`` bytes; fields beyond 12 (hash) only if ``size`` >= 20, rest zero."""
        raw = struct.pack(
            "<BBHHHHH",
            self.flags,
            self.gso_type,
            self.hdr_len,
            self.gso_size,
            self.csum_start,
            self.csum_offset,
            self.num_buffers,
        )
        if size >= 20:
            raw += struct.pack("<IHH", self.hash_value, self.hash_report, 0)
        return raw.ljust(size, b"\0")

    @classmethod
    def unpack(cls, raw: bytes) -> "NetHdr":
        """Decode at least 12 bytes."""
        fl, gso, hlen, gsz, cs, co, nb = struct.unpack_from("<BBHHHHH", raw)
        hv = hr = 0
        if len(raw) >= 20:
            hv, hr = struct.unpack_from("<IH", raw, 12)
        return cls(fl, gso, hlen, gsz, cs, co, nb, hash_value=hv, hash_report=hr)


class NetStatus(IntFlag):
    """``status`` config field bits (§6.3)."""

    LINK_UP = 1
    ANNOUNCE = 2


@dataclass
class NetConfig:
    """virtio-net device configuration (§6.3).  All fields are read-only for the driver."""

    mac: bytes = b"\x52\x54\x00\x12\x34\x56"
    status: int = NetStatus.LINK_UP
    max_virtqueue_pairs: int = 1
    mtu: int = 1500
    speed: int = 0xFFFF_FFFF
    duplex: int = 0xFF  # §10 #4: 0 half, 1 full, 0xFF unknown
    #: device limit (not a config field): longest frame the wire port carries, bytes after the header
    max_frame: int = 9018
    #: device limit (not a config field): longest control command, readable bytes {class, command, data},
    #: the device can take (a mailbox to the firmware); a longer one is answered VIRTIO_NET_ERR.
    #: None: no limit.
    max_ctrl_cmd: Optional[int] = None

    SIZE = 24

    def pack(self) -> bytes:
        """The structure up to ``supported_hash_types`` (RSS fields read 0)."""
        if len(self.mac) != 6:
            raise ValueError("mac is 6 bytes")
        raw = self.mac + struct.pack(
            "<HHHIB", self.status, self.max_virtqueue_pairs, self.mtu, self.speed, self.duplex
        )
        return raw.ljust(self.SIZE, b"\0")

    def read(self, offset: int, width: int) -> int:
        """A ``width``-byte little-endian read at ``offset`` (0 beyond the structure)."""
        raw = self.pack() + bytes(8)
        if offset >= self.SIZE:
            return 0
        return int.from_bytes(raw[offset : offset + width], "little")


class QueueRole(Enum):
    """What a net virtqueue is for."""

    RX = "rx"
    TX = "tx"
    CTRL = "ctrl"
    NONE = "none"


def queue_role(vq: int, negotiated: int, max_pairs: int) -> tuple[QueueRole, int]:
    """Role and pair number (0-based) of ``vq`` (§6.1).

    N = ``max_pairs`` when MQ (or RSS) is negotiated, else 1; the controlq is
    vq 2N with CTRL_VQ.  Returns ``(QueueRole.NONE, -1)`` for anything else.
    """
    n = max_pairs if (_has(negotiated, NetFeature.MQ) or _has(negotiated, NetFeature.RSS)) else 1
    if 0 <= vq < 2 * n:
        return (QueueRole.RX if vq % 2 == 0 else QueueRole.TX), vq // 2
    if vq == 2 * n and _has(negotiated, NetFeature.CTRL_VQ):
        return QueueRole.CTRL, -1
    return QueueRole.NONE, -1


def internet_checksum(data: bytes) -> int:
    """RFC 1071 ones'-complement sum, complemented (the value stored in a header)."""
    if len(data) % 2:
        data += b"\0"
    s: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


@dataclass(frozen=True)
class TxPacket:
    """One TX buffer as the device must handle it.

    ``frame`` is what goes on the wire (checksum completed), or None if the
    packet is dropped (``drop_reason`` says why).
    """

    hdr: NetHdr
    frame: Optional[bytes]
    drop_reason: Optional[str] = None


def extract_tx(buf: Buffer, mem: Memory, negotiated: int, queue: Optional[int] = None,
               max_frame: Optional[int] = None) -> TxPacket:
    """Header + frame of a TX buffer, offloads applied (module table for errors)."""
    if buf.writable:
        raise DeviceNeedsReset("net tx writable segment in a TX buffer", queue)
    size = net_hdr_size(negotiated)
    if buf.readable_len < size:
        raise DeviceNeedsReset(f"net tx short header ({buf.readable_len} < {size})", queue)
    raw = buf.gather(mem)
    hdr = NetHdr.unpack(raw[:size])
    frame = bytearray(raw[size:])
    if hdr.gso_type != GsoType.NONE:
        raise DeviceNeedsReset(f"net tx gso_type {hdr.gso_type:#x} not negotiated", queue)
    if hdr.flags & NetHdrFlag.NEEDS_CSUM:
        if not _has(negotiated, NetFeature.CSUM):
            raise DeviceNeedsReset("net tx csum requested without CSUM", queue)
        start, at = hdr.csum_start, hdr.csum_start + hdr.csum_offset
        if at + 2 > len(frame) or start > len(frame):
            return TxPacket(hdr, None, "csum_start/csum_offset beyond the frame")
        # the driver put the pseudo-header sum in the field; fold it with the rest
        frame[at : at + 2] = internet_checksum(bytes(frame[start:])).to_bytes(2, "big")
    if not frame:
        return TxPacket(hdr, None, "empty frame")
    if max_frame is not None and len(frame) > max_frame:
        return TxPacket(hdr, None, f"frame of {len(frame)} bytes longer than the port's {max_frame}")
    return TxPacket(hdr, bytes(frame))
