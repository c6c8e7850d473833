"""vio_net_tx (virtio-net transmit engine) alone: cocotb bench tb/net_tx/test_vio_net_tx.py."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_net_tx",
    module="tb.net_tx.test_vio_net_tx",
    sources=["vio_pkg.sv", "vio_net_tx.sv"],
    # small RAM, region not at 0 and a distinct tag (the bench checks them); few segments so the
    # MAX_SEGS+1 case is cheap; MAX_FRAME 9018 (not a multiple of 64)
    parameters={"NUM_FUNC": 2, "MAX_SEGS": 16, "RAM_ADDR_W": 15, "RD_RAM_ADDR": 1024, "LEN_W": 16,
                "OP_TAG_W": 8, "RD_DMA_TAG": 5, "MAX_FRAME": 9018},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_net_tx(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)


# one function, a row-aligned MAX_FRAME, very few segments
@pytest.mark.parametrize("testcase", ["test_random_mix", "test_csum_offload", "test_max_frame",
                                      "test_too_many_segments", "test_bad_inputs"])
def test_vio_net_tx_small(testcase, sim_opts):
    BENCH.run(testcase, sim_opts, parameters={"NUM_FUNC": 1, "MAX_SEGS": 4, "MAX_FRAME": 1536,
                                               "RAM_ADDR_W": 12, "RD_RAM_ADDR": 2048})
