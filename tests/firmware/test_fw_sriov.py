"""Functions that come and go: SR-IOV VFs (FUNC_STATE.EXISTS) and FLR (FUNC_STATE.FLR),
DEV_FUNCS against the board, the max_pairs clamp, vio_fw_func_info -- the firmware's
lifecycle policy (firmware/README.md "Functions, VFs and FLR") on the fake register file
of tests/firmware/mgmt_fake.py.

The device is the default build's numbering (/tmp/briefs/sriov_spec.md): NUM_PF 2, PF0
virtio-net (fn 0), PF1 virtio-blk (fn 1), TotalVFs [4, 4]: fn 2..5 VFs of PF0 (net),
fn 6..9 VFs of PF1 (blk).  Every check is on what the fake RECORDED: register writes
(the HAL log, FUNC_APPLY loads in ``applies``), mailbox answers, and the state the fake's
FUNC_APPLY / COAL_APPLY / FILTER_CMD built -- compared with a pymodel NetCtrl provisioned
from the same board row.
"""

from __future__ import annotations

import ctypes as C
import struct

import pytest

from tb.fw_host import (BOOT_EFUNCS, BOOT_EPROVISION, POLL_CTRLQ, POLL_FUNC_EVENT, BoardFunc, FuncInfoC,
                        load_loop_lib)
from pymodel.net import NetStatus
from tb.mgmt import regs as R
from tests.firmware.mgmt_fake import ACK, DRIVER, FEATURES_OK, ALL, MAC1, Loop, c

pytestmark = pytest.mark.firmware

ERR = b"\x01"
MAC_PF0 = bytes.fromhex("525400aa0000")
NET_VFS, BLK_VFS = (2, 3, 4, 5), (6, 7, 8, 9)


def vf_mac(i: int) -> bytes:
    return bytes.fromhex("0200000000") + bytes([0x10 + i])


def board(pairs: tuple[int, int, int, int] = (1, 2, 3, 1), pf_pairs: int = 2) -> list[BoardFunc]:
    return ([BoardFunc(MAC_PF0, pf_pairs), BoardFunc(is_net=False)]
            + [BoardFunc(vf_mac(i), p, link_up=(i != 4), is_vf=True) for i, p in zip(NET_VFS, pairs)]
            + [BoardFunc(is_net=False, is_vf=True) for _ in BLK_VFS])


def make(lib, funcs: list[BoardFunc] | None = None, **kw) -> Loop:  # type: ignore[no-untyped-def]
    """The default device with every VF absent (VF Enable 0)."""
    lp = Loop(lib, funcs if funcs is not None else board(), total_vfs=[4, 4], **kw)
    for i in NET_VFS + BLK_VFS:
        lp.dev.f[i].exists = False
    return lp


@pytest.fixture(scope="module")
def lib():  # type: ignore[no-untyped-def]
    return load_loop_lib()


@pytest.fixture
def dev(lib):  # type: ignore[no-untyped-def]
    lp = make(lib)
    yield lp
    lp.close()


def effect_funcs(lp: Loop, start: int = 0) -> dict[int, list[str]]:
    """Functions that got a device effect in log[start:] -> the effect registers written
    (FUNC_APPLY under FUNC_SEL, COAL_APPLY under COAL_SEL.FUNC, FILTER_CMD under FILTER_SEL.FUNC).
    The select registers are replayed from the start of the log (the firmware skips a select
    write that changes nothing)."""
    sel: dict[int, int] = {}
    out: dict[int, list[str]] = {}
    pulse = {R.FUNC_APPLY_OFFSET: (R.FUNC_SEL_OFFSET, "FUNC_APPLY"),
             R.COAL_APPLY_OFFSET: (R.COAL_SEL_OFFSET, "COAL_APPLY"),
             R.FILTER_CMD_OFFSET: (R.FILTER_SEL_OFFSET, "FILTER_CMD")}
    for k, (d, off, v) in enumerate(lp.dev.log):
        if d != "W":
            continue
        if off in (R.FUNC_SEL_OFFSET, R.COAL_SEL_OFFSET, R.FILTER_SEL_OFFSET):
            sel[off] = v & 0xFF
        elif off in pulse and k >= start:
            s, name = pulse[off]
            out.setdefault(sel.get(s, 0), []).append(name)
    return out


