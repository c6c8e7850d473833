"""virtio-net control queue commands (virtio.md §6.4-§6.6), one test per command."""

from __future__ import annotations

import struct

import pytest

from pymodel.buffers import Buffer, Segment
from pymodel.coalescing import CoalescingParams
from pymodel.errors import DeviceNeedsReset
from pymodel.features import NetFeature as N, Transport as T, mask
from pymodel.memory import SparseMemory
from pymodel.net import NetConfig, NetStatus
from pymodel.net_ctrl import Ack, CtrlEffectKind, NetCtrl

pytestmark = pytest.mark.model

ALL = mask(T.VERSION_1, N.CTRL_VQ, N.CTRL_RX, N.CTRL_RX_EXTRA, N.CTRL_VLAN, N.GUEST_ANNOUNCE, N.MQ,
           N.CTRL_MAC_ADDR, N.CTRL_GUEST_OFFLOADS, N.GUEST_CSUM, N.NOTF_COAL, N.VQ_NOTF_COAL, N.MAC)
OK, ERR = Ack.OK, Ack.ERR


def make(features: int = ALL, enabled: set[int] | None = None) -> NetCtrl:
    en = set(range(9)) if enabled is None else enabled
    c = NetCtrl(NetConfig(max_virtqueue_pairs=4), vq_enabled=lambda vq: vq in en)
    c.set_features(features)
    return c


@pytest.mark.parametrize("cmd,attr", [(0, "promisc"), (1, "allmulti"), (2, "alluni"), (3, "nomulti"),
                                      (4, "nouni"), (5, "nobcast")])
def test_rx_mode_commands(cmd: int, attr: str) -> None:
    c = make()
    assert c.handle(0, cmd, b"\x01").ack == OK and getattr(c.rx_filter, attr) is True
    assert c.handle(0, cmd, b"\x00").ack == OK and getattr(c.rx_filter, attr) is False
    assert c.handle(0, cmd, b"").ack == ERR


def test_rx_mode_needs_its_feature() -> None:
    c = make(ALL & ~mask(N.CTRL_RX_EXTRA))
    assert c.handle(0, 0, b"\x00").ack == OK
    assert c.handle(0, 2, b"\x01").ack == ERR and not c.rx_filter.alluni
    c = make(ALL & ~mask(N.CTRL_RX, N.CTRL_RX_EXTRA))
    assert c.handle(0, 0, b"\x00").ack == ERR and c.rx_filter.promisc


def test_rx_mode_unknown_command() -> None:
    assert make().handle(0, 6, b"\x01").ack == ERR


def mac_table(uni: list[bytes], multi: list[bytes]) -> bytes:
    return struct.pack("<I", len(uni)) + b"".join(uni) + struct.pack("<I", len(multi)) + b"".join(multi)


def test_mac_table_set() -> None:
    c = make()
    u, m = bytes.fromhex("020000000001"), bytes.fromhex("01005e000001")
    assert c.handle(1, 0, mac_table([u], [m])).ack == OK
    assert c.rx_filter.uni == [u] and c.rx_filter.multi == [m]
    assert c.handle(1, 0, mac_table([u], [m]) + b"\0").ack == ERR  # multicast part must be exact
    assert c.handle(1, 0, struct.pack("<I", 2) + u).ack == ERR  # truncated
    assert c.rx_filter.uni == [u]  # failed commands change nothing


def test_mac_table_overflow_accepts_all() -> None:
    c = make()
    many = [bytes([2, 0, 0, 0, i >> 8, i & 0xFF]) for i in range(65)]
    assert c.handle(1, 0, mac_table(many, [])).ack == OK
    assert c.rx_filter.uni_overflow and c.rx_filter.uni == []


def test_mac_addr_set() -> None:
    c = make()
    new = bytes.fromhex("0211223344ff")
    out = c.handle(1, 1, new)
    assert out.ack == OK and c.config.mac == new and c.config.read(0, 6) == int.from_bytes(new, "little")
    assert out.effects[0].kind == CtrlEffectKind.MAC_CHANGED
    assert c.handle(1, 1, new + b"\0").ack == ERR  # exactly 6 bytes
    assert make(ALL & ~mask(N.CTRL_MAC_ADDR)).handle(1, 1, new).ack == ERR


