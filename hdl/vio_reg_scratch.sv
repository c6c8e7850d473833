// SPDX-License-Identifier: Apache-2.0
//
// Scratchpad register target: SIZE bytes of byte-writable memory per
// function, read with one cycle of latency. Stands in for the application
// register window in the shell's own top level, so BAR accesses of every
// width and byte-enable pattern have a memory-like target to check against.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_reg_scratch #(
    parameter int REG_ADDR_W = 24,  // BAR offset width
    parameter int NUM_FUNC = 2,     // functions, each with its own memory
    parameter int SIZE_W = 13       // bytes per function = 2**SIZE_W
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    input  wire logic                   s_reg_req_valid,
    output logic                        s_reg_req_ready,
    input  wire logic                   s_reg_req_we,
    /* verilator lint_off UNUSEDSIGNAL */
    // the demux matched BAR and window; only the function index and the
    // DWORD offset inside the window select a word
    input  wire logic [7:0]             s_reg_req_func,
    input  wire logic [2:0]             s_reg_req_bar,
    input  wire logic [REG_ADDR_W-1:0]  s_reg_req_addr,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire logic [3:0]             s_reg_req_be,
    input  wire logic [31:0]            s_reg_req_wdata,
    output logic                        s_reg_rsp_valid,
    output logic      [31:0]            s_reg_rsp_rdata
);

    localparam int FUNC_W = NUM_FUNC > 1 ? $clog2(NUM_FUNC) : 1;
    localparam int WORDS_W = SIZE_W - 2;

    initial begin
        if (SIZE_W < 2 || SIZE_W > REG_ADDR_W) $fatal(1, "vio_reg_scratch: SIZE_W out of range");
    end

    logic [31:0] mem [NUM_FUNC << WORDS_W];
    initial begin
        for (int i = 0; i < (NUM_FUNC << WORDS_W); i++) mem[i] = 32'd0;
    end

    wire [FUNC_W-1:0]  f = s_reg_req_func[FUNC_W-1:0];
    wire [WORDS_W-1:0] w = s_reg_req_addr[SIZE_W-1:2];
    wire [FUNC_W+WORDS_W-1:0] idx = {f, w};

    assign s_reg_req_ready = 1'b1;

    always_ff @(posedge clk) begin
        s_reg_rsp_valid <= s_reg_req_valid && !s_reg_req_we;
        if (s_reg_req_valid && !s_reg_req_we) s_reg_rsp_rdata <= mem[idx];
        if (s_reg_req_valid && s_reg_req_we) begin
            for (int b = 0; b < 4; b++) begin
                if (s_reg_req_be[b]) mem[idx][b*8 +: 8] <= s_reg_req_wdata[b*8 +: 8];
            end
        end
        if (rst) s_reg_rsp_valid <= 1'b0;
    end

endmodule

`resetall
