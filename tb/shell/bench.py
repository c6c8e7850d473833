"""The bench for vio_shell_top: the PCIe shell seen from a real host.

cocotbext-pcie's root complex plays the host (enumeration, config space, BAR
accesses, host memory, MSI-X vectors); our subclass of its UltraScale+ model
is the hard block; the bench itself plays the DMA client inside the device
(descriptors, buffer RAM, interrupt requests). Every upstream TLP goes through
the HostMonitor, which enforces MPS/MRRS/4 KiB rules and memory grants.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event, ReadOnly, RisingEdge, Timer
from cocotbext.axi import AxiStreamBus
from cocotbext.axi.stream import define_stream
from cocotbext.pcie.core import RootComplex

from tb.pcie.host_monitor import HostMonitor
from tb.pcie.usp_device import VioUltraScalePlusPcieDevice

DescBus, DescTransaction, DescSource, DescSink, DescMonitor = define_stream(
    "Desc", signals=["func", "pcie_addr", "ram_addr", "len", "tag", "valid", "ready"]
)
StatusBus, StatusTransaction, StatusSource, StatusSink, StatusMonitor = define_stream(
    "DescStatus", signals=["tag", "error", "valid"]
)
IrqBus, IrqTransaction, IrqSource, IrqSink, IrqMonitor = define_stream(
    "Irq", signals=["func", "vec", "valid", "ready"]
)

# BAR0 map of every function (hdl/vio_pcie_shell.sv)
BAR0_SIZE = 32 * 1024
APP_BASE, APP_SIZE = 0x0000, 0x2000
MSIX_TABLE, MSIX_PBA = 0x2000, 0x3000
DIAG = 0x4000
DIAG_ID, DIAG_SCRATCH = 0x00, 0x0C
DIAG_UNMAPPED_RD, DIAG_UNMAPPED_WR, DIAG_UNMAPPED_AT = 0x10, 0x14, 0x18
DIAG_DMA_RD_ERR, DIAG_DMA_WR_ERR, DIAG_DMA_RD_LAST = 0x20, 0x24, 0x28
DIAG_IRQ_SENT, DIAG_IRQ_PEND, DIAG_IRQ_DROP = 0x30, 0x34, 0x38
SHELL_ID = 0x56494F31

# DMA status codes (hdl/vio_pkg.sv)
DMA_OK, DMA_ERR_UR, DMA_ERR_CA, DMA_ERR_POISON, DMA_ERR_TIMEOUT, DMA_ERR_CPL, DMA_ERR_BME = range(7)
DMA_ERR_NAMES = {0: "OK", 1: "UR", 2: "CA", 3: "POISON", 4: "TIMEOUT", 5: "CPL", 6: "BME", 7: "FLR"}

VIRTIO_VENDOR = 0x1AF4
VIRTIO_DEVICE = {0: 0x1041, 1: 0x1042}  # PF0 net, PF1 blk (modern IDs, reference/virtio.md §3.1)


@dataclass
class DmaResult:
    tag: int
    error: int
    time_ns: float


class ShellBench:
    """Clock, reset, host, hard-block model and DMA-client drivers for vio_shell_top."""

    def __init__(self, dut, mps: int = 256, mrrs: int = 512) -> None:
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.num_func = int(dut.NUM_FUNC.value)
        self.msix_vec = int(dut.MSIX_VEC.value)
        self.ram_size = 1 << int(dut.RAM_ADDR_W.value)

        self.rc = RootComplex()
        msix = {}
        for f in range(self.num_func):
            msix.update({
                f"pf{f}_msix_enable": True,
                f"pf{f}_msix_table_size": self.msix_vec - 1,
                f"pf{f}_msix_table_bir": 0,
                f"pf{f}_msix_table_offset": MSIX_TABLE,
                f"pf{f}_msix_pba_bir": 0,
                f"pf{f}_msix_pba_offset": MSIX_PBA,
            })
        self.dev = VioUltraScalePlusPcieDevice(
            pcie_generation=3,
            pcie_link_width=16,
            user_clk_frequency=250e6,
            alignment="dword",
            pf_count=self.num_func,
            max_payload_size=1024,
            enable_client_tag=True,
            enable_extended_tag=False,
            **msix,
            user_clk=dut.clk,
            user_reset=dut.rst,
            rq_bus=AxiStreamBus.from_prefix(dut, "m_axis_rq"),
            rc_bus=AxiStreamBus.from_prefix(dut, "s_axis_rc"),
            cq_bus=AxiStreamBus.from_prefix(dut, "s_axis_cq"),
            cc_bus=AxiStreamBus.from_prefix(dut, "m_axis_cc"),
            pcie_cq_np_req=dut.pcie_cq_np_req,
            cfg_max_payload=dut.cfg_max_payload,
            cfg_max_read_req=dut.cfg_max_read_req,
            cfg_function_status=dut.cfg_function_status,
            cfg_interrupt_msix_enable=dut.cfg_interrupt_msix_enable,
            cfg_interrupt_msix_mask=dut.cfg_interrupt_msix_mask,
        )
        self.dev.log.setLevel(logging.WARNING)
        self.rc.log.setLevel(logging.WARNING)
        for f, fn in enumerate(self.dev.functions):
            fn.vendor_id = VIRTIO_VENDOR
            fn.device_id = VIRTIO_DEVICE.get(f, 0x1041)
            fn.configure_bar(0, BAR0_SIZE, ext=True)
        self.rc.make_port().connect(self.dev)

        self.mps, self.mrrs = mps, mrrs
        self.host = HostMonitor(self.rc, mps=lambda: self.mps, mrrs=lambda: self.mrrs)

        self.rd_desc = DescSource(DescBus.from_prefix(dut, "s_axis_rd_desc"), dut.clk, dut.rst)
        self.wr_desc = DescSource(DescBus.from_prefix(dut, "s_axis_wr_desc"), dut.clk, dut.rst)
        self.rd_status = StatusSink(StatusBus.from_prefix(dut, "m_axis_rd_desc_status"), dut.clk, dut.rst)
        self.wr_status = StatusSink(StatusBus.from_prefix(dut, "m_axis_wr_desc_status"), dut.clk, dut.rst)
        self.irq = IrqSource(IrqBus.from_prefix(dut, "s_axis_irq"), dut.clk, dut.rst)
        for port in (self.rd_desc, self.wr_desc, self.rd_status, self.wr_status, self.irq):
            port.log.setLevel(logging.WARNING)

        dut.buf_rd_en.value = 0
        dut.buf_rd_addr.value = 0
        dut.buf_wr_en.value = 0
        dut.buf_wr_addr.value = 0
        dut.buf_wr_be.value = 0
        dut.buf_wr_data.value = 0

        self._next_tag = 0
        self._waiters: dict[tuple[str, int], Event] = {}
        self._results: dict[tuple[str, int], DmaResult] = {}
        cocotb.start_soon(self._collect(self.rd_status, "rd"))
        cocotb.start_soon(self._collect(self.wr_status, "wr"))

        self.pf = []
        self.bar = []
        self.mem = None
        self.mem_base = 0

    # ------------------------------------------------------------ bring-up
    async def init(self, host_mem: int = 1 << 20) -> None:
        """Reset, enumerate, enable memory + bus mastering, allocate host memory."""
        await RisingEdge(self.dut.clk)
        await Timer(200, "ns")
        await self.rc.enumerate()
        self.pf = [self.rc.find_device(fn.pcie_id) for fn in self.dev.functions]
        for pf in self.pf:
            await pf.enable_device()
            await pf.set_master()
        self.bar = [pf.bar_window[0] for pf in self.pf]
        await self.set_mps_mrrs(self.mps, self.mrrs)
        self.mem = self.rc.mem_pool.alloc_region(host_mem)
        self.mem_base = self.mem.get_absolute_address(0)

    async def set_mps_mrrs(self, mps: int, mrrs: int) -> None:
        """Program Max Payload / Max Read Request Size like a host would (device control).

        The root port gets the same MPS (Linux keeps it uniform along the
        path), so its read completions are up to MPS bytes long.
        """
        self.rc.max_payload_size = (mps // 128).bit_length() - 1
        for pf in self.pf:
            await pf.set_mps((mps // 128).bit_length() - 1)
            await pf.set_readrq((mrrs // 128).bit_length() - 1)
        self.mps, self.mrrs = mps, mrrs
        for _ in range(4):
            await RisingEdge(self.dut.clk)

    # ------------------------------------------------------------ DMA client
    async def _collect(self, sink, kind: str) -> None:
        while True:
            st = await sink.recv()
            key = (kind, int(st.tag))
            self._results[key] = DmaResult(int(st.tag), int(st.error), get_sim_time("ns"))
            ev = self._waiters.get(key)
            if ev is not None:
                ev.set()

    def _tag(self) -> int:
        tag = self._next_tag
        self._next_tag = (self._next_tag + 1) & 0xFF
        return tag

    async def dma_submit(self, kind: str, func: int, pcie_addr: int, ram_addr: int, length: int) -> int:
        """Queue one descriptor; returns its tag (wait with dma_wait)."""
        tag = self._tag()
        key = (kind, tag)
        self._results.pop(key, None)
        self._waiters[key] = Event()
        src = self.rd_desc if kind == "rd" else self.wr_desc
        await src.send(DescTransaction(func=func, pcie_addr=pcie_addr, ram_addr=ram_addr, len=length, tag=tag))
        return tag

    async def dma_wait(self, kind: str, tag: int, timeout_us: float = 2000) -> DmaResult:
        key = (kind, tag)
        ev = self._waiters[key]
        if not ev.is_set():
            await cocotb.triggers.with_timeout(ev.wait(), timeout_us, "us")
        del self._waiters[key]
        return self._results.pop(key)

    async def dma_read(self, func: int, pcie_addr: int, ram_addr: int, length: int) -> DmaResult:
        return await self.dma_wait("rd", await self.dma_submit("rd", func, pcie_addr, ram_addr, length))

    async def dma_write(self, func: int, pcie_addr: int, ram_addr: int, length: int) -> DmaResult:
        return await self.dma_wait("wr", await self.dma_submit("wr", func, pcie_addr, ram_addr, length))

    # ------------------------------------------------------------ buffer RAM ports
    async def buf_write(self, ram_addr: int, data: bytes) -> None:
        """Write bytes into the DMA write buffer through its client port."""
        dut = self.dut
        pos = 0
        while pos < len(data):
            row, off = divmod(ram_addr + pos, 64)
            n = min(64 - off, len(data) - pos)
            dut.buf_wr_en.value = 1
            dut.buf_wr_addr.value = row
            dut.buf_wr_be.value = ((1 << n) - 1) << off
            dut.buf_wr_data.value = int.from_bytes(bytes(off) + data[pos:pos + n] + bytes(64 - off - n), "little")
            await RisingEdge(dut.clk)
            pos += n
        dut.buf_wr_en.value = 0

    async def buf_read(self, ram_addr: int, length: int) -> bytes:
        """Read bytes from the DMA read buffer through its client port."""
        dut = self.dut
        out = bytearray()
        first, last = ram_addr // 64, (ram_addr + length - 1) // 64
        for row in range(first, last + 1):
            dut.buf_rd_en.value = 1
            dut.buf_rd_addr.value = row
            await RisingEdge(dut.clk)
            await ReadOnly()
            out += int(dut.buf_rd_data.value).to_bytes(64, "little")
            await RisingEdge(dut.clk)
            dut.buf_rd_en.value = 0
        off = ram_addr - first * 64
        return bytes(out[off:off + length])

    # ------------------------------------------------------------ interrupts
    async def fire_irq(self, func: int, vec: int) -> None:
        await self.irq.send(IrqTransaction(func=func, vec=vec))

    async def diag(self, reg: int, func: int = 0) -> int:
        return await self.bar[func].read_dword(DIAG + reg)

    async def idle(self, cycles: int) -> None:
        for _ in range(cycles):
            await RisingEdge(self.dut.clk)

    def check_host(self) -> None:
        assert not self.host.violations, "host-side violations:\n" + "\n".join(self.host.violations)
