"""vio_pcie_cq_reg alone: CQ requests -> reg accesses, read data -> CC completions."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_pcie_cq_reg",
    module="tb.cq_reg.test_vio_pcie_cq_reg",
    sources=["vio_pkg.sv", "vio_pcie_cq_reg.sv"],
    parameters={"REG_ADDR_W": 24, "CPL_SPLIT": 64},
)

# the default build, and one with a smaller register window and the largest split
VARIANTS = {
    "split64": {},
    "split4k": {"REG_ADDR_W": 16, "CPL_SPLIT": 4096},
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_pcie_cq_reg(testcase, variant, sim_opts):
    BENCH.run(testcase, sim_opts, parameters=VARIANTS[variant])
