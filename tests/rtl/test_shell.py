"""The PCIe shell through cocotbext-pcie's root complex (tb/shell)."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

SHELL_SOURCES = [
    "vio_pkg.sv",
    "vio_pcie_cq_reg.sv",
    "vio_reg_demux.sv",
    "vio_reg_scratch.sv",
    "vio_shell_regs.sv",
    "vio_msix.sv",
    "vio_dma_gate.sv",
    "vio_dma_rd.sv",
    "vio_dma_wr.sv",
    "vio_axis_rq_mux.sv",
    "vio_ram_sdp.sv",
    "vio_pcie_shell.sv",
    "vio_shell_top.sv",
]

# the completion timeout stays at its realistic default (65536 cycles = 262 us): a short one
# fires legitimately when many reads queue behind the link. `make bench` shares this build.
SHELL_PARAMS = {"NUM_FUNC": 2, "MSIX_VEC": 64, "CPL_TIMEOUT": 65536}

BENCH = Bench(
    toplevel="vio_shell_top",
    module="tb.shell.test_shell",
    sources=SHELL_SOURCES,
    parameters=SHELL_PARAMS,
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_shell(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)