def func_state_reads(lp: Loop, start: int = 0) -> list[int]:
    """Functions whose FUNC_STATE was read in log[start:], in order."""
    cur, out = 0, []
    for k, (d, off, v) in enumerate(lp.dev.log):
        if d == "W" and off == R.FUNC_SEL_OFFSET:
            cur = v & 0xFF
        elif d == "R" and off == R.FUNC_STATE_OFFSET and k >= start:
            out.append(cur)
    return out


def expect_provisioned(lp: Loop, i: int, max_pairs: int | None = None, link_up: bool | None = None) -> None:
    """Function i as provisioning from its board row leaves it, checked on what the fake holds:
    the last FUNC_APPLY of i, coalescing 0 on every data vq, filters empty; the pymodel of i is
    replaced by a fresh one (provisioning = a new NetCtrl) and compared (check_state).
    ``max_pairs`` / ``link_up``: expected instead of the row's (clamp, vio_fw_set_link)."""
    bf = lp.funcs[i]
    mp = bf.max_pairs if max_pairs is None else max_pairs
    link = bf.link_up if link_up is None else link_up
    last = [a for a in lp.dev.applies if a[0] == i][-1]
    assert last == (i, bf.mac, int(link), mp, 1, 1), f"fn {i}: last FUNC_APPLY {last}\n{lp.trace()}"
    f = lp.dev.f[i]
    assert {vq: f.coal[vq] for vq in range(2 * mp)} == {vq: (0, 0) for vq in range(2 * mp)}, (i, f.coal)
    lp.models[i] = lp.fresh_model(i, mp)
    lp.models[i].config.status = NetStatus.LINK_UP if link else NetStatus(0)
    lp.check_state(i)


def present(lp: Loop, i: int, raw: bytes, room: int = 1) -> tuple[int, bytes]:
    n = len(lp.dev.answers)
    lp.dev.present(i, raw, room)
    assert lp.poll() & POLL_CTRLQ
    assert len(lp.dev.answers) == n + 1, lp.trace()
    return lp.dev.answers[-1]


# ------------------------------------------------------------------------------------------ boot
def test_boot_provisions_only_the_live_net_functions(dev: Loop) -> None:
    assert dev.boot() == 0
    assert dev.dev.irq_enable == 7
    # FUNC_STATE of every function is read; only PF0 (the one live net function) gets effects
    assert sorted(set(func_state_reads(dev))) == list(range(10))
    eff = effect_funcs(dev)
    assert set(eff) == {0}, eff
    expect_provisioned(dev, 0)
    assert [a[0] for a in dev.dev.applies] and {a[0] for a in dev.dev.applies} == {0}
    info = {i: dev.info(i) for i in range(10)}
    assert info[0] | {"mac": None} == dict(exists=1, flr=0, is_vf=0, pf=0, is_net=1, provisioned=1, clamped=0,
                                           link_up=1, mac=None, max_pairs=2, flr_count=0, provisions=1)
    assert info[0]["mac"] == MAC_PF0
    assert (info[1]["is_net"], info[1]["provisioned"], info[1]["exists"], info[1]["pf"]) == (0, 0, 1, 1)
    for i in NET_VFS + BLK_VFS:
        want_pf = 0 if i in NET_VFS else 1
        got = (info[i]["exists"], info[i]["is_vf"], info[i]["pf"], info[i]["provisioned"], info[i]["max_pairs"],
               info[i]["is_net"], info[i]["mac"])
        assert got == (0, 1, want_pf, 0, 0, int(i in NET_VFS), bytes(6)), (i, info[i])
    s = dev.stats()
    assert (s["provisions"], s["vf_appeared"], s["vf_gone"], s["flr_seen"], s["refused"]) == (1, 0, 0, 0, 0), s
    out = FuncInfoC(exists=7)
    assert dev.lib.vio_fw_func_info(dev.fw, 10, C.byref(out)) == -1 and out.exists == 7  # no such function
    # a command for a VF that does not exist: ERR, not run
    mark = len(dev.dev.log)
    assert present(dev, 3, c(4, 0, struct.pack("<H", 1))) == (1, ERR)
    assert effect_funcs(dev, mark) == {} and dev.stats()["refused"] == 1


