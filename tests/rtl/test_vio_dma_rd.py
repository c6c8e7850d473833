"""vio_dma_rd (DMA read engine) alone: cocotb bench tb/dma_rd/test_vio_dma_rd.py."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_dma_rd",
    module="tb.dma_rd.test_vio_dma_rd",
    sources=["vio_pkg.sv", "vio_dma_rd.sv"],
    # CPL_TIMEOUT small (32 us) but above the worst completion backlog of the bench
    parameters={"RAM_ADDR_W": 18, "PCIE_TAG_COUNT": 32, "OP_COUNT": 16, "CPL_TIMEOUT": 8000},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_dma_rd(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)
