"""Shell tests through the root complex: enumeration, BAR access, DMA, MSI-X.

Each test reads like the scenario it checks. Expected values come from the
host's memory image, a shadow of what was written, or the spec — never from
the device.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.simtime import get_sim_time
from cocotbext.pcie.core.pci import PciCapId

from tb.pcie.usp_device import FAULT_CA, FAULT_DROP, FAULT_POISON
from tb.shell.bench import (
    APP_SIZE, BAR0_SIZE, DIAG, DIAG_DMA_RD_ERR, DIAG_DMA_RD_LAST, DIAG_ID, DIAG_IRQ_DROP,
    DIAG_IRQ_PEND, DIAG_IRQ_SENT, DIAG_SCRATCH, DIAG_UNMAPPED_AT, DIAG_UNMAPPED_RD,
    DIAG_UNMAPPED_WR, DMA_ERR_BME, DMA_ERR_CA, DMA_ERR_NAMES, DMA_ERR_POISON, DMA_ERR_TIMEOUT,
    DMA_ERR_UR, DMA_OK, MSIX_PBA, MSIX_TABLE, SHELL_ID, VIRTIO_DEVICE, VIRTIO_VENDOR, ShellBench,
)
from tb.util import now



def first_diff(exp: bytes, act: bytes) -> str:
    for i, (e, a) in enumerate(zip(exp, act)):
        if e != a:
            return f"first difference at byte {i}: expected {e:#04x}, actual {a:#04x}"
    return f"length expected {len(exp)}, actual {len(act)}"


async def start(dut, **kw) -> ShellBench:
    tb = ShellBench(dut, **kw)
    tb.log.info("seed %d", cocotb.RANDOM_SEED)
    await tb.init()
    return tb


# ---------------------------------------------------------------- enumeration

@cocotb.test()
async def test_enumeration(dut):
    """The host finds every function with virtio IDs, a 32 KiB 64-bit BAR0 and MSI-X at the shell's offsets."""
    tb = await start(dut)
    assert len(tb.pf) == tb.num_func, f"{now()}: found {len(tb.pf)} functions, expected {tb.num_func}"
    for f, pf in enumerate(tb.pf):
        assert pf.vendor_id == VIRTIO_VENDOR and pf.device_id == VIRTIO_DEVICE[f], \
            f"{now()}: fn {f} IDs {pf.vendor_id:#06x}:{pf.device_id:#06x}"
        assert pf.bar_window[0] is not None and pf.bar_window[0].size == BAR0_SIZE, f"fn {f}: BAR0 size"
        ctrl = await pf.capability_read_dword(PciCapId.MSIX, 0)
        table = await pf.capability_read_dword(PciCapId.MSIX, 4)
        pba = await pf.capability_read_dword(PciCapId.MSIX, 8)
        assert ((ctrl >> 16) & 0x7FF) + 1 == tb.msix_vec, f"fn {f}: MSI-X table size {((ctrl >> 16) & 0x7FF) + 1}"
        assert table == MSIX_TABLE and pba == MSIX_PBA, f"fn {f}: MSI-X table {table:#x} PBA {pba:#x}"
        assert await tb.diag(DIAG_ID, f) == SHELL_ID, f"fn {f}: shell ID register"


# ---------------------------------------------------------------- BAR access

