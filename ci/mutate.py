#!/usr/bin/env python3
"""`make mutate`: prove the benches' checkers bite (the shell bench and the device scoreboard).

Each mutation breaks one thing in a scratch copy of hdl/ (never the tree
itself), rebuilds in its own build directory, runs the test that should
catch it, and expects that test to FAIL. The report shows the first line of
each failure message; a mutation that survives makes the run fail.

    ci/mutate.py [--only NAME] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    old: str
    new: str
    test: str  # cocotb test expected to fail
    entry: str = "tests/rtl/test_shell.py"  # pytest file that runs it

DEVICE = "tests/rtl/test_device.py"
CTRLQ = "tests/rtl/test_vio_net_ctrlq.py"
NET_TX = "tests/rtl/test_vio_net_tx.py"


MUTATIONS = [
    Mutation("dma_rd corrupts a byte in the buffer", "vio_dma_rd.sv",
             "ram_wr_data <= m_data;", "ram_wr_data <= m_data ^ 512'h100;", "test_dma_read_sweep"),
    Mutation("dma_rd drops the data of completions for tag 3", "vio_dma_rd.sv",
             "c_wr      = pf_ok && pf_ec == RC_ERR_NORMAL && c_fmt_ok && !c_disc;",
             "c_wr      = pf_ok && pf_ec == RC_ERR_NORMAL && c_fmt_ok && !c_disc && pf_tag != 3;",
             "test_dma_many_outstanding"),
    Mutation("dma_wr flips a payload bit", "vio_dma_wr.sv",
             "m_axis_rq_tdata  <= of_head.data;", "m_axis_rq_tdata  <= of_head.data ^ {1'b1, 511'd0};",
             "test_dma_write_sweep"),
    Mutation("dma_wr sends every write as function 0 (isolation)", "vio_dma_wr.sv",
             "s1_ctl.func     <= c_func;", "s1_ctl.func     <= 8'd0;", "test_dma_write_sweep"),
    Mutation("msix sends the wrong message data", "vio_msix.sv",
             "m_axis_rq_tdata <= {352'd0, msg};", "m_axis_rq_tdata <= {352'd0, msg ^ (160'd1 << 128)};",
             "test_msix_delivery"),
    Mutation("unmapped reads return 1", "vio_reg_demux.sv",
             "s_reg_rsp_rdata <= rd_tgt == T_NONE ? 32'd0 :", "s_reg_rsp_rdata <= rd_tgt == T_NONE ? 32'd1 :",
             "test_unmapped_access"),
    # the device scoreboard (pymodel's Checker) against the ring engine and the blk engine
    Mutation("used descriptor carries the wrong id", "vio_pring_used.sv",
             "buf_wr_data[96 +: 16] <= u_id;", "buf_wr_data[96 +: 16] <= u_id ^ 16'd1;",
             "test_init_and_io_smoke", DEVICE),
    Mutation("used descriptor has the wrong AVAIL wrap bit", "vio_pring_used.sv",
             "{cur_wrap, 7'd0, cur_wrap, 5'd0,", "{cur_wrap, 7'd0, ~cur_wrap, 5'd0,",
             "test_init_and_io_smoke", DEVICE),
    Mutation("no used-buffer notification in ENABLE mode", "vio_pring_used.sv",
             "decide = 1'b1;                                   // ENABLE",
             "decide = 1'b0;                                   // ENABLE",
             "test_event_suppression_modes", DEVICE),
    Mutation("notification although the driver said DISABLE", "vio_pring_used.sv",
             "decide = 1'b0;                                   // DISABLE",
             "decide = !(cur_slot == old_slot && cur_wrap == old_wrap); // DISABLE",
             "test_event_suppression_modes", DEVICE),
    Mutation("blk IN data byte corrupted", "vio_blk_req.sv",
             "buf_wr_data <= s_axis_be_rd_tdata;", "buf_wr_data <= s_axis_be_rd_tdata ^ 512'h100;",
             "test_init_and_io_smoke", DEVICE),
    # the control-queue engine against pymodel's NetCtrl playing the firmware
    Mutation("control command byte corrupted in the mailbox", "vio_net_ctrlq.sv",
             "cmd_buf[512 * 32'(row_i) +: 512] <= cap_data;", "cmd_buf[512 * 32'(row_i) +: 512] <= cap_data ^ 512'h100;",
             "test_random_commands", CTRLQ),
    Mutation("firmware timeout answers OK instead of VIRTIO_NET_ERR", "vio_net_ctrlq.sv",
             "buf_wr_data <= {504'd0, ACK_ERR};", "buf_wr_data <= {504'd0, 8'd0};", "test_firmware_timeout", CTRLQ),
    Mutation("control response not clamped to the writable room", "vio_net_ctrlq.sv",
             "if (64'(done_n) > wr_bytes) done_n = wr_bytes[31:0];", "", "test_rsp_len_clamped", CTRLQ),
    # the TX engine against pymodel's extract_tx (and scapy's checksums)
    Mutation("TX checksum of an odd csum_start not byte-swapped", "vio_net_tx.sv",
             "csum <= ~(h_cs_start[0] ? {fold2[7:0], fold2[15:8]} : fold2);", "csum <= ~fold2;",
             "test_csum_offload", NET_TX),
    Mutation("TX last beat keeps every byte", "vio_net_tx.sv",
             "q_keep[q_wp] <= (sp_row == last_row) ? tail_keep : '1;", "q_keep[q_wp] <= '1;",
             "test_random_mix", NET_TX),
    Mutation("TX gso_type not a DEVICE_NEEDS_RESET", "vio_net_tx.sv",
             "else if (h_gso != 8'd0 || (h_needs_csum && !neg_csum))", "else if (h_needs_csum && !neg_csum)",
             "test_bad_inputs", NET_TX),
    # the device scoreboard on virtio-net (RTL + firmware in the loop, tb/device/test_device_net.py)
    Mutation("coalescing ignored: every notification at once (early)", "vio_irq_coal.sv",
             "wire            active = coal_rd_pkts != 32'd0 && coal_rd_usecs != 32'd0;",
             "wire            active = 1'b0;", "test_net_coalescing", DEVICE),
    Mutation("coalescing timer never expires (late)", "vio_irq_coal.sv",
             "|| TS_W'(now_us - o_start) >= TS_W'(coal_rd_usecs));", ");", "test_net_coalescing", DEVICE),
    Mutation("RX num_buffers off by one", "vio_net_rx.sv",
             "buf_wr_data <= 512'(n_bufs) << (8 * (64 - 32'(hdr_size) + 10));",
             "buf_wr_data <= 512'(n_bufs + 1'b1) << (8 * (64 - 32'(hdr_size) + 10));",
             "test_net_rx_mergeable", DEVICE),
    Mutation("DMA reads of VF 6 carry VF 7's requester ID (SR-IOV isolation)", "vio_dma_rd.sv",
             "8'h00, iss_func,         // requester ID: bus (core), function",
             "8'h00, iss_func == 8'd6 ? 8'd7 : iss_func,",
             "test_sriov_traffic_all_functions", DEVICE),
    Mutation("FLR completes before the function's drain (VF)", "vio_device_top.sv",
             "wire [NUM_FUNC-1:0] flr_ready = flr_inproc & flr_drained & ~msix_rst_busy & ~flr_sent;",
             "wire [NUM_FUNC-1:0] flr_ready = flr_inproc & ~flr_sent;",
             "test_sriov_flr_outstanding_read", DEVICE),
    Mutation("RX frame byte corrupted on its way to the driver", "vio_net_rx.sv",
             "buf_wr_data <= s_axis_rx_tdata;", "buf_wr_data <= s_axis_rx_tdata ^ 512'h100;",
             "test_net_rx_mergeable", DEVICE),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="run only mutations whose name contains this")
    ap.add_argument("--seed", default=os.environ.get("SEED") or "1")
    args = ap.parse_args()
    build = Path(os.environ.get("BUILD_DIR", ROOT / "build")).resolve() / "mutate"
    survivors = []
    for i, m in enumerate(MUTATIONS):
        if args.only and args.only not in m.name:
            continue
        with tempfile.TemporaryDirectory(prefix="vio-mutant-") as tmp:
            hdl = Path(tmp) / "hdl"
            shutil.copytree(ROOT / "hdl", hdl)
            src = (hdl / m.file).read_text()
            if src.count(m.old) != 1:
                print(f"[{m.name}] cannot apply: the original text occurs {src.count(m.old)} times in {m.file}")
                survivors.append(m.name)
                continue
            (hdl / m.file).write_text(src.replace(m.old, m.new))
            env = dict(os.environ, HDL_DIR=str(hdl), BUILD_DIR=str(build / f"m{i}"))
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", m.entry,
                   f"--test={m.test}", f"--seed={args.seed}"]
            r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        out = r.stdout + r.stderr
        if r.returncode == 0:
            print(f"SURVIVED  {m.name}: {m.test} still passes")
            survivors.append(m.name)
            continue
        msg = next((ln.strip()[2:].strip() for ln in out.splitlines()
                    if ln.startswith("E ") and ("t=" in ln or "expected" in ln)), "(see log)")
        print(f"caught    {m.name}: {m.test} fails: {msg[:200]}")
    print(f"\n{len(survivors)} mutation(s) survived" if survivors else "\nevery mutation was caught")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
