"""The UltraScale+ configuration extend interface (cfg_ext_*, PG213), as a hook.

cocotbext-pcie's UltraScale+ model accepts the cfg_ext_* signals but never
drives them. :class:`CfgExt` adds the behaviour the RTL needs to serve part
of legacy configuration space itself (the virtio vendor capabilities, see
DESIGN.md decision 1):

* every configuration read and write a function receives from the link is
  signalled on the interface for one ``user_clk`` cycle
  (``cfg_ext_read_received`` / ``cfg_ext_write_received`` with
  ``cfg_ext_register_number``, ``cfg_ext_function_number`` and, for writes,
  ``cfg_ext_write_data`` / ``cfg_ext_write_byte_enable``), as PG213 says;
* a read of a register in the user window (``start`` .. ``end``, legacy
  space) is *not* answered by the model: it waits for
  ``cfg_ext_read_data_valid`` and completes with ``cfg_ext_read_data``. No
  answer within ``timeout`` cycles fails the test (an exception in the
  model's task, which cocotb turns into a test failure) -- never a hang;
* writes to the window are not applied by the model (the RTL owns them);
* the last capability of the model's own list (the PCIe capability) gets
  ``next = start``, so a host capability walk continues into the RTL's list.
  If that capability would overlap the window it is moved down to end right
  before it (a 4-byte move for the default window: 0x70 -> 0x6C).

Protocol errors of the RTL (``cfg_ext_read_data_valid`` when no read is
waiting for it, or X on it) are collected in :attr:`CfgExt.errors` and fail
the test at once.

The hook wraps ``read_config_register`` / ``write_config_register`` of each
function object, so it applies to every config access of that function
(type 0 config TLPs; the model's cfg_mgmt port, unused by this bench, too).
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import cocotb
from cocotb.queue import Queue
from cocotb.simtime import get_sim_time
from cocotb.triggers import Lock, RisingEdge

#: default user window: 0xA8..0xFF, 22 DWORDs. Five virtio capabilities need
#: 88 bytes (16+20+16+16+20), one DWORD more than 0xB0..0xFF holds; see
#: hdl/vio_virtio_caps.sv.
DEFAULT_START = 0xA8
LEGACY_END = 0xFF
DEFAULT_TIMEOUT = 100  # user_clk cycles

SIGNALS = (
    "cfg_ext_read_received",
    "cfg_ext_write_received",
    "cfg_ext_register_number",
    "cfg_ext_function_number",
    "cfg_ext_write_data",
    "cfg_ext_write_byte_enable",
    "cfg_ext_read_data",
    "cfg_ext_read_data_valid",
)


class CfgExtError(AssertionError):
    """The RTL broke the cfg_ext protocol (no answer, unexpected answer, X)."""


class CfgExt:
    """Drives the cfg_ext_* interface of one UltraScale+ model (all its functions).

    Args:
        device: the UltraScalePlusPcieDevice (its ``user_clk`` and its
            ``cfg_ext_*`` signal handles are used).
        start: first byte of the user window (DWORD aligned, legacy space).
        end: last byte of the user window (inclusive, <= 0xFF).
        timeout: cycles a window read may wait for cfg_ext_read_data_valid.
        signal_all: signal reads/writes outside the window too (PG213).
    """

    def __init__(
        self,
        device: Any,
        start: int = DEFAULT_START,
        end: int = LEGACY_END,
        timeout: int = DEFAULT_TIMEOUT,
        signal_all: bool = True,
    ) -> None:
        if start % 4 or not 0x40 <= start <= end <= LEGACY_END:
            raise ValueError(f"cfg_ext window {start:#x}..{end:#x} must be DWORD aligned inside 0x40..0xFF")
        for name in SIGNALS:
            if getattr(device, name, None) is None:
                raise ValueError(f"cfg_ext: signal {name} is not connected")
        self.dev = device
        self.clk = device.user_clk
        self.start = start
        self.end = end
        self.timeout = timeout
        self.signal_all = signal_all
        self.log = logging.getLogger("cocotb.pcie.cfg_ext")
        self.errors: list[str] = []
        self.reads = 0
        self.writes = 0
        self._lock = Lock()
        self._outstanding: Optional[tuple[int, int, int]] = None  # (func, reg, cycles waited)
        self._answers: Queue[int] = Queue()
        self._idle_signals()
        cocotb.start_soon(self._monitor())

    # ------------------------------------------------------------ window
    def in_window(self, reg: int) -> bool:
        """True if DWORD register ``reg`` belongs to the RTL."""
        return self.start // 4 <= reg <= self.end // 4

    def attach(self, fn: Any, func_num: Optional[int] = None) -> None:
        """Route the config space of function object ``fn`` through the interface."""
        num = fn.pcie_id.device * 8 + fn.pcie_id.function if func_num is None else func_num
        self._make_room(fn)
        orig_read = fn.read_config_register
        orig_write = fn.write_config_register

        async def read_config_register(reg: int) -> int:
            if self.in_window(reg):
                return await self.read(num, reg)
            val = await orig_read(reg)
            if self.signal_all:
                await self._pulse_read(num, reg)
            return self._chain(fn, reg, val)

        async def write_config_register(reg: int, data: int, mask: int) -> None:
            if self.in_window(reg):
                await self.write(num, reg, data, mask)
                return
            await orig_write(reg, data, mask)
            if self.signal_all:
                await self.write(num, reg, data, mask)

        fn.read_config_register = read_config_register
        fn.write_config_register = write_config_register

    @staticmethod
    def _standard_caps(fn: Any) -> list:
        # cocotbext-pcie files the AER / secondary PCIe capabilities of the UltraScale+ function in the
        # standard list at DWORD 0x40 / 0x70 (beyond standard space, never read there): skip them
        return sorted((c for c in fn.capabilities.list if c.offset < 0x40), key=lambda c: c.offset)

    def _make_room(self, fn: Any) -> None:
        caps = self._standard_caps(fn)
        if not caps:
            return
        last = caps[-1]
        end = (last.offset + last.length) * 4
        if end <= self.start:
            return
        new = self.start // 4 - last.length
        prev_end = (caps[-2].offset + caps[-2].length) if len(caps) > 1 else 0x10
        if new < prev_end:
            raise ValueError(f"cfg_ext: no room for capability {last!r} below the window at {self.start:#x}")
        fn.register_capability(last, offset=new)
        self.log.info("cfg_ext: capability %#x moved to %#x to make room for the window at %#x",
                      last.cap_id, new * 4, self.start)

    def _chain(self, fn: Any, reg: int, val: int) -> int:
        caps = self._standard_caps(fn)
        if not caps:
            return val
        last = caps[-1]
        if reg == last.offset and not (val >> 8) & 0xFF:
            val = (val & ~0xFF00) | (self.start << 8)
        return val

    # ------------------------------------------------------------ bus cycles
    def _idle_signals(self) -> None:
        d = self.dev
        d.cfg_ext_read_received.value = 0
        d.cfg_ext_write_received.value = 0
        d.cfg_ext_register_number.value = 0
        d.cfg_ext_function_number.value = 0
        d.cfg_ext_write_data.value = 0
        d.cfg_ext_write_byte_enable.value = 0

    async def _pulse_read(self, func: int, reg: int) -> None:
        async with self._lock:
            await RisingEdge(self.clk)
            self.dev.cfg_ext_register_number.value = reg
            self.dev.cfg_ext_function_number.value = func
            self.dev.cfg_ext_read_received.value = 1
            await RisingEdge(self.clk)
            self.dev.cfg_ext_read_received.value = 0

    async def read(self, func: int, reg: int) -> int:
        """One read of the RTL's config space: pulse, then wait for the data."""
        async with self._lock:
            await RisingEdge(self.clk)
            d = self.dev
            d.cfg_ext_register_number.value = reg
            d.cfg_ext_function_number.value = func
            d.cfg_ext_read_received.value = 1
            self._outstanding = (func, reg, 0)
            await RisingEdge(self.clk)
            d.cfg_ext_read_received.value = 0
            data = await self._answers.get()  # the monitor answers, or fails the test on timeout
            self.reads += 1
            return data

    async def write(self, func: int, reg: int, data: int, byte_enable: int) -> None:
        """One write of config space: a one-cycle pulse with data and byte enables."""
        async with self._lock:
            await RisingEdge(self.clk)
            d = self.dev
            d.cfg_ext_register_number.value = reg
            d.cfg_ext_function_number.value = func
            d.cfg_ext_write_data.value = data
            d.cfg_ext_write_byte_enable.value = byte_enable
            d.cfg_ext_write_received.value = 1
            await RisingEdge(self.clk)
            d.cfg_ext_write_received.value = 0
            self.writes += 1

    def _error(self, text: str) -> None:
        msg = f"{text} (t={get_sim_time('ns'):.0f} ns)"
        self.errors.append(msg)
        self.log.error("%s", msg)
        raise CfgExtError(msg)

    async def _monitor(self) -> None:
        """The only sampler of the answer: one cfg_ext_read_data_valid per window read, in time.

        Checks start once the first reset is over (before it, the RTL's outputs are undefined).
        """
        armed = getattr(self.dev, "user_reset", None) is None
        while True:
            await RisingEdge(self.clk)
            if self._reset_active():
                armed = True
                continue
            if not armed:
                continue
            v = self.dev.cfg_ext_read_data_valid.value
            if not v.is_resolvable:
                self._error(f"cfg_ext_read_data_valid is {v}")
            out = self._outstanding
            if int(v):
                if out is None:
                    self._error("cfg_ext_read_data_valid asserted with no window read outstanding")
                func, reg, _ = out
                data = self.dev.cfg_ext_read_data.value
                if not data.is_resolvable:
                    self._error(f"cfg_ext_read_data is {data} for function {func} register {reg:#x} "
                                f"(byte {reg * 4:#x})")
                self._outstanding = None
                self._answers.put_nowait(int(data))
            elif out is not None:
                func, reg, waited = out
                if waited >= self.timeout:
                    self._error(f"cfg_ext: no cfg_ext_read_data_valid within {self.timeout} cycles for a "
                                f"read of function {func} register {reg:#x} (byte {reg * 4:#x})")
                self._outstanding = (func, reg, waited + 1)

    def _reset_active(self) -> bool:
        rst = getattr(self.dev, "user_reset", None)
        if rst is None:
            return False
        r = rst.value
        return not r.is_resolvable or bool(int(r))