@cocotb.test()
async def test_bar_widths_and_byte_enables(dut):
    """Writes of 1/2/4/8 bytes at every alignment land exactly; reads of every width return the shadow."""
    tb = await start(dut)
    for f in range(tb.num_func):
        base = 0x100 * (f + 1)
        shadow = bytearray(await tb.bar[f].read(base, 64))
        for width in (1, 2, 4, 8):
            for align in range(8):
                off = base + 16 + align
                data = bytes(random.randrange(256) for _ in range(width))
                await tb.bar[f].write(off, data)
                shadow[off - base:off - base + width] = data
                got = await tb.bar[f].read(off, width)
                assert got == data, f"{now()}: fn {f} BAR0+{off:#x} width {width}: wrote {data.hex()}, read {got.hex()}"
        got = await tb.bar[f].read(base, 64)
        assert got == bytes(shadow), f"{now()}: fn {f} BAR0+{base:#x}: {first_diff(bytes(shadow), got)}"
    # the functions' windows are separate memories
    a = await tb.bar[0].read(0x100, 64)
    b = await tb.bar[1].read(0x100, 64) if tb.num_func > 1 else a
    if tb.num_func > 1:
        assert a != b or a == bytes(64), f"{now()}: fn 0 and fn 1 application windows alias"


@cocotb.test()
async def test_bar_long_and_random(dut):
    """Random multi-DWORD reads and writes (up to 512 B) of the application window match a shadow."""
    tb = await start(dut)
    shadows = [bytearray(APP_SIZE) for _ in range(tb.num_func)]
    for f in range(tb.num_func):
        await tb.bar[f].write(0, bytes(APP_SIZE))
    for i in range(60):
        f = random.randrange(tb.num_func)
        n = random.choice([1, 3, 5, 16, 63, 64, 65, 128, 255, 256, 511, 512])
        off = random.randrange(APP_SIZE - n)
        if random.random() < 0.5:
            data = random.randbytes(n)
            await tb.bar[f].write(off, data)
            shadows[f][off:off + n] = data
        else:
            got = await tb.bar[f].read(off, n)
            exp = bytes(shadows[f][off:off + n])
            assert got == exp, f"{now()}: op {i} fn {f} read BAR0+{off:#x} len {n}: {first_diff(exp, got)}"


@cocotb.test()
async def test_unmapped_access(dut):
    """Unmapped offsets read 0, writes there are dropped, and both are counted with the last address."""
    tb = await start(dut)
    await tb.bar[0].write_dword(DIAG + DIAG_UNMAPPED_RD, 0)
    await tb.bar[0].write_dword(DIAG + DIAG_UNMAPPED_WR, 0)
    holes = [0x4100, 0x4FFC, 0x5000, 0x7FFC]
    for off in holes:
        await tb.bar[0].write_dword(off, 0xDEADBEEF)
        got = await tb.bar[0].read_dword(off)
        assert got == 0, f"{now()}: fn 0 unmapped BAR0+{off:#x} read {got:#x}, expected 0"
    assert await tb.diag(DIAG_UNMAPPED_WR) == len(holes), f"{now()}: unmapped write count"
    assert await tb.diag(DIAG_UNMAPPED_RD) == len(holes), f"{now()}: unmapped read count"
    at = await tb.diag(DIAG_UNMAPPED_AT)
    assert at == (0 << 24) | (0 << 21) | holes[-1], f"{now()}: last unmapped access {at:#x}"
    # the diagnostics scratch register and the application window still work
    await tb.bar[0].write_dword(DIAG + DIAG_SCRATCH, 0x12345678)
    assert await tb.diag(DIAG_SCRATCH) == 0x12345678, f"{now()}: scratch after unmapped traffic"
    await tb.bar[0].write(0x40, b"\xa5" * 8)
    assert await tb.bar[0].read(0x40, 8) == b"\xa5" * 8, f"{now()}: application window after unmapped traffic"


# ---------------------------------------------------------------- DMA

def _sweep_cases(n_random: int) -> list[tuple[int, int, int]]:
    """(length, host offset, ram offset) with edge lengths and 4 KiB crossings."""
    edges = [1, 2, 3, 4, 5, 63, 64, 65, 127, 128, 129, 4095, 4096, 4097, 8191, 8192]
    cases = []
    for n in edges:
        cases.append((n, random.randrange(4096), random.randrange(64)))
    for _ in range(n_random):
        n = random.randint(1, 8192)
        cases.append((n, 4096 - random.randint(1, min(n, 4096)) if random.random() < 0.5 else random.randrange(4096), random.randrange(4096)))
    return cases


