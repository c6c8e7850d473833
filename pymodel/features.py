"""Feature bits and the FEATURES_OK decision (virtio.md §2, §1.3).

The three enums give the bit *numbers* (not masks); use :func:`mask` to build
a 64/128-bit feature word.  :data:`DEPENDENCIES` is the dependency table of
virtio.md §2.3 (virtio-net; virtio-blk and the transport bits have no
driver-side dependencies).  :func:`validate_driver_features` is the device's
decision when the driver newly sets FEATURES_OK, and :func:`validate_offer`
checks that a device configuration only offers a consistent set.

Dependencies written in parentheses in virtio.md ("(ctrl vq)", "(SHOULD have
CTRL_VQ)") are SHOULD-level: they are listed in :data:`SOFT_DEPENDENCIES` and
reported by :func:`dependency_warnings`, but never cause a rejection.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Iterable, Optional

__all__ = [
    "DeviceType",
    "Transport",
    "NetFeature",
    "BlkFeature",
    "Dependency",
    "DEPENDENCIES",
    "SOFT_DEPENDENCIES",
    "LEGACY_ONLY",
    "mask",
    "bits_of",
    "feature_name",
    "validate_driver_features",
    "validate_offer",
    "dependency_warnings",
]


class DeviceType(IntEnum):
    """Virtio device IDs (virtio.md §3.1: PCI device ID = 0x1040 + this)."""

    NET = 1
    BLK = 2

    @property
    def pci_device_id(self) -> int:
        """Modern (non-transitional) PCI device ID."""
        return 0x1040 + int(self)


class Transport(IntEnum):
    """Device-independent feature bits (virtio.md §2.2, §10 #1/#2)."""

    NOTIFY_ON_EMPTY = 24  # legacy only
    ANY_LAYOUT = 27  # legacy only
    INDIRECT_DESC = 28
    EVENT_IDX = 29
    UNUSED_30 = 30  # QEMU "bad feature" marker; never negotiate
    VERSION_1 = 32
    ACCESS_PLATFORM = 33
    RING_PACKED = 34
    IN_ORDER = 35
    ORDER_PLATFORM = 36
    SR_IOV = 37
    NOTIFICATION_DATA = 38
    NOTIF_CONFIG_DATA = 39
    RING_RESET = 40
    ADMIN_VQ = 41  # §10 #1: 41 is ADMIN_VQ on PCI
    SUSPEND = 43  # [1.4]; §10 #2: 43, not 42


class NetFeature(IntEnum):
    """virtio-net feature bits (virtio.md §2.3)."""

    CSUM = 0
    GUEST_CSUM = 1
    CTRL_GUEST_OFFLOADS = 2
    MTU = 3
    MAC = 5
    GSO = 6  # legacy only
    GUEST_TSO4 = 7
    GUEST_TSO6 = 8
    GUEST_ECN = 9
    GUEST_UFO = 10
    HOST_TSO4 = 11
    HOST_TSO6 = 12
    HOST_ECN = 13
    HOST_UFO = 14
    MRG_RXBUF = 15
    STATUS = 16
    CTRL_VQ = 17
    CTRL_RX = 18
    CTRL_VLAN = 19
    CTRL_RX_EXTRA = 20
    GUEST_ANNOUNCE = 21
    MQ = 22
    CTRL_MAC_ADDR = 23
    GUEST_RSC4 = 41  # legacy only; collides with ADMIN_VQ (§10 #1)
    GUEST_RSC6 = 42  # legacy only
    DEVICE_STATS = 50
    HASH_TUNNEL = 51
    VQ_NOTF_COAL = 52
    NOTF_COAL = 53
    GUEST_USO4 = 54
    GUEST_USO6 = 55
    HOST_USO = 56
    HASH_REPORT = 57
    GUEST_HDRLEN = 59
    RSS = 60
    RSC_EXT = 61
    STANDBY = 62
    SPEED_DUPLEX = 63
    RSS_CONTEXT = 64
    GUEST_UDP_TUNNEL_GSO = 65
    GUEST_UDP_TUNNEL_GSO_CSUM = 66
    HOST_UDP_TUNNEL_GSO = 67
    HOST_UDP_TUNNEL_GSO_CSUM = 68
    OUT_NET_HEADER = 69
    IPSEC = 70


class BlkFeature(IntEnum):
    """virtio-blk feature bits (virtio.md §2.4)."""

    BARRIER = 0  # legacy only
    SIZE_MAX = 1
    SEG_MAX = 2
    GEOMETRY = 4
    RO = 5
    BLK_SIZE = 6
    SCSI = 7  # legacy only
    FLUSH = 9
    TOPOLOGY = 10
    CONFIG_WCE = 11
    MQ = 12
    DISCARD = 13
    WRITE_ZEROES = 14
    LIFETIME = 15
    SECURE_ERASE = 16
    ZONED = 17


def mask(*bits: int) -> int:
    """Feature word with the given bit numbers set."""
    out = 0
    for b in bits:
        out |= 1 << int(b)
    return out


def bits_of(word: int) -> list[int]:
    """Bit numbers set in a feature word, ascending."""
    out = []
    b = 0
    while word:
        if word & 1:
            out.append(b)
        word >>= 1
        b += 1
    return out


def feature_name(device_type: DeviceType, bit: int) -> str:
    """Readable name of a feature bit for messages (``NET.MQ``, ``VERSION_1``)."""
    if 24 <= bit <= 41 or bit == 43:  # §10 #1: 41 is ADMIN_VQ on PCI
        try:
            return Transport(bit).name
        except ValueError:
            return f"bit{bit}"
    enum: type[IntEnum] = NetFeature if device_type == DeviceType.NET else BlkFeature
    try:
        return f"{device_type.name}.{enum(bit).name}"
    except ValueError:
        return f"bit{bit}"


@dataclass(frozen=True)
class Dependency:
    """``feature`` needs every bit of ``all_of`` and at least one of ``any_of``."""

    feature: int
    all_of: tuple[int, ...] = ()
    any_of: tuple[int, ...] = ()

    def satisfied(self, word: int) -> bool:
        """True if the prerequisites hold in ``word`` (or ``feature`` is absent)."""
        if not word >> self.feature & 1:
            return True
        if any(not word >> b & 1 for b in self.all_of):
            return False
        if self.any_of and not any(word >> b & 1 for b in self.any_of):
            return False
        return True

    def describe(self, device_type: DeviceType) -> str:
        """Human-readable form, e.g. ``NET.MQ needs NET.CTRL_VQ``."""
        parts = []
        if self.all_of:
            parts.append(" + ".join(feature_name(device_type, b) for b in self.all_of))
        if self.any_of:
            parts.append("(" + " or ".join(feature_name(device_type, b) for b in self.any_of) + ")")
        return f"{feature_name(device_type, self.feature)} needs {' + '.join(parts)}"


_N = NetFeature

#: Hard ("Requires") dependencies of virtio.md §2.3.  They bind both sides.
DEPENDENCIES: dict[DeviceType, tuple[Dependency, ...]] = {
    DeviceType.NET: (
        Dependency(_N.GUEST_TSO4, all_of=(_N.GUEST_CSUM,)),
        Dependency(_N.GUEST_TSO6, all_of=(_N.GUEST_CSUM,)),
        Dependency(_N.GUEST_ECN, any_of=(_N.GUEST_TSO4, _N.GUEST_TSO6)),
        Dependency(_N.GUEST_UFO, all_of=(_N.GUEST_CSUM,)),
        Dependency(_N.HOST_TSO4, all_of=(_N.CSUM,)),
        Dependency(_N.HOST_TSO6, all_of=(_N.CSUM,)),
        Dependency(_N.HOST_ECN, any_of=(_N.HOST_TSO4, _N.HOST_TSO6)),
        Dependency(_N.HOST_UFO, all_of=(_N.CSUM,)),
        Dependency(_N.CTRL_RX, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.CTRL_VLAN, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.GUEST_ANNOUNCE, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.MQ, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.CTRL_MAC_ADDR, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.HASH_TUNNEL, all_of=(_N.CTRL_VQ,), any_of=(_N.RSS, _N.HASH_REPORT)),
        Dependency(_N.VQ_NOTF_COAL, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.NOTF_COAL, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.GUEST_USO4, all_of=(_N.GUEST_CSUM,)),
        Dependency(_N.GUEST_USO6, all_of=(_N.GUEST_CSUM,)),
        Dependency(_N.HOST_USO, all_of=(_N.CSUM,)),
        Dependency(_N.RSS, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.RSC_EXT, any_of=(_N.HOST_TSO4, _N.HOST_TSO6)),
        Dependency(_N.RSS_CONTEXT, all_of=(_N.CTRL_VQ, _N.RSS)),
        Dependency(
            _N.GUEST_UDP_TUNNEL_GSO,
            all_of=(_N.GUEST_TSO4, _N.GUEST_TSO6, _N.GUEST_USO4, _N.GUEST_USO6),
        ),
        Dependency(_N.GUEST_UDP_TUNNEL_GSO_CSUM, all_of=(_N.GUEST_UDP_TUNNEL_GSO,)),
        Dependency(_N.HOST_UDP_TUNNEL_GSO, all_of=(_N.HOST_TSO4, _N.HOST_TSO6, _N.HOST_USO)),
        Dependency(_N.HOST_UDP_TUNNEL_GSO_CSUM, all_of=(_N.HOST_UDP_TUNNEL_GSO,)),
    ),
    DeviceType.BLK: (),
}

#: SHOULD-level dependencies (parenthesised in virtio.md §2.3, §10 #19).
SOFT_DEPENDENCIES: dict[DeviceType, tuple[Dependency, ...]] = {
    DeviceType.NET: (
        Dependency(_N.CTRL_GUEST_OFFLOADS, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.CTRL_RX_EXTRA, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.DEVICE_STATS, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.HASH_REPORT, all_of=(_N.CTRL_VQ,)),
        Dependency(_N.IPSEC, all_of=(_N.OUT_NET_HEADER,)),
        Dependency(_N.RSC_EXT, any_of=(_N.GUEST_TSO4, _N.GUEST_TSO6)),
    ),
    DeviceType.BLK: (),
}

#: Bits a modern (VERSION_1) device must never offer.
LEGACY_ONLY: dict[DeviceType, int] = {
    DeviceType.NET: mask(
        Transport.NOTIFY_ON_EMPTY, Transport.ANY_LAYOUT, Transport.UNUSED_30, _N.GSO, _N.GUEST_RSC6
    ),
    DeviceType.BLK: mask(
        Transport.NOTIFY_ON_EMPTY,
        Transport.ANY_LAYOUT,
        Transport.UNUSED_30,
        BlkFeature.BARRIER,
        BlkFeature.SCSI,
    ),
}

#: Reserved bit ranges (virtio.md §2.1): 44-49 and >= 128.
_RESERVED = mask(*range(44, 50))
_MAX_BITS = 128


def _names(device_type: DeviceType, word: int) -> str:
    return ", ".join(feature_name(device_type, b) for b in bits_of(word))


def _broken(deps: Iterable[Dependency], word: int) -> list[Dependency]:
    return [d for d in deps if not d.satisfied(word)]


def validate_driver_features(
    device_type: DeviceType, offered: int, accepted: int
) -> Optional[str]:
    """Decide FEATURES_OK (virtio.md §1.3, §2).

    Returns ``None`` if the device accepts the driver's feature set, otherwise
    a one-line reason.  The checks, in order:

    1. ``accepted`` is a subset of ``offered``;
    2. VERSION_1 is accepted (the driver MUST accept it);
    3. ACCESS_PLATFORM, if offered, is accepted (rejecting is allowed by the
       spec and is what QEMU does; we choose to reject);
    4. every hard dependency of :data:`DEPENDENCIES` holds within ``accepted``.

    SHOULD-level dependencies never cause a rejection.  The decision is a pure
    function of its inputs, so a set accepted once is accepted again after a
    reset (§1.3).
    """
    device_type = DeviceType(device_type)
    extra = accepted & ~offered
    if extra:
        return f"accepted bits not offered: {_names(device_type, extra)}"
    if not accepted >> Transport.VERSION_1 & 1:
        return "VERSION_1 not accepted"
    if offered >> Transport.ACCESS_PLATFORM & 1 and not accepted >> Transport.ACCESS_PLATFORM & 1:
        return "ACCESS_PLATFORM offered but not accepted"
    broken = _broken(DEPENDENCIES[device_type], accepted)
    if broken:
        return "dependency not met: " + "; ".join(d.describe(device_type) for d in broken)
    return None


def validate_offer(device_type: DeviceType, offered: int) -> Optional[str]:
    """Check a device's offered feature set; ``None`` if consistent.

    A device MUST offer VERSION_1, must not offer legacy-only or reserved
    bits, must offer every hard prerequisite of what it offers (§2.3 "bind
    both sides"), and a blk device offering CONFIG_WCE must offer FLUSH
    (§2.4).
    """
    device_type = DeviceType(device_type)
    if not offered >> Transport.VERSION_1 & 1:
        return "VERSION_1 not offered"
    if offered >> _MAX_BITS:
        return "bits >= 128 are reserved"
    bad = offered & (LEGACY_ONLY[device_type] | _RESERVED)
    if bad:
        return f"legacy-only or reserved bits offered: {_names(device_type, bad)}"
    broken = _broken(DEPENDENCIES[device_type], offered)
    if broken:
        return "dependency not met: " + "; ".join(d.describe(device_type) for d in broken)
    if device_type == DeviceType.BLK and offered >> BlkFeature.CONFIG_WCE & 1:
        if not offered >> BlkFeature.FLUSH & 1:
            return "blk CONFIG_WCE offered without FLUSH"
    return None


def dependency_warnings(device_type: DeviceType, word: int) -> list[str]:
    """SHOULD-level dependencies broken in ``word`` (never a rejection)."""
    device_type = DeviceType(device_type)
    return [d.describe(device_type) for d in _broken(SOFT_DEPENDENCIES[device_type], word)]
