"""The firmware main loop (fw_loop.c) and the MMIO device ops (fw_mmio.c) against a
Python fake of the management block's REGISTER SEMANTICS (hdl/vio_mgmt.sv header,
docs/mgmt_regs.md), offsets and fields from the generated tb/mgmt/regs.py.

The fake holds what the RTL holds: IRQ_STATUS (W1C) / IRQ_ENABLE, the mailbox
(CTRLQ_* / CMD_DATA / RSP_DATA, DONE hands the answer back and drops VALID), the
FUNC_SEL-indexed function state (FUNC_APPLY loads MAC / status / pairs / rx mode),
the coalescing table (COAL_APPLY), the MAC / VLAN filter tables (FILTER_CMD). Commands
are checked against pymodel NetCtrl run on the same bytes.
"""

from __future__ import annotations

import ctypes as C
import struct
from dataclasses import dataclass, field
from typing import Callable, Optional

import pytest

from pymodel.coalescing import CoalescingParams
from pymodel.features import NetFeature as N, Transport as T, mask
from pymodel.net import NetConfig
from pymodel.net_ctrl import NetCtrl
from tb.fw_host import (POLL_CTRLQ, POLL_FUNC_EVENT, POLL_OVERSIZE, POLL_STALE, POLL_TIMEOUT, BoardFunc,
                        StatsC, load_loop_lib, make_board, reg_name)
from tb.mgmt import regs as R
from tests.firmware.fw_lib import HalHostOps

pytestmark = pytest.mark.firmware

MB_BYTES = 4 * R.CMD_DATA_COUNT
ALL = mask(T.VERSION_1, N.CTRL_VQ, N.CTRL_RX, N.CTRL_RX_EXTRA, N.CTRL_VLAN, N.GUEST_ANNOUNCE, N.MQ,
           N.CTRL_MAC_ADDR, N.CTRL_GUEST_OFFLOADS, N.GUEST_CSUM, N.NOTF_COAL, N.VQ_NOTF_COAL, N.MAC,
           N.STATUS)
ACK, DRIVER, DRIVER_OK, FEATURES_OK = 1, 2, 4, 8
MAC0 = bytes.fromhex("525400123456")
MAC1 = bytes.fromhex("02aabbccddee")


@dataclass
class Func:
    status: int = 0
    features: int = 0
    num_queues: int = 0
    qen: int = 0
    mac: bytes = bytes(6)            # applied (net_mac)
    net_status: int = 0
    pairs: int = 1
    rx_mode: int = 1                 # PROMISC after reset
    coal: dict[int, tuple[int, int]] = field(default_factory=dict)
    macs: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # index -> (mac, multicast)
    vlan: dict[int, int] = field(default_factory=dict)                 # word -> bits


