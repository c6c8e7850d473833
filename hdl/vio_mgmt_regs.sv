// SPDX-License-Identifier: Apache-2.0
//
// Management-port registers: the AXI4-lite slave the DPU firmware programs
// the device through. A thin wrapper around the register block PeakRDL
// generates from hdl/rdl/vio_mgmt.rdl (hdl/gen/vio_mgmt_regblock.sv; map
// and field meanings in docs/mgmt_regs.md). It only turns the generated
// hwif structs into plain ports and adds the interrupt line; all register
// behaviour (reset values, RO/RW/W1C, singlepulse, hardware set) is the
// generated block's.
//
// Port naming (the bench derives port names from tb/mgmt/regs.py by it):
//   * a field the hardware drives (hw=w) is an input, a field the hardware
//     sees (hw=r) an output, named <reg>_<field> in lower case, or <reg>
//     alone when the register has a single field (ctrlq_status_func,
//     func_mac_lo, ctrlq_done);
//   * a hardware-set field (hwset) also has the input <name>_set: 1 in a
//     cycle sets the field; a set wins over a software clear in the same
//     cycle;
//   * a register array of N elements is one flat port of N*32 bits, element
//     i at [32*i +: 32] (so cmd_data / rsp_data hold the mailbox bytes
//     little-endian: byte k at [8*k +: 8]);
//   * singlepulse fields (ctrlq_done, func_apply, coal_apply, filter_cmd_*)
//     are high for exactly one cycle after the write that sets them.
//   * irq is high while any IRQ_STATUS bit is set whose IRQ_ENABLE bit is set.
//
// AXI4-lite: 32-bit data, byte strobes honoured, responses always OKAY;
// reads of write-only or unmapped offsets return 0. Only the low
// vio_mgmt_regblock_pkg::VIO_MGMT_REGBLOCK_MIN_ADDR_WIDTH (10) address bits
// are decoded; a wider ADDR_W aliases the map through the window.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_mgmt_regs #(
    parameter int ADDR_W = 10  // AXI4-lite address width (>= the map's 10 bits; upper bits ignored)
) (
    input  wire logic                clk,
    input  wire logic                rst,

    // AXI4-lite slave (management port)
    input  wire logic                s_axil_awvalid,
    output logic                     s_axil_awready,
    /* verilator lint_off UNUSEDSIGNAL */
    // bits above the map's width are not decoded (the window aliases)
    input  wire logic [ADDR_W-1:0]   s_axil_awaddr,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire logic [2:0]          s_axil_awprot,
    input  wire logic                s_axil_wvalid,
    output logic                     s_axil_wready,
    input  wire logic [31:0]         s_axil_wdata,
    input  wire logic [3:0]          s_axil_wstrb,
    output logic                     s_axil_bvalid,
    input  wire logic                s_axil_bready,
    output logic      [1:0]          s_axil_bresp,
    input  wire logic                s_axil_arvalid,
    output logic                     s_axil_arready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire logic [ADDR_W-1:0]   s_axil_araddr,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire logic [2:0]          s_axil_arprot,
    output logic                     s_axil_rvalid,
    input  wire logic                s_axil_rready,
    output logic      [31:0]         s_axil_rdata,
    output logic      [1:0]          s_axil_rresp,

    output logic                     irq,

    // time
    input  wire logic [31:0]         time_us_lo,
    input  wire logic [31:0]         time_us_hi,

    // interrupts
    input  wire logic                irq_status_ctrlq_set,
    input  wire logic                irq_status_func_event_set,
    input  wire logic                irq_status_ctrlq_timeout_set,
    output logic                     irq_status_ctrlq,
    output logic                     irq_status_func_event,
    output logic                     irq_status_ctrlq_timeout,
    output logic                     irq_enable_ctrlq,
    output logic                     irq_enable_func_event,
    output logic                     irq_enable_ctrlq_timeout,

    // control-queue mailbox
    input  wire logic                ctrlq_status_valid,
    input  wire logic [7:0]          ctrlq_status_func,
    input  wire logic [15:0]         ctrlq_status_queue,
    input  wire logic [15:0]         ctrlq_len_cmd_len,
    input  wire logic [15:0]         ctrlq_len_rsp_room,
    output logic      [15:0]         ctrlq_rsp,
    output logic                     ctrlq_done,
    output logic      [31:0]         ctrlq_timeout,
    input  wire logic [64*32-1:0]    cmd_data,
    output logic      [64*32-1:0]    rsp_data,

    // per-function registers (function func_sel)
    output logic      [7:0]          func_sel,
    output logic      [31:0]         func_mac_lo,
    output logic      [15:0]         func_mac_hi,
    output logic                     func_net_status_link_up,
    output logic                     func_net_status_announce,
    output logic      [15:0]         func_pairs_max,
    output logic      [15:0]         func_pairs_curr,
    output logic                     func_rx_mode_promisc,
    output logic                     func_rx_mode_allmulti,
    output logic                     func_rx_mode_alluni,
    output logic                     func_rx_mode_nomulti,
    output logic                     func_rx_mode_nouni,
    output logic                     func_rx_mode_nobcast,
    output logic                     func_rx_mode_uni_overflow,
    output logic                     func_rx_mode_multi_overflow,
    input  wire logic [31:0]         func_feat_lo,
    input  wire logic [31:0]         func_feat_hi,
    input  wire logic [7:0]          func_state_status,
    input  wire logic [15:0]         func_state_num_queues,
    input  wire logic                func_state_exists,
    input  wire logic                func_state_flr,
    input  wire logic                func_state_is_vf,
    input  wire logic [1:0]          func_state_pf,
    input  wire logic [8:0]          dev_funcs_num_func,
    input  wire logic [2:0]          dev_funcs_num_pf,
    input  wire logic [31:0]         func_queue_en,
    output logic                     func_apply,

    // interrupt coalescing
    output logic      [7:0]          coal_sel_func,
    output logic      [15:0]         coal_sel_vq,
    output logic      [31:0]         coal_max_pkts,
    output logic      [31:0]         coal_max_usecs,
    output logic                     coal_apply,

    // receive filter
    output logic      [7:0]          filter_sel_func,
    output logic      [7:0]          filter_sel_index,
    output logic      [31:0]         filter_mac_lo,
    output logic      [15:0]         filter_mac_hi_mac,
    output logic                     filter_mac_hi_valid,
    output logic                     filter_mac_hi_multicast,
    output logic      [31:0]         filter_vlan,
    output logic                     filter_cmd_write_mac,
    output logic                     filter_cmd_write_vlan,
    output logic                     filter_cmd_clear
);

    import vio_mgmt_regblock_pkg::*;

    localparam int MAP_W = VIO_MGMT_REGBLOCK_MIN_ADDR_WIDTH;  // decoded address bits
    localparam int DATA_N = 64;                                // CMD_DATA / RSP_DATA elements

    initial begin
        if (ADDR_W < MAP_W) $fatal(1, "vio_mgmt_regs: ADDR_W smaller than the register map");
        if (VIO_MGMT_REGBLOCK_DATA_WIDTH != 32) $fatal(1, "vio_mgmt_regs: the map is not 32-bit");
    end

    vio_mgmt__in_t  hwif_in;
    vio_mgmt__out_t hwif_out;

    vio_mgmt_regblock u_regblock (
        .clk             (clk),
        .rst             (rst),
        .s_axil_awready  (s_axil_awready),
        .s_axil_awvalid  (s_axil_awvalid),
        .s_axil_awaddr   (s_axil_awaddr[MAP_W-1:0]),
        .s_axil_awprot   (s_axil_awprot),
        .s_axil_wready   (s_axil_wready),
        .s_axil_wvalid   (s_axil_wvalid),
        .s_axil_wdata    (s_axil_wdata),
        .s_axil_wstrb    (s_axil_wstrb),
        .s_axil_bready   (s_axil_bready),
        .s_axil_bvalid   (s_axil_bvalid),
        .s_axil_bresp    (s_axil_bresp),
        .s_axil_arready  (s_axil_arready),
        .s_axil_arvalid  (s_axil_arvalid),
        .s_axil_araddr   (s_axil_araddr[MAP_W-1:0]),
        .s_axil_arprot   (s_axil_arprot),
        .s_axil_rready   (s_axil_rready),
        .s_axil_rvalid   (s_axil_rvalid),
        .s_axil_rdata    (s_axil_rdata),
        .s_axil_rresp    (s_axil_rresp),
        .hwif_in         (hwif_in),
        .hwif_out        (hwif_out)
    );

    // hardware -> registers
    always_comb begin
        hwif_in.TIME_US_LO.VALUE.next            = time_us_lo;
        hwif_in.TIME_US_HI.VALUE.next            = time_us_hi;
        hwif_in.IRQ_STATUS.CTRLQ.hwset           = irq_status_ctrlq_set;
        hwif_in.IRQ_STATUS.FUNC_EVENT.hwset      = irq_status_func_event_set;
        hwif_in.IRQ_STATUS.CTRLQ_TIMEOUT.hwset   = irq_status_ctrlq_timeout_set;
        hwif_in.CTRLQ_STATUS.VALID.next          = ctrlq_status_valid;
        hwif_in.CTRLQ_STATUS.FUNC.next           = ctrlq_status_func;
        hwif_in.CTRLQ_STATUS.QUEUE.next          = ctrlq_status_queue;
        hwif_in.CTRLQ_LEN.CMD_LEN.next           = ctrlq_len_cmd_len;
        hwif_in.CTRLQ_LEN.RSP_ROOM.next          = ctrlq_len_rsp_room;
        hwif_in.FUNC_FEAT_LO.VALUE.next          = func_feat_lo;
        hwif_in.FUNC_FEAT_HI.VALUE.next          = func_feat_hi;
        hwif_in.FUNC_STATE.STATUS.next           = func_state_status;
        hwif_in.FUNC_STATE.NUM_QUEUES.next       = func_state_num_queues;
        hwif_in.FUNC_STATE.EXISTS.next           = func_state_exists;
        hwif_in.FUNC_STATE.FLR.next              = func_state_flr;
        hwif_in.FUNC_STATE.IS_VF.next            = func_state_is_vf;
        hwif_in.FUNC_STATE.PF.next               = func_state_pf;
        hwif_in.DEV_FUNCS.NUM_FUNC.next          = dev_funcs_num_func;
        hwif_in.DEV_FUNCS.NUM_PF.next            = dev_funcs_num_pf;
        hwif_in.FUNC_QUEUE_EN.ENABLED.next       = func_queue_en;
        for (int i = 0; i < DATA_N; i++) begin
            hwif_in.CMD_DATA[i].VALUE.next = cmd_data[32*i +: 32];
        end
    end

    // registers -> hardware
    always_comb begin
        irq_status_ctrlq          = hwif_out.IRQ_STATUS.CTRLQ.value;
        irq_status_func_event     = hwif_out.IRQ_STATUS.FUNC_EVENT.value;
        irq_status_ctrlq_timeout  = hwif_out.IRQ_STATUS.CTRLQ_TIMEOUT.value;
        irq_enable_ctrlq          = hwif_out.IRQ_ENABLE.CTRLQ.value;
        irq_enable_func_event     = hwif_out.IRQ_ENABLE.FUNC_EVENT.value;
        irq_enable_ctrlq_timeout  = hwif_out.IRQ_ENABLE.CTRLQ_TIMEOUT.value;
        ctrlq_rsp                 = hwif_out.CTRLQ_RSP.RSP_LEN.value;
        ctrlq_done                = hwif_out.CTRLQ_DONE.DONE.value;
        ctrlq_timeout             = hwif_out.CTRLQ_TIMEOUT.US.value;
        func_sel                  = hwif_out.FUNC_SEL.FUNC.value;
        func_mac_lo               = hwif_out.FUNC_MAC_LO.MAC.value;
        func_mac_hi               = hwif_out.FUNC_MAC_HI.MAC.value;
        func_net_status_link_up   = hwif_out.FUNC_NET_STATUS.LINK_UP.value;
        func_net_status_announce  = hwif_out.FUNC_NET_STATUS.ANNOUNCE.value;
        func_pairs_max            = hwif_out.FUNC_PAIRS.MAX.value;
        func_pairs_curr           = hwif_out.FUNC_PAIRS.CURR.value;
        func_rx_mode_promisc      = hwif_out.FUNC_RX_MODE.PROMISC.value;
        func_rx_mode_allmulti     = hwif_out.FUNC_RX_MODE.ALLMULTI.value;
        func_rx_mode_alluni       = hwif_out.FUNC_RX_MODE.ALLUNI.value;
        func_rx_mode_nomulti      = hwif_out.FUNC_RX_MODE.NOMULTI.value;
        func_rx_mode_nouni        = hwif_out.FUNC_RX_MODE.NOUNI.value;
        func_rx_mode_nobcast      = hwif_out.FUNC_RX_MODE.NOBCAST.value;
        func_rx_mode_uni_overflow   = hwif_out.FUNC_RX_MODE.UNI_OVERFLOW.value;
        func_rx_mode_multi_overflow = hwif_out.FUNC_RX_MODE.MULTI_OVERFLOW.value;
        func_apply                = hwif_out.FUNC_APPLY.APPLY.value;
        coal_sel_func             = hwif_out.COAL_SEL.FUNC.value;
        coal_sel_vq               = hwif_out.COAL_SEL.VQ.value;
        coal_max_pkts             = hwif_out.COAL_MAX_PKTS.VALUE.value;
        coal_max_usecs            = hwif_out.COAL_MAX_USECS.VALUE.value;
        coal_apply                = hwif_out.COAL_APPLY.APPLY.value;
        filter_sel_func           = hwif_out.FILTER_SEL.FUNC.value;
        filter_sel_index          = hwif_out.FILTER_SEL.INDEX.value;
        filter_mac_lo             = hwif_out.FILTER_MAC_LO.MAC.value;
        filter_mac_hi_mac         = hwif_out.FILTER_MAC_HI.MAC.value;
        filter_mac_hi_valid       = hwif_out.FILTER_MAC_HI.VALID.value;
        filter_mac_hi_multicast   = hwif_out.FILTER_MAC_HI.MULTICAST.value;
        filter_vlan               = hwif_out.FILTER_VLAN.BITS.value;
        filter_cmd_write_mac      = hwif_out.FILTER_CMD.WRITE_MAC.value;
        filter_cmd_write_vlan     = hwif_out.FILTER_CMD.WRITE_VLAN.value;
        filter_cmd_clear          = hwif_out.FILTER_CMD.CLEAR.value;
        for (int i = 0; i < DATA_N; i++) begin
            rsp_data[32*i +: 32] = hwif_out.RSP_DATA[i].VALUE.value;
        end
        irq = (irq_status_ctrlq         & irq_enable_ctrlq)
            | (irq_status_func_event    & irq_enable_func_event)
            | (irq_status_ctrlq_timeout & irq_enable_ctrlq_timeout);
    end

endmodule

`resetall
