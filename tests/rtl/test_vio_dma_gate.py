"""vio_dma_gate: bus-master-enable gate for DMA descriptors (focused bench tb/dma_gate)."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_dma_gate",
    module="tb.dma_gate.test_vio_dma_gate",
    sources=["vio_pkg.sv", "vio_dma_gate.sv"],
    parameters={"NUM_FUNC": 3, "RAM_ADDR_W": 18, "LEN_W": 16, "OP_TAG_W": 8},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_dma_gate(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)
