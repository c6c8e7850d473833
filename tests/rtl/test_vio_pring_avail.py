"""vio_pring_avail (packed ring, available side) alone: cocotb bench tb/pring_avail/test_vio_pring_avail.py."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_pring_avail",
    module="tb.pring_avail.test_vio_pring_avail",
    sources=["vio_pkg.sv", "vio_pring_avail.sv"],
    # small buffer RAM, descriptor region not at 0 (the bench checks the address)
    parameters={"NUM_FUNC": 2, "MAX_QUEUES": 8, "BATCH": 8, "RAM_ADDR_W": 12, "BUF_RAM_ADDR": 1024,
                "LEN_W": 16, "OP_TAG_W": 8, "DMA_TAG": 5},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_pring_avail(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)


# smaller batches (a ring batch ends mid-row, tables need more reads), one function
SMALL_BATCH_TESTS = ["test_chains", "test_wraps_odd_sizes", "test_chain_across_wrap",
                     "test_dma_reads_per_descriptor", "test_indirect",
                     "test_fetch_chain_indirect_peek_commit", "test_fetch_cursor_wrap", "test_fetch_random"]


@pytest.mark.parametrize("testcase", SMALL_BATCH_TESTS)
def test_vio_pring_avail_batch2(testcase, sim_opts):
    BENCH.run(testcase, sim_opts, parameters={"BATCH": 2, "BUF_RAM_ADDR": 64})
