"""Host HAL (firmware/src/hal_host.c): calls reach the functions the host binds."""

from __future__ import annotations

import ctypes as C

import pytest

from tests.firmware.fw_lib import HalHostOps, load

pytestmark = pytest.mark.firmware


def test_host_hal_forwards_to_bound_functions() -> None:
    lib = load()
    regs: dict[int, int] = {0x10: 0xCAFEF00D}
    log: list[tuple] = []  # type: ignore[type-arg]
    f = HalHostOps._fields_
    ops = HalHostOps(
        f[0][1](lambda off: regs.get(off, 0)),
        f[1][1](lambda off, v: regs.__setitem__(off, v)),
        f[2][1](lambda t: log.append(("wait", t)) or 1),
        f[3][1](lambda: 123456789012),
    )
    lib.hal_host_bind(C.byref(ops))
    try:
        assert lib.hal_mmio_read32(0x10) == 0xCAFEF00D
        lib.hal_mmio_write32(0x20, 0x12345678)
        assert regs[0x20] == 0x12345678 and lib.hal_mmio_read32(0x20) == 0x12345678
        assert lib.hal_irq_wait(500) == 1 and log == [("wait", 500)]
        assert lib.hal_time_us() == 123456789012
    finally:
        lib.hal_host_bind(None)
    # unbound: harmless defaults
    assert lib.hal_mmio_read32(0x10) == 0xFFFFFFFF
    lib.hal_mmio_write32(0x10, 1)
    assert lib.hal_irq_wait(1) == -1 and lib.hal_time_us() == 0
