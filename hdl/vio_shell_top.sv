// SPDX-License-Identifier: Apache-2.0
//
// The shell's own top level: vio_pcie_shell with a scratchpad in the
// application window and the two DMA buffer RAMs, whose client ports are
// brought out. The shell bench (tb/shell) and `make bench` drive it through
// cocotbext-pcie's root complex and UltraScale+ model; the bench plays the
// DMA client (descriptors, buffer contents, interrupt requests).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_shell_top #(
    parameter int NUM_FUNC = 2,          // functions (PFs)
    parameter int MSIX_VEC = 64,         // MSI-X vectors per function
    parameter int RAM_ADDR_W = 18,       // DMA buffer RAM byte address width
    parameter int LEN_W = 16,            // DMA descriptor length width (bytes)
    parameter int OP_TAG_W = 8,          // DMA descriptor tag width
    parameter int PCIE_TAG_COUNT = 32,   // PCIe tags for DMA reads
    parameter int RD_OP_COUNT = 16,      // DMA read descriptors in flight
    parameter int CPL_TIMEOUT = 65536    // DMA read completion timeout, cycles
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    // UltraScale+ hard block: requester request
    output logic      [511:0]           m_axis_rq_tdata,
    output logic      [15:0]            m_axis_rq_tkeep,
    output logic                        m_axis_rq_tvalid,
    input  wire logic                   m_axis_rq_tready,
    output logic                        m_axis_rq_tlast,
    output logic      [136:0]           m_axis_rq_tuser,
    // requester completion
    input  wire logic [511:0]           s_axis_rc_tdata,
    input  wire logic [15:0]            s_axis_rc_tkeep,
    input  wire logic                   s_axis_rc_tvalid,
    output logic                        s_axis_rc_tready,
    input  wire logic                   s_axis_rc_tlast,
    input  wire logic [160:0]           s_axis_rc_tuser,
    // completer request
    input  wire logic [511:0]           s_axis_cq_tdata,
    input  wire logic [15:0]            s_axis_cq_tkeep,
    input  wire logic                   s_axis_cq_tvalid,
    output logic                        s_axis_cq_tready,
    input  wire logic                   s_axis_cq_tlast,
    input  wire logic [182:0]           s_axis_cq_tuser,
    // completer completion
    output logic      [511:0]           m_axis_cc_tdata,
    output logic      [15:0]            m_axis_cc_tkeep,
    output logic                        m_axis_cc_tvalid,
    input  wire logic                   m_axis_cc_tready,
    output logic                        m_axis_cc_tlast,
    output logic      [80:0]            m_axis_cc_tuser,
    output logic      [1:0]             pcie_cq_np_req,
    // configuration status
    input  wire logic [1:0]             cfg_max_payload,
    input  wire logic [2:0]             cfg_max_read_req,
    input  wire logic [15:0]            cfg_function_status,
    input  wire logic [3:0]             cfg_interrupt_msix_enable,
    input  wire logic [3:0]             cfg_interrupt_msix_mask,


    // DMA read: host memory -> read buffer RAM
    input  wire logic                   s_axis_rd_desc_valid,
    output logic                        s_axis_rd_desc_ready,
    input  wire logic [7:0]             s_axis_rd_desc_func,
    input  wire logic [63:0]            s_axis_rd_desc_pcie_addr,
    input  wire logic [RAM_ADDR_W-1:0]  s_axis_rd_desc_ram_addr,
    input  wire logic [LEN_W-1:0]       s_axis_rd_desc_len,
    input  wire logic [OP_TAG_W-1:0]    s_axis_rd_desc_tag,
    output logic                        m_axis_rd_desc_status_valid,
    output logic      [OP_TAG_W-1:0]    m_axis_rd_desc_status_tag,
    output logic      [3:0]             m_axis_rd_desc_status_error,

    // DMA write: write buffer RAM -> host memory
    input  wire logic                   s_axis_wr_desc_valid,
    output logic                        s_axis_wr_desc_ready,
    input  wire logic [7:0]             s_axis_wr_desc_func,
    input  wire logic [63:0]            s_axis_wr_desc_pcie_addr,
    input  wire logic [RAM_ADDR_W-1:0]  s_axis_wr_desc_ram_addr,
    input  wire logic [LEN_W-1:0]       s_axis_wr_desc_len,
    input  wire logic [OP_TAG_W-1:0]    s_axis_wr_desc_tag,
    output logic                        m_axis_wr_desc_status_valid,
    output logic      [OP_TAG_W-1:0]    m_axis_wr_desc_status_tag,
    output logic      [3:0]             m_axis_wr_desc_status_error,

    // bench access to the buffers: read what DMA reads fetched, write what DMA writes send
    input  wire logic                   buf_rd_en,
    input  wire logic [RAM_ADDR_W-7:0]  buf_rd_addr,
    output logic      [511:0]           buf_rd_data,
    input  wire logic                   buf_wr_en,
    input  wire logic [RAM_ADDR_W-7:0]  buf_wr_addr,
    input  wire logic [63:0]            buf_wr_be,
    input  wire logic [511:0]           buf_wr_data,

    // interrupt requests
    input  wire logic                   s_axis_irq_valid,
    output logic                        s_axis_irq_ready,
    input  wire logic [7:0]             s_axis_irq_func,
    input  wire logic [10:0]            s_axis_irq_vec
);

    localparam int REG_ADDR_W = 24;

    logic                  app_req_valid, app_req_ready, app_req_we;
    logic [7:0]            app_req_func;
    logic [2:0]            app_req_bar;
    logic [REG_ADDR_W-1:0] app_req_addr;
    logic [3:0]            app_req_be;
    logic [31:0]           app_req_wdata;
    logic                  app_rsp_valid;
    logic [31:0]           app_rsp_rdata;

    logic                  ram_wr_en, ram_rd_en;
    logic [RAM_ADDR_W-7:0] ram_wr_addr, ram_rd_addr;
    logic [63:0]           ram_wr_be;
    logic [511:0]          ram_wr_data, ram_rd_data;

    /* verilator lint_off UNUSEDSIGNAL */
    logic [NUM_FUNC-1:0] func_reset_busy_unused;   // no function resets in this top
    /* verilator lint_on UNUSEDSIGNAL */

    vio_pcie_shell #(
        .NUM_FUNC(NUM_FUNC),
        .MSIX_VEC(MSIX_VEC),
        .REG_ADDR_W(REG_ADDR_W),
        .RAM_ADDR_W(RAM_ADDR_W),
        .LEN_W(LEN_W),
        .OP_TAG_W(OP_TAG_W),
        .PCIE_TAG_COUNT(PCIE_TAG_COUNT),
        .RD_OP_COUNT(RD_OP_COUNT),
        .CPL_TIMEOUT(CPL_TIMEOUT)
    ) shell_inst (
        .m_app_reg_req_valid(app_req_valid),
        .m_app_reg_req_ready(app_req_ready),
        .m_app_reg_req_we(app_req_we),
        .m_app_reg_req_func(app_req_func),
        .m_app_reg_req_bar(app_req_bar),
        .m_app_reg_req_addr(app_req_addr),
        .m_app_reg_req_be(app_req_be),
        .m_app_reg_req_wdata(app_req_wdata),
        .m_app_reg_rsp_valid(app_rsp_valid),
        .m_app_reg_rsp_rdata(app_rsp_rdata),
        .ram_wr_en(ram_wr_en),
        .ram_wr_addr(ram_wr_addr),
        .ram_wr_be(ram_wr_be),
        .ram_wr_data(ram_wr_data),
        .ram_rd_en(ram_rd_en),
        .ram_rd_addr(ram_rd_addr),
        .ram_rd_data(ram_rd_data),
        .cfg_vf_status(504'd0),                  // PFs only
        .cfg_interrupt_msix_vf_enable(252'd0),
        .cfg_interrupt_msix_vf_mask(252'd0),
        .func_reset('0),
        .func_reset_busy(func_reset_busy_unused),
        .*
    );

    vio_reg_scratch #(
        .REG_ADDR_W(REG_ADDR_W),
        .NUM_FUNC(NUM_FUNC),
        .SIZE_W(13)
    ) scratch_inst (
        .clk(clk),
        .rst(rst),
        .s_reg_req_valid(app_req_valid),
        .s_reg_req_ready(app_req_ready),
        .s_reg_req_we(app_req_we),
        .s_reg_req_func(app_req_func),
        .s_reg_req_bar(app_req_bar),
        .s_reg_req_addr(app_req_addr),
        .s_reg_req_be(app_req_be),
        .s_reg_req_wdata(app_req_wdata),
        .s_reg_rsp_valid(app_rsp_valid),
        .s_reg_rsp_rdata(app_rsp_rdata)
    );

    // DMA read engine -> read buffer -> bench
    vio_ram_sdp #(.DATA_W(512), .ADDR_W(RAM_ADDR_W-6)) rd_buf_inst (
        .clk(clk),
        .wr_en(ram_wr_en), .wr_addr(ram_wr_addr), .wr_be(ram_wr_be), .wr_data(ram_wr_data),
        .rd_en(buf_rd_en), .rd_addr(buf_rd_addr), .rd_data(buf_rd_data)
    );

    // bench -> write buffer -> DMA write engine
    vio_ram_sdp #(.DATA_W(512), .ADDR_W(RAM_ADDR_W-6)) wr_buf_inst (
        .clk(clk),
        .wr_en(buf_wr_en), .wr_addr(buf_wr_addr), .wr_be(buf_wr_be), .wr_data(buf_wr_data),
        .rd_en(ram_rd_en), .rd_addr(ram_rd_addr), .rd_data(ram_rd_data)
    );

endmodule

`resetall