def test_vf_appearing_during_the_boot_scan_is_not_lost(dev: Loop) -> None:
    """VF 2 appears while boot scans (after its FUNC_STATE was read): the event is kept for the
    first poll (IRQ_STATUS is cleared BEFORE the scan), which provisions it."""
    seen = []

    def hook(d: str, off: int) -> None:
        if d == "R" and off == R.FUNC_STATE_OFFSET:
            seen.append(1)
            if len(seen) == 5:           # fn 2 and fn 3 were read: too late for this scan
                dev.dev.set_exists(2, True)
                dev.dev.on_access = None
    dev.dev.on_access = hook
    assert dev.boot() == 0
    assert dev.info(2)["provisioned"] == 0 and dev.dev.irq_status & R.IRQ_STATUS_FUNC_EVENT_MASK
    assert dev.poll() & POLL_FUNC_EVENT
    expect_provisioned(dev, 2)


@pytest.mark.parametrize("num_func, num_pf, board_nf, board_pf", [
    (9, 2, None, None),    # the device has fewer functions than the board rows
    (11, 2, None, None),   # more
    (10, 1, None, None),   # other PF count
    (10, 3, None, None),
    (0, 0, None, None),    # DEV_FUNCS reads 0: a management block without SR-IOV
    (10, 0, None, 0),      # both say 0 PFs: not a device
    (17, 2, 17, None),     # both say 17: more than VIO_FW_MAX_FUNCS (16) rows can describe
])
def test_dev_funcs_mismatch_is_a_boot_error(lib, num_func: int, num_pf: int, board_nf: int | None,  # type: ignore[no-untyped-def]
                                            board_pf: int | None) -> None:
    lp = make(lib)
    try:
        if board_pf is not None:
            lp.board.num_pf = board_pf
        if board_nf is not None:
            lp.board.num_funcs = board_nf
        lp.dev.dev_funcs = num_func | num_pf << R.DEV_FUNCS_NUM_PF_SHIFT
        assert lp.boot() == BOOT_EFUNCS
        # only ID and DEV_FUNCS were read, nothing written, interrupts stay off
        assert [(d, o) for d, o, _ in lp.dev.log] == [("R", R.ID_OFFSET), ("R", R.DEV_FUNCS_OFFSET)], lp.trace()
        assert lp.dev.irq_enable == 0
        # the same board on the matching device boots (the check is what failed)
        if board_pf is None and board_nf is None:
            lp.dev.dev_funcs = 10 | 2 << R.DEV_FUNCS_NUM_PF_SHIFT
            assert lp.boot() == 0
    finally:
        lp.close()


# ------------------------------------------------------------------------------------------ VF enable / disable
def test_vf_enable_provisions_each_vf_from_its_board_row(dev: Loop) -> None:
    assert dev.boot() == 0
    mark = len(dev.dev.log)
    for i in (2, 3, 4, 6):                       # PF0 NumVFs = 3, PF1 NumVFs = 1: one event
        dev.dev.set_exists(i, True, event=False)
    dev.dev.func_event()
    assert dev.poll() & POLL_FUNC_EVENT
    eff = effect_funcs(dev, mark)
    assert set(eff) == {2, 3, 4}, eff            # not PF0 again, not VF 5, not the blk VF
    for i in (2, 3, 4):
        expect_provisioned(dev, i)
        info = dev.info(i)
        assert (info["exists"], info["provisioned"], info["mac"], info["max_pairs"], info["provisions"]) == (
            1, 1, vf_mac(i), dev.funcs[i].max_pairs, 1), info
    assert dev.dev.f[4].net_status == 0          # its row says link down
    assert dev.info(6)["exists"] == 1 and dev.info(6)["provisioned"] == 0
    s = dev.stats()
    assert (s["vf_appeared"], s["provisions"], s["vf_gone"], s["provision_errors"]) == (4, 4, 0, 0), s
    # the VF is served like any net function
    dev.negotiate(3)
    assert dev.cmd(3, c(4, 0, struct.pack("<H", 2))) == b"\x00"
    assert dev.cmd(3, c(4, 0, struct.pack("<H", 3))) == ERR
    assert dev.dev.f[3].pairs == 2 and dev.dev.f[2].pairs == 1


