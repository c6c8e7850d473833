"""vio_net_ctrlq (virtio-net control-virtqueue engine) alone: cocotb bench tb/net_ctrlq/test_vio_net_ctrlq.py."""

import pytest

from tests.simrun import Bench

pytestmark = pytest.mark.rtl

BENCH = Bench(
    toplevel="vio_net_ctrlq",
    module="tb.net_ctrlq.test_vio_net_ctrlq",
    sources=["vio_pkg.sv", "vio_net_ctrlq.sv"],
    # small RAM, regions not at 0 and distinct tags (the bench checks them); few segments so the
    # MAX_SEGS+1 case is cheap; a 96-byte mailbox (one and a half RAM rows) so oversized commands
    # are cheap and the partial last row is exercised; 8 cycles per "microsecond" so timeouts are short
    parameters={"NUM_FUNC": 2, "MAX_SEGS": 16, "RAM_ADDR_W": 16,
                "RD_RAM_ADDR": 1024, "WR_RAM_ADDR": 8192, "LEN_W": 16, "OP_TAG_W": 8,
                "RD_DMA_TAG": 5, "WR_DMA_TAG": 6, "MB_WORDS": 24, "US_CYCLES": 8},
)


@pytest.mark.parametrize("testcase", BENCH.tests())
def test_vio_net_ctrlq(testcase, sim_opts):
    BENCH.run(testcase, sim_opts)


# the default mailbox (64 words: four whole rows)
@pytest.mark.parametrize("testcase", ["test_random_commands", "test_oversized_command", "test_rsp_len_clamped"])
def test_vio_net_ctrlq_mb64(testcase, sim_opts):
    BENCH.run(testcase, sim_opts, parameters={"MB_WORDS": 64})