@cocotb.test()
async def test_dma_read_sweep(dut):
    """DMA reads of 1..8192 bytes at random alignments (crossing 4 KiB) fetch exactly the host's bytes."""
    tb = await start(dut)
    tb.mem[0:len(tb.mem)] = random.randbytes(len(tb.mem))
    for i, (n, hoff, roff) in enumerate(_sweep_cases(24)):
        f = i % tb.num_func
        addr = tb.mem_base + 0x10000 + hoff
        g = tb.host.grant(f, addr, n, write=False)
        res = await tb.dma_read(f, addr, roff, n)
        tb.host.revoke(g)
        assert res.error == DMA_OK, f"{now()}: fn {f} read len {n} @{addr:#x}: status {DMA_ERR_NAMES[res.error]}"
        got = await tb.buf_read(roff, n)
        exp = bytes(tb.mem[0x10000 + hoff:0x10000 + hoff + n])
        assert got == exp, f"{now()}: fn {f} read len {n} host @{addr:#x} ram @{roff:#x}: {first_diff(exp, got)}"
    tb.check_host()


@cocotb.test()
async def test_dma_write_sweep(dut):
    """DMA writes of 1..8192 bytes at random alignments land exactly, and nothing around them changes."""
    tb = await start(dut)
    for i, (n, hoff, roff) in enumerate(_sweep_cases(24)):
        f = i % tb.num_func
        region = 0x20000
        tb.mem[region:region + 0x4000] = random.randbytes(0x4000)
        before = bytes(tb.mem[region:region + 0x4000])
        data = random.randbytes(n)
        await tb.buf_write(roff, data)
        addr = tb.mem_base + region + 0x1000 + hoff
        g = tb.host.grant(f, addr, n, read=False)
        res = await tb.dma_write(f, addr, roff, n)
        await tb.idle(50)  # posted: status means sent; let the link deliver
        tb.host.revoke(g)
        assert res.error == DMA_OK, f"{now()}: fn {f} write len {n}: status {DMA_ERR_NAMES[res.error]}"
        exp = bytearray(before)
        exp[0x1000 + hoff:0x1000 + hoff + n] = data
        got = bytes(tb.mem[region:region + 0x4000])
        assert got == bytes(exp), f"{now()}: fn {f} write len {n} host @{addr:#x} ram @{roff:#x}: {first_diff(bytes(exp), got)}"
    tb.check_host()


@cocotb.test()
async def test_dma_many_outstanding(dut):
    """More reads in flight than PCIe tags, mixed with writes, split completions: every byte right."""
    tb = await start(dut, mps=128, mrrs=128)
    tb.rc.split_on_all_rcb = True
    tb.mem[0:0x40000] = random.randbytes(0x40000)
    jobs = []
    for i in range(48):
        n = random.randint(1, 2048)
        hoff = random.randrange(0x38000)
        roff = i * 0x1000 + random.randrange(64)
        f = random.randrange(tb.num_func)
        tb.host.grant(f, tb.mem_base + hoff, n, write=False)
        tag = await tb.dma_submit("rd", f, tb.mem_base + hoff, roff, n)
        jobs.append((tag, f, n, hoff, roff))
    for tag, f, n, hoff, roff in jobs:
        res = await tb.dma_wait("rd", tag)
        assert res.error == DMA_OK, f"{now()}: fn {f} tag {tag}: status {DMA_ERR_NAMES[res.error]}"
    for tag, f, n, hoff, roff in jobs:
        got = await tb.buf_read(roff, n)
        exp = bytes(tb.mem[hoff:hoff + n])
        assert got == exp, f"{now()}: fn {f} tag {tag} len {n} host +{hoff:#x}: {first_diff(exp, got)}"
    tb.check_host()


