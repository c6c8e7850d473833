"""The scoreboard: monitor transactions in, pymodel's Checker decides.

Every transaction the bench observes reaches pymodel's
:class:`~pymodel.checker.Checker` through here, with the simulation time in
ns: host memory writes of the driver model (:class:`HostMem` tees them), the
driver's register reads and writes, every upstream DMA request with its
bytes (HostMonitor tap), every MSI-X message, every storage backend
operation, every frame on the network port (TX) and every frame the
bench sends into it (RX). The first mismatch fails the test: the exception names the
check, function, queue, ring slot, expected and actual values and the time.
"""

from __future__ import annotations

import logging
from typing import Mapping, Optional

from cocotb.simtime import get_sim_time

from pymodel.blk import BackendOp
from pymodel.checker import Checker
from pymodel.function import FunctionConfig, Region
from pymodel.mismatch import CheckError, CheckerOptions, Mismatch
from tb.pcie.host_monitor import MsixMessage


def t_ns() -> int:
    return int(get_sim_time("ns"))


class ScoreboardError(AssertionError):
    """A mismatch between the RTL and the golden model."""


class Scoreboard:
    """pymodel's Checker fed with the bench's transactions."""

    def __init__(self, functions: Mapping[int, FunctionConfig], irq_slack_ns: int = 20_000) -> None:
        self.log = logging.getLogger("cocotb.tb.scoreboard")
        self.checker = Checker(functions, CheckerOptions(irq_slack=irq_slack_ns, raise_on_mismatch=True, strict_disable=True))
        self.counts = {"dma_rd": 0, "dma_wr": 0, "msix": 0, "backend": 0, "reg_rd": 0, "reg_wr": 0}
        # bad-input tests: DMA mismatches of these functions are recorded in ``flagged`` instead of failing
        self.expect_violation: set[int] = set()
        self.flagged: list[tuple[int, str]] = []
        # functions between an FLR's start (or VF Enable cleared) and its end: their in-flight work drains,
        # not judged (like a device reset's drain, pymodel Checker reset_pending); the model restarts at the end
        self.draining: set[int] = set()

    def _fail(self, e: CheckError) -> None:
        m: Mismatch = e.args[0] if e.args and isinstance(e.args[0], Mismatch) else None  # type: ignore[assignment]
        text = f"scoreboard (times in ns): {m if m is not None else e}"
        self.log.error(text)
        raise ScoreboardError(text) from None

    # -- taps ---------------------------------------------------------------------------------
    def host_write(self, addr: int, data: bytes) -> None:
        self.checker.host_write(addr, data)

    def on_dma(self, func: int, write: bool, addr: int, data: bytes, time_ns: float) -> None:
        if func not in self.checker.models:
            return
        if func in self.draining:
            self.counts["drained"] = self.counts.get("drained", 0) + 1
            return
        self.counts["dma_wr" if write else "dma_rd"] += 1
        try:
            if write:
                self.checker.on_dma_write(func, addr, data, int(time_ns))
            else:
                self.checker.on_dma_read(func, addr, data, int(time_ns))
        except CheckError as e:
            if func in self.expect_violation:
                mine = [m for m in self.checker.mismatches if m.function == func and m.check in ("dma", "isolation")]
                for m in mine:                          # judged, recorded here, not left for finish()
                    self.checker.mismatches.remove(m)
                self.flagged.append((func, "; ".join(str(m) for m in mine) or str(e)))
                self.log.info("expected violation fn %d: %s", func, self.flagged[-1][1])
                return
            self._fail(e)

    def on_msix(self, msg: MsixMessage) -> None:
        if msg.func not in self.checker.models:
            return
        if msg.func in self.draining:
            self.counts["drained"] = self.counts.get("drained", 0) + 1
            return
        self.counts["msix"] += 1
        try:
            self.checker.on_msix_message(msg.func, msg.addr, msg.data, int(msg.time_ns))
        except CheckError as e:
            self._fail(e)

    def on_backend(self, func: int, op: BackendOp) -> None:
        self.counts["backend"] += 1
        if func in self.draining:
            # a write already staged when the FLR began reaches the medium: the model's disk gets it too
            blk = getattr(self.checker.models[func], "blk", None)
            if op.kind.value == "write" and blk is not None:
                blk.disk.write(op.sector, op.data)
            self.counts["drained"] = self.counts.get("drained", 0) + 1
            return
        try:
            self.checker.on_backend_op(func, op, t_ns())
        except CheckError as e:
            self._fail(e)

    def on_register_write(self, func: int, region: Region, offset: int, width: int, value: int) -> None:
        self.counts["reg_wr"] += 1
        try:
            self.checker.on_register_write(func, region, offset, width, value, t_ns())
        except CheckError as e:
            self._fail(e)

    def on_register_read(self, func: int, region: Region, offset: int, width: int, value: int) -> None:
        self.counts["reg_rd"] += 1
        try:
            self.checker.on_register_read(func, region, offset, width, value, t_ns())
        except CheckError as e:
            self._fail(e)

    def on_tx_packet(self, func: int, frame: bytes) -> None:
        self.counts["tx"] = self.counts.get("tx", 0) + 1
        try:
            self.checker.on_tx_packet(frame, t_ns(), func)
        except CheckError as e:
            self._fail(e)

    def on_rx_inject(self, func: int, frame: bytes) -> None:
        self.counts["rx"] = self.counts.get("rx", 0) + 1
        self.checker.on_rx_inject(func, frame, t_ns())

    def flr_begin(self, func: int) -> None:
        """An FLR of ``func`` starts (or VF Enable is cleared): nothing is owed any more (the model is reset)
        and its in-flight work drains, not judged."""
        self.draining.add(func)
        self.on_flr(func)

    def flr_end(self, func: int) -> None:
        """The FLR completed (or the VF is enabled again): the model starts over from reset."""
        self.draining.discard(func)
        self.on_flr(func)

    def on_flr(self, func: int) -> None:
        """A Function Level Reset (or VF Enable cleared) of ``func``: its model starts over."""
        self.checker.on_flr(func, t_ns())

    def on_link(self, func: int, up: bool) -> None:
        self.checker.on_link(func, up, t_ns())

    def on_msix_control(self, func: int, value: int) -> None:
        self.checker.on_msix_control(func, value, t_ns())

    def on_dma_fault(self, func: int, reason: str, vq: Optional[int] = None) -> None:
        self.checker.on_dma_fault(func, reason, t_ns(), vq)

    # -- periodic and final checks -----------------------------------------------------------
    def check_deadlines(self) -> None:
        try:
            self.checker.check_deadlines(t_ns())
        except CheckError as e:
            self._fail(e)

    def finish(self) -> None:
        try:
            left = self.checker.finish(t_ns())
        except CheckError as e:
            self._fail(e)
        else:
            if left:
                raise ScoreboardError("scoreboard: " + "; ".join(str(m) for m in left))
        self.log.info("scoreboard: clean (%s)", ", ".join(f"{k} {v}" for k, v in self.counts.items()))
