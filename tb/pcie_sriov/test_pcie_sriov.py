"""SR-IOV / FLR of the UltraScale+ model (tb/pcie/usp_device.py, tb/pcie/sriov.py) against sriov_stub.

The stub (tb/pcie_sriov/sriov_stub.sv) plays the device RTL: it answers CQ
reads with {0x5A, BAR id, Target Function, addr[9:2]}, records CQ writes,
issues one-DWORD DMA on RQ for a chosen requester function, records RC
completions and answers FLR handshakes after ``flr_delay`` cycles (or never).
Default device: 2 PFs (fn 0, 1), TotalVFs 4 each: PF0's VFs fn 2..5, PF1's fn 6..9.
Seeded random choices print the seed (cocotb's RANDOM_SEED, set from SEED).
"""

from __future__ import annotations

import logging
import random

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge, Timer
from cocotbext.axi import AxiStreamBus
from cocotbext.pcie.core import RootComplex
from cocotbext.pcie.core.caps import PciCapId
from cocotbext.pcie.core.utils import PcieId

from tb.pcie.host_monitor import HostMonitor
from tb.pcie.sriov import (CTRL_ARI, CTRL_MSE, CTRL_VFE, SRIOV_BAR, SRIOV_CTRL, SRIOV_NUM_VFS, SRIOV_SYS_PGSIZE,
                           SriovConfig, VfBar, find_cap, function_level_reset, set_num_vfs, sriov_disable,
                           sriov_enable)
from tb.pcie.usp_device import VioUltraScalePlusPcieDevice

NUM_PF = 2
TOTAL = [4, 4]
VF_BASE = [2, 6]
PF_BAR0 = 32 * 1024
VF_BARS = [[VfBar(0x4000, True), VfBar(0x1000, False)], [VfBar(0x2000, True)]]
VF_DID = [0x1041, 0x1042]
MSIX = dict(msix_table_size=7, msix_table_bir=0, msix_table_offset=0x2000, msix_pba_bir=0, msix_pba_offset=0x3000)
MAGIC = 0x5A


def now() -> str:
    return f"t={get_sim_time('ns'):.0f} ns"


def expect(cond: bool, what: str) -> None:
    assert cond, f"{what} ({now()})"