def test_vlan_add_del() -> None:
    c = make()
    assert c.rx_filter.vlan_filtering
    assert c.handle(2, 0, struct.pack("<H", 100)).ack == OK and c.rx_filter.vlans == {100}
    assert c.handle(2, 1, struct.pack("<H", 100)).ack == OK and c.rx_filter.vlans == set()
    assert c.handle(2, 0, struct.pack("<H", 4096)).ack == ERR
    assert c.handle(2, 2, struct.pack("<H", 1)).ack == ERR
    assert make(ALL & ~mask(N.CTRL_VLAN)).handle(2, 0, struct.pack("<H", 1)).ack == ERR


def test_announce_ack_clears_status_bit() -> None:
    c = make()
    c.config.status |= NetStatus.ANNOUNCE
    assert c.handle(3, 0, b"").ack == OK
    assert c.config.status == NetStatus.LINK_UP
    assert c.handle(3, 1, b"").ack == ERR
    assert make(ALL & ~mask(N.GUEST_ANNOUNCE)).handle(3, 0, b"").ack == ERR


def test_mq_vq_pairs_set() -> None:
    c = make()
    out = c.handle(4, 0, struct.pack("<H", 3))
    assert out.ack == OK and c.curr_pairs == 3 and out.effects[0].value == 3
    for bad in (0, 5):
        assert c.handle(4, 0, struct.pack("<H", bad)).ack == ERR
    assert c.curr_pairs == 3
    assert make(ALL & ~mask(N.MQ)).handle(4, 0, struct.pack("<H", 1)).ack == ERR


@pytest.mark.parametrize("cmd", [1, 2])
def test_mq_rss_and_hash_config_not_negotiated(cmd: int) -> None:
    assert make().handle(4, cmd, bytes(64)).ack == ERR


def test_guest_offloads_set() -> None:
    c = make()
    assert c.guest_offloads == 1 << N.GUEST_CSUM
    assert c.handle(5, 0, struct.pack("<Q", 0)).ack == OK and c.guest_offloads == 0
    assert c.handle(5, 0, struct.pack("<Q", 1 << N.GUEST_CSUM)).ack == OK
    assert c.handle(5, 0, struct.pack("<Q", 1 << N.GUEST_TSO4)).ack == ERR  # not negotiated
    assert c.handle(5, 0, struct.pack("<Q", 1 << 3)).ack == ERR  # not an offload bit
    assert c.handle(5, 0, b"\0" * 7).ack == ERR
    assert c.handle(5, 1, struct.pack("<Q", 0)).ack == ERR


def coal(p: int, u: int) -> bytes:
    return struct.pack("<II", p, u)


def test_notf_coal_tx_rx_set() -> None:
    c = make()
    c.handle(4, 0, struct.pack("<H", 4))
    out = c.handle(6, 0, coal(16, 50))
    assert out.ack == OK and c.coalescing(1) == CoalescingParams(16, 50) == c.coalescing(7)
    assert {e.vq for e in out.effects} == {1, 3, 5, 7}
    assert c.coalescing(0) == CoalescingParams(0, 0)
    assert c.handle(6, 1, coal(8, 20)).ack == OK and c.coalescing(6) == CoalescingParams(8, 20)
    assert c.handle(6, 0, coal(1, 1)[:7]).ack == ERR
    assert make(ALL & ~mask(N.NOTF_COAL)).handle(6, 0, coal(1, 1)).ack == ERR


def test_notf_coal_vq_set_get_and_last_command_wins() -> None:
    c = make()
    assert c.handle(6, 2, struct.pack("<HH", 0, 0) + coal(5, 6)).ack == OK
    assert c.coalescing(0) == CoalescingParams(5, 6)
    get = c.handle(6, 3, struct.pack("<H", 0), writable=9)  # Linux sends only the 2-byte vqn
    assert get.ack == OK and get.result == coal(5, 6) and get.used_len == 9
    assert c.handle(6, 1, coal(9, 9)).ack == OK  # RX_SET after VQ_SET(0) overwrites vq 0
    assert c.coalescing(0) == CoalescingParams(9, 9)


