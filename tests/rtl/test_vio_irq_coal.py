"""vio_irq_coal (interrupt coalescing) alone: cocotb bench tb/irq_coal/test_vio_irq_coal.py."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_irq_coal",
    module="tb.irq_coal.test_vio_irq_coal",
    sources=["vio_pkg.sv", "vio_irq_coal.sv"],
    # the default device build's contexts (2 functions x 4 queues)
    parameters={"NUM_FUNC": 2, "MAX_QUEUES": 4, "CNT_W": 16},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_irq_coal(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)


# odd context count (3 x 3: not a power of two, scanner and index arithmetic), one function
@pytest.mark.parametrize("testcase", ["test_random_streams", "test_resets"])
def test_vio_irq_coal_odd(testcase, sim_opts):
    BENCH.run(testcase, sim_opts, parameters={"NUM_FUNC": 3, "MAX_QUEUES": 3})


@pytest.mark.parametrize("testcase", ["test_random_streams"])
def test_vio_irq_coal_one(testcase, sim_opts):
    BENCH.run(testcase, sim_opts, parameters={"NUM_FUNC": 1, "MAX_QUEUES": 1})