class SriovBench:
    def __init__(self, dut) -> None:
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.rng = random.Random(cocotb.RANDOM_SEED)
        self.log.info("seed %d (rerun with SEED=%d)", cocotb.RANDOM_SEED, cocotb.RANDOM_SEED)
        self.rc = RootComplex()
        self.dev = VioUltraScalePlusPcieDevice(
            pcie_generation=3, pcie_link_width=16, user_clk_frequency=250e6, alignment="dword",
            pf_count=NUM_PF, max_payload_size=1024, enable_client_tag=True, enable_extended_tag=False,
            pf0_msix_enable=True, pf0_msix_table_size=7, pf0_msix_table_offset=0x2000, pf0_msix_pba_offset=0x3000,
            pf1_msix_enable=True, pf1_msix_table_size=7, pf1_msix_table_offset=0x2000, pf1_msix_pba_offset=0x3000,
            sriov=[SriovConfig(TOTAL[p], VF_DID[p], VF_BARS[p], **MSIX) for p in range(NUM_PF)],
            user_clk=dut.clk, user_reset=dut.rst,
            rq_bus=AxiStreamBus.from_prefix(dut, "m_axis_rq"),
            rc_bus=AxiStreamBus.from_prefix(dut, "s_axis_rc"),
            cq_bus=AxiStreamBus.from_prefix(dut, "s_axis_cq"),
            cc_bus=AxiStreamBus.from_prefix(dut, "m_axis_cc"),
            pcie_cq_np_req=dut.pcie_cq_np_req,
            cfg_function_status=dut.cfg_function_status,
            cfg_vf_status=dut.cfg_vf_status,
            cfg_interrupt_msix_enable=dut.cfg_interrupt_msix_enable,
            cfg_interrupt_msix_mask=dut.cfg_interrupt_msix_mask,
            cfg_interrupt_msix_vf_enable=dut.cfg_interrupt_msix_vf_enable,
            cfg_interrupt_msix_vf_mask=dut.cfg_interrupt_msix_vf_mask,
            cfg_flr_in_process=dut.cfg_flr_in_process,
            cfg_flr_done=dut.cfg_flr_done,
            cfg_vf_flr_in_process=dut.cfg_vf_flr_in_process,
            cfg_vf_flr_func_num=dut.cfg_vf_flr_func_num,
            cfg_vf_flr_done=dut.cfg_vf_flr_done,
        )
        self.dev.log.setLevel(logging.ERROR)
        self.rc.log.setLevel(logging.WARNING)
        for p, fn in enumerate(self.dev.functions):
            fn.vendor_id = 0x1AF4
            fn.device_id = VF_DID[p]
            fn.configure_bar(0, PF_BAR0, ext=True)
        self.rc.make_port().connect(self.dev)
        self.host = HostMonitor(self.rc, mps=lambda: 256, mrrs=lambda: 512)
        for name, val in (("dma_go", 0), ("dma_write", 0), ("dma_fn", 0), ("dma_addr", 0), ("dma_data", 0),
                          ("dma_tag", 0), ("flr_delay", 10), ("flr_never", 0), ("force_flr_done", 0),
                          ("force_vf_flr_done", 0), ("force_vf_flr_num", 0)):
            getattr(dut, name).value = val
        self.pf_ids: list[PcieId] = []
        self.pf_bar: list = []

    async def init(self) -> None:
        await RisingEdge(self.dut.clk)
        await Timer(200, "ns")
        await self.rc.enumerate()
        self.pf_ids = [fn.pcie_id for fn in self.dev.functions[:NUM_PF]]
        for pid in self.pf_ids:
            pf = self.rc.find_device(pid)
            await pf.enable_device()
            await pf.set_master()
        self.pf_bar = [self.rc.find_device(pid).bar_window[0] for pid in self.pf_ids]
        self.mem = self.rc.mem_pool.alloc_region(1 << 16)
        self.mem_base = self.mem.get_absolute_address(0)

    async def clocks(self, n: int) -> None:
        for _ in range(n):
            await RisingEdge(self.dut.clk)

    async def cfg_rd(self, pid: PcieId, off: int) -> int:
        return await self.rc.config_read_dword(pid, off)

    async def dma(self, fn: int, addr: int, write: bool, data: int = 0, tag: int = 0) -> None:
        d = self.dut
        while int(d.dma_busy.value):
            await RisingEdge(d.clk)
        d.dma_fn.value = fn
        d.dma_addr.value = addr
        d.dma_write.value = int(write)
        d.dma_data.value = data
        d.dma_tag.value = tag
        d.dma_go.value = 1
        await RisingEdge(d.clk)
        d.dma_go.value = 0
        await RisingEdge(d.clk)
        while int(d.dma_busy.value):
            await RisingEdge(d.clk)

    def vf_status(self) -> int:
        return int(self.dut.cfg_vf_status.value)

    @staticmethod
    def expected_word(fn: int, bar: int, addr: int) -> int:
        return (MAGIC << 24) | (bar << 16) | (fn << 8) | ((addr >> 2) & 0xFF)


async def setup(dut) -> SriovBench:
    tb = SriovBench(dut)
    await tb.init()
    return tb


def vf_exists_bits(fns: list[int]) -> int:
    return sum(1 << 2 * (fn - NUM_PF) for fn in fns)


