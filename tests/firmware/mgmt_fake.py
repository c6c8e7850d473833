"""A Python fake of the management block's REGISTER SEMANTICS (hdl/vio_mgmt.sv header,
docs/mgmt_regs.md, offsets and fields from the generated tb/mgmt/regs.py) for the
firmware main loop (fw_loop.c) and the MMIO device ops (fw_mmio.c), and :class:`Loop`:
the host library booted on it with a pymodel NetCtrl per net function.

The fake holds what the RTL holds: IRQ_STATUS (W1C) / IRQ_ENABLE, the mailbox
(CTRLQ_* / CMD_DATA / RSP_DATA, DONE hands the answer back and drops VALID), DEV_FUNCS,
the FUNC_SEL-indexed function state (FUNC_STATE incl. EXISTS / FLR / IS_VF / PF;
FUNC_APPLY loads MAC / status / pairs / rx mode and is recorded in ``applies``), the
coalescing table (COAL_APPLY), the MAC / VLAN filter tables (FILTER_CMD).  Every HAL
access is logged (``log``).  Used by test_fw_loop.py and test_fw_sriov.py.
"""

from __future__ import annotations

import ctypes as C
from dataclasses import dataclass, field
from typing import Callable, Optional

from pymodel.coalescing import CoalescingParams
from pymodel.features import NetFeature as N, Transport as T, mask
from pymodel.net import NetConfig
from pymodel.net_ctrl import NetCtrl
from tb.fw_host import POLL_CTRLQ, POLL_FUNC_EVENT, BoardFunc, FuncInfoC, StatsC, make_board, reg_name
from tb.mgmt import regs as R
from tests.firmware.fw_lib import HalHostOps

MB_BYTES = 4 * R.CMD_DATA_COUNT
ALL = mask(T.VERSION_1, N.CTRL_VQ, N.CTRL_RX, N.CTRL_RX_EXTRA, N.CTRL_VLAN, N.GUEST_ANNOUNCE, N.MQ,
           N.CTRL_MAC_ADDR, N.CTRL_GUEST_OFFLOADS, N.GUEST_CSUM, N.NOTF_COAL, N.VQ_NOTF_COAL, N.MAC,
           N.STATUS)
ACK, DRIVER, DRIVER_OK, FEATURES_OK = 1, 2, 4, 8
MAC0 = bytes.fromhex("525400123456")
MAC1 = bytes.fromhex("02aabbccddee")


@dataclass
class Func:
    exists: bool = True              # FUNC_STATE.EXISTS
    flr: bool = False                # FUNC_STATE.FLR
    is_vf: bool = False              # FUNC_STATE.IS_VF
    pf: int = 0                      # FUNC_STATE.PF
    status: int = 0
    features: int = 0
    num_queues: int = 0
    qen: int = 0
    mac: bytes = bytes(6)            # applied (net_mac)
    net_status: int = 0
    pairs: int = 1
    max_pairs: int = 0               # FUNC_PAIRS.MAX as applied
    rx_mode: int = 1                 # PROMISC after reset
    coal: dict[int, tuple[int, int]] = field(default_factory=dict)
    macs: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # index -> (mac, multicast)
    vlan: dict[int, int] = field(default_factory=dict)                 # word -> bits


