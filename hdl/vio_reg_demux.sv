// SPDX-License-Identifier: Apache-2.0
//
// Routes DWORD register accesses (the `reg` interface, see hdl/README.md)
// from the completer to the register blocks by function, BAR and offset.
//
// Targets: 0 = application (virtio structures), 1 = MSI-X table/PBA,
// 2 = shell diagnostics. Anything else is unmapped: reads return 0, writes
// are dropped, and both are reported on stat_unmapped_* so the shell counts
// them. Read responses from different targets are kept in request order by
// not switching targets while reads are outstanding.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_reg_demux #(
    parameter int REG_ADDR_W = 24,            // BAR offset width
    parameter int NUM_FUNC = 2,               // functions with a register map
    parameter int REG_BAR = 0,                // the BAR that holds the register map
    parameter logic [23:0] APP_BASE = 24'h0000,   // application window
    parameter logic [23:0] APP_SIZE = 24'h2000,
    parameter logic [23:0] MSIX_BASE = 24'h2000,  // MSI-X table + PBA window
    parameter logic [23:0] MSIX_SIZE = 24'h2000,
    parameter logic [23:0] DIAG_BASE = 24'h4000,  // shell diagnostics window
    parameter logic [23:0] DIAG_SIZE = 24'h0100,
    parameter int MAX_OUTSTANDING = 32        // reads in flight towards one target
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    // from the completer
    input  wire logic                   s_reg_req_valid,
    output logic                        s_reg_req_ready,
    input  wire logic                   s_reg_req_we,
    input  wire logic [7:0]             s_reg_req_func,
    input  wire logic [2:0]             s_reg_req_bar,
    input  wire logic [REG_ADDR_W-1:0]  s_reg_req_addr,
    input  wire logic [3:0]             s_reg_req_be,
    input  wire logic [31:0]            s_reg_req_wdata,
    output logic                        s_reg_rsp_valid,
    output logic      [31:0]            s_reg_rsp_rdata,

    // to the targets: shared request fields, one valid/ready per target
    output logic      [2:0]             m_reg_req_valid,
    input  wire logic [2:0]             m_reg_req_ready,
    output logic                        m_reg_req_we,
    output logic      [7:0]             m_reg_req_func,
    output logic      [2:0]             m_reg_req_bar,
    output logic      [REG_ADDR_W-1:0]  m_reg_req_addr,
    output logic      [3:0]             m_reg_req_be,
    output logic      [31:0]            m_reg_req_wdata,
    input  wire logic [2:0]             m_reg_rsp_valid,
    input  wire logic [3*32-1:0]        m_reg_rsp_rdata,

    // an access hit no target
    output logic                        stat_unmapped_rd,
    output logic                        stat_unmapped_wr,
    output logic      [7:0]             stat_unmapped_func,
    output logic      [2:0]             stat_unmapped_bar,
    output logic      [REG_ADDR_W-1:0]  stat_unmapped_addr
);

    localparam int CNT_W = $clog2(MAX_OUTSTANDING + 1);
    localparam logic [1:0] T_APP = 2'd0, T_MSIX = 2'd1, T_DIAG = 2'd2, T_NONE = 2'd3;

    initial begin
        if (REG_ADDR_W < 16 || REG_ADDR_W > 24) $fatal(1, "vio_reg_demux: REG_ADDR_W must be 16..24");
        if (APP_BASE + APP_SIZE > MSIX_BASE && MSIX_BASE + MSIX_SIZE > APP_BASE)
            $fatal(1, "vio_reg_demux: APP and MSIX windows overlap");
        if (MSIX_BASE + MSIX_SIZE > DIAG_BASE && DIAG_BASE + DIAG_SIZE > MSIX_BASE)
            $fatal(1, "vio_reg_demux: MSIX and DIAG windows overlap");
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_reg_demux: NUM_FUNC must be 1..256");
    end

    function automatic logic in_win(input logic [23:0] a, input logic [23:0] base, input logic [23:0] size);
        return a >= base && a < base + size;
    endfunction

    // decode
    logic [1:0] tgt;
    always_comb begin
        logic [23:0] a;
        a = 24'(s_reg_req_addr);
        tgt = T_NONE;
        if (int'(s_reg_req_func) < NUM_FUNC && int'(s_reg_req_bar) == REG_BAR) begin
            if (in_win(a, APP_BASE, APP_SIZE)) tgt = T_APP;
            else if (in_win(a, MSIX_BASE, MSIX_SIZE)) tgt = T_MSIX;
            else if (in_win(a, DIAG_BASE, DIAG_SIZE)) tgt = T_DIAG;
        end
    end

    // outstanding reads and the target they went to
    logic [CNT_W-1:0] rd_cnt;
    logic [1:0]       rd_tgt;
    logic             none_rsp;   // pending zero response for an unmapped read

    wire is_rd = !s_reg_req_we;
    wire block = is_rd && rd_cnt != 0 && (rd_tgt != tgt || rd_cnt == CNT_W'(MAX_OUTSTANDING));
    wire tgt_ready = tgt == T_NONE ? 1'b1 : m_reg_req_ready[tgt];

    always_comb begin
        s_reg_req_ready = tgt_ready && !block;
        m_reg_req_valid = '0;
        if (s_reg_req_valid && !block && tgt != T_NONE) m_reg_req_valid[tgt] = 1'b1;
        m_reg_req_we = s_reg_req_we;
        m_reg_req_func = s_reg_req_func;
        m_reg_req_bar = s_reg_req_bar;
        m_reg_req_addr = s_reg_req_addr;
        m_reg_req_be = s_reg_req_be;
        m_reg_req_wdata = s_reg_req_wdata;
    end

    wire fire = s_reg_req_valid && s_reg_req_ready;
    wire rd_fire = fire && is_rd;
    wire rsp_in = rd_tgt == T_NONE ? none_rsp : m_reg_rsp_valid[rd_tgt];

    always_ff @(posedge clk) begin
        s_reg_rsp_valid <= rd_cnt != 0 && rsp_in;
        s_reg_rsp_rdata <= rd_tgt == T_NONE ? 32'd0 : m_reg_rsp_rdata[rd_tgt*32 +: 32];
        none_rsp <= rd_fire && tgt == T_NONE;
        if (rd_fire) rd_tgt <= tgt;
        rd_cnt <= rd_cnt + CNT_W'(rd_fire) - CNT_W'(rd_cnt != 0 && rsp_in);

        stat_unmapped_rd <= rd_fire && tgt == T_NONE;
        stat_unmapped_wr <= fire && s_reg_req_we && tgt == T_NONE;
        stat_unmapped_func <= s_reg_req_func;
        stat_unmapped_bar <= s_reg_req_bar;
        stat_unmapped_addr <= s_reg_req_addr;

        if (rst) begin
            s_reg_rsp_valid <= 1'b0;
            none_rsp <= 1'b0;
            rd_cnt <= '0;
            rd_tgt <= T_NONE;
            stat_unmapped_rd <= 1'b0;
            stat_unmapped_wr <= 1'b0;
        end
    end

endmodule

`resetall
