"""vio_pring_used (packed ring, used side) alone: cocotb bench tb/pring_used/test_vio_pring_used.py."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_pring_used",
    module="tb.pring_used.test_vio_pring_used",
    sources=["vio_pkg.sv", "vio_pring_used.sv"],
    # small RAM, staging / event rows not at 0 and distinct tags (the bench checks them)
    parameters={"NUM_FUNC": 2, "MAX_QUEUES": 8, "MAX_BATCH": 4, "RAM_ADDR_W": 12,
                "WR_BUF_RAM_ADDR": 1024, "RD_BUF_RAM_ADDR": 2048, "LEN_W": 16, "OP_TAG_W": 8,
                "WR_DMA_TAG": 3, "RD_DMA_TAG": 9},
)


# IRQ_EVENTS 0: interrupt requests only; 1: one record per evaluation (for vio_irq_coal)
@pytest.mark.parametrize("irq_events", [0, 1], ids=["irq_req", "irq_events"])
@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_pring_used(testcase, irq_events, sim_opts):
    BENCH.run(testcase, sim_opts, parameters={"IRQ_EVENTS": irq_events})


# one record per evaluation, and large batches (bounded by N, not by MAX_BATCH)
@pytest.mark.parametrize("testcase", ["test_wraps_odd_sizes", "test_desc_random", "test_enable_cb_delayed"])
def test_vio_pring_used_batch1(testcase, sim_opts):
    BENCH.run(testcase, sim_opts, parameters={"MAX_BATCH": 1})


@pytest.mark.parametrize("testcase", ["test_wraps_odd_sizes", "test_desc_random", "test_batching",
                                      "test_two_functions_two_queues"])
def test_vio_pring_used_batch64(testcase, sim_opts):
    BENCH.run(testcase, sim_opts, parameters={"MAX_BATCH": 64})
