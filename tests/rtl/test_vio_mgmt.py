"""vio_mgmt (management port state) alone: cocotb bench tb/mgmt_block/test_vio_mgmt.py."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_mgmt",
    module="tb.mgmt_block.test_vio_mgmt",
    sources=["vio_pkg.sv", "gen/vio_mgmt_regblock_pkg.sv", "gen/vio_mgmt_regblock.sv",
             "vio_mgmt_regs.sv", "vio_ram_sdp.sv", "vio_mgmt.sv"],
    parameters={"NUM_FUNC": 3, "NUM_PF": 1, "FUNC_PF": "6'b000000", "MAX_QUEUES": 5},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_mgmt(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)
