"""vio_blk_req (virtio-blk request engine) alone: cocotb bench tb/blk_req/test_vio_blk_req.py."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

F_RO = 1 << 5
F_FLUSH = 1 << 9
F_VERSION_1 = 1 << 32
# offered features: function 0 read-write with FLUSH, function 1 read-only with FLUSH
OFFERED = [F_VERSION_1 | F_FLUSH, F_VERSION_1 | F_FLUSH | F_RO]

BENCH = Bench(
    toplevel="vio_blk_req",
    module="tb.blk_req.test_vio_blk_req",
    sources=["vio_pkg.sv", "vio_blk_req.sv"],
    # small RAM, regions not at 0 and distinct tags (the bench checks them); few segments so
    # the MAX_SEGS+1 case is cheap
    parameters={"NUM_FUNC": 2,
                "FUNC_FEATURES": f"256'h{OFFERED[0] | OFFERED[1] << 128:x}",
                "MAX_SEGS": 16, "CHUNK": 4096, "RAM_ADDR_W": 16,
                "RD_RAM_ADDR": 1024, "WR_RAM_ADDR": 8192, "LEN_W": 16, "OP_TAG_W": 8,
                "RD_DMA_TAG": 5, "WR_DMA_TAG": 6},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_blk_req(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)


# many chunks per request
@pytest.mark.parametrize("testcase", ["test_random_mixed", "test_dma_read_error_data",
                                      "test_func_reset_mid_request"])
def test_vio_blk_req_chunk512(testcase, sim_opts):
    BENCH.run(testcase, sim_opts, parameters={"CHUNK": 512})
