// SPDX-License-Identifier: Apache-2.0
//
// sriov_stub: a tb-only stand-in for the device RTL behind the UltraScale+
// hard-block model, for the SR-IOV / FLR model bench (tb/pcie_sriov). 512-bit
// AXI-Stream interfaces, one beat per TLP (requests of at most 1 DWORD).
//
// * CQ memory read (one DWORD): answered on CC with one DWORD
//   {8'h5A, 5'd0, bar_id[2:0], target_function[7:0], addr[9:2]}, byte count and
//   lower address from first_be. While that completion waits, CQ is not ready.
//   Other CQ requests (writes, reads longer than 1 DWORD: answered as above,
//   1 DWORD) are accepted; a write is recorded: wr_count increments and
//   wr_fn / wr_bar / wr_addr / wr_data hold the last one.
// * RQ: a one-cycle dma_go issues one DWORD memory write (dma_write = 1, data
//   dma_data) or read to dma_addr, requester function dma_fn (RQ descriptor
//   requester ID low byte, requester ID enable 0), tag dma_tag. dma_busy while
//   the beat waits for tready; dma_go while busy is ignored.
// * RC: always ready; every completion beat with SOP increments rc_count and
//   records its descriptor (rc_desc, 96 bits) and first payload DWORD (rc_data).
// * FLR: PF p (p < 4) / VF v (v < NUM_VF): once its in_process input has been
//   high for flr_delay cycles, one done pulse (cfg_flr_done[p] /
//   cfg_vf_flr_done + cfg_vf_flr_func_num = v; one VF per cycle, lowest
//   first), then nothing until in_process falls. flr_never = 1 never answers
//   (the model's timeout). force_flr_done / force_vf_flr_done (+
//   force_vf_flr_num) are OR-ed in for one cycle each: spurious dones.
// Bad inputs: CQ packets longer than one beat are consumed beat by beat (only
// the first is decoded); an RC beat without SOP is ignored; in_process of a
// VF >= NUM_VF is never answered.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module sriov_stub #(
    parameter int NUM_VF = 16  // VFs whose FLR the stub answers (global VF index 0..NUM_VF-1)
) (
    input  wire logic          clk,
    input  wire logic          rst,

    output logic [511:0]       m_axis_rq_tdata,
    output logic [15:0]        m_axis_rq_tkeep,
    output logic               m_axis_rq_tvalid,
    input  wire logic          m_axis_rq_tready,
    output logic               m_axis_rq_tlast,
    output logic [136:0]       m_axis_rq_tuser,

    input  wire logic [511:0]  s_axis_rc_tdata,
    input  wire logic [15:0]   s_axis_rc_tkeep,
    input  wire logic          s_axis_rc_tvalid,
    output logic               s_axis_rc_tready,
    input  wire logic          s_axis_rc_tlast,
    input  wire logic [160:0]  s_axis_rc_tuser,

    input  wire logic [511:0]  s_axis_cq_tdata,
    input  wire logic [15:0]   s_axis_cq_tkeep,
    input  wire logic          s_axis_cq_tvalid,
    output logic               s_axis_cq_tready,
    input  wire logic          s_axis_cq_tlast,
    input  wire logic [182:0]  s_axis_cq_tuser,

    output logic [511:0]       m_axis_cc_tdata,
    output logic [15:0]        m_axis_cc_tkeep,
    output logic               m_axis_cc_tvalid,
    input  wire logic          m_axis_cc_tready,
    output logic               m_axis_cc_tlast,
    output logic [80:0]        m_axis_cc_tuser,
    output logic [1:0]         pcie_cq_np_req,

    input  wire logic [15:0]   cfg_function_status,
    input  wire logic [503:0]  cfg_vf_status,
    input  wire logic [3:0]    cfg_interrupt_msix_enable,
    input  wire logic [3:0]    cfg_interrupt_msix_mask,
    input  wire logic [251:0]  cfg_interrupt_msix_vf_enable,
    input  wire logic [251:0]  cfg_interrupt_msix_vf_mask,
    input  wire logic [3:0]    cfg_flr_in_process,
    output logic [3:0]         cfg_flr_done,
    input  wire logic [251:0]  cfg_vf_flr_in_process,
    output logic [7:0]         cfg_vf_flr_func_num,
    output logic               cfg_vf_flr_done,

    // test controls
    input  wire logic          dma_go,
    input  wire logic          dma_write,
    input  wire logic [7:0]    dma_fn,
    input  wire logic [63:0]   dma_addr,
    input  wire logic [31:0]   dma_data,
    input  wire logic [7:0]    dma_tag,
    output logic               dma_busy,
    output logic [31:0]        rc_count,
    output logic [95:0]        rc_desc,
    output logic [31:0]        rc_data,
    output logic [31:0]        wr_count,
    output logic [7:0]         wr_fn,
    output logic [2:0]         wr_bar,
    output logic [63:0]        wr_addr,
    output logic [31:0]        wr_data,
    input  wire logic [15:0]   flr_delay,
    input  wire logic          flr_never,
    input  wire logic [3:0]    force_flr_done,
    input  wire logic          force_vf_flr_done,
    input  wire logic [7:0]    force_vf_flr_num
);
    initial begin
        if (NUM_VF < 1 || NUM_VF > 252) $fatal(1, "sriov_stub: NUM_VF %0d outside 1..252", NUM_VF);
    end

    // ------------------------------------------------------------------ CQ -> CC
    logic cq_mid;           // inside a multi-beat CQ packet
    logic cc_pend;
    assign s_axis_cq_tready = !cc_pend;
    assign pcie_cq_np_req   = 2'b01;
    assign m_axis_cc_tuser  = '0;

    wire       cq_sop   = s_axis_cq_tvalid && s_axis_cq_tready && !cq_mid;
    wire [3:0] cq_type  = s_axis_cq_tdata[78:75];
    wire [3:0] cq_fbe   = s_axis_cq_tuser[3:0];

    function automatic logic [1:0] be_off(input logic [3:0] be);
        return be[0] ? 2'd0 : be[1] ? 2'd1 : be[2] ? 2'd2 : be[3] ? 2'd3 : 2'd0;
    endfunction
    function automatic logic [2:0] be_cnt(input logic [3:0] be);
        return be[3] ? 3'(4 - be_off(be)) : be[2] ? 3'(3 - be_off(be)) : be[1] ? 3'(2 - be_off(be)) : 3'd1;
    endfunction

    always_ff @(posedge clk) begin
        if (s_axis_cq_tvalid && s_axis_cq_tready) cq_mid <= !s_axis_cq_tlast;
        if (m_axis_cc_tvalid && m_axis_cc_tready) begin
            m_axis_cc_tvalid <= 1'b0;
            cc_pend <= 1'b0;
        end
        if (cq_sop && cq_type == 4'd0) begin
            cc_pend <= 1'b1;
            m_axis_cc_tvalid <= 1'b1;
            m_axis_cc_tdata <= '0;
            m_axis_cc_tdata[6:0]   <= {s_axis_cq_tdata[6:2], be_off(cq_fbe)};   // lower address
            m_axis_cc_tdata[28:16] <= 13'(be_cnt(cq_fbe));                       // byte count
            m_axis_cc_tdata[42:32] <= 11'd1;                                     // dword count
            m_axis_cc_tdata[63:48] <= s_axis_cq_tdata[95:80];                    // requester ID
            m_axis_cc_tdata[71:64] <= s_axis_cq_tdata[103:96];                   // tag
            m_axis_cc_tdata[79:72] <= s_axis_cq_tdata[111:104];                  // completer fn
            m_axis_cc_tdata[91:89] <= s_axis_cq_tdata[123:121];                  // tc
            m_axis_cc_tdata[94:92] <= s_axis_cq_tdata[126:124];                  // attr
            m_axis_cc_tdata[127:96] <= {8'h5A, 5'd0, s_axis_cq_tdata[114:112], s_axis_cq_tdata[111:104],
                                        s_axis_cq_tdata[9:2]};
            m_axis_cc_tkeep <= 16'h000F;
            m_axis_cc_tlast <= 1'b1;
        end
        if (cq_sop && cq_type == 4'd1) begin
            wr_count <= wr_count + 1;
            wr_fn    <= s_axis_cq_tdata[111:104];
            wr_bar   <= s_axis_cq_tdata[114:112];
            wr_addr  <= {s_axis_cq_tdata[63:2], 2'b00};
            wr_data  <= s_axis_cq_tdata[159:128];
        end
        if (rst) begin
            cq_mid <= 1'b0;
            cc_pend <= 1'b0;
            m_axis_cc_tvalid <= 1'b0;
            m_axis_cc_tdata <= '0;
            m_axis_cc_tkeep <= '0;
            m_axis_cc_tlast <= 1'b0;
            wr_count <= '0;
            wr_fn <= '0;
            wr_bar <= '0;
            wr_addr <= '0;
            wr_data <= '0;
        end
    end

    // ------------------------------------------------------------------ RQ
    assign dma_busy = m_axis_rq_tvalid;
    always_ff @(posedge clk) begin
        if (m_axis_rq_tvalid && m_axis_rq_tready) m_axis_rq_tvalid <= 1'b0;
        if (dma_go && !m_axis_rq_tvalid) begin
            m_axis_rq_tvalid <= 1'b1;
            m_axis_rq_tdata <= '0;
            m_axis_rq_tdata[63:0]  <= {dma_addr[63:2], 2'b00};
            m_axis_rq_tdata[74:64] <= 11'd1;                           // dword count
            m_axis_rq_tdata[78:75] <= dma_write ? 4'd1 : 4'd0;         // MWr / MRd
            m_axis_rq_tdata[95:80] <= {8'h00, dma_fn};                 // requester ID (fn)
            m_axis_rq_tdata[103:96] <= dma_tag;
            m_axis_rq_tdata[159:128] <= dma_data;
            m_axis_rq_tkeep <= dma_write ? 16'h001F : 16'h000F;
            m_axis_rq_tuser <= '0;
            m_axis_rq_tuser[3:0] <= 4'hF;                              // first_be
            m_axis_rq_tuser[20] <= 1'b1;                               // is_sop[0]
            m_axis_rq_tuser[26] <= 1'b1;                               // is_eop[0]
            m_axis_rq_tuser[31:28] <= dma_write ? 4'd4 : 4'd3;         // is_eop0_ptr
            m_axis_rq_tlast <= 1'b1;
        end
        if (rst) begin
            m_axis_rq_tvalid <= 1'b0;
            m_axis_rq_tdata <= '0;
            m_axis_rq_tkeep <= '0;
            m_axis_rq_tuser <= '0;
            m_axis_rq_tlast <= 1'b0;
        end
    end

    // ------------------------------------------------------------------ RC
    assign s_axis_rc_tready = 1'b1;
    logic rc_mid;
    always_ff @(posedge clk) begin
        if (s_axis_rc_tvalid) begin
            rc_mid <= !s_axis_rc_tlast;
            if (!rc_mid) begin
                rc_count <= rc_count + 1;
                rc_desc <= s_axis_rc_tdata[95:0];
                rc_data <= s_axis_rc_tdata[127:96];
            end
        end
        if (rst) begin
            rc_mid <= 1'b0;
            rc_count <= '0;
            rc_desc <= '0;
            rc_data <= '0;
        end
    end

    // ------------------------------------------------------------------ FLR
    logic [15:0] pf_wait [4];
    logic [3:0]  pf_sent;
    logic [15:0] vf_wait [NUM_VF];
    logic [NUM_VF-1:0] vf_sent;
    logic [NUM_VF-1:0] vf_ready;
    logic [7:0] vf_pick;
    logic       vf_any;

    always_comb begin
        for (int v = 0; v < NUM_VF; v++)
            vf_ready[v] = cfg_vf_flr_in_process[v] && !vf_sent[v] && vf_wait[v] >= flr_delay && !flr_never;
        vf_any = 1'b0;
        vf_pick = '0;
        for (int v = NUM_VF - 1; v >= 0; v--) begin
            if (vf_ready[v]) begin
                vf_any = 1'b1;
                vf_pick = 8'(v);
            end
        end
    end

    always_ff @(posedge clk) begin
        cfg_flr_done <= force_flr_done;
        cfg_vf_flr_done <= force_vf_flr_done;
        cfg_vf_flr_func_num <= force_vf_flr_num;
        for (int p = 0; p < 4; p++) begin
            if (!cfg_flr_in_process[p]) begin
                pf_wait[p] <= '0;
                pf_sent[p] <= 1'b0;
            end else if (!pf_sent[p]) begin
                if (pf_wait[p] >= flr_delay && !flr_never) begin
                    cfg_flr_done[p] <= 1'b1;
                    pf_sent[p] <= 1'b1;
                end else if (pf_wait[p] != 16'hFFFF) begin
                    pf_wait[p] <= pf_wait[p] + 1;
                end
            end
        end
        for (int v = 0; v < NUM_VF; v++) begin
            if (!cfg_vf_flr_in_process[v]) begin
                vf_wait[v] <= '0;
                vf_sent[v] <= 1'b0;
            end else if (!vf_sent[v] && vf_wait[v] != 16'hFFFF && !vf_ready[v]) begin
                vf_wait[v] <= vf_wait[v] + 1;
            end
        end
        if (vf_any) begin
            cfg_vf_flr_done <= 1'b1;
            cfg_vf_flr_func_num <= vf_pick;
        end
        for (int v = 0; v < NUM_VF; v++) begin
            if (vf_any && vf_pick == 8'(v)) vf_sent[v] <= 1'b1;
        end
        if (rst) begin
            cfg_flr_done <= '0;
            cfg_vf_flr_done <= 1'b0;
            cfg_vf_flr_func_num <= '0;
            pf_sent <= '0;
            vf_sent <= '0;
            for (int p = 0; p < 4; p++) pf_wait[p] <= '0;
            for (int v = 0; v < NUM_VF; v++) vf_wait[v] <= '0;
        end
    end

    wire unused = ^{s_axis_rc_tkeep, s_axis_rc_tuser, s_axis_cq_tkeep, s_axis_cq_tuser[182:4],
                    s_axis_cq_tdata[511:160], s_axis_cq_tdata[127], s_axis_cq_tdata[120:115],
                    s_axis_cq_tdata[79], s_axis_cq_tdata[74:64], s_axis_cq_tdata[1:0], s_axis_rc_tdata[511:128],
                    cfg_function_status, cfg_vf_status, cfg_interrupt_msix_enable, cfg_interrupt_msix_mask,
                    cfg_interrupt_msix_vf_enable, cfg_interrupt_msix_vf_mask, cfg_vf_flr_in_process[251:NUM_VF],
                    dma_addr[1:0]};
endmodule

`resetall
