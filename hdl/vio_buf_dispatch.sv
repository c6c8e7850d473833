// SPDX-License-Identifier: Apache-2.0
//
// Hands the buffers of vio_pring_avail (segments first, then the record) to
// one of PORTS request engines, so several requests are in flight at once.
// A buffer goes whole to one engine: the dispatcher locks onto an idle engine
// (eng_busy low; round-robin after the last one used) when the first segment
// or record of a buffer appears, forwards every segment and the record to it,
// and unlocks after the record handshake. Only the engines in s_port_mask
// (sampled while unlocked: the kind of engine the buffer's queue needs, e.g.
// blk engines, the control-queue engine, the TX engine) are candidates.
// While no candidate is idle, the ring engine waits (ready low). The payload
// fields are shared by all outputs; only valid/ready are per engine.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_buf_dispatch #(
    parameter int PORTS = 2      // request engines
) (
    input  wire logic               clk,
    input  wire logic               rst,

    // from vio_pring_avail
    input  wire logic               s_axis_seg_valid,
    output logic                    s_axis_seg_ready,
    input  wire logic               s_axis_buf_valid,
    output logic                    s_axis_buf_ready,

    // to the engines (payload wired around this block)
    output logic      [PORTS-1:0]   m_axis_seg_valid,
    input  wire logic [PORTS-1:0]   m_axis_seg_ready,
    output logic      [PORTS-1:0]   m_axis_buf_valid,
    input  wire logic [PORTS-1:0]   m_axis_buf_ready,

    input  wire logic [PORTS-1:0]   s_port_mask,  // engines that may take the waiting buffer
    input  wire logic [PORTS-1:0]   eng_busy,     // engine k holds a buffer / request
    output logic                    locked        // a buffer is being handed over
);

    localparam int PW = PORTS > 1 ? $clog2(PORTS) : 1;

    initial begin
        if (PORTS < 1 || PORTS > 16) $fatal(1, "vio_buf_dispatch: PORTS must be 1..16");
    end

    logic [PW-1:0] sel, last, pick;
    logic          any_idle;

    always_comb begin
        any_idle = 1'b0;
        pick = '0;
        for (int k = 1; k <= PORTS; k++) begin
            logic [PW-1:0] p;
            p = PW'((int'(last) + k) % PORTS);
            if (!any_idle && s_port_mask[p] && !eng_busy[p]) begin
                any_idle = 1'b1;
                pick = p;
            end
        end
    end

    always_comb begin
        m_axis_seg_valid = '0;
        m_axis_buf_valid = '0;
        s_axis_seg_ready = 1'b0;
        s_axis_buf_ready = 1'b0;
        if (locked) begin
            m_axis_seg_valid[sel] = s_axis_seg_valid;
            m_axis_buf_valid[sel] = s_axis_buf_valid;
            s_axis_seg_ready = m_axis_seg_ready[sel];
            s_axis_buf_ready = m_axis_buf_ready[sel];
        end
    end

    always_ff @(posedge clk) begin
        if (!locked) begin
            if ((s_axis_seg_valid || s_axis_buf_valid) && any_idle) begin
                locked <= 1'b1;
                sel <= pick;
                last <= pick;
            end
        end else if (s_axis_buf_valid && s_axis_buf_ready) begin
            locked <= 1'b0;
        end
        if (rst) begin
            locked <= 1'b0;
            sel <= '0;
            last <= PW'(PORTS - 1);
        end
    end

endmodule

`resetall
