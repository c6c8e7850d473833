"""vio_dma_wr: DMA write engine, local buffer RAM -> host memory as MemWr on RQ
(focused bench tb/dma_wr).

Every cocotb test runs on two builds: the default parameters, and a tight one
(4 KiB RAM so long descriptors wrap it, the smallest descriptor queue and
output FIFO, 14-bit lengths).
"""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_dma_wr",
    module="tb.dma_wr.test_vio_dma_wr",
    sources=["vio_pkg.sv", "vio_dma_wr.sv"],
    parameters={"RAM_ADDR_W": 18, "LEN_W": 16, "OP_TAG_W": 8, "DESC_FIFO_DEPTH": 16, "OUT_FIFO_DEPTH": 8},
)

VARIANTS = {
    "default": {},
    "tight": {"RAM_ADDR_W": 12, "LEN_W": 14, "OP_TAG_W": 3, "DESC_FIFO_DEPTH": 2, "OUT_FIFO_DEPTH": 4},
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_dma_wr(testcase, variant, sim_opts):
    BENCH.run(testcase, sim_opts, parameters=VARIANTS[variant], tag=variant)
