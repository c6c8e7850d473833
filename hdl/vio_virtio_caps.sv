// SPDX-License-Identifier: Apache-2.0
//
// The virtio vendor capabilities (virtio.md §3.2) of every function, served
// in legacy configuration space through the UltraScale+ configuration
// extend interface (cfg_ext_*, PG213): the hard block forwards config reads
// and writes of the user window to this module, and the capability list of
// the hard block (its PCIe capability) is chained to CAP_BASE.
//
// Capability chain of every function (byte offsets in config space, from
// CAP_BASE = 0xA8 by default; cap_len in brackets):
//
//   CAP_BASE+0x00  COMMON_CFG  [16]  BAR0 0x0000, length 0x40
//   CAP_BASE+0x10  NOTIFY_CFG  [20]  BAR0 0x1000, length 4*num_queues,
//                                    notify_off_multiplier = 4 (queue_notify_off = vq index)
//   CAP_BASE+0x24  ISR_CFG     [16]  BAR0 0x0100, length 4 (byte 0 is the ISR)
//   CAP_BASE+0x34  DEVICE_CFG  [16]  BAR0 0x0200, length 0x100
//   CAP_BASE+0x44  PCI_CFG     [20]  (PCI_CFG_CAP = 1) next = 0
//
// which is the BAR0 layout of vio_virtio_regs (application window of the
// shell, BAR0 0x0000-0x1FFF). The five capabilities take 88 bytes, so with
// the legacy window ending at 0xFF they start at 0xA8 at the latest.
//
// PCI_CFG: cap.bar (byte 4), cap.offset (DWORD 8) and cap.length (DWORD 12)
// are read/write storage per function (reset by rst, not by a virtio
// reset); the pci_cfg_data window (DWORD 16) is NOT implemented: it reads 0
// and writes to it are ignored.
//
// Protocol: a read of a register in [CAP_BASE/4, 0x3F] (cfg_ext_read_received
// with cfg_ext_register_number, cfg_ext_function_number) is answered on the
// next cycle with cfg_ext_read_data_valid + cfg_ext_read_data; registers in
// the window past the chain, and functions >= NUM_FUNC, read 0. Reads of any
// other register (the hard block signals every config read) get no answer.
// Writes outside the PCI_CFG fields are ignored.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_virtio_caps #(
    parameter int NUM_FUNC = 2,                    // functions
    // per function f in bits [16f +: 16]: num_queues (notification area length)
    parameter logic [NUM_FUNC*16-1:0] FUNC_NUM_QUEUES = {16'd2, 16'd5},
    parameter logic [7:0] CAP_BASE = 8'hA8,        // first capability (byte offset, DWORD aligned)
    parameter bit PCI_CFG_CAP = 1'b1,              // include the PCI_CFG capability
    parameter logic [7:0] BAR = 8'd0,              // BAR of every structure
    parameter int NOTIFY_MULT = 4                  // notify_off_multiplier (bytes per queue)
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    input  wire logic                   cfg_ext_read_received,
    input  wire logic                   cfg_ext_write_received,
    input  wire logic [9:0]             cfg_ext_register_number,
    input  wire logic [7:0]             cfg_ext_function_number,
    input  wire logic [31:0]            cfg_ext_write_data,
    input  wire logic [3:0]             cfg_ext_write_byte_enable,
    output logic      [31:0]            cfg_ext_read_data,
    output logic                        cfg_ext_read_data_valid
);

    localparam int FW = NUM_FUNC > 1 ? $clog2(NUM_FUNC) : 1;
    localparam int CHAIN_LEN = PCI_CFG_CAP ? 88 : 68;   // bytes of the chain
    localparam logic [7:0] P_COMMON = CAP_BASE;
    localparam logic [7:0] P_NOTIFY = CAP_BASE + 8'h10;
    localparam logic [7:0] P_ISR = CAP_BASE + 8'h24;
    localparam logic [7:0] P_DEVICE = CAP_BASE + 8'h34;
    localparam logic [7:0] P_PCICFG = CAP_BASE + 8'h44;
    localparam logic [7:0] VNDR = 8'h09;

    // BAR0 layout of vio_virtio_regs
    localparam logic [31:0] COMMON_OFF = 32'h0000, COMMON_LEN = 32'h40;
    localparam logic [31:0] ISR_OFF = 32'h0100, ISR_LEN = 32'h4;
    localparam logic [31:0] DEVICE_OFF = 32'h0200, DEVICE_LEN = 32'h100;
    localparam logic [31:0] NOTIFY_OFF = 32'h1000;

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_virtio_caps: NUM_FUNC must be 1..256");
        if (CAP_BASE[1:0] != 2'b00 || CAP_BASE < 8'h40) $fatal(1, "vio_virtio_caps: CAP_BASE must be DWORD aligned, >= 0x40");
        if (int'(CAP_BASE) + CHAIN_LEN > 256) $fatal(1, "vio_virtio_caps: the capabilities do not fit below 0x100 from CAP_BASE");
        if (BAR > 8'd5) $fatal(1, "vio_virtio_caps: BAR must be 0..5");
        if (NOTIFY_MULT != 0 && (NOTIFY_MULT % 2 != 0 || (NOTIFY_MULT & (NOTIFY_MULT - 1)) != 0))
            $fatal(1, "vio_virtio_caps: NOTIFY_MULT must be 0 or an even power of 2");
        for (int f = 0; f < NUM_FUNC; f++) begin
            if (NOTIFY_MULT * int'(FUNC_NUM_QUEUES[16*f +: 16]) > 4096)
                $fatal(1, "vio_virtio_caps: function %0d: notification area beyond 4 KiB", f);
        end
    end

    // PCI_CFG writable fields
    logic [7:0]  pc_bar [NUM_FUNC];
    logic [31:0] pc_off [NUM_FUNC];
    logic [31:0] pc_len [NUM_FUNC];

    wire [7:0] reg_byte = {cfg_ext_register_number[5:0], 2'b00};
    wire in_window = cfg_ext_register_number[9:6] == 4'd0 && reg_byte >= CAP_BASE;
    wire fok = cfg_ext_function_number < 8'(NUM_FUNC);
    wire [FW-1:0] fi = cfg_ext_function_number[FW-1:0];

    function automatic logic [31:0] hdr(input logic [7:0] cfg_type, input logic [7:0] len, input logic [7:0] next);
        return {cfg_type, len, next, VNDR};
    endfunction

    logic [31:0] rdata;
    logic [31:0] notify_len;

    always_comb begin
        notify_len = fok ? 32'(NOTIFY_MULT) * 32'(FUNC_NUM_QUEUES[16*int'(fi) +: 16]) : 32'd0;
        rdata = 32'd0;
        if (fok) begin
            case (reg_byte)
                P_COMMON + 8'h00: rdata = hdr(8'd1, 8'd16, P_NOTIFY);
                P_COMMON + 8'h04: rdata = {24'd0, BAR};
                P_COMMON + 8'h08: rdata = COMMON_OFF;
                P_COMMON + 8'h0C: rdata = COMMON_LEN;
                P_NOTIFY + 8'h00: rdata = hdr(8'd2, 8'd20, P_ISR);
                P_NOTIFY + 8'h04: rdata = {24'd0, BAR};
                P_NOTIFY + 8'h08: rdata = NOTIFY_OFF;
                P_NOTIFY + 8'h0C: rdata = notify_len;
                P_NOTIFY + 8'h10: rdata = 32'(NOTIFY_MULT);
                P_ISR + 8'h00: rdata = hdr(8'd3, 8'd16, P_DEVICE);
                P_ISR + 8'h04: rdata = {24'd0, BAR};
                P_ISR + 8'h08: rdata = ISR_OFF;
                P_ISR + 8'h0C: rdata = ISR_LEN;
                P_DEVICE + 8'h00: rdata = hdr(8'd4, 8'd16, PCI_CFG_CAP ? P_PCICFG : 8'd0);
                P_DEVICE + 8'h04: rdata = {24'd0, BAR};
                P_DEVICE + 8'h08: rdata = DEVICE_OFF;
                P_DEVICE + 8'h0C: rdata = DEVICE_LEN;
                default: begin
                    if (PCI_CFG_CAP) begin
                        if (reg_byte == P_PCICFG + 8'h00) rdata = hdr(8'd5, 8'd20, 8'd0);
                        if (reg_byte == P_PCICFG + 8'h04) rdata = {24'd0, pc_bar[fi]};
                        if (reg_byte == P_PCICFG + 8'h08) rdata = pc_off[fi];
                        if (reg_byte == P_PCICFG + 8'h0C) rdata = pc_len[fi];
                        // P_PCICFG + 0x10: pci_cfg_data, not implemented, reads 0
                    end
                end
            endcase
        end
    end

    always_ff @(posedge clk) begin
        cfg_ext_read_data_valid <= cfg_ext_read_received && in_window;
        if (cfg_ext_read_received && in_window) cfg_ext_read_data <= rdata;

        if (PCI_CFG_CAP && cfg_ext_write_received && in_window && fok) begin
            if (reg_byte == P_PCICFG + 8'h04 && cfg_ext_write_byte_enable[0]) pc_bar[fi] <= cfg_ext_write_data[7:0];
            for (int b = 0; b < 4; b++) begin
                if (cfg_ext_write_byte_enable[b]) begin
                    if (reg_byte == P_PCICFG + 8'h08) pc_off[fi][8*b +: 8] <= cfg_ext_write_data[8*b +: 8];
                    if (reg_byte == P_PCICFG + 8'h0C) pc_len[fi][8*b +: 8] <= cfg_ext_write_data[8*b +: 8];
                end
            end
        end

        if (rst) begin
            cfg_ext_read_data_valid <= 1'b0;
            cfg_ext_read_data <= 32'd0;
            for (int f = 0; f < NUM_FUNC; f++) begin
                pc_bar[f] <= 8'd0;
                pc_off[f] <= 32'd0;
                pc_len[f] <= 32'd0;
            end
        end
    end

endmodule

`resetall
