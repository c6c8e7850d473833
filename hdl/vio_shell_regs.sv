// SPDX-License-Identifier: Apache-2.0
//
// Shell diagnostics registers (BAR0 + DIAG_BASE, same view from every
// function). Offsets are relative to the window:
//
//   0x00 ID          RO  0x56494F31 ("VIO1")
//   0x04 VERSION     RO  shell version (major << 16 | minor)
//   0x08 CONFIG      RO  [7:0] NUM_FUNC
//   0x0C SCRATCH     RW  free for software
//   0x10 UNMAPPED_RD RO  reads that hit no register (write any value: clear)
//   0x14 UNMAPPED_WR RO  writes that hit no register (write any value: clear)
//   0x18 UNMAPPED_AT RO  last unmapped access: [31:24] func, [23:21] BAR, [20:0] offset
//   0x20 DMA_RD_ERR  RO  DMA read descriptors that ended in error (write: clear)
//   0x24 DMA_WR_ERR  RO  DMA write descriptors that ended in error (write: clear)
//   0x28 DMA_RD_LAST RO  last DMA read error: [3:0] code
//   0x30 IRQ_SENT    RO  MSI-X messages sent
//   0x34 IRQ_PEND    RO  interrupt requests that set a pending bit
//   0x38 IRQ_DROP    RO  interrupt requests dropped (disabled / out of range)
//   0x40 CPL_DROP    RO  completer TLPs discarded or answered UR
//   0x44 UNEXP_CPL   RO  completions for no outstanding DMA read (dropped)
//
// Counters saturate at all-ones.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_shell_regs #(
    parameter int REG_ADDR_W = 24,   // BAR offset width
    parameter int NUM_FUNC = 2,      // reported in CONFIG
    parameter int WIN_W = 8          // window size = 2**WIN_W bytes
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    input  wire logic                   s_reg_req_valid,
    output logic                        s_reg_req_ready,
    input  wire logic                   s_reg_req_we,
    /* verilator lint_off UNUSEDSIGNAL */
    // same registers for every function; the demux already matched BAR and window
    input  wire logic [7:0]             s_reg_req_func,
    input  wire logic [2:0]             s_reg_req_bar,
    input  wire logic [REG_ADDR_W-1:0]  s_reg_req_addr,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire logic [3:0]             s_reg_req_be,
    input  wire logic [31:0]            s_reg_req_wdata,
    output logic                        s_reg_rsp_valid,
    output logic      [31:0]            s_reg_rsp_rdata,

    input  wire logic                   stat_unmapped_rd,
    input  wire logic                   stat_unmapped_wr,
    input  wire logic [7:0]             stat_unmapped_func,
    input  wire logic [2:0]             stat_unmapped_bar,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire logic [REG_ADDR_W-1:0]  stat_unmapped_addr,  // reported as 21 bits (2 MiB BARs)
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire logic                   stat_dma_rd_err,
    input  wire logic [3:0]             stat_dma_rd_code,
    input  wire logic                   stat_dma_wr_err,
    input  wire logic                   stat_irq_sent,
    input  wire logic                   stat_irq_pending,
    input  wire logic                   stat_irq_dropped,
    input  wire logic                   stat_cpl_drop,
    input  wire logic                   stat_unexp_cpl
);

    localparam logic [31:0] ID = 32'h56494F31;
    localparam logic [31:0] VERSION = 32'h0001_0000;

    initial begin
        if (WIN_W < 7 || WIN_W > REG_ADDR_W) $fatal(1, "vio_shell_regs: WIN_W out of range");
    end

    logic [31:0] scratch, unmapped_rd, unmapped_wr, unmapped_at;
    logic [31:0] dma_rd_err, dma_wr_err, irq_sent, irq_pend, irq_drop, cpl_drop, unexp_cpl;
    logic [3:0]  dma_rd_last;

    function automatic logic [31:0] sat_inc(input logic [31:0] v, input logic en);
        return (en && v != '1) ? v + 1 : v;
    endfunction

    wire [WIN_W-1:0] off = s_reg_req_addr[WIN_W-1:0];
    wire wr = s_reg_req_valid && s_reg_req_we;
    wire clr_urd = wr && off == 'h10;
    wire clr_uwr = wr && off == 'h14;
    wire clr_drd = wr && off == 'h20;
    wire clr_dwr = wr && off == 'h24;

    assign s_reg_req_ready = 1'b1;

    always_ff @(posedge clk) begin
        s_reg_rsp_valid <= s_reg_req_valid && !s_reg_req_we;
        case (off)
            'h00: s_reg_rsp_rdata <= ID;
            'h04: s_reg_rsp_rdata <= VERSION;
            'h08: s_reg_rsp_rdata <= 32'(NUM_FUNC);
            'h0C: s_reg_rsp_rdata <= scratch;
            'h10: s_reg_rsp_rdata <= unmapped_rd;
            'h14: s_reg_rsp_rdata <= unmapped_wr;
            'h18: s_reg_rsp_rdata <= unmapped_at;
            'h20: s_reg_rsp_rdata <= dma_rd_err;
            'h24: s_reg_rsp_rdata <= dma_wr_err;
            'h28: s_reg_rsp_rdata <= 32'(dma_rd_last);
            'h30: s_reg_rsp_rdata <= irq_sent;
            'h34: s_reg_rsp_rdata <= irq_pend;
            'h38: s_reg_rsp_rdata <= irq_drop;
            'h40: s_reg_rsp_rdata <= cpl_drop;
            'h44: s_reg_rsp_rdata <= unexp_cpl;
            default: s_reg_rsp_rdata <= 32'd0;
        endcase

        if (wr && off == 'h0C) begin
            for (int b = 0; b < 4; b++) if (s_reg_req_be[b]) scratch[b*8 +: 8] <= s_reg_req_wdata[b*8 +: 8];
        end
        unmapped_rd <= clr_urd ? 32'd0 : sat_inc(unmapped_rd, stat_unmapped_rd);
        unmapped_wr <= clr_uwr ? 32'd0 : sat_inc(unmapped_wr, stat_unmapped_wr);
        if (stat_unmapped_rd || stat_unmapped_wr) begin
            unmapped_at <= {stat_unmapped_func, stat_unmapped_bar, 21'(stat_unmapped_addr)};
        end
        dma_rd_err <= clr_drd ? 32'd0 : sat_inc(dma_rd_err, stat_dma_rd_err);
        dma_wr_err <= clr_dwr ? 32'd0 : sat_inc(dma_wr_err, stat_dma_wr_err);
        if (stat_dma_rd_err) dma_rd_last <= stat_dma_rd_code;
        irq_sent <= sat_inc(irq_sent, stat_irq_sent);
        irq_pend <= sat_inc(irq_pend, stat_irq_pending);
        irq_drop <= sat_inc(irq_drop, stat_irq_dropped);
        cpl_drop <= sat_inc(cpl_drop, stat_cpl_drop);
        unexp_cpl <= sat_inc(unexp_cpl, stat_unexp_cpl);

        if (rst) begin
            s_reg_rsp_valid <= 1'b0;
            scratch <= '0;
            unmapped_rd <= '0;
            unmapped_wr <= '0;
            unmapped_at <= '0;
            dma_rd_err <= '0;
            dma_wr_err <= '0;
            dma_rd_last <= '0;
            irq_sent <= '0;
            irq_pend <= '0;
            irq_drop <= '0;
            cpl_drop <= '0;
            unexp_cpl <= '0;
        end
    end

endmodule

`resetall
