// SPDX-License-Identifier: Apache-2.0
//
// Frame arbiter for the UltraScale+ requester request (RQ) stream: several
// sources (DMA read requests, DMA writes, MSI-X messages) share the hard
// block's single RQ port. Round-robin between frames; a granted source keeps
// the port until tlast. Frames leave in the order they were accepted, so a
// source that waits for its own acceptance before asking another source to
// send (e.g. "data written, now interrupt") keeps PCIe posted ordering.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_axis_rq_mux #(
    parameter int PORTS = 3,           // number of RQ sources
    parameter int DATA_W = 512,        // AXI-stream data width
    parameter int KEEP_W = DATA_W/32,  // tkeep width (one bit per DWORD)
    parameter int USER_W = 137         // RQ tuser width at 512 bits
) (
    input  wire logic                     clk,
    input  wire logic                     rst,

    input  wire logic [PORTS*DATA_W-1:0]  s_axis_tdata,
    input  wire logic [PORTS*KEEP_W-1:0]  s_axis_tkeep,
    input  wire logic [PORTS-1:0]         s_axis_tvalid,
    output logic      [PORTS-1:0]         s_axis_tready,
    input  wire logic [PORTS-1:0]         s_axis_tlast,
    input  wire logic [PORTS*USER_W-1:0]  s_axis_tuser,

    output logic      [DATA_W-1:0]        m_axis_tdata,
    output logic      [KEEP_W-1:0]        m_axis_tkeep,
    output logic                          m_axis_tvalid,
    input  wire logic                     m_axis_tready,
    output logic                          m_axis_tlast,
    output logic      [USER_W-1:0]        m_axis_tuser
);

    localparam int SEL_W = PORTS > 1 ? $clog2(PORTS) : 1;

    initial begin
        if (PORTS < 1) $fatal(1, "vio_axis_rq_mux: PORTS must be >= 1");
        if (KEEP_W * 32 != DATA_W) $fatal(1, "vio_axis_rq_mux: tkeep is one bit per DWORD");
    end

    logic             locked;     // a frame is in progress on port `sel`
    logic [SEL_W-1:0] sel;        // granted port
    logic [SEL_W-1:0] last_sel;   // last granted port (round-robin pointer)

    // next port to grant: first valid port after last_sel, wrapping
    logic [SEL_W-1:0] pick;
    logic             pick_valid;
    always_comb begin
        pick = last_sel;
        pick_valid = 1'b0;
        for (int k = PORTS; k >= 1; k--) begin
            /* verilator lint_off UNUSEDSIGNAL */
            int p;  // only the low SEL_W bits are ever non-zero
            /* verilator lint_on UNUSEDSIGNAL */
            p = (int'(last_sel) + k) % PORTS;
            if (s_axis_tvalid[p]) begin
                pick = SEL_W'(p);
                pick_valid = 1'b1;
            end
        end
    end

    wire [SEL_W-1:0] cur = locked ? sel : pick;
    wire             cur_valid = locked ? s_axis_tvalid[sel] : pick_valid;

    // output register with a ready-driven load (skid-free: output stage
    // accepts a new beat whenever it is empty or being drained)
    wire out_load = !m_axis_tvalid || m_axis_tready;

    always_comb begin
        s_axis_tready = '0;
        if (out_load && cur_valid) s_axis_tready[cur] = 1'b1;
    end

    always_ff @(posedge clk) begin
        if (out_load) begin
            m_axis_tvalid <= cur_valid;
            if (cur_valid) begin
                m_axis_tdata <= s_axis_tdata[cur*DATA_W +: DATA_W];
                m_axis_tkeep <= s_axis_tkeep[cur*KEEP_W +: KEEP_W];
                m_axis_tlast <= s_axis_tlast[cur];
                m_axis_tuser <= s_axis_tuser[cur*USER_W +: USER_W];
                locked <= !s_axis_tlast[cur];
                sel <= cur;
                last_sel <= cur;
            end
        end
        if (rst) begin
            m_axis_tvalid <= 1'b0;
            locked <= 1'b0;
            sel <= '0;
            last_sel <= SEL_W'(PORTS - 1);
        end
    end

endmodule

`resetall
