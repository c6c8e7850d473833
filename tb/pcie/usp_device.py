"""cocotbext-pcie's UltraScale+ hard-block model, extended by subclassing.

Adds what the bench needs and the upstream model lacks (see DESIGN.md,
decision 1). For now: completion fault injection on the RC path, so a test
can make the host answer a DMA read with a Completer Abort, a poisoned
completion, or nothing at all (completion timeout), while the model's own
tag bookkeeping stays consistent. The configuration extend interface
(cfg_ext_*, tb/pcie/cfg_ext.py): pass the cfg_ext_* signals as for the
upstream model (optionally ``cfg_ext_start`` / ``cfg_ext_timeout``), or bind
them later with :meth:`VioUltraScalePlusPcieDevice.enable_cfg_ext`, before
enumeration.

SR-IOV and FLR (/tmp/briefs/sriov_spec.md, reference/virtio.md §9.1-9.3), off
unless ``sriov=[SriovConfig | None, ...]`` (one entry per PF) is given:

* every PF advertises FLR; a PF with a SriovConfig gets the SR-IOV and ARI
  extended capabilities (tb/pcie/sriov.py); VF Enable 0->1 creates NumVFs
  :class:`~tb.pcie.sriov.VfFunction` objects at ARI function numbers
  ``NUM_PF + sum(T[q], q < p) + k - 1``, kept in ``self.functions`` after the
  PFs (so upstream routes config TLPs and completions to them by routing ID);
  1->0 removes them;
* memory requests hitting VF k's window of VF BAR n (VF Enable = VF MSE = 1)
  go out on CQ with Target Function = the VF's 8-bit fn and BAR ID = n;
* RQ requests are Bus-Master checked against the function of the 8-bit
  requester function number (a VF that does not exist counts as BME 0):
  dropped, logged, and recorded in :attr:`dma_drops`;
* cfg_function_status / cfg_rcb_status / cfg_interrupt_msix_enable / _mask
  (PFs only, as upstream), cfg_vf_status, cfg_interrupt_msix_vf_enable /
  _mask, cfg_flr_in_process and cfg_vf_flr_in_process are driven every
  user_clk by this class (upstream's loops index ``self.functions`` by
  position and would mix VFs into the PF bits);
* FLR handshake: Initiate FLR resets the function's config state at once
  (command register, MSI-X Enable / Function Mask, and for a PF its SR-IOV
  Control -> its VFs disappear), raises in_process, and clears it in the cycle
  after the RTL's done pulse. A done pulse for a function not in FLR, or no
  done within :attr:`flr_timeout` cycles, is a protocol error: collected in
  :attr:`flr_errors` and, with :attr:`flr_fail_fast` (default), raised as
  :class:`FlrProtocolError` (the test fails). While a function is in FLR,
  memory reads to it get UR and writes are dropped; config requests complete.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event, RisingEdge, Timer
from cocotbext.pcie.core.tlp import CplStatus, Tlp, TlpType
from cocotbext.pcie.core.utils import PcieId
from cocotbext.pcie.xilinx.us import UltraScalePlusPcieDevice
from cocotbext.pcie.xilinx.us.tlp import Tlp_us

from tb.pcie.cfg_ext import DEFAULT_START, DEFAULT_TIMEOUT, SIGNALS, CfgExt
from tb.pcie.sriov import (ARI_CAP_OFFSET, SRIOV_CAP_OFFSET, AriExtCap, AriFunctionId, SriovConfig, SriovExtCap,
                           VfFunction, rid_fn)

_CPL_TYPES = {TlpType.CPL, TlpType.CPL_DATA, TlpType.CPL_LOCKED, TlpType.CPL_LOCKED_DATA}
_MEM_REQ = {TlpType.MEM_READ, TlpType.MEM_READ_64, TlpType.MEM_WRITE, TlpType.MEM_WRITE_64}
_MEM_RD = {TlpType.MEM_READ, TlpType.MEM_READ_64}
DEFAULT_FLR_TIMEOUT = 100000  # user_clk cycles

# what a fault does to the completions of the matching request
FAULT_CA = "ca"          # replace with a Completer Abort completion
FAULT_POISON = "poison"  # deliver with EP set
FAULT_DROP = "drop"      # never deliver (the requester must time out)
FAULT_DELAY = "delay"    # deliver ``delay_ns`` late (a slow completer: an FLR must not outrun it)


@dataclass
class CplFault:
    """Applies `action` to completions of reads whose address is in [lo, hi)."""

    lo: int
    hi: int
    action: str
    count: int = 1 << 30  # how many requests it may still hit
    hits: int = 0
    delay_ns: int = 0     # FAULT_DELAY: how late
    released_ns: list = field(default_factory=list)  # FAULT_DELAY: when each delayed completion was delivered


class FlrProtocolError(AssertionError):
    """The RTL broke the FLR handshake (done for a function not in FLR, or no done in time)."""


@dataclass
class FlrRecord:
    """One FLR of ARI function ``fn`` (``ok`` False: ended by the timeout)."""

    fn: int
    is_vf: bool
    start_ns: float
    cycles: int = 0
    end_ns: Optional[float] = None
    ok: bool = False


@dataclass
class DmaDrop:
    """An RQ request the model dropped because its function's Bus Master Enable is 0 (or it does not exist)."""

    fn: int
    fmt_type: TlpType
    address: int
    time_ns: float


