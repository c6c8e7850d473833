"""vhost-user wire format: request codes, header, payload codecs.

A message is a 12-byte header ``{u32 request; u32 flags; u32 size}``
followed by ``size`` payload bytes, all little-endian (host order on x86).
``flags`` bits 0-1 carry the protocol version (1), bit 2 marks a reply and
bit 3 asks for a REPLY_ACK.  File descriptors travel beside the message as
SCM_RIGHTS ancillary data.

Only pure encoding/decoding lives here; :mod:`.channel` moves bytes and fds,
:mod:`.session` gives them meaning.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "Request",
    "ProtocolFeature",
    "F_PROTOCOL_FEATURES",
    "VERSION",
    "FLAG_REPLY",
    "FLAG_NEED_REPLY",
    "HEADER",
    "MAX_PAYLOAD",
    "VRING_IDX_MASK",
    "VRING_NOFD",
    "MemRegionDesc",
    "VringState",
    "VringAddr",
    "ConfigMsg",
    "ProtocolError",
    "decode_u64",
    "encode_u64",
    "decode_mem_table",
    "decode_single_region",
    "decode_vring_state",
    "decode_vring_addr",
    "decode_config",
]


class Request(IntEnum):
    """Front-end -> back-end request codes (vhost-user spec)."""

    GET_FEATURES = 1
    SET_FEATURES = 2
    SET_OWNER = 3
    RESET_OWNER = 4
    SET_MEM_TABLE = 5
    SET_LOG_BASE = 6
    SET_LOG_FD = 7
    SET_VRING_NUM = 8
    SET_VRING_ADDR = 9
    SET_VRING_BASE = 10
    GET_VRING_BASE = 11
    SET_VRING_KICK = 12
    SET_VRING_CALL = 13
    SET_VRING_ERR = 14
    GET_PROTOCOL_FEATURES = 15
    SET_PROTOCOL_FEATURES = 16
    GET_QUEUE_NUM = 17
    SET_VRING_ENABLE = 18
    SEND_RARP = 19
    NET_SET_MTU = 20
    SET_SLAVE_REQ_FD = 21
    IOTLB_MSG = 22
    SET_VRING_ENDIAN = 23
    GET_CONFIG = 24
    SET_CONFIG = 25
    CREATE_CRYPTO_SESSION = 26
    CLOSE_CRYPTO_SESSION = 27
    POSTCOPY_ADVISE = 28
    POSTCOPY_LISTEN = 29
    POSTCOPY_END = 30
    GET_INFLIGHT_FD = 31
    SET_INFLIGHT_FD = 32
    GPU_SET_SOCKET = 33
    RESET_DEVICE = 34
    VRING_KICK = 35
    GET_MAX_MEM_SLOTS = 36
    ADD_MEM_REG = 37
    REM_MEM_REG = 38
    SET_STATUS = 39
    GET_STATUS = 40


class ProtocolFeature(IntEnum):
    """VHOST_USER_PROTOCOL_F_* bit numbers."""

    MQ = 0
    LOG_SHMFD = 1
    RARP = 2
    REPLY_ACK = 3
    NET_MTU = 4
    SLAVE_REQ = 5
    CROSS_ENDIAN = 6
    CRYPTO_SESSION = 7
    PAGEFAULT = 8
    CONFIG = 9
    SLAVE_SEND_FD = 10
    HOST_NOTIFIER = 11
    INFLIGHT_SHMFD = 12
    RESET_DEVICE = 13
    INBAND_NOTIFICATIONS = 14
    CONFIGURE_MEM_SLOTS = 15
    STATUS = 16


#: Virtio feature bit 30 on the vhost-user channel: protocol features exist.
#: (It overlaps virtio's unused bit 30, so it never reaches the device model.)
F_PROTOCOL_FEATURES = 30

VERSION = 0x1
FLAG_REPLY = 1 << 2
FLAG_NEED_REPLY = 1 << 3
HEADER = struct.Struct("<III")
#: Largest payload accepted (the spec's largest fixed payload is the memory
#: table, 8 + 8*32 bytes; GET_CONFIG is bounded by 256 bytes of config).
MAX_PAYLOAD = 4096
#: In SET_VRING_KICK/CALL/ERR payloads: bits 0-7 queue index, bit 8 "no fd".
VRING_IDX_MASK = 0xFF
VRING_NOFD = 1 << 8
MAX_REGIONS = 8


class ProtocolError(Exception):
    """The front-end sent something that is not valid vhost-user."""


@dataclass(frozen=True)
class MemRegionDesc:
    """``VhostUserMemoryRegion``: where a region lives for guest and front-end."""

    guest_phys_addr: int
    memory_size: int
    userspace_addr: int
    mmap_offset: int

    _S = struct.Struct("<QQQQ")

    @classmethod
    def unpack_from(cls, raw: bytes, off: int) -> "MemRegionDesc":
        """Decode the 32 bytes at ``off``."""
        return cls(*cls._S.unpack_from(raw, off))


@dataclass(frozen=True)
class VringState:
    """``vhost_vring_state``: ``{u32 index; u32 num}``."""

    index: int
    num: int

    _S = struct.Struct("<II")

    def pack(self) -> bytes:
        """8 bytes."""
        return self._S.pack(self.index, self.num & 0xFFFF_FFFF)


@dataclass(frozen=True)
class VringAddr:
    """``vhost_vring_addr`` (front-end virtual addresses).

    For a packed ring ``avail`` is the driver event suppression area and
    ``used`` the device event suppression area.
    """

    index: int
    flags: int
    desc: int
    used: int
    avail: int
    log: int

    _S = struct.Struct("<IIQQQQ")


@dataclass(frozen=True)
class ConfigMsg:
    """``VhostUserConfig``: ``{u32 offset; u32 size; u32 flags; u8 payload[size]}``."""

    offset: int
    size: int
    flags: int
    payload: bytes

    _S = struct.Struct("<III")

    def pack(self) -> bytes:
        """Header plus payload."""
        return self._S.pack(self.offset, self.size, self.flags) + self.payload


def _need(raw: bytes, n: int, what: str) -> None:
    if len(raw) < n:
        raise ProtocolError(f"{what}: payload of {len(raw)} bytes, need {n}")


def decode_u64(raw: bytes, what: str = "u64 payload") -> int:
    """A single u64 payload."""
    _need(raw, 8, what)
    return int.from_bytes(raw[:8], "little")


def encode_u64(value: int) -> bytes:
    """A single u64 payload."""
    return struct.pack("<Q", value & 0xFFFF_FFFF_FFFF_FFFF)


def decode_mem_table(raw: bytes) -> list[MemRegionDesc]:
    """SET_MEM_TABLE payload: ``{u32 nregions; u32 pad; region[nregions]}``."""
    _need(raw, 8, "SET_MEM_TABLE")
    (n,) = struct.unpack_from("<I", raw)
    if n > MAX_REGIONS:
        raise ProtocolError(f"SET_MEM_TABLE: {n} regions (max {MAX_REGIONS})")
    _need(raw, 8 + 32 * n, "SET_MEM_TABLE")
    return [MemRegionDesc.unpack_from(raw, 8 + 32 * i) for i in range(n)]


def decode_single_region(raw: bytes) -> MemRegionDesc:
    """ADD_MEM_REG / REM_MEM_REG payload: ``{u64 padding; region}``."""
    _need(raw, 40, "memory region message")
    return MemRegionDesc.unpack_from(raw, 8)


def decode_vring_state(raw: bytes) -> VringState:
    """``vhost_vring_state`` payload."""
    _need(raw, 8, "vring state")
    return VringState(*VringState._S.unpack_from(raw))


def decode_vring_addr(raw: bytes) -> VringAddr:
    """``vhost_vring_addr`` payload."""
    _need(raw, VringAddr._S.size, "SET_VRING_ADDR")
    return VringAddr(*VringAddr._S.unpack_from(raw))


def decode_config(raw: bytes) -> ConfigMsg:
    """GET_CONFIG / SET_CONFIG payload."""
    _need(raw, 12, "config message")
    off, size, flags = ConfigMsg._S.unpack_from(raw)
    if size > 256:
        raise ProtocolError(f"config message size {size} > 256")
    return ConfigMsg(off, size, flags, bytes(raw[12 : 12 + size]))
