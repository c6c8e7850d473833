"""vio_virtio_regs: the modern virtio-pci transport registers against pymodel.

tb/virtio_regs/test_vio_virtio_regs.py drives the register block alone (three
functions) and compares every access with pymodel.common_cfg.CommonCfg. The
capabilities (vio_virtio_caps) are checked from the root complex on the
device top: tests/rtl/test_device.py.
"""

import pytest

from tb.virtio_regs.config import rtl_parameters
from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_virtio_regs",
    module="tb.virtio_regs.test_vio_virtio_regs",
    sources=["vio_pkg.sv", "vio_virtio_regs.sv"],
    parameters=rtl_parameters(),
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_virtio_regs(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)
