// SPDX-License-Identifier: Apache-2.0
//
// The virtio device: PCIe shell + modern virtio-pci transport + packed-ring
// engine + virtio-blk request engine, on the UltraScale+ integrated block.
//
//   CQ/CC ─ vio_pcie_shell ─ app window ─ vio_virtio_regs (common/ISR/device cfg, notify)
//   cfg_ext ─ vio_virtio_caps (virtio vendor capabilities from 0xA8)
//   notify ─► vio_pring_avail ─► vio_buf_dispatch ─► vio_blk_req × BLK_ENGINES ─► used ─► vio_pring_used ─► MSI-X
//                                                          └─ vio_be_mux ─ backend stream (m_axis_be_* / s_axis_be_*)
//   RQ/RC ◄─ DMA rd/wr engines ◄─ vio_req_arb (descriptors; statuses routed back by tag)
//
// Every function is virtio-blk in this build (FUNC_TYPE 2); the engines and
// every table are indexed by function, so more functions add rows. Shared
// engines, per-function/per-queue state:
//   * one notification is served at a time by vio_pring_avail, one used
//     record / batch by vio_pring_used; BLK_ENGINES vio_blk_req engines run
//     that many requests at once (vio_buf_dispatch gives each buffer to an
//     idle engine), so requests complete out of order; they share the storage
//     backend port through vio_be_mux (engine number in the backend tag);
//   * DMA descriptor streams of the three engines share the shell's DMA
//     read/write engines through round-robin arbiters; each engine has its own
//     fixed DMA tag (statuses are routed back by tag) and its own region of the
//     buffer RAMs, decoded from the row number (no sharing, no arbitration on
//     the RAM ports):
//       read RAM   rows 0..1  descriptor batches (vio_pring_avail, BATCH = 8)
//                  row  2     driver event suppression word (vio_pring_used)
//                  rows 64 + k*BLK_STRIDE..  engine k: header row + CHUNK data
//       write RAM  row  0     used descriptor staging (vio_pring_used)
//                  rows 64 + k*BLK_STRIDE..  engine k: status/ID row + CHUNK data
//   * interrupt requests (queue: vio_pring_used, configuration change:
//     vio_virtio_regs) share vio_msix through a round-robin arbiter;
//   * a device reset (status 0) of function f completes when no engine holds
//     anything of f (func_quiesced AND of all three).
//
// The storage backend (a DPU's storage engine; the bench's disk model) is
// the m_axis_be_req / m_axis_be_wr / s_axis_be_rd / s_axis_be_rsp port group
// of vio_blk_req. blk_capacity and blk_serial are inputs (the backend /
// firmware know the medium); a capacity change bumps config_generation and
// raises a configuration-change interrupt (vio_virtio_regs).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_device_top #(
    parameter int NUM_FUNC = 2,          // functions (PFs), <= 4 (hard-block PF vectors)
    parameter int MAX_QUEUES = 4,        // queue contexts per function (>= every FUNC_NUM_QUEUES entry)
    parameter int MSIX_VEC = 16,         // MSI-X vectors per function
    // per function f in bits [128f +: 128]: offered feature bits
    //   f0: SIZE_MAX SEG_MAX BLK_SIZE FLUSH MQ INDIRECT_DESC EVENT_IDX VERSION_1 ACCESS_PLATFORM RING_PACKED ORDER_PLATFORM
    //   f1: the same + RO (a read-only disk)
    parameter logic [NUM_FUNC*128-1:0] FUNC_FEATURES = {
        128'h0000_0000_0000_0000_0000_0017_3000_1266,
        128'h0000_0000_0000_0000_0000_0017_3000_1246
    },
    // per function f in bits [16f +: 16]: request queues
    parameter logic [NUM_FUNC*16-1:0] FUNC_NUM_QUEUES = {16'd2, 16'd4},
    // per function f in bits [16f +: 16]: maximum (and reset) queue_size, 1..32768
    parameter logic [NUM_FUNC*16-1:0] FUNC_QUEUE_MAX = {16'd32768, 16'd32768},
    parameter logic [31:0] BLK_SIZE_MAX = 32'h0001_0000,  // blk size_max: bytes per segment (hint)
    parameter logic [31:0] BLK_SEG_MAX = 32'd62,          // blk seg_max: data segments per request (MAX_SEGS - 2)
    parameter int MAX_SEGS = 64,         // descriptors per blk request the engine accepts (more: DEVICE_NEEDS_RESET)
    parameter int CHUNK = 4096,          // blk data staged per DMA round (bytes)
    parameter int BLK_ENGINES = 2,       // blk request engines: requests in flight at once (1..8)
    parameter int BATCH = 8,             // descriptors per descriptor-fetch DMA read
    parameter int USED_BATCH = 8,        // used records per event-suppression evaluation
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
    // configuration extend interface
    input  wire logic                   cfg_ext_read_received,
    input  wire logic                   cfg_ext_write_received,
    input  wire logic [9:0]             cfg_ext_register_number,
    input  wire logic [7:0]             cfg_ext_function_number,
    input  wire logic [31:0]            cfg_ext_write_data,
    input  wire logic [3:0]             cfg_ext_write_byte_enable,
    output logic      [31:0]            cfg_ext_read_data,
    output logic                        cfg_ext_read_data_valid,

    // medium description (backend / firmware)
    input  wire logic [NUM_FUNC*64-1:0]  blk_capacity,     // 512-byte sectors
    input  wire logic [NUM_FUNC*160-1:0] blk_serial,       // GET_ID string, byte 0 in bits [7:0]

    // storage backend
    output logic                        m_axis_be_req_valid,
    input  wire logic                   m_axis_be_req_ready,
    output logic      [3:0]             m_axis_be_req_op,
    output logic      [7:0]             m_axis_be_req_func,
    output logic      [15:0]            m_axis_be_req_queue,
    output logic      [63:0]            m_axis_be_req_sector,
    output logic      [31:0]            m_axis_be_req_count,
    output logic      [7:0]             m_axis_be_req_tag,
    output logic      [511:0]           m_axis_be_wr_tdata,
    output logic      [63:0]            m_axis_be_wr_tkeep,
    output logic                        m_axis_be_wr_tvalid,
    input  wire logic                   m_axis_be_wr_tready,
    output logic                        m_axis_be_wr_tlast,
    input  wire logic [511:0]           s_axis_be_rd_tdata,
    input  wire logic [63:0]            s_axis_be_rd_tkeep,
    input  wire logic                   s_axis_be_rd_tvalid,
    output logic                        s_axis_be_rd_tready,
    input  wire logic                   s_axis_be_rd_tlast,
    input  wire logic                   s_axis_be_rsp_valid,
    output logic                        s_axis_be_rsp_ready,
    input  wire logic [7:0]             s_axis_be_rsp_tag,
    input  wire logic [1:0]             s_axis_be_rsp_status,

    // observability (bench, firmware counters)
    output logic      [NUM_FUNC-1:0]    stat_needs_reset,    // pulse: an engine set DEVICE_NEEDS_RESET of f
    output logic      [31:0]            stat_notify_drop_count
);

    // ------------------------------------------------------------------ parameters
    localparam int REG_ADDR_W = 24;
    localparam int NE = BLK_ENGINES;
    localparam int EW = NE > 1 ? $clog2(NE) : 1;       // engine number bits (backend tag)
    localparam int LEN_W = 16;
    localparam int OP_TAG_W = 8;
    localparam logic [NUM_FUNC*8-1:0] FUNC_TYPE = {NUM_FUNC{8'd2}};

    // buffer RAM regions (rows of 64 bytes)
    localparam int AV_ROW = 0, AV_ROWS = (BATCH * 16 + 63) / 64;
    localparam int EV_ROW = AV_ROW + AV_ROWS;           // used side: event word (read RAM)
    localparam int ST_ROW = 0;                          // used side: staging (write RAM)
    localparam int BLK_ROW = 64;                        // blk engine 0: header / status row, then CHUNK
    localparam int BLK_ROWS = 1 + CHUNK / 64;
    localparam int AV_AW = AV_ROWS > 1 ? $clog2(AV_ROWS) : 1;
    localparam int BLK_AW = $clog2(BLK_ROWS);
    localparam int BLK_STRIDE = 1 << BLK_AW;            // rows between engine regions
    localparam int RAM_ADDR_W = 6 + $clog2(BLK_ROW + NE * BLK_STRIDE);
    localparam int ROW_W = RAM_ADDR_W - 6;

    // DMA tags (statuses are routed by them); blk engine k uses TAG_BLK_* + k
    localparam int TAG_AV_RD = 1, TAG_US_RD = 2, TAG_BLK_RD = 3;
    localparam int TAG_US_WR = 1, TAG_BLK_WR = 2;

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 4) $fatal(1, "vio_device_top: NUM_FUNC must be 1..4");
        if (CHUNK < 512 || CHUNK > 8192 || (CHUNK & (CHUNK - 1)) != 0)
            $fatal(1, "vio_device_top: CHUNK must be a power of 2 in 512..8192");
        if (EV_ROW + 1 > BLK_ROW) $fatal(1, "vio_device_top: BATCH too large for the RAM map");
        if (NE < 1 || NE > 8) $fatal(1, "vio_device_top: BLK_ENGINES must be 1..8");
    end

    // ------------------------------------------------------------------ shell
    logic                  app_req_valid, app_req_ready, app_req_we;
    logic [7:0]            app_req_func;
    logic [2:0]            app_req_bar;
    logic [REG_ADDR_W-1:0] app_req_addr;
    logic [3:0]            app_req_be;
    logic [31:0]           app_req_wdata;
    logic                  app_rsp_valid;
    logic [31:0]           app_rsp_rdata;

    logic                  ram_wr_en, ram_rd_en;
    logic [ROW_W-1:0]      ram_wr_addr, ram_rd_addr;
    logic [63:0]           ram_wr_be;
    logic [511:0]          ram_wr_data, ram_rd_data;

    logic                  rd_desc_valid, rd_desc_ready;
    logic [7:0]            rd_desc_func;
    logic [63:0]           rd_desc_pcie_addr;
    logic [RAM_ADDR_W-1:0] rd_desc_ram_addr;
    logic [LEN_W-1:0]      rd_desc_len;
    logic [OP_TAG_W-1:0]   rd_desc_tag;
    logic                  rd_st_valid;
    logic [OP_TAG_W-1:0]   rd_st_tag;
    logic [3:0]            rd_st_error;

    logic                  wr_desc_valid, wr_desc_ready;
    logic [7:0]            wr_desc_func;
    logic [63:0]           wr_desc_pcie_addr;
    logic [RAM_ADDR_W-1:0] wr_desc_ram_addr;
    logic [LEN_W-1:0]      wr_desc_len;
    logic [OP_TAG_W-1:0]   wr_desc_tag;
    logic                  wr_st_valid;
    logic [OP_TAG_W-1:0]   wr_st_tag;
    logic [3:0]            wr_st_error;

    logic                  irq_valid, irq_ready;
    logic [7:0]            irq_func;
    logic [10:0]           irq_vec;

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
        .clk(clk),
        .rst(rst),
        .m_axis_rq_tdata(m_axis_rq_tdata),
        .m_axis_rq_tkeep(m_axis_rq_tkeep),
        .m_axis_rq_tvalid(m_axis_rq_tvalid),
        .m_axis_rq_tready(m_axis_rq_tready),
        .m_axis_rq_tlast(m_axis_rq_tlast),
        .m_axis_rq_tuser(m_axis_rq_tuser),
        .s_axis_rc_tdata(s_axis_rc_tdata),
        .s_axis_rc_tkeep(s_axis_rc_tkeep),
        .s_axis_rc_tvalid(s_axis_rc_tvalid),
        .s_axis_rc_tready(s_axis_rc_tready),
        .s_axis_rc_tlast(s_axis_rc_tlast),
        .s_axis_rc_tuser(s_axis_rc_tuser),
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
        .pcie_cq_np_req(pcie_cq_np_req),
        .cfg_max_payload(cfg_max_payload),
        .cfg_max_read_req(cfg_max_read_req),
        .cfg_function_status(cfg_function_status),
        .cfg_interrupt_msix_enable(cfg_interrupt_msix_enable),
        .cfg_interrupt_msix_mask(cfg_interrupt_msix_mask),
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
        .s_axis_rd_desc_valid(rd_desc_valid),
        .s_axis_rd_desc_ready(rd_desc_ready),
        .s_axis_rd_desc_func(rd_desc_func),
        .s_axis_rd_desc_pcie_addr(rd_desc_pcie_addr),
        .s_axis_rd_desc_ram_addr(rd_desc_ram_addr),
        .s_axis_rd_desc_len(rd_desc_len),
        .s_axis_rd_desc_tag(rd_desc_tag),
        .m_axis_rd_desc_status_valid(rd_st_valid),
        .m_axis_rd_desc_status_tag(rd_st_tag),
        .m_axis_rd_desc_status_error(rd_st_error),
        .ram_wr_en(ram_wr_en),
        .ram_wr_addr(ram_wr_addr),
        .ram_wr_be(ram_wr_be),
        .ram_wr_data(ram_wr_data),
        .s_axis_wr_desc_valid(wr_desc_valid),
        .s_axis_wr_desc_ready(wr_desc_ready),
        .s_axis_wr_desc_func(wr_desc_func),
        .s_axis_wr_desc_pcie_addr(wr_desc_pcie_addr),
        .s_axis_wr_desc_ram_addr(wr_desc_ram_addr),
        .s_axis_wr_desc_len(wr_desc_len),
        .s_axis_wr_desc_tag(wr_desc_tag),
        .m_axis_wr_desc_status_valid(wr_st_valid),
        .m_axis_wr_desc_status_tag(wr_st_tag),
        .m_axis_wr_desc_status_error(wr_st_error),
        .ram_rd_en(ram_rd_en),
        .ram_rd_addr(ram_rd_addr),
        .ram_rd_data(ram_rd_data),
        .s_axis_irq_valid(irq_valid),
        .s_axis_irq_ready(irq_ready),
        .s_axis_irq_func(irq_func),
        .s_axis_irq_vec(irq_vec)
    );

    // ------------------------------------------------------------------ virtio transport
    localparam int CTX_AV = 0, CTX_US = 1, CTX_BLK = 2;     // engine k: CTX_BLK + k
    localparam int NCTX = 2 + NE;

    logic [NUM_FUNC-1:0] reset_req, quiesced, live;
    logic [NUM_FUNC-1:0] isr_queue_set, needs_reset;
    logic                cfg_irq_valid, cfg_irq_ready;
    logic [7:0]          cfg_irq_func;
    logic [10:0]         cfg_irq_vec;
    logic                qr_valid;
    logic [7:0]          qr_func;
    logic [15:0]         qr_queue;
    logic                notify_valid, notify_ready;
    logic [7:0]          notify_func;
    logic [15:0]         notify_queue;
    logic [31:0]         notify_data;
    logic                notify_drop;

    logic [NUM_FUNC*8-1:0]   mon_status;          // for the management port (firmware), with net functions
    logic [NUM_FUNC*128-1:0] mon_features;
    logic [NUM_FUNC*MAX_QUEUES-1:0] mon_queue_en;

    logic [NCTX-1:0]      ctx_req_valid, ctx_rsp_valid, ctx_rsp_enable, ctx_rsp_live;
    logic [NCTX*8-1:0]    ctx_req_func;
    logic [NCTX*16-1:0]   ctx_req_queue, ctx_rsp_size, ctx_rsp_vector;
    logic [NCTX*64-1:0]   ctx_rsp_desc, ctx_rsp_driver, ctx_rsp_device;
    logic [NCTX*128-1:0]  ctx_rsp_features;

    vio_virtio_regs #(
        .NUM_FUNC(NUM_FUNC),
        .REG_ADDR_W(REG_ADDR_W),
        .MAX_QUEUES(MAX_QUEUES),
        .MSIX_VEC(MSIX_VEC),
        .CTX_PORTS(NCTX),
        .FUNC_TYPE(FUNC_TYPE),
        .FUNC_FEATURES(FUNC_FEATURES),
        .FUNC_NUM_QUEUES(FUNC_NUM_QUEUES),
        .FUNC_QUEUE_MAX(FUNC_QUEUE_MAX),
        .BLK_SIZE_MAX(BLK_SIZE_MAX),
        .BLK_SEG_MAX(BLK_SEG_MAX)
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
        .func_quiesced(quiesced),
        .func_live(live),
        .isr_queue_set(isr_queue_set),
        .isr_cfg_set('0),
        .needs_reset_set(needs_reset),
        .blk_capacity(blk_capacity),
        .net_mac('0),
        .net_status('0),
        .m_axis_notify_valid(notify_valid),
        .m_axis_notify_ready(notify_ready),
        .m_axis_notify_func(notify_func),
        .m_axis_notify_queue(notify_queue),
        .m_axis_notify_data(notify_data),
        .stat_notify_drop(notify_drop),
        .stat_notify_drop_count(stat_notify_drop_count),
        .m_axis_cfg_irq_valid(cfg_irq_valid),
        .m_axis_cfg_irq_ready(cfg_irq_ready),
        .m_axis_cfg_irq_func(cfg_irq_func),
        .m_axis_cfg_irq_vec(cfg_irq_vec),
        .ev_queue_reset_valid(qr_valid),
        .ev_queue_reset_func(qr_func),
        .ev_queue_reset_queue(qr_queue),
        .mon_status(mon_status),
        .mon_features(mon_features),
        .mon_queue_en(mon_queue_en),
        .ctx_req_valid(ctx_req_valid),
        .ctx_req_func(ctx_req_func),
        .ctx_req_queue(ctx_req_queue),
        .ctx_rsp_valid(ctx_rsp_valid),
        .ctx_rsp_size(ctx_rsp_size),
        .ctx_rsp_enable(ctx_rsp_enable),
        .ctx_rsp_vector(ctx_rsp_vector),
        .ctx_rsp_desc(ctx_rsp_desc),
        .ctx_rsp_driver(ctx_rsp_driver),
        .ctx_rsp_device(ctx_rsp_device),
        .ctx_rsp_live(ctx_rsp_live),
        .ctx_rsp_features(ctx_rsp_features)
    );

    vio_virtio_caps #(
        .NUM_FUNC(NUM_FUNC),
        .FUNC_NUM_QUEUES(FUNC_NUM_QUEUES)
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

    // ------------------------------------------------------------------ DMA clients
    // read descriptors: 0 avail, 1 used (event word), 2+k blk engine k; write: 0 used, 1+k blk engine k
    localparam int RD_DW = 8 + 64 + RAM_ADDR_W + LEN_W + OP_TAG_W;
    localparam int WR_DW = RD_DW;

    logic [NE+1:0]          rdc_valid, rdc_ready;
    logic [(NE+2)*RD_DW-1:0] rdc_data;
    logic [NE:0]            wrc_valid, wrc_ready;
    logic [(NE+1)*WR_DW-1:0] wrc_data;

    // avail side
    logic                  av_rd_valid;
    logic [7:0]            av_rd_func;
    logic [63:0]           av_rd_addr;
    logic [RAM_ADDR_W-1:0] av_rd_ram;
    logic [LEN_W-1:0]      av_rd_len;
    logic [OP_TAG_W-1:0]   av_rd_tag;
    logic                  av_buf_rd_en;
    logic [ROW_W-1:0]      av_buf_rd_addr;
    logic [511:0]          av_buf_rd_data;
    logic [NUM_FUNC-1:0]   av_needs_reset, av_quiesced;
    logic                  av_busy;

    // used side
    logic                  us_rd_valid, us_wr_valid;
    logic [7:0]            us_rd_func, us_wr_func;
    logic [63:0]           us_rd_addr, us_wr_addr;
    logic [RAM_ADDR_W-1:0] us_rd_ram, us_wr_ram;
    logic [LEN_W-1:0]      us_rd_len, us_wr_len;
    logic [OP_TAG_W-1:0]   us_rd_tag, us_wr_tag;
    logic                  us_buf_rd_en, us_buf_wr_en;
    logic [ROW_W-1:0]      us_buf_rd_addr, us_buf_wr_addr;
    logic [511:0]          us_buf_rd_data, us_buf_wr_data;
    logic [63:0]           us_buf_wr_be;
    logic                  us_irq_valid, us_irq_ready;
    logic [7:0]            us_irq_func;
    logic [10:0]           us_irq_vec;
    logic [NUM_FUNC-1:0]   us_needs_reset, us_quiesced;
    logic                  us_busy;

    // blk engines (engine k in bits [k*W +: W] / element k)
    logic [NE-1:0]          bk_rd_valid, bk_wr_valid;
    logic [NE*RD_DW-1:0]    bk_rd_data, bk_wr_data;
    logic [NE-1:0]          bk_buf_rd_en, bk_buf_wr_en;
    logic [ROW_W-1:0]       bk_buf_rd_addr [NE];
    logic [ROW_W-1:0]       bk_buf_wr_addr [NE];
    logic [511:0]           bk_buf_rd_data [NE];
    logic [511:0]           bk_buf_wr_data [NE];
    logic [63:0]            bk_buf_wr_be [NE];
    logic [NUM_FUNC-1:0]    bk_needs_reset [NE];
    logic [NUM_FUNC-1:0]    bk_quiesced [NE];
    logic [NE-1:0]          bk_busy;

    // avail -> dispatch -> engines
    logic                  seg_valid, seg_ready, seg_write, seg_error, seg_last;
    logic [63:0]           seg_addr;
    logic [31:0]           seg_len;
    logic                  buf_valid, buf_ready, buf_wrap_first, buf_indirect, buf_error;
    logic [7:0]            buf_func;
    logic [15:0]           buf_queue, buf_id, buf_slot_first, buf_num_desc;
    logic [NE-1:0]         bk_seg_valid, bk_seg_ready, bk_bufr_valid, bk_bufr_ready;
    logic                  dispatch_locked;

    // engines -> used
    localparam int UW = 8 + 16 + 16 + 32 + 16;
    logic [NE-1:0]         bk_used_valid, bk_used_ready;
    logic [NE*UW-1:0]      bk_used_data;
    logic                  used_valid, used_ready;
    logic [7:0]            used_func;
    logic [15:0]           used_queue, used_id, used_num_desc;
    logic [31:0]           used_len;

    // engines <-> backend mux
    logic [NE-1:0]         be_req_valid, be_req_ready, be_wr_tvalid, be_wr_tready, be_wr_tlast;
    logic [NE-1:0]         be_rd_tvalid, be_rd_tready, be_rsp_valid, be_rsp_ready;
    logic [NE*4-1:0]       be_req_op;
    logic [NE*8-1:0]       be_req_func, be_req_tag;
    logic [NE*16-1:0]      be_req_queue;
    logic [NE*64-1:0]      be_req_sector;
    logic [NE*32-1:0]      be_req_count;
    logic [NE*512-1:0]     be_wr_tdata;
    logic [NE*64-1:0]      be_wr_tkeep;

    assign rdc_valid = {bk_rd_valid, us_rd_valid, av_rd_valid};
    assign rdc_data = {bk_rd_data,
                       {us_rd_func, us_rd_addr, us_rd_ram, us_rd_len, us_rd_tag},
                       {av_rd_func, av_rd_addr, av_rd_ram, av_rd_len, av_rd_tag}};
    assign wrc_valid = {bk_wr_valid, us_wr_valid};
    assign wrc_data = {bk_wr_data, {us_wr_func, us_wr_addr, us_wr_ram, us_wr_len, us_wr_tag}};

    /* verilator lint_off PINCONNECTEMPTY */
    vio_req_arb #(.PORTS(NE + 2), .DATA_W(RD_DW)) rd_arb_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_req_valid(rdc_valid),
        .s_axis_req_ready(rdc_ready),
        .s_axis_req_data(rdc_data),
        .m_axis_req_valid(rd_desc_valid),
        .m_axis_req_ready(rd_desc_ready),
        .m_axis_req_data({rd_desc_func, rd_desc_pcie_addr, rd_desc_ram_addr, rd_desc_len, rd_desc_tag}),
        .m_axis_req_port()
    );

    vio_req_arb #(.PORTS(NE + 1), .DATA_W(WR_DW)) wr_arb_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_req_valid(wrc_valid),
        .s_axis_req_ready(wrc_ready),
        .s_axis_req_data(wrc_data),
        .m_axis_req_valid(wr_desc_valid),
        .m_axis_req_ready(wr_desc_ready),
        .m_axis_req_data({wr_desc_func, wr_desc_pcie_addr, wr_desc_ram_addr, wr_desc_len, wr_desc_tag}),
        .m_axis_req_port()
    );

    vio_req_arb #(.PORTS(2), .DATA_W(8 + 11)) irq_arb_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_req_valid({cfg_irq_valid, us_irq_valid}),
        .s_axis_req_ready({cfg_irq_ready, us_irq_ready}),
        .s_axis_req_data({{cfg_irq_func, cfg_irq_vec}, {us_irq_func, us_irq_vec}}),
        .m_axis_req_valid(irq_valid),
        .m_axis_req_ready(irq_ready),
        .m_axis_req_data({irq_func, irq_vec}),
        .m_axis_req_port()
    );

    vio_req_arb #(.PORTS(NE), .DATA_W(UW)) used_arb_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_req_valid(bk_used_valid),
        .s_axis_req_ready(bk_used_ready),
        .s_axis_req_data(bk_used_data),
        .m_axis_req_valid(used_valid),
        .m_axis_req_ready(used_ready),
        .m_axis_req_data({used_func, used_queue, used_id, used_len, used_num_desc}),
        .m_axis_req_port()
    );
    /* verilator lint_on PINCONNECTEMPTY */

    // statuses back by tag
    wire av_rd_st = rd_st_valid && rd_st_tag == OP_TAG_W'(TAG_AV_RD);
    wire us_rd_st = rd_st_valid && rd_st_tag == OP_TAG_W'(TAG_US_RD);
    wire us_wr_st = wr_st_valid && wr_st_tag == OP_TAG_W'(TAG_US_WR);

    // ------------------------------------------------------------------ buffer RAMs
    // read RAM: the DMA read engine writes; each client reads its own bank
    vio_ram_sdp #(.DATA_W(512), .ADDR_W(AV_AW)) av_ram_inst (
        .clk(clk),
        .wr_en(ram_wr_en && ram_wr_addr < ROW_W'(AV_ROW + AV_ROWS)),
        .wr_addr(AV_AW'(ram_wr_addr - ROW_W'(AV_ROW))),
        .wr_be(ram_wr_be), .wr_data(ram_wr_data),
        .rd_en(av_buf_rd_en), .rd_addr(AV_AW'(av_buf_rd_addr - ROW_W'(AV_ROW))), .rd_data(av_buf_rd_data)
    );

    vio_ram_sdp #(.DATA_W(512), .ADDR_W(1)) ev_ram_inst (
        .clk(clk),
        .wr_en(ram_wr_en && ram_wr_addr == ROW_W'(EV_ROW)),
        .wr_addr(1'b0),
        .wr_be(ram_wr_be), .wr_data(ram_wr_data),
        .rd_en(us_buf_rd_en), .rd_addr(1'b0), .rd_data(us_buf_rd_data)
    );

    // write RAM: each client writes its own bank; the DMA write engine reads by row
    logic [511:0]  st_ram_data;
    logic [511:0]  bk_wr_ram_data [NE];
    logic          rd_sel_blk;
    logic [EW-1:0] rd_sel_eng;

    vio_ram_sdp #(.DATA_W(512), .ADDR_W(1)) st_ram_inst (
        .clk(clk),
        .wr_en(us_buf_wr_en), .wr_addr(1'b0), .wr_be(us_buf_wr_be), .wr_data(us_buf_wr_data),
        .rd_en(ram_rd_en && ram_rd_addr < ROW_W'(BLK_ROW)), .rd_addr(1'b0), .rd_data(st_ram_data)
    );

    wire [ROW_W-1:0] rd_rel = ram_rd_addr - ROW_W'(BLK_ROW);   // DMA write engine row, engine-relative
    wire [ROW_W-1:0] wr_rel = ram_wr_addr - ROW_W'(BLK_ROW);   // DMA read engine row, engine-relative

    always_ff @(posedge clk) begin
        if (ram_rd_en) begin
            rd_sel_blk <= ram_rd_addr >= ROW_W'(BLK_ROW);
            rd_sel_eng <= EW'(rd_rel >> BLK_AW);
        end
    end
    assign ram_rd_data = rd_sel_blk ? bk_wr_ram_data[rd_sel_eng] : st_ram_data;

    // ------------------------------------------------------------------ packed ring, available side
    vio_pring_avail #(
        .NUM_FUNC(NUM_FUNC),
        .MAX_QUEUES(MAX_QUEUES),
        .BATCH(BATCH),
        .RAM_ADDR_W(RAM_ADDR_W),
        .BUF_RAM_ADDR(AV_ROW * 64),
        .LEN_W(LEN_W),
        .OP_TAG_W(OP_TAG_W),
        .DMA_TAG(TAG_AV_RD)
    ) pring_avail_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_notify_valid(notify_valid),
        .s_axis_notify_ready(notify_ready),
        .s_axis_notify_func(notify_func),
        .s_axis_notify_queue(notify_queue),
        .ctx_req_valid(ctx_req_valid[CTX_AV]),
        .ctx_req_func(ctx_req_func[CTX_AV*8 +: 8]),
        .ctx_req_queue(ctx_req_queue[CTX_AV*16 +: 16]),
        .ctx_rsp_valid(ctx_rsp_valid[CTX_AV]),
        .ctx_rsp_size(ctx_rsp_size[CTX_AV*16 +: 16]),
        .ctx_rsp_enable(ctx_rsp_enable[CTX_AV]),
        .ctx_rsp_desc(ctx_rsp_desc[CTX_AV*64 +: 64]),
        .ctx_rsp_live(ctx_rsp_live[CTX_AV]),
        .ctx_rsp_features(ctx_rsp_features[CTX_AV*128 +: 128]),
        .queue_reset_valid(qr_valid),
        .queue_reset_func(qr_func),
        .queue_reset_queue(qr_queue),
        .func_reset(reset_req),
        .m_axis_rd_desc_valid(av_rd_valid),
        .m_axis_rd_desc_ready(rdc_ready[0]),
        .m_axis_rd_desc_func(av_rd_func),
        .m_axis_rd_desc_pcie_addr(av_rd_addr),
        .m_axis_rd_desc_ram_addr(av_rd_ram),
        .m_axis_rd_desc_len(av_rd_len),
        .m_axis_rd_desc_tag(av_rd_tag),
        .s_axis_rd_desc_status_valid(av_rd_st),
        .s_axis_rd_desc_status_tag(rd_st_tag),
        .s_axis_rd_desc_status_error(rd_st_error),
        .buf_rd_en(av_buf_rd_en),
        .buf_rd_addr(av_buf_rd_addr),
        .buf_rd_data(av_buf_rd_data),
        .m_axis_buf_valid(buf_valid),
        .m_axis_buf_ready(buf_ready),
        .m_axis_buf_func(buf_func),
        .m_axis_buf_queue(buf_queue),
        .m_axis_buf_id(buf_id),
        .m_axis_buf_slot_first(buf_slot_first),
        .m_axis_buf_wrap_first(buf_wrap_first),
        .m_axis_buf_num_desc(buf_num_desc),
        .m_axis_buf_indirect(buf_indirect),
        .m_axis_buf_error(buf_error),
        .m_axis_seg_valid(seg_valid),
        .m_axis_seg_ready(seg_ready),
        .m_axis_seg_addr(seg_addr),
        .m_axis_seg_len(seg_len),
        .m_axis_seg_write(seg_write),
        .m_axis_seg_error(seg_error),
        .m_axis_seg_last(seg_last),
        .needs_reset_set(av_needs_reset),
        .busy(av_busy),
        .func_quiesced(av_quiesced)
    );

    // ------------------------------------------------------------------ virtio-blk requests
    vio_buf_dispatch #(.PORTS(NE)) dispatch_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_seg_valid(seg_valid),
        .s_axis_seg_ready(seg_ready),
        .s_axis_buf_valid(buf_valid),
        .s_axis_buf_ready(buf_ready),
        .m_axis_seg_valid(bk_seg_valid),
        .m_axis_seg_ready(bk_seg_ready),
        .m_axis_buf_valid(bk_bufr_valid),
        .m_axis_buf_ready(bk_bufr_ready),
        .eng_busy(bk_busy),
        .locked(dispatch_locked)
    );

    for (genvar k = 0; k < NE; k++) begin : g_blk
        localparam int ROW0 = BLK_ROW + k * BLK_STRIDE;

        logic [7:0]            rd_func, wr_func;
        logic [63:0]           rd_addr, wr_addr;
        logic [RAM_ADDR_W-1:0] rd_ram, wr_ram;
        logic [LEN_W-1:0]      rd_len, wr_len;
        logic [OP_TAG_W-1:0]   rd_tag, wr_tag;
        logic [7:0]            u_func;
        logic [15:0]           u_queue, u_id, u_num_desc;
        logic [31:0]           u_len;

        assign bk_rd_data[k*RD_DW +: RD_DW] = {rd_func, rd_addr, rd_ram, rd_len, rd_tag};
        assign bk_wr_data[k*WR_DW +: WR_DW] = {wr_func, wr_addr, wr_ram, wr_len, wr_tag};
        assign bk_used_data[k*UW +: UW] = {u_func, u_queue, u_id, u_len, u_num_desc};

        wire rd_st = rd_st_valid && rd_st_tag == OP_TAG_W'(TAG_BLK_RD + k);
        wire wr_st = wr_st_valid && wr_st_tag == OP_TAG_W'(TAG_BLK_WR + k);

        // this engine's banks
        vio_ram_sdp #(.DATA_W(512), .ADDR_W(BLK_AW)) rd_ram_inst (
            .clk(clk),
            .wr_en(ram_wr_en && ram_wr_addr >= ROW_W'(ROW0) && ram_wr_addr < ROW_W'(ROW0 + BLK_ROWS)),
            .wr_addr(BLK_AW'(wr_rel)),
            .wr_be(ram_wr_be), .wr_data(ram_wr_data),
            .rd_en(bk_buf_rd_en[k]), .rd_addr(BLK_AW'(bk_buf_rd_addr[k] - ROW_W'(ROW0))),
            .rd_data(bk_buf_rd_data[k])
        );

        vio_ram_sdp #(.DATA_W(512), .ADDR_W(BLK_AW)) wr_ram_inst (
            .clk(clk),
            .wr_en(bk_buf_wr_en[k]), .wr_addr(BLK_AW'(bk_buf_wr_addr[k] - ROW_W'(ROW0))),
            .wr_be(bk_buf_wr_be[k]), .wr_data(bk_buf_wr_data[k]),
            .rd_en(ram_rd_en && ram_rd_addr >= ROW_W'(ROW0) && ram_rd_addr < ROW_W'(ROW0 + BLK_STRIDE)),
            .rd_addr(BLK_AW'(rd_rel)), .rd_data(bk_wr_ram_data[k])
        );

        vio_blk_req #(
            .NUM_FUNC(NUM_FUNC),
            .FUNC_FEATURES(FUNC_FEATURES),
            .MAX_SEGS(MAX_SEGS),
            .CHUNK(CHUNK),
            .RAM_ADDR_W(RAM_ADDR_W),
            .RD_RAM_ADDR(ROW0 * 64),
            .WR_RAM_ADDR(ROW0 * 64),
            .LEN_W(LEN_W),
            .OP_TAG_W(OP_TAG_W),
            .RD_DMA_TAG(TAG_BLK_RD + k),
            .WR_DMA_TAG(TAG_BLK_WR + k),
            .BE_TAG_HI_W(EW),
            .BE_TAG_HI(k)
        ) blk_req_inst (
            .clk(clk),
            .rst(rst),
            .s_axis_seg_valid(bk_seg_valid[k]),
            .s_axis_seg_ready(bk_seg_ready[k]),
            .s_axis_seg_addr(seg_addr),
            .s_axis_seg_len(seg_len),
            .s_axis_seg_write(seg_write),
            .s_axis_seg_error(seg_error),
            .s_axis_seg_last(seg_last),
            .s_axis_buf_valid(bk_bufr_valid[k]),
            .s_axis_buf_ready(bk_bufr_ready[k]),
            .s_axis_buf_func(buf_func),
            .s_axis_buf_queue(buf_queue),
            .s_axis_buf_id(buf_id),
            .s_axis_buf_slot_first(buf_slot_first),
            .s_axis_buf_wrap_first(buf_wrap_first),
            .s_axis_buf_num_desc(buf_num_desc),
            .s_axis_buf_indirect(buf_indirect),
            .s_axis_buf_error(buf_error),
            .ctx_req_valid(ctx_req_valid[CTX_BLK + k]),
            .ctx_req_func(ctx_req_func[(CTX_BLK + k)*8 +: 8]),
            .ctx_req_queue(ctx_req_queue[(CTX_BLK + k)*16 +: 16]),
            .ctx_rsp_valid(ctx_rsp_valid[CTX_BLK + k]),
            .ctx_rsp_live(ctx_rsp_live[CTX_BLK + k]),
            .ctx_rsp_features(ctx_rsp_features[(CTX_BLK + k)*128 +: 128]),
            .blk_capacity(blk_capacity),
            .blk_serial(blk_serial),
            .func_reset(reset_req),
            .m_axis_rd_desc_valid(bk_rd_valid[k]),
            .m_axis_rd_desc_ready(rdc_ready[2 + k]),
            .m_axis_rd_desc_func(rd_func),
            .m_axis_rd_desc_pcie_addr(rd_addr),
            .m_axis_rd_desc_ram_addr(rd_ram),
            .m_axis_rd_desc_len(rd_len),
            .m_axis_rd_desc_tag(rd_tag),
            .s_axis_rd_desc_status_valid(rd_st),
            .s_axis_rd_desc_status_tag(rd_st_tag),
            .s_axis_rd_desc_status_error(rd_st_error),
            .m_axis_wr_desc_valid(bk_wr_valid[k]),
            .m_axis_wr_desc_ready(wrc_ready[1 + k]),
            .m_axis_wr_desc_func(wr_func),
            .m_axis_wr_desc_pcie_addr(wr_addr),
            .m_axis_wr_desc_ram_addr(wr_ram),
            .m_axis_wr_desc_len(wr_len),
            .m_axis_wr_desc_tag(wr_tag),
            .s_axis_wr_desc_status_valid(wr_st),
            .s_axis_wr_desc_status_tag(wr_st_tag),
            .s_axis_wr_desc_status_error(wr_st_error),
            .buf_rd_en(bk_buf_rd_en[k]),
            .buf_rd_addr(bk_buf_rd_addr[k]),
            .buf_rd_data(bk_buf_rd_data[k]),
            .buf_wr_en(bk_buf_wr_en[k]),
            .buf_wr_addr(bk_buf_wr_addr[k]),
            .buf_wr_be(bk_buf_wr_be[k]),
            .buf_wr_data(bk_buf_wr_data[k]),
            .m_axis_be_req_valid(be_req_valid[k]),
            .m_axis_be_req_ready(be_req_ready[k]),
            .m_axis_be_req_op(be_req_op[k*4 +: 4]),
            .m_axis_be_req_func(be_req_func[k*8 +: 8]),
            .m_axis_be_req_queue(be_req_queue[k*16 +: 16]),
            .m_axis_be_req_sector(be_req_sector[k*64 +: 64]),
            .m_axis_be_req_count(be_req_count[k*32 +: 32]),
            .m_axis_be_req_tag(be_req_tag[k*8 +: 8]),
            .m_axis_be_wr_tdata(be_wr_tdata[k*512 +: 512]),
            .m_axis_be_wr_tkeep(be_wr_tkeep[k*64 +: 64]),
            .m_axis_be_wr_tvalid(be_wr_tvalid[k]),
            .m_axis_be_wr_tready(be_wr_tready[k]),
            .m_axis_be_wr_tlast(be_wr_tlast[k]),
            .s_axis_be_rd_tdata(s_axis_be_rd_tdata),
            .s_axis_be_rd_tkeep(s_axis_be_rd_tkeep),
            .s_axis_be_rd_tvalid(be_rd_tvalid[k]),
            .s_axis_be_rd_tready(be_rd_tready[k]),
            .s_axis_be_rd_tlast(s_axis_be_rd_tlast),
            .s_axis_be_rsp_valid(be_rsp_valid[k]),
            .s_axis_be_rsp_ready(be_rsp_ready[k]),
            .s_axis_be_rsp_tag(s_axis_be_rsp_tag),
            .s_axis_be_rsp_status(s_axis_be_rsp_status),
            .m_axis_used_valid(bk_used_valid[k]),
            .m_axis_used_ready(bk_used_ready[k]),
            .m_axis_used_func(u_func),
            .m_axis_used_queue(u_queue),
            .m_axis_used_id(u_id),
            .m_axis_used_len(u_len),
            .m_axis_used_num_desc(u_num_desc),
            .needs_reset_set(bk_needs_reset[k]),
            .func_quiesced(bk_quiesced[k]),
            .busy(bk_busy[k])
        );
    end

    vio_be_mux #(.PORTS(NE), .TAG_HI_W(EW)) be_mux_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_be_req_valid(be_req_valid),
        .s_axis_be_req_ready(be_req_ready),
        .s_axis_be_req_op(be_req_op),
        .s_axis_be_req_func(be_req_func),
        .s_axis_be_req_queue(be_req_queue),
        .s_axis_be_req_sector(be_req_sector),
        .s_axis_be_req_count(be_req_count),
        .s_axis_be_req_tag(be_req_tag),
        .s_axis_be_wr_tdata(be_wr_tdata),
        .s_axis_be_wr_tkeep(be_wr_tkeep),
        .s_axis_be_wr_tvalid(be_wr_tvalid),
        .s_axis_be_wr_tready(be_wr_tready),
        .s_axis_be_wr_tlast(be_wr_tlast),
        .m_axis_be_rd_tvalid(be_rd_tvalid),
        .m_axis_be_rd_tready(be_rd_tready),
        .m_axis_be_rsp_valid(be_rsp_valid),
        .m_axis_be_rsp_ready(be_rsp_ready),
        .m_axis_be_req_valid(m_axis_be_req_valid),
        .m_axis_be_req_ready(m_axis_be_req_ready),
        .m_axis_be_req_op(m_axis_be_req_op),
        .m_axis_be_req_func(m_axis_be_req_func),
        .m_axis_be_req_queue(m_axis_be_req_queue),
        .m_axis_be_req_sector(m_axis_be_req_sector),
        .m_axis_be_req_count(m_axis_be_req_count),
        .m_axis_be_req_tag(m_axis_be_req_tag),
        .m_axis_be_wr_tdata(m_axis_be_wr_tdata),
        .m_axis_be_wr_tkeep(m_axis_be_wr_tkeep),
        .m_axis_be_wr_tvalid(m_axis_be_wr_tvalid),
        .m_axis_be_wr_tready(m_axis_be_wr_tready),
        .m_axis_be_wr_tlast(m_axis_be_wr_tlast),
        .s_axis_be_rd_tvalid(s_axis_be_rd_tvalid),
        .s_axis_be_rd_tready(s_axis_be_rd_tready),
        .s_axis_be_rd_tlast(s_axis_be_rd_tlast),
        .s_axis_be_rsp_valid(s_axis_be_rsp_valid),
        .s_axis_be_rsp_ready(s_axis_be_rsp_ready),
        .s_axis_be_rsp_tag(s_axis_be_rsp_tag)
    );

    // ------------------------------------------------------------------ packed ring, used side
    vio_pring_used #(
        .NUM_FUNC(NUM_FUNC),
        .MAX_QUEUES(MAX_QUEUES),
        .MAX_BATCH(USED_BATCH),
        .RAM_ADDR_W(RAM_ADDR_W),
        .WR_BUF_RAM_ADDR(ST_ROW * 64),
        .RD_BUF_RAM_ADDR(EV_ROW * 64),
        .LEN_W(LEN_W),
        .OP_TAG_W(OP_TAG_W),
        .WR_DMA_TAG(TAG_US_WR),
        .RD_DMA_TAG(TAG_US_RD)
    ) pring_used_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_used_valid(used_valid),
        .s_axis_used_ready(used_ready),
        .s_axis_used_func(used_func),
        .s_axis_used_queue(used_queue),
        .s_axis_used_id(used_id),
        .s_axis_used_len(used_len),
        .s_axis_used_num_desc(used_num_desc),
        .ctx_req_valid(ctx_req_valid[CTX_US]),
        .ctx_req_func(ctx_req_func[CTX_US*8 +: 8]),
        .ctx_req_queue(ctx_req_queue[CTX_US*16 +: 16]),
        .ctx_rsp_valid(ctx_rsp_valid[CTX_US]),
        .ctx_rsp_size(ctx_rsp_size[CTX_US*16 +: 16]),
        .ctx_rsp_enable(ctx_rsp_enable[CTX_US]),
        .ctx_rsp_vector(ctx_rsp_vector[CTX_US*16 +: 16]),
        .ctx_rsp_desc(ctx_rsp_desc[CTX_US*64 +: 64]),
        .ctx_rsp_driver(ctx_rsp_driver[CTX_US*64 +: 64]),
        .ctx_rsp_live(ctx_rsp_live[CTX_US]),
        .ctx_rsp_features(ctx_rsp_features[CTX_US*128 +: 128]),
        .queue_reset_valid(qr_valid),
        .queue_reset_func(qr_func),
        .queue_reset_queue(qr_queue),
        .func_reset(reset_req),
        .m_axis_wr_desc_valid(us_wr_valid),
        .m_axis_wr_desc_ready(wrc_ready[0]),
        .m_axis_wr_desc_func(us_wr_func),
        .m_axis_wr_desc_pcie_addr(us_wr_addr),
        .m_axis_wr_desc_ram_addr(us_wr_ram),
        .m_axis_wr_desc_len(us_wr_len),
        .m_axis_wr_desc_tag(us_wr_tag),
        .s_axis_wr_desc_status_valid(us_wr_st),
        .s_axis_wr_desc_status_tag(wr_st_tag),
        .s_axis_wr_desc_status_error(wr_st_error),
        .buf_wr_en(us_buf_wr_en),
        .buf_wr_addr(us_buf_wr_addr),
        .buf_wr_be(us_buf_wr_be),
        .buf_wr_data(us_buf_wr_data),
        .m_axis_rd_desc_valid(us_rd_valid),
        .m_axis_rd_desc_ready(rdc_ready[1]),
        .m_axis_rd_desc_func(us_rd_func),
        .m_axis_rd_desc_pcie_addr(us_rd_addr),
        .m_axis_rd_desc_ram_addr(us_rd_ram),
        .m_axis_rd_desc_len(us_rd_len),
        .m_axis_rd_desc_tag(us_rd_tag),
        .s_axis_rd_desc_status_valid(us_rd_st),
        .s_axis_rd_desc_status_tag(rd_st_tag),
        .s_axis_rd_desc_status_error(rd_st_error),
        .buf_rd_en(us_buf_rd_en),
        .buf_rd_addr(us_buf_rd_addr),
        .buf_rd_data(us_buf_rd_data),
        .m_axis_irq_valid(us_irq_valid),
        .m_axis_irq_ready(us_irq_ready),
        .m_axis_irq_func(us_irq_func),
        .m_axis_irq_vec(us_irq_vec),
        .isr_queue_set(isr_queue_set),
        .needs_reset_set(us_needs_reset),
        .busy(us_busy),
        .func_quiesced(us_quiesced)
    );

    // ------------------------------------------------------------------ function state
    always_comb begin
        needs_reset = av_needs_reset | us_needs_reset;
        quiesced = av_quiesced & us_quiesced;
        for (int k = 0; k < NE; k++) begin
            needs_reset = needs_reset | bk_needs_reset[k];
            quiesced = quiesced & bk_quiesced[k];
        end
    end
    assign stat_needs_reset = needs_reset;

    // read but not needed here: contexts the engines ignore, RAM row bits the banks decode
    wire unused_ok = &{1'b0, ctx_rsp_size[NCTX*16-1:CTX_BLK*16], ctx_rsp_enable[NCTX-1:CTX_BLK],
                       ctx_rsp_vector[CTX_AV*16 +: 16], ctx_rsp_vector[NCTX*16-1:CTX_BLK*16],
                       ctx_rsp_desc[NCTX*64-1:CTX_BLK*64], ctx_rsp_driver[CTX_AV*64 +: 64],
                       ctx_rsp_driver[NCTX*64-1:CTX_BLK*64], ctx_rsp_device,
                       live, notify_data, notify_drop, av_busy, us_busy, dispatch_locked,
                       us_buf_rd_addr, us_buf_wr_addr, rd_rel, wr_rel, mon_status, mon_features, mon_queue_en};

endmodule

`resetall
