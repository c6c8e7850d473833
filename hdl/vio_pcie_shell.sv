// SPDX-License-Identifier: Apache-2.0
//
// PCIe endpoint shell on the Xilinx UltraScale+ integrated block (512-bit
// CQ/CC/RQ/RC). Everything a virtio device needs below the virtio logic:
//
//   CQ ─► vio_pcie_cq_reg ─► vio_reg_demux ─┬─► application window (m_app_reg_*)
//   CC ◄──────────┘                          ├─► vio_msix (table + PBA)
//                                            ├─► vio_shell_regs (diagnostics)
//                                            └─► unmapped: read 0, write dropped, counted
//   RQ ◄─ vio_axis_rq_mux ◄─┬─ vio_dma_rd (◄─ RC) ◄─ rd descriptors (vio_dma_gate)
//                           ├─ vio_dma_wr          ◄─ wr descriptors (vio_dma_gate)
//                           └─ vio_msix            ◄─ interrupt requests
//
// BAR0 of every function: 0x0000 application, 0x2000 MSI-X table,
// 0x3000 MSI-X PBA, 0x4000 shell diagnostics; the rest reads 0.
//
// Functions: rows 0..NUM_PF-1 are the PFs, rows NUM_PF..NUM_FUNC-1 the VFs
// (global VF index v = row - NUM_PF), numbered so that the row IS the PCIe
// (ARI) function number: the CQ target function selects the row, and every
// DMA and MSI-X request of row f carries requester function f (docs:
// SR-IOV function numbering, First VF Offset / VF Stride). Per row, from the
// hard block: bus master enable (PF: cfg_function_status[4p+2], VF:
// cfg_vf_status[2v+1]), MSI-X Enable / Function Mask (cfg_interrupt_msix_* /
// cfg_interrupt_msix_vf_*). func_reset[f] (FLR in progress or VF absent)
// resets the function's MSI-X table entries (func_reset_busy[f] until done).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_pcie_shell #(
    parameter int NUM_FUNC = 2,          // functions: NUM_PF PFs, then VFs (1..256)
    parameter int NUM_PF = NUM_FUNC,     // physical functions (1..4: the hard block's PF vectors)
    parameter int MSIX_VEC = 64,         // MSI-X vectors per function
    parameter int REG_ADDR_W = 24,       // BAR offset width on the register bus
    parameter int RAM_ADDR_W = 18,       // DMA buffer RAM byte address width
    parameter int LEN_W = 16,            // DMA descriptor length width (bytes)
    parameter int OP_TAG_W = 8,          // DMA descriptor tag width
    parameter int PCIE_TAG_COUNT = 32,   // PCIe tags for DMA reads (32 without extended tags)
    parameter int RD_OP_COUNT = 16,      // DMA read descriptors in flight
    parameter int CPL_TIMEOUT = 65536    // DMA read completion timeout, cycles (262 us at 250 MHz)
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
    /* verilator lint_off UNUSEDSIGNAL */
    // the hard block reports four PFs and 252 VFs; rows above NUM_FUNC do not exist
    input  wire logic [15:0]            cfg_function_status,
    input  wire logic [3:0]             cfg_interrupt_msix_enable,
    input  wire logic [3:0]             cfg_interrupt_msix_mask,
    input  wire logic [503:0]           cfg_vf_status,          // VF v: bit 2v exists, 2v+1 bus master enable
    input  wire logic [251:0]           cfg_interrupt_msix_vf_enable,
    input  wire logic [251:0]           cfg_interrupt_msix_vf_mask,
    /* verilator lint_on UNUSEDSIGNAL */
    // function resets (FLR in progress / VF absent), level; MSI-X entries swept while busy
    input  wire logic [NUM_FUNC-1:0]    func_reset,
    output logic      [NUM_FUNC-1:0]    func_reset_busy,

    // application register window (BAR0 + 0x0000 .. 0x1FFF)
    output logic                        m_app_reg_req_valid,
    input  wire logic                   m_app_reg_req_ready,
    output logic                        m_app_reg_req_we,
    output logic      [7:0]             m_app_reg_req_func,
    output logic      [2:0]             m_app_reg_req_bar,
    output logic      [REG_ADDR_W-1:0]  m_app_reg_req_addr,
    output logic      [3:0]             m_app_reg_req_be,
    output logic      [31:0]            m_app_reg_req_wdata,
    input  wire logic                   m_app_reg_rsp_valid,
    input  wire logic [31:0]            m_app_reg_rsp_rdata,

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
    output logic                        ram_wr_en,
    output logic      [RAM_ADDR_W-7:0]  ram_wr_addr,
    output logic      [63:0]            ram_wr_be,
    output logic      [511:0]           ram_wr_data,

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
    output logic                        ram_rd_en,
    output logic      [RAM_ADDR_W-7:0]  ram_rd_addr,
    input  wire logic [511:0]           ram_rd_data,

    // interrupt requests
    input  wire logic                   s_axis_irq_valid,
    output logic                        s_axis_irq_ready,
    input  wire logic [7:0]             s_axis_irq_func,
    input  wire logic [10:0]            s_axis_irq_vec
);

    import vio_pkg::*;

    initial begin
        if (NUM_PF < 1 || NUM_PF > 4) $fatal(1, "vio_pcie_shell: NUM_PF must be 1..4 (PF configuration vectors)");
        if (NUM_FUNC < NUM_PF || NUM_FUNC - NUM_PF > 252) $fatal(1, "vio_pcie_shell: NUM_FUNC - NUM_PF (VFs) must be 0..252");
    end

    // ---------------------------------------------------------------- completer
    logic                  reg_req_valid, reg_req_ready, reg_req_we;
    logic [7:0]            reg_req_func;
    logic [2:0]            reg_req_bar;
    logic [REG_ADDR_W-1:0] reg_req_addr;
    logic [3:0]            reg_req_be;
    logic [31:0]           reg_req_wdata;
    logic                  reg_rsp_valid;
    logic [31:0]           reg_rsp_rdata;
    logic                  stat_ur, stat_drop;

    vio_pcie_cq_reg #(
        .REG_ADDR_W(REG_ADDR_W),
        .CPL_SPLIT(64)
    ) cq_reg_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_cq_tdata(s_axis_cq_tdata),
        .s_axis_cq_tkeep(s_axis_cq_tkeep),
        .s_axis_cq_tvalid(s_axis_cq_tvalid),
        .s_axis_cq_tready(s_axis_cq_tready),
        .s_axis_cq_tlast(s_axis_cq_tlast),
        .s_axis_cq_tuser(s_axis_cq_tuser),
        .m_axis_cc_tdata(m_axis_cc_tdata),
        .m_axis_cc_tkeep(m_axis_cc_tkeep),
        .m_axis_cc_tvalid(m_axis_cc_tvalid),
        .m_axis_cc_tready(m_axis_cc_tready),
        .m_axis_cc_tlast(m_axis_cc_tlast),
        .m_axis_cc_tuser(m_axis_cc_tuser),
        .m_reg_req_valid(reg_req_valid),
        .m_reg_req_ready(reg_req_ready),
        .m_reg_req_we(reg_req_we),
        .m_reg_req_func(reg_req_func),
        .m_reg_req_bar(reg_req_bar),
        .m_reg_req_addr(reg_req_addr),
        .m_reg_req_be(reg_req_be),
        .m_reg_req_wdata(reg_req_wdata),
        .m_reg_rsp_valid(reg_rsp_valid),
        .m_reg_rsp_rdata(reg_rsp_rdata),
        .pcie_cq_np_req(pcie_cq_np_req),
        .stat_ur(stat_ur),
        .stat_drop(stat_drop)
    );

    // ---------------------------------------------------------------- register demux
    logic [2:0]            t_req_valid, t_req_ready, t_rsp_valid;
    logic [3*32-1:0]       t_rsp_rdata;
    logic                  t_req_we;
    logic [7:0]            t_req_func;
    logic [2:0]            t_req_bar;
    logic [REG_ADDR_W-1:0] t_req_addr;
    logic [3:0]            t_req_be;
    logic [31:0]           t_req_wdata;
    logic                  um_rd, um_wr;
    logic [7:0]            um_func;
    logic [2:0]            um_bar;
    logic [REG_ADDR_W-1:0] um_addr;

    vio_reg_demux #(
        .REG_ADDR_W(REG_ADDR_W),
        .NUM_FUNC(NUM_FUNC)
    ) reg_demux_inst (
        .clk(clk),
        .rst(rst),
        .s_reg_req_valid(reg_req_valid),
        .s_reg_req_ready(reg_req_ready),
        .s_reg_req_we(reg_req_we),
        .s_reg_req_func(reg_req_func),
        .s_reg_req_bar(reg_req_bar),
        .s_reg_req_addr(reg_req_addr),
        .s_reg_req_be(reg_req_be),
        .s_reg_req_wdata(reg_req_wdata),
        .s_reg_rsp_valid(reg_rsp_valid),
        .s_reg_rsp_rdata(reg_rsp_rdata),
        .m_reg_req_valid(t_req_valid),
        .m_reg_req_ready(t_req_ready),
        .m_reg_req_we(t_req_we),
        .m_reg_req_func(t_req_func),
        .m_reg_req_bar(t_req_bar),
        .m_reg_req_addr(t_req_addr),
        .m_reg_req_be(t_req_be),
        .m_reg_req_wdata(t_req_wdata),
        .m_reg_rsp_valid(t_rsp_valid),
        .m_reg_rsp_rdata(t_rsp_rdata),
        .stat_unmapped_rd(um_rd),
        .stat_unmapped_wr(um_wr),
        .stat_unmapped_func(um_func),
        .stat_unmapped_bar(um_bar),
        .stat_unmapped_addr(um_addr)
    );

    // target 0: application
    assign m_app_reg_req_valid = t_req_valid[0];
    assign t_req_ready[0] = m_app_reg_req_ready;
    assign m_app_reg_req_we = t_req_we;
    assign m_app_reg_req_func = t_req_func;
    assign m_app_reg_req_bar = t_req_bar;
    assign m_app_reg_req_addr = t_req_addr;
    assign m_app_reg_req_be = t_req_be;
    assign m_app_reg_req_wdata = t_req_wdata;
    assign t_rsp_valid[0] = m_app_reg_rsp_valid;
    assign t_rsp_rdata[0*32 +: 32] = m_app_reg_rsp_rdata;

    // ---------------------------------------------------------------- RQ sources
    logic [3*512-1:0] rq_tdata;
    logic [3*16-1:0]  rq_tkeep;
    logic [2:0]       rq_tvalid, rq_tready, rq_tlast;
    logic [3*137-1:0] rq_tuser;

    // target 1: MSI-X (RQ port 2)
    logic irq_sent, irq_pending, irq_dropped;

    // MSI-X Enable / Function Mask per function
    logic [NUM_FUNC-1:0] msix_en, msix_mask;
    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++) begin
            msix_en[f] = f < NUM_PF ? cfg_interrupt_msix_enable[f % 4] : cfg_interrupt_msix_vf_enable[(f - NUM_PF) % 252];
            msix_mask[f] = f < NUM_PF ? cfg_interrupt_msix_mask[f % 4] : cfg_interrupt_msix_vf_mask[(f - NUM_PF) % 252];
        end
    end

    vio_msix #(
        .NUM_FUNC(NUM_FUNC),
        .NUM_VEC(MSIX_VEC),
        .REG_ADDR_W(REG_ADDR_W),
        .TABLE_OFFSET(24'h2000),
        .PBA_OFFSET(24'h3000)
    ) msix_inst (
        .clk(clk),
        .rst(rst),
        .s_reg_req_valid(t_req_valid[1]),
        .s_reg_req_ready(t_req_ready[1]),
        .s_reg_req_we(t_req_we),
        .s_reg_req_func(t_req_func),
        .s_reg_req_bar(t_req_bar),
        .s_reg_req_addr(t_req_addr),
        .s_reg_req_be(t_req_be),
        .s_reg_req_wdata(t_req_wdata),
        .s_reg_rsp_valid(t_rsp_valid[1]),
        .s_reg_rsp_rdata(t_rsp_rdata[1*32 +: 32]),
        .s_axis_irq_valid(s_axis_irq_valid),
        .s_axis_irq_ready(s_axis_irq_ready),
        .s_axis_irq_func(s_axis_irq_func),
        .s_axis_irq_vec(s_axis_irq_vec),
        .cfg_msix_enable(msix_en),
        .cfg_msix_mask(msix_mask),
        .func_reset(func_reset),
        .func_reset_busy(func_reset_busy),
        .m_axis_rq_tdata(rq_tdata[2*512 +: 512]),
        .m_axis_rq_tkeep(rq_tkeep[2*16 +: 16]),
        .m_axis_rq_tvalid(rq_tvalid[2]),
        .m_axis_rq_tready(rq_tready[2]),
        .m_axis_rq_tlast(rq_tlast[2]),
        .m_axis_rq_tuser(rq_tuser[2*137 +: 137]),
        .stat_irq_sent(irq_sent),
        .stat_irq_pending(irq_pending),
        .stat_irq_dropped(irq_dropped)
    );

    // target 2: diagnostics
    logic rd_err, wr_err;

    vio_shell_regs #(
        .REG_ADDR_W(REG_ADDR_W),
        .NUM_FUNC(NUM_FUNC)
    ) shell_regs_inst (
        .clk(clk),
        .rst(rst),
        .s_reg_req_valid(t_req_valid[2]),
        .s_reg_req_ready(t_req_ready[2]),
        .s_reg_req_we(t_req_we),
        .s_reg_req_func(t_req_func),
        .s_reg_req_bar(t_req_bar),
        .s_reg_req_addr(t_req_addr),
        .s_reg_req_be(t_req_be),
        .s_reg_req_wdata(t_req_wdata),
        .s_reg_rsp_valid(t_rsp_valid[2]),
        .s_reg_rsp_rdata(t_rsp_rdata[2*32 +: 32]),
        .stat_unmapped_rd(um_rd),
        .stat_unmapped_wr(um_wr),
        .stat_unmapped_func(um_func),
        .stat_unmapped_bar(um_bar),
        .stat_unmapped_addr(um_addr),
        .stat_dma_rd_err(rd_err),
        .stat_dma_rd_code(m_axis_rd_desc_status_error),
        .stat_dma_wr_err(wr_err),
        .stat_irq_sent(irq_sent),
        .stat_irq_pending(irq_pending),
        .stat_irq_dropped(irq_dropped),
        .stat_cpl_drop(stat_ur || stat_drop),
        .stat_unexp_cpl(unexp_cpl)
    );

    assign rd_err = m_axis_rd_desc_status_valid && m_axis_rd_desc_status_error != DMA_OK;
    assign wr_err = m_axis_wr_desc_status_valid && m_axis_wr_desc_status_error != DMA_OK;

    // bus master enable per function: PF cfg_function_status[4p+2], VF cfg_vf_status[2v+1]
    // (a VF that does not exist has it clear)
    logic [NUM_FUNC-1:0] bme;
    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++)
            bme[f] = f < NUM_PF ? cfg_function_status[4*(f % 4)+2] : cfg_vf_status[2*((f - NUM_PF) % 252)+1];
    end

    // ---------------------------------------------------------------- DMA read (RQ port 0)
    logic                  rdg_valid, rdg_ready;
    logic [7:0]            rdg_func;
    logic [63:0]           rdg_pcie_addr;
    logic [RAM_ADDR_W-1:0] rdg_ram_addr;
    logic [LEN_W-1:0]      rdg_len;
    logic [OP_TAG_W-1:0]   rdg_tag;
    logic                  unexp_cpl;
    logic                  rds_valid;
    logic [OP_TAG_W-1:0]   rds_tag;
    logic [3:0]            rds_error;

    vio_dma_gate #(
        .NUM_FUNC(NUM_FUNC), .RAM_ADDR_W(RAM_ADDR_W), .LEN_W(LEN_W), .OP_TAG_W(OP_TAG_W)
    ) rd_gate_inst (
        .clk(clk),
        .rst(rst),
        .func_bme(bme),
        .s_axis_desc_valid(s_axis_rd_desc_valid),
        .s_axis_desc_ready(s_axis_rd_desc_ready),
        .s_axis_desc_func(s_axis_rd_desc_func),
        .s_axis_desc_pcie_addr(s_axis_rd_desc_pcie_addr),
        .s_axis_desc_ram_addr(s_axis_rd_desc_ram_addr),
        .s_axis_desc_len(s_axis_rd_desc_len),
        .s_axis_desc_tag(s_axis_rd_desc_tag),
        .m_axis_desc_valid(rdg_valid),
        .m_axis_desc_ready(rdg_ready),
        .m_axis_desc_func(rdg_func),
        .m_axis_desc_pcie_addr(rdg_pcie_addr),
        .m_axis_desc_ram_addr(rdg_ram_addr),
        .m_axis_desc_len(rdg_len),
        .m_axis_desc_tag(rdg_tag),
        .s_axis_status_valid(rds_valid),
        .s_axis_status_tag(rds_tag),
        .s_axis_status_error(rds_error),
        .m_axis_status_valid(m_axis_rd_desc_status_valid),
        .m_axis_status_tag(m_axis_rd_desc_status_tag),
        .m_axis_status_error(m_axis_rd_desc_status_error)
    );

    vio_dma_rd #(
        .RAM_ADDR_W(RAM_ADDR_W),
        .LEN_W(LEN_W),
        .OP_TAG_W(OP_TAG_W),
        .OP_COUNT(RD_OP_COUNT),
        .PCIE_TAG_COUNT(PCIE_TAG_COUNT),
        .CPL_TIMEOUT(CPL_TIMEOUT)
    ) dma_rd_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_rd_desc_valid(rdg_valid),
        .s_axis_rd_desc_ready(rdg_ready),
        .s_axis_rd_desc_func(rdg_func),
        .s_axis_rd_desc_pcie_addr(rdg_pcie_addr),
        .s_axis_rd_desc_ram_addr(rdg_ram_addr),
        .s_axis_rd_desc_len(rdg_len),
        .s_axis_rd_desc_tag(rdg_tag),
        .m_axis_rd_desc_status_valid(rds_valid),
        .m_axis_rd_desc_status_tag(rds_tag),
        .m_axis_rd_desc_status_error(rds_error),
        .m_axis_rq_tdata(rq_tdata[0*512 +: 512]),
        .m_axis_rq_tkeep(rq_tkeep[0*16 +: 16]),
        .m_axis_rq_tvalid(rq_tvalid[0]),
        .m_axis_rq_tready(rq_tready[0]),
        .m_axis_rq_tlast(rq_tlast[0]),
        .m_axis_rq_tuser(rq_tuser[0*137 +: 137]),
        .s_axis_rc_tdata(s_axis_rc_tdata),
        .s_axis_rc_tkeep(s_axis_rc_tkeep),
        .s_axis_rc_tvalid(s_axis_rc_tvalid),
        .s_axis_rc_tready(s_axis_rc_tready),
        .s_axis_rc_tlast(s_axis_rc_tlast),
        .s_axis_rc_tuser(s_axis_rc_tuser),
        .ram_wr_en(ram_wr_en),
        .ram_wr_addr(ram_wr_addr),
        .ram_wr_be(ram_wr_be),
        .ram_wr_data(ram_wr_data),
        .cfg_max_read_req(cfg_max_read_req),
        .stat_unexpected_cpl(unexp_cpl)
    );

    // ---------------------------------------------------------------- DMA write (RQ port 1)
    logic                  wrg_valid, wrg_ready;
    logic [7:0]            wrg_func;
    logic [63:0]           wrg_pcie_addr;
    logic [RAM_ADDR_W-1:0] wrg_ram_addr;
    logic [LEN_W-1:0]      wrg_len;
    logic [OP_TAG_W-1:0]   wrg_tag;
    logic                  wrs_valid;
    logic [OP_TAG_W-1:0]   wrs_tag;
    logic [3:0]            wrs_error;

    vio_dma_gate #(
        .NUM_FUNC(NUM_FUNC), .RAM_ADDR_W(RAM_ADDR_W), .LEN_W(LEN_W), .OP_TAG_W(OP_TAG_W)
    ) wr_gate_inst (
        .clk(clk),
        .rst(rst),
        .func_bme(bme),
        .s_axis_desc_valid(s_axis_wr_desc_valid),
        .s_axis_desc_ready(s_axis_wr_desc_ready),
        .s_axis_desc_func(s_axis_wr_desc_func),
        .s_axis_desc_pcie_addr(s_axis_wr_desc_pcie_addr),
        .s_axis_desc_ram_addr(s_axis_wr_desc_ram_addr),
        .s_axis_desc_len(s_axis_wr_desc_len),
        .s_axis_desc_tag(s_axis_wr_desc_tag),
        .m_axis_desc_valid(wrg_valid),
        .m_axis_desc_ready(wrg_ready),
        .m_axis_desc_func(wrg_func),
        .m_axis_desc_pcie_addr(wrg_pcie_addr),
        .m_axis_desc_ram_addr(wrg_ram_addr),
        .m_axis_desc_len(wrg_len),
        .m_axis_desc_tag(wrg_tag),
        .s_axis_status_valid(wrs_valid),
        .s_axis_status_tag(wrs_tag),
        .s_axis_status_error(wrs_error),
        .m_axis_status_valid(m_axis_wr_desc_status_valid),
        .m_axis_status_tag(m_axis_wr_desc_status_tag),
        .m_axis_status_error(m_axis_wr_desc_status_error)
    );

    vio_dma_wr #(
        .RAM_ADDR_W(RAM_ADDR_W),
        .LEN_W(LEN_W),
        .OP_TAG_W(OP_TAG_W)
    ) dma_wr_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_wr_desc_valid(wrg_valid),
        .s_axis_wr_desc_ready(wrg_ready),
        .s_axis_wr_desc_func(wrg_func),
        .s_axis_wr_desc_pcie_addr(wrg_pcie_addr),
        .s_axis_wr_desc_ram_addr(wrg_ram_addr),
        .s_axis_wr_desc_len(wrg_len),
        .s_axis_wr_desc_tag(wrg_tag),
        .m_axis_wr_desc_status_valid(wrs_valid),
        .m_axis_wr_desc_status_tag(wrs_tag),
        .m_axis_wr_desc_status_error(wrs_error),
        .ram_rd_en(ram_rd_en),
        .ram_rd_addr(ram_rd_addr),
        .ram_rd_data(ram_rd_data),
        .m_axis_rq_tdata(rq_tdata[1*512 +: 512]),
        .m_axis_rq_tkeep(rq_tkeep[1*16 +: 16]),
        .m_axis_rq_tvalid(rq_tvalid[1]),
        .m_axis_rq_tready(rq_tready[1]),
        .m_axis_rq_tlast(rq_tlast[1]),
        .m_axis_rq_tuser(rq_tuser[1*137 +: 137]),
        .cfg_max_payload(cfg_max_payload)
    );

    // ---------------------------------------------------------------- RQ arbiter
    vio_axis_rq_mux #(
        .PORTS(3)
    ) rq_mux_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_tdata(rq_tdata),
        .s_axis_tkeep(rq_tkeep),
        .s_axis_tvalid(rq_tvalid),
        .s_axis_tready(rq_tready),
        .s_axis_tlast(rq_tlast),
        .s_axis_tuser(rq_tuser),
        .m_axis_tdata(m_axis_rq_tdata),
        .m_axis_tkeep(m_axis_rq_tkeep),
        .m_axis_tvalid(m_axis_rq_tvalid),
        .m_axis_tready(m_axis_rq_tready),
        .m_axis_tlast(m_axis_rq_tlast),
        .m_axis_tuser(m_axis_rq_tuser)
    );

endmodule

`resetall
