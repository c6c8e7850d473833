// SPDX-License-Identifier: Apache-2.0
//
// The management port: what the DPU firmware sees of the device
// (DESIGN.md decisions 4-6). vio_mgmt_regs (generated from
// hdl/rdl/vio_mgmt.rdl, map in docs/mgmt_regs.md) plus the state behind the
// indexed registers:
//
//   * time: a free-running microsecond counter (US_CYCLES clock cycles per
//     microsecond) on TIME_US_LO/HI and on time_us for the engines;
//   * mailbox: the control-queue engine's mb_* ports are the CTRLQ_* /
//     CMD_DATA / RSP_DATA registers; its command / timeout pulses set
//     IRQ_STATUS.CTRLQ / CTRLQ_TIMEOUT;
//   * functions: FUNC_SEL selects a function; FUNC_FEAT_LO/HI, FUNC_STATE and
//     FUNC_QUEUE_EN read its negotiated features (bits 63:0), device_status,
//     num_queues and queue_enable bits live (mon_* of vio_virtio_regs).
//     FUNC_APPLY loads FUNC_MAC_LO/HI, FUNC_NET_STATUS, FUNC_PAIRS.CURR and
//     FUNC_RX_MODE into the selected function's net_mac / net_status /
//     net_pairs / net_rx_mode outputs (a MAC or status change makes
//     vio_virtio_regs bump config_generation and raise the config
//     interrupt). FUNC_PAIRS.MAX is not applied: max_virtqueue_pairs is a
//     build parameter (FUNC_NUM_QUEUES). A change of any function's
//     device_status or queue_enable bits, or of its existence (func_exists:
//     VF Enable / NumVFs) or FLR state (func_flr), sets IRQ_STATUS.FUNC_EVENT
//     (the firmware rescans: reset, FEATURES_OK, queue re-enable, VF
//     appeared / gone, FLR done). FUNC_STATE shows EXISTS / FLR / IS_VF / PF
//     per function, DEV_FUNCS the numbering (NUM_FUNC rows, NUM_PF PFs);
//   * coalescing: COAL_APPLY stores COAL_MAX_PKTS / COAL_MAX_USECS for
//     (COAL_SEL.FUNC, COAL_SEL.VQ) in a table the interrupt unit reads on
//     coal_rd_* (combinational), and pulses coal_changed with the pair;
//   * filters: FILTER_CMD.WRITE_MAC stores entry FILTER_SEL.INDEX (0..63) of
//     the function's MAC table {multicast, valid, mac}; WRITE_VLAN stores
//     word INDEX (0..127) of its 4096-bit VLAN table; CLEAR invalidates the
//     whole MAC table and zeroes the VLAN table of FILTER_SEL.FUNC. Entries
//     live in RAM with valid bits in flops; the receive path reads them on
//     filt_*_rd_* (one cycle latency).
// Indices out of range (function >= NUM_FUNC, vq >= MAX_QUEUES, index beyond
// a table) are ignored on writes and read as 0.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_mgmt #(
    parameter int NUM_FUNC = 3,          // functions: NUM_PF PFs, then the VFs
    parameter int NUM_PF = NUM_FUNC,     // physical functions (1..4)
    // per function f in bits [2f +: 2]: the PF it belongs to (a PF: itself)
    parameter logic [NUM_FUNC*2-1:0] FUNC_PF = '0,
    parameter int MAX_QUEUES = 8,        // queue contexts per function (coalescing table rows per function)
    parameter int US_CYCLES = 250,       // clock cycles per microsecond
    parameter int MB_WORDS = 64,         // mailbox words (the register map's CMD_DATA / RSP_DATA)
    parameter int ADDR_W = 10,           // AXI4-lite address width
    // per function f in bits [48f +: 48]: MAC after reset, first octet in bits [47:40]
    parameter logic [NUM_FUNC*48-1:0] FUNC_MAC = {NUM_FUNC{48'h52_54_00_00_00_00}}
) (
    input  wire logic                        clk,
    input  wire logic                        rst,

    // AXI4-lite slave (firmware)
    input  wire logic                        s_axil_awvalid,
    output logic                             s_axil_awready,
    input  wire logic [ADDR_W-1:0]           s_axil_awaddr,
    input  wire logic [2:0]                  s_axil_awprot,
    input  wire logic                        s_axil_wvalid,
    output logic                             s_axil_wready,
    input  wire logic [31:0]                 s_axil_wdata,
    input  wire logic [3:0]                  s_axil_wstrb,
    output logic                             s_axil_bvalid,
    input  wire logic                        s_axil_bready,
    output logic      [1:0]                  s_axil_bresp,
    input  wire logic                        s_axil_arvalid,
    output logic                             s_axil_arready,
    input  wire logic [ADDR_W-1:0]           s_axil_araddr,
    input  wire logic [2:0]                  s_axil_arprot,
    output logic                             s_axil_rvalid,
    input  wire logic                        s_axil_rready,
    output logic      [31:0]                 s_axil_rdata,
    output logic      [1:0]                  s_axil_rresp,
    output logic                             irq,             // to the firmware's core

    output logic      [63:0]                 time_us,

    // mailbox (vio_net_ctrlq)
    input  wire logic                        mb_valid,
    input  wire logic [7:0]                  mb_func,
    input  wire logic [15:0]                 mb_queue,
    input  wire logic [15:0]                 mb_cmd_len,
    input  wire logic [15:0]                 mb_rsp_room,
    input  wire logic [MB_WORDS*32-1:0]      mb_cmd_data,
    input  wire logic                        mb_cmd_irq,
    input  wire logic                        mb_timeout_irq,
    output logic                             mb_done,
    output logic      [15:0]                 mb_rsp_len,
    output logic      [MB_WORDS*32-1:0]      mb_rsp_data,
    output logic      [31:0]                 mb_timeout_us,

    // function state (vio_virtio_regs mon_*)
    input  wire logic [NUM_FUNC*8-1:0]       mon_status,
    input  wire logic [NUM_FUNC*128-1:0]     mon_features,
    input  wire logic [NUM_FUNC*MAX_QUEUES-1:0] mon_queue_en,
    input  wire logic [NUM_FUNC*16-1:0]      func_num_queues,
    input  wire logic [NUM_FUNC-1:0]         func_exists,     // PF always; VF while enabled and within NumVFs
    input  wire logic [NUM_FUNC-1:0]         func_flr,        // FLR in progress

    // provisioning (to vio_virtio_regs and the datapath)
    output logic      [NUM_FUNC*48-1:0]      net_mac,
    output logic      [NUM_FUNC*16-1:0]      net_status,
    output logic      [NUM_FUNC*16-1:0]      net_pairs,
    output logic      [NUM_FUNC*8-1:0]       net_rx_mode,     // FUNC_RX_MODE bits 7:0 (PROMISC .. NOBCAST, UNI/MULTI_OVERFLOW)

    // coalescing parameters (interrupt unit)
    input  wire logic [7:0]                  coal_rd_func,
    input  wire logic [15:0]                 coal_rd_vq,
    output logic      [31:0]                 coal_rd_pkts,
    output logic      [31:0]                 coal_rd_usecs,
    output logic                             coal_changed,
    output logic      [7:0]                  coal_changed_func,
    output logic      [15:0]                 coal_changed_vq,

    // filters (receive path): MAC entry {multicast, valid, mac}, VLAN word
    input  wire logic                        filt_mac_rd_en,
    input  wire logic [7:0]                  filt_mac_rd_func,
    input  wire logic [5:0]                  filt_mac_rd_index,
    output logic      [49:0]                 filt_mac_rd_data,
    input  wire logic                        filt_vlan_rd_en,
    input  wire logic [7:0]                  filt_vlan_rd_func,
    input  wire logic [6:0]                  filt_vlan_rd_index,
    output logic      [31:0]                 filt_vlan_rd_data
);

    localparam int FW = NUM_FUNC > 1 ? $clog2(NUM_FUNC) : 1;
    localparam int QW = MAX_QUEUES > 1 ? $clog2(MAX_QUEUES) : 1;
    localparam int CW = $clog2(US_CYCLES > 1 ? US_CYCLES : 2);

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_mgmt: NUM_FUNC must be 1..256");
        if (NUM_PF < 1 || NUM_PF > 4 || NUM_PF > NUM_FUNC) $fatal(1, "vio_mgmt: NUM_PF must be 1..4 and <= NUM_FUNC");
        if (MAX_QUEUES < 1 || MAX_QUEUES > 32) $fatal(1, "vio_mgmt: MAX_QUEUES must be 1..32 (FUNC_QUEUE_EN)");
        if (MB_WORDS != 64) $fatal(1, "vio_mgmt: the register map has 64 mailbox words");
        if (US_CYCLES < 1) $fatal(1, "vio_mgmt: US_CYCLES must be >= 1");
    end

    // ------------------------------------------------------------------ register block
    logic [7:0]  func_sel;
    logic [31:0] func_mac_lo;
    logic [15:0] func_mac_hi;
    logic        st_link_up, st_announce;
    logic [15:0] pairs_max, pairs_curr;
    logic        rx_promisc, rx_allmulti, rx_alluni, rx_nomulti, rx_nouni, rx_nobcast, rx_uni_ovf, rx_multi_ovf;
    logic        func_apply;
    logic [7:0]  coal_sel_func;
    logic [15:0] coal_sel_vq;
    logic [31:0] coal_max_pkts, coal_max_usecs;
    logic        coal_apply;
    logic [7:0]  filter_sel_func, filter_sel_index;
    logic [31:0] filter_mac_lo, filter_vlan;
    logic [15:0] filter_mac_hi_mac;
    logic        filter_mac_hi_valid, filter_mac_hi_multicast;
    logic        filter_cmd_write_mac, filter_cmd_write_vlan, filter_cmd_clear;
    logic        irq_status_ctrlq, irq_status_func_event, irq_status_ctrlq_timeout;
    logic        irq_enable_ctrlq, irq_enable_func_event, irq_enable_ctrlq_timeout;
    logic        func_event;
    logic [31:0] feat_lo, feat_hi, queue_en;
    logic [7:0]  state_status;
    logic [15:0] state_nq;

    vio_mgmt_regs #(.ADDR_W(ADDR_W)) regs_inst (
        .clk(clk),
        .rst(rst),
        .s_axil_awvalid(s_axil_awvalid),
        .s_axil_awready(s_axil_awready),
        .s_axil_awaddr(s_axil_awaddr),
        .s_axil_awprot(s_axil_awprot),
        .s_axil_wvalid(s_axil_wvalid),
        .s_axil_wready(s_axil_wready),
        .s_axil_wdata(s_axil_wdata),
        .s_axil_wstrb(s_axil_wstrb),
        .s_axil_bvalid(s_axil_bvalid),
        .s_axil_bready(s_axil_bready),
        .s_axil_bresp(s_axil_bresp),
        .s_axil_arvalid(s_axil_arvalid),
        .s_axil_arready(s_axil_arready),
        .s_axil_araddr(s_axil_araddr),
        .s_axil_arprot(s_axil_arprot),
        .s_axil_rvalid(s_axil_rvalid),
        .s_axil_rready(s_axil_rready),
        .s_axil_rdata(s_axil_rdata),
        .s_axil_rresp(s_axil_rresp),
        .irq(irq),
        .time_us_lo(time_us[31:0]),
        .time_us_hi(time_us[63:32]),
        .irq_status_ctrlq_set(mb_cmd_irq),
        .irq_status_func_event_set(func_event),
        .irq_status_ctrlq_timeout_set(mb_timeout_irq),
        .irq_status_ctrlq(irq_status_ctrlq),
        .irq_status_func_event(irq_status_func_event),
        .irq_status_ctrlq_timeout(irq_status_ctrlq_timeout),
        .irq_enable_ctrlq(irq_enable_ctrlq),
        .irq_enable_func_event(irq_enable_func_event),
        .irq_enable_ctrlq_timeout(irq_enable_ctrlq_timeout),
        .ctrlq_status_valid(mb_valid),
        .ctrlq_status_func(mb_func),
        .ctrlq_status_queue(mb_queue),
        .ctrlq_len_cmd_len(mb_cmd_len),
        .ctrlq_len_rsp_room(mb_rsp_room),
        .ctrlq_rsp(mb_rsp_len),
        .ctrlq_done(mb_done),
        .ctrlq_timeout(mb_timeout_us),
        .cmd_data(mb_cmd_data),
        .rsp_data(mb_rsp_data),
        .func_sel(func_sel),
        .func_mac_lo(func_mac_lo),
        .func_mac_hi(func_mac_hi),
        .func_net_status_link_up(st_link_up),
        .func_net_status_announce(st_announce),
        .func_pairs_max(pairs_max),
        .func_pairs_curr(pairs_curr),
        .func_rx_mode_promisc(rx_promisc),
        .func_rx_mode_allmulti(rx_allmulti),
        .func_rx_mode_alluni(rx_alluni),
        .func_rx_mode_nomulti(rx_nomulti),
        .func_rx_mode_nouni(rx_nouni),
        .func_rx_mode_nobcast(rx_nobcast),
        .func_rx_mode_uni_overflow(rx_uni_ovf),
        .func_rx_mode_multi_overflow(rx_multi_ovf),
        .func_feat_lo(feat_lo),
        .func_feat_hi(feat_hi),
        .func_state_status(state_status),
        .func_state_num_queues(state_nq),
        .func_state_exists(sel_ok && func_exists[sf]),
        .func_state_flr(sel_ok && func_flr[sf]),
        .func_state_is_vf(sel_ok && 32'(sf) >= NUM_PF),
        .func_state_pf(sel_ok ? FUNC_PF[int'(sf)*2 +: 2] : 2'd0),
        .dev_funcs_num_func(9'(NUM_FUNC)),
        .dev_funcs_num_pf(3'(NUM_PF)),
        .func_queue_en(queue_en),
        .func_apply(func_apply),
        .coal_sel_func(coal_sel_func),
        .coal_sel_vq(coal_sel_vq),
        .coal_max_pkts(coal_max_pkts),
        .coal_max_usecs(coal_max_usecs),
        .coal_apply(coal_apply),
        .filter_sel_func(filter_sel_func),
        .filter_sel_index(filter_sel_index),
        .filter_mac_lo(filter_mac_lo),
        .filter_mac_hi_mac(filter_mac_hi_mac),
        .filter_mac_hi_valid(filter_mac_hi_valid),
        .filter_mac_hi_multicast(filter_mac_hi_multicast),
        .filter_vlan(filter_vlan),
        .filter_cmd_write_mac(filter_cmd_write_mac),
        .filter_cmd_write_vlan(filter_cmd_write_vlan),
        .filter_cmd_clear(filter_cmd_clear)
    );

    // ------------------------------------------------------------------ time
    logic [CW-1:0] us_div;

    always_ff @(posedge clk) begin
        if (32'(us_div) + 1 >= US_CYCLES) begin
            us_div <= '0;
            time_us <= time_us + 64'd1;
        end else begin
            us_div <= us_div + 1'b1;
        end
        if (rst) begin
            us_div <= '0;
            time_us <= '0;
        end
    end

    // ------------------------------------------------------------------ functions
    wire          sel_ok = func_sel < 8'(NUM_FUNC);
    wire [FW-1:0] sf = func_sel[FW-1:0];

    always_comb begin
        feat_lo = '0;
        feat_hi = '0;
        state_status = '0;
        state_nq = '0;
        queue_en = '0;
        if (sel_ok) begin
            feat_lo = mon_features[int'(sf)*128 +: 32];
            feat_hi = mon_features[int'(sf)*128 + 32 +: 32];
            state_status = mon_status[int'(sf)*8 +: 8];
            state_nq = func_num_queues[int'(sf)*16 +: 16];
            queue_en = 32'(mon_queue_en[int'(sf)*MAX_QUEUES +: MAX_QUEUES]);
        end
    end

    logic [NUM_FUNC*8-1:0]          status_seen;
    logic [NUM_FUNC*MAX_QUEUES-1:0] qen_seen;
    logic [NUM_FUNC-1:0]            exists_seen, flr_seen;

    always_ff @(posedge clk) begin
        status_seen <= mon_status;
        qen_seen <= mon_queue_en;
        exists_seen <= func_exists;
        flr_seen <= func_flr;
        func_event <= status_seen != mon_status || qen_seen != mon_queue_en
                      || exists_seen != func_exists || flr_seen != func_flr;
        if (func_apply && sel_ok) begin
            net_mac[int'(sf)*48 +: 48] <= {func_mac_lo[7:0], func_mac_lo[15:8], func_mac_lo[23:16],
                                           func_mac_lo[31:24], func_mac_hi[7:0], func_mac_hi[15:8]};
            net_status[int'(sf)*16 +: 16] <= {14'd0, st_announce, st_link_up};
            net_pairs[int'(sf)*16 +: 16] <= pairs_curr;
            net_rx_mode[int'(sf)*8 +: 8] <= {rx_multi_ovf, rx_uni_ovf, rx_nobcast, rx_nouni, rx_nomulti, rx_alluni, rx_allmulti, rx_promisc};
        end
        if (rst) begin
            status_seen <= '0;
            qen_seen <= '0;
            exists_seen <= func_exists;
            flr_seen <= func_flr;
            func_event <= 1'b0;
            net_mac <= FUNC_MAC;
            net_status <= '0;
            net_pairs <= {NUM_FUNC{16'd1}};
            net_rx_mode <= {NUM_FUNC{8'd1}};          // PROMISC after reset (pymodel NetCtrl.reset)
        end
    end

    // ------------------------------------------------------------------ coalescing table
    logic [31:0] c_pkts  [NUM_FUNC][MAX_QUEUES];
    logic [31:0] c_usecs [NUM_FUNC][MAX_QUEUES];

    wire c_wr_ok = coal_sel_func < 8'(NUM_FUNC) && 32'(coal_sel_vq) < MAX_QUEUES;
    wire c_rd_ok = coal_rd_func < 8'(NUM_FUNC) && 32'(coal_rd_vq) < MAX_QUEUES;

    assign coal_rd_pkts = c_rd_ok ? c_pkts[coal_rd_func[FW-1:0]][coal_rd_vq[QW-1:0]] : 32'd0;
    assign coal_rd_usecs = c_rd_ok ? c_usecs[coal_rd_func[FW-1:0]][coal_rd_vq[QW-1:0]] : 32'd0;

    always_ff @(posedge clk) begin
        coal_changed <= 1'b0;
        if (coal_apply && c_wr_ok) begin
            c_pkts[coal_sel_func[FW-1:0]][coal_sel_vq[QW-1:0]] <= coal_max_pkts;
            c_usecs[coal_sel_func[FW-1:0]][coal_sel_vq[QW-1:0]] <= coal_max_usecs;
            coal_changed <= 1'b1;
            coal_changed_func <= coal_sel_func;
            coal_changed_vq <= coal_sel_vq;
        end
        if (rst) begin
            for (int f = 0; f < NUM_FUNC; f++) begin
                for (int q = 0; q < MAX_QUEUES; q++) begin
                    c_pkts[f][q] <= '0;
                    c_usecs[f][q] <= '0;
                end
            end
            coal_changed <= 1'b0;
            coal_changed_func <= '0;
            coal_changed_vq <= '0;
        end
    end

    // ------------------------------------------------------------------ filters
    wire          fsel_ok = filter_sel_func < 8'(NUM_FUNC);
    wire [FW-1:0] ff = filter_sel_func[FW-1:0];
    logic [63:0]  mac_valid [NUM_FUNC];
    logic [127:0] vlan_valid [NUM_FUNC];      // a word written since the last CLEAR (else it reads 0)
    logic [49:0]  mac_q;
    logic [31:0]  vlan_q;
    logic         mac_v_q, vlan_v_q;
    logic [5:0]   unused_mac_pad;

    vio_ram_sdp #(.DATA_W(56), .ADDR_W(FW + 6)) mac_ram_inst (
        .clk(clk),
        .wr_en(filter_cmd_write_mac && fsel_ok && filter_sel_index < 8'd64),
        .wr_addr({ff, filter_sel_index[5:0]}),
        .wr_be('1),
        .wr_data({6'd0, filter_mac_hi_multicast, filter_mac_hi_valid,
                  filter_mac_lo[7:0], filter_mac_lo[15:8], filter_mac_lo[23:16], filter_mac_lo[31:24],
                  filter_mac_hi_mac[7:0], filter_mac_hi_mac[15:8]}),
        .rd_en(filt_mac_rd_en),
        .rd_addr({filt_mac_rd_func[FW-1:0], filt_mac_rd_index}),
        .rd_data({unused_mac_pad, mac_q})
    );

    vio_ram_sdp #(.DATA_W(32), .ADDR_W(FW + 7)) vlan_ram_inst (
        .clk(clk),
        .wr_en(filter_cmd_write_vlan && fsel_ok && filter_sel_index < 8'd128),
        .wr_addr({ff, filter_sel_index[6:0]}),
        .wr_be('1),
        .wr_data(filter_vlan),
        .rd_en(filt_vlan_rd_en),
        .rd_addr({filt_vlan_rd_func[FW-1:0], filt_vlan_rd_index}),
        .rd_data(vlan_q)
    );

    always_ff @(posedge clk) begin
        if (filt_mac_rd_en)
            mac_v_q <= filt_mac_rd_func < 8'(NUM_FUNC) && mac_valid[filt_mac_rd_func[FW-1:0]][filt_mac_rd_index];
        if (filt_vlan_rd_en)
            vlan_v_q <= filt_vlan_rd_func < 8'(NUM_FUNC) && vlan_valid[filt_vlan_rd_func[FW-1:0]][filt_vlan_rd_index];
        if (fsel_ok) begin
            if (filter_cmd_write_mac && filter_sel_index < 8'd64)
                mac_valid[ff][filter_sel_index[5:0]] <= 1'b1;
            if (filter_cmd_write_vlan && filter_sel_index < 8'd128)
                vlan_valid[ff][filter_sel_index[6:0]] <= 1'b1;
            if (filter_cmd_clear) begin
                mac_valid[ff] <= '0;
                vlan_valid[ff] <= '0;
            end
        end
        if (rst) begin
            for (int f = 0; f < NUM_FUNC; f++) begin
                mac_valid[f] <= '0;
                vlan_valid[f] <= '0;
            end
            mac_v_q <= 1'b0;
            vlan_v_q <= 1'b0;
        end
    end

    // an entry not written since CLEAR reads as invalid / all VLANs off
    assign filt_mac_rd_data = mac_v_q ? mac_q : 50'd0;
    assign filt_vlan_rd_data = vlan_v_q ? vlan_q : 32'd0;

    // fields read by the firmware only
    wire unused_ok = &{1'b0, pairs_max, irq_status_ctrlq, irq_status_func_event, irq_status_ctrlq_timeout,
                       irq_enable_ctrlq, irq_enable_func_event, irq_enable_ctrlq_timeout, unused_mac_pad,
                       mon_features};

endmodule

`resetall
