"""The firmware main loop (fw_loop.c) and the MMIO device ops (fw_mmio.c) against a
Python fake of the management block's REGISTER SEMANTICS (tests/firmware/mgmt_fake.py:
hdl/vio_mgmt.sv header, docs/mgmt_regs.md, offsets and fields from the generated
tb/mgmt/regs.py).  Commands are checked against pymodel NetCtrl run on the same bytes.
Functions coming and going (VFs, FLR) are test_fw_sriov.py's.
"""

from __future__ import annotations

import ctypes as C
import struct

import pytest

from tb.fw_host import (POLL_CTRLQ, POLL_FUNC_EVENT, POLL_OVERSIZE, POLL_STALE, POLL_TIMEOUT, BoardFunc,
                        load_loop_lib, reg_name)
from tb.mgmt import regs as R
from tests.firmware.mgmt_fake import ACK, MAC0, MAC1, Loop, c

pytestmark = pytest.mark.firmware


@pytest.fixture(scope="module")
def lib():  # type: ignore[no-untyped-def]
    return load_loop_lib()


@pytest.fixture
def loop(lib):  # type: ignore[no-untyped-def]
    lp = Loop(lib, [BoardFunc(MAC0, 2), BoardFunc(MAC1, 3, link_up=False), BoardFunc(is_net=False)])
    yield lp
    lp.close()


# ------------------------------------------------------------------------------------------
def test_boot_programs_every_net_function(loop: Loop) -> None:
    assert loop.boot() == 0
    d = loop.dev
    assert d.irq_enable == 7 and d.irq_status == 0
    for i in (0, 1):
        loop.check_state(i)
        f = d.f[i]
        assert set(f.coal) == set(range(2 * loop.funcs[i].max_pairs)), f.coal   # coalescing 0 written
        assert f.net_status == (1 if i == 0 else 0) and f.rx_mode == 1 and f.pairs == 1
    assert d.f[2].coal == {} and d.f[2].mac == bytes(6)                          # not a net function
    assert d.timeout_us == R.CTRLQ_TIMEOUT_US_RESET                              # board value 0: untouched
    # no hand-written offsets: every access is a register of the map
    assert all(not reg_name(o).startswith("0x") for _, o, _ in d.log)
    # a ctrlq timeout from the board is written
    lp = Loop(loop.lib, [BoardFunc(MAC0, 1)], timeout_us=7)
    assert lp.boot() == 0 and lp.dev.timeout_us == 7
    loop.lib.hal_host_bind(C.byref(loop.dev.ops))


def test_boot_refuses_a_wrong_id(loop: Loop) -> None:
    loop.dev._read = lambda off, _r=loop.dev._read: 0x1234 if off == R.ID_OFFSET else _r(off)  # type: ignore[method-assign]
    assert loop.boot() == -1
    assert [e for e in loop.dev.log if e[0] == "W"] == []


