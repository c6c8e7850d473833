"""vio_mgmt (RTL) with the real firmware in the loop: cocotb bench tb/mgmt_fw/test_mgmt_fw.py.

The firmware's host library is built first (tests/firmware/fw_lib.build, the
same build the firmware tests use); each test prints its wall time (the sim
time is in the cocotb log / results.xml).
"""

import time

import pytest

from tests.firmware.fw_lib import build_host
from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_mgmt",
    module="tb.mgmt_fw.test_mgmt_fw",
    sources=["vio_pkg.sv", "gen/vio_mgmt_regblock_pkg.sv", "gen/vio_mgmt_regblock.sv",
             "vio_mgmt_regs.sv", "vio_ram_sdp.sv", "vio_mgmt.sv"],
    parameters={"NUM_FUNC": 3, "MAX_QUEUES": 8},
)


@pytest.fixture(scope="module", autouse=True)
def firmware_library():
    build_host()


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_fw_cosim(testcase, sim_opts):
    t0 = time.monotonic()
    results = BENCH.run(testcase, sim_opts)
    print(f"{testcase}: wall {time.monotonic() - t0:.1f} s, results {results}")