def test_notf_coal_vq_commands_reject_bad_vqs() -> None:
    c = make(enabled={0, 1})
    c.handle(4, 0, struct.pack("<H", 4))
    assert c.handle(6, 2, struct.pack("<HH", 2, 0) + coal(1, 1)).ack == ERR  # not enabled
    assert c.handle(6, 2, struct.pack("<HH", 8, 0) + coal(1, 1)).ack == ERR  # the controlq
    assert c.handle(6, 3, struct.pack("<H", 9), writable=9).ack == ERR
    assert c.handle(6, 3, struct.pack("<H", 0), writable=1).ack == ERR  # no room for the result
    assert make(ALL & ~mask(N.VQ_NOTF_COAL)).handle(6, 3, struct.pack("<H", 0), writable=9).ack == ERR


def test_queue_reenable_reverts_to_class_wide_values() -> None:
    c = make()
    c.handle(6, 1, coal(4, 4))
    c.handle(6, 2, struct.pack("<HH", 0, 0) + coal(7, 7))
    c.on_queue_reenabled(0)
    assert c.coalescing(0) == CoalescingParams(4, 4)


@pytest.mark.parametrize(("klass", "cmd"), [(7, 0), (8, 0), (9, 0), (255, 0), (6, 4), (1, 2)])
def test_unknown_class_or_command_err(klass: int, cmd: int) -> None:
    assert make().handle(klass, cmd, bytes(16)).ack == ERR


def test_reset_restores_defaults() -> None:
    c = make()
    c.handle(0, 0, b"\x00")
    c.handle(1, 1, bytes(6))
    c.handle(4, 0, struct.pack("<H", 2))
    c.handle(6, 0, coal(3, 3))
    c.reset()
    assert c.rx_filter.promisc and c.curr_pairs == 1 and c.coalescing(1) == CoalescingParams()
    assert c.config.mac == NetConfig().mac


def ctrl_buffer(mem: SparseMemory, readable: bytes, writable: int) -> Buffer:
    mem.write(0x1000, readable)
    mem.write(0x2000, b"\xEE" * writable)
    segs = []
    if readable:
        segs.append(Segment(0x1000, len(readable), False))
    if writable:
        segs.append(Segment(0x2000, writable, True))
    return Buffer(0, tuple(segs), len(segs), 0)


def test_process_writes_ack_first_then_result() -> None:
    mem, c = SparseMemory(), make()
    c.handle(6, 2, struct.pack("<HH", 1, 0) + coal(0x11, 0x22))
    out = c.process(ctrl_buffer(mem, bytes([6, 3]) + struct.pack("<H", 1), 9), mem)
    assert out.ack == OK and mem.read(0x2000, 9) == b"\x00" + coal(0x11, 0x22)
    out = c.process(ctrl_buffer(mem, bytes([99, 0]), 1), mem)
    assert out.ack == ERR and mem.read(0x2000, 1) == b"\x01" and out.used_len == 1


@pytest.mark.parametrize(("readable", "writable"), [(b"\x00", 1), (b"\x00\x00\x01", 0), (b"", 1)])
def test_ctrl_missing_headers_needs_reset(readable: bytes, writable: int) -> None:
    mem, c = SparseMemory(), make()
    with pytest.raises(DeviceNeedsReset, match="net ctrl missing headers"):
        c.process(ctrl_buffer(mem, readable, writable), mem)


def test_command_longer_than_the_device_limit_is_err() -> None:
    """NetConfig.max_ctrl_cmd (a device limit, e.g. the firmware mailbox): a longer command gets ERR, no effect."""
    c = NetCtrl(NetConfig(max_virtqueue_pairs=4, max_ctrl_cmd=16), vq_enabled=lambda vq: True)
    c.set_features(ALL)
    mem = SparseMemory()
    ok = c.process(ctrl_buffer(mem, bytes([6, 1]) + coal(8, 20).ljust(14, b"\0"), 1), mem)   # 16 bytes: taken
    assert ok.ack == OK and c.coalescing(0) == CoalescingParams(8, 20)
    out = c.process(ctrl_buffer(mem, bytes([6, 1]) + coal(4, 4).ljust(15, b"\0"), 1), mem)   # 17 bytes
    assert out.ack == ERR and not out.effects and c.coalescing(0) == CoalescingParams(8, 20)