class FakeMgmt:
    """Register semantics of vio_mgmt (the RW storage, W1C, APPLY/CMD pulses, mailbox)."""

    def __init__(self, nf: int) -> None:
        self.f = [Func() for _ in range(nf)]
        self.rw: dict[int, int] = {}
        self.irq_status = 0
        self.irq_enable = 0
        self.timeout_us = R.CTRLQ_TIMEOUT_US_RESET
        self.mb: Optional[tuple[int, int, bytes, int, int]] = None  # func, queue, cmd, cmd_len, room
        self.answers: list[tuple[int, bytes]] = []                  # (rsp_len, rsp bytes)
        self.rsp = [0] * R.RSP_DATA_COUNT
        self.log: list[tuple[str, int, int]] = []
        self.stop = False
        self.on_access: Optional[Callable[[str, int], None]] = None  # hook: ('R'|'W', off)
        self.errors: list[BaseException] = []
        f = HalHostOps._fields_
        self.ops = HalHostOps(f[0][1](self._g(self.read, 0xFFFFFFFF)), f[1][1](self._g(self.write)),
                              f[2][1](self._g(self.irq_wait, -1)), f[3][1](self._g(lambda: 0, 0)))

    def _g(self, fn, default=None):  # type: ignore[no-untyped-def]
        def call(*a):  # type: ignore[no-untyped-def]
            try:
                return fn(*a)
            except BaseException as e:  # noqa: BLE001
                self.errors.append(e)
                return default
        return call

    # -- the device side ------------------------------------------------------------------
    def present(self, func: int, cmd: bytes, room: int, cmd_len: Optional[int] = None, irq: bool = True) -> None:
        self.mb = (func, 2 * 4, cmd[:MB_BYTES], len(cmd) if cmd_len is None else cmd_len, room)
        if irq:
            self.irq_status |= R.IRQ_STATUS_CTRLQ_MASK

    def engine_timeout(self) -> None:
        self.mb = None
        self.irq_status |= R.IRQ_STATUS_CTRLQ_TIMEOUT_MASK

    def func_event(self) -> None:
        self.irq_status |= R.IRQ_STATUS_FUNC_EVENT_MASK

    def _sel(self) -> Optional[Func]:
        i = self.rw.get(R.FUNC_SEL_OFFSET, 0) & R.FUNC_SEL_FUNC_MASK
        return self.f[i] if i < len(self.f) else None

    # -- HAL -------------------------------------------------------------------------------
    def irq_wait(self, _t: int) -> int:
        if self.stop:
            return -1
        return 1 if self.irq_status & self.irq_enable else 0

    def read(self, off: int) -> int:
        v = self._read(off)
        self.log.append(("R", off, v))
        if self.on_access:
            self.on_access("R", off)
        return v

    def _read(self, off: int) -> int:
        if off == R.ID_OFFSET:
            return R.ID_VALUE_RESET
        if off == R.IRQ_STATUS_OFFSET:
            return self.irq_status
        if off == R.IRQ_ENABLE_OFFSET:
            return self.irq_enable
        if off == R.CTRLQ_STATUS_OFFSET:
            return 0 if self.mb is None else 1 | self.mb[0] << R.CTRLQ_STATUS_FUNC_SHIFT | self.mb[1] << R.CTRLQ_STATUS_QUEUE_SHIFT
        if off == R.CTRLQ_LEN_OFFSET:
            return 0 if self.mb is None else min(self.mb[3], 0xFFFF) | min(self.mb[4], 0xFFFF) << R.CTRLQ_LEN_RSP_ROOM_SHIFT
        if R.CMD_DATA_OFFSET <= off < R.CMD_DATA_OFFSET + MB_BYTES:
            data = (self.mb[2] if self.mb else b"").ljust(MB_BYTES, b"\0")
            i = off - R.CMD_DATA_OFFSET
            return int.from_bytes(data[i:i + 4], "little")
        if R.RSP_DATA_OFFSET <= off < R.RSP_DATA_OFFSET + MB_BYTES:
            return self.rsp[(off - R.RSP_DATA_OFFSET) // 4]
        f = self._sel()
        if off in (R.FUNC_FEAT_LO_OFFSET, R.FUNC_FEAT_HI_OFFSET, R.FUNC_STATE_OFFSET, R.FUNC_QUEUE_EN_OFFSET):
            if f is None:
                return 0
            return {R.FUNC_FEAT_LO_OFFSET: f.features & 0xFFFFFFFF, R.FUNC_FEAT_HI_OFFSET: f.features >> 32 & 0xFFFFFFFF,
                    R.FUNC_STATE_OFFSET: f.status | f.num_queues << R.FUNC_STATE_NUM_QUEUES_SHIFT,
                    R.FUNC_QUEUE_EN_OFFSET: f.qen}[off]
        if off == R.CTRLQ_TIMEOUT_OFFSET:
            return self.timeout_us
        if off in (R.FUNC_APPLY_OFFSET, R.COAL_APPLY_OFFSET, R.FILTER_CMD_OFFSET, R.CTRLQ_DONE_OFFSET):
            return 0
        return self.rw.get(off, 0)

    def write(self, off: int, v: int) -> None:
        self.log.append(("W", off, v))
        self._write(off, v)
        if self.on_access:
            self.on_access("W", off)

    def _write(self, off: int, v: int) -> None:
        if off == R.IRQ_STATUS_OFFSET:
            self.irq_status &= ~v
        elif off == R.IRQ_ENABLE_OFFSET:
            self.irq_enable = v & 7
        elif off == R.CTRLQ_TIMEOUT_OFFSET:
            self.timeout_us = v
        elif R.RSP_DATA_OFFSET <= off < R.RSP_DATA_OFFSET + MB_BYTES:
            self.rsp[(off - R.RSP_DATA_OFFSET) // 4] = v
        elif off == R.CTRLQ_DONE_OFFSET:
            if v & 1 and self.mb is not None:   # a late DONE (VALID low) is ignored
                n = self.rw.get(R.CTRLQ_RSP_OFFSET, 0) & 0xFFFF
                raw = b"".join(w.to_bytes(4, "little") for w in self.rsp)
                self.answers.append((n, raw[:min(n, self.mb[4], MB_BYTES)]))
                self.mb = None
        elif off == R.FUNC_APPLY_OFFSET:
            f = self._sel()
            if v & 1 and f is not None:
                lo, hi = self.rw.get(R.FUNC_MAC_LO_OFFSET, 0), self.rw.get(R.FUNC_MAC_HI_OFFSET, 0)
                f.mac = lo.to_bytes(4, "little") + (hi & 0xFFFF).to_bytes(2, "little")
                f.net_status = self.rw.get(R.FUNC_NET_STATUS_OFFSET, 0) & 3
                f.pairs = self.rw.get(R.FUNC_PAIRS_OFFSET, 0) >> R.FUNC_PAIRS_CURR_SHIFT
                f.rx_mode = self.rw.get(R.FUNC_RX_MODE_OFFSET, 0) & 0xFF
        elif off == R.COAL_APPLY_OFFSET:
            sel = self.rw.get(R.COAL_SEL_OFFSET, 0)
            fi, vq = sel & 0xFF, sel >> R.COAL_SEL_VQ_SHIFT
            if v & 1 and fi < len(self.f):
                self.f[fi].coal[vq] = (self.rw.get(R.COAL_MAX_PKTS_OFFSET, 0), self.rw.get(R.COAL_MAX_USECS_OFFSET, 0))
        elif off == R.FILTER_CMD_OFFSET:
            sel = self.rw.get(R.FILTER_SEL_OFFSET, 0)
            fi, idx = sel & 0xFF, sel >> R.FILTER_SEL_INDEX_SHIFT & 0xFF
            if fi >= len(self.f):
                return
            f = self.f[fi]
            if v & R.FILTER_CMD_WRITE_MAC_MASK and idx < 64:
                hi = self.rw.get(R.FILTER_MAC_HI_OFFSET, 0)
                mac = self.rw.get(R.FILTER_MAC_LO_OFFSET, 0).to_bytes(4, "little") + (hi & 0xFFFF).to_bytes(2, "little")
                if hi & R.FILTER_MAC_HI_VALID_MASK:
                    f.macs[idx] = (mac, hi >> R.FILTER_MAC_HI_MULTICAST_SHIFT & 1)
                else:
                    f.macs.pop(idx, None)
            if v & R.FILTER_CMD_WRITE_VLAN_MASK and idx < 128:
                f.vlan[idx] = self.rw.get(R.FILTER_VLAN_OFFSET, 0)
            if v & R.FILTER_CMD_CLEAR_MASK:
                f.macs.clear()
                f.vlan.clear()
        else:
            self.rw[off] = v


class Loop:
    """libvio_fw.so booted on a FakeMgmt, with a pymodel NetCtrl per net function."""

    def __init__(self, lib, funcs: list[BoardFunc], timeout_us: int = 0) -> None:  # type: ignore[no-untyped-def]
        self.lib = lib
        self.dev = FakeMgmt(len(funcs))
        self.funcs = funcs
        for i, bf in enumerate(funcs):
            self.dev.f[i].num_queues = 2 * bf.max_pairs + 1
        self.mem = C.create_string_buffer(lib.vio_fw_sizeof())
        self.fw = C.cast(self.mem, C.c_void_p)
        self.board = make_board(funcs, timeout_us)
        self.models = {i: NetCtrl(NetConfig(mac=bf.mac, max_virtqueue_pairs=bf.max_pairs,
                                            status=1 if bf.link_up else 0),
                                  vq_enabled=self._vq_enabled(i)) for i, bf in enumerate(funcs) if bf.is_net}
        lib.hal_host_bind(C.byref(self.dev.ops))

    def _vq_enabled(self, i: int) -> Callable[[int], bool]:
        return lambda vq: vq < self.dev.f[i].num_queues and bool(self.dev.f[i].qen >> vq & 1)

    def close(self) -> None:
        self.lib.hal_host_bind(None)

    def check(self) -> None:
        if self.dev.errors:
            raise self.dev.errors[0]

    def boot(self) -> int:
        rc = self.lib.vio_fw_boot(self.fw, C.byref(self.board))
        self.check()
        return rc

    def poll(self) -> int:
        r = self.lib.vio_fw_poll(self.fw, 10)
        self.check()
        return r

    def stats(self) -> dict[str, int]:
        s = StatsC()
        self.lib.vio_fw_loop_stats_get(C.byref(s))
        return s.as_dict()

    def trace(self, n: int = 30) -> str:
        return "\n".join(f"  {d} {reg_name(o)} {v:#x}" for d, o, v in self.dev.log[-n:])

    # -- driver-side lifecycle, mirrored into the model --------------------------------------
    def negotiate(self, i: int, features: int = ALL, enable_all: bool = True) -> None:
        f = self.dev.f[i]
        f.status = ACK | DRIVER
        f.features = features
        f.status |= FEATURES_OK
        self.dev.func_event()
        assert self.poll() & POLL_FUNC_EVENT
        self.models[i].set_features(features)
        if enable_all:
            f.qen = (1 << f.num_queues) - 1
            f.status |= DRIVER_OK
            self.dev.func_event()
            self.poll()
            for vq in range(f.num_queues):
                self.models[i].on_queue_reenabled(vq)
        self.check_state(i)

    def cmd(self, i: int, raw: bytes, room: int = 1) -> bytes:
        """Present raw, poll once, compare with pymodel; returns the answer bytes."""
        self.dev.present(i, raw, room)
        n_before = len(self.dev.answers)
        r = self.poll()
        assert r & POLL_CTRLQ and len(self.dev.answers) == n_before + 1, (r, self.trace())
        n, got = self.dev.answers[-1]
        out = self.models[i].handle(raw[0], raw[1], raw[2:], room)
        want = (bytes([out.ack]) + out.result)[:room]
        assert got == want, f"fn {i} cmd {raw.hex()}: answer {got.hex()} expected {want.hex()}\n{self.trace()}"
        self.check_state(i)
        return got

    def check_state(self, i: int) -> None:
        d, m = self.dev.f[i], self.models[i]
        rf = m.rx_filter
        assert d.mac == m.config.mac == rf.mac, (d.mac.hex(), m.config.mac.hex())
        assert d.net_status == int(m.config.status), (d.net_status, m.config.status)
        assert d.pairs == m.curr_pairs
        names = ("promisc", "allmulti", "alluni", "nomulti", "nouni", "nobcast", "uni_overflow", "multi_overflow")
        assert d.rx_mode == sum(int(getattr(rf, n)) << b for b, n in enumerate(names)), (bin(d.rx_mode), rf)
        want_macs = {k: (mac, 0) for k, mac in enumerate(rf.uni)}
        want_macs.update({len(rf.uni) + k: (mac, 1) for k, mac in enumerate(rf.multi)})
        assert d.macs == want_macs, f"fn {i}: MAC filter {d.macs}, expected {want_macs}\n{self.trace()}"
        vl: dict[int, int] = {}
        for vid in rf.vlans:
            vl[vid // 32] = vl.get(vid // 32, 0) | 1 << (vid % 32)
        got_vl = {w: b for w, b in d.vlan.items() if b}
        assert got_vl == vl, f"fn {i}: VLAN words {got_vl}, expected {vl} (vids {sorted(rf.vlans)})\n{self.trace()}"
        for vq in range(2 * m.config.max_virtqueue_pairs):
            got = CoalescingParams(*d.coal.get(vq, (0, 0)))
            assert got == m.coalescing(vq), (i, vq, got, m.coalescing(vq))


@pytest.fixture(scope="module")
def lib():  # type: ignore[no-untyped-def]
    return load_loop_lib()


@pytest.fixture
def loop(lib):  # type: ignore[no-untyped-def]
    lp = Loop(lib, [BoardFunc(MAC0, 2), BoardFunc(MAC1, 3, link_up=False), BoardFunc(is_net=False)])
    yield lp
    lp.close()


def c(klass: int, command: int, data: bytes = b"") -> bytes:
    return bytes([klass, command]) + data


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
