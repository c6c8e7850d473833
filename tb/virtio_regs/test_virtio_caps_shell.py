# SPDX-License-Identifier: Apache-2.0
"""The virtio transport seen from the host: capabilities in config space, structures in BAR0.

DUT: tb/virtio_regs/vio_virtio_shell_tb.sv (the PCIe shell with vio_virtio_regs
in the application window and vio_virtio_caps on the hard block's cfg_ext
port). The shell bench (tb/shell/bench.py) plays the host through
cocotbext-pcie's root complex; tb/pcie/cfg_ext.py forwards the config window
0xA8..0xFF to the RTL and chains the model's PCIe capability to it.

Expected capability contents come from virtio.md §3.2 and the BAR0 layout
documented in hdl/vio_virtio_regs.sv; BAR reads are compared with
pymodel.common_cfg.CommonCfg driven with the same accesses.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import RisingEdge, SimTimeoutError, with_timeout
from cocotbext.pcie.core.pci import PciCapId

from pymodel.blk_config import BlkConfig
from pymodel.common_cfg import CommonCfg, Reg
from pymodel.features import DeviceType, validate_driver_features
from tb.shell.bench import ShellBench
from tb.util import now
from tb.virtio_regs.config import BLK_DEFAULT, MSIX_VEC, NET_DEFAULT

CAP_BASE = 0xA8
BLK_CAPACITY = 0x0000_0001_2345_6789    # vio_virtio_shell_tb default
FUNCS = {0: (DeviceType.NET, NET_DEFAULT, 5), 1: (DeviceType.BLK, BLK_DEFAULT, 2)}   # vio_virtio_regs defaults

# (cfg_type, cap_len, offset, length) of the chain, in order (virtio.md §3.2, hdl/vio_virtio_caps.sv)
def expected_caps(nq: int) -> list[tuple[int, int, int, int]]:
    return [(1, 16, 0x0000, 0x40), (2, 20, 0x1000, 4 * nq), (3, 16, 0x0100, 4), (4, 16, 0x0200, 0x100), (5, 20, 0, 0)]


async def start(dut) -> ShellBench:
    tb = ShellBench(dut)
    tb.dev.enable_cfg_ext(dut, start=CAP_BASE)
    tb.log.info("seed %d", cocotb.RANDOM_SEED)
    try:
        await with_timeout(tb.init(), 200, "us")
    except SimTimeoutError:
        raise AssertionError(f"{now()}: enumeration did not finish within 200 us; the host's capability walk "
                             "(cocotbext-pcie, unbounded) probably loops: check the next pointers served on cfg_ext") from None
    return tb


async def walk(pf) -> list[tuple[int, int]]:
    """The standard capability list as a driver walks it: (id, offset)."""
    out = []
    ptr = await pf.config_read_byte(0x34) & 0xFC
    while ptr and len(out) < 48:
        hdr = await pf.config_read_word(ptr)
        out.append((hdr & 0xFF, ptr))
        ptr = (hdr >> 8) & 0xFC
    return out


@cocotb.test(timeout_time=500, timeout_unit="us")
async def test_capability_walk(dut):
    """The host finds PM, MSI-X, PCIe, then the five virtio capabilities with the fields of §3.2."""
    tb = await start(dut)
    for f, pf in enumerate(tb.pf):
        _, _, nq = FUNCS[f]
        caps = await walk(pf)
        tb.log.info("fn %d capabilities: %s", f, ", ".join(f"{i:#04x}@{o:#04x}" for i, o in caps))
        ids = [c[0] for c in caps]
        assert ids == [PciCapId.PM, PciCapId.MSIX, PciCapId.EXP] + [PciCapId.VNDR] * 5, \
            f"{now()}: fn {f}: capability list {[(hex(i), hex(o)) for i, o in caps]}"
        assert caps[3][1] == CAP_BASE, f"{now()}: fn {f}: first virtio capability at {caps[3][1]:#x}, expected {CAP_BASE:#x}"
        assert pf.capabilities == caps, f"fn {f}: the enumeration walk saw {pf.capabilities}, the driver walk {caps}"
        for (_, ptr), (cfg_type, cap_len, offset, length) in zip(caps[3:], expected_caps(nq)):
            raw = await pf.config_read(ptr, cap_len)
            got = dict(vndr=raw[0], len=raw[2], type=raw[3], bar=raw[4], id=raw[5], pad=int.from_bytes(raw[6:8], "little"),
                       offset=int.from_bytes(raw[8:12], "little"), length=int.from_bytes(raw[12:16], "little"))
            exp = dict(vndr=0x09, len=cap_len, type=cfg_type, bar=0, id=0, pad=0, offset=offset, length=length)
            assert got == exp, f"{now()}: fn {f} capability at {ptr:#x}: expected {exp}, got {got}"
            if cfg_type == 2:
                mult = int.from_bytes(raw[16:20], "little")
                assert mult == 4, f"{now()}: fn {f}: notify_off_multiplier {mult}, expected 4"
            if cfg_type == 5:
                assert raw[16:20] == bytes(4), f"{now()}: fn {f}: pci_cfg_data reads {raw[16:20].hex()}, expected 0"
            # every byte on its own (sub-DWORD config reads)
            for i in range(cap_len):
                b = await pf.config_read_byte(ptr + i)
                assert b == raw[i], f"{now()}: fn {f} config byte {ptr + i:#x}: {b:#04x}, DWORD read gave {raw[i]:#04x}"
        # the window past the chain is empty; the model's own registers are untouched
        assert await pf.config_read_dword(0x00) == (0x1041 + f) << 16 | 0x1AF4
    assert not tb.dev.cfg_ext.errors, tb.dev.cfg_ext.errors
    tb.log.info("cfg_ext: %d window reads answered by the RTL, %d writes signalled",
                tb.dev.cfg_ext.reads, tb.dev.cfg_ext.writes)
    assert tb.dev.cfg_ext.reads > 100


@cocotb.test(timeout_time=500, timeout_unit="us")
async def test_pci_cfg_fields(dut):
    """PCI_CFG: cap.bar / cap.offset / cap.length are per-function read/write; pci_cfg_data reads 0."""
    tb = await start(dut)
    pci_cfg = CAP_BASE + 0x44
    shadow = {}
    for f, pf in enumerate(tb.pf):
        bar, off, length = random.randrange(6), random.getrandbits(32) & ~3, random.choice((1, 2, 4))
        await pf.config_write_byte(pci_cfg + 4, bar)
        await pf.config_write_dword(pci_cfg + 8, off)
        await pf.config_write_word(pci_cfg + 12, length)
        await pf.config_write_word(pci_cfg + 14, 0xABCD)
        await pf.config_write_byte(pci_cfg + 5, 0x77)          # cap.id: read-only
        await pf.config_write_dword(pci_cfg + 16, 0x1234_5678)  # pci_cfg_data: window not implemented
        shadow[f] = (bar, off, length | 0xABCD << 16)
    for f, pf in enumerate(tb.pf):
        bar, off, length = shadow[f]
        raw = await pf.config_read(pci_cfg, 20)
        got = (raw[4], int.from_bytes(raw[8:12], "little"), int.from_bytes(raw[12:16], "little"))
        assert got == (bar, off, length), f"{now()}: fn {f} PCI_CFG bar/offset/length: expected {shadow[f]}, got {got}"
        assert raw[5] == 0 and raw[16:20] == bytes(4), f"{now()}: fn {f}: id {raw[5]}, pci_cfg_data {raw[16:20].hex()}"
        assert raw[0:4] == bytes([0x09, 0, 20, 5]), f"{now()}: fn {f}: PCI_CFG header {raw[0:4].hex()}"
    # config writes outside the window still reach the model (command register)
    await tb.pf[0].config_write_word(0x04, 0x0006)
    assert await tb.pf[0].config_read_word(0x04) & 0x7 == 0x6
    assert not tb.dev.cfg_ext.errors, tb.dev.cfg_ext.errors


class BarDriver:
    """A driver's view: structures found through the capabilities, accesses checked against pymodel."""

    def __init__(self, tb: ShellBench, f: int, caps: dict[int, tuple[int, int]]) -> None:
        dtype, offered, nq = FUNCS[f]
        self.bar = tb.bar[f]
        self.f = f
        self.caps = caps
        self.model = CommonCfg(dtype, offered, [256] * nq, msix_table_size=MSIX_VEC)

    async def rd(self, reg: int, width: int) -> int:
        got = int.from_bytes(await self.bar.read(self.caps[1][0] + reg, width), "little")
        exp = self.model.read(reg, width)
        assert got == exp, f"{now()}: fn {self.f} common cfg {Reg(reg).name} (+{reg:#x}, {width} B): " \
                           f"pymodel {exp:#x}, read {got:#x}"
        return got

    async def wr(self, reg: int, width: int, value: int) -> None:
        await self.bar.write(self.caps[1][0] + reg, value.to_bytes(width, "little"))
        self.model.write(reg, width, value)


