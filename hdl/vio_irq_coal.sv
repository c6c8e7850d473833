// SPDX-License-Identifier: Apache-2.0
//
// Used-buffer notification coalescing (virtio.md §6.5-§6.6), between
// vio_pring_used (IRQ_EVENTS = 1: one record per batch evaluation, notifying
// or not) and vio_msix: this unit decides WHEN a due notification becomes an
// interrupt request; vio_msix handles masking (§9.3).
//
// Per (function, queue) context (flops, indexed func * MAX_QUEUES + queue):
// the packets counted since the last met condition (saturating at
// 2^CNT_W - 1), the time_us of the first of them (the timer), a pending flag
// (a due notification not yet requested) with the vector of the latest due
// event, and a request flag + vector (met, waiting for the output).
//
// Coalescing parameters come from the vio_mgmt table on coal_rd_* (looked up
// combinationally for the context being evaluated); coalescing is active when
// both max_packets and max_usecs are non-zero (§6.6).
//
// One context is evaluated per cycle, the first of:
//   1. coal_changed: the changed context, with its new parameters (§6.6
//      "re-evaluate at once": 10 packets counted and a new max_packets of 8
//      request now if a notification is pending);
//   2. an event on s_axis_evt_* (accepted then, ready high), unless the
//      previous cycle took one (the scanner gets at least every other cycle);
//   3. the scanner: contexts in turn, for the timers.
// The evaluation of a context:
//   a. a condition met by what was already counted (coalescing inactive with
//      packets counted, count >= max_packets, or time_us - start >=
//      max_usecs): request the interrupt if pending; count, timer and
//      pending reset EITHER WAY (the device resets even when the driver
//      suppressed the notification);
//   b. for an event: count += count (0 is taken as 1: an evaluation covers at
//      least one used record); the first packet after a reset starts the
//      timer at time_us; notify = 1 sets pending with the event's vector (a
//      quiet event, notify = 0, still counts packets);
//   c. then, for an event: coalescing inactive or count >= max_packets: as a.
//   A request while one of the same context is still waiting for the output
//   is merged into it (latest vector). stat_irq_coalesced counts every due
//   notification folded into another request (pending already set, or a
//   request already waiting, or both a. and c. requesting at once):
//   due events = stat_irq_sent + stat_irq_coalesced + cleared by resets +
//   still pending.
// Requests leave on m_axis_irq_* round-robin over the contexts, two cycles
// after the evaluation when the output is free; a backpressured request
// keeps waiting (never dropped).
//
// Timing. Timers use time_us (µs): a context started at time_us = T0 expires
// when time_us reaches T0 + max_usecs, which is up to 1 µs BEFORE
// first packet + max_usecs in real time (truncation of the µs counter:
// early, never late). The scanner visits every context at least once in
// 2 * NUM_FUNC * MAX_QUEUES cycles (+1 per coal_changed pulse in that
// window); the request is offered 2 cycles after that visit when the output
// is free. Default device build (2 x 4 contexts): 18 cycles = 72 ns at
// 250 MHz; 2 x 8 contexts: 34 cycles = 136 ns. An event for an expired
// context evaluates the expiry first (a.), so a packet arriving between the
// expiry and the scanner's visit starts a new window. max_packets above
// 2^CNT_W - 1 is met at 2^CNT_W - 1 packets (early, never late).
//
// Resets: func_reset[f] (level) and queue_reset_* (pulse) clear the
// context(s): count, timer, pending and a waiting request are dropped,
// nothing is sent for them (an event or change of that context in the same
// cycle is dropped too; an interrupt already offered on m_axis_irq, valid
// high, completes: AXI-stream). rst clears everything.
//
// Bad input (defined outcomes, never a hang):
//   * an event for a function >= NUM_FUNC or a queue >= MAX_QUEUES has no
//     context: a due one is passed through uncoalesced (one-entry slot, sent
//     before the contexts' requests; s_axis_evt_ready is low for another
//     such due event while the slot is full); a quiet one is dropped;
//   * coal_changed for an out-of-range pair: ignored;
//   * time_us going backwards (counter reset): running timers expire at
//     once (early, legal);
//   * a notify = 1 event with an 11-bit vector: sent as given (vio_pring_used
//     reports NO_VECTOR queues as notify = 0).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_irq_coal #(
    parameter int NUM_FUNC   = 2,      // functions
    parameter int MAX_QUEUES = 8,      // coalescing contexts per function (queues 0..MAX_QUEUES-1)
    parameter int CNT_W      = 16      // packet counter width (1..32, saturating)
) (
    input  wire logic                  clk,
    input  wire logic                  rst,

    // batch evaluations (vio_pring_used m_axis_irq_*, IRQ_EVENTS = 1)
    input  wire logic                  s_axis_evt_valid,
    output logic                       s_axis_evt_ready,
    input  wire logic [7:0]            s_axis_evt_func,
    input  wire logic [15:0]           s_axis_evt_queue,
    input  wire logic [10:0]           s_axis_evt_vec,
    input  wire logic                  s_axis_evt_notify,  // 1: a notification is due (event suppression)
    input  wire logic [15:0]           s_axis_evt_count,   // used records in the batch (packets)

    // coalescing table (vio_mgmt coal_rd_*: combinational)
    output logic      [7:0]            coal_rd_func,
    output logic      [15:0]           coal_rd_vq,
    input  wire logic [31:0]           coal_rd_pkts,
    input  wire logic [31:0]           coal_rd_usecs,
    input  wire logic                  coal_changed,       // pulse: new values for (func, vq), visible now
    input  wire logic [7:0]            coal_changed_func,
    input  wire logic [15:0]           coal_changed_vq,
    input  wire logic [63:0]           time_us,            // free-running µs counter

    // context resets
    input  wire logic [NUM_FUNC-1:0]   func_reset,
    input  wire logic                  queue_reset_valid,
    input  wire logic [7:0]            queue_reset_func,
    input  wire logic [15:0]           queue_reset_queue,

    // interrupt requests (vio_msix s_axis_irq_*)
    output logic                       m_axis_irq_valid,
    input  wire logic                  m_axis_irq_ready,
    output logic      [7:0]            m_axis_irq_func,
    output logic      [10:0]           m_axis_irq_vec,

    // statistics (wrap)
    output logic      [31:0]           stat_irq_sent,      // interrupt requests sent
    output logic      [31:0]           stat_irq_coalesced  // due notifications folded into another request
);

    // ------------------------------------------------------------------
    // parameters
    // ------------------------------------------------------------------

    localparam int NCTX  = NUM_FUNC * MAX_QUEUES;
    localparam int CTX_W = NCTX > 1 ? $clog2(NCTX) : 1;
    localparam int TS_W  = 33;                               // timer width: > max_usecs range
    localparam int SUM_W = (CNT_W > 16 ? CNT_W : 16) + 1;
    localparam logic [CNT_W-1:0] CNT_MAX = '1;

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_irq_coal: NUM_FUNC must be 1..256");
        if (MAX_QUEUES < 1 || MAX_QUEUES > 65536) $fatal(1, "vio_irq_coal: MAX_QUEUES must be 1..65536");
        if (NCTX > 65536) $fatal(1, "vio_irq_coal: NUM_FUNC * MAX_QUEUES must be <= 65536");
        if (CNT_W < 1 || CNT_W > 32) $fatal(1, "vio_irq_coal: CNT_W must be 1..32");
    end

    // ------------------------------------------------------------------
    // contexts
    // ------------------------------------------------------------------

    logic [CNT_W-1:0] c_cnt   [NCTX];
    logic [TS_W-1:0]  c_start [NCTX];
    logic [10:0]      c_vec   [NCTX];
    logic [NCTX-1:0]  c_pend;
    logic [NCTX-1:0]  f_req;                                 // met, waiting for the output
    logic [10:0]      f_vec   [NCTX];

    logic             x_req;                                 // pass-through slot (no context)
    logic [7:0]       x_func;
    logic [10:0]      x_vec;

    logic             scan_turn;                             // an event was taken last cycle
    logic [CTX_W-1:0] scan_idx;
    logic [7:0]       scan_f;
    logic [15:0]      scan_q;

    // ------------------------------------------------------------------
    // what is evaluated this cycle
    // ------------------------------------------------------------------

    wire e_in = s_axis_evt_func < 8'(NUM_FUNC) && 32'(s_axis_evt_queue) < MAX_QUEUES;
    wire [CTX_W-1:0] e_idx = CTX_W'(32'(s_axis_evt_func) * MAX_QUEUES + 32'(s_axis_evt_queue));
    wire c_in = coal_changed_func < 8'(NUM_FUNC) && 32'(coal_changed_vq) < MAX_QUEUES;
    wire [CTX_W-1:0] c_idx = CTX_W'(32'(coal_changed_func) * MAX_QUEUES + 32'(coal_changed_vq));
    wire r_in = queue_reset_func < 8'(NUM_FUNC) && 32'(queue_reset_queue) < MAX_QUEUES;
    wire [CTX_W-1:0] r_idx = CTX_W'(32'(queue_reset_func) * MAX_QUEUES + 32'(queue_reset_queue));

    assign s_axis_evt_ready = !rst && !coal_changed && !scan_turn && (e_in || !s_axis_evt_notify || !x_req);
    wire e_go = s_axis_evt_valid && s_axis_evt_ready;

    logic             v_en, v_ev, v_scan;
    logic [CTX_W-1:0] v_idx;

    always_comb begin
        v_ev = 1'b0;
        v_scan = 1'b0;
        if (coal_changed) begin
            v_en = c_in;
            v_idx = c_idx;
            coal_rd_func = coal_changed_func;
            coal_rd_vq = coal_changed_vq;
        end else if (e_go && e_in) begin
            v_en = 1'b1;
            v_ev = 1'b1;
            v_idx = e_idx;
            coal_rd_func = s_axis_evt_func;
            coal_rd_vq = s_axis_evt_queue;
        end else begin
            v_en = 1'b1;
            v_scan = 1'b1;
            v_idx = scan_idx;
            coal_rd_func = scan_f;
            coal_rd_vq = scan_q;
        end
    end

    // context resets this cycle
    logic [NCTX-1:0] hit;
    always_comb begin
        for (int i = 0; i < NCTX; i++)
            hit[i] = rst || func_reset[i / MAX_QUEUES] || (queue_reset_valid && r_in && 32'(r_idx) == i);
    end

    // ------------------------------------------------------------------
    // evaluation
    // ------------------------------------------------------------------

    wire [TS_W-1:0] now_us = time_us[TS_W-1:0];
    wire            active = coal_rd_pkts != 32'd0 && coal_rd_usecs != 32'd0;

    function automatic logic count_met(input logic [CNT_W-1:0] c, input logic [31:0] pkts);
        return c != '0 && (33'(c) >= 33'(pkts) || c == CNT_MAX);
    endfunction

    logic [CNT_W-1:0] o_cnt, n_cnt;
    logic [TS_W-1:0]  o_start, n_start;
    logic             o_pend, n_pend;
    logic [10:0]      o_vec, n_vec;
    logic             met_a, req_a, met_c, req_c, n_req;
    logic [10:0]      n_rvec;
    logic [SUM_W-1:0] sum;
    logic [15:0]      add;
    logic [1:0]       n_fold;

    always_comb begin
        o_cnt = c_cnt[v_idx];
        o_start = c_start[v_idx];
        o_pend = c_pend[v_idx];
        o_vec = c_vec[v_idx];
        // a. what is already counted
        met_a = o_cnt != '0 && (!active || count_met(o_cnt, coal_rd_pkts)
                                || TS_W'(now_us - o_start) >= TS_W'(coal_rd_usecs));
        req_a = met_a && o_pend;
        n_cnt = met_a ? '0 : o_cnt;
        n_pend = met_a ? 1'b0 : o_pend;
        n_start = o_start;
        n_vec = o_vec;
        // b. the event's packets
        add = s_axis_evt_count == 16'd0 ? 16'd1 : s_axis_evt_count;
        sum = SUM_W'(n_cnt) + SUM_W'(add);
        met_c = 1'b0;
        if (v_ev) begin
            if (n_cnt == '0)
                n_start = now_us;
            n_cnt = sum > SUM_W'(CNT_MAX) ? CNT_MAX : CNT_W'(sum);
            if (s_axis_evt_notify) begin
                n_pend = 1'b1;
                n_vec = s_axis_evt_vec;
            end
            // c. met by the new count (or no coalescing)
            met_c = !active || count_met(n_cnt, coal_rd_pkts);
        end
        req_c = met_c && n_pend;
        if (met_c) begin
            n_cnt = '0;
            n_pend = 1'b0;
        end
        n_req = req_a || req_c;
        n_rvec = req_c ? n_vec : o_vec;
    end

    // ------------------------------------------------------------------
    // output selection: pass-through slot first, then contexts round-robin
    // ------------------------------------------------------------------

    logic [NCTX-1:0]  cand;
    logic [CTX_W-1:0] rr;
    logic             s_hi, s_lo;
    logic [CTX_W-1:0] s_hi_idx, s_lo_idx, s_idx;
    logic [7:0]       s_hi_func, s_lo_func, s_func;

    always_comb begin
        cand = f_req & ~hit;
        s_hi = 1'b0;
        s_lo = 1'b0;
        s_hi_idx = '0;
        s_lo_idx = '0;
        s_hi_func = '0;
        s_lo_func = '0;
        for (int i = 0; i < NCTX; i++) begin
            if (cand[i] && !s_lo) begin
                s_lo = 1'b1;
                s_lo_idx = CTX_W'(i);
                s_lo_func = 8'(i / MAX_QUEUES);
            end
            if (cand[i] && !s_hi && 32'(rr) <= i) begin
                s_hi = 1'b1;
                s_hi_idx = CTX_W'(i);
                s_hi_func = 8'(i / MAX_QUEUES);
            end
        end
        s_idx = s_hi ? s_hi_idx : s_lo_idx;
        s_func = s_hi ? s_hi_func : s_lo_func;
    end

    wire o_free = !m_axis_irq_valid || m_axis_irq_ready;
    wire o_take_x = o_free && x_req;
    wire o_take_c = o_free && !x_req && s_lo;

    // a request merges into one still waiting (not the one leaving now)
    wire merge = v_en && n_req && f_req[v_idx] && !(o_take_c && s_idx == v_idx);
    assign n_fold = 2'(v_ev && s_axis_evt_notify && o_pend && !met_a) + 2'(req_a && req_c) + 2'(merge);

    // ------------------------------------------------------------------
    // state
    // ------------------------------------------------------------------

    always_ff @(posedge clk) begin
        // output
        if (m_axis_irq_valid && m_axis_irq_ready) begin
            m_axis_irq_valid <= 1'b0;
            stat_irq_sent <= stat_irq_sent + 32'd1;
        end
        if (o_take_x) begin
            m_axis_irq_valid <= 1'b1;
            m_axis_irq_func <= x_func;
            m_axis_irq_vec <= x_vec;
            x_req <= 1'b0;
        end else if (o_take_c) begin
            m_axis_irq_valid <= 1'b1;
            m_axis_irq_func <= s_func;
            m_axis_irq_vec <= f_vec[s_idx];
            f_req[s_idx] <= 1'b0;
            rr <= (32'(s_idx) + 1 >= NCTX) ? '0 : s_idx + 1'b1;
        end

        // pass-through of a due event without a context
        if (e_go && !e_in && s_axis_evt_notify) begin
            x_req <= 1'b1;
            x_func <= s_axis_evt_func;
            x_vec <= s_axis_evt_vec;
        end

        // the evaluated context
        if (v_en) begin
            c_cnt[v_idx] <= n_cnt;
            c_start[v_idx] <= n_start;
            c_pend[v_idx] <= n_pend;
            c_vec[v_idx] <= n_vec;
            if (n_req) begin
                f_req[v_idx] <= 1'b1;
                f_vec[v_idx] <= n_rvec;
            end
        end
        stat_irq_coalesced <= stat_irq_coalesced + 32'(n_fold & {2{v_en}});

        // scheduling
        scan_turn <= e_go;
        if (v_scan) begin
            if (32'(scan_idx) + 1 >= NCTX) begin
                scan_idx <= '0;
                scan_f <= '0;
                scan_q <= '0;
            end else begin
                scan_idx <= scan_idx + 1'b1;
                if (32'(scan_q) + 1 >= MAX_QUEUES) begin
                    scan_q <= '0;
                    scan_f <= scan_f + 8'd1;
                end else begin
                    scan_q <= scan_q + 16'd1;
                end
            end
        end

        // context resets win over this cycle's evaluation
        for (int i = 0; i < NCTX; i++) begin
            if (hit[i]) begin
                c_cnt[i] <= '0;
                c_pend[i] <= 1'b0;
                f_req[i] <= 1'b0;
            end
        end

        if (rst) begin
            m_axis_irq_valid <= 1'b0;
            x_req <= 1'b0;
            rr <= '0;
            scan_turn <= 1'b0;
            scan_idx <= '0;
            scan_f <= '0;
            scan_q <= '0;
            stat_irq_sent <= '0;
            stat_irq_coalesced <= '0;
        end
    end

    wire unused_ok = &{1'b0, time_us[63:TS_W]};

endmodule

`resetall
