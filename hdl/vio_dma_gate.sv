// SPDX-License-Identifier: Apache-2.0
//
// Admission gate in front of a DMA engine: a descriptor whose function has
// bus mastering disabled never reaches the engine (the hard block would drop
// its TLPs and a read would only end by timeout); it is answered at once
// with DMA_ERR_BME on the status stream, merged with the engine's statuses.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_dma_gate #(
    parameter int NUM_FUNC = 2,     // functions (bit f of func_bme = function f)
    parameter int RAM_ADDR_W = 18,  // buffer RAM byte address width
    parameter int LEN_W = 16,       // descriptor length width
    parameter int OP_TAG_W = 8      // descriptor tag width
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    input  wire logic [NUM_FUNC-1:0]    func_bme,      // bus master enable per function

    input  wire logic                   s_axis_desc_valid,
    output logic                        s_axis_desc_ready,
    input  wire logic [7:0]             s_axis_desc_func,
    input  wire logic [63:0]            s_axis_desc_pcie_addr,
    input  wire logic [RAM_ADDR_W-1:0]  s_axis_desc_ram_addr,
    input  wire logic [LEN_W-1:0]       s_axis_desc_len,
    input  wire logic [OP_TAG_W-1:0]    s_axis_desc_tag,

    output logic                        m_axis_desc_valid,
    input  wire logic                   m_axis_desc_ready,
    output logic      [7:0]             m_axis_desc_func,
    output logic      [63:0]            m_axis_desc_pcie_addr,
    output logic      [RAM_ADDR_W-1:0]  m_axis_desc_ram_addr,
    output logic      [LEN_W-1:0]       m_axis_desc_len,
    output logic      [OP_TAG_W-1:0]    m_axis_desc_tag,

    input  wire logic                   s_axis_status_valid,
    input  wire logic [OP_TAG_W-1:0]    s_axis_status_tag,
    input  wire logic [3:0]             s_axis_status_error,

    output logic                        m_axis_status_valid,
    output logic      [OP_TAG_W-1:0]    m_axis_status_tag,
    output logic      [3:0]             m_axis_status_error
);

    import vio_pkg::*;

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_dma_gate: NUM_FUNC must be 1..256");
    end

    // A descriptor once offered to the engine stays offered until taken
    // (AXI-stream: valid may not drop without a handshake), even if bus
    // mastering is cleared meanwhile; the decision is made when it arrives.
    logic offered;
    logic allowed;
    always_comb begin
        allowed = 1'b0;
        for (int f = 0; f < NUM_FUNC; f++) begin
            if (int'(s_axis_desc_func) == f) allowed = func_bme[f];
        end
        if (offered) allowed = 1'b1;
    end

    // one rejected status waits here until the engine's status slot is free
    logic                rej_valid;
    logic [OP_TAG_W-1:0] rej_tag;

    always_comb begin
        m_axis_desc_valid = s_axis_desc_valid && allowed;
        m_axis_desc_func = s_axis_desc_func;
        m_axis_desc_pcie_addr = s_axis_desc_pcie_addr;
        m_axis_desc_ram_addr = s_axis_desc_ram_addr;
        m_axis_desc_len = s_axis_desc_len;
        m_axis_desc_tag = s_axis_desc_tag;
        s_axis_desc_ready = allowed ? m_axis_desc_ready : !rej_valid;
    end

    always_ff @(posedge clk) begin
        m_axis_status_valid <= 1'b0;
        if (s_axis_status_valid) begin
            m_axis_status_valid <= 1'b1;
            m_axis_status_tag <= s_axis_status_tag;
            m_axis_status_error <= s_axis_status_error;
        end else if (rej_valid) begin
            m_axis_status_valid <= 1'b1;
            m_axis_status_tag <= rej_tag;
            m_axis_status_error <= DMA_ERR_BME;
            rej_valid <= 1'b0;
        end
        offered <= m_axis_desc_valid && !m_axis_desc_ready;
        if (s_axis_desc_valid && !allowed && !rej_valid) begin
            rej_valid <= 1'b1;
            rej_tag <= s_axis_desc_tag;
        end
        if (rst) begin
            m_axis_status_valid <= 1'b0;
            rej_valid <= 1'b0;
            offered <= 1'b0;
        end
    end

endmodule

`resetall
