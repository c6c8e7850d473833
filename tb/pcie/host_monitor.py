"""Host-side view of the device's upstream traffic: every request TLP the
device sends reaches the root complex through here.

It is the bench's IOMMU-like checker: each memory request must come from a
known function, obey MPS / MRRS / 4 KiB rules, and touch only host memory the
driver model granted to that function; writes to the MSI address window are
recorded as interrupt messages. It also counts TLPs by kind for `make bench`.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from cocotb.simtime import get_sim_time
from cocotbext.pcie.core import RootComplex
from cocotbext.pcie.core.tlp import Tlp, TlpType

_READS = {TlpType.MEM_READ, TlpType.MEM_READ_64}
_WRITES = {TlpType.MEM_WRITE, TlpType.MEM_WRITE_64}


@dataclass
class Grant:
    """[addr, addr+length) of host memory that `func` may read and/or write."""

    func: int
    addr: int
    length: int
    read: bool = True
    write: bool = True


@dataclass
class MsixMessage:
    func: int
    addr: int
    data: int
    time_ns: float


@dataclass
class HostMonitor:
    rc: RootComplex
    mps: Callable[[], int]             # current max payload size, bytes
    mrrs: Callable[[], int]            # current max read request size, bytes
    msi_lo: int = 0x8000_0000          # cocotbext-pcie's MSI region
    msi_hi: int = 0x8000_0010
    grants: list[Grant] = field(default_factory=list)
    messages: list[MsixMessage] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    fail_fast: bool = True
    # transaction taps (scoreboards): on_dma(func, is_write, addr, data, time_ns) for every memory
    # request with the bytes it reads (host memory at request time) or writes; on_msix(MsixMessage)
    dma_taps: list = field(default_factory=list)
    msix_taps: list = field(default_factory=list)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("cocotb.tb.host"))

    def __post_init__(self) -> None:
        for kind in _READS | _WRITES:
            orig = self.rc.rx_tlp_handler[kind]
            self.rc.register_rx_tlp_handler(kind, self._wrap(orig))

    def grant(self, func: int, addr: int, length: int, read: bool = True, write: bool = True) -> Grant:
        g = Grant(func, addr, length, read, write)
        self.grants.append(g)
        return g

    def revoke(self, g: Grant) -> None:
        self.grants.remove(g)

    def _violation(self, msg: str) -> None:
        text = f"t={get_sim_time('ns'):.1f} ns: {msg}"
        self.violations.append(text)
        self.log.error("host check: %s", text)
        if self.fail_fast:
            raise AssertionError(f"host check: {text}")

    def _check(self, tlp: Tlp) -> None:
        func = tlp.requester_id.device * 8 + tlp.requester_id.function
        addr = tlp.address
        length = tlp.length * 4
        write = tlp.fmt_type in _WRITES
        kind = "MemWr" if write else "MemRd"
        if write and self.msi_lo <= addr < self.msi_hi:
            data = int.from_bytes(tlp.get_data()[:4], "little")
            if tlp.length != 1 or tlp.first_be != 0xF:
                self._violation(f"fn {func}: MSI-X write must be one full DWORD, got len {tlp.length} BE {tlp.first_be:#x}")
            msg = MsixMessage(func, addr, data, get_sim_time("ns"))
            self.messages.append(msg)
            self.counts["msix"] += 1
            for tap in self.msix_taps:
                tap(msg)
            return
        self.counts["mem_wr" if write else "mem_rd"] += 1
        self.counts["mem_wr_bytes" if write else "mem_rd_bytes"] += length
        limit = self.mps() if write else self.mrrs()
        if length > limit:
            self._violation(f"fn {func}: {kind} @{addr:#x} of {length} B exceeds {'MPS' if write else 'MRRS'} {limit}")
        if (addr & 0xFFF) + length > 0x1000:
            self._violation(f"fn {func}: {kind} @{addr:#x} len {length} crosses a 4 KiB boundary")
        # byte-exact range (first/last byte enables), checked against the grants
        start = addr + tlp.get_first_be_offset()
        nbytes = tlp.get_be_byte_count()
        for g in self.grants:
            if g.func == func and g.addr <= start and start + nbytes <= g.addr + g.length and (g.write if write else g.read):
                return
        self._violation(f"fn {func}: {kind} bytes [{start:#x}, {start + nbytes:#x}) outside every grant of function {func}")

    def _wrap(self, orig):
        async def handler(tlp: Tlp) -> None:
            self._check(tlp)
            if self.dma_taps and not (self.msi_lo <= tlp.address < self.msi_hi):
                await self._tap(tlp)
            await orig(tlp)

        return handler

    async def _tap(self, tlp: Tlp) -> None:
        func = tlp.requester_id.device * 8 + tlp.requester_id.function
        start = tlp.address + tlp.get_first_be_offset()
        nbytes = tlp.get_be_byte_count()
        write = tlp.fmt_type in _WRITES
        if write:
            off = tlp.get_first_be_offset()
            data = bytes(tlp.get_data()[off:off + nbytes])
        else:
            try:
                data = bytes(await self.rc.mem_address_space.read(start, nbytes))
            except Exception:  # outside host memory: the RC answers UR, nothing was read
                return
        t = get_sim_time("ns")
        for tap in self.dma_taps:
            tap(func, write, start, data, t)