@cocotb.test()
async def test_dma_mps_mrrs(dut):
    """Every MPS / MRRS the host may set is honoured (checked TLP by TLP by the host monitor)."""
    tb = await start(dut)
    tb.mem[0:0x10000] = random.randbytes(0x10000)
    for mps, mrrs in ((128, 128), (256, 512), (512, 1024), (1024, 4096)):
        await tb.set_mps_mrrs(mps, mrrs)
        n = 8192
        hoff = random.randrange(64)
        g = tb.host.grant(0, tb.mem_base + hoff, n)
        res = await tb.dma_read(0, tb.mem_base + hoff, 0, n)
        assert res.error == DMA_OK, f"{now()}: MRRS {mrrs}: read status {DMA_ERR_NAMES[res.error]}"
        assert await tb.buf_read(0, n) == bytes(tb.mem[hoff:hoff + n]), f"{now()}: MRRS {mrrs}: data"
        data = random.randbytes(n)
        await tb.buf_write(0x100, data)
        res = await tb.dma_write(0, tb.mem_base + hoff, 0x100, n)
        await tb.idle(100)
        assert res.error == DMA_OK, f"{now()}: MPS {mps}: write status {DMA_ERR_NAMES[res.error]}"
        assert bytes(tb.mem[hoff:hoff + n]) == data, f"{now()}: MPS {mps}: {first_diff(data, bytes(tb.mem[hoff:hoff + n]))}"
        tb.host.revoke(g)
    tb.check_host()


async def _good_read_after(tb: ShellBench, what: str) -> None:
    """After an error the engine must still move data."""
    tb.mem[0x100:0x300] = random.randbytes(0x200)
    g = tb.host.grant(0, tb.mem_base + 0x100, 0x200, write=False)
    res = await tb.dma_read(0, tb.mem_base + 0x100, 0x800, 0x200)
    tb.host.revoke(g)
    assert res.error == DMA_OK, f"{now()}: read after {what}: status {DMA_ERR_NAMES[res.error]}"
    got = await tb.buf_read(0x800, 0x200)
    assert got == bytes(tb.mem[0x100:0x300]), f"{now()}: read after {what}: {first_diff(bytes(tb.mem[0x100:0x300]), got)}"


@cocotb.test()
async def test_dma_error_ur(dut):
    """A read of host memory that does not exist ends with DMA_ERR_UR, is counted, and the engine goes on."""
    tb = await start(dut)
    bad = 0x10_0000_0000  # no host region at 64 GiB: the root complex answers UR
    tb.host.grant(0, bad, 256, write=False)
    res = await tb.dma_read(0, bad, 0, 256)
    assert res.error == DMA_ERR_UR, f"{now()}: fn 0 read @{bad:#x}: status {DMA_ERR_NAMES.get(res.error)}, expected UR"
    assert await tb.diag(DIAG_DMA_RD_ERR) == 1, f"{now()}: DMA read error counter"
    assert await tb.diag(DIAG_DMA_RD_LAST) == DMA_ERR_UR, f"{now()}: last DMA read error code"
    await _good_read_after(tb, "UR")


@cocotb.test()
async def test_dma_error_ca(dut):
    """A Completer Abort on one of a transfer's requests fails that transfer with DMA_ERR_CA only."""
    tb = await start(dut)
    tb.mem[0:0x4000] = random.randbytes(0x4000)
    tb.host.grant(0, tb.mem_base, 0x4000, write=False)
    tb.dev.add_cpl_fault(tb.mem_base + 0x1000, tb.mem_base + 0x1200, FAULT_CA, count=1)
    res = await tb.dma_read(0, tb.mem_base, 0, 0x2000)
    assert res.error == DMA_ERR_CA, f"{now()}: read with CA: status {DMA_ERR_NAMES.get(res.error)}, expected CA"
    await _good_read_after(tb, "CA")


