"""Port agents shared by the focused benches of the request engines (vio_blk_req,
vio_net_ctrlq, vio_net_tx): the interfaces those engines have in common, played
the way vio_virtio_regs, vio_dma_rd/wr and vio_pring_avail/used would. Each bench
keeps its own DMA *request* checks (they differ); these agents only answer.
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

from cocotb.triggers import RisingEdge

from pymodel.buffers import Segment
from pymodel.memory import Memory

DMA_OK = 0


async def serve_ctx(dut, lookup: Callable[[int], tuple[bool, int]]) -> None:
    """ctx_req -> ctx_rsp one cycle later: ``lookup(func)`` = (live, negotiated features), asked each time
    (tests change both while running)."""
    while True:
        await RisingEdge(dut.clk)
        if int(dut.ctx_req_valid.value):
            live, features = lookup(int(dut.ctx_req_func.value))
            dut.ctx_rsp_live.value = int(live)
            dut.ctx_rsp_features.value = features
            dut.ctx_rsp_valid.value = 1
        else:
            dut.ctx_rsp_valid.value = 0


async def serve_rd_status(dut, pending: list, mem: Callable[[], Memory], ram: bytearray,
                          on_done: Callable[[], None]) -> None:
    """One DMA read status per cycle, in random order among the completed reads.

    ``pending`` holds (host addr, RAM addr, len, tag, error) items the bench's
    responder queued; the bytes land in ``ram`` with the status (random bytes
    on an error; a range outside the RAM was reported by the responder).
    ``mem()`` is asked each time: benches swap host memory between runs.
    """
    while True:
        await RisingEdge(dut.clk)
        dut.s_axis_rd_desc_status_valid.value = 0
        if pending:
            addr, at, n, tag, err = pending.pop(random.randrange(len(pending)))
            k = max(0, min(n, len(ram) - at))
            ram[at:at + k] = mem().read(addr, k) if err == DMA_OK else random.randbytes(k)
            dut.s_axis_rd_desc_status_tag.value = tag
            dut.s_axis_rd_desc_status_error.value = err
            dut.s_axis_rd_desc_status_valid.value = 1
            on_done()


async def serve_wr_status(dut, pending: list, mem: Callable[[], Memory], ram: bytearray,
                          on_done: Callable[[], None]) -> None:
    """One DMA write status per cycle; the bytes are taken from ``ram`` into host memory then (unless error)."""
    while True:
        await RisingEdge(dut.clk)
        dut.s_axis_wr_desc_status_valid.value = 0
        if pending:
            addr, at, n, tag, err = pending.pop(random.randrange(len(pending)))
            if err == DMA_OK:
                mem().write(addr, bytes(ram[at:at + n]))
            dut.s_axis_wr_desc_status_tag.value = tag
            dut.s_axis_wr_desc_status_error.value = err
            dut.s_axis_wr_desc_status_valid.value = 1
            on_done()


async def sink_used(dut, used: list, ready_p: Callable[[], float]) -> None:
    """m_axis_used_* with random backpressure; every record appended to ``used`` as a dict."""
    while True:
        dut.m_axis_used_ready.value = int(random.random() < ready_p())
        await RisingEdge(dut.clk)
        if int(dut.m_axis_used_valid.value) and int(dut.m_axis_used_ready.value):
            used.append(dict(func=int(dut.m_axis_used_func.value), queue=int(dut.m_axis_used_queue.value),
                             id=int(dut.m_axis_used_id.value), len=int(dut.m_axis_used_len.value),
                             num_desc=int(dut.m_axis_used_num_desc.value)))


async def feed_buffer(dut, segments: Sequence[Segment], *, func: int, queue: int, buf_id: int, num_desc: int,
                      seg_error: bool = False, rec_error: bool = False, indirect: bool = False,
                      gap: float = 0.3) -> None:
    """One buffer as vio_pring_avail hands it over: its segments (random gaps), then the record."""
    for i, s in enumerate(segments):
        while random.random() < gap:
            await RisingEdge(dut.clk)
        dut.s_axis_seg_addr.value = s.addr
        dut.s_axis_seg_len.value = s.length
        dut.s_axis_seg_write.value = int(s.writable)
        dut.s_axis_seg_error.value = int(seg_error and i == len(segments) - 1)
        dut.s_axis_seg_last.value = int(i == len(segments) - 1)
        dut.s_axis_seg_valid.value = 1
        await RisingEdge(dut.clk)
        while not int(dut.s_axis_seg_ready.value):
            await RisingEdge(dut.clk)
        dut.s_axis_seg_valid.value = 0
    dut.s_axis_buf_func.value = func
    dut.s_axis_buf_queue.value = queue
    dut.s_axis_buf_id.value = buf_id
    dut.s_axis_buf_slot_first.value = random.randrange(1 << 16)
    dut.s_axis_buf_wrap_first.value = random.randrange(2)
    dut.s_axis_buf_num_desc.value = num_desc
    dut.s_axis_buf_indirect.value = int(indirect)
    dut.s_axis_buf_error.value = int(rec_error)
    dut.s_axis_buf_valid.value = 1
    await RisingEdge(dut.clk)
    while not int(dut.s_axis_buf_ready.value):
        await RisingEdge(dut.clk)
    dut.s_axis_buf_valid.value = 0
