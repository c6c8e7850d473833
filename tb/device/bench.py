"""The bench for vio_device_top: a host with virtio-blk drivers, a disk, and the golden model.

* host: cocotbext-pcie's RootComplex + our UltraScale+ subclass with the
  cfg_ext window (virtio capabilities served by the RTL);
* HostMonitor checks every upstream TLP (MPS/MRRS/4 KiB, per-function
  memory grants: each function gets its own host memory region) and taps
  DMA bytes and MSI-X messages into the scoreboard;
* DiskBackend plays the storage engine on the backend port, over an image
  file per blk function; the golden model gets its own copy of each image;
* the network port: every frame on m_axis_tx goes to the scoreboard (from the
  function in its tuser), frames are sent into s_axis_rx with :meth:`rx_send`;
* the management port: the real firmware (firmware/, host build) runs in a
  thread against it (:meth:`start_firmware`, tb/fw_host.py), serving the
  control queue and provisioning the net functions;
* the driver model (tb/device/virtio_pci.py) brings each function up as
  Linux would and posts requests; every register access and host memory
  write is reported to the scoreboard, which is pymodel's Checker;
* SR-IOV (the default build, tb/device/config.py FUNCS): the hard-block
  model carries the SR-IOV and ARI capabilities and creates the VFs on VF
  Enable (tb/pcie/sriov.py); :meth:`enable_vfs` does what the PF driver's
  sriov_configure does, then gives each VF its own host memory region,
  grant and driver instance (a VF is probed like any virtio function);
  :meth:`flr` runs a Function Level Reset through the hard block's
  handshake and tells the checker. ``rq_log`` records every request the RTL
  puts on RQ (as the hard block receives it, before the model's BME filter)
  with its requester function: the "no DMA after FLR / VF disable" checks
  read it.
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge, Timer
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from cocotbext.pcie.core import RootComplex
from cocotbext.pcie.core.pci import PciDevice

from pymodel.disk import SECTOR, Disk
from pymodel.memory import BumpAllocator
from tb.device.backend import DiskBackend
from tb.device.config import CLASSIC, FUNCS, MSIX_VEC, function_config, num_pf, serial_bits
from tb.device.scoreboard import Scoreboard
from tb.device.virtio_pci import BlkDriver, HostMem, VirtioPciDevice
from tb.pcie.host_monitor import HostMonitor
from tb.pcie.sriov import SriovConfig, VfBar, function_level_reset, sriov_disable, sriov_enable
from tb.pcie.usp_device import VioUltraScalePlusPcieDevice
from tb.util import now

BAR0_SIZE = 32 * 1024
MSIX_TABLE, MSIX_PBA = 0x2000, 0x3000
CAP_BASE = 0xA8
HOST_MEM_PER_FUNC = 64 << 20     # the driver model never frees (bump allocation): room for long soaks
HOST_MEM_PER_VF = 4 << 20        # a VF's region (allocated at each VF Enable)


class DeviceBench:
    """Clock, reset, host, hard-block model, disks, scoreboard and drivers of vio_device_top."""

    def __init__(self, dut, mps: int = 256, mrrs: int = 512, backend_latency: tuple[int, int] = (0, 0)) -> None:
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.num_func = int(dut.NUM_FUNC.value)
        self.num_pf = int(dut.NUM_PF.value)
        self.msix_vec = MSIX_VEC
        self.sriov = self.num_func == len(FUNCS) and self.num_pf == num_pf(FUNCS)
        self.funcs = FUNCS if self.sriov else CLASSIC
        assert len(self.funcs) == self.num_func and num_pf(self.funcs) == self.num_pf, (
            f"the RTL build ({self.num_func} functions, {self.num_pf} PFs) is neither tb/device/config.py FUNCS nor CLASSIC")
        self.blk_fids = [f for f, fc in enumerate(self.funcs) if not fc.is_net]
        self.net_fids = [f for f, fc in enumerate(self.funcs) if fc.is_net]
        self.log.info("seed %d", cocotb.RANDOM_SEED)

        self.rc = RootComplex()
        msix = {}
        for f in range(self.num_pf):
            msix.update({f"pf{f}_msix_enable": True, f"pf{f}_msix_table_size": MSIX_VEC - 1,
                         f"pf{f}_msix_table_bir": 0, f"pf{f}_msix_table_offset": MSIX_TABLE,
                         f"pf{f}_msix_pba_bir": 0, f"pf{f}_msix_pba_offset": MSIX_PBA})
        self.dev = VioUltraScalePlusPcieDevice(
            pcie_generation=3, pcie_link_width=16, user_clk_frequency=250e6, alignment="dword",
            pf_count=self.num_pf, max_payload_size=1024, enable_client_tag=True, enable_extended_tag=False,
            **msix,
            user_clk=dut.clk, user_reset=dut.rst,
            rq_bus=AxiStreamBus.from_prefix(dut, "m_axis_rq"),
            rc_bus=AxiStreamBus.from_prefix(dut, "s_axis_rc"),
            cq_bus=AxiStreamBus.from_prefix(dut, "s_axis_cq"),
            cc_bus=AxiStreamBus.from_prefix(dut, "m_axis_cc"),
            pcie_cq_np_req=dut.pcie_cq_np_req,
            cfg_max_payload=dut.cfg_max_payload, cfg_max_read_req=dut.cfg_max_read_req,
            cfg_function_status=dut.cfg_function_status,
            cfg_interrupt_msix_enable=dut.cfg_interrupt_msix_enable,
            cfg_interrupt_msix_mask=dut.cfg_interrupt_msix_mask,
            cfg_vf_status=dut.cfg_vf_status,
            cfg_interrupt_msix_vf_enable=dut.cfg_interrupt_msix_vf_enable,
            cfg_interrupt_msix_vf_mask=dut.cfg_interrupt_msix_vf_mask,
            cfg_flr_in_process=dut.cfg_flr_in_process, cfg_flr_done=dut.cfg_flr_done,
            cfg_vf_flr_in_process=dut.cfg_vf_flr_in_process, cfg_vf_flr_func_num=dut.cfg_vf_flr_func_num,
            cfg_vf_flr_done=dut.cfg_vf_flr_done,
            sriov=[SriovConfig(total_vfs=fc.total_vfs, vf_device_id=fc.device_id, vf_bars=[VfBar(BAR0_SIZE)],
                               msix_table_size=MSIX_VEC - 1, msix_table_bir=0, msix_table_offset=MSIX_TABLE,
                               msix_pba_bir=0, msix_pba_offset=MSIX_PBA) if fc.total_vfs else None
                   for fc in self.funcs[: self.num_pf]] if self.sriov else None,
        )
        self.dev.log.setLevel(logging.WARNING)
        self.rc.log.setLevel(logging.WARNING)
        for f, fn in enumerate(self.dev.functions[: self.num_pf]):
            fn.vendor_id = 0x1AF4
            fn.device_id = self.funcs[f].device_id    # modern virtio-net 0x1041 / -blk 0x1042 (virtio.md §3.1)
            fn.configure_bar(0, BAR0_SIZE, ext=True)
        self.dev.enable_cfg_ext(dut, start=CAP_BASE)
        self.rc.make_port().connect(self.dev)

        self.mps, self.mrrs = mps, mrrs
        self.host = HostMonitor(self.rc, mps=lambda: self.mps, mrrs=lambda: self.mrrs)

        # disks: the device's (image files in the test directory) and the model's (copies)
        self.disks: dict[int, Disk] = {}
        model_disks: dict[int, Disk] = {}
        for f in self.blk_fids:
            fc = self.funcs[f]
            path = Path(os.getcwd()) / f"disk{f}.img"
            path.unlink(missing_ok=True)
            disk = Disk(fc.capacity, path=path)
            rnd = random.Random(f * 7919 + cocotb.RANDOM_SEED)
            disk.write(0, rnd.randbytes(fc.capacity * SECTOR))
            self.disks[f] = disk
            model_disks[f] = Disk(image=bytearray(disk.read(0, disk.capacity)))
        dut.blk_capacity.value = sum(self.funcs[f].capacity << (64 * f) for f in self.blk_fids)
        dut.blk_serial.value = serial_bits(self.funcs)

        self.sb = Scoreboard({f: function_config(fc, model_disks.get(f)) for f, fc in enumerate(self.funcs)})
        self.host.dma_taps.append(self.sb.on_dma)
        self.host.msix_taps.append(self.sb.on_msix)
        self.host.msix_taps.append(self._route_msix)
        self.backend = DiskBackend(dut, self.disks, self.sb.on_backend, backend_latency)

        # network port and management port
        self.tx_sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_tx"), dut.clk, dut.rst)
        self.rx_source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_rx"), dut.clk, dut.rst)
        self.tx_sink.log.setLevel(logging.WARNING)
        self.rx_source.log.setLevel(logging.WARNING)
        self.tx_frames: dict[int, list[tuple[int, bytes]]] = {f: [] for f in self.net_fids}  # fid -> (queue, frame)
        self.fw = None        # FirmwareHost once started (it owns the management port's AXI-lite master)
        cocotb.start_soon(self._tx_monitor())

        self.pf: dict[int, PciDevice] = {}     # fid -> the host's view (a PF's enumerated device, a VF's handle)
        self.bar: dict[int, object] = {}       # fid -> BAR0 window
        self.vf_handles: dict[int, object] = {}
        self.rq_log: list[tuple[float, int, int]] = []   # (ns, requester fn, request type)
        self._tap_rq()
        self.drv: dict[int, VirtioPciDevice] = {}
        self.mem: dict[int, HostMem] = {}

    # ------------------------------------------------------------ bring-up
    async def init(self) -> None:
        """Reset, enumerate, MPS/MRRS, bus mastering, one host memory region and driver per function."""
        await RisingEdge(self.dut.clk)
        await Timer(200, "ns")
        await self.rc.enumerate()
        self.pf = {f: self.rc.find_device(fn.pcie_id) for f, fn in enumerate(self.dev.functions[: self.num_pf])}
        self.rc.max_payload_size = (self.mps // 128).bit_length() - 1
        for pf in self.pf.values():
            await pf.enable_device()
            await pf.set_master()
            await pf.set_mps((self.mps // 128).bit_length() - 1)
            await pf.set_readrq((self.mrrs // 128).bit_length() - 1)
        self.bar = {f: pf.bar_window[0] for f, pf in self.pf.items()}
        for f in range(self.num_pf):
            region = self.rc.mem_pool.alloc_region(HOST_MEM_PER_FUNC)
            mem = HostMem(region, self.sb.host_write)
            self.mem[f] = mem
            self.host.grant(f, mem.base, mem.size)
            self.drv[f] = VirtioPciDevice(self, f, mem, BumpAllocator(mem.base, mem.base + mem.size))
        cocotb.start_soon(self._deadlines())

    # ------------------------------------------------------------ SR-IOV
    async def enable_vfs(self, pf: int, num_vfs: int) -> list[int]:
        """sriov_configure: NumVFs + VF Enable on PF ``pf``; each VF gets memory, a grant and a driver."""
        handles = await sriov_enable(self.rc, self.pf[pf].pcie_id, num_vfs, bus_master=True)
        fids = []
        for h in handles:
            fid = h.fn
            assert not self.funcs[fid].is_vf or self.funcs[fid].parent == pf, f"fn {fid} is not a VF of PF{pf}"
            if fid in self.sb.draining:            # disabled earlier: its model restarts now
                self.sb.flr_end(fid)
            d = PciDevice(None, rc=self.rc)
            d._pcie_id = h.pcie_id
            d.vendor_id, d.device_id = 0x1AF4, self.funcs[fid].device_id
            await d.walk_capabilities()
            d.bar_window[0] = h.bar_window[0]
            d.bar_addr[0], d.bar_size[0] = h.bar_addr[0], h.bar_size[0]
            self.pf[fid], self.bar[fid], self.vf_handles[fid] = d, h.bar_window[0], h
            if fid not in self.mem:
                region = self.rc.mem_pool.alloc_region(HOST_MEM_PER_VF)
                mem = HostMem(region, self.sb.host_write)
                self.mem[fid] = mem
                self.host.grant(fid, mem.base, mem.size)
            mem = self.mem[fid]
            self.drv[fid] = VirtioPciDevice(self, fid, mem, BumpAllocator(mem.base, mem.base + mem.size))
            fids.append(fid)
        return fids

    async def disable_vfs(self, pf: int) -> list[int]:
        """VF Enable cleared: the VFs vanish (the checker resets their models, as for an FLR)."""
        gone = [f for f, fc in enumerate(self.funcs) if fc.parent == pf and f in self.vf_handles]
        for f in gone:
            self.sb.flr_begin(f)
        await sriov_disable(self.rc, self.pf[pf].pcie_id)
        for f in gone:
            del self.vf_handles[f], self.pf[f], self.bar[f], self.drv[f]
        return gone

    async def flr(self, fid: int) -> float:
        """Function Level Reset of ``fid`` through the hard block; returns the time it completed (ns)."""
        self.sb.flr_begin(fid)
        rec = await function_level_reset(self.rc, self.dev, self.pf[fid].pcie_id)
        assert rec is not None and rec.ok, f"{now()}: fn {fid}: FLR did not complete ({rec})"
        self.sb.flr_end(fid)
        # pci_restore_state: the FLR cleared the command register (memory space for a PF, bus mastering)
        cmd = await self.rc.config_read_word(self.pf[fid].pcie_id, 0x04)
        await self.rc.config_write_word(self.pf[fid].pcie_id, 0x04, cmd | (0x4 if fid >= self.num_pf else 0x6))
        drv = self.drv.get(fid)
        if drv is not None:            # the driver starts over (virtio caps stay; MSI-X must be set up again)
            self.pf[fid].msix_enabled = False
            drv.vqs.clear()
        return get_sim_time("ns")

    def _tap_rq(self) -> None:
        """Log every RQ request the hard block receives from the RTL (no per-clock work: the model's
        own RQ sink is wrapped; descriptor DW2 holds the request type and the requester ID)."""
        sink = self.dev.rq_sink
        recv = sink.recv

        async def logged_recv(*args, **kwargs):
            frame = await recv(*args, **kwargs)
            dw2 = frame.data[2]
            self.rq_log.append((get_sim_time("ns"), (dw2 >> 16) & 0xFF, (dw2 >> 11) & 0xF))
            return frame

        sink.recv = logged_recv  # type: ignore[method-assign]

    def rq_since(self, fid: int, t_ns: float) -> list[tuple[float, int, int]]:
        """RQ requests of ``fid`` the RTL issued at or after ``t_ns``."""
        return [r for r in self.rq_log if r[1] == fid and r[0] >= t_ns]

    # ------------------------------------------------------------ network port
    async def _tx_monitor(self) -> None:
        """Every frame leaving the device goes to the scoreboard, attributed by tuser {queue, func}."""
        while True:
            fr = await self.tx_sink.recv()
            user = fr.tuser[0] if isinstance(fr.tuser, list) else fr.tuser
            user = int(user or 0)
            fid, vq = user & 0xFF, user >> 8
            data = bytes(fr.tdata)
            self.tx_frames.setdefault(fid, []).append((vq, data))
            self.sb.on_tx_packet(fid, data)

    async def rx_send(self, fid: int, frame: bytes, hint: int = 0) -> None:
        """Send ``frame`` from the wire to function ``fid`` (pair hint ``hint``), telling the scoreboard first."""
        self.sb.on_rx_inject(fid, frame)
        await self.rx_source.send(AxiStreamFrame(frame, tuser=(hint & 0xFF) << 8 | fid))

    async def set_link(self, fid: int, up: bool) -> None:
        """The firmware changes the link state (vio_fw_set_link in its thread); the checker is told first."""
        self.sb.on_link(fid, up)
        await self.fw.call(lambda lib, fw: lib.vio_fw_set_link(fw, fid, int(up)))

    async def rx_drain(self) -> None:
        """Wait until the RX source has handed every frame to the device."""
        await self.rx_source.wait()

    # ------------------------------------------------------------ firmware
    async def start_firmware(self, link_up: bool = True) -> None:
        """Boot the real firmware against the management port; provisioning raises LINK_UP (a link change)."""
        from tb.fw_host import BoardFunc, FirmwareHost

        board = [BoardFunc(mac=fc.mac or bytes(6), max_pairs=max(fc.max_pairs, 1), link_up=link_up, is_net=fc.is_net,
                           is_vf=fc.is_vf)
                 for fc in self.funcs]
        self.fw = FirmwareHost(self.dut, board, axil_prefix="s_axil_mgmt", irq="mgmt_irq", time_us="mgmt_time_us")
        self.fw.start()
        await self.fw.booted()
        for f in self.net_fids:
            if link_up:
                self.sb.on_link(f, True)

    def _route_msix(self, msg) -> None:
        d = self.drv.get(msg.func)
        if d is not None:
            d.on_msix(msg.data)

    async def _deadlines(self) -> None:
        while True:
            await Timer(5, "us")
            self.sb.check_deadlines()

    async def idle(self, cycles: int) -> None:
        for _ in range(cycles):
            await RisingEdge(self.dut.clk)

    def blk(self, f: int, **kw) -> BlkDriver:
        return BlkDriver(self.drv[f], **kw)

    # ------------------------------------------------------------ IO helpers
    async def complete_all(self, blk: BlkDriver, timeout_us: float = 2000, use_irq: bool = True) -> None:
        """Wait until every request of ``blk`` is back (interrupt-driven like virtblk_done)."""
        dev = blk.dev
        waited = 0.0
        while blk.inflight:
            queues = sorted({vq for vq, _ in blk.inflight})
            progressed = False
            for vq in queues:
                ring = dev.vqs[vq].ring
                ring.disable_cb()
                if blk.reap(vq):
                    progressed = True
                if not ring.enable_cb_delayed():
                    blk.reap(vq)
                    progressed = True
            if not blk.inflight:
                break
            if progressed:
                continue
            step = 20.0
            if use_irq:
                if await dev.wait_any_irq(sorted({dev.vqs[vq].vector for vq in queues}), step) is not None:
                    progressed = True
            else:
                await Timer(round(step), "us")
            waited += step
            if waited > timeout_us and not progressed:
                left = sorted((vq, r.id, r.type, r.sector) for (vq, _), r in blk.inflight.items())
                raise AssertionError(f"{now()}: fn {dev.fid}: {len(left)} request(s) not completed within "
                                     f"{timeout_us} us: (vq, id, type, sector) {left[:8]}")

    async def finish(self) -> None:
        """Let the device settle, then the scoreboard's final checks."""
        await self.idle(2000)
        if self.fw is not None:
            await self.fw.stop()
        assert not self.host.violations, "host-side violations:\n" + "\n".join(self.host.violations)
        self.sb.finish()
        self.log.info("host TLPs: %s", dict(self.host.counts))