def test_vf_disable_stops_serving_and_reenable_reprovisions(dev: Loop) -> None:
    assert dev.boot() == 0
    dev.dev.set_exists(2, True)
    dev.poll()
    dev.negotiate(2)
    dev.cmd(2, c(1, 1, MAC1))                                # MAC_ADDR_SET
    dev.cmd(2, c(2, 0, struct.pack("<H", 5)))                # VLAN 5
    dev.cmd(2, c(6, 0, struct.pack("<II", 3, 4)))            # TX_SET
    dev.cmd(2, c(0, 0, b"\x00"))                             # PROMISC off
    assert dev.dev.f[2].mac == MAC1 and dev.dev.f[2].vlan == {0: 1 << 5}
    # VF Enable 0: gone; nothing is written to it
    mark = len(dev.dev.log)
    dev.dev.set_exists(2, False)
    assert dev.poll() & POLL_FUNC_EVENT
    assert effect_funcs(dev, mark) == {}, dev.trace()
    assert not any(d == "W" and o in (R.FUNC_MAC_LO_OFFSET, R.FUNC_PAIRS_OFFSET, R.FUNC_NET_STATUS_OFFSET)
                   for d, o, _ in dev.dev.log[mark:])
    info = dev.info(2)
    assert (info["exists"], info["provisioned"]) == (0, 0) and dev.stats()["vf_gone"] == 1
    # its control commands (one still in the mailbox) are answered ERR and not run
    mark = len(dev.dev.log)
    assert present(dev, 2, c(1, 1, MAC_PF0)) == (1, ERR)
    assert present(dev, 2, c(6, 0, struct.pack("<II", 9, 9))) == (1, ERR)
    assert effect_funcs(dev, mark) == {} and dev.dev.f[2].mac == MAC1
    assert not any(d == "R" and R.CMD_DATA_OFFSET <= o < R.RSP_DATA_OFFSET for d, o, _ in dev.dev.log[mark:])
    assert dev.stats()["refused"] == 2
    # enabled again: provisioned from the board again (the MAC / VLAN / coalescing set before are gone)
    mark, n_app = len(dev.dev.log), len(dev.dev.applies)
    dev.dev.set_exists(2, True)
    dev.poll()
    assert set(effect_funcs(dev, mark)) == {2}
    expect_provisioned(dev, 2)
    # no FUNC_APPLY on the way carried a value from before (MAC1, 2 pairs, ALLMULTI ...)
    assert all(a[1] == vf_mac(2) and a[4] == 1 and a[5] & 1 for a in dev.dev.applies[n_app:]), dev.dev.applies[n_app:]
    assert dev.dev.f[2].vlan.get(0, 0) == 0 and dev.dev.f[2].macs == {}
    assert dev.info(2)["provisions"] == 2 and dev.stats()["vf_appeared"] == 2
    dev.negotiate(2)
    dev.cmd(2, c(6, 3, struct.pack("<HH", 1, 0)), room=9)    # VQ_GET: 0 again
    assert dev.dev.answers[-1] == (9, b"\x00" + bytes(8))


def test_blk_vfs_are_tracked_but_never_written(dev: Loop) -> None:
    assert dev.boot() == 0
    mark = len(dev.dev.log)
    for i in BLK_VFS:
        dev.dev.set_exists(i, True, event=False)
    dev.dev.func_event()
    dev.poll()
    dev.dev.set_exists(7, False)
    dev.poll()
    assert effect_funcs(dev, mark) == {}
    assert [dev.info(i)["exists"] for i in BLK_VFS] == [1, 0, 1, 1]
    s = dev.stats()
    assert (s["vf_appeared"], s["vf_gone"], s["provisions"]) == (4, 1, 1), s
    assert present(dev, 6, c(0, 0, b"\x01")) == (1, ERR)


