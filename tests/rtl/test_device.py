"""The virtio device top (hdl/vio_device_top.sv) through the PCIe root complex: tb/device.

* tb/device/test_device_transport.py: virtio capabilities over cfg_ext, PCI_CFG;
* tb/device/test_device_blk.py: virtio-blk end to end, every transaction judged by pymodel;
* tb/device/test_device_net.py: virtio-net end to end with the real firmware serving the
  control queue through the management port (firmware/ host build, run in a thread);
* tb/device/test_device_soak.py: long random traffic (marker slow: `make regress`);
* tb/device/test_device_sriov.py: SR-IOV (the default build: PF0 net + PF1 blk with
  4 VFs each): VF enumeration, per-VF virtio functions, isolation, FLR.

The blk / net / transport / soak benches run the CLASSIC build (three PFs, no
SR-IOV: blk RW, blk RO, net); the SR-IOV bench runs the default build
(tb/device/config.py).
"""

import pytest

from tb.device.config import CLASSIC, rtl_parameters
from tests.simrun import Bench

pytestmark = pytest.mark.rtl

DEVICE_SOURCES = [
    "vio_pkg.sv",
    "vio_pcie_cq_reg.sv",
    "vio_reg_demux.sv",
    "vio_shell_regs.sv",
    "vio_msix.sv",
    "vio_dma_gate.sv",
    "vio_dma_rd.sv",
    "vio_dma_wr.sv",
    "vio_axis_rq_mux.sv",
    "vio_ram_sdp.sv",
    "vio_pcie_shell.sv",
    "vio_virtio_regs.sv",
    "vio_virtio_caps.sv",
    "vio_req_arb.sv",
    "vio_pring_avail.sv",
    "vio_pring_used.sv",
    "vio_blk_req.sv",
    "vio_buf_dispatch.sv",
    "vio_be_mux.sv",
    "gen/vio_mgmt_regblock_pkg.sv",
    "gen/vio_mgmt_regblock.sv",
    "vio_mgmt_regs.sv",
    "vio_mgmt.sv",
    "vio_net_ctrlq.sv",
    "vio_net_tx.sv",
    "vio_net_rx.sv",
    "vio_irq_coal.sv",
    "vio_device_top.sv",
]

BENCH = Bench(
    toplevel="vio_device_top",
    module="tb.device.test_device_blk",
    sources=DEVICE_SOURCES,
    parameters=dict(rtl_parameters(CLASSIC)),
)


TRANSPORT = Bench(
    toplevel="vio_device_top",
    module="tb.device.test_device_transport",
    sources=DEVICE_SOURCES,
    parameters=dict(rtl_parameters(CLASSIC)),
)


@pytest.mark.parametrize("testcase", TRANSPORT.tests())
def test_device_transport(testcase, sim_opts):
    TRANSPORT.run(testcase, sim_opts)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_device_blk(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)


NET = Bench(
    toplevel="vio_device_top",
    module="tb.device.test_device_net",
    sources=DEVICE_SOURCES,
    parameters=dict(rtl_parameters(CLASSIC)),
)


@pytest.mark.parametrize("testcase", NET.tests())
def test_device_net(testcase, sim_opts):
    NET.run(testcase, sim_opts)


SOAK = Bench(
    toplevel="vio_device_top",
    module="tb.device.test_device_soak",
    sources=DEVICE_SOURCES,
    parameters=dict(rtl_parameters(CLASSIC)),
)


@pytest.mark.slow
@pytest.mark.parametrize("testcase", SOAK.tests())
def test_device_soak(testcase, sim_opts):
    SOAK.run(testcase, sim_opts)


SRIOV = Bench(
    toplevel="vio_device_top",
    module="tb.device.test_device_sriov",
    sources=DEVICE_SOURCES,
    parameters=dict(rtl_parameters()),
)


@pytest.mark.parametrize("testcase", SRIOV.tests())
def test_device_sriov(testcase, sim_opts):
    SRIOV.run(testcase, sim_opts)
