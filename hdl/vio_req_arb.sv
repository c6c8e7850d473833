// SPDX-License-Identifier: Apache-2.0
//
// Round-robin arbiter for single-beat requests (DMA descriptors, interrupt
// requests): PORTS request streams of DATA_W bits in, one out. The grant
// starts after the last port served; a request is held on the output until
// accepted (AXI-stream rules: the output never changes while valid and not
// ready). The served port number is on m_axis_req_port, so the owner can tag
// the request and route its answer back.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_req_arb #(
    parameter int PORTS  = 2,    // request streams
    parameter int DATA_W = 8     // payload bits per request
) (
    input  wire logic                        clk,
    input  wire logic                        rst,

    input  wire logic [PORTS-1:0]            s_axis_req_valid,
    output logic      [PORTS-1:0]            s_axis_req_ready,
    input  wire logic [PORTS*DATA_W-1:0]     s_axis_req_data,     // port p in bits [p*DATA_W +: DATA_W]

    output logic                             m_axis_req_valid,
    input  wire logic                        m_axis_req_ready,
    output logic      [DATA_W-1:0]           m_axis_req_data,
    output logic      [PW-1:0]               m_axis_req_port
);

    localparam int PW = PORTS > 1 ? $clog2(PORTS) : 1;

    initial begin
        if (PORTS < 1 || PORTS > 64) $fatal(1, "vio_req_arb: PORTS must be 1..64");
        if (DATA_W < 1) $fatal(1, "vio_req_arb: DATA_W must be >= 1");
    end

    logic          held;      // a request is on the output, waiting for ready
    logic [PW-1:0] sel;       // its port
    logic [PW-1:0] last;      // port served last (round-robin pointer)
    logic [PW-1:0] pick;
    logic          any;

    // next requesting port after `last`, cyclically
    always_comb begin
        any = 1'b0;
        pick = '0;
        for (int k = 1; k <= PORTS; k++) begin
            logic [PW-1:0] p;
            p = PW'((int'(last) + k) % PORTS);
            if (!any && s_axis_req_valid[p]) begin
                any = 1'b1;
                pick = p;
            end
        end
    end

    wire [PW-1:0] cur = held ? sel : pick;

    assign m_axis_req_valid = held || any;
    assign m_axis_req_data = s_axis_req_data[int'(cur)*DATA_W +: DATA_W];
    assign m_axis_req_port = cur;

    always_comb begin
        s_axis_req_ready = '0;
        if (m_axis_req_valid) s_axis_req_ready[cur] = m_axis_req_ready;
    end

    always_ff @(posedge clk) begin
        if (m_axis_req_valid && m_axis_req_ready) begin
            held <= 1'b0;
            last <= cur;
        end else if (!held && any) begin
            held <= 1'b1;
            sel <= pick;
        end
        if (rst) begin
            held <= 1'b0;
            sel <= '0;
            last <= PW'(PORTS - 1);
        end
    end

endmodule

`resetall