# ------------------------------------------------------------------------------------------ FLR
def test_flr_holds_the_function_then_reprovisions_it(dev: Loop) -> None:
    assert dev.boot() == 0
    dev.dev.set_exists(3, True)
    dev.poll()
    dev.negotiate(3)
    dev.cmd(3, c(1, 1, MAC1))
    dev.cmd(3, c(0, 1, b"\x01"))                                          # ALLMULTI
    dev.cmd(3, c(1, 0, struct.pack("<I", 1) + MAC_PF0 + struct.pack("<I", 0)))  # MAC table
    dev.cmd(3, c(2, 0, struct.pack("<H", 100)))
    dev.cmd(3, c(4, 0, struct.pack("<H", 2)))
    dev.cmd(3, c(6, 1, struct.pack("<II", 7, 8)))                         # RX_SET
    assert dev.lib.vio_fw_announce(dev.fw, 3) == 0
    assert dev.dev.f[3].net_status == 3                                    # LINK_UP | ANNOUNCE
    # FLR starts: held, not served, nothing written
    mark = len(dev.dev.log)
    dev.dev.set_flr(3, True)
    assert dev.poll() & POLL_FUNC_EVENT
    assert effect_funcs(dev, mark) == {}
    info = dev.info(3)
    assert (info["flr"], info["flr_count"], info["provisioned"], info["exists"]) == (1, 1, 0, 1), info
    assert present(dev, 3, c(4, 0, struct.pack("<H", 1))) == (1, ERR)
    assert dev.dev.f[3].pairs == 2
    # another event while still in FLR changes nothing and counts nothing twice
    dev.dev.func_event()
    dev.poll()
    assert effect_funcs(dev, mark) == {} and dev.info(3)["flr_count"] == 1
    # FLR done: provisioned from the board (ANNOUNCE cleared, filters empty, pairs 1, coalescing 0)
    mark = len(dev.dev.log)
    dev.dev.set_flr(3, False)
    dev.poll()
    assert set(effect_funcs(dev, mark)) == {3}
    expect_provisioned(dev, 3)
    assert dev.dev.f[3].net_status == 1 and dev.dev.f[3].macs == {} and dev.dev.f[3].rx_mode == 1
    s = dev.stats()
    assert (s["flr_seen"], s["flr_done"], s["provisions"], s["refused"]) == (1, 1, 3, 1), s
    info = dev.info(3)
    assert (info["flr"], info["flr_count"], info["provisioned"], info["provisions"]) == (0, 1, 1, 2), info
    # served again
    dev.negotiate(3)
    dev.cmd(3, c(4, 0, struct.pack("<H", 2)))
    # the other functions were not touched by any of it
    assert dev.info(0)["provisions"] == 1 and dev.info(2)["provisions"] == 0


def test_flr_done_with_the_driver_already_back(dev: Loop) -> None:
    """FLR completes and the driver is past FEATURES_OK before the firmware scans: provisioned,
    then FEATURES_OK handled (offloads) and every enabled queue reverted -- from status 0."""
    assert dev.boot() == 0
    dev.dev.set_exists(2, True)
    dev.poll()
    dev.negotiate(2)
    dev.cmd(2, c(6, 0, struct.pack("<II", 3, 4)))
    dev.dev.set_flr(2, True)
    dev.poll()
    before = dev.stats()
    dev.dev.set_flr(2, False, event=False)
    f = dev.dev.f[2]
    f.status, f.features = ACK | DRIVER | FEATURES_OK, ALL
    f.qen = 0b101
    dev.dev.func_event()
    dev.poll()
    expect_provisioned(dev, 2)
    s = dev.stats()
    assert s["features_ok"] == before["features_ok"] + 1 and s["reenables"] == before["reenables"] + 2, s
    assert s["resets"] == before["resets"]                  # provisioning is the reset, not a second one


