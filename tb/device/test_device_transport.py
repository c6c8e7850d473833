"""vio_device_top's virtio transport seen from the host: capabilities in config space, structures in BAR0.

The five virtio vendor capabilities are served by the RTL (vio_virtio_caps)
on the hard block's cfg_ext interface, which tb/pcie/cfg_ext.py adds to
cocotbext-pcie's UltraScale+ model; the chain starts at 0xA8, after the
model's own PM, MSI-X and PCIe capabilities. Expected contents come from
virtio.md §3.2 and the BAR0 layout documented in hdl/vio_virtio_regs.sv.
(Register contents behind the capabilities are checked against pymodel by
every test of tb/device/test_device_blk.py: the driver model reads through
the scoreboard.)
"""

from __future__ import annotations

import random

import cocotb
from cocotbext.pcie.core.pci import PciCapId

from tb.device.bench import CAP_BASE, DeviceBench
from tb.util import now


def expected_caps(nq: int) -> list[tuple[int, int, int, int]]:
    """(cfg_type, cap_len, offset, length) of the chain, in order (virtio.md §3.2, hdl/vio_virtio_caps.sv)."""
    return [(1, 16, 0x0000, 0x40), (2, 20, 0x1000, 4 * nq), (3, 16, 0x0100, 4), (4, 16, 0x0200, 0x100), (5, 20, 0, 0)]


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
    tb = DeviceBench(dut)
    await tb.init()
    for f, pf in tb.pf.items():
        nq = tb.funcs[f].num_queues
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
            for i in range(cap_len):   # every byte on its own (sub-DWORD config reads)
                b = await pf.config_read_byte(ptr + i)
                assert b == raw[i], f"{now()}: fn {f} config byte {ptr + i:#x}: {b:#04x}, DWORD read gave {raw[i]:#04x}"
        dev_id = tb.funcs[f].device_id
        assert await pf.config_read_dword(0x00) == dev_id << 16 | 0x1AF4, f"{now()}: fn {f}: IDs, expected {dev_id:#x}"
    assert not tb.dev.cfg_ext.errors, tb.dev.cfg_ext.errors
    tb.log.info("cfg_ext: %d window reads answered by the RTL, %d writes signalled",
                tb.dev.cfg_ext.reads, tb.dev.cfg_ext.writes)
    assert tb.dev.cfg_ext.reads > 100


@cocotb.test(timeout_time=500, timeout_unit="us")
async def test_pci_cfg_fields(dut):
    """PCI_CFG: cap.bar / cap.offset / cap.length are per-function read/write; pci_cfg_data reads 0."""
    tb = DeviceBench(dut)
    await tb.init()
    pci_cfg = CAP_BASE + 0x44
    shadow = {}
    for f, pf in tb.pf.items():
        bar, off, length = random.randrange(6), random.getrandbits(32) & ~3, random.choice((1, 2, 4))
        await pf.config_write_byte(pci_cfg + 4, bar)
        await pf.config_write_dword(pci_cfg + 8, off)
        await pf.config_write_word(pci_cfg + 12, length)
        await pf.config_write_word(pci_cfg + 14, 0xABCD)
        await pf.config_write_byte(pci_cfg + 5, 0x77)          # cap.id: read-only
        await pf.config_write_dword(pci_cfg + 16, 0x1234_5678)  # pci_cfg_data: window not implemented
        shadow[f] = (bar, off, length | 0xABCD << 16)
    for f, pf in tb.pf.items():
        bar, off, length = shadow[f]
        raw = await pf.config_read(pci_cfg, 20)
        got = (raw[4], int.from_bytes(raw[8:12], "little"), int.from_bytes(raw[12:16], "little"))
        assert got == (bar, off, length), f"{now()}: fn {f} PCI_CFG bar/offset/length: expected {shadow[f]}, got {got}"
        assert raw[5] == 0 and raw[16:20] == bytes(4), f"{now()}: fn {f}: id {raw[5]}, pci_cfg_data {raw[16:20].hex()}"
        assert raw[0:4] == bytes([0x09, 0, 20, 5]), f"{now()}: fn {f}: PCI_CFG header {raw[0:4].hex()}"
    await tb.pf[0].config_write_word(0x04, 0x0006)     # config writes outside the window still reach the model
    assert await tb.pf[0].config_read_word(0x04) & 0x7 == 0x6
    assert not tb.dev.cfg_ext.errors, tb.dev.cfg_ext.errors