# ------------------------------------------------------------------------ tests
@cocotb.test()
async def test_caps_layout(dut):
    """SR-IOV / ARI capability layout, every field, RO / RW and the VF-Enable write lock."""
    tb = await setup(dut)
    rc = tb.rc
    for p, pid in enumerate(tb.pf_ids):
        c = 0x100
        hdr = await tb.cfg_rd(pid, c)
        expect(hdr == 0x0010 | (1 << 16) | (0x140 << 20), f"PF{p} SR-IOV header {hdr:#010x}, expected id 0x10 v1 next 0x140")
        ari = await tb.cfg_rd(pid, 0x140)
        expect(ari == 0x000E | (1 << 16), f"PF{p} ARI header {ari:#010x}, expected id 0xE v1 next 0")
        nxt = (await tb.cfg_rd(pid, 0x144)) >> 8 & 0xFF
        expect(nxt == (p + 1 if p + 1 < NUM_PF else 0), f"PF{p} ARI Next Function {nxt}")
        want = {0x04: 0, 0x08: 0, 0x0C: TOTAL[p] | TOTAL[p] << 16, 0x10: p << 16,
                0x14: (VF_BASE[p] - p) | 1 << 16, 0x18: VF_DID[p] << 16, 0x1C: 0x553, 0x20: 1, 0x3C: 0}
        for off, val in want.items():
            got = await tb.cfg_rd(pid, c + off)
            expect(got == val, f"PF{p} SR-IOV reg {off:#x}: {got:#010x}, expected {val:#010x}")
        # VF BAR type bits and sizing (per-VF size)
        slot = 0
        for bar in VF_BARS[p]:
            reg = c + SRIOV_BAR + 4 * slot
            expect((await tb.cfg_rd(pid, reg)) == (4 if bar.is64 else 0), f"PF{p} VF BAR{slot} type bits")
            await rc.config_write_dword(pid, reg, 0xFFFFFFFF)
            got = await tb.cfg_rd(pid, reg)
            want_mask = (~(bar.size - 1) & 0xFFFFFFF0) | (4 if bar.is64 else 0)
            expect(got == want_mask, f"PF{p} VF BAR{slot} sizing {got:#010x}, expected {want_mask:#010x}")
            await rc.config_write_dword(pid, reg, 0)
            slot += 2 if bar.is64 else 1
        for s in range(slot, 6):
            await rc.config_write_dword(pid, c + SRIOV_BAR + 4 * s, 0xFFFFFFFF)
            expect((await tb.cfg_rd(pid, c + SRIOV_BAR + 4 * s)) == 0, f"PF{p} unimplemented VF BAR{s} not 0")
        # RO fields ignore writes
        for off in (0x04, 0x0C, 0x14, 0x18, 0x1C, 0x3C):
            before = await tb.cfg_rd(pid, c + off)
            await rc.config_write_dword(pid, c + off, 0xFFFFFFFF ^ before)
            expect((await tb.cfg_rd(pid, c + off)) == before, f"PF{p} RO SR-IOV reg {off:#x} changed")
        # RW while VF Enable = 0
        await set_num_vfs(rc, pid, 3)
        expect((await rc.config_read_word(pid, c + SRIOV_NUM_VFS)) == 3, f"PF{p} NumVFs not written")
        await rc.config_write_dword(pid, c + SRIOV_SYS_PGSIZE, 0x2)
        expect((await tb.cfg_rd(pid, c + SRIOV_SYS_PGSIZE)) == 0x2, f"PF{p} System Page Size not written")
        await rc.config_write_dword(pid, c + SRIOV_SYS_PGSIZE, 0x3)  # two bits: ignored
        expect((await tb.cfg_rd(pid, c + SRIOV_SYS_PGSIZE)) == 0x2, f"PF{p} bad System Page Size accepted")
        await rc.config_write_dword(pid, c + SRIOV_SYS_PGSIZE, 0x1)
        # ARI Capable Hierarchy: RW in PF0 only
        await rc.config_write_word(pid, c + SRIOV_CTRL, CTRL_ARI)
        ctrl = await rc.config_read_word(pid, c + SRIOV_CTRL)
        expect(ctrl == (CTRL_ARI if p == 0 else 0), f"PF{p} ARI Capable Hierarchy reads {ctrl:#x}")
        await rc.config_write_word(pid, c + SRIOV_CTRL, 0)
        # FLR capability advertised by the PF
        pcie = await find_cap(rc, pid, PciCapId.EXP)
        expect(bool((await tb.cfg_rd(pid, pcie + 4)) & 1 << 28), f"PF{p} devcap lacks FLR")
    # write lock while VF Enable = 1
    pid = tb.pf_ids[0]
    vfs = await sriov_enable(rc, pid, 2)
    bar0 = await tb.cfg_rd(pid, 0x100 + SRIOV_BAR)
    await set_num_vfs(rc, pid, 4)
    await rc.config_write_dword(pid, 0x100 + SRIOV_SYS_PGSIZE, 0x2)
    await rc.config_write_dword(pid, 0x100 + SRIOV_BAR, 0x12345000)
    expect((await rc.config_read_word(pid, 0x100 + SRIOV_NUM_VFS)) == 2, "NumVFs written while VF Enable = 1")
    expect((await tb.cfg_rd(pid, 0x100 + SRIOV_SYS_PGSIZE)) == 1, "System Page Size written while VF Enable = 1")
    expect((await tb.cfg_rd(pid, 0x100 + SRIOV_BAR)) == bar0, "VF BAR0 written while VF Enable = 1")
    expect(len(vfs) == 2 and len(tb.dev.vfs) == 2, f"VF count {len(tb.dev.vfs)} after NumVFs write while enabled")


