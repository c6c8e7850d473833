"""vio_virtio_regs / vio_virtio_caps: the modern virtio-pci transport against pymodel.

* tb/virtio_regs/test_vio_virtio_regs.py: the register block alone (three
  functions), every access compared with pymodel.common_cfg.CommonCfg;
* tb/virtio_regs/test_virtio_caps_shell.py: the PCIe shell with the virtio
  blocks (bench top tb/virtio_regs/vio_virtio_shell_tb.sv), seen from the
  root complex: capability walk through the cfg_ext model, a driver over MMIO.
"""

import pytest

from tb.virtio_regs.config import rtl_parameters
from tests.rtl.test_shell import SHELL_SOURCES
from tests.simrun import ROOT, Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_virtio_regs",
    module="tb.virtio_regs.test_vio_virtio_regs",
    sources=["vio_pkg.sv", "vio_virtio_regs.sv"],
    parameters=rtl_parameters(),
)

SHELL_BENCH = Bench(
    toplevel="vio_virtio_shell_tb",
    module="tb.virtio_regs.test_virtio_caps_shell",
    sources=[s for s in SHELL_SOURCES if s not in ("vio_reg_scratch.sv", "vio_shell_top.sv")]
    + ["vio_virtio_regs.sv", "vio_virtio_caps.sv", str(ROOT / "tb/virtio_regs/vio_virtio_shell_tb.sv")],
    parameters={"NUM_FUNC": 2, "MSIX_VEC": 64},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_virtio_regs(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)


@pytest.mark.parametrize("testcase", SHELL_BENCH.tests())
def test_vio_virtio_caps_shell(testcase, sim_opts):
    SHELL_BENCH.run(testcase, sim_opts)
