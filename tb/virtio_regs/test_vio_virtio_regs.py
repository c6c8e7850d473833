# SPDX-License-Identifier: Apache-2.0
"""Focused bench for vio_virtio_regs: the modern virtio-pci transport registers.

The DUT runs alone (three functions, tb/virtio_regs/config.py). A register
master drives DWORD accesses with byte enables; every byte-enable pattern
that describes a natural access is the pymodel access (offset, width) it
covers, and every read is compared with the golden model at the moment the
DUT accepted it:

* common configuration: ``pymodel.common_cfg.CommonCfg`` (THE reference,
  including ``pymodel.features.validate_driver_features`` at FEATURES_OK);
* device configuration: ``pymodel.blk_config.BlkConfig`` / ``BlkDevice``
  (writeback rule) and ``pymodel.net.NetConfig``;
* ISR: read-to-clear byte, bits set as ``pymodel.function.FunctionModel``
  sets them (queue interrupt input, config change and DEVICE_NEEDS_RESET
  while DRIVER_OK);
* notifications: ``pymodel.device.Device.notify`` (value = vq index; only
  enabled queues of a live function are processed, the rest is dropped).

Choices of the RTL the model has no opinion on, and the bench checks:
non-contiguous byte enables write nothing; after a reset write with a
non-zero status, device_status reads its old value, writes are ignored and
notifications dropped until the bench's ring-engine stand-in answers
func_reset_req with func_quiesced (the other registers already read their
reset values); configuration-change interrupts carry config_msix_vector.

Ordering contract: the reference is stepped when the DUT accepts a request;
device-side inputs (ISR sets, needs-reset, config inputs) and context reads
are driven only while the register port is idle.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

import cocotb
from cocotb.clock import Clock
from cocotb.queue import Queue
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, Event, RisingEdge, with_timeout

from pymodel.blk import BlkDevice
from pymodel.blk_config import BlkConfig
from pymodel.common_cfg import NO_VECTOR, CfgEventKind, CommonCfg, Reg
from pymodel.disk import Disk
from pymodel.features import (
    DEPENDENCIES,
    BlkFeature,
    DeviceType,
    Transport,
    bits_of,
    feature_name,
    mask,
    validate_driver_features,
)
from pymodel.net import NetConfig, NetStatus
from pymodel.status import Status
from tb.virtio_regs.config import (
    BLK_BLK_SIZE,
    BLK_SEG_MAX,
    BLK_SIZE_MAX,
    FUNCS,
    MSIX_VEC,
    NET_DUPLEX,
    NET_MTU,
    NET_SPEED,
    FuncConfig,
)

CLK_NS = 4
COMMON, ISR, DEVCFG, NOTIFY = 0x0000, 0x0100, 0x0200, 0x1000
STORM_STEPS = 6000
SWEEP_TRIALS = 120          # random feature sets per function in test_feature_sweep

#: byte-enable pattern -> (byte offset in the DWORD, width) of a contiguous access
BE_ACCESS = {
    0b0001: (0, 1), 0b0010: (1, 1), 0b0100: (2, 1), 0b1000: (3, 1),
    0b0011: (0, 2), 0b1100: (2, 2), 0b1111: (0, 4),
    0b0110: (1, 2), 0b0111: (0, 3), 0b1110: (1, 3),
}
NATURAL_BE = (0b0001, 0b0010, 0b0100, 0b1000, 0b0011, 0b1100, 0b1111)
ODD_BE = tuple(b for b in range(16) if b not in NATURAL_BE)


def now() -> str:
    return f"t={get_sim_time('ns'):.0f} ns"


def cycle() -> int:
    return int(get_sim_time("ns")) // CLK_NS


def region(addr: int) -> str:
    if addr < 0x40:
        return f"common {Reg(addr & ~3).name if (addr & ~3) in set(Reg) else hex(addr)}"
    if addr < 0x100:
        return "common (beyond 0x40)"
    if addr < 0x200:
        return "ISR"
    if addr < 0x300:
        return f"device cfg +{addr - DEVCFG:#x}"
    if addr < 0x1000:
        return "reserved"
    return f"notify +{addr - NOTIFY:#x}"


# --------------------------------------------------------------------------- reference


class FuncRef:
    """One function as pymodel sees it, plus the bench-side ISR byte."""

    def __init__(self, idx: int, cfg: FuncConfig, capacity: int, mac: bytes, net_status: int) -> None:
        self.idx = idx
        self.cfg = cfg
        self.common = CommonCfg(cfg.dtype, cfg.features, [cfg.queue_max] * cfg.num_queues,
                                msix_table_size=MSIX_VEC)
        self.isr = 0
        self.blk: Optional[BlkDevice] = None
        self.net: Optional[NetConfig] = None
        if cfg.dtype == DeviceType.BLK:
            bc = BlkConfig(size_max=BLK_SIZE_MAX, seg_max=BLK_SEG_MAX, blk_size=BLK_BLK_SIZE,
                           num_queues=cfg.num_queues, writeback=0)
            self.blk = BlkDevice(Disk(0), bc, cfg.features)
            self.blk.config.capacity = capacity
        else:
            self.net = NetConfig(mac=mac, status=net_status, max_virtqueue_pairs=cfg.pairs, mtu=NET_MTU,
                                 speed=NET_SPEED, duplex=NET_DUPLEX)

    def dev_read(self, off: int) -> int:
        if self.blk is not None:
            return self.blk.config_read(off, 4)
        assert self.net is not None
        return self.net.read(off, 4)


@dataclass
class Outcome:
    """What one accepted request did to the reference."""

    expect: Optional[int] = None           # read: expected DWORD
    notify: Optional[tuple[int, int, int]] = None
    dropped: bool = False
    note: str = ""


class Ref:
    """Every function, plus the outputs the DUT owes (notifications, interrupts, queue resets)."""

    def __init__(self, capacity: list[int], macs: list[bytes], nstat: list[int]) -> None:
        self.f = [FuncRef(i, c, capacity[i], macs[i], nstat[i]) for i, c in enumerate(FUNCS)]
        self.shadow = [0] * len(FUNCS)                 # device_status shown while a reset drains
        self.notifies: deque[tuple[int, int, int]] = deque()
        self.drops = 0
        self.qresets: deque[tuple[int, int]] = deque()
        self.cfg_irq_owed: dict[int, int] = {}          # function -> vector owed
        self.cfg_irq_may: dict[int, int] = {}           # owed before a reset: may still arrive (spurious is legal)
        self.resets_started: list[tuple[int, int]] = []  # (function, cycle the request rose)

    # -- interrupts --------------------------------------------------------------------------
    def _config_interrupt(self, fr: FuncRef) -> None:
        """pymodel FunctionModel._config_interrupt: ISR bit 1 and the config vector, after DRIVER_OK."""
        if not fr.common.status.driver_ok:
            return
        fr.isr |= 2
        if fr.common.config_msix_vector != NO_VECTOR:
            self.cfg_irq_owed[fr.idx] = fr.common.config_msix_vector

    # -- reads ------------------------------------------------------------------------------
    def read(self, f: int, addr: int, be: int, pending: bool) -> int:
        if f >= len(self.f):
            return 0
        fr = self.f[f]
        dw = addr & ~3
        if dw < 0x40:
            val = fr.common.read(dw, 4)
            if dw == Reg.DEVICE_STATUS & ~3 and pending:
                val = (val & ~0xFF) | self.shadow[f]
            return val
        if ISR <= dw < DEVCFG:
            if dw != ISR:
                return 0
            val = fr.isr
            if be & 1:
                fr.isr = 0
            return val
        if DEVCFG <= dw < DEVCFG + 0x100:
            return fr.dev_read(dw - DEVCFG)
        return 0

    # -- writes -----------------------------------------------------------------------------
    def write(self, f: int, addr: int, be: int, data: int, pending: bool, at: int) -> Outcome:
        dw = addr & ~3
        if dw >= NOTIFY:
            return self._notify(f, be, data, pending)
        if f >= len(self.f) or pending:
            return Outcome(note="ignored (no such function / reset draining)")
        fr = self.f[f]
        acc = BE_ACCESS.get(be)
        if acc is None:
            return Outcome(note="ignored (non-contiguous byte enables)")
        boff, width = acc
        off = dw + boff
        value = (data >> (8 * boff)) & ((1 << (8 * width)) - 1)
        if dw < 0x100:
            if off >= 0x40:
                return Outcome(note="ignored (beyond the common structure)")
            old_status = fr.common.status.value
            res = fr.common.write(off, width, value)
            for ev in res.events:
                if ev.kind == CfgEventKind.DEVICE_RESET:
                    fr.isr = 0
                    if fr.blk is not None:
                        fr.blk.reset()
                    if f in self.cfg_irq_owed:
                        self.cfg_irq_may[f] = self.cfg_irq_owed.pop(f)
                    if old_status:
                        self.shadow[f] = old_status
                        self.resets_started.append((f, at + 1))
                elif ev.kind == CfgEventKind.FEATURES_OK and fr.blk is not None:
                    fr.blk.set_features(fr.common.negotiated)
                elif ev.kind == CfgEventKind.NEEDS_RESET:
                    self._config_interrupt(fr)
                elif ev.kind == CfgEventKind.QUEUE_RESET and ev.queue is not None:
                    self.qresets.append((f, ev.queue))
            return Outcome(note="applied" if res.applied else f"ignored ({res.note})")
        if DEVCFG <= dw < DEVCFG + 0x100 and fr.blk is not None:
            done = fr.blk.config_write(off - DEVCFG, width, value, fr.common.status.features_ok)
            return Outcome(note="applied" if done else "ignored")
        return Outcome(note="ignored")

    def _notify(self, f: int, be: int, data: int, pending: bool) -> Outcome:
        """pymodel Device.notify: value & 0xFFFF is the vq; only enabled queues of a live function."""
        vq = data & 0xFFFF
        if f < len(self.f) and not pending and be & 3 == 3:
            fr = self.f[f]
            c = fr.common
            if vq < c.num_queues and c.queues[vq].enable and c.status.live:
                n = (f, vq, data & sum(0xFF << (8 * b) for b in range(4) if be >> b & 1))
                self.notifies.append(n)
                return Outcome(notify=n)
        self.drops += 1
        return Outcome(dropped=True)

    # -- device-side events -------------------------------------------------------------------
    def isr_set(self, f: int, bits: int, pending: bool) -> None:
        if not pending:
            self.f[f].isr |= bits

    def needs_reset(self, f: int, pending: bool) -> None:
        if pending:
            return
        fr = self.f[f]
        if fr.common.set_needs_reset("bench: unrecoverable error"):
            self._config_interrupt(fr)

    def config_changed(self, f: int, pending: bool) -> None:
        fr = self.f[f]
        fr.common.bump_generation()
        if not pending:
            self._config_interrupt(fr)


# --------------------------------------------------------------------------- bench


@dataclass
class RegReq:
    we: bool
    func: int
    addr: int
    be: int
    wdata: int = 0
    expect: Optional[int] = None
    rdata: Optional[int] = None
    outcome: Optional[Outcome] = None
    draining: bool = False
    done: Event = field(default_factory=Event)


class TB:
    def __init__(self, dut) -> None:
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.nf = len(FUNCS)
        self.log.info("test seed %d, %d functions: %s", cocotb.RANDOM_SEED, self.nf,
                      ", ".join(f"f{i} {c.dtype.name} nq {c.num_queues} max {c.queue_max}" for i, c in enumerate(FUNCS)))
        got = (int(dut.NUM_FUNC.value), int(dut.MSIX_VEC.value))
        if got != (self.nf, MSIX_VEC):
            raise AssertionError(f"DUT built with NUM_FUNC/MSIX_VEC {got}, bench expects {(self.nf, MSIX_VEC)}")

        cocotb.start_soon(Clock(dut.clk, CLK_NS, unit="ns").start())

        self.capacity = [random.randrange(1, 1 << 40) for _ in FUNCS]
        self.macs = [bytes([0x52, 0x54, 0x00, random.randrange(256), random.randrange(256), i]) for i in range(self.nf)]
        self.nstat = [int(NetStatus.LINK_UP)] * self.nf
        self.ref = Ref(self.capacity, self.macs, self.nstat)
        self.errors: list[str] = []
        self.context = ""                # what the test is doing, added to failure messages

        self.reg_q: Queue[RegReq] = Queue()
        self.reg_busy = False
        self.reads_inflight: deque[RegReq] = deque()
        self.notify_ready_p = 1.0
        self.irq_ready_p = 1.0
        self.quiesce_delay = (0, 8)      # cycles the ring-engine stand-in takes to drain
        self.quiesce_hold = False        # hold func_quiesced high all the time
        self.drop_pulses = 0
        self.notifies_seen = 0
        self.irqs_seen = 0

        dut.rst.value = 1
        for name in ("s_reg_req_valid", "s_reg_req_we", "s_reg_req_func", "s_reg_req_bar", "s_reg_req_addr",
                     "s_reg_req_be", "s_reg_req_wdata", "func_quiesced", "isr_queue_set", "isr_cfg_set",
                     "needs_reset_set", "ctx_req_valid", "ctx_req_func", "ctx_req_queue"):
            getattr(dut, name).value = 0
        dut.m_axis_notify_ready.value = 1
        dut.m_axis_cfg_irq_ready.value = 1
        self._drive_cfg_inputs()

        cocotb.start_soon(self._reg_driver())
        cocotb.start_soon(self._rsp_monitor())
        cocotb.start_soon(self._out_monitor())
        cocotb.start_soon(self._ready_driver())
        cocotb.start_soon(self._quiesce_model())

    # ------------------------------------------------------------ plumbing
    def _drive_cfg_inputs(self) -> None:
        cap = mac = st = 0
        for i in range(self.nf):
            cap |= self.capacity[i] << (64 * i)
            mac |= int.from_bytes(self.macs[i], "big") << (48 * i)
            st |= self.nstat[i] << (16 * i)
        self.dut.blk_capacity.value = cap
        self.dut.net_mac.value = mac
        self.dut.net_status.value = st

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 5)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    def fail(self, text: str) -> None:
        if self.context:
            text = f"{text} [{self.context}]"
        self.errors.append(f"{text} ({now()})")
        self.log.error("%s (%s)", text, now())

    def check(self) -> None:
        if self.errors:
            more = f"\n... and {len(self.errors) - 10} more" if len(self.errors) > 10 else ""
            raise AssertionError("\n".join(self.errors[:10]) + more)

    def pending(self, f: int) -> bool:
        """func_reset_req[f] as sampled at this edge (its timing is checked by _quiesce_model)."""
        return f < self.nf and bool(int(self.dut.func_reset_req.value) >> f & 1)

    # ------------------------------------------------------------ register port
    def write_nowait(self, f: int, addr: int, data: int, be: int = 0xF) -> RegReq:
        req = RegReq(True, f, addr, be, data & 0xFFFF_FFFF)
        self.reg_q.put_nowait(req)
        return req

    def read_nowait(self, f: int, addr: int, be: int = 0xF) -> RegReq:
        req = RegReq(False, f, addr, be)
        self.reg_q.put_nowait(req)
        return req

    async def write(self, f: int, addr: int, data: int, be: int = 0xF) -> Outcome:
        req = self.write_nowait(f, addr, data, be)
        await self._wait(req.done, f"write f{f} {addr:#x} not accepted")
        assert req.outcome is not None
        return req.outcome

    async def read(self, f: int, addr: int, be: int = 0xF) -> int:
        """One DWORD read; the DUT's answer is checked against the reference."""
        req = self.read_nowait(f, addr, be)
        await self._wait(req.done, f"read f{f} {addr:#x}: no response")
        self.check()
        assert req.rdata is not None
        return req.rdata

    async def _wait(self, ev: Event, what: str, cycles: int = 5000) -> None:
        try:
            await with_timeout(ev.wait(), cycles * CLK_NS, "ns")
        except Exception as exc:
            raise AssertionError(f"vio_virtio_regs: {what} within {cycles} cycles ({now()})") from exc

    async def _reg_driver(self) -> None:
        dut = self.dut
        while True:
            if self.reg_q.empty():
                dut.s_reg_req_valid.value = 0
                self.reg_busy = False
                req = await self.reg_q.get()
            else:
                req = self.reg_q.get_nowait()
            self.reg_busy = True
            dut.s_reg_req_we.value = int(req.we)
            dut.s_reg_req_func.value = req.func
            dut.s_reg_req_bar.value = 0
            dut.s_reg_req_addr.value = req.addr
            dut.s_reg_req_be.value = req.be
            dut.s_reg_req_wdata.value = req.wdata
            dut.s_reg_req_valid.value = 1
            for _ in range(2000):
                await RisingEdge(dut.clk)
                if int(dut.s_reg_req_ready.value):
                    break
            else:
                self.fail(f"s_reg_req_ready low for 2000 cycles (f{req.func} {req.addr:#x})")
                self.check()
            pend = self.pending(req.func)
            if req.we:
                req.outcome = self.ref.write(req.func, req.addr, req.be, req.wdata, pend, cycle())
                req.done.set()
            else:
                req.expect = self.ref.read(req.func, req.addr, req.be, pend)
                req.draining = pend
                self.reads_inflight.append(req)

    async def _rsp_monitor(self) -> None:
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            if not int(dut.s_reg_rsp_valid.value):
                continue
            data = int(dut.s_reg_rsp_rdata.value)
            if not self.reads_inflight:
                self.fail(f"read response {data:#010x} without an outstanding read")
                continue
            req = self.reads_inflight.popleft()
            req.rdata = data
            if data != req.expect:
                assert req.expect is not None
                src = "pymodel, reset draining: pre-reset device_status" if req.draining else "pymodel"
                self.fail(f"read f{req.func} addr {req.addr:#06x} ({region(req.addr)}) be {req.be:04b}: "
                          f"expected {req.expect:#010x} ({src}), got {data:#010x}; "
                          f"differing bits {data ^ req.expect:#010x}")
            req.done.set()

    async def idle(self) -> None:
        """Wait until every queued access is accepted and answered."""
        for _ in range(20000):
            if self.reg_q.empty() and not self.reg_busy and not self.reads_inflight:
                break
            await RisingEdge(self.dut.clk)
        else:
            raise AssertionError(f"register port not idle after 20000 cycles ({now()})")
        await RisingEdge(self.dut.clk)

    # ------------------------------------------------------------ outputs
    async def _ready_driver(self) -> None:
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            dut.m_axis_notify_ready.value = int(random.random() < self.notify_ready_p)
            dut.m_axis_cfg_irq_ready.value = int(random.random() < self.irq_ready_p)

    async def _out_monitor(self) -> None:
        """Notifications, configuration interrupts, queue-reset events, drop pulses."""
        dut = self.dut
        ref = self.ref
        while True:
            await RisingEdge(dut.clk)
            if int(dut.m_axis_notify_valid.value) and int(dut.m_axis_notify_ready.value):
                got = (int(dut.m_axis_notify_func.value), int(dut.m_axis_notify_queue.value),
                       int(dut.m_axis_notify_data.value))
                self.notifies_seen += 1
                if not ref.notifies:
                    self.fail(f"unexpected notification func {got[0]} queue {got[1]} data {got[2]:#010x}")
                else:
                    exp = ref.notifies.popleft()
                    if got != exp:
                        self.fail(f"notification: expected func {exp[0]} queue {exp[1]} data {exp[2]:#010x}, "
                                  f"got func {got[0]} queue {got[1]} data {got[2]:#010x}")
            if int(dut.m_axis_cfg_irq_valid.value) and int(dut.m_axis_cfg_irq_ready.value):
                f, vec = int(dut.m_axis_cfg_irq_func.value), int(dut.m_axis_cfg_irq_vec.value)
                self.irqs_seen += 1
                owed = ref.cfg_irq_owed.pop(f, None)
                if owed is None:
                    owed = ref.cfg_irq_may.pop(f, None)
                if owed is None:
                    self.fail(f"unexpected configuration-change interrupt func {f} vector {vec}")
                elif owed != vec:
                    self.fail(f"configuration-change interrupt func {f}: expected vector {owed}, got {vec}")
            if int(dut.ev_queue_reset_valid.value):
                got2 = (int(dut.ev_queue_reset_func.value), int(dut.ev_queue_reset_queue.value))
                exp2 = ref.qresets.popleft() if ref.qresets else None
                if got2 != exp2:
                    self.fail(f"queue reset event: expected {exp2}, got func {got2[0]} queue {got2[1]}")
            if int(dut.stat_notify_drop.value):
                self.drop_pulses += 1

    async def settle(self) -> None:
        """Idle, every owed output seen, counters equal to the reference's."""
        await self.idle()
        for _ in range(200):
            if not self.ref.notifies and not self.ref.cfg_irq_owed and not self.ref.qresets:
                break
            await RisingEdge(self.dut.clk)
        await ClockCycles(self.dut.clk, 10)
        if self.ref.notifies:
            self.fail(f"notifications never delivered: {list(self.ref.notifies)[:5]}")
        if self.ref.cfg_irq_owed:
            self.fail(f"configuration-change interrupts never requested (func: vector): {self.ref.cfg_irq_owed}")
        self.ref.cfg_irq_may.clear()
        if self.ref.qresets:
            self.fail(f"queue reset events missing: {list(self.ref.qresets)}")
        count = int(self.dut.stat_notify_drop_count.value)
        if count != self.ref.drops or self.drop_pulses != self.ref.drops:
            self.fail(f"dropped notifications: pymodel {self.ref.drops}, stat_notify_drop_count {count}, "
                      f"stat_notify_drop pulses {self.drop_pulses}")
        self.check()

    # ------------------------------------------------------------ reset handshake
    async def _quiesce_model(self) -> None:
        """Ring-engine stand-in: answers func_reset_req after a random drain time; checks the handshake.

        func_reset_req[f] must rise on the cycle after a reset write of a non-zero status is
        accepted (and only then), stay high until the DUT has seen func_quiesced[f], and fall on
        the cycle after it did.
        """
        dut = self.dut
        prev_req = 0
        q_hist = [0, 0]         # func_quiesced driven two edges ago / one edge ago
        qmask = 0
        due: dict[int, int] = {}
        while True:
            await RisingEdge(dut.clk)
            if int(dut.rst.value):
                prev_req = qmask = 0
                q_hist = [0, 0]
                due.clear()
                dut.func_quiesced.value = 0
                continue
            req = int(dut.func_reset_req.value)
            c = cycle()
            for f in range(self.nf):
                r, pr = req >> f & 1, prev_req >> f & 1
                seen_q = q_hist[0] >> f & 1       # what the DUT sampled on the previous edge
                if pr and r and seen_q:
                    self.fail(f"func_reset_req[{f}] still high a cycle after the DUT saw func_quiesced[{f}]")
                if pr and not r and not seen_q:
                    self.fail(f"func_reset_req[{f}] fell before the DUT saw func_quiesced[{f}]")
                if r and not pr:
                    exp = [s for s in self.ref.resets_started if s[0] == f]
                    if not exp:
                        self.fail(f"func_reset_req[{f}] rose without a reset write of a non-zero status")
                    else:
                        self.ref.resets_started.remove(exp[0])
                        if exp[0][1] != c:
                            self.fail(f"func_reset_req[{f}] rose at cycle {c}, expected cycle {exp[0][1]}")
                    due[f] = c + random.randint(*self.quiesce_delay)
                if r and f in due and c >= due[f]:
                    qmask |= 1 << f
                    del due[f]
                if not r:
                    qmask &= ~(1 << f)
            for f, c0 in list(self.ref.resets_started):
                if c > c0:
                    self.fail(f"func_reset_req[{f}] did not rise at cycle {c0}")
                    self.ref.resets_started.remove((f, c0))
            prev_req = req
            drive = (1 << self.nf) - 1 if self.quiesce_hold else qmask
            q_hist = [q_hist[1], drive]
            dut.func_quiesced.value = drive

    # ------------------------------------------------------------ device-side inputs
    async def pulse(self, name: str, f: int) -> None:
        """One-cycle pulse on a per-function event input (while the register port is idle)."""
        await self.idle()
        getattr(self.dut, name).value = 1 << f
        await RisingEdge(self.dut.clk)
        pend = self.pending(f)
        getattr(self.dut, name).value = 0
        if name == "isr_queue_set":
            self.ref.isr_set(f, 1, pend)
        elif name == "isr_cfg_set":
            self.ref.isr_set(f, 2, pend)
        else:
            self.ref.needs_reset(f, pend)
        await RisingEdge(self.dut.clk)

    async def change_config(self, f: int) -> None:
        """A device configuration input of ``f`` changes (blk capacity, net link status)."""
        await self.idle()
        fr = self.ref.f[f]
        if fr.blk is not None:
            self.capacity[f] = random.randrange(1, 1 << 48)
            fr.blk.config.capacity = self.capacity[f]
        else:
            assert fr.net is not None
            self.nstat[f] ^= int(NetStatus.LINK_UP)
            fr.net.status = self.nstat[f]
        self._drive_cfg_inputs()
        await RisingEdge(self.dut.clk)   # the DUT sees the new value differ from the last one here
        self.ref.config_changed(f, self.pending(f))
        await RisingEdge(self.dut.clk)

    async def ctx_check(self, f: int, q: int) -> None:
        """Read one queue context on the ring-engine port and compare with pymodel."""
        await self.idle()
        dut = self.dut
        dut.ctx_req_valid.value = 1
        dut.ctx_req_func.value = f
        dut.ctx_req_queue.value = q
        await RisingEdge(dut.clk)
        dut.ctx_req_valid.value = 0
        await RisingEdge(dut.clk)
        if not int(dut.ctx_rsp_valid.value):
            self.fail(f"context f{f} q{q}: no ctx_rsp_valid one cycle after the request")
            return
        if f < self.nf:
            c = self.ref.f[f].common
            qc = c.queues[q] if q < c.num_queues else None
            live = c.status.live and not self.pending(f)
            exp = {
                "size": qc.size if qc else 0,
                "enable": int(qc.enable) if qc else 0,
                "vector": qc.msix_vector if qc else NO_VECTOR,
                "desc": qc.desc if qc else 0,
                "driver": qc.driver if qc else 0,
                "device": qc.device if qc else 0,
                "live": int(live),
                "features": c.negotiated,
            }
            flive = int(dut.func_live.value) >> f & 1
            if flive != int(live):
                self.fail(f"func_live[{f}] = {flive}, pymodel live = {int(live)}")
        else:
            exp = {"size": 0, "enable": 0, "vector": NO_VECTOR, "desc": 0, "driver": 0, "device": 0,
                   "live": 0, "features": 0}
        for k, v in exp.items():
            got = int(getattr(dut, f"ctx_rsp_{k}").value)
            if got != v:
                self.fail(f"context f{f} q{q} {k}: expected {v:#x} (pymodel), got {got:#x}")
        self.check()

    # ------------------------------------------------------------ driver-level helpers
    async def rd(self, f: int, off: int, width: int) -> int:
        """A natural read of ``width`` bytes at ``off`` (a DWORD access with byte enables)."""
        if width == 8:
            return await self.rd(f, off, 4) | await self.rd(f, off + 4, 4) << 32
        boff = off & 3
        be = ((1 << width) - 1) << boff
        val = await self.read(f, off & ~3, be)
        return (val >> (8 * boff)) & ((1 << (8 * width)) - 1)

    async def wr(self, f: int, off: int, width: int, value: int) -> Outcome:
        """A natural write; 64-bit values go as two 32-bit writes, low half first."""
        if width == 8:
            await self.wr(f, off, 4, value & 0xFFFF_FFFF)
            return await self.wr(f, off + 4, 4, value >> 32)
        boff = off & 3
        be = ((1 << width) - 1) << boff
        return await self.write(f, off & ~3, (value << (8 * boff)) & 0xFFFF_FFFF, be)

    async def status(self, f: int) -> int:
        return await self.rd(f, Reg.DEVICE_STATUS, 1)

    async def device_reset(self, f: int, polls: int = 200) -> int:
        """Driver step 1 (§1.2): write 0, poll until device_status reads 0. Returns the polls needed."""
        await self.wr(f, Reg.DEVICE_STATUS, 1, 0)
        for n in range(polls):
            if await self.status(f) == 0:
                return n
        raise AssertionError(f"f{f}: device_status not 0 after {polls} polls ({now()})")

    async def write_driver_features(self, f: int, word: int, windows: int = 4) -> None:
        for sel in range(windows):
            await self.wr(f, Reg.DRIVER_FEATURE_SELECT, 4, sel)
            await self.wr(f, Reg.DRIVER_FEATURE, 4, (word >> (32 * sel)) & 0xFFFF_FFFF)

    async def read_device_features(self, f: int, windows: int = 4) -> int:
        word = 0
        for sel in range(windows):
            await self.wr(f, Reg.DEVICE_FEATURE_SELECT, 4, sel)
            word |= await self.rd(f, Reg.DEVICE_FEATURE, 4) << (32 * sel)
        return word

    async def negotiate(self, f: int, accept: Optional[int] = None) -> bool:
        """§1.2 steps 1-6. Returns True if FEATURES_OK stuck (the read-back is checked against pymodel)."""
        await self.device_reset(f)
        await self.wr(f, Reg.DEVICE_STATUS, 1, Status.ACKNOWLEDGE)
        await self.wr(f, Reg.DEVICE_STATUS, 1, Status.ACKNOWLEDGE | Status.DRIVER)
        offered = await self.read_device_features(f)
        word = offered if accept is None else accept
        await self.write_driver_features(f, word)
        reason = validate_driver_features(FUNCS[f].dtype, FUNCS[f].features, word) if f < self.nf else None
        self.context = (f"f{f} FEATURES_OK with driver features {word:#x}: pymodel "
                        + ("accepts" if reason is None else f"rejects ({reason})"))
        await self.wr(f, Reg.DEVICE_STATUS, 1, Status.ACKNOWLEDGE | Status.DRIVER | Status.FEATURES_OK)
        ok = bool(await self.status(f) & Status.FEATURES_OK)
        self.context = ""
        return ok

    async def setup_queue(self, f: int, q: int, size: Optional[int] = None, vector: Optional[int] = None,
                          base: Optional[int] = None, enable: bool = True) -> None:
        """§1.2 step 7 for one queue (packed layout addresses, aligned)."""
        base = random.randrange(1 << 20, 1 << 47) & ~0xFFF if base is None else base
        await self.wr(f, Reg.QUEUE_SELECT, 2, q)
        if size is not None:
            await self.wr(f, Reg.QUEUE_SIZE, 2, size)
        await self.wr(f, Reg.QUEUE_MSIX_VECTOR, 2, q + 1 if vector is None else vector)
        await self.wr(f, Reg.QUEUE_DESC_LO, 8, base)
        await self.wr(f, Reg.QUEUE_DRIVER_LO, 8, base + 0x800)
        await self.wr(f, Reg.QUEUE_DEVICE_LO, 8, base + 0x840)
        if enable:
            await self.wr(f, Reg.QUEUE_ENABLE, 2, 1)

    async def bring_up(self, f: int, accept: Optional[int] = None, queues: Optional[list[int]] = None) -> None:
        """The whole init sequence: features, every queue, config vector, DRIVER_OK."""
        ok = await self.negotiate(f, accept)
        assert ok, f"f{f}: FEATURES_OK refused for {accept}"
        nq = FUNCS[f].num_queues
        for q in range(nq) if queues is None else queues:
            await self.setup_queue(f, q)
        await self.wr(f, Reg.CONFIG_MSIX_VECTOR, 2, 0)
        await self.wr(f, Reg.DEVICE_STATUS, 1, 0x0F)
        assert await self.status(f) == 0x0F

    async def dump(self, f: int) -> None:
        """Read every DWORD of the common structure for every queue_select 0..nq (+ one beyond)."""
        nq = FUNCS[f].num_queues if f < self.nf else 1
        for q in list(range(nq + 1)) + [0xFFFF]:
            await self.wr(f, Reg.QUEUE_SELECT, 2, q)
            for dw in range(0, 0x40, 4):
                await self.read(f, dw)
        for sel in (0, 1, 2, 3, 4, 7, 8, 0xFFFF_FFFF):
            await self.wr(f, Reg.DEVICE_FEATURE_SELECT, 4, sel)
            await self.wr(f, Reg.DRIVER_FEATURE_SELECT, 4, sel)
            await self.read(f, Reg.DEVICE_FEATURE)
            await self.read(f, Reg.DRIVER_FEATURE)
            await self.read(f, 0)
        await self.wr(f, Reg.QUEUE_SELECT, 2, 0)