class FakeMgmt:
    """Register semantics of vio_mgmt (the RW storage, W1C, APPLY/CMD pulses, mailbox)."""

    def __init__(self, nf: int, num_pf: Optional[int] = None) -> None:
        self.f = [Func() for _ in range(nf)]
        self.dev_funcs = nf | (nf if num_pf is None else num_pf) << R.DEV_FUNCS_NUM_PF_SHIFT
        self.applies: list[tuple[int, bytes, int, int, int, int]] = []  # FUNC_APPLY: (func, mac, status, max, curr, rx)
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

    def _held_in_reset(self, i: int) -> None:
        """What the RTL does to a function that does not exist or is in FLR: virtio state at reset."""
        f = self.f[i]
        f.status, f.features, f.qen = 0, 0, 0

    def set_exists(self, i: int, on: bool, event: bool = True) -> None:
        """VF Enable / NumVFs made function i appear (on) or disappear."""
        self.f[i].exists = on
        if not on:
            self._held_in_reset(i)
        if event:
            self.func_event()

    def set_flr(self, i: int, on: bool, event: bool = True) -> None:
        """An FLR of function i starts (on) / completes."""
        self.f[i].flr = on
        if on:
            self._held_in_reset(i)
        if event:
            self.func_event()

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
        if off == R.DEV_FUNCS_OFFSET:
            return self.dev_funcs
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
                    R.FUNC_STATE_OFFSET: (f.status | int(f.exists) << R.FUNC_STATE_EXISTS_SHIFT
                                          | int(f.flr) << R.FUNC_STATE_FLR_SHIFT
                                          | int(f.is_vf) << R.FUNC_STATE_IS_VF_SHIFT
                                          | f.pf << R.FUNC_STATE_PF_SHIFT
                                          | f.num_queues << R.FUNC_STATE_NUM_QUEUES_SHIFT),
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
                pr = self.rw.get(R.FUNC_PAIRS_OFFSET, 0)
                f.pairs = (pr & R.FUNC_PAIRS_CURR_MASK) >> R.FUNC_PAIRS_CURR_SHIFT
                f.max_pairs = (pr & R.FUNC_PAIRS_MAX_MASK) >> R.FUNC_PAIRS_MAX_SHIFT
                f.rx_mode = self.rw.get(R.FUNC_RX_MODE_OFFSET, 0) & 0xFF
                fi = self.rw.get(R.FUNC_SEL_OFFSET, 0) & R.FUNC_SEL_FUNC_MASK
                self.applies.append((fi, f.mac, f.net_status, f.max_pairs, f.pairs, f.rx_mode))
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

    def __init__(self, lib, funcs: list[BoardFunc], timeout_us: int = 0,  # type: ignore[no-untyped-def]
                 num_pf: Optional[int] = None, num_queues: Optional[list[int]] = None,
                 total_vfs: Optional[list[int]] = None) -> None:
        """``funcs``: the board rows; the fake device gets as many functions and the same PFs
        (``num_pf``: see make_board).  Rows num_pf.. are the VFs of PF0 (total_vfs[0] of them),
        then PF1's, ... (sr_iov spec numbering; default: every VF row belongs to PF0); they read
        IS_VF = 1 and their PF.  NUM_QUEUES is 2 * max_pairs + 1 unless ``num_queues`` says
        otherwise.  Every function exists (set_exists to change that)."""
        self.lib = lib
        self.funcs = funcs
        self.board = make_board(funcs, timeout_us, num_pf)
        npf = self.board.num_pf
        self.dev = FakeMgmt(len(funcs), npf)
        owners = list(range(npf))
        for p, t in enumerate(total_vfs if total_vfs is not None else [len(funcs) - npf]):
            owners += [p] * t
        assert len(owners) == len(funcs), (owners, len(funcs))
        for i, bf in enumerate(funcs):
            self.dev.f[i].num_queues = 2 * bf.max_pairs + 1 if num_queues is None else num_queues[i]
            self.dev.f[i].is_vf = i >= npf
            self.dev.f[i].pf = owners[i]
        self.mem = C.create_string_buffer(lib.vio_fw_sizeof())
        self.fw = C.cast(self.mem, C.c_void_p)
        self.models = {i: self.fresh_model(i) for i, bf in enumerate(funcs) if bf.is_net}
        lib.hal_host_bind(C.byref(self.dev.ops))

    def fresh_model(self, i: int, max_pairs: Optional[int] = None) -> NetCtrl:
        """pymodel NetCtrl of function i as provisioning leaves it (board values)."""
        bf = self.funcs[i]
        return NetCtrl(NetConfig(mac=bf.mac, max_virtqueue_pairs=bf.max_pairs if max_pairs is None else max_pairs,
                                 status=1 if bf.link_up else 0),
                       vq_enabled=self._vq_enabled(i))

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

    def info(self, i: int) -> dict[str, object]:
        """vio_fw_func_info(i)."""
        out = FuncInfoC()
        assert self.lib.vio_fw_func_info(self.fw, i, C.byref(out)) == 0, i
        return out.as_dict()

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


def c(klass: int, command: int, data: bytes = b"") -> bytes:
    return bytes([klass, command]) + data