def test_command_served_end_to_end(loop: Loop) -> None:
    assert loop.boot() == 0
    loop.negotiate(0)
    loop.dev.log.clear()
    # VQ_SET then VQ_GET: the result comes back through RSP_DATA / CTRLQ_RSP / DONE
    loop.cmd(0, c(6, 2, struct.pack("<HHII", 1, 0, 7, 300)))
    got = loop.cmd(0, c(6, 3, struct.pack("<HH", 1, 0)), room=9)
    assert got == b"\x00" + struct.pack("<II", 7, 300)
    rsp_writes = [(o, v) for d, o, v in loop.dev.log[-8:] if d == "W"]
    assert rsp_writes[-1] == (R.CTRLQ_DONE_OFFSET, 1) and rsp_writes[-2] == (R.CTRLQ_RSP_OFFSET, 9)
    # only the words the commands occupy are read (14 bytes -> 4 words, 6 bytes -> 2 words)
    reads = [o for d, o, _ in loop.dev.log if d == "R" and R.CMD_DATA_OFFSET <= o < R.RSP_DATA_OFFSET]
    assert reads[-2:] == [R.CMD_DATA_OFFSET, R.CMD_DATA_OFFSET + 4] and len(reads) == 4 + 2
    # every class once
    loop.cmd(0, c(0, 0, b"\x00"))
    loop.cmd(0, c(0, 5, b"\x01"))
    loop.cmd(0, c(1, 0, struct.pack("<I", 2) + MAC1 + MAC0 + struct.pack("<I", 1) + bytes.fromhex("01005e000001")))
    loop.cmd(0, c(2, 0, struct.pack("<H", 100)))
    loop.cmd(0, c(2, 0, struct.pack("<H", 4095)))
    loop.cmd(0, c(1, 0, struct.pack("<I", 0) + struct.pack("<I", 0)))   # CLEAR keeps the VLANs
    loop.cmd(0, c(2, 1, struct.pack("<H", 100)))
    loop.cmd(0, c(1, 1, MAC1))
    loop.cmd(0, c(3, 0))
    loop.cmd(0, c(4, 0, struct.pack("<H", 2)))
    loop.cmd(0, c(4, 0, struct.pack("<H", 3)))                           # > max_pairs: ERR
    loop.cmd(0, c(5, 0, struct.pack("<Q", 1 << 1)))
    loop.cmd(0, c(6, 0, struct.pack("<II", 3, 4)))
    loop.cmd(0, c(6, 1, struct.pack("<II", 5, 6)))
    loop.cmd(0, c(9, 0))
    assert loop.stats()["served"] == 17


def test_oversize_command_answers_err_without_running(loop: Loop) -> None:
    assert loop.boot() == 0
    loop.negotiate(0)
    raw = c(1, 0, struct.pack("<I", 50) + MAC1 * 50 + struct.pack("<I", 0))  # 306 bytes: pymodel would accept
    loop.dev.log.clear()
    loop.dev.present(0, raw, 1)
    r = loop.poll()
    assert r & POLL_OVERSIZE and r & POLL_CTRLQ
    assert loop.dev.answers[-1] == (1, b"\x01")
    assert not any(R.CMD_DATA_OFFSET <= o < R.RSP_DATA_OFFSET for _, o, _ in loop.dev.log)
    assert not any(o in (R.FILTER_CMD_OFFSET, R.FUNC_APPLY_OFFSET) for d, o, _ in loop.dev.log if d == "W")
    loop.check_state(0)
    assert loop.stats()["oversize"] == 1


def test_timeout_is_counted_and_the_stale_command_not_answered(loop: Loop) -> None:
    assert loop.boot() == 0
    loop.negotiate(0)
    # timed out before the firmware looked: nothing in the mailbox, nothing answered
    loop.dev.present(0, c(4, 0, struct.pack("<H", 2)), 1)
    loop.dev.engine_timeout()
    assert loop.poll() == POLL_TIMEOUT
    assert loop.dev.answers == [] and loop.stats()["timeouts"] == 1
    # timed out while the firmware executes it: not answered (no DONE written)
    loop.dev.present(0, c(6, 3, struct.pack("<H", 0)), 9)

    def hook(d: str, off: int) -> None:
        if d == "R" and off == R.CMD_DATA_OFFSET:
            loop.dev.engine_timeout()
            loop.dev.on_access = None
    loop.dev.on_access = hook
    loop.dev.log.clear()
    r = loop.poll()
    assert r & POLL_STALE and r & POLL_TIMEOUT and not r & POLL_CTRLQ, r
    assert not any(o == R.CTRLQ_DONE_OFFSET for d, o, _ in loop.dev.log if d == "W")
    assert loop.stats()["stale"] == 1 and loop.stats()["timeouts"] == 2 and loop.dev.irq_status == 0
    # the next command is served
    loop.cmd(0, c(4, 0, struct.pack("<H", 2)))


