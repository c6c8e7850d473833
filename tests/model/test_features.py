"""Feature bits and the FEATURES_OK decision (virtio.md §2, §1.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pymodel.features import (
    BlkFeature as B,
    DeviceType,
    NetFeature as N,
    Transport as T,
    dependency_warnings,
    mask,
    validate_driver_features,
    validate_offer,
)

from .support import MODEL_SETTINGS

pytestmark = pytest.mark.model

V1 = mask(T.VERSION_1)


def test_bit_numbers_from_the_spec_tables() -> None:
    # §2.2
    assert (T.INDIRECT_DESC, T.EVENT_IDX, T.VERSION_1, T.ACCESS_PLATFORM, T.RING_PACKED) == (28, 29, 32, 33, 34)
    assert (T.IN_ORDER, T.ORDER_PLATFORM, T.SR_IOV, T.NOTIFICATION_DATA) == (35, 36, 37, 38)
    assert (T.NOTIF_CONFIG_DATA, T.RING_RESET, T.ADMIN_VQ, T.SUSPEND) == (39, 40, 41, 43)
    # §2.3
    assert (N.MRG_RXBUF, N.CTRL_VQ, N.MQ, N.CTRL_MAC_ADDR) == (15, 17, 22, 23)
    assert (N.VQ_NOTF_COAL, N.NOTF_COAL, N.HASH_REPORT, N.RSS, N.SPEED_DUPLEX) == (52, 53, 57, 60, 63)
    assert (N.OUT_NET_HEADER, N.IPSEC) == (69, 70)
    # §2.4
    assert (B.RO, B.FLUSH, B.CONFIG_WCE, B.MQ, B.DISCARD, B.WRITE_ZEROES, B.ZONED) == (5, 9, 11, 12, 13, 14, 17)
    assert DeviceType.NET.pci_device_id == 0x1041 and DeviceType.BLK.pci_device_id == 0x1042


def test_accept_valid_subset() -> None:
    offered = mask(T.VERSION_1, T.RING_PACKED, T.EVENT_IDX, N.CTRL_VQ, N.MQ, N.MAC)
    assert validate_driver_features(DeviceType.NET, offered, mask(T.VERSION_1, N.MAC)) is None
    assert validate_driver_features(DeviceType.NET, offered, offered) is None


def test_reject_without_version_1() -> None:
    offered = mask(T.VERSION_1, N.MAC)
    r = validate_driver_features(DeviceType.NET, offered, mask(N.MAC))
    assert r is not None and "VERSION_1" in r


def test_reject_bits_not_offered() -> None:
    r = validate_driver_features(DeviceType.BLK, V1, V1 | mask(B.RO))
    assert r is not None and "not offered" in r and "RO" in r


def test_reject_access_platform_offered_not_accepted() -> None:
    offered = mask(T.VERSION_1, T.ACCESS_PLATFORM)
    assert validate_driver_features(DeviceType.BLK, offered, V1) is not None
    assert validate_driver_features(DeviceType.BLK, offered, offered) is None


@pytest.mark.parametrize(
    ("feature", "needs"),
    [
        (N.GUEST_TSO4, [N.GUEST_CSUM]),
        (N.GUEST_TSO6, [N.GUEST_CSUM]),
        (N.GUEST_UFO, [N.GUEST_CSUM]),
        (N.GUEST_USO4, [N.GUEST_CSUM]),
        (N.GUEST_USO6, [N.GUEST_CSUM]),
        (N.HOST_TSO4, [N.CSUM]),
        (N.HOST_TSO6, [N.CSUM]),
        (N.HOST_UFO, [N.CSUM]),
        (N.HOST_USO, [N.CSUM]),
        (N.CTRL_RX, [N.CTRL_VQ]),
        (N.CTRL_VLAN, [N.CTRL_VQ]),
        (N.GUEST_ANNOUNCE, [N.CTRL_VQ]),
        (N.MQ, [N.CTRL_VQ]),
        (N.CTRL_MAC_ADDR, [N.CTRL_VQ]),
        (N.NOTF_COAL, [N.CTRL_VQ]),
        (N.VQ_NOTF_COAL, [N.CTRL_VQ]),
        (N.RSS, [N.CTRL_VQ]),
        (N.RSS_CONTEXT, [N.CTRL_VQ, N.RSS]),
        (N.GUEST_UDP_TUNNEL_GSO, [N.GUEST_TSO4, N.GUEST_TSO6, N.GUEST_USO4, N.GUEST_USO6]),
        (N.HOST_UDP_TUNNEL_GSO, [N.HOST_TSO4, N.HOST_TSO6, N.HOST_USO]),
    ],
)
def test_each_hard_dependency(feature: int, needs: list[int]) -> None:
    # closure of the prerequisites (their own prerequisites included)
    closure: dict[int, list[int]] = {N.GUEST_TSO4: [N.GUEST_CSUM], N.GUEST_TSO6: [N.GUEST_CSUM], N.GUEST_USO4: [N.GUEST_CSUM],
               N.GUEST_USO6: [N.GUEST_CSUM], N.HOST_TSO4: [N.CSUM], N.HOST_TSO6: [N.CSUM],
               N.HOST_USO: [N.CSUM]}
    full: set[int] = set(needs)
    for n in needs:
        full |= set(closure.get(n, []))
    offered = V1 | mask(feature, *full)
    assert validate_driver_features(DeviceType.NET, offered, offered) is None
    for missing in needs:
        accepted = offered & ~mask(missing)
        r = validate_driver_features(DeviceType.NET, offered, accepted)
        assert r is not None and "dependency" in r, (feature, missing)


@pytest.mark.parametrize(
    ("feature", "either"),
    [
        (N.GUEST_ECN, [N.GUEST_TSO4, N.GUEST_TSO6]),
        (N.HOST_ECN, [N.HOST_TSO4, N.HOST_TSO6]),
        (N.RSC_EXT, [N.HOST_TSO4, N.HOST_TSO6]),
    ],
)
def test_either_or_dependencies(feature: int, either: list[int]) -> None:
    base = V1 | mask(N.CSUM, N.GUEST_CSUM, feature)
    offered = base | mask(*either)
    for one in either:
        assert validate_driver_features(DeviceType.NET, offered, base | mask(one)) is None
    assert validate_driver_features(DeviceType.NET, offered, base) is not None


def test_hash_tunnel_needs_ctrl_vq_and_rss_or_hash_report() -> None:
    offered = V1 | mask(N.HASH_TUNNEL, N.CTRL_VQ, N.RSS, N.HASH_REPORT)
    ok = V1 | mask(N.HASH_TUNNEL, N.CTRL_VQ, N.HASH_REPORT)
    assert validate_driver_features(DeviceType.NET, offered, ok) is None
    assert validate_driver_features(DeviceType.NET, offered, V1 | mask(N.HASH_TUNNEL, N.CTRL_VQ)) is not None
    assert validate_driver_features(DeviceType.NET, offered, V1 | mask(N.HASH_TUNNEL, N.RSS)) is not None


def test_soft_dependencies_never_reject() -> None:
    offered = V1 | mask(N.CTRL_RX_EXTRA, N.CTRL_GUEST_OFFLOADS)
    assert validate_driver_features(DeviceType.NET, offered, offered) is None
    assert len(dependency_warnings(DeviceType.NET, offered)) == 2


def test_blk_has_no_driver_side_dependencies() -> None:
    offered = V1 | mask(B.FLUSH, B.CONFIG_WCE, B.DISCARD)
    assert validate_driver_features(DeviceType.BLK, offered, V1 | mask(B.CONFIG_WCE)) is None


def test_offer_rules() -> None:
    assert validate_offer(DeviceType.NET, mask(N.MAC)) == "VERSION_1 not offered"
    assert validate_offer(DeviceType.BLK, V1 | mask(B.CONFIG_WCE)) is not None  # needs FLUSH
    assert validate_offer(DeviceType.BLK, V1 | mask(B.CONFIG_WCE, B.FLUSH)) is None
    assert validate_offer(DeviceType.NET, V1 | mask(N.GSO)) is not None  # legacy only
    assert validate_offer(DeviceType.NET, V1 | mask(T.UNUSED_30)) is not None
    assert validate_offer(DeviceType.NET, V1 | mask(45)) is not None  # reserved 44-49
    assert validate_offer(DeviceType.NET, V1 | mask(N.MQ)) is not None  # MQ without CTRL_VQ
    assert validate_offer(DeviceType.NET, V1 | mask(N.MQ, N.CTRL_VQ, N.RSS_CONTEXT)) is not None


@MODEL_SETTINGS
@given(offered=st.integers(0, (1 << 71) - 1), accepted=st.integers(0, (1 << 71) - 1))
def test_decision_is_pure_and_subset_rule_holds(offered: int, accepted: int) -> None:
    offered |= V1
    accepted &= offered
    accepted |= V1
    r1 = validate_driver_features(DeviceType.NET, offered, accepted)
    r2 = validate_driver_features(DeviceType.NET, offered, accepted)
    assert r1 == r2  # accepted before a reset -> accepted after (§1.3)
    if r1 is None:
        assert accepted & ~offered == 0
    extra = validate_driver_features(DeviceType.NET, offered & ~1, accepted | 1) if accepted & 1 == 0 else None
    assert extra is None or "not offered" in extra
