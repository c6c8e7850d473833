"""A closed loop for checker tests: the software Device plays the DUT.

Its DMA goes through :class:`DmaTap` (reported to the checker as device
DMA, optionally corrupted by a fault hook), the test driver's memory writes
go through :class:`~pymodel.memory.TeeMemory` (host writes), register
accesses and interrupts are forwarded to both sides.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

from pymodel.checker import Checker
from pymodel.device import Device
from pymodel.function import FunctionConfig, Interrupt, Region
from pymodel.memory import SparseMemory, TeeMemory
from pymodel.mismatch import CheckerOptions
from pymodel.msix import Delivery

from .support import DriverSide

WriteFault = Callable[[int, bytes], bytes]


@dataclass
class Clock:
    t: int = 0

    def tick(self, dt: int = 10) -> int:
        self.t += dt
        return self.t


class DmaTap:
    """The DUT's view of host memory, reporting every access as DMA of function ``fid``."""

    def __init__(self, host: SparseMemory, checker: Checker, fid: int, clock: Clock) -> None:
        self.host, self.checker, self.fid, self.clock = host, checker, fid, clock
        self.fault: Optional[WriteFault] = None

    def read(self, addr: int, n: int) -> bytes:
        data = self.host.read(addr, n)
        self.checker.on_dma_read(self.fid, addr, data, self.clock.tick())
        return data

    def write(self, addr: int, data: bytes) -> None:
        if self.fault is not None:
            data = self.fault(addr, bytes(data))
        self.host.write(addr, data)
        self.checker.on_dma_write(self.fid, addr, data, self.clock.tick())


@dataclass
class Rig:
    cfgs: Mapping[int, FunctionConfig]
    options: CheckerOptions = field(default_factory=CheckerOptions)
    drop_irqs: bool = False

    def __post_init__(self) -> None:
        self.clock = Clock()
        self.host = SparseMemory()
        # the model and the DUT each get their own disk copy
        model_cfgs = {fid: copy.deepcopy(c) for fid, c in self.cfgs.items()}
        self.checker = Checker(model_cfgs, self.options)
        self.taps = {fid: DmaTap(self.host, self.checker, fid, self.clock) for fid in self.cfgs}
        self.dut = Device(self.cfgs, self.taps)  # type: ignore[arg-type]
        self.mem = TeeMemory(self.host, self.checker)
        self.sent: list[Interrupt] = []

    def driver(self, fid: int) -> DriverSide:
        return DriverSide(lambda r, o, w: self.read(fid, r, o, w),
                          lambda r, o, w, v: self.write(fid, r, o, w, v), self.mem)  # type: ignore[arg-type]

    # -- register traffic ----------------------------------------------------------
    def write(self, fid: int, region: Region, offset: int, width: int, value: int) -> None:
        self.checker.on_register_write(fid, region, offset, width, value, self.clock.tick())
        self.deliver(fid, self.dut.write(fid, region, offset, width, value))

    def read(self, fid: int, region: Region, offset: int, width: int) -> int:
        v = self.dut.read(fid, region, offset, width)
        self.checker.on_register_read(fid, region, offset, width, v, self.clock.tick())
        return v

    def msix_control(self, fid: int, value: int) -> None:
        self.checker.on_msix_control(fid, value, self.clock.tick())
        self.deliver(fid, self.dut.msix_control_write(fid, value))

    def enable_msix(self, fid: int, vectors: int) -> None:
        for v in range(vectors):
            self.write(fid, Region.MSIX_TABLE, 16 * v, 4, 0xFEE0_0000 + 16 * v)
            self.write(fid, Region.MSIX_TABLE, 16 * v + 8, 4, 0x4000 + (fid << 8) + v)
            self.write(fid, Region.MSIX_TABLE, 16 * v + 12, 4, 0)
        self.msix_control(fid, 1 << 15)

    # -- data plane -----------------------------------------------------------------------
    def notify(self, fid: int, vq: int) -> None:
        self.write(fid, Region.NOTIFY, 0, 2, vq)
        self.flush_outputs()

    def receive(self, fid: int, frame: bytes, pair: int = 0) -> None:
        self.checker.on_rx_inject(fid, frame, self.clock.tick())
        _, irqs = self.dut.receive(fid, frame, pair)
        self.deliver(fid, irqs)

    def deliver(self, fid: int, irqs: list[Interrupt]) -> None:
        for i in irqs:
            if i.delivery == Delivery.SENT and i.message is not None and not self.drop_irqs:
                self.sent.append(i)
                self.checker.on_msix_message(fid, i.message.address, i.message.data, self.clock.tick())

    def flush_outputs(self) -> None:
        for t in self.dut.tx_frames:
            self.checker.on_tx_packet(t.frame, self.clock.tick(), t.function)
        self.dut.tx_frames.clear()
        for fid, op in self.dut.backend_ops:
            self.checker.on_backend_op(fid, op, self.clock.tick())
        self.dut.backend_ops.clear()

    def finish(self, extra_time: int = 1_000_000) -> list:
        return self.checker.finish(self.clock.tick(extra_time))