def test_lost_edge_is_served_on_the_wait_timeout(loop: Loop) -> None:
    assert loop.boot() == 0
    loop.negotiate(0)
    loop.dev.present(0, c(0, 0, b"\x00"), 1, irq=False)
    assert loop.poll() == POLL_CTRLQ
    assert loop.dev.answers[-1] == (1, b"\x00")


def test_reset_rescan_clears_coalescing_and_restores_the_mac(loop: Loop) -> None:
    assert loop.boot() == 0
    loop.negotiate(0)
    loop.cmd(0, c(6, 0, struct.pack("<II", 3, 4)))
    loop.cmd(0, c(1, 1, MAC1))
    loop.cmd(0, c(2, 0, struct.pack("<H", 77)))
    assert loop.dev.f[0].coal[1] == (3, 4) and loop.dev.f[0].mac == MAC1
    f = loop.dev.f[0]
    f.status, f.features, f.qen = 0, 0, 0
    loop.dev.func_event()
    assert loop.poll() & POLL_FUNC_EVENT
    loop.models[0].reset()
    loop.check_state(0)
    assert f.mac == MAC0 and all(v == (0, 0) for v in f.coal.values()) and loop.stats()["resets"] == 1
    # the other function is untouched
    assert loop.dev.f[1].mac == MAC1 and loop.stats()["resets"] == 1
    # a reset missed between two scans (status already back at ACKNOWLEDGE) is still seen
    loop.negotiate(0)
    loop.cmd(0, c(6, 1, struct.pack("<II", 9, 9)))
    f.status, f.features, f.qen = ACK, 0, 0
    loop.dev.func_event()
    loop.poll()
    loop.models[0].reset()
    loop.check_state(0)
    assert loop.stats()["resets"] == 2


def test_queue_reenable_reverts_to_tx_set(loop: Loop) -> None:
    assert loop.boot() == 0
    loop.negotiate(0)
    loop.cmd(0, c(6, 0, struct.pack("<II", 3, 4)))                       # TX_SET
    loop.cmd(0, c(6, 2, struct.pack("<HHII", 1, 0, 50, 60)))            # VQ_SET vq 1
    assert loop.dev.f[0].coal[1] == (50, 60)
    f = loop.dev.f[0]
    f.qen &= ~2
    loop.dev.func_event()
    loop.poll()
    loop.check_state(0)
    loop.dev.log.clear()
    f.qen |= 2
    loop.dev.func_event()
    loop.poll()
    loop.models[0].on_queue_reenabled(1)
    loop.check_state(0)
    assert loop.dev.f[0].coal[1] == (3, 4)
    coal_writes = [(reg_name(o), v) for d, o, v in loop.dev.log if d == "W" and reg_name(o).startswith("COAL")]
    # COAL_SEL already pointed at (0, 1) from VQ_SET: the shadowed write is skipped
    assert loop.dev.rw[R.COAL_SEL_OFFSET] == 1 << R.COAL_SEL_VQ_SHIFT
    assert coal_writes == [("COAL_MAX_PKTS", 3), ("COAL_MAX_USECS", 4), ("COAL_APPLY", 1)], coal_writes


def test_link_change_through_the_mmio_ops(loop: Loop) -> None:
    assert loop.boot() == 0
    loop.lib.vio_fw_set_link(loop.fw, 1, 1)
    assert loop.dev.f[1].net_status == 1
    loop.lib.vio_fw_set_link(loop.fw, 0, 0)
    assert loop.dev.f[0].net_status == 0


def test_stop_returns_minus_one(loop: Loop) -> None:
    assert loop.boot() == 0
    loop.dev.stop = True
    assert loop.poll() == -1


def test_command_for_a_non_net_function_is_err(loop: Loop) -> None:
    assert loop.boot() == 0
    loop.dev.present(2, c(0, 0, b"\x01"), 1)
    assert loop.poll() & POLL_CTRLQ
    assert loop.dev.answers[-1] == (1, b"\x01")
