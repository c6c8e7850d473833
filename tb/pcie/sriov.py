"""SR-IOV for the UltraScale+ model: capabilities, the VF function, host-side helpers.

Device side (used by :class:`tb.pcie.usp_device.VioUltraScalePlusPcieDevice`):

* :class:`SriovConfig` / :class:`VfBar`: what one PF offers (TotalVFs, VF
  Device ID, VF BARs, the VFs' MSI-X table).
* :class:`SriovExtCap`: the SR-IOV extended capability (reference/virtio.md
  §9.1), every field; NumVFs, System Page Size and the VF BARs are writable
  only while VF Enable = 0 (writes otherwise ignored); ARI Capable Hierarchy is
  RW in PF0 only; First VF Offset / VF Stride are the contract's constants
  (/tmp/briefs/sriov_spec.md "Function numbering"), independent of NumVFs.
* :class:`AriExtCap`: the ARI extended capability (§9.2), Next Function
  Number chaining the PFs (0 at the last).
* :class:`VfFunction`: a VF's config space: IDs read 0xFFFF, header BARs RO 0,
  Memory Space Enable RO 0 (the PF's VF MSE decodes), no INTx, MSI-X and PCIe
  (FLR capable) capabilities.
* :class:`AriFunctionId`: a :class:`PcieId` whose ``function`` is the 8-bit ARI
  function number; the model puts it in a CQ TLP's completer ID, because
  cocotbext-pcie's ``pack_us_cq`` writes ``completer_id.function`` as the
  Target Function (a plain PcieId keeps 3 function bits).

Host side (the driver model's view, through cocotbext-pcie's RootComplex):
:func:`sriov_enable`, :func:`sriov_disable`, :func:`set_num_vfs`,
:func:`function_level_reset`, :func:`find_ext_cap`, :func:`find_cap`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from cocotbext.pcie.core.caps import PciCapId, PciExtCapId
from cocotbext.pcie.core.caps.common import PciExtCap
from cocotbext.pcie.core.utils import PcieId, align
from cocotbext.pcie.xilinx.us.usp_model import UltraScalePlusPcieFunction

if TYPE_CHECKING:
    from cocotbext.pcie.core import RootComplex

log = logging.getLogger("cocotb.pcie.sriov")

SUPPORTED_PAGE_SIZES = 0x553  # 4K, 8K, 64K, 256K, 1M, 4M (§9.1)
SRIOV_CAP_OFFSET = 0x100      # byte offsets of the PF extended capabilities
ARI_CAP_OFFSET = 0x140

# SR-IOV capability register offsets (bytes, §9.1)
SRIOV_CAPS, SRIOV_CTRL, SRIOV_STATUS = 0x04, 0x08, 0x0A
SRIOV_INITIAL_VFS, SRIOV_TOTAL_VFS, SRIOV_NUM_VFS, SRIOV_FDL = 0x0C, 0x0E, 0x10, 0x12
SRIOV_VF_OFFSET, SRIOV_VF_STRIDE, SRIOV_VF_DID = 0x14, 0x16, 0x1A
SRIOV_SUP_PGSIZE, SRIOV_SYS_PGSIZE, SRIOV_BAR, SRIOV_MIGR = 0x1C, 0x20, 0x24, 0x3C
CTRL_VFE, CTRL_VFM, CTRL_VFMIE, CTRL_MSE, CTRL_ARI = 0x01, 0x02, 0x04, 0x08, 0x10

PCIE_DEVCTL = 0x08          # PCIe capability: Device Control (bit 15 Initiate FLR)
DEVCTL_BCR_FLR = 1 << 15


class AriFunctionId(PcieId):
    """Routing ID of an ARI function: ``function`` is the full 8-bit function number.

    The tuple stays the plain (bus, fn >> 3, fn & 7), so it compares equal to
    ``PcieId.from_int(rid)`` (what the RQ/RC paths and the root complex use).
    """

    @classmethod
    def of(cls, bus: int, fn: int) -> "AriFunctionId":
        return cls(bus, (fn >> 3) & 0x1F, fn & 7)

    @property
    def device(self) -> int:  # type: ignore[override]
        return 0

    @property
    def function(self) -> int:  # type: ignore[override]
        return (self[1] << 3) | self[2]

    def __int__(self) -> int:
        return ((self[0] & 0xFF) << 8) | (self[1] << 3) | self[2]


def rid_fn(pcie_id: Any) -> int:
    """8-bit (ARI) function number of a routing ID."""
    return int(pcie_id) & 0xFF


@dataclass
class VfBar:
    """One VF BAR: per-VF ``size`` (power of two >= 4 KiB); 64-bit BARs take two slots."""

    size: int
    is64: bool = True
    prefetch: bool = False


@dataclass
class SriovConfig:
    """SR-IOV of one PF (``msix_table_size`` is the field value: vectors - 1, as upstream's pfN_msix_*)."""

    total_vfs: int
    vf_device_id: int = 0x1041
    vf_bars: Sequence[Union[VfBar, tuple]] = ()
    msix_table_size: int = 0
    msix_table_bir: int = 0
    msix_table_offset: int = 0
    msix_pba_bir: int = 0
    msix_pba_offset: int = 0

    def bars(self) -> dict[int, VfBar]:
        """VF BAR index -> VfBar (a 64-bit BAR n also occupies n + 1)."""
        out: dict[int, VfBar] = {}
        n = 0
        for b in self.vf_bars:
            bar = b if isinstance(b, VfBar) else VfBar(*b)
            if bar.size < 0x1000 or bar.size & (bar.size - 1):
                raise ValueError(f"VF BAR{n}: size {bar.size:#x} is not a power of two >= 4 KiB")
            if n + (2 if bar.is64 else 1) > 6:
                raise ValueError("VF BARs: more than 6 BAR slots")
            out[n] = bar
            n += 2 if bar.is64 else 1
        return out


class SriovExtCap(PciExtCap):
    """SR-IOV extended capability of PF ``pf_index`` (function number = pf_index).

    ``on_control(cap, old, new)`` is called after every write of the Control
    register (the device creates / removes VFs on VF Enable edges).
    """

    def __init__(self, cfg: SriovConfig, pf_index: int, first_vf_offset: int, on_control=None) -> None:
        super().__init__()
        self.cap_id = PciExtCapId.SRIOV
        self.cap_ver = 1
        self.length = 16
        self.cfg = cfg
        self.pf_index = pf_index
        self.first_vf_offset = first_vf_offset
        self.vf_stride = 1
        self.on_control = on_control
        self.bar_cfg = cfg.bars()
        self.reset()

    def reset(self) -> None:
        """Power-on state (the FLR of the PF only clears Control: see the device)."""
        self.vf_enable = False
        self.vf_mse = False
        self.ari_hierarchy = False
        self.num_vfs = 0
        self.system_page_size = 0x1
        self.bar_raw = [0] * 6

    # ---------------------------------------------------------------- decode
    @property
    def total_vfs(self) -> int:
        return self.cfg.total_vfs

    @property
    def page_bytes(self) -> int:
        return 1 << (self.system_page_size.bit_length() - 1 + 12)

    def vf_bar_size(self, n: int) -> int:
        """Per-VF size of VF BAR n: the configured size, at least System Page Size."""
        return max(self.bar_cfg[n].size, self.page_bytes)

    def vf_bar_base(self, n: int) -> int:
        base = self.bar_raw[n] & ~0xF
        if self.bar_cfg[n].is64:
            base |= self.bar_raw[n + 1] << 32
        return base & ~(self.vf_bar_size(n) - 1)

    def _mask(self, idx: int) -> tuple[int, int]:
        """(writable mask, fixed type bits) of BAR register slot idx."""
        for n, bar in self.bar_cfg.items():
            size_mask = ~(self.vf_bar_size(n) - 1)
            if idx == n:
                return size_mask & 0xFFFFFFF0, (0x4 if bar.is64 else 0) | (0x8 if bar.prefetch else 0)
            if bar.is64 and idx == n + 1:
                return (size_mask >> 32) & 0xFFFFFFFF, 0
        return 0, 0

    def num_vfs_live(self) -> int:
        """VFs that exist now (VF Enable and k <= NumVFs, capped at TotalVFs)."""
        return min(self.num_vfs, self.total_vfs) if self.vf_enable else 0

    def control(self) -> int:
        return ((CTRL_VFE if self.vf_enable else 0) | (CTRL_MSE if self.vf_mse else 0)
                | (CTRL_ARI if self.ari_hierarchy else 0))

    # ---------------------------------------------------------------- registers
    async def _read_register(self, reg: int) -> int:
        c = self.cfg
        if reg == 1:
            return 0  # no migration, no ARI Capable Hierarchy Preserved, no 10/14-bit tags, msg 0
        if reg == 2:
            return self.control()  # Status (RW1C migration status) hardwired 0
        if reg == 3:
            return (c.total_vfs & 0xFFFF) | ((c.total_vfs & 0xFFFF) << 16)  # InitialVFs = TotalVFs
        if reg == 4:
            return (self.num_vfs & 0xFFFF) | ((self.pf_index & 0xFF) << 16)  # Function Dependency Link
        if reg == 5:
            return (self.first_vf_offset & 0xFFFF) | ((self.vf_stride & 0xFFFF) << 16)
        if reg == 6:
            return (c.vf_device_id & 0xFFFF) << 16
        if reg == 7:
            return SUPPORTED_PAGE_SIZES
        if reg == 8:
            return self.system_page_size
        if 9 <= reg <= 14:
            idx = reg - 9
            mask, fixed = self._mask(idx)
            return (self.bar_raw[idx] & mask) | fixed
        return 0  # 0x3C VF Migration State Array Offset: hardwired 0

    async def _write_register(self, reg: int, data: int, mask: int) -> None:
        if reg == 2:
            if mask & 0x1:
                old = self.control()
                self.vf_mse = bool(data & CTRL_MSE)
                if self.pf_index == 0:
                    self.ari_hierarchy = bool(data & CTRL_ARI)
                new_enable = bool(data & CTRL_VFE)
                if new_enable != self.vf_enable:
                    self.vf_enable = new_enable
                if self.on_control is not None:
                    await self.on_control(self, old, self.control())
            return
        if self.vf_enable:
            if reg in (4, 8) or 9 <= reg <= 14:
                log.warning("SR-IOV PF%d: write of %#x to cap reg %#x ignored (VF Enable = 1)",
                            self.pf_index, data, reg * 4)
            return
        if reg == 4:
            if mask & 0x3:
                val = self.num_vfs
                if mask & 1:
                    val = (val & 0xFF00) | (data & 0xFF)
                if mask & 2:
                    val = (val & 0x00FF) | (data & 0xFF00)
                self.num_vfs = val
        elif reg == 8:
            if mask == 0xF:
                if data and not data & (data - 1) and data & SUPPORTED_PAGE_SIZES:
                    self.system_page_size = data
                else:
                    log.warning("SR-IOV PF%d: System Page Size %#x is not one supported size, ignored",
                                self.pf_index, data)
        elif 9 <= reg <= 14:
            idx = reg - 9
            wmask, _ = self._mask(idx)
            for b in range(4):
                if mask & (1 << b):
                    m = 0xFF << (8 * b)
                    self.bar_raw[idx] = (self.bar_raw[idx] & ~m) | (data & m)
            self.bar_raw[idx] &= wmask


class AriExtCap(PciExtCap):
    """ARI extended capability: Next Function Number, no MFVC / ACS function groups."""

    def __init__(self, next_fn: int = 0) -> None:
        super().__init__()
        self.cap_id = PciExtCapId.ARI
        self.cap_ver = 1
        self.length = 2
        self.next_fn = next_fn

    async def _read_register(self, reg: int) -> int:
        if reg == 1:
            return (self.next_fn & 0xFF) << 8  # Control (high half): all RO 0
        return 0

    async def _write_register(self, reg: int, data: int, mask: int) -> None:
        pass


class VfFunction(UltraScalePlusPcieFunction):
    """VF k (1-based) of PF ``pf`` at ARI function number ``fn``, global VF index ``v``."""

    def __init__(self, pf: Any, cap: SriovExtCap, k: int, fn: int, v: int) -> None:
        super().__init__()
        self.pf = pf
        self.sriov_cap = cap
        self.k = k
        self.fn = fn
        self.v = v
        self.vendor_id = 0xFFFF
        self.device_id = 0xFFFF
        self.class_code = pf.class_code
        self.revision_id = pf.revision_id
        self.subsystem_vendor_id = pf.subsystem_vendor_id
        self.subsystem_id = pf.subsystem_id
        self.interrupt_pin = 0
        self.bar = [0] * 6       # header BARs: RO 0 (mask 0, never matched)
        self.bar_mask = [0] * 6
        self.deregister_capability(self.msi_cap)
        c = cap.cfg
        self.msix_cap.msix_table_size = c.msix_table_size
        self.msix_cap.msix_table_bar_indicator_register = c.msix_table_bir
        self.msix_cap.msix_table_offset = c.msix_table_offset
        self.msix_cap.msix_pba_bar_indicator_register = c.msix_pba_bir
        self.msix_cap.msix_pba_offset = c.msix_pba_offset
        self.pcie_cap.function_level_reset_capability = True
        self.pcie_cap.max_payload_size_supported = pf.pcie_cap.max_payload_size_supported
        self.pcie_cap.extended_tag_supported = pf.pcie_cap.extended_tag_supported

    async def write_config_register(self, reg: int, data: int, mask: int) -> None:
        await super().write_config_register(reg, data, mask)
        if reg == 1:  # VF command: I/O and Memory Space Enable are RO 0 (the PF's VF MSE decodes)
            self.io_space_enable = False
            self.memory_space_enable = False

    def window(self, n: int) -> tuple[int, int]:
        """[lo, hi) of this VF's window of VF BAR n."""
        size = self.sriov_cap.vf_bar_size(n)
        lo = self.sriov_cap.vf_bar_base(n) + (self.k - 1) * size
        return lo, lo + size


# ==================================================================== host side
async def find_cap(rc: "RootComplex", pcie_id: PcieId, cap_id: int) -> Optional[int]:
    """Byte offset of a standard capability (walk from 0x34), or None."""
    ptr = (await rc.config_read_dword(pcie_id, 0x34)) & 0xFC
    seen = 0
    while ptr and seen < 48:
        hdr = await rc.config_read_dword(pcie_id, ptr)
        if hdr & 0xFF == cap_id:
            return ptr
        ptr = (hdr >> 8) & 0xFC
        seen += 1
    return None


async def find_ext_cap(rc: "RootComplex", pcie_id: PcieId, cap_id: int) -> Optional[int]:
    """Byte offset of an extended capability (walk from 0x100), or None."""
    off = 0x100
    seen = 0
    while off and seen < 64:
        hdr = await rc.config_read_dword(pcie_id, off)
        if hdr in (0, 0xFFFFFFFF):
            return None
        if hdr & 0xFFFF == cap_id:
            return off
        off = (hdr >> 20) & 0xFFC
        seen += 1
    return None


@dataclass
class VfHandle:
    """One enabled VF as the host sees it."""

    pf_id: PcieId
    k: int                       # VF number, 1-based
    fn: int                      # ARI function number (routing ID low byte)
    pcie_id: PcieId              # routing ID
    bar_addr: dict[int, int] = field(default_factory=dict)   # VF BAR n -> this VF's window base
    bar_size: dict[int, int] = field(default_factory=dict)   # VF BAR n -> per-VF size
    bar_window: dict[int, Any] = field(default_factory=dict)  # VF BAR n -> rc address-space window
    msix_cap: Optional[int] = None                           # config offset of the MSI-X capability
    pcie_cap: Optional[int] = None                           # config offset of the PCIe capability


@dataclass
class _VfAlloc:
    base: dict[int, int]   # VF BAR n -> base of the whole VF BAR region
    size: dict[int, int]   # per-VF size
    total_vfs: int


def _bridge_chain(rc: "RootComplex", pf_id: PcieId) -> list:
    """PciDevice bridges from the PF's bus up to (excluding) the host bridge."""
    dev = rc.find_device(pf_id)
    if dev is None:
        raise ValueError(f"sriov: {pf_id} is not an enumerated function")
    chain = []
    bus = dev.bus
    while bus is not None and bus.parent is not None:
        chain.append(bus.bridge)
        bus = bus.parent
    return chain


def _alloc_mem(rc: "RootComplex", pf_pcie_id: PcieId, size: int) -> tuple[int, int]:
    """Place ``size`` bytes (aligned to ``size``) of memory space routed to the PF: (addr, window end).

    cocotbext-pcie's enumerate() sizes each bridge window to the BARs it saw.
    VF BAR space goes after it, at the top of the host bridge's window, and
    every bridge between the host bridge and the PF gets its memory limit
    raised to cover it (:func:`_extend_windows`). That is only possible when
    each of those windows ends where the host bridge's free space begins (true
    for the bench's single root port); otherwise this raises.
    """
    hb = rc.host_bridge
    for br in _bridge_chain(rc, pf_pcie_id):
        if br.mem_base <= br.mem_limit and br.mem_limit + 1 != hb.mem_limit:
            raise RuntimeError(f"sriov: bridge {br.pcie_id} window [{br.mem_base:#x}, {br.mem_limit:#x}] does not "
                               f"end where free space begins ({hb.mem_limit:#x}); cannot extend it for VF BARs")
    addr = align(hb.mem_limit, size - 1)
    return addr, align(addr + size, 0xFFFFF)  # bridge windows have 1 MiB granularity


async def _extend_windows(rc: "RootComplex", pf_id: PcieId, end: int) -> None:
    for br in _bridge_chain(rc, pf_id):
        if br.mem_limit < end - 1:
            if br.mem_base > br.mem_limit:  # empty window so far
                br.mem_base = rc.host_bridge.mem_limit
            br.mem_limit = end - 1
            await br.setup_bridge()
    rc.host_bridge.mem_limit = max(rc.host_bridge.mem_limit, end)
    rc.mem_limit = rc.host_bridge.mem_limit
    rc.upstream_bridge.mem_limit = rc.mem_limit


async def _size_vf_bars(rc: "RootComplex", pf_id: PcieId, cap: int) -> dict[int, tuple[int, bool]]:
    """VF BAR n -> (per-VF size, is64), by writing all ones (VF Enable must be 0)."""
    out: dict[int, tuple[int, bool]] = {}
    n = 0
    while n < 6:
        reg = cap + SRIOV_BAR + 4 * n
        orig = await rc.config_read_dword(pf_id, reg)
        await rc.config_write_dword(pf_id, reg, 0xFFFFFFFF)
        val = await rc.config_read_dword(pf_id, reg)
        await rc.config_write_dword(pf_id, reg, orig)
        if val == 0:
            n += 1
            continue
        is64 = bool(val & 0x4)
        mask = val & 0xFFFFFFF0
        if is64:
            reg2 = reg + 4
            orig2 = await rc.config_read_dword(pf_id, reg2)
            await rc.config_write_dword(pf_id, reg2, 0xFFFFFFFF)
            val2 = await rc.config_read_dword(pf_id, reg2)
            await rc.config_write_dword(pf_id, reg2, orig2)
            mask |= val2 << 32
            size = (~mask & 0xFFFFFFFFFFFFFFFF) + 1
        else:
            size = (~mask & 0xFFFFFFFF) + 1
        out[n] = (size, is64)
        n += 2 if is64 else 1
    return out


async def sriov_cap_offset(rc: "RootComplex", pf_pcie_id: PcieId) -> int:
    cap = await find_ext_cap(rc, pf_pcie_id, PciExtCapId.SRIOV)
    if cap is None:
        raise ValueError(f"sriov: {pf_pcie_id} has no SR-IOV capability")
    return cap


async def sriov_enable(rc: "RootComplex", pf_pcie_id: PcieId, num_vfs: int, *, vf_mse: bool = True,
                       page_size: int = 4096, bus_master: bool = False) -> list[VfHandle]:
    """Enable ``num_vfs`` VFs of a PF like a host OS does (the PF must have been enumerated).

    System Page Size, VF BAR space (per-VF size x TotalVFs, allocated once per
    PF and routed by extending the bridge windows), VF BARs, NumVFs, then VF
    MSE + VF Enable (and ARI Capable Hierarchy in PF0). Then each VF's config
    space is read: Vendor/Device ID must read 0xFFFF (ValueError otherwise);
    its MSI-X and PCIe capabilities are located. ``bus_master`` also sets
    each VF's Bus Master Enable. No 100 ms wait: the model's VFs exist as soon
    as the Control write completes.
    """
    cap = await sriov_cap_offset(rc, pf_pcie_id)
    ctrl = await rc.config_read_word(pf_pcie_id, cap + SRIOV_CTRL)
    if ctrl & CTRL_VFE:
        raise RuntimeError(f"sriov: {pf_pcie_id} already has VF Enable set")
    total = await rc.config_read_word(pf_pcie_id, cap + SRIOV_TOTAL_VFS)
    if not 0 <= num_vfs <= total:
        raise ValueError(f"sriov: {num_vfs} VFs requested, TotalVFs {total}")
    if page_size & (page_size - 1) or not (page_size >> 12) & SUPPORTED_PAGE_SIZES:
        raise ValueError(f"sriov: unsupported page size {page_size:#x}")
    await rc.config_write_dword(pf_pcie_id, cap + SRIOV_SYS_PGSIZE, page_size >> 12)

    allocs = rc.__dict__.setdefault("_vio_sriov_alloc", {})
    key = int(pf_pcie_id)
    sizes = await _size_vf_bars(rc, pf_pcie_id, cap)
    alloc = allocs.get(key)
    if alloc is None or any(alloc.size.get(n) != s for n, (s, _) in sizes.items()):
        alloc = _VfAlloc({}, {}, total)
        for n, (size, _) in sorted(sizes.items(), key=lambda x: -x[1][0]):
            region = size * total
            region_al = 1 << (region - 1).bit_length()  # keep the region naturally aligned
            addr, end = _alloc_mem(rc, pf_pcie_id, region_al)
            await _extend_windows(rc, pf_pcie_id, end)
            alloc.base[n], alloc.size[n] = addr, size
        allocs[key] = alloc
    for n, (size, is64) in sizes.items():
        base = alloc.base[n]
        await rc.config_write_dword(pf_pcie_id, cap + SRIOV_BAR + 4 * n, base & 0xFFFFFFFF)
        if is64:
            await rc.config_write_dword(pf_pcie_id, cap + SRIOV_BAR + 4 * n + 4, base >> 32)

    await set_num_vfs(rc, pf_pcie_id, num_vfs)
    offset = await rc.config_read_word(pf_pcie_id, cap + SRIOV_VF_OFFSET)
    stride = await rc.config_read_word(pf_pcie_id, cap + SRIOV_VF_STRIDE)
    ctrl = (ctrl & ~(CTRL_VFE | CTRL_MSE)) | CTRL_VFE | (CTRL_MSE if vf_mse else 0)
    if rid_fn(pf_pcie_id) == 0:
        ctrl |= CTRL_ARI  # Linux mirrors the root port's ARI Forwarding Enable into PF0
    await rc.config_write_word(pf_pcie_id, cap + SRIOV_CTRL, ctrl)

    handles = []
    for k in range(1, num_vfs + 1):
        rid = (int(pf_pcie_id) + offset + (k - 1) * stride) & 0xFFFF
        vid = PcieId.from_int(rid)
        ids = await rc.config_read_dword(vid, 0x00)
        if ids != 0xFFFFFFFF:
            raise ValueError(f"sriov: VF{k} of {pf_pcie_id} at {vid}: vendor/device ID {ids:#010x}, expected 0xFFFFFFFF")
        h = VfHandle(pf_pcie_id, k, rid & 0xFF, vid)
        for n, size in alloc.size.items():
            h.bar_size[n] = size
            h.bar_addr[n] = alloc.base[n] + (k - 1) * size
            h.bar_window[n] = rc.mem_address_space.create_window(h.bar_addr[n], size)
        h.msix_cap = await find_cap(rc, vid, PciCapId.MSIX)
        h.pcie_cap = await find_cap(rc, vid, PciCapId.EXP)
        if bus_master:
            cmd = await rc.config_read_word(vid, 0x04)
            await rc.config_write_word(vid, 0x04, cmd | 0x4)
        handles.append(h)
    return handles


async def sriov_disable(rc: "RootComplex", pf_pcie_id: PcieId) -> None:
    """Clear VF Enable and VF MSE (the VFs disappear; their BAR space stays allocated)."""
    cap = await sriov_cap_offset(rc, pf_pcie_id)
    ctrl = await rc.config_read_word(pf_pcie_id, cap + SRIOV_CTRL)
    await rc.config_write_word(pf_pcie_id, cap + SRIOV_CTRL, ctrl & ~(CTRL_VFE | CTRL_MSE))


async def set_num_vfs(rc: "RootComplex", pf_pcie_id: PcieId, num_vfs: int) -> None:
    """Raw write of NumVFs (no check: the device ignores it while VF Enable = 1)."""
    cap = await sriov_cap_offset(rc, pf_pcie_id)
    await rc.config_write_word(pf_pcie_id, cap + SRIOV_NUM_VFS, num_vfs & 0xFFFF)


async def function_level_reset(rc: "RootComplex", dev: Any, pcie_id: PcieId, *, wait: bool = True):
    """Write Initiate FLR to ``pcie_id`` and wait for the model's FLR handshake to finish.

    A real host waits 100 ms after Initiate FLR. In simulation we wait on the
    model instead (``dev.wait_flr``): it returns once the RTL's done pulse
    ended the FLR, or once the model gave up on it (timeout, reported as a
    protocol error). Returns the model's :class:`tb.pcie.usp_device.FlrRecord`
    (``ok`` False on timeout), or None when ``wait`` is False.
    """
    cap = await find_cap(rc, pcie_id, PciCapId.EXP)
    if cap is None:
        raise ValueError(f"FLR: {pcie_id} has no PCIe capability")
    devcap = await rc.config_read_dword(pcie_id, cap + 0x04)
    if not devcap & (1 << 28):
        raise ValueError(f"FLR: {pcie_id} does not advertise FLR capability (devcap {devcap:#x})")
    fn = rid_fn(pcie_id)
    seq = dev.flr_seq(fn)
    devctl = await rc.config_read_word(pcie_id, cap + PCIE_DEVCTL)
    await rc.config_write_word(pcie_id, cap + PCIE_DEVCTL, devctl | DEVCTL_BCR_FLR)
    if not wait:
        return None
    return await dev.wait_flr(fn, seq)