@cocotb.test()
async def test_vf_enumeration(dut):
    """1, T and 0 VFs: Routing IDs, IDs 0xFFFF, header BARs RO 0, no INTx, MSI-X / PCIe caps, cfg_vf_status."""
    tb = await setup(dut)
    rc = tb.rc
    pf0, pf1 = tb.pf_ids
    vfs = await sriov_enable(rc, pf0, 1)
    expect([h.fn for h in vfs] == [2], f"PF0 1 VF: fn {[h.fn for h in vfs]}, expected [2]")
    await tb.clocks(2)
    expect(tb.vf_status() == vf_exists_bits([2]), f"cfg_vf_status {tb.vf_status():#x} with VF fn 2 only")
    await sriov_disable(rc, pf0)
    await tb.clocks(2)
    expect(tb.vf_status() == 0, f"cfg_vf_status {tb.vf_status():#x} after VF Enable cleared")
    all_vfs = await sriov_enable(rc, pf0, TOTAL[0]) + await sriov_enable(rc, pf1, TOTAL[1])
    fns = [h.fn for h in all_vfs]
    expect(fns == list(range(2, 10)), f"VF fns {fns}, expected 2..9")
    for h in all_vfs:
        p = 0 if h.fn < VF_BASE[1] else 1
        expect(h.k == h.fn - VF_BASE[p] + 1, f"fn {h.fn}: k {h.k}")
        expect(int(h.pcie_id) == (rc.find_device(pf0).bus_num << 8 | h.fn), f"fn {h.fn}: RID {h.pcie_id}")
        for off in range(0x10, 0x28, 4):
            await rc.config_write_dword(h.pcie_id, off, 0xFFFFFFFF)
            got = await tb.cfg_rd(h.pcie_id, off)
            expect(got == 0, f"fn {h.fn}: header BAR @{off:#x} reads {got:#x} after all-ones write, expected 0")
        pin = (await tb.cfg_rd(h.pcie_id, 0x3C)) >> 8 & 0xFF
        expect(pin == 0, f"fn {h.fn}: interrupt pin {pin}")
        expect(h.msix_cap is not None, f"fn {h.fn}: no MSI-X capability")
        mc = await tb.cfg_rd(h.pcie_id, h.msix_cap)
        tbl = await tb.cfg_rd(h.pcie_id, h.msix_cap + 4)
        pba = await tb.cfg_rd(h.pcie_id, h.msix_cap + 8)
        expect((mc >> 16) & 0x7FF == 7 and tbl == 0x2000 and pba == 0x3000,
               f"fn {h.fn}: MSI-X ctrl {mc:#x} table {tbl:#x} pba {pba:#x}")
        expect(await find_cap(rc, h.pcie_id, PciCapId.MSI) is None, f"fn {h.fn}: VF has MSI")
        expect(bool((await tb.cfg_rd(h.pcie_id, h.pcie_cap + 4)) & 1 << 28), f"fn {h.fn}: no FLR capability")
        expect((await tb.cfg_rd(h.pcie_id, 0x100)) in (0, 0xFFFFFFFF), f"fn {h.fn}: VF has an SR-IOV capability")
    await tb.clocks(2)
    expect(tb.vf_status() == vf_exists_bits(fns), f"cfg_vf_status {tb.vf_status():#x} with 8 VFs")
    # VF BME and MSI-X enable / mask status vectors
    h = all_vfs[tb.rng.randrange(len(all_vfs))]
    await rc.config_write_word(h.pcie_id, 0x04, 0x4)
    await rc.config_write_dword(h.pcie_id, h.msix_cap, 0xC000_0000)
    await tb.clocks(2)
    v = h.fn - NUM_PF
    expect(tb.vf_status() >> (2 * v + 1) & 1, f"fn {h.fn}: BME not in cfg_vf_status {tb.vf_status():#x}")
    expect(int(dut.cfg_interrupt_msix_vf_enable.value) == 1 << v and int(dut.cfg_interrupt_msix_vf_mask.value) == 1 << v,
           f"fn {h.fn}: msix vf enable {int(dut.cfg_interrupt_msix_vf_enable.value):#x} mask "
           f"{int(dut.cfg_interrupt_msix_vf_mask.value):#x}, expected bit {v}")
    expect(int(dut.cfg_interrupt_msix_enable.value) == 0, "PF MSI-X enable vector shows a VF")
    expect(int(dut.cfg_function_status.value) == 0x77, f"cfg_function_status {int(dut.cfg_function_status.value):#x}")
    # 0 VFs
    await sriov_disable(rc, pf0)
    await sriov_disable(rc, pf1)
    none = await sriov_enable(rc, pf0, 0)
    expect(none == [] and not tb.dev.vfs, "VFs exist with NumVFs = 0")
    got = await tb.cfg_rd(PcieId.from_int(int(pf0) + 2), 0)
    expect(got == 0xFFFFFFFF, f"config read of fn 2 with NumVFs = 0 returned {got:#x}")


