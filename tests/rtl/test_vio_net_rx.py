"""vio_net_rx (virtio-net receive engine) alone: cocotb bench tb/net_rx/test_vio_net_rx.py."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_net_rx",
    module="tb.net_rx.test_vio_net_rx",
    sources=["vio_pkg.sv", "vio_net_rx.sv"],
    # three functions, function 2 not virtio-net; small RAM, region not at 0 and a distinct tag (the
    # bench checks them); few segments so the MAX_SEGS+1 case is cheap; MAX_FRAME 9018 (not a
    # multiple of 64)
    parameters={"NUM_FUNC": 3, "FUNC_NET": 0b011, "MAX_SEGS": 16, "RAM_ADDR_W": 15, "WR_RAM_ADDR": 1024,
                "LEN_W": 16, "OP_TAG_W": 8, "WR_DMA_TAG": 6, "MAX_FRAME": 9018},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_net_rx(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)


# one function, a row-aligned MAX_FRAME, very few segments
@pytest.mark.parametrize("testcase", ["test_random_mix", "test_exact_fit", "test_bad_inputs"])
def test_vio_net_rx_small(testcase, sim_opts):
    BENCH.run(testcase, sim_opts, parameters={"NUM_FUNC": 1, "FUNC_NET": 1, "MAX_SEGS": 4, "MAX_FRAME": 1536,
                                               "RAM_ADDR_W": 12, "WR_RAM_ADDR": 2048})
