"""vio_msix: MSI-X tables, PBA and interrupt messages (focused bench tb/msix).

Every cocotb test runs on the shell's default geometry and on a
non-power-of-two vector count with a partial last PBA QWORD. The geometry
edge cases (one function with one vector; a table larger than 4 KiB placed
above its PBA) run the tests whose behaviour depends on the geometry.
"""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_msix",
    module="tb.msix.test_vio_msix",
    sources=["vio_pkg.sv", "vio_msix.sv"],
    parameters={"NUM_FUNC": 2, "NUM_VEC": 64},
)

GEOMETRIES = {
    "f2v64": {},
    "f3v100": {"NUM_FUNC": 3, "NUM_VEC": 100},
    "f1v1": {"NUM_FUNC": 1, "NUM_VEC": 1},
    "f2v300-pba-low": {"NUM_FUNC": 2, "NUM_VEC": 300, "TABLE_OFFSET": 0x4000, "PBA_OFFSET": 0x1000},
}
FULL = ("f2v64", "f3v100")
EDGE_TESTS = ("test_reset_values", "test_out_of_range", "test_function_mask_replay", "test_random_storm")

CASES = [(t, g) for g in GEOMETRIES for t in BENCH.tests() if g in FULL or t in EDGE_TESTS]


@pytest.mark.parametrize("testcase,geometry", CASES, ids=[f"{t}-{g}" for t, g in CASES])
def test_vio_msix(testcase, geometry, sim_opts):
    BENCH.run(testcase, sim_opts, parameters=GEOMETRIES[geometry], tag=geometry)
