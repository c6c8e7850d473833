"""Host build of the firmware (firmware/Makefile) loaded with ctypes.

* :func:`build` runs ``make -C firmware <target> O=<dir>`` (serialised with a
  file lock, so parallel pytest workers can share one output directory);
* :class:`FakeDevice` is a Python ``vio_dev_ops``: it answers the reads
  (features, num_queues, queue_enable, max_virtqueue_pairs) from its
  per-function :class:`FuncState` and applies and records every effect;
* :class:`Firmware` owns one ``vio_fw`` object bound to a FakeDevice and
  wraps the API;
* :func:`model_effects` turns recorded effect calls into pymodel
  ``CtrlEffect``\\ s (the firmware makes one call per pymodel effect);
* :class:`Twin` drives a firmware function and a pymodel NetCtrl side by
  side: every command goes to both, and :meth:`Twin.cmd` requires the same
  outcome (DEVICE_NEEDS_RESET, ack and result bytes, effects one for one and
  in order) and then the same state (device config, receive filter, pairs,
  offloads, the coalescing parameters of every vq as the device holds them
  and as the firmware answers VQ_GET).
"""

from __future__ import annotations

import ctypes as C
import fcntl
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from pymodel.buffers import Buffer, Segment
from pymodel.coalescing import CoalescingParams
from pymodel.errors import DeviceNeedsReset
from pymodel.features import NetFeature as N
from pymodel.memory import SparseMemory
from pymodel.net import NetConfig, NetStatus
from pymodel.net_ctrl import CtrlEffect, CtrlEffectKind, CtrlOutcome, NetCtrl

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"

STATUS_LINK_UP = 1
STATUS_ANNOUNCE = 2
RX_MODE_NAMES = ("promisc", "allmulti", "alluni", "nomulti", "nouni", "nobcast")
OVERFLOW_UNI, OVERFLOW_MULTI = 1, 2

API = (
    "vio_fw_sizeof", "vio_fw_init", "vio_fw_provision", "vio_fw_set_link", "vio_fw_announce",
    "vio_fw_features_ok", "vio_fw_func_reset", "vio_fw_queue_reenabled", "vio_fw_ctrl",
    "vio_fw_coalescing", "hal_host_bind", "hal_mmio_read32", "hal_mmio_write32", "hal_irq_wait",
    "hal_time_us", "vio_fw_boot", "vio_fw_poll", "vio_fw_loop_stats_get", "vio_fw_func_info",
)


# -- building ------------------------------------------------------------------------------
def default_out_dir() -> Path:
    """``$BUILD_DIR/firmware`` (BUILD_DIR relative to the repo, default ``build``)."""
    base = Path(os.environ.get("BUILD_DIR") or "build")
    return (base if base.is_absolute() else REPO / base) / "firmware"