@cocotb.test()
async def test_dma_error_poisoned(dut):
    """A poisoned completion fails the transfer with DMA_ERR_POISON."""
    tb = await start(dut)
    tb.mem[0:0x1000] = random.randbytes(0x1000)
    tb.host.grant(0, tb.mem_base, 0x1000, write=False)
    tb.dev.add_cpl_fault(tb.mem_base, tb.mem_base + 0x1000, FAULT_POISON, count=1)
    res = await tb.dma_read(0, tb.mem_base, 0, 0x400)
    assert res.error == DMA_ERR_POISON, f"{now()}: poisoned read: status {DMA_ERR_NAMES.get(res.error)}, expected POISON"
    await _good_read_after(tb, "poisoned completion")


@cocotb.test()
async def test_dma_error_timeout(dut):
    """A read whose completions never come ends with DMA_ERR_TIMEOUT after the timeout, not a hang."""
    tb = await start(dut)
    timeout_cycles = int(dut.CPL_TIMEOUT.value)
    tb.mem[0:0x1000] = random.randbytes(0x1000)
    tb.host.grant(0, tb.mem_base, 0x1000, write=False)
    tb.dev.add_cpl_fault(tb.mem_base, tb.mem_base + 0x1000, FAULT_DROP, count=1)
    t0 = get_sim_time("ns")
    res = await tb.dma_read(0, tb.mem_base, 0, 0x100)
    waited = res.time_ns - t0
    assert res.error == DMA_ERR_TIMEOUT, f"{now()}: dropped completion: status {DMA_ERR_NAMES.get(res.error)}, expected TIMEOUT"
    assert waited >= timeout_cycles * 4, f"{now()}: timed out after {waited} ns, before the {timeout_cycles}-cycle timeout"
    await _good_read_after(tb, "timeout")


@cocotb.test()
async def test_dma_bus_master_disabled(dut):
    """With bus mastering off, DMA is refused at once with DMA_ERR_BME and nothing reaches the link."""
    tb = await start(dut)
    await tb.pf[0].clear_master()
    await tb.idle(4)
    before = dict(tb.host.counts)
    res = await tb.dma_read(0, tb.mem_base, 0, 64)
    assert res.error == DMA_ERR_BME, f"{now()}: read with BME=0: {DMA_ERR_NAMES.get(res.error)}"
    res = await tb.dma_write(0, tb.mem_base, 0, 64)
    assert res.error == DMA_ERR_BME, f"{now()}: write with BME=0: {DMA_ERR_NAMES.get(res.error)}"
    await tb.idle(50)
    assert dict(tb.host.counts) == before, f"{now()}: TLPs sent with bus mastering disabled: {tb.host.counts}"
    await tb.pf[0].set_master()
    await tb.idle(4)
    await _good_read_after(tb, "bus master re-enabled")


@cocotb.test()
async def test_dma_zero_length(dut):
    """A zero-length descriptor completes OK without any TLP."""
    tb = await start(dut)
    before = dict(tb.host.counts)
    assert (await tb.dma_read(0, tb.mem_base, 0, 0)).error == DMA_OK, f"{now()}: zero-length read"
    assert (await tb.dma_write(0, tb.mem_base, 0, 0)).error == DMA_OK, f"{now()}: zero-length write"
    await tb.idle(20)
    assert dict(tb.host.counts) == before, f"{now()}: zero-length DMA sent TLPs"


# ---------------------------------------------------------------- MSI-X

async def _msix_setup(tb: ShellBench) -> None:
    for pf in tb.pf:
        n = await pf.alloc_irq_vectors(tb.msix_vec, tb.msix_vec)
        assert n == tb.msix_vec, f"{now()}: alloc_irq_vectors returned {n}"


