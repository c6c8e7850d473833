"""cocotbext-pcie's UltraScale+ hard-block model, extended by subclassing.

Adds what the bench needs and the upstream model lacks (see DESIGN.md,
decision 1). For now: completion fault injection on the RC path, so a test
can make the host answer a DMA read with a Completer Abort, a poisoned
completion, or nothing at all (completion timeout), while the model's own
tag bookkeeping stays consistent. The configuration extend interface
(cfg_ext_*, tb/pcie/cfg_ext.py): pass the cfg_ext_* signals as for the
upstream model (optionally ``cfg_ext_start`` / ``cfg_ext_timeout``), or bind
them later with :meth:`VioUltraScalePlusPcieDevice.enable_cfg_ext`, before
enumeration. Later: SR-IOV.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Optional

from cocotbext.pcie.core.tlp import CplStatus, Tlp, TlpType
from cocotbext.pcie.core.utils import PcieId
from cocotbext.pcie.xilinx.us import UltraScalePlusPcieDevice

from tb.pcie.cfg_ext import DEFAULT_START, DEFAULT_TIMEOUT, SIGNALS, CfgExt

_CPL_TYPES = {TlpType.CPL, TlpType.CPL_DATA, TlpType.CPL_LOCKED, TlpType.CPL_LOCKED_DATA}

# what a fault does to the completions of the matching request
FAULT_CA = "ca"          # replace with a Completer Abort completion
FAULT_POISON = "poison"  # deliver with EP set
FAULT_DROP = "drop"      # never deliver (the requester must time out)


@dataclass
class CplFault:
    """Applies `action` to completions of reads whose address is in [lo, hi)."""

    lo: int
    hi: int
    action: str
    count: int = 1 << 30  # how many requests it may still hit
    hits: int = 0


class VioUltraScalePlusPcieDevice(UltraScalePlusPcieDevice):
    """UltraScale+ model with completion fault injection and the cfg_ext interface."""

    def __init__(self, *args, cfg_ext_start: int = DEFAULT_START, cfg_ext_timeout: int = DEFAULT_TIMEOUT,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
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

    def add_cpl_fault(self, lo: int, hi: int, action: str, count: int = 1 << 30) -> CplFault:
        fault = CplFault(lo, hi, action, count)
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
        await super().upstream_recv(tlp)
        self._drop_next = False