def build(target: str = "host", out: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
    """Run ``make -C firmware target O=out``; the caller checks ``returncode``."""
    out = Path(out) if out is not None else default_out_dir()
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return subprocess.run(
            ["make", "--no-print-directory", "-C", str(FIRMWARE), target, f"O={out}"],
            capture_output=True, text=True, timeout=300,
        )


def build_host(out: Optional[Path] = None) -> Path:
    """Build the host library and return its path (RuntimeError with make's output on failure)."""
    out = Path(out) if out is not None else default_out_dir()
    res = build("host", out)
    if res.returncode != 0:
        raise RuntimeError(f"firmware host build failed:\n{res.stdout}\n{res.stderr}")
    return out / "libvio_fw.so"


# -- ctypes declarations -----------------------------------------------------------------------
u8, u16, u32, u64 = C.c_uint8, C.c_uint16, C.c_uint32, C.c_uint64
P = C.c_void_p
F_FEATURES = C.CFUNCTYPE(u64, P, u8, u8)
F_NUM_QUEUES = C.CFUNCTYPE(u16, P, u8)
F_QUEUE_ENABLED = C.CFUNCTYPE(C.c_int, P, u8, u16)
F_MAX_PAIRS = C.CFUNCTYPE(u16, P, u8)
F_SET_MAC = C.CFUNCTYPE(None, P, u8, C.POINTER(u8))
F_UPDATE_STATUS = C.CFUNCTYPE(None, P, u8, u16, u16)
F_SET_U16 = C.CFUNCTYPE(None, P, u8, u16)
F_SET_RX_MODE = C.CFUNCTYPE(None, P, u8, u8)
F_SET_MAC_TABLE = C.CFUNCTYPE(None, P, u8, C.POINTER(u8), u32, C.POINTER(u8), u32, u8)
F_SET_VLAN = C.CFUNCTYPE(None, P, u8, u16, C.c_int)
F_SET_OFFLOADS = C.CFUNCTYPE(None, P, u8, u64)
F_SET_COAL = C.CFUNCTYPE(None, P, u8, u16, u32, u32)


class DevOps(C.Structure):
    """``vio_dev_ops`` (firmware/include/vio_fw.h), same field order."""

    _fields_ = [
        ("features", F_FEATURES),
        ("num_queues", F_NUM_QUEUES),
        ("queue_enabled", F_QUEUE_ENABLED),
        ("max_pairs", F_MAX_PAIRS),
        ("set_mac", F_SET_MAC),
        ("update_status", F_UPDATE_STATUS),
        ("set_max_pairs", F_SET_U16),
        ("set_curr_pairs", F_SET_U16),
        ("set_rx_mode", F_SET_RX_MODE),
        ("set_mac_table", F_SET_MAC_TABLE),
        ("set_vlan", F_SET_VLAN),
        ("set_guest_offloads", F_SET_OFFLOADS),
        ("set_coalescing", F_SET_COAL),
    ]


class Coal(C.Structure):
    """``vio_coal``."""

    _fields_ = [("max_packets", u32), ("max_usecs", u32)]


class HalHostOps(C.Structure):
    """``vio_hal_host_ops`` (firmware/include/vio_hal_host.h)."""

    _fields_ = [
        ("mmio_read32", C.CFUNCTYPE(u32, u32)),
        ("mmio_write32", C.CFUNCTYPE(None, u32, u32)),
        ("irq_wait", C.CFUNCTYPE(C.c_int, u32)),
        ("time_us", C.CFUNCTYPE(u64)),
    ]


_LIBS: dict[str, C.CDLL] = {}


def load(path: Optional[Path] = None) -> C.CDLL:
    """Load (once per path) the host library, building it first if no path is given."""
    path = Path(path) if path is not None else build_host()
    key = str(path.resolve())
    if key in _LIBS:
        return _LIBS[key]
    lib = C.CDLL(key)
    lib.vio_fw_sizeof.restype = u32
    lib.vio_fw_sizeof.argtypes = []
    lib.vio_fw_init.restype = None
    lib.vio_fw_init.argtypes = [P, C.POINTER(DevOps), P, u8]
    lib.vio_fw_provision.restype = C.c_int
    lib.vio_fw_provision.argtypes = [P, u8, C.c_char_p, u16, C.c_int]
    lib.vio_fw_set_link.restype = None
    lib.vio_fw_set_link.argtypes = [P, u8, C.c_int]
    lib.vio_fw_announce.restype = C.c_int
    lib.vio_fw_announce.argtypes = [P, u8]
    lib.vio_fw_features_ok.restype = None
    lib.vio_fw_features_ok.argtypes = [P, u8]
    lib.vio_fw_func_reset.restype = None
    lib.vio_fw_func_reset.argtypes = [P, u8]
    lib.vio_fw_queue_reenabled.restype = None
    lib.vio_fw_queue_reenabled.argtypes = [P, u8, u16]
    lib.vio_fw_ctrl.restype = u32
    lib.vio_fw_ctrl.argtypes = [P, u8, C.c_char_p, u32, C.POINTER(u8), u32, C.POINTER(C.c_int)]
    lib.vio_fw_coalescing.restype = C.c_int
    lib.vio_fw_coalescing.argtypes = [P, u8, u16, C.POINTER(Coal)]
    lib.hal_host_bind.restype = None
    lib.hal_host_bind.argtypes = [C.POINTER(HalHostOps)]
    lib.hal_mmio_read32.restype = u32
    lib.hal_mmio_read32.argtypes = [u32]
    lib.hal_mmio_write32.restype = None
    lib.hal_mmio_write32.argtypes = [u32, u32]
    lib.hal_irq_wait.restype = C.c_int
    lib.hal_irq_wait.argtypes = [u32]
    lib.hal_time_us.restype = u64
    lib.hal_time_us.argtypes = []
    _LIBS[key] = lib
    return lib


# -- the device as the firmware sees it ------------------------------------------------------------
@dataclass
class FuncState:
    """What one function of the device holds (reads and applied effects)."""

    features: int = 0  # negotiated, up to 128 bits
    num_queues: int = 0
    enabled: set[int] = field(default_factory=set)
    max_pairs: int = 0
    mac: bytes = bytes(6)
    status: int = 0
    curr_pairs: int = 0
    rx_mode: int = 0
    uni: list[bytes] = field(default_factory=list)
    multi: list[bytes] = field(default_factory=list)
    overflow: int = 0
    vlans: set[int] = field(default_factory=set)
    offloads: int = 0
    coal: dict[int, CoalescingParams] = field(default_factory=dict)

    def vq_enabled(self, vq: int) -> bool:
        """pymodel Function._vq_enabled."""
        return 0 <= vq < self.num_queues and vq in self.enabled


class FakeDevice:
    """A Python ``vio_dev_ops``: state per function plus a log of effect calls.

    ``calls`` holds ``(func, name, *args)`` for every effect, in order.
    Exceptions raised inside a callback are kept in ``errors`` (ctypes would
    otherwise swallow them); :class:`Firmware` re-raises them.
    """

    def __init__(self, num_funcs: int) -> None:
        self.funcs = [FuncState() for _ in range(num_funcs)]
        self.calls: list[tuple[Any, ...]] = []
        self.errors: list[BaseException] = []
        self.reads = 0
        self.ops = DevOps(
            F_FEATURES(self._guard(self._features, 0)),
            F_NUM_QUEUES(self._guard(lambda _c, f: self._read(self.funcs[f].num_queues), 0)),
            F_QUEUE_ENABLED(self._guard(lambda _c, f, vq: self._read(int(self.funcs[f].vq_enabled(vq))), 0)),
            F_MAX_PAIRS(self._guard(lambda _c, f: self._read(self.funcs[f].max_pairs), 0)),
            F_SET_MAC(self._guard(self._set_mac)),
            F_UPDATE_STATUS(self._guard(self._update_status)),
            F_SET_U16(self._guard(self._set_max_pairs)),
            F_SET_U16(self._guard(self._set_curr_pairs)),
            F_SET_RX_MODE(self._guard(self._set_rx_mode)),
            F_SET_MAC_TABLE(self._guard(self._set_mac_table)),
            F_SET_VLAN(self._guard(self._set_vlan)),
            F_SET_OFFLOADS(self._guard(self._set_offloads)),
            F_SET_COAL(self._guard(self._set_coalescing)),
        )

    def _guard(self, fn: Any, default: Any = None) -> Any:
        def call(*args: Any) -> Any:
            try:
                return fn(*args)
            except BaseException as e:  # noqa: BLE001 -- re-raised by Firmware
                self.errors.append(e)
                return default
        return call

    def _read(self, v: int) -> int:
        self.reads += 1
        return v

    def _features(self, _ctx: Any, func: int, word: int) -> int:
        return self._read(self.funcs[func].features >> (64 * word) & (2**64 - 1))

    def _set_mac(self, _ctx: Any, func: int, mac: Any) -> None:
        value = bytes(mac[i] for i in range(6))
        self.funcs[func].mac = value
        self.calls.append((func, "set_mac", value))

    def _update_status(self, _ctx: Any, func: int, clear: int, set_: int) -> None:
        f = self.funcs[func]
        f.status = (f.status & ~clear) | set_
        self.calls.append((func, "update_status", clear, set_))

    def _set_max_pairs(self, _ctx: Any, func: int, v: int) -> None:
        self.funcs[func].max_pairs = v
        self.calls.append((func, "set_max_pairs", v))

    def _set_curr_pairs(self, _ctx: Any, func: int, v: int) -> None:
        self.funcs[func].curr_pairs = v
        self.calls.append((func, "set_curr_pairs", v))

    def _set_rx_mode(self, _ctx: Any, func: int, mode: int) -> None:
        self.funcs[func].rx_mode = mode
        self.calls.append((func, "set_rx_mode", mode))

    def _set_mac_table(self, _ctx: Any, func: int, uni: Any, n_uni: int, multi: Any, n_multi: int,
                       overflow: int) -> None:
        f = self.funcs[func]
        f.uni = [bytes(uni[6 * i + j] for j in range(6)) for i in range(n_uni)]
        f.multi = [bytes(multi[6 * i + j] for j in range(6)) for i in range(n_multi)]
        f.overflow = overflow
        self.calls.append((func, "set_mac_table", list(f.uni), list(f.multi), overflow))

    def _set_vlan(self, _ctx: Any, func: int, vid: int, on: int) -> None:
        if on:
            self.funcs[func].vlans.add(vid)
        else:
            self.funcs[func].vlans.discard(vid)
        self.calls.append((func, "set_vlan", vid, on))

    def _set_offloads(self, _ctx: Any, func: int, bitmap: int) -> None:
        self.funcs[func].offloads = bitmap
        self.calls.append((func, "set_guest_offloads", bitmap))

    def _set_coalescing(self, _ctx: Any, func: int, vq: int, pkts: int, usecs: int) -> None:
        self.funcs[func].coal[vq] = CoalescingParams(pkts, usecs)
        self.calls.append((func, "set_coalescing", vq, pkts, usecs))


@dataclass(frozen=True)
class CtrlResult:
    """What vio_fw_ctrl did: needs_reset, the bytes written (ack + result), effect calls."""

    needs_reset: bool
    written: bytes
    calls: tuple[tuple[Any, ...], ...]

    @property
    def ack(self) -> Optional[int]:
        return self.written[0] if self.written else None

    @property
    def result(self) -> bytes:
        return self.written[1:]


class Firmware:
    """One ``vio_fw`` bound to a :class:`FakeDevice` with ``num_funcs`` functions."""

    def __init__(self, num_funcs: int = 1, lib: Optional[C.CDLL] = None) -> None:
        self.lib = lib if lib is not None else load()
        self.dev = FakeDevice(num_funcs)
        self.mem = C.create_string_buffer(self.lib.vio_fw_sizeof())
        self.fw = C.cast(self.mem, P)
        self.lib.vio_fw_init(self.fw, C.byref(self.dev.ops), None, num_funcs)
        self._check()

    def _check(self) -> None:
        if self.dev.errors:
            err, self.dev.errors = self.dev.errors[0], []
            raise err

    def _calls_since(self, start: int) -> tuple[tuple[Any, ...], ...]:
        return tuple(self.dev.calls[start:])

    # -- API wrappers ---------------------------------------------------------------------------
    def provision(self, func: int, mac: bytes, max_pairs: int, link_up: bool = True,
                  num_queues: Optional[int] = None) -> int:
        """vio_fw_provision; also sizes the fake function (num_queues = 2*max_pairs + 1)."""
        f = self.dev.funcs[func] if func < len(self.dev.funcs) else None
        if f is not None:
            f.num_queues = 2 * max_pairs + 1 if num_queues is None else num_queues
        rc = self.lib.vio_fw_provision(self.fw, func, bytes(mac), max_pairs, int(link_up))
        self._check()
        return rc

    def negotiate(self, func: int, features: int) -> None:
        """The device accepted FEATURES_OK with ``features``: vio_fw_features_ok."""
        self.dev.funcs[func].features = features
        self.lib.vio_fw_features_ok(self.fw, func)
        self._check()

    def reset(self, func: int) -> None:
        """Device reset: the device's features read 0, then vio_fw_func_reset."""
        self.dev.funcs[func].features = 0
        self.lib.vio_fw_func_reset(self.fw, func)
        self._check()

    def enable(self, func: int, vq: int) -> None:
        """queue_enable = 1 on ``vq``, then vio_fw_queue_reenabled."""
        self.dev.funcs[func].enabled.add(vq)
        self.lib.vio_fw_queue_reenabled(self.fw, func, vq)
        self._check()

    def set_link(self, func: int, up: bool) -> None:
        self.lib.vio_fw_set_link(self.fw, func, int(up))
        self._check()

    def announce(self, func: int) -> int:
        rc = self.lib.vio_fw_announce(self.fw, func)
        self._check()
        return rc

    def ctrl(self, func: int, cmd: bytes, writable: int = 1, rsp_size: Optional[int] = None) -> CtrlResult:
        """vio_fw_ctrl on ``cmd`` with ``writable`` bytes of room."""
        start = len(self.dev.calls)
        size = max(writable, 1) + 16 if rsp_size is None else rsp_size
        rsp = (u8 * size)(*([0xEE] * size))
        nr = C.c_int(-1)
        n = self.lib.vio_fw_ctrl(self.fw, func, bytes(cmd), len(cmd), rsp, writable, C.byref(nr))
        self._check()
        if nr.value not in (0, 1):
            raise AssertionError(f"needs_reset left at {nr.value}")
        if any(rsp[i] != 0xEE for i in range(n, size)):
            raise AssertionError(f"vio_fw_ctrl wrote past the {n} bytes it returned")
        return CtrlResult(bool(nr.value), bytes(rsp[:n]), self._calls_since(start))

    def coalescing(self, func: int, vq: int) -> CoalescingParams:
        """vio_fw_coalescing."""
        c = Coal()
        if self.lib.vio_fw_coalescing(self.fw, func, vq, C.byref(c)) != 0:
            raise ValueError(f"function {func} out of range")
        return CoalescingParams(c.max_packets, c.max_usecs)


def model_effects(calls: tuple[tuple[Any, ...], ...]) -> tuple[CtrlEffect, ...]:
    """Effect calls of one command as pymodel CtrlEffects (one call per effect)."""
    out = []
    K = CtrlEffectKind
    for c in calls:
        name = c[1]
        if name in ("set_rx_mode", "set_mac_table", "set_vlan"):
            out.append(CtrlEffect(K.RX_FILTER))
        elif name == "set_mac":
            out.append(CtrlEffect(K.MAC_CHANGED, value=c[2]))
        elif name == "set_curr_pairs":
            out.append(CtrlEffect(K.PAIRS_CHANGED, value=c[2]))
        elif name == "set_guest_offloads":
            out.append(CtrlEffect(K.OFFLOADS, value=c[2]))
        elif name == "update_status" and c[2:] == (STATUS_ANNOUNCE, 0):
            out.append(CtrlEffect(K.ANNOUNCE_ACKED))
        elif name == "set_coalescing":
            out.append(CtrlEffect(K.COALESCING, c[2], CoalescingParams(c[3], c[4])))
        else:
            raise AssertionError(f"effect call with no pymodel counterpart: {c}")
    return tuple(out)


# -- firmware next to pymodel ---------------------------------------------------------------
CMD_AT, RSP_AT = 0x1000, 0x10000


def model_process(ctrl: NetCtrl, cmd: bytes, writable: int) -> tuple[Optional[CtrlOutcome], bytes]:
    """pymodel NetCtrl.process on a buffer with ``cmd`` readable and ``writable`` bytes."""
    mem = SparseMemory()
    segs = []
    if cmd:
        mem.write(CMD_AT, cmd)
        segs.append(Segment(CMD_AT, len(cmd), False))
    if writable:
        segs.append(Segment(RSP_AT, writable, True))
    buf = Buffer(0, tuple(segs), max(len(segs), 1), 0)
    try:
        out = ctrl.process(buf, mem)
    except DeviceNeedsReset:
        return None, b""
    return out, mem.read(RSP_AT, min(out.used_len, writable))


@dataclass
class Step:
    """Outcome of one command on both sides."""

    fw: CtrlResult
    model: Optional[CtrlOutcome]

    @property
    def ack(self) -> Optional[int]:
        return self.fw.ack

    @property
    def result(self) -> bytes:
        return self.fw.result


class Twin:
    """Function ``func`` of ``fw`` next to a NetCtrl on the same NetConfig values."""

    def __init__(self, fw: Firmware, func: int, mac: bytes, max_pairs: int, features: int,
                 enabled: Iterable[int] = ()) -> None:
        self.fw, self.func = fw, func
        assert fw.provision(func, mac, max_pairs) == 0
        self.dev = fw.dev.funcs[func]
        self.dev.enabled.update(enabled)
        self.model = NetCtrl(NetConfig(mac=bytes(mac), max_virtqueue_pairs=max_pairs),
                             vq_enabled=self.dev.vq_enabled)
        self.check_state()
        if features:
            self.negotiate(features)

    # -- lifecycle, mirrored -----------------------------------------------------------------
    def negotiate(self, features: int) -> None:
        self.fw.negotiate(self.func, features)
        self.model.set_features(features)
        self.check_state()

    def reset(self) -> None:
        self.fw.reset(self.func)
        self.model.reset()
        self.check_state()

    def enable(self, vq: int) -> None:
        self.fw.enable(self.func, vq)
        self.model.on_queue_reenabled(vq)
        self.check_state()

    def announce(self) -> None:
        rc = self.fw.announce(self.func)
        has = self.model.has(N.GUEST_ANNOUNCE)
        assert rc == (0 if has else -1)
        if has:
            self.model.config.status |= NetStatus.ANNOUNCE
        self.check_state()

    # -- one command ---------------------------------------------------------------------------
    def cmd(self, raw: bytes, writable: int = 1) -> Step:
        out, written = model_process(self.model, raw, writable)
        got = self.fw.ctrl(self.func, raw, writable)
        if out is None:
            assert got.needs_reset and got.written == b"" and got.calls == (), got
        else:
            assert not got.needs_reset
            assert got.written == written, (raw.hex(), got.written.hex(), written.hex())
            assert model_effects(got.calls) == out.effects, (raw.hex(), got.calls, out.effects)
        self.check_state()
        return Step(got, out)

    def check_state(self) -> None:
        d, m, rf = self.dev, self.model, self.model.rx_filter
        assert d.mac == m.config.mac == rf.mac
        assert d.status == int(m.config.status)
        assert d.max_pairs == m.config.max_virtqueue_pairs
        assert d.curr_pairs == m.curr_pairs
        mode = {name: bool(d.rx_mode >> i & 1) for i, name in enumerate(RX_MODE_NAMES)}
        assert mode == {name: getattr(rf, name) for name in RX_MODE_NAMES}
        assert (d.uni, d.multi) == (rf.uni, rf.multi)
        assert (bool(d.overflow & OVERFLOW_UNI), bool(d.overflow & OVERFLOW_MULTI)) == (
            rf.uni_overflow, rf.multi_overflow)
        assert d.vlans == rf.vlans
        assert d.offloads == m.guest_offloads
        for vq in range(2 * m.config.max_virtqueue_pairs + 2):
            want = m.coalescing(vq)
            assert self.fw.coalescing(self.func, vq) == want, vq
            if vq < 2 * m.config.max_virtqueue_pairs:
                assert d.coal.get(vq, CoalescingParams()) == want, vq