def test_pf_flr_takes_its_vfs_away(dev: Loop) -> None:
    assert dev.boot() == 0
    for i in (2, 3, 6):
        dev.dev.set_exists(i, True, event=False)
    dev.dev.func_event()
    dev.poll()
    # PF0 FLR: its SR-IOV control is reset, so its VFs disappear in the same event
    mark = len(dev.dev.log)
    dev.dev.set_flr(0, True, event=False)
    dev.dev.set_exists(2, False, event=False)
    dev.dev.set_exists(3, False)
    dev.poll()
    assert effect_funcs(dev, mark) == {}
    s = dev.stats()
    assert (s["flr_seen"], s["vf_gone"]) == (1, 2), s
    assert [dev.info(i)["provisioned"] for i in (0, 2, 3)] == [0, 0, 0] and dev.info(6)["exists"] == 1
    assert present(dev, 0, c(0, 0, b"\x01")) == (1, ERR)
    # done: PF0 provisioned again; its VFs stay gone until VF Enable is set again
    mark = len(dev.dev.log)
    dev.dev.set_flr(0, False)
    dev.poll()
    assert set(effect_funcs(dev, mark)) == {0}
    expect_provisioned(dev, 0)
    assert dev.info(0)["flr_count"] == 1 and dev.info(2)["provisioned"] == 0


def test_function_in_flr_at_boot_is_provisioned_when_done(lib) -> None:  # type: ignore[no-untyped-def]
    lp = make(lib)
    try:
        lp.dev.f[0].flr = True
        assert lp.boot() == 0
        assert effect_funcs(lp) == {} and lp.info(0)["flr_count"] == 1 and lp.info(0)["provisioned"] == 0
        lp.dev.set_flr(0, False)
        lp.poll()
        expect_provisioned(lp, 0)
        assert lp.stats()["flr_done"] == 1 and lp.stats()["provisions"] == 1
    finally:
        lp.close()


def test_link_set_at_runtime_survives_reprovisioning(dev: Loop) -> None:
    """vio_fw_set_link is remembered: a VF enabled later, or a function whose FLR completes, gets
    the link last set, not the board's; a function not served gets no write for it."""
    assert dev.boot() == 0
    mark = len(dev.dev.log)
    dev.lib.vio_fw_set_link(dev.fw, 2, 0)                   # VF 2 does not exist yet: remembered only
    assert effect_funcs(dev, mark) == {} and dev.info(2)["link_up"] == 0
    dev.dev.f[2].features = ALL                              # (the RTL reads 0 here; the firmware
    assert dev.lib.vio_fw_announce(dev.fw, 2) == -1          #  must not rely on it): not announced
    assert effect_funcs(dev, mark) == {}
    dev.dev.f[2].features = 0
    dev.dev.set_exists(2, True)
    dev.poll()
    expect_provisioned(dev, 2, link_up=False)
    assert dev.dev.f[2].net_status == 0
    dev.lib.vio_fw_set_link(dev.fw, 0, 0)                   # PF0 served: written at once
    assert dev.dev.f[0].net_status == 0
    dev.dev.set_flr(0, True)
    dev.poll()
    dev.lib.vio_fw_set_link(dev.fw, 0, 1)                   # during the FLR: nothing written ...
    assert dev.dev.f[0].net_status == 0
    dev.dev.set_flr(0, False)
    dev.poll()
    expect_provisioned(dev, 0, link_up=True)                # ... and applied by the re-provisioning


# ------------------------------------------------------------------------------------------ max_pairs vs NUM_QUEUES
def test_board_pairs_above_num_queues_are_clamped(lib) -> None:  # type: ignore[no-untyped-def]
    # PF0 asks 2 pairs but has 3 queues (1 pair); VF 4 asks 3 but has 5 queues (2 pairs)
    nq = [3, 3, 3, 5, 5, 3, 3, 3, 3, 3]
    lp = make(lib, num_queues=nq)
    try:
        assert lp.boot() == 0
        expect_provisioned(lp, 0, max_pairs=1)
        assert lp.info(0)["clamped"] == 1 and lp.info(0)["max_pairs"] == 1
        lp.dev.set_exists(3, True, event=False)                  # asks 2, has 2: not clamped
        lp.dev.set_exists(4, True)
        lp.poll()
        expect_provisioned(lp, 3)
        expect_provisioned(lp, 4, max_pairs=2)
        assert (lp.info(3)["clamped"], lp.info(4)["clamped"], lp.info(4)["max_pairs"]) == (0, 1, 2)
        assert lp.stats()["pairs_clamped"] == 2
        # coalescing reset covers the 2 pairs the function has, not the 3 the board asked
        assert set(lp.dev.f[4].coal) == {0, 1, 2, 3}, lp.dev.f[4].coal
        lp.negotiate(4)
        assert lp.cmd(4, c(4, 0, struct.pack("<H", 3))) == ERR  # beyond the clamp
        assert lp.cmd(4, c(4, 0, struct.pack("<H", 2))) == b"\x00"
        assert lp.dev.f[4].pairs == 2
    finally:
        lp.close()