class VioUltraScalePlusPcieDevice(UltraScalePlusPcieDevice):
    """UltraScale+ model with completion fault injection, the cfg_ext interface, SR-IOV and FLR."""

    def __init__(self, *args, cfg_ext_start: int = DEFAULT_START, cfg_ext_timeout: int = DEFAULT_TIMEOUT,
                 sriov: Optional[Sequence[Optional[SriovConfig]]] = None, flr_timeout: int = DEFAULT_FLR_TIMEOUT,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sriov_on = False
        self.vfs: dict[int, VfFunction] = {}
        self.dma_drops: list[DmaDrop] = []
        self.flr_errors: list[str] = []
        self.flr_fail_fast = True
        self.flr_timeout = flr_timeout
        self.flr_history: list[FlrRecord] = []
        self.cfg_ext: Optional[CfgExt] = None
        if self.cfg_ext_read_received is not None:
            self._start_cfg_ext(cfg_ext_start, cfg_ext_timeout)
        self.cpl_faults: list[CplFault] = []
        self._drop_next = False
        self._hit_tags: dict[int, CplFault] = {}
        self._ca_sent: set[int] = set()
        put = self.rc_queue.put_nowait

        def filtered_put(tlp) -> None:
            if self._drop_next:
                self._drop_next = False
                self.log.info("fault: dropped completion tag %d", tlp.tag)
                return
            put(tlp)

        self.rc_queue.put_nowait = filtered_put  # type: ignore[method-assign]
        for name in ("rq_sink", "rc_source", "cq_source", "cc_sink"):
            port = getattr(self, name, None)
            if port is not None:
                port.log.setLevel(logging.WARNING)
        if sriov is not None:
            self._setup_sriov(list(sriov))

    def enable_cfg_ext(self, dut=None, start: int = DEFAULT_START, timeout: int = DEFAULT_TIMEOUT,
                       **signals) -> CfgExt:
        """Bind the cfg_ext_* signals after construction (``dut`` ports of the same names, or keywords).

        Call before enumeration: from then on every function's config reads and
        writes of the window ``start``..0xFF go to the RTL.
        """
        for name in SIGNALS:
            sig = signals.get(name, getattr(dut, name, None) if dut is not None else None)
            if sig is None:
                raise ValueError(f"enable_cfg_ext: {name} not given")
            setattr(self, name, sig)
        return self._start_cfg_ext(start, timeout)

    def _start_cfg_ext(self, start: int, timeout: int) -> CfgExt:
        if self.cfg_ext is not None:
            raise RuntimeError("cfg_ext already enabled")
        self.cfg_ext = CfgExt(self, start=start, timeout=timeout)
        for fn in self.functions:
            self.cfg_ext.attach(fn)
        return self.cfg_ext

    def add_cpl_fault(self, lo: int, hi: int, action: str, count: int = 1 << 30, delay_ns: int = 0) -> CplFault:
        fault = CplFault(lo, hi, action, count, delay_ns=delay_ns)
        self.cpl_faults.append(fault)
        return fault

    def _fault_for(self, tlp: Tlp) -> Optional[CplFault]:
        if tlp.tag in self._hit_tags:
            return self._hit_tags[tlp.tag]
        req = self.active_request[tlp.tag] if tlp.tag < len(self.active_request) else None
        if req is None:
            return None
        for fault in self.cpl_faults:
            if fault.count > 0 and fault.lo <= req.address < fault.hi:
                fault.count -= 1
                fault.hits += 1
                self._hit_tags[tlp.tag] = fault
                return fault
        return None

    async def upstream_recv(self, tlp: Tlp) -> None:
        if self._sriov_on and tlp.fmt_type in _MEM_REQ and await self._route_mem_sriov(tlp):
            return
        if tlp.fmt_type in _CPL_TYPES:
            fault = self._fault_for(tlp)
            if fault is not None:
                last = tlp.status != CplStatus.SC or tlp.byte_count <= tlp.length * 4 - (tlp.lower_address & 3)
                if last:
                    del self._hit_tags[tlp.tag]
                if fault.action == FAULT_CA:
                    if tlp.tag in self._ca_sent:
                        self._drop_next = True  # rest of a split completion: swallowed
                    else:
                        req = self.active_request[tlp.tag]
                        ca = Tlp.create_ca_completion_for_tlp(req, PcieId(0, 0, 0))
                        ca.release_fc = tlp.release_fc
                        tlp = ca
                        if not last:
                            self._ca_sent.add(ca.tag)
                    if last:
                        self._ca_sent.discard(tlp.tag)
                elif fault.action == FAULT_POISON:
                    tlp.ep = True
                elif fault.action == FAULT_DROP:
                    self._drop_next = True
                elif fault.action == FAULT_DELAY:
                    cocotb.start_soon(self._deliver_late(tlp, fault))
                    return
        await super().upstream_recv(tlp)
        self._drop_next = False

    async def _deliver_late(self, tlp: Tlp, fault: CplFault) -> None:
        await Timer(fault.delay_ns, "ns")
        fault.released_ns.append(get_sim_time("ns"))
        await UltraScalePlusPcieDevice.upstream_recv(self, tlp)

    # ================================================================ SR-IOV / FLR
    def _setup_sriov(self, sriov: list) -> None:
        num_pf = self.pf_count
        if len(sriov) != num_pf:
            raise ValueError(f"sriov: {len(sriov)} entries for {num_pf} PFs")
        self._sriov_on = True
        self.num_pf = num_pf
        self.sriov_cfg = sriov
        totals = [c.total_vfs if c is not None else 0 for c in sriov]
        self.vf_base = [num_pf + sum(totals[:p]) for p in range(num_pf)]  # fn of VF 1 of PF p
        self.num_func = num_pf + sum(totals)
        if self.num_func > 256 or sum(totals) > 252:
            raise ValueError(f"sriov: {sum(totals)} VFs do not fit the hard block's 252 VF / 8-bit fn space")
        self.sriov_caps: dict[int, SriovExtCap] = {}
        any_sriov = any(c is not None for c in sriov)
        for p, cfg in enumerate(sriov):
            pf = self.functions[p]
            pf.pcie_cap.function_level_reset_capability = True
            pf.pcie_cap.initiate_function_level_reset = self._flr_hook(p)
            if cfg is not None:
                cap = SriovExtCap(cfg, p, self.vf_base[p] - p, on_control=self._on_sriov_control)
                pf.register_extended_capability(cap, offset=SRIOV_CAP_OFFSET // 4)
                pf.sriov_cap = cap
                self.sriov_caps[p] = cap
            if any_sriov:
                pf.ari_cap = AriExtCap(p + 1 if p + 1 < num_pf else 0)
                pf.register_extended_capability(pf.ari_cap, offset=ARI_CAP_OFFSET // 4 if cfg is not None else None)
        self._flr: dict[int, FlrRecord] = {}
        self._flr_done_count: dict[int, int] = {}
        self._flr_event = Event()
        # status outputs upstream computes over self.functions by position: driven here, PFs only
        self._sig_function_status, self.cfg_function_status = self.cfg_function_status, None
        self._sig_rcb_status, self.cfg_rcb_status = self.cfg_rcb_status, None
        self._sig_msix_enable, self.cfg_interrupt_msix_enable = self.cfg_interrupt_msix_enable, None
        self._sig_msix_mask, self.cfg_interrupt_msix_mask = self.cfg_interrupt_msix_mask, None
        cocotb.start_soon(self._run_sriov_logic())

    def function(self, fn: int):
        """The function object of ARI function number ``fn`` (None: a VF that does not exist)."""
        if fn < self.pf_count:
            return self.functions[fn]
        return self.vfs.get(fn)

    # ---------------------------------------------------------------- VFs
    async def _on_sriov_control(self, cap: SriovExtCap, old: int, new: int) -> None:
        if not (old ^ new) & 1:
            return
        p = cap.pf_index
        pf = self.functions[p]
        if new & 1:
            for k in range(1, cap.num_vfs_live() + 1):
                fn = self.vf_base[p] + k - 1
                vf = VfFunction(pf, cap, k, fn, fn - self.num_pf)
                vf.log.setLevel(self.log.getEffectiveLevel())
                vf.pcie_id = PcieId.from_int((self.bus_num << 8) | fn)
                vf.upstream_tx_handler = self.upstream_send
                vf.pcie_cap.initiate_function_level_reset = self._flr_hook(fn)
                self.vfs[fn] = vf
                self.functions.append(vf)
                if self.cfg_ext is not None:
                    self.cfg_ext.attach(vf, func_num=fn)
            self.functions.sort(key=lambda f: rid_fn(f.pcie_id))
            self.log.info("PF%d: VF Enable, %d VFs (fn %d..)", p, cap.num_vfs_live(), self.vf_base[p])
        else:
            for fn in [fn for fn, vf in self.vfs.items() if vf.pf is pf]:
                self.functions.remove(self.vfs.pop(fn))
            self.log.info("PF%d: VF Enable cleared, VFs removed", p)

    def _vf_decode(self, addr: int) -> Optional[tuple[int, int, int]]:
        """(fn, VF BAR n, per-VF size) of the VF window holding ``addr`` (VF Enable = VF MSE = 1), or None."""
        for p, cap in self.sriov_caps.items():
            if not (cap.vf_enable and cap.vf_mse):
                continue
            live = cap.num_vfs_live()
            for n in cap.bar_cfg:
                size = cap.vf_bar_size(n)
                base = cap.vf_bar_base(n)
                if base <= addr < base + live * size:
                    return self.vf_base[p] + (addr - base) // size, n, size
        return None

    async def _reject(self, tlp: Tlp, why: str) -> None:
        tlp.release_fc()
        if tlp.fmt_type in _MEM_RD:
            self.log.warning("%s: UR for %r", why, tlp)
            await self.upstream_send(Tlp.create_ur_completion_for_tlp(tlp, PcieId(self.bus_num, 0, 0)))
        else:
            self.log.warning("%s: write dropped %r", why, tlp)

    async def _route_mem_sriov(self, tlp: Tlp) -> bool:
        """Memory requests for VF windows and for functions in FLR; False: upstream routes it."""
        for p in range(self.pf_count):
            if p in self._flr and self.functions[p].match_bar(tlp.address):
                await self._reject(tlp, f"PF{p} in FLR")
                return True
        hit = self._vf_decode(tlp.address)
        if hit is None:
            return False
        fn, n, size = hit
        if fn in self._flr:
            await self._reject(tlp, f"VF fn {fn} in FLR")
            return True
        tlp.release_fc()
        req = Tlp_us(tlp)
        req.bar_id = n
        req.bar_aperture = size.bit_length() - 1
        # CQ Target Function = 8-bit fn. Tlp's completer_id setter converts to a plain PcieId (3 function
        # bits), so the ARI id is stored past it; pack_us_cq reads completer_id.function.
        req._completer_id = AriFunctionId.of(self.bus_num, fn)
        self.cq_queue.put_nowait(req)
        return True

    # ---------------------------------------------------------------- RQ bus master check
    def _requester_bme(self, tlp: Tlp) -> bool:
        if not self._sriov_on:
            return self.functions[tlp.requester_id.function].bus_master_enable  # upstream's lookup
        fn = rid_fn(tlp.requester_id)  # 8-bit ARI function number
        f = self.function(fn)
        if f is not None and f.bus_master_enable:
            return True
        self.dma_drops.append(DmaDrop(fn, tlp.fmt_type, tlp.address, get_sim_time("ns")))
        self.log.warning("DMA of fn %d dropped: %s", fn, "no such function" if f is None else "Bus Master Enable 0")
        return False

    # The two RQ coroutines below are upstream's (cocotbext-pcie 0.2.16 usp_model.py) with one change:
    # the Bus Master Enable lookup ``self.functions[tlp.requester_id.function]`` (3-bit function
    # number, position in the list) becomes ``self._requester_bme(tlp)`` (8-bit ARI function number,
    # VFs included). The lookup sits in the middle of each loop, so neither a wrapper nor a smaller
    # override can replace it.
    async def _run_rq_logic(self):
        while True:
            tlp = Tlp_us.unpack_us_rq(await self.rq_sink.recv(), self.enable_parity)

            if tlp.discontinue:
                self.log.warning("Discontinue bit set, discarding TLP: %r", tlp)
                continue

            if not tlp.requester_id_enable:
                tlp.requester_id = tlp.requester_id._replace(bus=self.bus_num)

            if tlp.is_nonposted():
                if (self.rq_np_queue.empty() and self.cpld_credit_count+tlp.get_data_credits() <= self.cpld_credit_limit
                        and (self.enable_client_tag or self.tag_available_count > 0)):
                    if not self._requester_bme(tlp):
                        self.log.warning("Bus mastering disabled, dropping TLP: %r", tlp)
                        continue

                    if self.functions[0].pcie_cap.extended_tag_field_enable:
                        assert tlp.tag < 256, "tag out of range (extended tags enabled)"
                    else:
                        assert tlp.tag < 32, "tag out of range (extended tags disabled)"

                    if not self.enable_client_tag:
                        tlp.tag = self.get_free_tag()
                        self.rq_tag.put_nowait(tlp.tag)

                    assert not self.active_request[tlp.tag], "active tag reused"
                    self.active_request[tlp.tag] = tlp
                    self.tag_available_count = self.get_available_tag_count()

                    self.cpld_credit_count += tlp.get_data_credits()

                    await self.send(Tlp(tlp))
                    self.rq_seq_num.put_nowait(tlp.seq_num)
                else:
                    while self.rq_np_queue.qsize() >= self.rq_np_limit:
                        self.rq_np_queue_dequeue.clear()
                        await self.rq_np_queue_dequeue.wait()

                    self.rq_np_queue.put_nowait(tlp)
            else:
                if not self._requester_bme(tlp):
                    self.log.warning("Bus mastering disabled, dropping TLP: %r", tlp)
                    continue

                await self.send(Tlp(tlp))
                self.rq_seq_num.put_nowait(tlp.seq_num)

    async def _run_rq_np_queue_logic(self):
        while True:
            tlp = await self.rq_np_queue.get()
            self.rq_np_queue_dequeue.set()

            while True:
                if self.cpld_credit_count+tlp.get_data_credits() > self.cpld_credit_limit:
                    self.cpld_credit_released.clear()
                    await self.cpld_credit_released.wait()
                    continue

                if not self.enable_client_tag and self.tag_available_count <= 0:
                    self.tag_release.clear()
                    await self.tag_release.wait()
                    continue

                break

            if not self._requester_bme(tlp):
                self.log.warning("Bus mastering disabled, dropping TLP: %r", tlp)
                continue

            self.cpld_credit_count += tlp.get_data_credits()

            if not self.enable_client_tag:
                tlp.tag = self.get_free_tag()
                self.rq_tag.put_nowait(tlp.tag)

            assert not self.active_request[tlp.tag], "active tag reused"
            self.active_request[tlp.tag] = tlp
            self.tag_available_count = self.get_available_tag_count()

            await self.send(Tlp(tlp))
            self.rq_seq_num.put_nowait(tlp.seq_num)

    # ---------------------------------------------------------------- FLR
    def _flr_hook(self, fn: int):
        async def initiate_function_level_reset() -> None:
            await self._start_flr(fn)
        return initiate_function_level_reset

    async def _start_flr(self, fn: int) -> None:
        f = self.function(fn)
        if f is None or not f.pcie_cap.function_level_reset_capability:
            return
        self.log.info("FLR of fn %d started", fn)
        f.io_space_enable = False
        f.memory_space_enable = False
        f.bus_master_enable = False
        f.interrupt_disable = False
        f.msix_cap.msix_enable = False
        f.msix_cap.msix_function_mask = False
        cap = self.sriov_caps.get(fn) if fn < self.pf_count else None
        if cap is not None:
            old = cap.control()
            cap.vf_enable = cap.vf_mse = cap.ari_hierarchy = False
            await self._on_sriov_control(cap, old, 0)
        self._flr[fn] = FlrRecord(fn, fn >= self.pf_count, get_sim_time("ns"))

    def flr_in_progress(self, fn: int) -> bool:
        return fn in self._flr

    def flr_seq(self, fn: int) -> int:
        """How many FLRs of ``fn`` have ended so far (pass to :meth:`wait_flr`)."""
        return self._flr_done_count.get(fn, 0)

    async def wait_flr(self, fn: int, seq: int) -> FlrRecord:
        """Wait until FLR number ``seq + 1`` of ``fn`` has ended (done handshake or timeout)."""
        while self._flr_done_count.get(fn, 0) <= seq:
            self._flr_event.clear()
            await self._flr_event.wait()
        return [r for r in self.flr_history if r.fn == fn][seq]

    def _end_flr(self, fn: int, ok: bool) -> None:
        rec = self._flr.pop(fn)
        rec.ok = ok
        rec.end_ns = get_sim_time("ns")
        self.flr_history.append(rec)
        self._flr_done_count[fn] = self._flr_done_count.get(fn, 0) + 1
        self._flr_event.set()
        self.log.info("FLR of fn %d %s after %d cycles", fn, "done" if ok else "abandoned", rec.cycles)

    def _flr_error(self, text: str) -> None:
        msg = f"FLR protocol: {text} (t={get_sim_time('ns'):.0f} ns)"
        self.flr_errors.append(msg)
        self.log.error("%s", msg)
        if self.flr_fail_fast:
            raise FlrProtocolError(msg)

    def _reset_active(self) -> bool:
        if self.user_reset is None:
            return False
        r = self.user_reset.value
        return not r.is_resolvable or bool(int(r))

    def _sample_flr_done(self) -> None:
        if self.cfg_flr_done is not None:
            v = self.cfg_flr_done.value
            if not v.is_resolvable:
                self._flr_error(f"cfg_flr_done is {v}")
            else:
                bits = int(v)
                for p in range(4):
                    if bits >> p & 1:
                        if p in self._flr:
                            self._end_flr(p, True)
                        else:
                            self._flr_error(f"cfg_flr_done[{p}] pulsed but PF {p} is not in FLR")
        if self.cfg_vf_flr_done is not None:
            v = self.cfg_vf_flr_done.value
            if not v.is_resolvable:
                self._flr_error(f"cfg_vf_flr_done is {v}")
            elif int(v):
                num = self.cfg_vf_flr_func_num.value if self.cfg_vf_flr_func_num is not None else None
                if num is None or not num.is_resolvable:
                    self._flr_error(f"cfg_vf_flr_done with cfg_vf_flr_func_num {num}")
                else:
                    fn = int(num) + self.num_pf
                    if fn in self._flr:
                        self._end_flr(fn, True)
                    else:
                        self._flr_error(f"cfg_vf_flr_done for VF {int(num)} (fn {fn}) which is not in FLR")

    async def _run_sriov_logic(self) -> None:
        """Every user_clk: FLR done / timeout, then every SR-IOV / FLR status output."""
        armed = self.user_reset is None
        while True:
            await RisingEdge(self.user_clk)
            if self._reset_active():
                armed = True
            elif armed:
                try:
                    self._sample_flr_done()
                finally:
                    for fn in list(self._flr):
                        rec = self._flr[fn]
                        rec.cycles += 1
                        if rec.cycles > self.flr_timeout:
                            self._end_flr(fn, False)
                            self._flr_error(f"no FLR done for fn {fn} within {self.flr_timeout} cycles")
            self._drive_status()

    def _drive_status(self) -> None:
        pfs = self.functions[:self.pf_count]
        if self._sig_function_status is not None:
            status = 0
            for k, f in enumerate(pfs):
                if f.bus_master_enable:
                    status |= 0x07 << k*4
                if f.interrupt_disable:
                    status |= 0x08 << k*4
            self._sig_function_status.value = status
        if self._sig_rcb_status is not None:
            self._sig_rcb_status.value = sum(1 << k for k, f in enumerate(pfs) if f.pcie_cap.read_completion_boundary)
        if self._sig_msix_enable is not None:
            self._sig_msix_enable.value = sum(1 << k for k, f in enumerate(pfs[:4]) if f.msix_cap.msix_enable)
        if self._sig_msix_mask is not None:
            self._sig_msix_mask.value = sum(1 << k for k, f in enumerate(pfs[:4]) if f.msix_cap.msix_function_mask)
        vf_status = vf_msix_en = vf_msix_mask = vf_flr = pf_flr = 0
        for fn, vf in self.vfs.items():
            v = vf.v
            vf_status |= (1 | (2 if vf.bus_master_enable else 0)) << 2 * v
            if vf.msix_cap.msix_enable:
                vf_msix_en |= 1 << v
            if vf.msix_cap.msix_function_mask:
                vf_msix_mask |= 1 << v
        for fn in self._flr:
            if fn < self.pf_count:
                pf_flr |= 1 << fn
            else:
                vf_flr |= 1 << (fn - self.num_pf)
        for sig, val in ((self.cfg_vf_status, vf_status), (self.cfg_interrupt_msix_vf_enable, vf_msix_en),
                         (self.cfg_interrupt_msix_vf_mask, vf_msix_mask), (self.cfg_flr_in_process, pf_flr),
                         (self.cfg_vf_flr_in_process, vf_flr)):
            if sig is not None:
                sig.value = val
