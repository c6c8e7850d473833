// SPDX-License-Identifier: Apache-2.0
//
// Bench top (not part of the device): vio_shell_top with the virtio transport
// in the application window instead of the scratchpad -- vio_pcie_shell +
// vio_virtio_regs + vio_virtio_caps, the cfg_ext_* ports of the hard block
// brought out for the cfg_ext model (tb/pcie/cfg_ext.py). The ring-engine
// side of vio_virtio_regs is stubbed: resets drain at once, notifications are
// brought out (always accepted), configuration interrupts are accepted and
// dropped. Used by tb/virtio_regs/test_virtio_caps_shell.py with ShellBench.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_virtio_shell_tb #(
    parameter int NUM_FUNC = 2,          // functions (PFs)
    parameter int MSIX_VEC = 64,         // MSI-X vectors per function
    parameter int RAM_ADDR_W = 18,       // DMA buffer RAM byte address width
    parameter int LEN_W = 16,            // DMA descriptor length width (bytes)
    parameter int OP_TAG_W = 8,          // DMA descriptor tag width
    parameter int PCIE_TAG_COUNT = 32,   // PCIe tags for DMA reads
    parameter int RD_OP_COUNT = 16,      // DMA read descriptors in flight
    parameter int CPL_TIMEOUT = 65536,   // DMA read completion timeout, cycles
    parameter logic [63:0] BLK_CAPACITY = 64'h0000_0001_2345_6789   // capacity of every blk function
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

    // configuration extend interface of the hard block
    input  wire logic                   cfg_ext_read_received,
    input  wire logic                   cfg_ext_write_received,
    input  wire logic [9:0]             cfg_ext_register_number,
    input  wire logic [7:0]             cfg_ext_function_number,
    input  wire logic [31:0]            cfg_ext_write_data,
    input  wire logic [3:0]             cfg_ext_write_byte_enable,
    output logic      [31:0]            cfg_ext_read_data,
    output logic                        cfg_ext_read_data_valid,

    // notifications decoded by vio_virtio_regs (always accepted)
    output logic                        notify_valid,
    output logic      [7:0]             notify_func,
    output logic      [15:0]            notify_queue,
    output logic      [31:0]            notify_data,


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
        .*
    );

    // ------------------------------------------------------------ virtio transport
    localparam logic [NUM_FUNC*16-1:0] NUM_QUEUES = {16'd2, 16'd5};   // vio_virtio_regs defaults

    logic [NUM_FUNC-1:0] reset_req, live;
    logic                cfg_irq_valid;
    logic [7:0]          cfg_irq_func;
    logic [10:0]         cfg_irq_vec;
    logic                qr_valid;
    logic [7:0]          qr_func;
    logic [15:0]         qr_queue;
    logic                drop;
    logic [31:0]         drop_count;
    logic                ctx_valid, ctx_enable, ctx_live;
    logic [15:0]         ctx_size, ctx_vector;
    logic [63:0]         ctx_desc, ctx_driver, ctx_device;
    logic [127:0]        ctx_features;

    vio_virtio_regs #(
        .NUM_FUNC(NUM_FUNC),
        .REG_ADDR_W(REG_ADDR_W),
        .MSIX_VEC(MSIX_VEC),
        .FUNC_NUM_QUEUES(NUM_QUEUES)
    ) virtio_regs_inst (
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
        .s_reg_rsp_rdata(app_rsp_rdata),
        .func_reset_req(reset_req),
        .func_quiesced(reset_req),
        .func_live(live),
        .isr_queue_set('0),
        .isr_cfg_set('0),
        .needs_reset_set('0),
        .blk_capacity({NUM_FUNC{BLK_CAPACITY}}),
        .net_mac({NUM_FUNC{48'h52_54_00_12_34_56}}),
        .net_status({NUM_FUNC{16'h0001}}),
        .m_axis_notify_valid(notify_valid),
        .m_axis_notify_ready(1'b1),
        .m_axis_notify_func(notify_func),
        .m_axis_notify_queue(notify_queue),
        .m_axis_notify_data(notify_data),
        .stat_notify_drop(drop),
        .stat_notify_drop_count(drop_count),
        .m_axis_cfg_irq_valid(cfg_irq_valid),
        .m_axis_cfg_irq_ready(1'b1),
        .m_axis_cfg_irq_func(cfg_irq_func),
        .m_axis_cfg_irq_vec(cfg_irq_vec),
        .ev_queue_reset_valid(qr_valid),
        .ev_queue_reset_func(qr_func),
        .ev_queue_reset_queue(qr_queue),
        .ctx_req_valid(1'b0),
        .ctx_req_func(8'd0),
        .ctx_req_queue(16'd0),
        .ctx_rsp_valid(ctx_valid),
        .ctx_rsp_size(ctx_size),
        .ctx_rsp_enable(ctx_enable),
        .ctx_rsp_vector(ctx_vector),
        .ctx_rsp_desc(ctx_desc),
        .ctx_rsp_driver(ctx_driver),
        .ctx_rsp_device(ctx_device),
        .ctx_rsp_live(ctx_live),
        .ctx_rsp_features(ctx_features)
    );

    vio_virtio_caps #(
        .NUM_FUNC(NUM_FUNC),
        .FUNC_NUM_QUEUES(NUM_QUEUES)
    ) virtio_caps_inst (
        .clk(clk),
        .rst(rst),
        .cfg_ext_read_received(cfg_ext_read_received),
        .cfg_ext_write_received(cfg_ext_write_received),
        .cfg_ext_register_number(cfg_ext_register_number),
        .cfg_ext_function_number(cfg_ext_function_number),
        .cfg_ext_write_data(cfg_ext_write_data),
        .cfg_ext_write_byte_enable(cfg_ext_write_byte_enable),
        .cfg_ext_read_data(cfg_ext_read_data),
        .cfg_ext_read_data_valid(cfg_ext_read_data_valid)
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
