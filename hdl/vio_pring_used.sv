// SPDX-License-Identifier: Apache-2.0
//
// Packed virtqueue, used side (virtio.md §4.3, §4.4): writes one used
// descriptor per completed buffer and decides the used-buffer notification
// from the Driver Event Suppression structure.
//
// Per-(function, queue) context (flops, indexed func * MAX_QUEUES + queue):
// the device's next used slot and used wrap counter; queue_reset_* (pulse)
// and func_reset[f] (level) set them to slot 0, wrap 1 (§4.2).
//
// A used record (s_axis_used_*: id, len = bytes written, num_desc = ring
// slots the buffer consumed on the available side) is served like this:
//   * the queue configuration is read on ctx_req/ctx_rsp (vio_virtio_regs,
//     one cycle latency); a record for a queue that is not enabled, of a
//     function that is not live / in reset, of size 0 or out of range is
//     dropped (nothing written, no event);
//   * the used descriptor's bytes 8..15 (len, id, flags = AVAIL=USED=wrap,
//     WRITE iff len > 0, §10 #6) are staged in the write-buffer RAM
//     (buf_wr_*, row WR_BUF_RAM_ADDR/64, bytes 8..15) and written with ONE
//     8-byte DMA write to desc + 16*slot + 8 (m_axis_wr_desc_*). An 8-byte
//     write inside a 16-aligned slot is one MemWr TLP, so id, len and flags
//     become visible together (flags never before id/len); addr is not
//     touched. The next record is written only after the status of the
//     previous one, so used descriptors land in order.
//   * the slot advances by num_desc, wrapping at the queue size and flipping
//     the wrap counter (written back after each successful write);
//   * groups (s_axis_used_more, the buffers of one MRG_RXBUF frame, which
//     "must become visible as used together", virtio.md §6.2): the first
//     record of a group is staged in bytes 16..23 of the staging row and
//     written only after the group's last record (s_axis_used_more low), so a
//     driver polling the head slot sees every buffer of the frame at once; the
//     group's records must arrive back to back (the device top keeps other
//     engines off the used port meanwhile). If a batch ends inside a group
//     (batch limits), the staged descriptor is written at the batch end;
//   * batching: after a write, a record waiting for the SAME queue is taken
//     at once (up to MAX_BATCH records and at most N slots per batch, so the
//     2N arithmetic stays exact, §4.4); then the 4-byte Driver Event
//     Suppression structure is read (m_axis_rd_desc_*, into the buffer RAM at
//     RD_BUF_RAM_ADDR, read back on buf_rd_*) and one decision covers the
//     batch, exactly pymodel.event_suppression.packed_decision:
//       DISABLE -> none; DESC with EVENT_IDX (feature bit 29) -> notify iff
//       off >= N or E in [old, new) on the 2N circle; ENABLE, reserved 3 and
//       DESC without EVENT_IDX -> notify (§10 #8).
//   * a notification pulses isr_queue_set[f] and, unless the queue's MSI-X
//     vector is NO_VECTOR (any vector with bits 15:11 set, e.g. 0xFFFF),
//     requests the interrupt on m_axis_irq_* (func, vec[10:0]).
//   * IRQ_EVENTS = 1 (for vio_irq_coal): m_axis_irq_* instead carries one
//     record per batch evaluation, notifying or not: queue, count (used
//     records written in the batch), vec (the queue's vector [10:0]),
//     notify = 1 iff a notification is due and the vector is not NO_VECTOR,
//     novec = 1 iff one is due but the vector is NO_VECTOR (isr_queue_set
//     still pulses for both). With IRQ_EVENTS = 0 queue / count / novec
//     are valid with the requests too and notify is 1.
//
// Bad input / errors (defined outcomes, never a hang):
//   * num_desc = 0 or num_desc > N, or a stale context slot >= N: one
//     needs_reset_set[f] pulse, the record is dropped (not written);
//   * DMA write error status: needs_reset_set[f] pulse, the context is not
//     advanced for that record; records already written in the batch are
//     still evaluated;
//   * DMA read error on the event structure: needs_reset_set[f] pulse and
//     a notification (conservative: a missing one is illegal, extra is not).
// A reset of the queue being served (queue_reset_* / func_reset) lets the
// DMA in flight finish, writes nothing back and sends no notification.
// func_quiesced[f] is low while a record of f is being served.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_pring_used #(
    parameter int NUM_FUNC        = 2,     // functions
    parameter int MAX_QUEUES      = 8,     // queue contexts per function
    parameter int MAX_BATCH       = 8,     // used records per event-suppression evaluation (1..65535)
    parameter int RAM_ADDR_W      = 18,    // buffer RAM byte address width
    parameter int WR_BUF_RAM_ADDR = 0,     // byte address of the 64-byte write staging row (64-aligned)
    parameter int RD_BUF_RAM_ADDR = 64,    // byte address of the 64-byte event read row (64-aligned)
    parameter int LEN_W           = 16,    // DMA descriptor length width
    parameter int OP_TAG_W        = 8,     // DMA descriptor tag width
    parameter int WR_DMA_TAG      = 0,     // tag on the DMA write descriptor port
    parameter int RD_DMA_TAG      = 0,     // tag on the DMA read descriptor port
    parameter int IRQ_EVENTS      = 0      // 0: m_axis_irq_* only when notifying; 1: one record per evaluation
) (
    input  wire logic                    clk,
    input  wire logic                    rst,

    // used records
    input  wire logic                    s_axis_used_valid,
    output logic                         s_axis_used_ready,
    input  wire logic [7:0]              s_axis_used_func,
    input  wire logic [15:0]             s_axis_used_queue,
    input  wire logic [15:0]             s_axis_used_id,
    input  wire logic [31:0]             s_axis_used_len,       // bytes written into the buffer
    input  wire logic [15:0]             s_axis_used_num_desc,  // ring slots the buffer consumed
    input  wire logic                    s_axis_used_more,      // more records of the same group follow (MRG_RXBUF frame)

    // queue context (vio_virtio_regs ctx_req/ctx_rsp)
    output logic                         ctx_req_valid,
    output logic      [7:0]              ctx_req_func,
    output logic      [15:0]             ctx_req_queue,
    input  wire logic                    ctx_rsp_valid,
    input  wire logic [15:0]             ctx_rsp_size,
    input  wire logic                    ctx_rsp_enable,
    input  wire logic [15:0]             ctx_rsp_vector,
    input  wire logic [63:0]             ctx_rsp_desc,
    input  wire logic [63:0]             ctx_rsp_driver,
    input  wire logic                    ctx_rsp_live,
    input  wire logic [127:0]            ctx_rsp_features,

    // context resets
    input  wire logic                    queue_reset_valid,
    input  wire logic [7:0]              queue_reset_func,
    input  wire logic [15:0]             queue_reset_queue,
    input  wire logic [NUM_FUNC-1:0]     func_reset,

    // DMA write descriptors (vio_dma_wr s_axis_wr_desc_* / m_axis_wr_desc_status_*)
    output logic                         m_axis_wr_desc_valid,
    input  wire logic                    m_axis_wr_desc_ready,
    output logic      [7:0]              m_axis_wr_desc_func,
    output logic      [63:0]             m_axis_wr_desc_pcie_addr,
    output logic      [RAM_ADDR_W-1:0]   m_axis_wr_desc_ram_addr,
    output logic      [LEN_W-1:0]        m_axis_wr_desc_len,
    output logic      [OP_TAG_W-1:0]     m_axis_wr_desc_tag,
    input  wire logic                    s_axis_wr_desc_status_valid,
    input  wire logic [OP_TAG_W-1:0]     s_axis_wr_desc_status_tag,
    input  wire logic [3:0]              s_axis_wr_desc_status_error,

    // write-buffer RAM write port (row numbers, byte enables)
    output logic                         buf_wr_en,
    output logic      [RAM_ADDR_W-7:0]   buf_wr_addr,
    output logic      [63:0]             buf_wr_be,
    output logic      [511:0]            buf_wr_data,

    // DMA read descriptors (vio_dma_rd s_axis_rd_desc_* / m_axis_rd_desc_status_*)
    output logic                         m_axis_rd_desc_valid,
    input  wire logic                    m_axis_rd_desc_ready,
    output logic      [7:0]              m_axis_rd_desc_func,
    output logic      [63:0]             m_axis_rd_desc_pcie_addr,
    output logic      [RAM_ADDR_W-1:0]   m_axis_rd_desc_ram_addr,
    output logic      [LEN_W-1:0]        m_axis_rd_desc_len,
    output logic      [OP_TAG_W-1:0]     m_axis_rd_desc_tag,
    input  wire logic                    s_axis_rd_desc_status_valid,
    input  wire logic [OP_TAG_W-1:0]     s_axis_rd_desc_status_tag,
    input  wire logic [3:0]              s_axis_rd_desc_status_error,

    // buffer RAM read port (row numbers, data one cycle after en)
    output logic                         buf_rd_en,
    output logic      [RAM_ADDR_W-7:0]   buf_rd_addr,
    input  wire logic [511:0]            buf_rd_data,

    // interrupt requests (vio_msix s_axis_irq_*)
    output logic                         m_axis_irq_valid,
    input  wire logic                    m_axis_irq_ready,
    output logic      [7:0]              m_axis_irq_func,
    output logic      [10:0]             m_axis_irq_vec,
    output logic      [15:0]             m_axis_irq_queue,
    output logic                         m_axis_irq_notify,     // a notification is due (vector not NO_VECTOR)
    output logic                         m_axis_irq_novec,      // a notification is due, vector NO_VECTOR
    output logic      [15:0]             m_axis_irq_count,      // used records written in the batch

    // status
    output logic      [NUM_FUNC-1:0]     isr_queue_set,         // pulse: a used-buffer notification of function f
    output logic      [NUM_FUNC-1:0]     needs_reset_set,       // pulse: bad record / DMA error
    output logic                         busy,                  // a record / batch is being served
    output logic      [NUM_FUNC-1:0]     func_quiesced          // level: nothing of function f in flight here
);

    // ------------------------------------------------------------------
    // parameters
    // ------------------------------------------------------------------

    localparam int NCTX    = NUM_FUNC * MAX_QUEUES;
    localparam int CTX_W   = NCTX > 1 ? $clog2(NCTX) : 1;
    localparam int FW      = NUM_FUNC > 1 ? $clog2(NUM_FUNC) : 1;
    localparam int ROW_W   = RAM_ADDR_W - 6;
    localparam int F_EVENT_IDX = 29;

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_pring_used: NUM_FUNC must be 1..256");
        if (MAX_QUEUES < 1 || MAX_QUEUES > 65536) $fatal(1, "vio_pring_used: MAX_QUEUES must be 1..65536");
        if (MAX_BATCH < 1 || MAX_BATCH > 65535) $fatal(1, "vio_pring_used: MAX_BATCH must be 1..65535");
        if (WR_BUF_RAM_ADDR % 64 != 0 || RD_BUF_RAM_ADDR % 64 != 0)
            $fatal(1, "vio_pring_used: RAM regions must be 64-aligned");
        if (RAM_ADDR_W < 7 || WR_BUF_RAM_ADDR + 64 > (1 << RAM_ADDR_W) || RD_BUF_RAM_ADDR + 64 > (1 << RAM_ADDR_W))
            $fatal(1, "vio_pring_used: RAM region outside the buffer RAM");
        if (LEN_W < 4 || LEN_W > 32) $fatal(1, "vio_pring_used: LEN_W must be 4..32");
        if (OP_TAG_W < 1 || WR_DMA_TAG < 0 || WR_DMA_TAG >= (1 << OP_TAG_W)
            || RD_DMA_TAG < 0 || RD_DMA_TAG >= (1 << OP_TAG_W))
            $fatal(1, "vio_pring_used: DMA tags do not fit OP_TAG_W");
        if (IRQ_EVENTS != 0 && IRQ_EVENTS != 1) $fatal(1, "vio_pring_used: IRQ_EVENTS must be 0 or 1");
    end

    // ------------------------------------------------------------------
    // contexts
    // ------------------------------------------------------------------

    logic [15:0] ctx_slot [NCTX];
    logic        ctx_wrap [NCTX];

    // ------------------------------------------------------------------
    // state
    // ------------------------------------------------------------------

    typedef enum logic [3:0] {
        S_IDLE, S_CTX_REQ, S_CTX_WAIT, S_CHECK, S_STAGE, S_WR_DESC, S_WR_WAIT, S_NEXT,
        S_EVT_DESC, S_EVT_WAIT, S_EVT_RD, S_EVT_DATA, S_NOTIFY, S_IRQ, S_ERR
    } state_t;

    state_t state;

    logic [7:0]       a_func;
    logic [FW-1:0]    a_f;
    logic [15:0]      a_queue;
    logic [CTX_W-1:0] a_idx;
    logic             a_abort;
    logic [15:0]      u_id;
    logic [31:0]      u_len;
    logic [15:0]      u_nd;
    logic             u_more;
    logic             g_open;      // a group's first used descriptor is staged, not written yet
    logic             wr_head;     // the DMA write in flight is that deferred descriptor
    logic [63:0]      g_addr;

    logic [15:0]      q_size;
    logic [15:0]      q_vec;
    logic [63:0]      q_desc;
    logic [63:0]      q_driver;
    logic             q_event_idx;

    logic [15:0]      cur_slot;      // next used slot
    logic             cur_wrap;
    logic [15:0]      old_slot;      // position at the previous evaluation
    logic             old_wrap;
    logic [15:0]      b_count;       // records written in this batch
    logic [16:0]      b_slots;       // slots advanced in this batch
    logic             n_due;         // the evaluation decided a notification

    wire u_idx_ok = s_axis_used_func < 8'(NUM_FUNC) && 32'(s_axis_used_queue) < MAX_QUEUES;
    wire [CTX_W-1:0] u_idx = CTX_W'(32'(s_axis_used_func) * MAX_QUEUES + 32'(s_axis_used_queue));
    wire r_idx_ok = queue_reset_func < 8'(NUM_FUNC) && 32'(queue_reset_queue) < MAX_QUEUES;
    wire [CTX_W-1:0] r_idx = CTX_W'(32'(queue_reset_func) * MAX_QUEUES + 32'(queue_reset_queue));
    wire a_func_reset = func_reset[a_f];

    // position after this record
    logic [16:0] adv_sum;
    logic [15:0] adv_slot;
    logic        adv_wrap;

    always_comb begin
        adv_sum = {1'b0, cur_slot} + {1'b0, u_nd};
        if (adv_sum >= {1'b0, q_size}) begin
            adv_slot = 16'(adv_sum - {1'b0, q_size});
            adv_wrap = !cur_wrap;
        end else begin
            adv_slot = adv_sum[15:0];
            adv_wrap = cur_wrap;
        end
    end

    // a waiting record may join the batch
    wire take_next = s_axis_used_valid && s_axis_used_func == a_func && s_axis_used_queue == a_queue
                     && !a_abort && !a_func_reset && 32'(b_count) < MAX_BATCH
                     && b_slots + {1'b0, s_axis_used_num_desc} <= {1'b0, q_size};

    assign s_axis_used_ready = (state == S_IDLE) || (state == S_NEXT && take_next);
    assign busy = (state != S_IDLE);
    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++)
            func_quiesced[f] = !(busy && 32'(a_func) == f);
    end

    assign ctx_req_valid = (state == S_CTX_REQ);
    assign ctx_req_func = a_func;
    assign ctx_req_queue = a_queue;

    assign m_axis_wr_desc_func = a_func;
    assign m_axis_wr_desc_ram_addr = RAM_ADDR_W'(WR_BUF_RAM_ADDR + (wr_head ? 16 : 8));
    assign m_axis_wr_desc_len = LEN_W'(8);
    assign m_axis_wr_desc_tag = OP_TAG_W'(WR_DMA_TAG);
    assign m_axis_rd_desc_func = a_func;
    assign m_axis_rd_desc_pcie_addr = q_driver;
    assign m_axis_rd_desc_ram_addr = RAM_ADDR_W'(RD_BUF_RAM_ADDR);
    assign m_axis_rd_desc_len = LEN_W'(4);
    assign m_axis_rd_desc_tag = OP_TAG_W'(RD_DMA_TAG);

    assign buf_rd_en = (state == S_EVT_RD);
    assign buf_rd_addr = ROW_W'(RD_BUF_RAM_ADDR / 64);

    // one DMA of each kind in flight: any status answers it
    wire unused_ok = &{1'b0, s_axis_wr_desc_status_tag, s_axis_rd_desc_status_tag,
                        ctx_rsp_features[127:F_EVENT_IDX+1], ctx_rsp_features[F_EVENT_IDX-1:0],
                        buf_rd_data[511:18]};   // flags 15:2 reserved (ignored, as pymodel)

    // ------------------------------------------------------------------
    // notification decision (pymodel packed_decision)
    // ------------------------------------------------------------------

    logic [15:0] ev_off_wrap;
    logic [1:0]  ev_mode;
    logic [17:0] e_pos, o_pos, n_pos, two_n, d_ne, d_no;
    logic        decide;

    always_comb begin
        ev_off_wrap = buf_rd_data[15:0];
        ev_mode = buf_rd_data[17:16];
        two_n = {1'b0, q_size, 1'b0};
        e_pos = {3'd0, ev_off_wrap[14:0]} + (ev_off_wrap[15] ? {2'd0, q_size} : 18'd0);
        o_pos = {2'd0, old_slot} + (old_wrap ? {2'd0, q_size} : 18'd0);
        n_pos = {2'd0, cur_slot} + (cur_wrap ? {2'd0, q_size} : 18'd0);
        // (new - E - 1) mod 2N and (new - old) mod 2N, all operands in [0, 2N)
        d_ne = n_pos - e_pos - 18'd1;
        if (d_ne[17]) d_ne = d_ne + two_n;
        d_no = n_pos - o_pos;
        if (d_no[17]) d_no = d_no + two_n;
        if (ev_mode == 2'd1)
            decide = 1'b0;                                   // DISABLE
        else if (cur_slot == old_slot && cur_wrap == old_wrap)
            decide = 1'b0;                                   // nothing used
        else if (ev_mode == 2'd2 && q_event_idx)
            decide = ({1'b0, ev_off_wrap[14:0]} >= q_size) || (d_ne < d_no);
        else
            decide = 1'b1;                                   // ENABLE, reserved 3, DESC w/o EVENT_IDX
    end

    // ------------------------------------------------------------------
    // sequencer
    // ------------------------------------------------------------------

    logic        wb_en;
    logic [15:0] wb_slot;
    logic        wb_wrap;

    always_ff @(posedge clk) begin
        needs_reset_set <= '0;
        isr_queue_set <= '0;
        buf_wr_en <= 1'b0;
        wb_en <= 1'b0;

        case (state)
        S_IDLE: begin
            a_abort <= 1'b0;
            g_open <= 1'b0;
            wr_head <= 1'b0;
            if (s_axis_used_valid) begin
                a_func <= s_axis_used_func;
                a_f <= s_axis_used_func[FW-1:0];
                a_queue <= s_axis_used_queue;
                a_idx <= u_idx;
                u_id <= s_axis_used_id;
                u_len <= s_axis_used_len;
                u_nd <= s_axis_used_num_desc;
                u_more <= s_axis_used_more;
                if (u_idx_ok) state <= S_CTX_REQ;    // out of range: dropped
            end
        end
        S_CTX_REQ: state <= S_CTX_WAIT;
        S_CTX_WAIT: if (ctx_rsp_valid) begin
            q_size <= ctx_rsp_size;
            q_vec <= ctx_rsp_vector;
            q_desc <= ctx_rsp_desc;
            q_driver <= ctx_rsp_driver;
            q_event_idx <= ctx_rsp_features[F_EVENT_IDX];
            cur_slot <= ctx_slot[a_idx];
            cur_wrap <= ctx_wrap[a_idx];
            old_slot <= ctx_slot[a_idx];
            old_wrap <= ctx_wrap[a_idx];
            b_count <= '0;
            b_slots <= '0;
            if (!ctx_rsp_enable || !ctx_rsp_live || ctx_rsp_size == 16'd0 || a_func_reset || a_abort)
                state <= S_IDLE;                     // dropped
            else if (ctx_slot[a_idx] >= ctx_rsp_size)
                state <= S_ERR;                      // stale context (size changed under it)
            else
                state <= S_CHECK;
        end
        S_CHECK: begin
            if (u_nd == 16'd0 || u_nd > q_size) begin
                state <= S_ERR;
            end else begin
                buf_wr_en <= 1'b1;
                buf_wr_addr <= ROW_W'(WR_BUF_RAM_ADDR / 64);
                buf_wr_data <= '0;
                if (u_more && !g_open) begin
                    // first record of a group: staged in bytes 16..23, written after the group's
                    // last one, so the driver sees the whole group at once (virtio.md §6.2)
                    buf_wr_be <= 64'h0000_0000_00FF_0000;
                    buf_wr_data[128 +: 32] <= u_len;
                    buf_wr_data[160 +: 16] <= u_id;
                    buf_wr_data[176 +: 16] <= {cur_wrap, 7'd0, cur_wrap, 5'd0, u_len != 32'd0, 1'b0};
                    g_addr <= q_desc + {44'd0, cur_slot, 4'd0} + 64'd8;
                    g_open <= 1'b1;
                    cur_slot <= adv_slot;
                    cur_wrap <= adv_wrap;
                    b_count <= b_count + 16'd1;
                    b_slots <= b_slots + {1'b0, u_nd};
                    wb_en <= 1'b1;
                    wb_slot <= adv_slot;
                    wb_wrap <= adv_wrap;
                    state <= S_NEXT;
                end else begin
                    buf_wr_be <= 64'h0000_0000_0000_FF00;
                    buf_wr_data[64 +: 32] <= u_len;
                    buf_wr_data[96 +: 16] <= u_id;
                    buf_wr_data[112 +: 16] <= {cur_wrap, 7'd0, cur_wrap, 5'd0, u_len != 32'd0, 1'b0};
                    m_axis_wr_desc_pcie_addr <= q_desc + {44'd0, cur_slot, 4'd0} + 64'd8;
                    state <= S_STAGE;
                end
            end
        end
        S_STAGE: begin
            // the staged row is in the RAM now
            m_axis_wr_desc_valid <= 1'b1;
            state <= S_WR_DESC;
        end
        S_WR_DESC: if (m_axis_wr_desc_ready) begin
            m_axis_wr_desc_valid <= 1'b0;
            state <= S_WR_WAIT;
        end
        S_WR_WAIT: if (s_axis_wr_desc_status_valid) begin
            if (s_axis_wr_desc_status_error != vio_pkg::DMA_OK) begin
                needs_reset_set[a_f] <= 1'b1;
                g_open <= 1'b0;
                wr_head <= 1'b0;
                state <= (b_count != 16'd0) ? S_EVT_DESC : S_IDLE;
            end else if (wr_head) begin
                // the group's deferred first descriptor is out: the group is visible
                wr_head <= 1'b0;
                g_open <= 1'b0;
                state <= S_NEXT;
            end else if (g_open && !u_more) begin
                // the group's last descriptor is out: now its first
                cur_slot <= adv_slot;
                cur_wrap <= adv_wrap;
                b_count <= b_count + 16'd1;
                b_slots <= b_slots + {1'b0, u_nd};
                wb_en <= 1'b1;
                wb_slot <= adv_slot;
                wb_wrap <= adv_wrap;
                wr_head <= 1'b1;
                m_axis_wr_desc_pcie_addr <= g_addr;
                m_axis_wr_desc_valid <= 1'b1;
                state <= S_WR_DESC;
            end else begin
                cur_slot <= adv_slot;
                cur_wrap <= adv_wrap;
                b_count <= b_count + 16'd1;
                b_slots <= b_slots + {1'b0, u_nd};
                wb_en <= 1'b1;
                wb_slot <= adv_slot;
                wb_wrap <= adv_wrap;
                state <= S_NEXT;
            end
        end
        S_NEXT: begin
            if (take_next) begin
                u_id <= s_axis_used_id;
                u_len <= s_axis_used_len;
                u_nd <= s_axis_used_num_desc;
                u_more <= s_axis_used_more;
                state <= S_CHECK;
            end else if (a_abort || a_func_reset) begin
                g_open <= 1'b0;
                state <= S_IDLE;
            end else if (g_open) begin
                // the batch ends inside a group (batch limits): write the deferred descriptor now
                wr_head <= 1'b1;
                m_axis_wr_desc_pcie_addr <= g_addr;
                m_axis_wr_desc_valid <= 1'b1;
                state <= S_WR_DESC;
            end else begin
                state <= S_EVT_DESC;
            end
        end
        S_EVT_DESC: begin
            if (!m_axis_rd_desc_valid && (a_abort || a_func_reset)) begin
                state <= S_IDLE;
            end else if (!m_axis_rd_desc_valid) begin
                m_axis_rd_desc_valid <= 1'b1;
            end else if (m_axis_rd_desc_ready) begin
                m_axis_rd_desc_valid <= 1'b0;
                state <= S_EVT_WAIT;
            end
        end
        S_EVT_WAIT: if (s_axis_rd_desc_status_valid) begin
            if (s_axis_rd_desc_status_error != vio_pkg::DMA_OK) begin
                needs_reset_set[a_f] <= 1'b1;
                n_due <= 1'b1;
                state <= S_NOTIFY;                   // notify conservatively
            end else begin
                state <= S_EVT_RD;
            end
        end
        S_EVT_RD: state <= S_EVT_DATA;
        S_EVT_DATA: begin
            n_due <= decide;
            state <= (decide || IRQ_EVENTS != 0) ? S_NOTIFY : S_IDLE;
        end
        S_NOTIFY: begin
            if (a_abort || a_func_reset) begin
                state <= S_IDLE;
            end else begin
                isr_queue_set[a_f] <= n_due;
                m_axis_irq_func <= a_func;
                m_axis_irq_vec <= q_vec[10:0];
                m_axis_irq_queue <= a_queue;
                m_axis_irq_count <= b_count;
                m_axis_irq_notify <= n_due && q_vec[15:11] == 5'd0;
                m_axis_irq_novec <= n_due && q_vec[15:11] != 5'd0;
                if (q_vec[15:11] == 5'd0 || IRQ_EVENTS != 0) begin
                    m_axis_irq_valid <= 1'b1;
                    state <= S_IRQ;
                end else begin
                    state <= S_IDLE;                 // NO_VECTOR
                end
            end
        end
        S_IRQ: if (m_axis_irq_ready) begin
            m_axis_irq_valid <= 1'b0;
            state <= S_IDLE;
        end
        S_ERR: begin
            needs_reset_set[a_f] <= 1'b1;
            state <= (b_count != 16'd0) ? S_EVT_DESC : S_IDLE;
        end
        default: state <= S_IDLE;
        endcase

        // a reset of the served queue: finish the DMA in flight, write nothing back
        if (state != S_IDLE && ((queue_reset_valid && r_idx_ok && r_idx == a_idx) || a_func_reset))
            a_abort <= 1'b1;

        if (rst) begin
            state <= S_IDLE;
            a_abort <= 1'b0;
            g_open <= 1'b0;
            wr_head <= 1'b0;
            m_axis_wr_desc_valid <= 1'b0;
            m_axis_rd_desc_valid <= 1'b0;
            m_axis_irq_valid <= 1'b0;
            needs_reset_set <= '0;
            isr_queue_set <= '0;
            buf_wr_en <= 1'b0;
            wb_en <= 1'b0;
        end
    end

    // contexts: write-back, then resets (resets win)
    always_ff @(posedge clk) begin
        if (wb_en && !a_abort) begin
            ctx_slot[a_idx] <= wb_slot;
            ctx_wrap[a_idx] <= wb_wrap;
        end
        for (int i = 0; i < NCTX; i++) begin
            if (rst || func_reset[i / MAX_QUEUES]
                || (queue_reset_valid && r_idx_ok && 32'(r_idx) == i)) begin
                ctx_slot[i] <= 16'd0;
                ctx_wrap[i] <= 1'b1;
            end
        end
    end

endmodule

`resetall
