"""vio_axis_rq_mux: RQ frame arbiter (focused bench tb/rq_mux)."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_axis_rq_mux",
    module="tb.rq_mux.test_vio_axis_rq_mux",
    sources=["vio_pkg.sv", "vio_axis_rq_mux.sv"],
    parameters={"PORTS": 3},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_axis_rq_mux(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)
