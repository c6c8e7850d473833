"""SR-IOV / FLR of the UltraScale+ hard-block model (tb/pcie) against a tb-only stub top (tb/pcie_sriov)."""

import pytest

from tests.simrun import ROOT, Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="sriov_stub",
    module="tb.pcie_sriov.test_pcie_sriov",
    sources=[str(ROOT / "tb" / "pcie_sriov" / "sriov_stub.sv")],  # tb-only: absolute path, outside HDL_DIR
    parameters={"NUM_VF": 16},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_pcie_sriov(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)