async def _expect_messages(tb: ShellBench, expected: list[tuple[int, int]], what: str) -> None:
    """Wait, then compare the MSI-X messages seen by the host with (func, vector) pairs."""
    await tb.idle(60)
    got = [(m.func, m.addr, m.data) for m in tb.host.messages]
    exp = [(f, tb.pf[f].msi_vectors[v].addr, tb.pf[f].msi_vectors[v].data) for f, v in expected]
    tb.host.messages.clear()
    assert got == exp, f"{now()}: {what}: MSI-X messages (func, addr, data) expected {exp}, got {got}"


@cocotb.test()
async def test_msix_delivery(dut):
    """Each function's vectors arrive as the programmed address/data, from that function."""
    tb = await start(dut)
    await _msix_setup(tb)
    seq = [(f, v) for f in range(tb.num_func) for v in (0, 1, tb.msix_vec - 1)]
    for f, v in seq:
        await tb.fire_irq(f, v)
    await _expect_messages(tb, seq, "delivery")
    assert await tb.diag(DIAG_IRQ_SENT) == len(seq), f"{now()}: IRQ_SENT counter"


@cocotb.test()
async def test_msix_vector_mask_pending(dut):
    """A masked vector sets its PBA bit and sends nothing; unmasking sends it once and clears the bit."""
    tb = await start(dut)
    await _msix_setup(tb)
    f, v = tb.num_func - 1, 5
    ctrl = MSIX_TABLE + 16 * v + 12
    await tb.bar[f].write_dword(ctrl, 1)
    assert await tb.bar[f].read_dword(ctrl) == 1, f"{now()}: fn {f} vector {v} control readback"
    await tb.fire_irq(f, v)
    await tb.fire_irq(f, v)
    await _expect_messages(tb, [], "masked vector")
    pba = await tb.bar[f].read_dword(MSIX_PBA)
    assert pba == 1 << v, f"{now()}: fn {f} PBA {pba:#x}, expected bit {v}"
    assert await tb.diag(DIAG_IRQ_PEND) == 2, f"{now()}: IRQ_PEND counter after two masked requests"
    await tb.bar[f].write_dword(ctrl, 0)
    await _expect_messages(tb, [(f, v)], "unmask replays the pending vector once")
    assert await tb.bar[f].read_dword(MSIX_PBA) == 0, f"{now()}: fn {f} PBA not cleared after replay"


@cocotb.test()
async def test_msix_function_mask(dut):
    """Function mask (config space) holds every vector pending; clearing it replays each once."""
    tb = await start(dut)
    await _msix_setup(tb)
    pf = tb.pf[0]
    ctrl = await pf.capability_read_dword(PciCapId.MSIX, 0)
    await pf.capability_write_dword(PciCapId.MSIX, 0, ctrl | 1 << 30)
    await tb.idle(4)
    for v in (2, 3, 40):
        await tb.fire_irq(0, v)
    await _expect_messages(tb, [], "function masked")
    lo, hi = await tb.bar[0].read_dword(MSIX_PBA), await tb.bar[0].read_dword(MSIX_PBA + 4)
    assert (hi << 32 | lo) == (1 << 2 | 1 << 3 | 1 << 40), f"{now()}: PBA {(hi << 32 | lo):#x}"
    await pf.capability_write_dword(PciCapId.MSIX, 0, ctrl & ~(1 << 30))
    await _expect_messages(tb, [(0, 2), (0, 3), (0, 40)], "function unmask replay")


@cocotb.test()
async def test_msix_disabled_and_out_of_range(dut):
    """With MSI-X disabled, or a vector beyond the table, requests are dropped and counted."""
    tb = await start(dut)
    await tb.fire_irq(0, 1)  # MSI-X not enabled yet
    await _msix_setup(tb)
    await tb.fire_irq(0, tb.msix_vec)       # beyond the table
    await tb.fire_irq(0, 2047)
    await _expect_messages(tb, [], "disabled / out of range")
    assert await tb.diag(DIAG_IRQ_DROP) == 3, f"{now()}: IRQ_DROP counter"
    await tb.fire_irq(0, 1)
    await _expect_messages(tb, [(0, 1)], "valid vector after drops")