async def start(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


def feature_trial(f: int) -> int:
    """A random driver feature set for function ``f``: mostly near-valid, often breaking one rule."""
    cfg = FUNCS[f]
    offered = cfg.features
    bits = bits_of(offered)
    kind = random.random()
    acc = 0
    for b in bits:
        if random.random() < random.choice((0.2, 0.5, 0.9)):
            acc |= 1 << b
    acc |= 1 << Transport.VERSION_1
    if offered >> Transport.ACCESS_PLATFORM & 1:
        acc |= 1 << Transport.ACCESS_PLATFORM
    # close the set under the hard dependencies (most of the time) ...
    for _ in range(4):
        for d in DEPENDENCIES[cfg.dtype]:
            if acc >> d.feature & 1:
                if not d.satisfied(acc):
                    if random.random() < 0.85:
                        acc |= mask(*d.all_of)
                        if d.any_of and not any(acc >> b & 1 for b in d.any_of):
                            acc |= 1 << random.choice(d.any_of)
                    else:
                        acc &= ~(1 << d.feature)
    # ... then break one rule on purpose
    if kind < 0.15:
        acc &= ~(1 << Transport.VERSION_1)
    elif kind < 0.25 and offered >> Transport.ACCESS_PLATFORM & 1:
        acc &= ~(1 << Transport.ACCESS_PLATFORM)
    elif kind < 0.35:
        unoffered = [b for b in range(128) if not offered >> b & 1]
        acc |= 1 << random.choice(unoffered)
    elif kind < 0.65 and DEPENDENCIES[cfg.dtype]:
        d = random.choice([d for d in DEPENDENCIES[cfg.dtype] if offered >> d.feature & 1])
        acc |= 1 << d.feature
        pre = list(d.all_of) + list(d.any_of)
        acc &= ~(1 << random.choice(pre))
        if d.any_of and random.random() < 0.5:
            acc &= ~mask(*d.any_of)
    return acc


# --------------------------------------------------------------------------- tests


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_reset_values(dut):
    """Every register of every function (every queue_select, every feature window) reads pymodel's reset value."""
    tb = await start(dut)
    for f in range(tb.nf):
        await tb.dump(f)
        for dw in list(range(0x40, 0x100, 4)) + [ISR, ISR + 4, 0x1FC] + list(range(DEVCFG, DEVCFG + 0x100, 4)) \
                + [0x300, 0xFFC, NOTIFY, NOTIFY + 4, 0x1FFC]:
            await tb.read(f, dw)
        for be in range(16):
            await tb.read(f, Reg.DEVICE_STATUS & ~3, be)
            await tb.read(f, Reg.QUEUE_SIZE, be)
        for q in range(FUNCS[f].num_queues + 1):
            await tb.ctx_check(f, q)
    await tb.settle()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_init_sequence(dut):
    """§1.2 on every function: reset, ACK, DRIVER, features (select 0-3), FEATURES_OK, queues, DRIVER_OK."""
    tb = await start(dut)
    for f in range(tb.nf):
        cfg = FUNCS[f]
        assert await tb.device_reset(f) == 0, "a reset from status 0 must complete at once"
        await tb.wr(f, Reg.DEVICE_STATUS, 1, Status.ACKNOWLEDGE)
        assert await tb.status(f) == 0x01
        await tb.wr(f, Reg.DEVICE_STATUS, 1, 0x03)
        offered = await tb.read_device_features(f)
        assert offered == cfg.features, f"f{f}: device_feature windows {offered:#x}, offered {cfg.features:#x}"
        for off in range(0, 0x60, 4):         # device config readable before FEATURES_OK
            await tb.read(f, DEVCFG + off)
        await tb.write_driver_features(f, offered)
        await tb.wr(f, Reg.DEVICE_STATUS, 1, 0x0B)
        assert await tb.status(f) == 0x0B, f"f{f}: FEATURES_OK refused for the full offer"
        for q in range(cfg.num_queues):
            await tb.setup_queue(f, q, size=min(cfg.queue_max, 64 + q))
            await tb.ctx_check(f, q)
        await tb.wr(f, Reg.CONFIG_MSIX_VECTOR, 2, 63)
        await tb.wr(f, Reg.DEVICE_STATUS, 1, 0x0F)
        assert await tb.status(f) == 0x0F
        await tb.dump(f)
        for q in range(cfg.num_queues):
            await tb.wr(f, NOTIFY + 4 * q, 2, q)           # Linux: iowrite16(vq index, notify address)
            await tb.ctx_check(f, q)
    await tb.settle()
    assert tb.notifies_seen == sum(c.num_queues for c in FUNCS)


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_feature_sweep(dut):
    """Random feature sets (seeded), many breaking one rule: FEATURES_OK read-back equals pymodel's decision."""
    tb = await start(dut)
    stats = {f: [0, 0] for f in range(tb.nf)}
    broken: set[str] = set()
    for trial in range(SWEEP_TRIALS * tb.nf):
        f = trial % tb.nf
        acc = feature_trial(f)
        reason = validate_driver_features(FUNCS[f].dtype, FUNCS[f].features, acc)
        got = await tb.negotiate(f, acc)
        if got != (reason is None):   # the read-back was checked already; this names the feature set
            raise AssertionError(f"f{f} driver features {acc:#x}: pymodel says "
                                 f"{'accept' if reason is None else 'reject: ' + reason}, DUT "
                                 f"{'accepted' if got else 'rejected'} ({now()})")
        stats[f][int(got)] += 1
        if reason and reason.startswith("dependency"):
            broken.add(reason.split(": ", 1)[1].split(";")[0])
        for sel in range(4):                  # the stored driver features after the decision
            await tb.wr(f, Reg.DRIVER_FEATURE_SELECT, 4, sel)
            await tb.read(f, Reg.DRIVER_FEATURE)
    tb.log.info("accept/reject per function: %s; dependency rules broken: %d", stats, len(broken))
    for f, (rej, acc) in stats.items():
        assert rej > 10 and acc > 10, f"f{f}: sweep too one-sided (rejected {rej}, accepted {acc})"
    assert len(broken) >= 10, f"only {len(broken)} different dependency violations exercised"
    await tb.settle()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_every_dependency(dut):
    """Each hard net dependency on its own: the feature without each prerequisite is refused, with it accepted."""
    tb = await start(dut)
    f = 2
    offered = FUNCS[f].features
    base = mask(Transport.VERSION_1)
    for d in DEPENDENCIES[DeviceType.NET]:
        assert offered >> d.feature & 1, f"bench f{f} does not offer {feature_name(DeviceType.NET, d.feature)}"
        good = base | 1 << d.feature | mask(*d.all_of) | (1 << d.any_of[0] if d.any_of else 0)
        for _ in range(3):   # close under the dependencies of the prerequisites
            for d2 in DEPENDENCIES[DeviceType.NET]:
                if good >> d2.feature & 1 and not d2.satisfied(good):
                    good |= mask(*d2.all_of) | (1 << d2.any_of[0] if d2.any_of else 0)
        assert validate_driver_features(DeviceType.NET, offered, good) is None
        assert await tb.negotiate(f, good), d.describe(DeviceType.NET)
        for b in list(d.all_of) + ([None] if d.any_of else []):
            bad = good & ~(1 << b) if b is not None else good & ~mask(*d.any_of)
            assert await tb.negotiate(f, bad) is False, f"accepted although {d.describe(DeviceType.NET)}"
    await tb.settle()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_features_after_features_ok(dut):
    """driver_feature is frozen after FEATURES_OK; windows >= 4 ignored; device_feature_select 2 and beyond."""
    tb = await start(dut)
    for f in range(tb.nf):
        offered = FUNCS[f].features
        assert await tb.negotiate(f)
        await tb.write_driver_features(f, 0xFFFF_FFFF_FFFF_FFFF_FFFF_FFFF_FFFF_FFFF)   # ignored now
        for sel in (0, 1, 2, 3, 4, 100):
            await tb.wr(f, Reg.DRIVER_FEATURE_SELECT, 4, sel)
            await tb.rd(f, Reg.DRIVER_FEATURE, 4)
        # FEATURES_OK written again: no second validation, no change
        await tb.wr(f, Reg.DEVICE_STATUS, 1, 0x0B)
        assert await tb.status(f) == 0x0B
        # device_feature_select 2 (bits 64-95, §10 #3) and every other window
        for sel in (2, 3, 4, 5, 8, 0x8000_0000):
            await tb.wr(f, Reg.DEVICE_FEATURE_SELECT, 4, sel)
            got = await tb.rd(f, Reg.DEVICE_FEATURE, 4)
            exp = (offered >> (32 * sel)) & 0xFFFF_FFFF if sel < 8 else 0
            assert got == exp
        # before FEATURES_OK: window 4+ writes are ignored, 0-3 stored as written (unoffered bits too)
        await tb.device_reset(f)
        for sel in (0, 1, 2, 3, 4, 5):
            await tb.wr(f, Reg.DRIVER_FEATURE_SELECT, 4, sel)
            await tb.wr(f, Reg.DRIVER_FEATURE, 4, random.getrandbits(32))
            await tb.rd(f, Reg.DRIVER_FEATURE, 4)
        # wrong widths to driver_feature / the selects are ignored
        for be in (0b0011, 0b1100, 0b0001, 0b0111):
            await tb.write(f, Reg.DRIVER_FEATURE, 0x1234_5678, be)
            await tb.write(f, Reg.DEVICE_FEATURE_SELECT, 0x1, be)
            await tb.read(f, Reg.DRIVER_FEATURE)
            await tb.read(f, Reg.DEVICE_FEATURE_SELECT)
    await tb.settle()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_queue_sizes(dut):
    """queue_size: 1, 2, 3, 5, 64, 255, 256, 32768, 0 and over-max, packed and split, as pymodel decides."""
    tb = await start(dut)
    sizes = (1, 2, 3, 5, 64, 255, 256, 257, 300, 301, 512, 32767, 32768, 32769, 0xFFFF, 0)
    for f in range(tb.nf):
        offered = FUNCS[f].features
        for packed in (True, False):
            acc = offered if packed else offered & ~(1 << Transport.RING_PACKED)
            assert await tb.negotiate(f, acc)
            for q in range(FUNCS[f].num_queues):
                await tb.wr(f, Reg.QUEUE_SELECT, 2, q)
                for s in random.sample(sizes, len(sizes)):
                    await tb.wr(f, Reg.QUEUE_SIZE, 2, s)
                    await tb.rd(f, Reg.QUEUE_SIZE, 2)
                await tb.ctx_check(f, q)
            # size locked while the queue is enabled, open again after a reset
            await tb.setup_queue(f, 0, size=2)
            await tb.wr(f, Reg.QUEUE_SELECT, 2, 0)
            await tb.wr(f, Reg.QUEUE_SIZE, 2, 1)
            assert await tb.rd(f, Reg.QUEUE_SIZE, 2) == 2
    # before FEATURES_OK nothing sticks
    await tb.device_reset(0)
    await tb.wr(0, Reg.QUEUE_SIZE, 2, 1)
    assert await tb.rd(0, Reg.QUEUE_SIZE, 2) == FUNCS[0].queue_max
    await tb.settle()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_queue_programming(dut):
    """Ring addresses (64-bit as two halves), enable rules, misalignment, vectors, queue_select range, queue_reset."""
    tb = await start(dut)
    for f in range(tb.nf):
        nq = FUNCS[f].num_queues
        # before FEATURES_OK: addresses and enable ignored, the vector is not
        await tb.device_reset(f)
        await tb.setup_queue(f, 0, base=0x1000)
        await tb.dump(f)
        assert await tb.negotiate(f)
        # vectors: mapping failure reads 0xFFFF
        for v in (0, 1, MSIX_VEC - 1, MSIX_VEC, MSIX_VEC + 1, 0x7FF, 0xFFFE, 0xFFFF):
            await tb.wr(f, Reg.CONFIG_MSIX_VECTOR, 2, v)
            await tb.rd(f, Reg.CONFIG_MSIX_VECTOR, 2)
            await tb.wr(f, Reg.QUEUE_MSIX_VECTOR, 2, v)
            await tb.rd(f, Reg.QUEUE_MSIX_VECTOR, 2)
        # each half of a 64-bit field on its own, then whole
        for q in range(nq):
            await tb.wr(f, Reg.QUEUE_SELECT, 2, q)
            for lo in (Reg.QUEUE_DESC_LO, Reg.QUEUE_DRIVER_LO, Reg.QUEUE_DEVICE_LO):
                await tb.wr(f, lo + 4, 4, random.getrandbits(32))
                await tb.rd(f, lo, 8)
                await tb.wr(f, lo, 4, random.getrandbits(32) & ~0xF)
                await tb.rd(f, lo, 8)
            await tb.ctx_check(f, q)
        # queue_enable: 0 and 2 ignored, 1 with aligned rings enables; then every field is locked
        await tb.setup_queue(f, 0, enable=False)
        for v in (0, 2, 0xFFFF):
            await tb.wr(f, Reg.QUEUE_ENABLE, 2, v)
            assert await tb.rd(f, Reg.QUEUE_ENABLE, 2) == 0
        await tb.wr(f, Reg.QUEUE_ENABLE, 2, 1)
        assert await tb.rd(f, Reg.QUEUE_ENABLE, 2) == 1
        for lo in (Reg.QUEUE_DESC_LO, Reg.QUEUE_DRIVER_LO, Reg.QUEUE_DEVICE_LO):
            await tb.wr(f, lo, 8, 0x1234_5678_9ABC_DEF0)
        await tb.wr(f, Reg.QUEUE_ENABLE, 2, 0)
        await tb.wr(f, Reg.QUEUE_MSIX_VECTOR, 2, 7)     # allowed while enabled
        await tb.dump(f)
        await tb.ctx_check(f, 0)
        # misaligned rings: DEVICE_NEEDS_RESET instead of enabling (config interrupt once DRIVER_OK)
        for bad, drv_ok in ((Reg.QUEUE_DESC_LO, False), (Reg.QUEUE_DEVICE_LO, True), (Reg.QUEUE_DRIVER_LO, True)):
            await tb.bring_up(f, queues=[]) if drv_ok else await tb.negotiate(f)
            if drv_ok:
                await tb.wr(f, Reg.CONFIG_MSIX_VECTOR, 2, 5)
            await tb.setup_queue(f, 1 % nq, enable=False)
            await tb.wr(f, bad, 4, 0x1000 + {Reg.QUEUE_DESC_LO: 8, Reg.QUEUE_DEVICE_LO: 2, Reg.QUEUE_DRIVER_LO: 1}[bad])
            await tb.wr(f, Reg.QUEUE_ENABLE, 2, 1)
            assert await tb.status(f) & Status.DEVICE_NEEDS_RESET
            await tb.read(f, ISR)
            await tb.wr(f, Reg.QUEUE_ENABLE, 2, 1)     # already set: no second notification
            await tb.read(f, ISR)
            await tb.settle()
        # split rings: queue_driver need only be 2-aligned
        assert await tb.negotiate(f, FUNCS[f].features & ~(1 << Transport.RING_PACKED))
        await tb.setup_queue(f, 0, base=0x10_0000, enable=False)
        await tb.wr(f, Reg.QUEUE_DRIVER_LO, 4, 0x2002)
        await tb.wr(f, Reg.QUEUE_ENABLE, 2, 1)
        assert await tb.rd(f, Reg.QUEUE_ENABLE, 2) == 1 and not await tb.status(f) & Status.DEVICE_NEEDS_RESET
        # queue_select out of range: queue fields read 0, writes ignored
        for q in (nq, nq + 1, 0x100, 0xFFFF):
            await tb.wr(f, Reg.QUEUE_SELECT, 2, q)
            await tb.wr(f, Reg.QUEUE_SIZE, 2, 1)
            await tb.wr(f, Reg.QUEUE_MSIX_VECTOR, 2, 1)
            for dw in range(0x18, 0x40, 4):
                assert await tb.read(f, dw) == 0
    # queue_reset: f1 and f2 offer RING_RESET; without it negotiated (and on f0) it is ignored
    for f, neg in ((0, True), (1, False), (1, True), (2, True)):
        acc = FUNCS[f].features if neg else FUNCS[f].features & ~(1 << Transport.RING_RESET)
        await tb.negotiate(f, acc)
        await tb.setup_queue(f, 1, size=2, vector=3)
        for v in (0, 2, 1):
            await tb.wr(f, Reg.QUEUE_SELECT, 2, 1)
            await tb.wr(f, Reg.QUEUE_RESET, 2, v)
            await tb.dump(f)
        await tb.wr(f, Reg.QUEUE_SELECT, 2, 1)
        size, vec = await tb.rd(f, Reg.QUEUE_SIZE, 2), await tb.rd(f, Reg.QUEUE_MSIX_VECTOR, 2)
        reset_done = f != 0 and neg
        assert (size, vec) == ((FUNCS[f].queue_max, NO_VECTOR) if reset_done else (2, 3)), (f, neg, size, vec)
        await tb.ctx_check(f, 1)
        await tb.setup_queue(f, 1, size=4)            # reprogram after the reset
        await tb.ctx_check(f, 1)
    await tb.settle()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_status_rules(dut):
    """device_status: OR semantics, ignored bits, FAILED, DRIVER_OK without FEATURES_OK -> DEVICE_NEEDS_RESET."""
    tb = await start(dut)
    for f in range(tb.nf):
        await tb.device_reset(f)
        await tb.wr(f, Reg.CONFIG_MSIX_VECTOR, 2, 9)
        for v in (0x01, 0x02, 0x70, 0x10, 0x20, 0x40, 0x80, 0x01):
            await tb.wr(f, Reg.DEVICE_STATUS, 1, v)
            await tb.status(f)
        await tb.device_reset(f)
        await tb.wr(f, Reg.CONFIG_MSIX_VECTOR, 2, 9)
        await tb.wr(f, Reg.DEVICE_STATUS, 1, 0x07)          # DRIVER_OK without FEATURES_OK
        assert await tb.status(f) == 0x47
        assert await tb.rd(f, ISR, 1) == 0x2, "config change owed for DEVICE_NEEDS_RESET with DRIVER_OK"
        await tb.wr(f, Reg.DEVICE_STATUS, 1, 0x0F)          # FEATURES_OK with no features: refused, ignored
        await tb.status(f)
        await tb.device_reset(f)
        # the wrong widths never reach device_status
        for be, data in ((0b1111, 0x0000_0003), (0b0011, 0x0003), (0b0111, 0x03)):
            await tb.write(f, Reg.DEVICE_STATUS & ~3, data, be)
            await tb.status(f)
        # status and queue_select in one DWORD write: a 4-byte access at 0x14 is ignored
        await tb.write(f, 0x14, 0x0003_0001, 0xF)
        await tb.read(f, 0x14)
        # queue_select alone through BE 1100
        await tb.write(f, 0x14, 0x0002_0000, 0b1100)
        await tb.read(f, 0x14)
    await tb.settle()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_reset_mid_operation(dut):
    """Reset while live: func_reset_req until func_quiesced, status non-zero meanwhile, then reset values."""
    tb = await start(dut)
    for delay in ((0, 0), (1, 3), (20, 60)):
        tb.quiesce_delay = delay
        for f in range(tb.nf):
            await tb.bring_up(f)
            for q in range(FUNCS[f].num_queues):
                await tb.wr(f, NOTIFY + 4 * q, 2, q)
            await tb.pulse("isr_queue_set", f)
            await tb.wr(f, Reg.DEVICE_STATUS, 1, 0)
            # the driver polls; meanwhile it (wrongly) writes, notifies and reads
            polls = 0
            while await tb.status(f) != 0:
                polls += 1
                await tb.wr(f, Reg.QUEUE_SELECT, 2, 1)
                await tb.wr(f, Reg.CONFIG_MSIX_VECTOR, 2, 2)
                await tb.wr(f, Reg.DRIVER_FEATURE, 4, 0xFFFF_FFFF)
                await tb.wr(f, NOTIFY, 2, 0)
                await tb.read(f, ISR)
                await tb.read(f, Reg.QUEUE_SIZE)
                assert polls < 100, f"f{f}: reset never completes"
            if delay[0] >= 20:
                assert polls > 0, f"f{f}: status read 0 before the ring engine quiesced"
            await tb.dump(f)
            for q in range(FUNCS[f].num_queues):
                await tb.ctx_check(f, q)
            # a set accepted before the reset is accepted again (§1.3)
            await tb.bring_up(f)
            await tb.settle()
    # quiesced held high (nothing in flight): reset done on the next cycle
    tb.quiesce_hold = True
    await tb.bring_up(1)
    assert await tb.device_reset(1) <= 1
    tb.quiesce_hold = False
    await tb.settle()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_isr_and_config_change(dut):
    """ISR read-to-clear (byte enables honoured), config-change notifications and config_generation."""
    tb = await start(dut)
    for f in range(tb.nf):
        await tb.read(f, ISR)
        await tb.pulse("isr_queue_set", f)
        await tb.read(f, ISR, 0b1110)           # byte 0 not enabled: no clear
        await tb.read(f, ISR, 0b0001)           # clears
        await tb.read(f, ISR)
        await tb.pulse("isr_cfg_set", f)
        await tb.pulse("isr_queue_set", f)
        await tb.read(f, ISR + 4)               # not the ISR byte
        await tb.read(f, ISR)
        await tb.read(f, ISR)
        # config change before DRIVER_OK: generation only
        gen0 = await tb.rd(f, Reg.CONFIG_GENERATION, 1)
        await tb.change_config(f)
        assert await tb.rd(f, Reg.CONFIG_GENERATION, 1) == (gen0 + 1) & 0xFF
        await tb.read(f, ISR)
        for off in range(0, 0x20, 4):
            await tb.read(f, DEVCFG + off)
        # after DRIVER_OK: ISR bit 1 and the config vector (none with NO_VECTOR)
        await tb.bring_up(f, queues=[0])
        for vec in (3, NO_VECTOR, MSIX_VEC - 1):
            await tb.wr(f, Reg.CONFIG_MSIX_VECTOR, 2, vec)
            await tb.change_config(f)
            await tb.read(f, ISR)
            await tb.read(f, Reg.DEVICE_STATUS & ~3)
            await tb.settle()
        # the device hits an unrecoverable error
        await tb.wr(f, Reg.CONFIG_MSIX_VECTOR, 2, 11)
        await tb.pulse("needs_reset_set", f)
        await tb.pulse("needs_reset_set", f)    # already set: nothing new
        await tb.read(f, Reg.DEVICE_STATUS & ~3)
        await tb.read(f, ISR)
        await tb.wr(f, NOTIFY, 2, 0)            # not live any more: dropped
        await tb.ctx_check(f, 0)
        await tb.settle()
        await tb.device_reset(f)
        # during a reset drain: ISR sets are ignored
        tb.quiesce_delay = (30, 30)
        await tb.bring_up(f)
        await tb.wr(f, Reg.DEVICE_STATUS, 1, 0)
        await tb.pulse("isr_queue_set", f)
        await tb.read(f, ISR)
        await tb.device_reset(f)
        await tb.read(f, ISR)
        tb.quiesce_delay = (0, 8)
    # interrupt requests wait for ready
    tb.irq_ready_p = 0.1
    await tb.bring_up(1, queues=[])
    for _ in range(5):
        await tb.change_config(1)
        await tb.settle()
    await tb.settle()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_notify(dut):
    """Notifications: value = vq; enabled queues of live functions pass, the rest is dropped and counted."""
    tb = await start(dut)
    for f in range(tb.nf):
        nq = FUNCS[f].num_queues
        await tb.wr(f, NOTIFY, 2, 0)                         # before anything: dropped
        await tb.negotiate(f)
        await tb.setup_queue(f, 0)
        await tb.wr(f, NOTIFY, 2, 0)                         # enabled, but no DRIVER_OK yet: dropped
        await tb.wr(f, Reg.DEVICE_STATUS, 1, 0x0F)
        for q in range(nq + 2):
            await tb.wr(f, NOTIFY + 4 * q, 2, q)             # only queue 0 is enabled
        await tb.wr(f, NOTIFY + 4, 2, 0)                      # value decides, not the address (pymodel)
        await tb.write(f, NOTIFY, 0x8005_0000, 0xF)           # NOTIFICATION_DATA: 32 bits passed on
        for be in (0b0001, 0b0010, 0b1100, 0b0110, 0b1000):   # the vq index not fully written: dropped
            await tb.write(f, NOTIFY, 0, be)
        await tb.write(f, NOTIFY, 0xABCD_0000, 0b0111)
        await tb.read(f, NOTIFY)                              # reads 0
    await tb.write(5, NOTIFY, 0, 0xF)                         # no such function
    await tb.settle()
    # backpressure: the port stalls, nothing is lost or reordered
    tb.notify_ready_p = 0.2
    for f in range(tb.nf):
        await tb.bring_up(f)
    for _ in range(300):
        f = random.randrange(tb.nf)
        q = random.randrange(FUNCS[f].num_queues + 1)
        tb.write_nowait(f, NOTIFY + 4 * q, q | random.getrandbits(16) << 16, random.choice((0xF, 0x3, 0x3, 0x1)))
    await tb.settle()
    tb.log.info("notifications delivered %d, dropped %d", tb.notifies_seen, tb.ref.drops)


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_device_config(dut):
    """Device configuration: blk and net layouts, read-only except blk writeback with CONFIG_WCE negotiated."""
    tb = await start(dut)
    for f in range(tb.nf):
        for off in range(0, 0x100, 4):
            for be in (0xF, random.choice(NATURAL_BE)):
                await tb.read(f, DEVCFG + off, be)
        for off in range(0, 0x60, 4):          # every write ignored (before FEATURES_OK; net always)
            await tb.write(f, DEVCFG + off, random.getrandbits(32), random.choice(NATURAL_BE))
            await tb.read(f, DEVCFG + off)
    f = 1
    for acc in (FUNCS[f].features, FUNCS[f].features & ~(1 << BlkFeature.CONFIG_WCE)):
        await tb.negotiate(f, acc)
        for v, be in ((1, 0b0001), (0, 0b0001), (1, 0b0001), (2, 0b0001), (0x0101, 0b0011), (1, 0xF)):
            await tb.write(f, DEVCFG + 32, v, be)
            await tb.read(f, DEVCFG + 32)
        await tb.device_reset(f)               # writeback back to its default
        await tb.read(f, DEVCFG + 32)
    for f in range(tb.nf):
        await tb.change_config(f)
        for off in range(0, 0x20, 4):
            await tb.read(f, DEVCFG + off)
    await tb.settle()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_bad_function(dut):
    """Functions >= NUM_FUNC: reads 0, writes ignored, notifications dropped, contexts empty."""
    tb = await start(dut)
    for f in (tb.nf, 7, 0xFF):
        for addr in (0x00, 0x04, 0x14, 0x18, ISR, DEVCFG, NOTIFY):
            await tb.write(f, addr, 0xFFFF_FFFF, 0xF)
            await tb.read(f, addr)
        await tb.ctx_check(f, 0)
    for f in range(tb.nf):
        await tb.dump(f)
        await tb.ctx_check(f, FUNCS[f].num_queues)
        await tb.ctx_check(f, 0xFFFF)
    await tb.settle()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_random_storm(dut):
    """A seeded storm of accesses (every field, width, byte-enable pattern), back to back, checked access by access."""
    tb = await start(dut)
    tb.notify_ready_p = 0.7
    tb.quiesce_delay = (0, 20)
    status_vals = (0, 0, 0x01, 0x03, 0x0B, 0x0B, 0x0F, 0x0F, 0x04, 0x07, 0x80, 0x40, 0xFF)
    counts = {"accepted": 0, "refused": 0}
    for step in range(STORM_STEPS):
        f = random.randrange(tb.nf) if random.random() < 0.97 else random.randrange(tb.nf, 256)
        fc = FUNCS[f] if f < tb.nf else FUNCS[0]
        r = random.random()
        if r < 0.30:
            addr = random.choice((random.randrange(0, 0x40, 4), random.randrange(0, 0x40, 4), random.randrange(0x40, 0x100, 4),
                                  ISR, ISR, random.randrange(DEVCFG, DEVCFG + 0x100, 4), random.randrange(0x300, 0x2000, 4)))
            tb.read_nowait(f, addr, random.choice(NATURAL_BE + NATURAL_BE + ODD_BE))
        elif r < 0.62:
            field = random.choice(list(Reg))
            width = {Reg.DEVICE_STATUS: 1, Reg.CONFIG_GENERATION: 1}.get(field, 4 if field in (
                Reg.DEVICE_FEATURE_SELECT, Reg.DEVICE_FEATURE, Reg.DRIVER_FEATURE_SELECT, Reg.DRIVER_FEATURE,
                Reg.QUEUE_DESC_LO, Reg.QUEUE_DESC_HI, Reg.QUEUE_DRIVER_LO, Reg.QUEUE_DRIVER_HI,
                Reg.QUEUE_DEVICE_LO, Reg.QUEUE_DEVICE_HI) else 2)
            value = {
                Reg.DEVICE_STATUS: random.choice(status_vals),
                Reg.QUEUE_SELECT: random.choice((0, 1, random.randrange(fc.num_queues + 2), 0xFFFF)),
                Reg.QUEUE_SIZE: random.choice((1, 2, 3, 4, 64, 255, 256, 300, 32768, 0, 0xFFFF)),
                Reg.QUEUE_ENABLE: random.choice((1, 1, 0, 2)),
                Reg.QUEUE_RESET: random.choice((1, 1, 0)),
                Reg.CONFIG_MSIX_VECTOR: random.choice((0, 5, MSIX_VEC - 1, MSIX_VEC, 0xFFFF)),
                Reg.QUEUE_MSIX_VECTOR: random.choice((0, 5, MSIX_VEC - 1, MSIX_VEC, 0xFFFF)),
                Reg.DEVICE_FEATURE_SELECT: random.choice((0, 1, 2, 3, 4, 9)),
                Reg.DRIVER_FEATURE_SELECT: random.choice((0, 1, 2, 3, 4, 9)),
                Reg.DRIVER_FEATURE: random.choice(((fc.features >> (32 * random.randrange(4))) & 0xFFFF_FFFF,
                                                   random.getrandbits(32), 0xFFFF_FFFF, 1)),
            }.get(field, random.getrandbits(32) & random.choice((~0xF, ~0x3, ~0x1, -1)))
            boff = int(field) & 3
            be = ((1 << width) - 1) << boff if random.random() < 0.9 else random.randrange(16)
            tb.write_nowait(f, int(field) & ~3, (value << (8 * boff)) & 0xFFFF_FFFF, be)
        elif r < 0.70:
            enabled = [q for q, qc in enumerate(tb.ref.f[f].common.queues) if qc.enable] if f < tb.nf else []
            q = random.choice(enabled) if enabled and random.random() < 0.7 else random.randrange(fc.num_queues + 2)
            tb.write_nowait(f, NOTIFY + 4 * random.randrange(16), q | random.getrandbits(16) << 16,
                            random.choice((0x3, 0x3, 0xF, 0xF, 0x1, 0xC)))
        elif r < 0.76:
            tb.write_nowait(f, random.randrange(0, 0x2000, 4), random.getrandbits(32), random.randrange(16))
        elif r < 0.80 and f < tb.nf:
            await tb.pulse(random.choice(("isr_queue_set", "isr_cfg_set", "needs_reset_set")), f)
        elif r < 0.83 and f < tb.nf:
            await tb.change_config(f)
        elif r < 0.88:
            await tb.ctx_check(f, random.randrange(fc.num_queues + 1))
        elif r < 0.93 and f < tb.nf:
            await tb.idle()
            ok = await tb.negotiate(f, None if random.random() < 0.5 else feature_trial(f))
            counts["accepted" if ok else "refused"] += 1
            if ok:
                for q in random.sample(range(fc.num_queues), random.randrange(1, fc.num_queues + 1)):
                    await tb.setup_queue(f, q, size=random.choice((None, 1, 3, 64)),
                                         vector=random.choice((None, 0xFFFF, MSIX_VEC)))
                await tb.wr(f, Reg.CONFIG_MSIX_VECTOR, 2, random.choice((0, 7, 0xFFFF)))
                if random.random() < 0.9:
                    await tb.wr(f, Reg.DEVICE_STATUS, 1, 0x0F)
        else:
            await tb.idle()
            tb.check()
        if step % 500 == 499:
            await tb.idle()
            tb.check()
    tb.log.info("storm: init macros %s, notifications %d delivered / %d dropped, config interrupts %d",
                counts, tb.notifies_seen, tb.ref.drops, tb.irqs_seen)
    for f in range(tb.nf):
        await tb.dump(f)
    await tb.settle()
