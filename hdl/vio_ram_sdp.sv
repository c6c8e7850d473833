// SPDX-License-Identifier: Apache-2.0
//
// Simple dual-port buffer RAM: one write port with byte enables, one read
// port with one cycle of latency. Rows are DATA_W bits. Used for the DMA
// buffers (the read engine writes what it fetched, clients read it; clients
// write what the write engine sends).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_ram_sdp #(
    parameter int DATA_W = 512,  // row width in bits
    parameter int ADDR_W = 12    // row address width (rows = 2**ADDR_W)
) (
    input  wire logic                 clk,

    input  wire logic                 wr_en,
    input  wire logic [ADDR_W-1:0]    wr_addr,
    input  wire logic [DATA_W/8-1:0]  wr_be,
    input  wire logic [DATA_W-1:0]    wr_data,

    input  wire logic                 rd_en,
    input  wire logic [ADDR_W-1:0]    rd_addr,
    output logic      [DATA_W-1:0]    rd_data
);

    initial begin
        if (DATA_W % 8 != 0) $fatal(1, "vio_ram_sdp: DATA_W must be a multiple of 8");
    end

    logic [DATA_W-1:0] mem [2**ADDR_W];

    always_ff @(posedge clk) begin
        if (wr_en) begin
            for (int b = 0; b < DATA_W/8; b++) begin
                if (wr_be[b]) mem[wr_addr][b*8 +: 8] <= wr_data[b*8 +: 8];
            end
        end
        if (rd_en) rd_data <= mem[rd_addr];
    end

endmodule

`resetall
