"""The storage backend the device's blk engine talks to: a disk model over an image.

Port group of hdl/vio_device_top.sv (a DPU would put its storage engine here):
``m_axis_be_req_*`` (op, func, queue, sector, count, tag), WRITE data on
``m_axis_be_wr`` (one frame of count*512 bytes), READ data on ``s_axis_be_rd``
(one frame), one response per request on ``s_axis_be_rsp_*`` (tag, status).
A request of count 0 has no data frame.

Every operation is reported to the scoreboard as a pymodel
:class:`~pymodel.blk.BackendOp` the moment the request (and, for WRITE, its
data) has arrived. A WRITE frame with tkeep-0 beats is the device aborting
the write (vio_blk_req, after a failed DMA read): nothing is written and no
operation is reported. Every response is status 0: pymodel does not model
backend failures, so they are exercised by the blk engine's focused bench
(tb/blk_req), not here.
"""

from __future__ import annotations

import logging
import random
from typing import Callable, Mapping

import cocotb
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from cocotbext.axi.stream import define_stream

from pymodel.blk import BackendOp, BackendOpKind
from pymodel.disk import SECTOR, Disk
from tb.util import now

BeReqBus, BeReqTransaction, BeReqSource, BeReqSink, BeReqMonitor = define_stream(
    "BeReq", signals=["op", "func", "queue", "sector", "count", "tag", "valid", "ready"]
)
BeRspBus, BeRspTransaction, BeRspSource, BeRspSink, BeRspMonitor = define_stream(
    "BeRsp", signals=["tag", "status", "valid", "ready"]
)

OP_READ, OP_WRITE, OP_FLUSH = 0, 1, 2
OP_NAMES = {OP_READ: "READ", OP_WRITE: "WRITE", OP_FLUSH: "FLUSH"}


class DiskBackend:
    """Disk model agent: one disk per function, optional latency, fault injection."""

    def __init__(self, dut, disks: Mapping[int, Disk], on_op: Callable[[int, BackendOp], None],
                 latency: tuple[int, int] = (0, 0)) -> None:
        self.log = logging.getLogger("cocotb.tb.backend")
        self.disks = disks
        self.on_op = on_op
        self.latency = latency
        self.ops: list[tuple[int, BackendOp]] = []
        self.aborted: list[tuple[int, int, int]] = []
        self.req = BeReqSink(BeReqBus.from_prefix(dut, "m_axis_be_req"), dut.clk, dut.rst)
        self.rsp = BeRspSource(BeRspBus.from_prefix(dut, "s_axis_be_rsp"), dut.clk, dut.rst)
        self.wr = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_be_wr"), dut.clk, dut.rst)
        self.rd = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_be_rd"), dut.clk, dut.rst)
        for p in (self.req, self.rsp, self.wr, self.rd):
            p.log.setLevel(logging.WARNING)
        self.clk = dut.clk
        cocotb.start_soon(self._run())

    def _fail(self, msg: str) -> None:
        raise AssertionError(f"{now()}: backend: {msg}")

    async def _run(self) -> None:
        while True:
            req = await self.req.recv()
            op, func, queue = int(req.op), int(req.func), int(req.queue)
            sector, count, tag = int(req.sector), int(req.count), int(req.tag)
            disk = self.disks.get(func)
            if disk is None:
                self._fail(f"request for function {func}, which has no disk")
            if op == OP_WRITE:
                data = b""
                if count:
                    frame = await self.wr.recv()
                    data = bytes(frame.tdata)       # bytes with tkeep 0 are not in tdata
                    if len(data) > count * SECTOR:
                        self._fail(f"fn {func} vq {queue} WRITE sector {sector} count {count}: "
                                   f"data frame of {len(data)} bytes, expected {count * SECTOR}")
                    if len(data) < count * SECTOR:
                        # tkeep-0 beats: the device aborted the write (its DMA read failed); nothing is
                        # written and no operation happened (a used request without its op is caught
                        # by the scoreboard at the end)
                        self.aborted.append((func, sector, count))
                        self.log.info("fn %d vq %d: WRITE [%d, +%d) aborted by the device", func, queue, sector, count)
                        await self.rsp.send(BeRspTransaction(tag=tag, status=0))
                        continue
                bop = BackendOp(BackendOpKind.WRITE, sector, count, data)
                if not disk.in_range(sector, count):
                    self._fail(f"fn {func} vq {queue}: WRITE [{sector}, +{count}) beyond capacity {disk.capacity}")
                self.ops.append((func, bop))
                self.on_op(func, bop)
                if count:
                    disk.write(sector, data)
            elif op == OP_READ:
                if not disk.in_range(sector, count):
                    self._fail(f"fn {func} vq {queue}: READ [{sector}, +{count}) beyond capacity {disk.capacity}")
                bop = BackendOp(BackendOpKind.READ, sector, count)
                self.ops.append((func, bop))
                self.on_op(func, bop)
                if count:
                    await self.rd.send(AxiStreamFrame(disk.read(sector, count)))
            elif op == OP_FLUSH:
                bop = BackendOp(BackendOpKind.FLUSH)
                self.ops.append((func, bop))
                self.on_op(func, bop)
                disk.flush()
            else:
                self._fail(f"fn {func} vq {queue}: unknown backend op {op}")
            lo, hi = self.latency
            if hi:
                await ClockCycles(self.clk, random.randint(lo, hi))
            await self.rsp.send(BeRspTransaction(tag=tag, status=0))