def test_function_without_a_pair_is_refused(lib) -> None:  # type: ignore[no-untyped-def]
    nq = [2, 3, 3, 3, 3, 1, 3, 3, 3, 3]                          # PF0 and VF 5: no room for a pair
    lp = make(lib, num_queues=nq)
    try:
        assert lp.boot() == BOOT_EPROVISION
        assert effect_funcs(lp) == {} and lp.dev.irq_enable == 7  # the rest is up
        lp.dev.set_exists(2, True, event=False)
        lp.dev.set_exists(5, True)
        lp.poll()
        assert set(effect_funcs(lp)) == {2}
        assert (lp.info(5)["provisioned"], lp.info(0)["provisioned"], lp.info(2)["provisioned"]) == (0, 0, 1)
        assert lp.stats()["provision_errors"] == 2
        assert present(lp, 5, c(0, 0, b"\x01")) == (1, ERR)
        assert present(lp, 0, c(0, 0, b"\x01")) == (1, ERR)
        # a later event does not retry (nor count again) until the function is live again
        lp.dev.func_event()
        lp.poll()
        assert lp.stats()["provision_errors"] == 2 and set(effect_funcs(lp)) == {2}
    finally:
        lp.close()


@pytest.mark.parametrize("bad", [0, 17])
def test_unusable_board_row_is_a_boot_error_and_never_served(lib, bad: int) -> None:  # type: ignore[no-untyped-def]
    lp = make(lib, board((1, 2, bad, 1)), num_queues=[5] * 10)
    try:
        assert lp.boot() == BOOT_EPROVISION
        assert set(effect_funcs(lp)) == {0}
        lp.dev.set_exists(4, True)
        lp.poll()
        assert set(effect_funcs(lp)) == {0} and lp.info(4)["is_net"] == 0 and lp.info(4)["provisioned"] == 0
        assert present(lp, 4, c(0, 0, b"\x01")) == (1, ERR)
    finally:
        lp.close()


# ------------------------------------------------------------------------------------------ host structs
def test_host_structs_match_the_header(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """tb/fw_host.py's ctypes mirrors (board, stats, func info) have the C layout: every field's
    offset and each struct's size, printed by a program compiled against vio_fw.h."""
    import shutil
    import subprocess

    from tb.fw_host import BoardC, BoardFuncC, StatsC
    from tests.firmware.fw_lib import FIRMWARE

    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    structs = {"vio_fw_board": BoardC, "vio_fw_board_func": BoardFuncC, "vio_fw_loop_stats": StatsC,
               "vio_fw_info": FuncInfoC}
    lines = ["#include <stdio.h>", "#include <stddef.h>", '#include "vio_fw.h"', "int main(void) {"]
    want = []
    for cname, py in structs.items():
        lines.append(f'printf("{cname} %zu\\n", sizeof({cname}));')
        want.append(f"{cname} {C.sizeof(py)}")
        for fname, _ in py._fields_:
            lines.append(f'printf("{cname}.{fname} %zu\\n", offsetof({cname}, {fname}));')
            want.append(f"{cname}.{fname} {getattr(py, fname).offset}")
    lines += ["return 0;", "}"]
    src, exe = tmp_path / "layout.c", tmp_path / "layout"
    src.write_text("\n".join(lines) + "\n")
    subprocess.run([cc, "-std=c11", "-I", str(FIRMWARE / "include"), str(src), "-o", str(exe)], check=True)
    got = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split("\n")[:-1]
    assert got == want, [(g, w) for g, w in zip(got, want) if g != w]
