// SPDX-License-Identifier: Apache-2.0
//
// The virtio device: PCIe shell + modern virtio-pci transport + packed-ring
// engine + virtio-blk request engines + virtio-net datapath and control
// plane, on the UltraScale+ integrated block.
//
//   CQ/CC ─ vio_pcie_shell ─ app window ─ vio_virtio_regs (common/ISR/device cfg, notify)
//   cfg_ext ─ vio_virtio_caps (virtio vendor capabilities from 0xA8)
//   notify ─► (net RX queues filtered) ─► vio_pring_avail ─► vio_buf_dispatch ─┬─► vio_blk_req × BLK_ENGINES ─ vio_be_mux ─ backend
//                  RX buffer fetch / commit ◄──────────────────┘               ├─► vio_net_ctrlq ─ mailbox ─ vio_mgmt ─ s_axil_mgmt (firmware)
//                                                                              ├─► vio_net_tx ─► m_axis_tx (wire)
//                                                    s_axis_rx (wire) ─► vio_net_rx (fetches its buffers)
//   engines ─ used ─► vio_pring_used ─ events ─► vio_irq_coal (per-queue coalescing) ─► vio_msix
//   RQ/RC ◄─ DMA rd/wr engines ◄─ vio_req_arb (descriptors; statuses routed back by tag)
//
// Functions: FUNC_TYPE selects virtio-net (1) or virtio-blk (2) per
// function; the engines and every table are indexed by function, so more
// functions add rows. Shared engines, per-function/per-queue state:
//   * one walk at a time in vio_pring_avail: a driver notification (blk
//     request queues, net transmit and control queues) or an RX buffer fetch
//     of vio_net_rx (net receive queues are never walked on notifications:
//     they are drained when frames arrive). vio_buf_dispatch hands each buffer
//     to an idle engine of the kind its queue needs (the walk's func/queue:
//     blk function -> blk engines; net controlq (vq 2N, N = max pairs with MQ
//     negotiated, else 1, virtio.md §6.1) -> vio_net_ctrlq; other net queues
//     -> vio_net_tx; fetch answers -> vio_net_rx);
//   * BLK_ENGINES vio_blk_req engines run that many requests at once, so blk
//     requests complete out of order; they share the storage backend port
//     through vio_be_mux (engine number in the backend tag);
//   * the control queue's commands go to the firmware through the mailbox
//     of vio_mgmt (management port s_axil_mgmt_*, irq mgmt_irq); the
//     firmware programs MAC / status / queue pairs / receive filters /
//     coalescing there (register map: docs/mgmt_regs.md);
//   * DMA descriptor streams of all engines share the shell's DMA read/write
//     engines through round-robin arbiters; each engine has its own fixed DMA
//     tag (statuses are routed back by tag) and its own region of the buffer
//     RAMs, decoded from the row number (no sharing, no arbitration on the
//     RAM ports):
//       read RAM   rows 0..1  descriptor batches (vio_pring_avail, BATCH = 8)
//                  row  2     driver event suppression word (vio_pring_used)
//                  rows CQ_ROW..      control command bytes (vio_net_ctrlq)
//                  rows 64 + k*BLK_STRIDE..  blk engine k: header row + CHUNK data
//                  rows NET_ROW..     TX header row + frame (vio_net_tx)
//       write RAM  row  0     used descriptor staging (vio_pring_used)
//                  rows CQ_ROW..      control answer bytes (vio_net_ctrlq)
//                  rows 64 + k*BLK_STRIDE..  blk engine k: status/ID row + CHUNK data
//                  rows NET_ROW..     RX header + frame (vio_net_rx)
//   * interrupt requests (queues: vio_pring_used through the coalescing
//     unit, configuration change: vio_virtio_regs) share vio_msix through a
//     round-robin arbiter;
//   * a device reset (status 0) of function f completes when no engine holds
//     anything of f (func_quiesced AND of all engines).
//
// The storage backend (a DPU's storage engine; the bench's disk model) is
// the m_axis_be_req / m_axis_be_wr / s_axis_be_rd / s_axis_be_rsp port group
// of vio_blk_req. blk_capacity and blk_serial are inputs (the backend /
// firmware know the medium); a capacity change bumps config_generation and
// raises a configuration-change interrupt (vio_virtio_regs).
//
// The network port: m_axis_tx_* carries transmitted frames (tuser = {queue,
// func}), s_axis_rx_* received frames (tuser = {pair hint, func}: the switch
// in front of the device picks the function; vio_net_rx picks the receive
// queue from the hint). Both are 512-bit AXI-stream, one frame per packet.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_device_top #(
    // Default build (tb/device/config.py FUNCS): PF0 virtio-net, PF1 virtio-blk, 4 VFs each.
    //   f0 PF0 net: CSUM GUEST_CSUM CTRL_GUEST_OFFLOADS MTU MAC MRG_RXBUF STATUS CTRL_VQ CTRL_RX CTRL_VLAN
    //               GUEST_ANNOUNCE MQ CTRL_MAC_ADDR VQ_NOTF_COAL NOTF_COAL SR_IOV + the transport bits, 2 pairs
    //   f1 PF1 blk: SIZE_MAX SEG_MAX BLK_SIZE FLUSH MQ SR_IOV + INDIRECT_DESC EVENT_IDX VERSION_1
    //               ACCESS_PLATFORM RING_PACKED ORDER_PLATFORM, 4 queues
    //   f2..f5 VFs of PF0: net as PF0 without SR_IOV, 1 pair; f6..f9 VFs of PF1: blk as PF1 without
    //   SR_IOV, 2 queues, f9 read-only (RO). VF queues up to 1024 entries.
    parameter int NUM_FUNC = 10,         // functions: NUM_PF PFs, then every possible VF (rows = ARI function numbers)
    parameter int NUM_PF = 2,            // physical functions, 1..4 (hard-block PF vectors)
    // per PF p in bits [16p +: 16]: TotalVFs (VFs of PF0 at rows NUM_PF.., then PF1's, ...)
    parameter logic [63:0] PF_TOTAL_VF = 64'h0000_0000_0004_0004,
    parameter int MAX_QUEUES = 8,        // queue contexts per function (>= every FUNC_NUM_QUEUES entry)
    parameter int MSIX_VEC = 16,         // MSI-X vectors per function
    // per function f in bits [8f +: 8]: virtio device type, 1 = net, 2 = blk (a VF: its PF's type)
    parameter logic [NUM_FUNC*8-1:0] FUNC_TYPE = 80'h02020202010101010201,
    // per function f in bits [128f +: 128]: offered feature bits
    parameter logic [NUM_FUNC*128-1:0] FUNC_FEATURES = {
        128'h0000_0000_0000_0000_0000_0017_3000_1266,
        {3{128'h0000_0000_0000_0000_0000_0017_3000_1246}},
        {4{128'h0000_0000_0000_0000_0030_0017_30EF_802F}},
        128'h0000_0000_0000_0000_0000_0037_3000_1246,
        128'h0000_0000_0000_0000_0030_0037_30EF_802F
    },
    // per function f in bits [16f +: 16]: blk request queues; net 2 * max pairs + 1 (controlq)
    parameter logic [NUM_FUNC*16-1:0] FUNC_NUM_QUEUES = 160'h0002_0002_0002_0002_0003_0003_0003_0003_0004_0005,
    // per function f in bits [16f +: 16]: maximum (and reset) queue_size, 1..32768
    parameter logic [NUM_FUNC*16-1:0] FUNC_QUEUE_MAX = 160'h0400_0400_0400_0400_0400_0400_0400_0400_8000_8000,
    // per function f in bits [48f +: 48]: MAC after reset, before the firmware provisions one
    parameter logic [NUM_FUNC*48-1:0] FUNC_MAC = {
        {4{48'h0}}, 48'h5254_00a0_b104, 48'h5254_00a0_b103, 48'h5254_00a0_b102, 48'h5254_00a0_b101,
        48'h0, 48'h5254_00a0_b000
    },
    parameter logic [31:0] BLK_SIZE_MAX = 32'h0001_0000,  // blk size_max: bytes per segment (hint)
    parameter logic [31:0] BLK_SEG_MAX = 32'd62,          // blk seg_max: data segments per request (MAX_SEGS - 2)
    parameter int MAX_SEGS = 64,         // descriptors per blk request / net buffer the engines accept (more: DEVICE_NEEDS_RESET)
    parameter int CHUNK = 4096,          // blk data staged per DMA round (bytes)
    parameter int BLK_ENGINES = 2,       // blk request engines: requests in flight at once (1..8)
    parameter logic [15:0] NET_MTU = 16'd1500,  // net config mtu
    parameter int NET_MAX_FRAME = 9018,  // longest frame (bytes, no virtio header) the network port carries
    parameter int MB_WORDS = 64,         // control-queue mailbox, 32-bit words each way (the register map's size)
    parameter int US_CYCLES = 250,       // clock cycles per microsecond (firmware clock, coalescing timers)
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
    // SR-IOV and function level reset (UltraScale+ names; VF v = function NUM_PF + v)
    input  wire logic [503:0]           cfg_vf_status,                 // VF v: bit 2v exists, 2v+1 bus master enable
    input  wire logic [251:0]           cfg_interrupt_msix_vf_enable,
    input  wire logic [251:0]           cfg_interrupt_msix_vf_mask,
    input  wire logic [3:0]             cfg_flr_in_process,
    output logic      [3:0]             cfg_flr_done,
    input  wire logic [251:0]           cfg_vf_flr_in_process,
    output logic      [7:0]             cfg_vf_flr_func_num,
    output logic                        cfg_vf_flr_done,
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

    // network port: transmitted frames, tuser = {queue[15:0], func[7:0]}
    output logic      [511:0]           m_axis_tx_tdata,
    output logic      [63:0]            m_axis_tx_tkeep,
    output logic                        m_axis_tx_tvalid,
    input  wire logic                   m_axis_tx_tready,
    output logic                        m_axis_tx_tlast,
    output logic      [23:0]            m_axis_tx_tuser,
    // network port: received frames, tuser = {pair hint[7:0], func[7:0]}
    input  wire logic [511:0]           s_axis_rx_tdata,
    input  wire logic [63:0]            s_axis_rx_tkeep,
    input  wire logic                   s_axis_rx_tvalid,
    output logic                        s_axis_rx_tready,
    input  wire logic                   s_axis_rx_tlast,
    input  wire logic [15:0]            s_axis_rx_tuser,

    // management port (AXI4-lite, the DPU firmware's view: docs/mgmt_regs.md)
    input  wire logic                   s_axil_mgmt_awvalid,
    output logic                        s_axil_mgmt_awready,
    input  wire logic [9:0]             s_axil_mgmt_awaddr,
    input  wire logic [2:0]             s_axil_mgmt_awprot,
    input  wire logic                   s_axil_mgmt_wvalid,
    output logic                        s_axil_mgmt_wready,
    input  wire logic [31:0]            s_axil_mgmt_wdata,
    input  wire logic [3:0]             s_axil_mgmt_wstrb,
    output logic                        s_axil_mgmt_bvalid,
    input  wire logic                   s_axil_mgmt_bready,
    output logic      [1:0]             s_axil_mgmt_bresp,
    input  wire logic                   s_axil_mgmt_arvalid,
    output logic                        s_axil_mgmt_arready,
    input  wire logic [9:0]             s_axil_mgmt_araddr,
    input  wire logic [2:0]             s_axil_mgmt_arprot,
    output logic                        s_axil_mgmt_rvalid,
    input  wire logic                   s_axil_mgmt_rready,
    output logic      [31:0]            s_axil_mgmt_rdata,
    output logic      [1:0]             s_axil_mgmt_rresp,
    output logic                        mgmt_irq,            // level: firmware attention (IRQ_STATUS & IRQ_ENABLE)
    output logic      [63:0]            mgmt_time_us,        // the firmware's microsecond clock

    // observability (bench, firmware counters)
    output logic      [NUM_FUNC-1:0]    stat_needs_reset,    // pulse: an engine set DEVICE_NEEDS_RESET of f
    output logic      [31:0]            stat_notify_drop_count,
    output logic      [31:0]            stat_tx_drop_count,  // TX frames dropped (bad checksum offsets, empty, too long)
    output logic      [31:0]            stat_rx_frames,      // RX frames delivered
    output logic      [31:0]            stat_rx_drop_nobuf,  // RX frames dropped: no (big enough) buffer posted
    output logic      [31:0]            stat_rx_drop_filter, // RX frames dropped by the receive filter
    output logic      [31:0]            stat_rx_drop_other,  // RX frames dropped: function not live / not net, too long, errors
    output logic      [31:0]            stat_irq_sent,       // queue interrupts requested by the coalescing unit
    output logic      [31:0]            stat_irq_coalesced   // due notifications folded into a later one
);

    // ------------------------------------------------------------------ parameters
    localparam int REG_ADDR_W = 24;
    localparam int NE = BLK_ENGINES;
    localparam int EW = NE > 1 ? $clog2(NE) : 1;       // engine number bits (backend tag)
    localparam int LEN_W = 16;
    localparam int OP_TAG_W = 8;

    // buffer RAM regions (rows of 64 bytes)
    localparam int AV_ROW = 0, AV_ROWS = (BATCH * 16 + 63) / 64;
    localparam int EV_ROW = AV_ROW + AV_ROWS;           // used side: event word (read RAM)
    localparam int ST_ROW = 0;                          // used side: staging (write RAM)
    localparam int CQ_ROWS = (MB_WORDS * 4 + 63) / 64;  // control queue: command / answer bytes
    localparam int CQ_AW = CQ_ROWS > 1 ? $clog2(CQ_ROWS) : 1;
    localparam int CQ_ROW = (EV_ROW + 1 + CQ_ROWS - 1) / CQ_ROWS * CQ_ROWS;
    localparam int BLK_ROW = 64;                        // blk engine 0: header / status row, then CHUNK
    localparam int BLK_ROWS = 1 + CHUNK / 64;
    localparam int AV_AW = AV_ROWS > 1 ? $clog2(AV_ROWS) : 1;
    localparam int BLK_AW = $clog2(BLK_ROWS);
    localparam int BLK_STRIDE = 1 << BLK_AW;            // rows between engine regions
    localparam int NET_ROWS = 1 + (NET_MAX_FRAME + 63) / 64;   // TX / RX: header row + frame
    localparam int NET_AW = $clog2(NET_ROWS);
    localparam int NET_ROW = BLK_ROW + NE * BLK_STRIDE; // TX (read RAM) and RX (write RAM)
    localparam int RAM_ADDR_W = 6 + $clog2(NET_ROW + NET_ROWS);
    localparam int ROW_W = RAM_ADDR_W - 6;

    // DMA tags (statuses are routed by them); blk engine k uses TAG_BLK_* + k
    localparam int TAG_AV_RD = 1, TAG_US_RD = 2, TAG_BLK_RD = 3, TAG_CQ_RD = 3 + NE, TAG_TX_RD = 4 + NE;
    localparam int TAG_US_WR = 1, TAG_BLK_WR = 2, TAG_CQ_WR = 2 + NE, TAG_RX_WR = 3 + NE;

    // function kinds
    localparam logic [NUM_FUNC-1:0] FUNC_NET = net_mask(FUNC_TYPE);

    function automatic logic [NUM_FUNC-1:0] net_mask(input logic [NUM_FUNC*8-1:0] t);
        for (int f = 0; f < NUM_FUNC; f++) net_mask[f] = t[f*8 +: 8] == 8'd1;
    endfunction

    initial begin
        if (NUM_PF < 1 || NUM_PF > 4) $fatal(1, "vio_device_top: NUM_PF must be 1..4");
        if (NUM_FUNC != NUM_PF + total_vfs()) $fatal(1, "vio_device_top: NUM_FUNC must be NUM_PF + the PFs' TotalVFs");
        if (NUM_FUNC > 256) $fatal(1, "vio_device_top: at most 256 functions (ARI function numbers)");
        for (int f = NUM_PF; f < NUM_FUNC; f++) begin
            if (FUNC_TYPE[f*8 +: 8] != FUNC_TYPE[32'(row_pf(f))*8 +: 8])
                $fatal(1, "vio_device_top: a VF has the device type of its PF");
        end
        if (CHUNK < 512 || CHUNK > 8192 || (CHUNK & (CHUNK - 1)) != 0)
            $fatal(1, "vio_device_top: CHUNK must be a power of 2 in 512..8192");
        if (CQ_ROW + CQ_ROWS > BLK_ROW) $fatal(1, "vio_device_top: BATCH / MB_WORDS too large for the RAM map");
        if (NE < 1 || NE > 8) $fatal(1, "vio_device_top: BLK_ENGINES must be 1..8");
        if (NET_MAX_FRAME < 64 || NET_MAX_FRAME > 16384) $fatal(1, "vio_device_top: NET_MAX_FRAME must be 64..16384");
        for (int f = 0; f < NUM_FUNC; f++) begin
            if (FUNC_TYPE[f*8 +: 8] != 8'd1 && FUNC_TYPE[f*8 +: 8] != 8'd2)
                $fatal(1, "vio_device_top: FUNC_TYPE entries must be 1 (net) or 2 (blk)");
            if (FUNC_TYPE[f*8 +: 8] == 8'd1 && (FUNC_NUM_QUEUES[f*16 +: 16] < 3 || FUNC_NUM_QUEUES[f*16] != 1'b1))
                $fatal(1, "vio_device_top: a net function has 2 * pairs + 1 queues (controlq included)");
        end
    end

    // ------------------------------------------------------------------ SR-IOV function map
    function automatic int total_vfs();
        int n = 0;
        for (int p = 0; p < NUM_PF; p++) n += int'(PF_TOTAL_VF[p*16 +: 16]);
        return n;
    endfunction

    // the PF row f belongs to (a PF: itself)
    function automatic logic [1:0] row_pf(input int f);
        int first = NUM_PF;
        logic [1:0] pf = 2'(f);
        if (f >= NUM_PF) begin
            for (int p = 0; p < NUM_PF; p++) begin
                if (f >= first && f < first + int'(PF_TOTAL_VF[p*16 +: 16])) pf = 2'(p);
                first += int'(PF_TOTAL_VF[p*16 +: 16]);
            end
        end
        return pf;
    endfunction

    function automatic logic [NUM_FUNC*2-1:0] func_pf_map();
        logic [NUM_FUNC*2-1:0] m = '0;
        for (int f = 0; f < NUM_FUNC; f++) m[f*2 +: 2] = row_pf(f);
        return m;
    endfunction
    localparam logic [NUM_FUNC*2-1:0] FUNC_PF = func_pf_map();

    // ------------------------------------------------------------------ function level reset
    // A function is held in reset (vio_virtio_regs func_flr, vio_msix func_reset) while the hard
    // block reports its FLR in progress, and a VF also while it does not exist (VF Enable clear
    // or beyond NumVFs). The FLR completes (cfg_flr_done[p] / cfg_vf_flr_done + func_num, one
    // cycle) once its reset drain is over: no engine holds anything of the function (so no DMA
    // of it is in flight or will be issued, and late completions were consumed or timed out)
    // and its MSI-X entries are swept. VF completions go out one per cycle, lowest VF first.
    logic [NUM_FUNC-1:0] func_exists, flr_inproc, flr_hold, flr_drained, msix_rst_busy, flr_sent;

    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++) begin
            func_exists[f] = f < NUM_PF ? 1'b1 : cfg_vf_status[2*((f - NUM_PF) % 252)];
            flr_inproc[f] = f < NUM_PF ? cfg_flr_in_process[f % 4] : cfg_vf_flr_in_process[(f - NUM_PF) % 252];
            flr_hold[f] = flr_inproc[f] || !func_exists[f];
        end
    end

    wire [NUM_FUNC-1:0] flr_ready = flr_inproc & flr_drained & ~msix_rst_busy & ~flr_sent;

    logic [7:0] vf_pick;
    logic       vf_any;
    always_comb begin
        vf_any = 1'b0;
        vf_pick = '0;
        for (int f = NUM_FUNC - 1; f >= NUM_PF; f--) begin
            if (flr_ready[f]) begin
                vf_any = 1'b1;
                vf_pick = 8'(f - NUM_PF);
            end
        end
    end

    always_ff @(posedge clk) begin
        cfg_flr_done <= '0;
        cfg_vf_flr_done <= 1'b0;
        for (int f = 0; f < NUM_PF; f++) begin
            if (flr_ready[f]) begin
                cfg_flr_done[f] <= 1'b1;
                flr_sent[f] <= 1'b1;
            end
        end
        if (vf_any) begin
            cfg_vf_flr_done <= 1'b1;
            cfg_vf_flr_func_num <= vf_pick;
            flr_sent[32'(vf_pick) + NUM_PF] <= 1'b1;
        end
        for (int f = 0; f < NUM_FUNC; f++) begin
            if (!flr_inproc[f]) flr_sent[f] <= 1'b0;
        end
        if (rst) begin
            cfg_flr_done <= '0;
            cfg_vf_flr_done <= 1'b0;
            cfg_vf_flr_func_num <= '0;
            flr_sent <= '0;
        end
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
        .NUM_PF(NUM_PF),
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
        .cfg_vf_status(cfg_vf_status),
        .cfg_interrupt_msix_vf_enable(cfg_interrupt_msix_vf_enable),
        .cfg_interrupt_msix_vf_mask(cfg_interrupt_msix_vf_mask),
        .func_reset(flr_hold),
        .func_reset_busy(msix_rst_busy),
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
    // context read ports: ring engines, blk engine k at CTX_BLK + k, then the net engines
    localparam int CTX_AV = 0, CTX_US = 1, CTX_BLK = 2, CTX_CQ = 2 + NE, CTX_TX = 3 + NE, CTX_RX = 4 + NE;
    localparam int NCTX = 5 + NE;

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
    logic [NUM_FUNC*48-1:0]  net_mac;             // provisioned by the firmware (vio_mgmt)
    logic [NUM_FUNC*16-1:0]  net_status, net_pairs;
    logic [NUM_FUNC*8-1:0]   net_rx_mode;

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
        .BLK_SEG_MAX(BLK_SEG_MAX),
        .NET_MTU(NET_MTU)
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
        .func_flr(flr_hold),
        .func_flr_done(flr_drained),
        .isr_queue_set(isr_queue_set),
        .isr_cfg_set('0),
        .needs_reset_set(needs_reset),
        .blk_capacity(blk_capacity),
        .net_mac(net_mac),
        .net_status(net_status),
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

    // ------------------------------------------------------------------ management port (firmware)
    logic                   mb_valid, mb_cmd_irq, mb_timeout_irq, mb_done;
    logic [7:0]             mb_func;
    logic [15:0]            mb_queue, mb_cmd_len, mb_rsp_room, mb_rsp_len;
    logic [MB_WORDS*32-1:0] mb_cmd_data, mb_rsp_data;
    logic [31:0]            mb_timeout_us;
    logic [7:0]             coal_rd_func, coal_changed_func;
    logic [15:0]            coal_rd_vq, coal_changed_vq;
    logic [31:0]            coal_rd_pkts, coal_rd_usecs;
    logic                   coal_changed;
    logic                   filt_mac_rd_en, filt_vlan_rd_en;
    logic [7:0]             filt_mac_rd_func, filt_vlan_rd_func;
    logic [5:0]             filt_mac_rd_index;
    logic [6:0]             filt_vlan_rd_index;
    logic [49:0]            filt_mac_rd_data;
    logic [31:0]            filt_vlan_rd_data;

    vio_mgmt #(
        .NUM_FUNC(NUM_FUNC),
        .NUM_PF(NUM_PF),
        .FUNC_PF(FUNC_PF),
        .MAX_QUEUES(MAX_QUEUES),
        .US_CYCLES(US_CYCLES),
        .MB_WORDS(MB_WORDS),
        .ADDR_W(10),
        .FUNC_MAC(FUNC_MAC)
    ) mgmt_inst (
        .clk(clk),
        .rst(rst),
        .s_axil_awvalid(s_axil_mgmt_awvalid),
        .s_axil_awready(s_axil_mgmt_awready),
        .s_axil_awaddr(s_axil_mgmt_awaddr),
        .s_axil_awprot(s_axil_mgmt_awprot),
        .s_axil_wvalid(s_axil_mgmt_wvalid),
        .s_axil_wready(s_axil_mgmt_wready),
        .s_axil_wdata(s_axil_mgmt_wdata),
        .s_axil_wstrb(s_axil_mgmt_wstrb),
        .s_axil_bvalid(s_axil_mgmt_bvalid),
        .s_axil_bready(s_axil_mgmt_bready),
        .s_axil_bresp(s_axil_mgmt_bresp),
        .s_axil_arvalid(s_axil_mgmt_arvalid),
        .s_axil_arready(s_axil_mgmt_arready),
        .s_axil_araddr(s_axil_mgmt_araddr),
        .s_axil_arprot(s_axil_mgmt_arprot),
        .s_axil_rvalid(s_axil_mgmt_rvalid),
        .s_axil_rready(s_axil_mgmt_rready),
        .s_axil_rdata(s_axil_mgmt_rdata),
        .s_axil_rresp(s_axil_mgmt_rresp),
        .irq(mgmt_irq),
        .time_us(mgmt_time_us),
        .mb_valid(mb_valid),
        .mb_func(mb_func),
        .mb_queue(mb_queue),
        .mb_cmd_len(mb_cmd_len),
        .mb_rsp_room(mb_rsp_room),
        .mb_cmd_data(mb_cmd_data),
        .mb_cmd_irq(mb_cmd_irq),
        .mb_timeout_irq(mb_timeout_irq),
        .mb_done(mb_done),
        .mb_rsp_len(mb_rsp_len),
        .mb_rsp_data(mb_rsp_data),
        .mb_timeout_us(mb_timeout_us),
        .mon_status(mon_status),
        .mon_features(mon_features),
        .mon_queue_en(mon_queue_en),
        .func_num_queues(FUNC_NUM_QUEUES),
        .func_exists(func_exists),
        .func_flr(flr_inproc),
        .net_mac(net_mac),
        .net_status(net_status),
        .net_pairs(net_pairs),
        .net_rx_mode(net_rx_mode),
        .coal_rd_func(coal_rd_func),
        .coal_rd_vq(coal_rd_vq),
        .coal_rd_pkts(coal_rd_pkts),
        .coal_rd_usecs(coal_rd_usecs),
        .coal_changed(coal_changed),
        .coal_changed_func(coal_changed_func),
        .coal_changed_vq(coal_changed_vq),
        .filt_mac_rd_en(filt_mac_rd_en),
        .filt_mac_rd_func(filt_mac_rd_func),
        .filt_mac_rd_index(filt_mac_rd_index),
        .filt_mac_rd_data(filt_mac_rd_data),
        .filt_vlan_rd_en(filt_vlan_rd_en),
        .filt_vlan_rd_func(filt_vlan_rd_func),
        .filt_vlan_rd_index(filt_vlan_rd_index),
        .filt_vlan_rd_data(filt_vlan_rd_data)
    );

    // ------------------------------------------------------------------ net queue roles (virtio.md §6.1)
    // N = max pairs with MQ negotiated, else 1; the controlq is vq 2N; vq < 2N: even RX, odd TX.
    localparam int NET_MQ = 22;

    function automatic logic [15:0] net_n(input logic [7:0] f, input logic [NUM_FUNC*128-1:0] feat);
        net_n = 16'd1;
        for (int i = 0; i < NUM_FUNC; i++)
            if (f == 8'(i) && feat[i*128 + NET_MQ]) net_n = (FUNC_NUM_QUEUES[i*16 +: 16] - 16'd1) >> 1;
    endfunction

    function automatic logic is_net(input logic [7:0] f);
        is_net = 1'b0;
        for (int i = 0; i < NUM_FUNC; i++)
            if (f == 8'(i)) is_net = FUNC_NET[i];
    endfunction

    // driver notifications: net receive queues are drained by vio_net_rx, not walked
    logic notify_rx_q;
    logic av_notify_valid, av_notify_ready;
    always_comb begin
        logic [15:0] n;
        n = net_n(notify_func, mon_features);
        notify_rx_q = is_net(notify_func) && !(notify_queue == (n << 1)
                                               || (notify_queue < (n << 1) && notify_queue[0]));
    end
    assign av_notify_valid = notify_valid && !notify_rx_q;
    assign notify_ready = notify_rx_q ? 1'b1 : av_notify_ready;

    // ------------------------------------------------------------------ DMA clients
    // read descriptors:  0 avail, 1 used (event word), 2+k blk engine k, 2+NE ctrlq, 3+NE tx
    // write descriptors: 0 used, 1+k blk engine k, 1+NE ctrlq, 2+NE rx
    localparam int RD_DW = 8 + 64 + RAM_ADDR_W + LEN_W + OP_TAG_W;
    localparam int WR_DW = RD_DW;
    localparam int NRD = NE + 4, NWR = NE + 3;

    logic [NRD-1:0]         rdc_valid, rdc_ready;
    logic [NRD*RD_DW-1:0]   rdc_data;
    logic [NWR-1:0]         wrc_valid, wrc_ready;
    logic [NWR*WR_DW-1:0]   wrc_data;

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
    logic                  ev_valid, ev_ready, ev_notify, ev_novec;
    logic [7:0]            ev_func;
    logic [15:0]           ev_queue, ev_count;
    logic [10:0]           ev_vec;
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

    // net engines: control queue, transmit, receive
    logic                  cq_rd_valid, cq_wr_valid, tx_rd_valid, rx_wr_valid;
    logic [RD_DW-1:0]      cq_rd_data, cq_wr_data, tx_rd_data, rx_wr_data;
    logic                  cq_buf_rd_en, cq_buf_wr_en, tx_buf_rd_en, rx_buf_wr_en;
    logic [ROW_W-1:0]      cq_buf_rd_addr, cq_buf_wr_addr, tx_buf_rd_addr, rx_buf_wr_addr;
    logic [511:0]          cq_buf_rd_data, cq_buf_wr_data, tx_buf_rd_data, rx_buf_wr_data;
    logic [63:0]           cq_buf_wr_be, rx_buf_wr_be;
    logic [NUM_FUNC-1:0]   cq_needs_reset, cq_quiesced, tx_needs_reset, tx_quiesced, rx_needs_reset, rx_quiesced;
    logic                  cq_busy, tx_busy, rx_busy;

    // avail -> dispatch -> engines (ports 0..NE-1 blk, NE ctrlq, NE+1 tx, NE+2 rx)
    localparam int NP = NE + 3;
    localparam int P_CQ = NE, P_TX = NE + 1, P_RX = NE + 2;
    logic                  seg_valid, seg_ready, seg_write, seg_error, seg_last;
    logic [63:0]           seg_addr;
    logic [31:0]           seg_len;
    logic                  buf_valid, buf_ready, buf_wrap_first, buf_indirect, buf_error;
    logic                  buf_fetch, buf_none, buf_wrap_next;
    logic [7:0]            buf_func;
    logic [15:0]           buf_queue, buf_id, buf_slot_first, buf_num_desc, buf_slot_next;
    logic [NP-1:0]         dp_seg_valid, dp_seg_ready, dp_buf_valid, dp_buf_ready, dp_mask, dp_busy;
    logic                  dispatch_locked;
    logic [7:0]            walk_func;
    logic [15:0]           walk_queue;
    logic                  walk_fetch, walk_active;
    logic [NE-1:0]         bk_seg_valid, bk_seg_ready, bk_bufr_valid, bk_bufr_ready;

    // RX buffer fetch / commit
    logic                  fetch_valid, fetch_ready, fetch_cursor, fetch_wrap, commit_valid, commit_wrap;
    logic [7:0]            fetch_func, commit_func;
    logic [15:0]           fetch_queue, fetch_slot, commit_queue, commit_slot;

    // engines -> used (blk engines, ctrlq, tx, rx)
    localparam int UW = 8 + 16 + 16 + 32 + 16 + 1;       // + more (a group of records: one MRG_RXBUF frame)
    logic [NP-1:0]         en_used_req, en_used_valid, en_used_ready;
    logic [NP*UW-1:0]      en_used_data;
    logic                  used_valid, used_ready;
    logic [7:0]            used_func;
    logic [15:0]           used_queue, used_id, used_num_desc;
    logic [31:0]           used_len;
    logic                  used_more, rx_u_more, rx_used_group;

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

    assign rdc_valid = {tx_rd_valid, cq_rd_valid, bk_rd_valid, us_rd_valid, av_rd_valid};
    assign rdc_data = {tx_rd_data, cq_rd_data, bk_rd_data,
                       {us_rd_func, us_rd_addr, us_rd_ram, us_rd_len, us_rd_tag},
                       {av_rd_func, av_rd_addr, av_rd_ram, av_rd_len, av_rd_tag}};
    assign wrc_valid = {rx_wr_valid, cq_wr_valid, bk_wr_valid, us_wr_valid};
    assign wrc_data = {rx_wr_data, cq_wr_data, bk_wr_data, {us_wr_func, us_wr_addr, us_wr_ram, us_wr_len, us_wr_tag}};

    /* verilator lint_off PINCONNECTEMPTY */
    vio_req_arb #(.PORTS(NRD), .DATA_W(RD_DW)) rd_arb_inst (
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

    vio_req_arb #(.PORTS(NWR), .DATA_W(WR_DW)) wr_arb_inst (
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

    vio_req_arb #(.PORTS(NP), .DATA_W(UW)) used_arb_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_req_valid(en_used_valid),
        .s_axis_req_ready(en_used_ready),
        .s_axis_req_data(en_used_data),
        .m_axis_req_valid(used_valid),
        .m_axis_req_ready(used_ready),
        .m_axis_req_data({used_func, used_queue, used_id, used_len, used_num_desc, used_more}),
        .m_axis_req_port()
    );
    /* verilator lint_on PINCONNECTEMPTY */

    // statuses back by tag
    wire av_rd_st = rd_st_valid && rd_st_tag == OP_TAG_W'(TAG_AV_RD);
    wire us_rd_st = rd_st_valid && rd_st_tag == OP_TAG_W'(TAG_US_RD);
    wire us_wr_st = wr_st_valid && wr_st_tag == OP_TAG_W'(TAG_US_WR);
    wire cq_rd_st = rd_st_valid && rd_st_tag == OP_TAG_W'(TAG_CQ_RD);
    wire cq_wr_st = wr_st_valid && wr_st_tag == OP_TAG_W'(TAG_CQ_WR);
    wire tx_rd_st = rd_st_valid && rd_st_tag == OP_TAG_W'(TAG_TX_RD);
    wire rx_wr_st = wr_st_valid && wr_st_tag == OP_TAG_W'(TAG_RX_WR);

    // ------------------------------------------------------------------ buffer RAMs
    // Each client has its own bank. Read RAM: the DMA read engine writes by
    // row, each client reads its bank. Write RAM: each client writes its
    // bank, the DMA write engine reads by row (bank selected by row range).
    function automatic logic in_rows(input logic [ROW_W-1:0] row, input int base, input int rows);
        in_rows = row >= ROW_W'(base) && {1'b0, row} < (ROW_W + 1)'(base + rows);
    endfunction

    vio_ram_sdp #(.DATA_W(512), .ADDR_W(AV_AW)) av_ram_inst (
        .clk(clk),
        .wr_en(ram_wr_en && in_rows(ram_wr_addr, AV_ROW, AV_ROWS)),
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

    vio_ram_sdp #(.DATA_W(512), .ADDR_W(CQ_AW)) cq_rd_ram_inst (
        .clk(clk),
        .wr_en(ram_wr_en && in_rows(ram_wr_addr, CQ_ROW, CQ_ROWS)),
        .wr_addr(CQ_AW'(ram_wr_addr - ROW_W'(CQ_ROW))),
        .wr_be(ram_wr_be), .wr_data(ram_wr_data),
        .rd_en(cq_buf_rd_en), .rd_addr(CQ_AW'(cq_buf_rd_addr - ROW_W'(CQ_ROW))), .rd_data(cq_buf_rd_data)
    );

    vio_ram_sdp #(.DATA_W(512), .ADDR_W(NET_AW)) tx_ram_inst (
        .clk(clk),
        .wr_en(ram_wr_en && in_rows(ram_wr_addr, NET_ROW, NET_ROWS)),
        .wr_addr(NET_AW'(ram_wr_addr - ROW_W'(NET_ROW))),
        .wr_be(ram_wr_be), .wr_data(ram_wr_data),
        .rd_en(tx_buf_rd_en), .rd_addr(NET_AW'(tx_buf_rd_addr - ROW_W'(NET_ROW))), .rd_data(tx_buf_rd_data)
    );

    logic [511:0]  st_ram_data, cq_wr_ram_data, rx_wr_ram_data;
    logic [511:0]  bk_wr_ram_data [NE];
    logic [1:0]    rd_sel;            // 0 staging, 1 blk, 2 ctrlq, 3 rx
    logic [EW-1:0] rd_sel_eng;

    vio_ram_sdp #(.DATA_W(512), .ADDR_W(1)) st_ram_inst (
        .clk(clk),
        .wr_en(us_buf_wr_en), .wr_addr(1'b0), .wr_be(us_buf_wr_be), .wr_data(us_buf_wr_data),
        .rd_en(ram_rd_en && ram_rd_addr == ROW_W'(ST_ROW)), .rd_addr(1'b0), .rd_data(st_ram_data)
    );

    vio_ram_sdp #(.DATA_W(512), .ADDR_W(CQ_AW)) cq_wr_ram_inst (
        .clk(clk),
        .wr_en(cq_buf_wr_en), .wr_addr(CQ_AW'(cq_buf_wr_addr - ROW_W'(CQ_ROW))),
        .wr_be(cq_buf_wr_be), .wr_data(cq_buf_wr_data),
        .rd_en(ram_rd_en && in_rows(ram_rd_addr, CQ_ROW, CQ_ROWS)),
        .rd_addr(CQ_AW'(ram_rd_addr - ROW_W'(CQ_ROW))), .rd_data(cq_wr_ram_data)
    );

    vio_ram_sdp #(.DATA_W(512), .ADDR_W(NET_AW)) rx_ram_inst (
        .clk(clk),
        .wr_en(rx_buf_wr_en), .wr_addr(NET_AW'(rx_buf_wr_addr - ROW_W'(NET_ROW))),
        .wr_be(rx_buf_wr_be), .wr_data(rx_buf_wr_data),
        .rd_en(ram_rd_en && in_rows(ram_rd_addr, NET_ROW, NET_ROWS)),
        .rd_addr(NET_AW'(ram_rd_addr - ROW_W'(NET_ROW))), .rd_data(rx_wr_ram_data)
    );

    wire [ROW_W-1:0] rd_rel = ram_rd_addr - ROW_W'(BLK_ROW);   // DMA write engine row, blk-relative
    wire [ROW_W-1:0] wr_rel = ram_wr_addr - ROW_W'(BLK_ROW);   // DMA read engine row, blk-relative

    always_ff @(posedge clk) begin
        if (ram_rd_en) begin
            rd_sel <= in_rows(ram_rd_addr, BLK_ROW, NE * BLK_STRIDE) ? 2'd1 :
                      in_rows(ram_rd_addr, CQ_ROW, CQ_ROWS) ? 2'd2 :
                      in_rows(ram_rd_addr, NET_ROW, NET_ROWS) ? 2'd3 : 2'd0;
            rd_sel_eng <= EW'(rd_rel >> BLK_AW);
        end
    end
    always_comb begin
        case (rd_sel)
            2'd1: ram_rd_data = bk_wr_ram_data[rd_sel_eng];
            2'd2: ram_rd_data = cq_wr_ram_data;
            2'd3: ram_rd_data = rx_wr_ram_data;
            default: ram_rd_data = st_ram_data;
        endcase
    end

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
        .s_axis_notify_valid(av_notify_valid),
        .s_axis_notify_ready(av_notify_ready),
        .s_axis_notify_func(notify_func),
        .s_axis_notify_queue(notify_queue),
        .s_axis_fetch_valid(fetch_valid),
        .s_axis_fetch_ready(fetch_ready),
        .s_axis_fetch_func(fetch_func),
        .s_axis_fetch_queue(fetch_queue),
        .s_axis_fetch_cursor(fetch_cursor),
        .s_axis_fetch_slot(fetch_slot),
        .s_axis_fetch_wrap(fetch_wrap),
        .s_commit_valid(commit_valid),
        .s_commit_func(commit_func),
        .s_commit_queue(commit_queue),
        .s_commit_slot(commit_slot),
        .s_commit_wrap(commit_wrap),
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
        .m_axis_buf_fetch(buf_fetch),
        .m_axis_buf_none(buf_none),
        .m_axis_buf_slot_next(buf_slot_next),
        .m_axis_buf_wrap_next(buf_wrap_next),
        .m_axis_seg_valid(seg_valid),
        .m_axis_seg_ready(seg_ready),
        .m_axis_seg_addr(seg_addr),
        .m_axis_seg_len(seg_len),
        .m_axis_seg_write(seg_write),
        .m_axis_seg_error(seg_error),
        .m_axis_seg_last(seg_last),
        .walk_func(walk_func),
        .walk_queue(walk_queue),
        .walk_fetch(walk_fetch),
        .walk_active(walk_active),
        .needs_reset_set(av_needs_reset),
        .busy(av_busy),
        .func_quiesced(av_quiesced)
    );

    // ------------------------------------------------------------------ buffer dispatch by queue role
    always_comb begin
        logic [15:0] n;
        n = net_n(walk_func, mon_features);
        dp_mask = '0;
        if (walk_fetch)
            dp_mask[P_RX] = 1'b1;
        else if (!is_net(walk_func))
            dp_mask[NE-1:0] = '1;
        else if (walk_queue == (n << 1))
            dp_mask[P_CQ] = 1'b1;
        else
            dp_mask[P_TX] = 1'b1;
    end
    assign dp_busy = {1'b0, tx_busy, cq_busy, bk_busy};   // the RX engine waits for its own answers

    vio_buf_dispatch #(.PORTS(NP)) dispatch_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_seg_valid(seg_valid),
        .s_axis_seg_ready(seg_ready),
        .s_axis_buf_valid(buf_valid),
        .s_axis_buf_ready(buf_ready),
        .m_axis_seg_valid(dp_seg_valid),
        .m_axis_seg_ready(dp_seg_ready),
        .m_axis_buf_valid(dp_buf_valid),
        .m_axis_buf_ready(dp_buf_ready),
        .s_port_mask(dp_mask),
        .eng_busy(dp_busy),
        .locked(dispatch_locked)
    );
    assign bk_seg_valid = dp_seg_valid[NE-1:0];
    assign bk_bufr_valid = dp_buf_valid[NE-1:0];

    // ------------------------------------------------------------------ virtio-blk requests
    logic [NE-1:0]         bk_used_valid, bk_used_ready;
    logic [NE*UW-1:0]      bk_used_data;

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
        assign bk_used_data[k*UW +: UW] = {u_func, u_queue, u_id, u_len, u_num_desc, 1'b0};

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

    // ------------------------------------------------------------------ virtio-net control queue
    logic [7:0]  cq_u_func, tx_u_func, rx_u_func;
    logic [15:0] cq_u_queue, cq_u_id, cq_u_num_desc, tx_u_queue, tx_u_id, tx_u_num_desc;
    logic [15:0] rx_u_queue, rx_u_id, rx_u_num_desc;
    logic [31:0] cq_u_len, tx_u_len, rx_u_len;
    logic        cq_used_valid, tx_used_valid, rx_used_valid;
    logic        cq_seg_ready, tx_seg_ready, rx_seg_ready, cq_bufr_ready, tx_bufr_ready, rx_bufr_ready;

    vio_net_ctrlq #(
        .NUM_FUNC(NUM_FUNC),
        .MAX_SEGS(MAX_SEGS),
        .RAM_ADDR_W(RAM_ADDR_W),
        .RD_RAM_ADDR(CQ_ROW * 64),
        .WR_RAM_ADDR(CQ_ROW * 64),
        .LEN_W(LEN_W),
        .OP_TAG_W(OP_TAG_W),
        .RD_DMA_TAG(TAG_CQ_RD),
        .WR_DMA_TAG(TAG_CQ_WR),
        .MB_WORDS(MB_WORDS),
        .US_CYCLES(US_CYCLES)
    ) net_ctrlq_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_seg_valid(dp_seg_valid[P_CQ]),
        .s_axis_seg_ready(cq_seg_ready),
        .s_axis_seg_addr(seg_addr),
        .s_axis_seg_len(seg_len),
        .s_axis_seg_write(seg_write),
        .s_axis_seg_error(seg_error),
        .s_axis_seg_last(seg_last),
        .s_axis_buf_valid(dp_buf_valid[P_CQ]),
        .s_axis_buf_ready(cq_bufr_ready),
        .s_axis_buf_func(buf_func),
        .s_axis_buf_queue(buf_queue),
        .s_axis_buf_id(buf_id),
        .s_axis_buf_slot_first(buf_slot_first),
        .s_axis_buf_wrap_first(buf_wrap_first),
        .s_axis_buf_num_desc(buf_num_desc),
        .s_axis_buf_indirect(buf_indirect),
        .s_axis_buf_error(buf_error),
        .ctx_req_valid(ctx_req_valid[CTX_CQ]),
        .ctx_req_func(ctx_req_func[CTX_CQ*8 +: 8]),
        .ctx_req_queue(ctx_req_queue[CTX_CQ*16 +: 16]),
        .ctx_rsp_valid(ctx_rsp_valid[CTX_CQ]),
        .ctx_rsp_live(ctx_rsp_live[CTX_CQ]),
        .ctx_rsp_features(ctx_rsp_features[CTX_CQ*128 +: 128]),
        .func_reset(reset_req),
        .m_axis_rd_desc_valid(cq_rd_valid),
        .m_axis_rd_desc_ready(rdc_ready[2 + NE]),
        .m_axis_rd_desc_func(cq_rd_data[RD_DW-1 -: 8]),
        .m_axis_rd_desc_pcie_addr(cq_rd_data[RD_DW-9 -: 64]),
        .m_axis_rd_desc_ram_addr(cq_rd_data[LEN_W+OP_TAG_W +: RAM_ADDR_W]),
        .m_axis_rd_desc_len(cq_rd_data[OP_TAG_W +: LEN_W]),
        .m_axis_rd_desc_tag(cq_rd_data[0 +: OP_TAG_W]),
        .s_axis_rd_desc_status_valid(cq_rd_st),
        .s_axis_rd_desc_status_tag(rd_st_tag),
        .s_axis_rd_desc_status_error(rd_st_error),
        .m_axis_wr_desc_valid(cq_wr_valid),
        .m_axis_wr_desc_ready(wrc_ready[1 + NE]),
        .m_axis_wr_desc_func(cq_wr_data[WR_DW-1 -: 8]),
        .m_axis_wr_desc_pcie_addr(cq_wr_data[WR_DW-9 -: 64]),
        .m_axis_wr_desc_ram_addr(cq_wr_data[LEN_W+OP_TAG_W +: RAM_ADDR_W]),
        .m_axis_wr_desc_len(cq_wr_data[OP_TAG_W +: LEN_W]),
        .m_axis_wr_desc_tag(cq_wr_data[0 +: OP_TAG_W]),
        .s_axis_wr_desc_status_valid(cq_wr_st),
        .s_axis_wr_desc_status_tag(wr_st_tag),
        .s_axis_wr_desc_status_error(wr_st_error),
        .buf_rd_en(cq_buf_rd_en),
        .buf_rd_addr(cq_buf_rd_addr),
        .buf_rd_data(cq_buf_rd_data),
        .buf_wr_en(cq_buf_wr_en),
        .buf_wr_addr(cq_buf_wr_addr),
        .buf_wr_be(cq_buf_wr_be),
        .buf_wr_data(cq_buf_wr_data),
        .mb_valid(mb_valid),
        .mb_func(mb_func),
        .mb_queue(mb_queue),
        .mb_cmd_len(mb_cmd_len),
        .mb_rsp_room(mb_rsp_room),
        .mb_cmd_data(mb_cmd_data),
        .mb_cmd_irq(mb_cmd_irq),
        .mb_timeout_irq(mb_timeout_irq),
        .mb_done(mb_done),
        .mb_rsp_len(mb_rsp_len),
        .mb_rsp_data(mb_rsp_data),
        .mb_timeout_us(mb_timeout_us),
        .m_axis_used_valid(cq_used_valid),
        .m_axis_used_ready(en_used_ready[P_CQ]),
        .m_axis_used_func(cq_u_func),
        .m_axis_used_queue(cq_u_queue),
        .m_axis_used_id(cq_u_id),
        .m_axis_used_len(cq_u_len),
        .m_axis_used_num_desc(cq_u_num_desc),
        .needs_reset_set(cq_needs_reset),
        .func_quiesced(cq_quiesced),
        .busy(cq_busy)
    );

    // ------------------------------------------------------------------ virtio-net transmit
    vio_net_tx #(
        .NUM_FUNC(NUM_FUNC),
        .MAX_SEGS(MAX_SEGS),
        .RAM_ADDR_W(RAM_ADDR_W),
        .RD_RAM_ADDR(NET_ROW * 64),
        .LEN_W(LEN_W),
        .OP_TAG_W(OP_TAG_W),
        .RD_DMA_TAG(TAG_TX_RD),
        .MAX_FRAME(NET_MAX_FRAME)
    ) net_tx_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_seg_valid(dp_seg_valid[P_TX]),
        .s_axis_seg_ready(tx_seg_ready),
        .s_axis_seg_addr(seg_addr),
        .s_axis_seg_len(seg_len),
        .s_axis_seg_write(seg_write),
        .s_axis_seg_error(seg_error),
        .s_axis_seg_last(seg_last),
        .s_axis_buf_valid(dp_buf_valid[P_TX]),
        .s_axis_buf_ready(tx_bufr_ready),
        .s_axis_buf_func(buf_func),
        .s_axis_buf_queue(buf_queue),
        .s_axis_buf_id(buf_id),
        .s_axis_buf_slot_first(buf_slot_first),
        .s_axis_buf_wrap_first(buf_wrap_first),
        .s_axis_buf_num_desc(buf_num_desc),
        .s_axis_buf_indirect(buf_indirect),
        .s_axis_buf_error(buf_error),
        .ctx_req_valid(ctx_req_valid[CTX_TX]),
        .ctx_req_func(ctx_req_func[CTX_TX*8 +: 8]),
        .ctx_req_queue(ctx_req_queue[CTX_TX*16 +: 16]),
        .ctx_rsp_valid(ctx_rsp_valid[CTX_TX]),
        .ctx_rsp_live(ctx_rsp_live[CTX_TX]),
        .ctx_rsp_features(ctx_rsp_features[CTX_TX*128 +: 128]),
        .func_reset(reset_req),
        .m_axis_rd_desc_valid(tx_rd_valid),
        .m_axis_rd_desc_ready(rdc_ready[3 + NE]),
        .m_axis_rd_desc_func(tx_rd_data[RD_DW-1 -: 8]),
        .m_axis_rd_desc_pcie_addr(tx_rd_data[RD_DW-9 -: 64]),
        .m_axis_rd_desc_ram_addr(tx_rd_data[LEN_W+OP_TAG_W +: RAM_ADDR_W]),
        .m_axis_rd_desc_len(tx_rd_data[OP_TAG_W +: LEN_W]),
        .m_axis_rd_desc_tag(tx_rd_data[0 +: OP_TAG_W]),
        .s_axis_rd_desc_status_valid(tx_rd_st),
        .s_axis_rd_desc_status_tag(rd_st_tag),
        .s_axis_rd_desc_status_error(rd_st_error),
        .buf_rd_en(tx_buf_rd_en),
        .buf_rd_addr(tx_buf_rd_addr),
        .buf_rd_data(tx_buf_rd_data),
        .m_axis_tx_tdata(m_axis_tx_tdata),
        .m_axis_tx_tkeep(m_axis_tx_tkeep),
        .m_axis_tx_tvalid(m_axis_tx_tvalid),
        .m_axis_tx_tready(m_axis_tx_tready),
        .m_axis_tx_tlast(m_axis_tx_tlast),
        .m_axis_tx_tuser(m_axis_tx_tuser),
        .m_axis_used_valid(tx_used_valid),
        .m_axis_used_ready(en_used_ready[P_TX]),
        .m_axis_used_func(tx_u_func),
        .m_axis_used_queue(tx_u_queue),
        .m_axis_used_id(tx_u_id),
        .m_axis_used_len(tx_u_len),
        .m_axis_used_num_desc(tx_u_num_desc),
        .needs_reset_set(tx_needs_reset),
        .func_quiesced(tx_quiesced),
        .busy(tx_busy),
        .stat_tx_drop_count(stat_tx_drop_count)
    );

    // ------------------------------------------------------------------ virtio-net receive
    vio_net_rx #(
        .NUM_FUNC(NUM_FUNC),
        .FUNC_NET(FUNC_NET),
        .MAX_SEGS(MAX_SEGS),
        .RAM_ADDR_W(RAM_ADDR_W),
        .WR_RAM_ADDR(NET_ROW * 64),
        .LEN_W(LEN_W),
        .OP_TAG_W(OP_TAG_W),
        .WR_DMA_TAG(TAG_RX_WR),
        .MAX_FRAME(NET_MAX_FRAME)
    ) net_rx_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_rx_tdata(s_axis_rx_tdata),
        .s_axis_rx_tkeep(s_axis_rx_tkeep),
        .s_axis_rx_tvalid(s_axis_rx_tvalid),
        .s_axis_rx_tready(s_axis_rx_tready),
        .s_axis_rx_tlast(s_axis_rx_tlast),
        .s_axis_rx_tuser(s_axis_rx_tuser),
        .m_axis_fetch_valid(fetch_valid),
        .m_axis_fetch_ready(fetch_ready),
        .m_axis_fetch_func(fetch_func),
        .m_axis_fetch_queue(fetch_queue),
        .m_axis_fetch_cursor(fetch_cursor),
        .m_axis_fetch_slot(fetch_slot),
        .m_axis_fetch_wrap(fetch_wrap),
        .m_commit_valid(commit_valid),
        .m_commit_func(commit_func),
        .m_commit_queue(commit_queue),
        .m_commit_slot(commit_slot),
        .m_commit_wrap(commit_wrap),
        .s_axis_seg_valid(dp_seg_valid[P_RX]),
        .s_axis_seg_ready(rx_seg_ready),
        .s_axis_seg_addr(seg_addr),
        .s_axis_seg_len(seg_len),
        .s_axis_seg_write(seg_write),
        .s_axis_seg_error(seg_error),
        .s_axis_seg_last(seg_last),
        .s_axis_buf_valid(dp_buf_valid[P_RX]),
        .s_axis_buf_ready(rx_bufr_ready),
        .s_axis_buf_func(buf_func),
        .s_axis_buf_queue(buf_queue),
        .s_axis_buf_id(buf_id),
        .s_axis_buf_slot_first(buf_slot_first),
        .s_axis_buf_wrap_first(buf_wrap_first),
        .s_axis_buf_num_desc(buf_num_desc),
        .s_axis_buf_indirect(buf_indirect),
        .s_axis_buf_error(buf_error),
        .s_axis_buf_fetch(buf_fetch),
        .s_axis_buf_none(buf_none),
        .s_axis_buf_slot_next(buf_slot_next),
        .s_axis_buf_wrap_next(buf_wrap_next),
        .ctx_req_valid(ctx_req_valid[CTX_RX]),
        .ctx_req_func(ctx_req_func[CTX_RX*8 +: 8]),
        .ctx_req_queue(ctx_req_queue[CTX_RX*16 +: 16]),
        .ctx_rsp_valid(ctx_rsp_valid[CTX_RX]),
        .ctx_rsp_live(ctx_rsp_live[CTX_RX]),
        .ctx_rsp_features(ctx_rsp_features[CTX_RX*128 +: 128]),
        .func_reset(reset_req),
        .net_mac(net_mac),
        .net_rx_mode(net_rx_mode),
        .net_pairs(net_pairs),
        .filt_mac_rd_en(filt_mac_rd_en),
        .filt_mac_rd_func(filt_mac_rd_func),
        .filt_mac_rd_index(filt_mac_rd_index),
        .filt_mac_rd_data(filt_mac_rd_data),
        .filt_vlan_rd_en(filt_vlan_rd_en),
        .filt_vlan_rd_func(filt_vlan_rd_func),
        .filt_vlan_rd_index(filt_vlan_rd_index),
        .filt_vlan_rd_data(filt_vlan_rd_data),
        .m_axis_wr_desc_valid(rx_wr_valid),
        .m_axis_wr_desc_ready(wrc_ready[2 + NE]),
        .m_axis_wr_desc_func(rx_wr_data[WR_DW-1 -: 8]),
        .m_axis_wr_desc_pcie_addr(rx_wr_data[WR_DW-9 -: 64]),
        .m_axis_wr_desc_ram_addr(rx_wr_data[LEN_W+OP_TAG_W +: RAM_ADDR_W]),
        .m_axis_wr_desc_len(rx_wr_data[OP_TAG_W +: LEN_W]),
        .m_axis_wr_desc_tag(rx_wr_data[0 +: OP_TAG_W]),
        .s_axis_wr_desc_status_valid(rx_wr_st),
        .s_axis_wr_desc_status_tag(wr_st_tag),
        .s_axis_wr_desc_status_error(wr_st_error),
        .buf_wr_en(rx_buf_wr_en),
        .buf_wr_addr(rx_buf_wr_addr),
        .buf_wr_be(rx_buf_wr_be),
        .buf_wr_data(rx_buf_wr_data),
        .m_axis_used_valid(rx_used_valid),
        .m_axis_used_ready(en_used_ready[P_RX]),
        .m_axis_used_func(rx_u_func),
        .m_axis_used_queue(rx_u_queue),
        .m_axis_used_id(rx_u_id),
        .m_axis_used_len(rx_u_len),
        .m_axis_used_num_desc(rx_u_num_desc),
        .m_axis_used_more(rx_u_more),
        .used_group(rx_used_group),
        .needs_reset_set(rx_needs_reset),
        .func_quiesced(rx_quiesced),
        .busy(rx_busy),
        .stat_rx_frames(stat_rx_frames),
        .stat_rx_drop_nobuf(stat_rx_drop_nobuf),
        .stat_rx_drop_filter(stat_rx_drop_filter),
        .stat_rx_drop_other(stat_rx_drop_other)
    );

    assign dp_seg_ready = {rx_seg_ready, tx_seg_ready, cq_seg_ready, bk_seg_ready};
    assign dp_buf_ready = {rx_bufr_ready, tx_bufr_ready, cq_bufr_ready, bk_bufr_ready};
    assign en_used_req = {rx_used_valid, tx_used_valid, cq_used_valid, bk_used_valid};
    assign en_used_data = {{rx_u_func, rx_u_queue, rx_u_id, rx_u_len, rx_u_num_desc, rx_u_more},
                           {tx_u_func, tx_u_queue, tx_u_id, tx_u_len, tx_u_num_desc, 1'b0},
                           {cq_u_func, cq_u_queue, cq_u_id, cq_u_len, cq_u_num_desc, 1'b0},
                           bk_used_data};

    // the records of one received frame reach vio_pring_used back to back: while vio_net_rx emits
    // a group, the other engines are held off the used port (a request already on the arbiter's
    // output goes first, before the group's first record)
    assign en_used_valid = {en_used_req[P_RX], en_used_req[P_RX-1:0] & {(NP-1){!rx_used_group}}};

    assign bk_used_ready = en_used_ready[NE-1:0];

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
        .RD_DMA_TAG(TAG_US_RD),
        .IRQ_EVENTS(1)
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
        .s_axis_used_more(used_more),
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
        .m_axis_irq_valid(ev_valid),
        .m_axis_irq_ready(ev_ready),
        .m_axis_irq_func(ev_func),
        .m_axis_irq_vec(ev_vec),
        .m_axis_irq_queue(ev_queue),
        .m_axis_irq_notify(ev_notify),
        .m_axis_irq_novec(ev_novec),
        .m_axis_irq_count(ev_count),
        .isr_queue_set(isr_queue_set),
        .needs_reset_set(us_needs_reset),
        .busy(us_busy),
        .func_quiesced(us_quiesced)
    );

    // ------------------------------------------------------------------ interrupt coalescing (virtio.md §6.6)
    vio_irq_coal #(
        .NUM_FUNC(NUM_FUNC),
        .MAX_QUEUES(MAX_QUEUES)
    ) irq_coal_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_evt_valid(ev_valid),
        .s_axis_evt_ready(ev_ready),
        .s_axis_evt_func(ev_func),
        .s_axis_evt_queue(ev_queue),
        .s_axis_evt_vec(ev_vec),
        .s_axis_evt_notify(ev_notify),
        .s_axis_evt_count(ev_count),
        .coal_rd_func(coal_rd_func),
        .coal_rd_vq(coal_rd_vq),
        .coal_rd_pkts(coal_rd_pkts),
        .coal_rd_usecs(coal_rd_usecs),
        .coal_changed(coal_changed),
        .coal_changed_func(coal_changed_func),
        .coal_changed_vq(coal_changed_vq),
        .time_us(mgmt_time_us),
        .func_reset(reset_req),
        .queue_reset_valid(qr_valid),
        .queue_reset_func(qr_func),
        .queue_reset_queue(qr_queue),
        .m_axis_irq_valid(us_irq_valid),
        .m_axis_irq_ready(us_irq_ready),
        .m_axis_irq_func(us_irq_func),
        .m_axis_irq_vec(us_irq_vec),
        .stat_irq_sent(stat_irq_sent),
        .stat_irq_coalesced(stat_irq_coalesced)
    );

    // ------------------------------------------------------------------ function state
    always_comb begin
        needs_reset = av_needs_reset | us_needs_reset | cq_needs_reset | tx_needs_reset | rx_needs_reset;
        quiesced = av_quiesced & us_quiesced & cq_quiesced & tx_quiesced & rx_quiesced;
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
                       live, notify_data, notify_drop, av_busy, us_busy, rx_busy, dispatch_locked, walk_active,
                       ev_novec, us_buf_rd_addr, us_buf_wr_addr, rd_rel, wr_rel};

endmodule

`resetall