@cocotb.test(timeout_time=500, timeout_unit="us")
async def test_driver_over_pcie(dut):
    """A driver finds the structures through the capabilities and brings every function up over MMIO."""
    tb = await start(dut)
    seen: list[tuple[int, int, int]] = []

    async def watch():
        while True:
            await RisingEdge(dut.clk)
            if int(dut.notify_valid.value):
                seen.append((int(dut.notify_func.value), int(dut.notify_queue.value), int(dut.notify_data.value)))

    cocotb.start_soon(watch())
    for f, pf in enumerate(tb.pf):
        dtype, offered, nq = FUNCS[f]
        caps = {}
        for _, ptr in (await walk(pf))[3:]:
            raw = await pf.config_read(ptr, 20)
            caps[raw[3]] = (int.from_bytes(raw[8:12], "little"), int.from_bytes(raw[16:20], "little"))
        drv = BarDriver(tb, f, caps)
        await drv.wr(Reg.DEVICE_STATUS, 1, 0)
        assert await drv.rd(Reg.DEVICE_STATUS, 1) == 0
        await drv.wr(Reg.DEVICE_STATUS, 1, 0x01)
        await drv.wr(Reg.DEVICE_STATUS, 1, 0x03)
        word = 0
        for sel in range(3):
            await drv.wr(Reg.DEVICE_FEATURE_SELECT, 4, sel)
            word |= await drv.rd(Reg.DEVICE_FEATURE, 4) << (32 * sel)
        assert word == offered, f"{now()}: fn {f}: offered {word:#x}, expected {offered:#x}"
        assert validate_driver_features(dtype, offered, word) is None
        for sel in range(2):
            await drv.wr(Reg.DRIVER_FEATURE_SELECT, 4, sel)
            await drv.wr(Reg.DRIVER_FEATURE, 4, (word >> (32 * sel)) & 0xFFFF_FFFF)
        await drv.wr(Reg.DEVICE_STATUS, 1, 0x0B)
        assert await drv.rd(Reg.DEVICE_STATUS, 1) == 0x0B
        assert await drv.rd(Reg.NUM_QUEUES, 2) == nq
        for q in range(nq):
            await drv.wr(Reg.QUEUE_SELECT, 2, q)
            assert await drv.rd(Reg.QUEUE_SIZE, 2) == 256
            await drv.wr(Reg.QUEUE_SIZE, 2, 100 + q)
            await drv.wr(Reg.QUEUE_MSIX_VECTOR, 2, q)
            base = tb.mem_base + 0x10000 * (q + 1)
            await drv.bar.write(caps[1][0] + Reg.QUEUE_DESC_LO, base.to_bytes(8, "little"))   # one 64-bit MWr
            drv.model.write(Reg.QUEUE_DESC_LO, 8, base)
            await drv.wr(Reg.QUEUE_DRIVER_LO, 4, (base + 0x1000) & 0xFFFF_FFFF)
            await drv.wr(Reg.QUEUE_DRIVER_HI, 4, (base + 0x1000) >> 32)
            await drv.wr(Reg.QUEUE_DEVICE_LO, 8 if q % 2 else 4, base + 0x1100 if q % 2 else (base + 0x1100) & 0xFFFF_FFFF)
            if not q % 2:
                await drv.wr(Reg.QUEUE_DEVICE_HI, 4, (base + 0x1100) >> 32)
            await drv.wr(Reg.QUEUE_ENABLE, 2, 1)
            for reg, width in ((Reg.QUEUE_SIZE, 2), (Reg.QUEUE_MSIX_VECTOR, 2), (Reg.QUEUE_ENABLE, 2),
                               (Reg.QUEUE_NOTIFY_OFF, 2), (Reg.QUEUE_DESC_LO, 8), (Reg.QUEUE_DRIVER_LO, 8),
                               (Reg.QUEUE_DEVICE_LO, 8)):
                await drv.rd(reg, width)
        await drv.wr(Reg.DEVICE_STATUS, 1, 0x0F)
        assert await drv.rd(Reg.DEVICE_STATUS, 1) == 0x0F
        for off in range(0, 0x40, 4):
            await drv.rd(off, 4)
        # notify every queue at notify.offset + queue_notify_off * multiplier
        notify_off, mult = caps[2]
        for q in range(nq):
            await drv.wr(Reg.QUEUE_SELECT, 2, q)
            qoff = await drv.rd(Reg.QUEUE_NOTIFY_OFF, 2)
            await drv.bar.write(notify_off + qoff * mult, q.to_bytes(2, "little"))
        # ISR and device config through their capabilities
        assert await drv.bar.read(caps[3][0], 1) == b"\x00"
        if dtype == DeviceType.BLK:
            exp = BlkConfig(capacity=BLK_CAPACITY, size_max=0x8000, seg_max=64, blk_size=512, num_queues=nq).pack()
            got = await drv.bar.read(caps[4][0], len(exp))
            assert got == exp, f"{now()}: fn {f}: blk config {got.hex()}, expected {exp.hex()}"
    for _ in range(50):
        await RisingEdge(dut.clk)
    exp_n = [(f, q, q) for f in FUNCS for q in range(FUNCS[f][2])]
    assert seen == exp_n, f"{now()}: notifications {seen}, expected {exp_n}"
    tb.check_host()
    assert not tb.dev.cfg_ext.errors, tb.dev.cfg_ext.errors
