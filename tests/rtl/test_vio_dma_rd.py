"""vio_dma_rd (DMA read engine) alone: cocotb bench tb/dma_rd/test_vio_dma_rd.py."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_dma_rd",
    module="tb.dma_rd.test_vio_dma_rd",
    sources=["vio_pkg.sv", "vio_dma_rd.sv"],
    # CPL_TIMEOUT small (32 us) but above the worst completion backlog of the bench;
    # completion buffer as the UltraScale+ hard block (cocotbext-pcie usp_model)
    parameters={"RAM_ADDR_W": 18, "PCIE_TAG_COUNT": 32, "OP_COUNT": 16, "CPL_TIMEOUT": 8000,
                "CPLH_FC_LIMIT": 256, "CPLD_FC_LIMIT": 2048},
)

# the completion-buffer tests again with reduced buffers: a data buffer of
# 512 credits (data binds, and undercounting the per-completion credit would
# overflow it) and the smallest legal buffer (one 4 KiB read at RCB 64 fills
# both 64 headers and 320 data credits exactly)
REDUCED = {
    "cpld512": {"CPLD_FC_LIMIT": 512},
    "min": {"CPLH_FC_LIMIT": 64, "CPLD_FC_LIMIT": 320},
}
BUFFER_TESTS = [t for t in BENCH.tests() if t.startswith("test_cpl_buffer")]


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_dma_rd(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)


@pytest.mark.parametrize("testcase", BUFFER_TESTS)
@pytest.mark.parametrize("buffer", sorted(REDUCED))
def test_vio_dma_rd_reduced_buffer(buffer, testcase, sim_opts):
    BENCH.run(testcase, sim_opts, parameters=REDUCED[buffer])