@cocotb.test()
async def test_vf_bar_access(dut):
    """Every VF's window of every VF BAR reaches the stub with its fn and BAR id; PF BARs still work."""
    tb = await setup(dut)
    rc = tb.rc
    vfs = await sriov_enable(rc, tb.pf_ids[0], TOTAL[0]) + await sriov_enable(rc, tb.pf_ids[1], TOTAL[1])
    for p in range(NUM_PF):
        off = tb.rng.randrange(PF_BAR0 // 4) * 4
        got = await tb.pf_bar[p].read_dword(off)
        want = tb.expected_word(p, 0, off)
        expect(got == want, f"PF{p} BAR0 @{off:#x}: read {got:#010x}, expected {want:#010x}")
    for h in vfs:
        for n, win in h.bar_window.items():
            for off in (0, h.bar_size[n] - 4, tb.rng.randrange(h.bar_size[n] // 4) * 4):
                got = await win.read_dword(off)
                want = tb.expected_word(h.fn, n, h.bar_addr[n] + off)
                expect(got == want, f"fn {h.fn} VF BAR{n} @{off:#x}: read {got:#010x}, expected {want:#010x} "
                                    f"(fn/bar in bits 15:8 / 23:16)")
            off = tb.rng.randrange(h.bar_size[n] // 4) * 4
            data = tb.rng.getrandbits(32)
            cnt = int(dut.wr_count.value)
            await win.write_dword(off, data)
            await tb.clocks(30)
            got = (int(dut.wr_count.value) - cnt, int(dut.wr_fn.value), int(dut.wr_bar.value),
                   int(dut.wr_addr.value), int(dut.wr_data.value))
            want = (1, h.fn, n, h.bar_addr[n] + off, data)
            expect(got == want, f"fn {h.fn} VF BAR{n} write @{off:#x}: stub saw (count, fn, bar, addr, data) "
                                f"{got}, expected {want}")


@cocotb.test()
async def test_vf_gating(dut):
    """VF MSE = 0 -> UR / writes dropped; NumVFs write while enabled ignored; VF Enable cleared -> UR."""
    tb = await setup(dut)
    rc = tb.rc
    pf0 = tb.pf_ids[0]
    vfs = await sriov_enable(rc, pf0, 3, vf_mse=False)
    h = vfs[tb.rng.randrange(3)]
    cnt = int(dut.wr_count.value)
    try:
        got = await h.bar_window[0].read_dword(0)
        raise AssertionError(f"fn {h.fn}: read with VF MSE = 0 returned {got:#x}, expected UR ({now()})")
    except AssertionError:
        raise
    except Exception as exc:  # cocotbext-pcie raises "Unsuccessful completion" on UR
        expect("Unsuccessful" in str(exc), f"fn {h.fn}: read with VF MSE = 0 failed with {exc!r}, expected UR")
    await h.bar_window[0].write_dword(0, 0x1234)
    await tb.clocks(30)
    expect(int(dut.wr_count.value) == cnt, "write with VF MSE = 0 reached the stub")
    ctrl = await rc.config_read_word(pf0, 0x100 + SRIOV_CTRL)
    await rc.config_write_word(pf0, 0x100 + SRIOV_CTRL, ctrl | CTRL_MSE)
    got = await h.bar_window[0].read_dword(0)
    expect(got == tb.expected_word(h.fn, 0, h.bar_addr[0]), f"fn {h.fn}: read after VF MSE = 1 returned {got:#x}")
    # beyond NumVFs (VF 4's window): UR
    far = h.bar_addr[0] + (4 - h.k) * h.bar_size[0]
    try:
        await rc.mem_read(far, 4)
        raise AssertionError(f"read of VF4's window with NumVFs = 3 succeeded ({now()})")
    except AssertionError:
        raise
    except Exception:
        pass
    await set_num_vfs(rc, pf0, 4)
    num = await rc.config_read_word(pf0, 0x100 + SRIOV_NUM_VFS)
    expect(num == 3 and len(tb.dev.vfs) == 3, f"NumVFs {num} / {len(tb.dev.vfs)} VFs after write of 4 while enabled")
    await sriov_disable(rc, pf0)
    for v in vfs:
        got = await tb.cfg_rd(v.pcie_id, 0)
        expect(got == 0xFFFFFFFF, f"fn {v.fn}: config read after VF Enable cleared returned {got:#x}")
    try:
        await h.bar_window[0].read_dword(0)
        raise AssertionError(f"fn {h.fn}: BAR read after VF Enable cleared succeeded ({now()})")
    except AssertionError:
        raise
    except Exception:
        pass


@cocotb.test()
async def test_vf_dma(dut):
    """VF DMA carries the VF's requester ID, read completions come back; non-existing VF / BME 0 dropped."""
    tb = await setup(dut)
    rc = tb.rc
    # PF0: all 4 VFs (fn 2..5); PF1: 3 of 4 (fn 6..8, so fn >= 8 is covered and fn 9 does not exist)
    vfs = (await sriov_enable(rc, tb.pf_ids[0], TOTAL[0], bus_master=True)
           + await sriov_enable(rc, tb.pf_ids[1], TOTAL[1] - 1, bus_master=True))
    for fn in range(10):
        tb.host.grant(fn, tb.mem_base, 1 << 16)
    seen = []
    tb.host.dma_taps.append(lambda fn, wr, addr, data, t: seen.append((fn, wr, addr, bytes(data))))
    for i, fn in enumerate([0] + [h.fn for h in vfs]):
        addr = tb.mem_base + 0x100 * i
        data = tb.rng.getrandbits(32)
        await tb.dma(fn, addr, True, data)
        await tb.clocks(20)
        got = int.from_bytes(tb.mem[0x100 * i:0x100 * i + 4], "little")
        expect(got == data, f"fn {fn}: DMA write @{addr:#x}: host memory {got:#010x}, expected {data:#010x}")
        expect(seen and seen[-1][:3] == (fn, True, addr), f"fn {fn}: host saw {seen[-1:]}, expected write from fn {fn}")
        cnt = int(dut.rc_count.value)
        await tb.dma(fn, addr, False, tag=i)
        for _ in range(200):
            if int(dut.rc_count.value) != cnt:
                break
            await RisingEdge(dut.clk)
        desc = int(dut.rc_desc.value)
        rid, tag, status = (desc >> 48) & 0xFFFF, (desc >> 64) & 0xFF, (desc >> 43) & 0x7
        expect(int(dut.rc_count.value) == cnt + 1, f"fn {fn}: no completion for DMA read tag {i}")
        expect(rid & 0xFF == fn and tag == i and status == 0,
               f"fn {fn}: completion requester {rid:#x} tag {tag} status {status}, expected fn {fn} tag {i} SC")
        expect(int(dut.rc_data.value) == data, f"fn {fn}: DMA read data {int(dut.rc_data.value):#x}, expected {data:#x}")
        expect(seen[-1][:3] == (fn, False, addr), f"fn {fn}: host saw {seen[-1]}, expected read from fn {fn}")
    # a non-existing VF (fn 9: PF1's NumVFs is 3) and a VF with BME 0
    h = vfs[tb.rng.randrange(len(vfs))]
    await rc.config_write_word(h.pcie_id, 0x04, 0)
    for fn, why in ((9, "non-existing VF"), (h.fn, "BME 0")):
        drops, n_seen = len(tb.dev.dma_drops), len(seen)
        mem_before = bytes(tb.mem[0x800:0x804])
        await tb.dma(fn, tb.mem_base + 0x800, True, 0xDEADBEEF)
        await tb.dma(fn, tb.mem_base + 0x800, False, tag=9)
        await tb.clocks(50)
        expect(len(seen) == n_seen, f"fn {fn} ({why}): DMA reached the host: {seen[n_seen:]}")
        expect(bytes(tb.mem[0x800:0x804]) == mem_before, f"fn {fn} ({why}): host memory written")
        new = tb.dev.dma_drops[drops:]
        expect([d.fn for d in new] == [fn, fn], f"fn {fn} ({why}): model drop log {new}")


@cocotb.test()
async def test_flr(dut):
    """FLR of a VF and of a PF: in_process seen by the stub, done handshake, config state reset, PF FLR clears VF Enable."""
    tb = await setup(dut)
    rc = tb.rc
    pf0 = tb.pf_ids[0]
    vfs = await sriov_enable(rc, pf0, TOTAL[0], bus_master=True)
    h = vfs[tb.rng.randrange(len(vfs))]
    v = h.fn - NUM_PF
    await rc.config_write_dword(h.pcie_id, h.msix_cap, 0xC000_0000)
    delay = tb.rng.randrange(5, 60)
    dut.flr_delay.value = delay
    seen_bits = set()

    async def watch():
        while True:
            await RisingEdge(dut.clk)
            vec = int(dut.cfg_vf_flr_in_process.value)
            if vec:
                seen_bits.add(vec)
    w = cocotb.start_soon(watch())
    rec = await function_level_reset(rc, tb.dev, h.pcie_id)
    expect(rec.ok and rec.fn == h.fn, f"fn {h.fn}: FLR record {rec}")
    expect(seen_bits == {1 << v}, f"fn {h.fn}: stub saw cfg_vf_flr_in_process {[hex(b) for b in seen_bits]}, "
                                  f"expected {1 << v:#x}")
    expect(rec.cycles >= delay, f"fn {h.fn}: FLR ended after {rec.cycles} cycles, stub delay {delay}")
    await tb.clocks(2)
    expect(int(dut.cfg_vf_flr_in_process.value) == 0, "cfg_vf_flr_in_process still set after done")
    cmd = await rc.config_read_word(h.pcie_id, 0x04)
    mc = await tb.cfg_rd(h.pcie_id, h.msix_cap)
    expect(cmd & 0x7 == 0 and mc >> 30 == 0, f"fn {h.fn}: after FLR command {cmd:#x} MSI-X ctrl {mc:#x}")
    expect(not (tb.vf_status() >> (2 * v + 1)) & 1 and tb.vf_status() >> 2 * v & 1,
           f"fn {h.fn}: cfg_vf_status {tb.vf_status():#x} after VF FLR (exists, BME 0 expected)")
    # PF FLR: memory UR while in progress, config completes, VF Enable cleared, VFs gone
    dut.flr_delay.value = 400
    seq0 = tb.dev.flr_seq(0)
    await function_level_reset(rc, tb.dev, pf0, wait=False)
    await tb.clocks(3)
    expect(int(dut.cfg_flr_in_process.value) == 1, f"cfg_flr_in_process {int(dut.cfg_flr_in_process.value):#x}")
    expect(tb.vf_status() == 0, f"cfg_vf_status {tb.vf_status():#x} during PF0 FLR (VFs must be gone)")
    ctrl = await rc.config_read_word(pf0, 0x100 + SRIOV_CTRL)
    expect(ctrl & (CTRL_VFE | CTRL_MSE) == 0, f"PF0 SR-IOV control {ctrl:#x} during FLR")
    try:
        await tb.pf_bar[0].read_dword(0)
        raise AssertionError(f"PF0 BAR read during FLR succeeded ({now()})")
    except AssertionError:
        raise
    except Exception:
        pass
    rec = await tb.dev.wait_flr(0, seq0)
    expect(rec.ok, f"PF0 FLR record {rec}")
    cmd = await rc.config_read_word(pf0, 0x04)
    expect(cmd & 0x6 == 0, f"PF0 command {cmd:#x} after FLR")
    got = await tb.cfg_rd(h.pcie_id, 0)
    expect(got == 0xFFFFFFFF, f"fn {h.fn}: config read after PF FLR returned {got:#x}")
    pf = rc.find_device(pf0)
    await pf.enable_device()
    got = await tb.pf_bar[0].read_dword(8)
    expect(got == tb.expected_word(0, 0, 8), f"PF0 BAR read after FLR returned {got:#x}")
    w.kill()
    expect(not tb.dev.flr_errors, f"FLR errors {tb.dev.flr_errors}")


@cocotb.test()
async def test_flr_errors(dut):
    """An FLR with no done (timeout) and spurious done pulses (PF, VF) are reported as protocol errors."""
    tb = await setup(dut)
    rc = tb.rc
    dev = tb.dev
    dev.flr_fail_fast = False
    dev.flr_timeout = 300
    vfs = await sriov_enable(rc, tb.pf_ids[1], 2)
    dut.flr_never.value = 1
    rec = await function_level_reset(rc, dev, vfs[0].pcie_id)
    expect(not rec.ok and len(dev.flr_errors) == 1 and "no FLR done for fn 6" in dev.flr_errors[0],
           f"timeout not reported: record {rec}, errors {dev.flr_errors}")
    dev.flr_errors.clear()
    dut.flr_never.value = 0
    for sig, val, what in ((dut.force_flr_done, 0x2, "cfg_flr_done[1]"), (dut.force_vf_flr_done, 1, "VF 5")):
        dut.force_vf_flr_num.value = 5
        sig.value = val
        await RisingEdge(dut.clk)
        sig.value = 0
        await tb.clocks(3)
        expect(len(dev.flr_errors) == 1 and ("not in FLR" in dev.flr_errors[0]),
               f"spurious {what} not reported: errors {dev.flr_errors}")
        expect(what.split()[0] in dev.flr_errors[0] or "VF 5" in dev.flr_errors[0], f"message {dev.flr_errors[0]}")
        dev.flr_errors.clear()
    # and the handshake still works afterwards
    rec = await function_level_reset(rc, dev, vfs[1].pcie_id)
    expect(rec.ok and not dev.flr_errors, f"FLR after errors: {rec}, errors {dev.flr_errors}")
