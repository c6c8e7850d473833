// SPDX-License-Identifier: Apache-2.0
//
// Packed virtqueue, available side (virtio.md §4.2, §4.3): finds the buffers
// the driver made available and emits one record per buffer plus its
// segments.
//
// Per-(function, queue) context (flops, indexed func * MAX_QUEUES + queue):
// the device's next avail slot and avail wrap counter; queue_reset_* (pulse)
// and func_reset[f] (level) set them to slot 0, wrap 1 (§1.3).
//
// One notification (s_axis_notify_*, as vio_virtio_regs emits it) is served
// at a time: the queue configuration is read on ctx_req/ctx_rsp (the
// vio_virtio_regs port, one cycle latency); a notification for a queue that
// is not enabled, of a function that is not live, of size 0 or out of range
// is ignored. Otherwise descriptors are fetched in batches of up to BATCH
// (16 bytes each) with one DMA read (m_axis_rd_desc_*, func = the queue's
// function) into BATCH*16 bytes of the buffer RAM at BUF_RAM_ADDR; a batch
// never passes the end of the ring (the rest comes with the next read, from
// slot 0). Each descriptor is read from the RAM (buf_rd_*, 512-bit rows,
// one cycle latency) and checked against the avail wrap counter; chains
// (NEXT) are walked across batches and across the ring end. The walk stops
// at the first head that is not available; the next notification resumes
// there.
//
// Output per buffer: its segments on m_axis_seg_* (chain order, last on the
// final one), then its record on m_axis_buf_* (id of the last descriptor,
// §10 #5; head slot and wrap; slots consumed). An INDIRECT descriptor (one
// ring slot) is followed into its table: the table is fetched BATCH entries
// per DMA read into the same RAM region and each entry becomes a segment
// (NEXT inside the table is ignored, §4.3); the record has
// m_axis_buf_indirect set. The ring batch is fetched again afterwards.
//
// Malformed input (pymodel PackedRingDevice's DeviceNeedsReset cases):
// chain longer than the queue size, chain descriptor not available,
// readable after writable, INDIRECT not negotiated / with NEXT / inside a
// chain, indirect table length 0 or not a multiple of 16, INDIRECT inside a
// table, and a DMA error status. Outcome: one needs_reset_set[f] pulse; if
// segments of the buffer were already emitted, the buffer is closed with a
// zero-length segment (error, last) and a record with error set; the
// context is not advanced and the walk stops.
//
// A reset of the queue being walked while it is walked (abort) lets the
// current buffer finish (bounded by the queue size), then stops without
// writing the context back. func_quiesced[f] is low while a queue of f is
// walked (for vio_virtio_regs' func_quiesced, with the other engines').
// A notification that arrives while another is served waits (notify ready
// low).
//
// RX buffer fetch (s_axis_fetch_*, for the virtio-net receive engine, which
// must not consume anything until a whole frame is placed): a fetch asks for
// at most ONE buffer of (func, queue), starting at (fetch_slot, fetch_wrap)
// when fetch_cursor is 1, else at the context's position, and does NOT write
// the context. It always produces exactly one record with m_axis_buf_fetch
// set, and m_axis_buf_slot_next/wrap_next (given with every record, of
// notifications too) say where the ring continues after that buffer
// (wrapping at the queue size, the wrap counter flips); the engine peeks
// buffer after buffer with the cursor and then commits.
//   * a buffer: its segments, then its record (none 0), as for notifications
//     (chains, indirect tables, across the ring end);
//   * none (m_axis_buf_none 1, no segments before it, num_desc 0, id 0,
//     slot_first = slot_next = the start position): (func, queue) out of
//     range (start = the cursor, or slot 0 / wrap 1), queue not enabled,
//     function not live, size 0, start slot >= size, func_reset[f] high, a
//     queue or function reset of that queue before the head was taken, or
//     the descriptor at the start not available;
//   * malformed chain / DMA error: one needs_reset_set[f] pulse as for
//     notifications; segments already emitted are closed with the error
//     segment and the record has error 1 (none 0); when no segment was
//     emitted the record has error 1 AND none 1 (nothing precedes it on
//     m_axis_seg). slot_next = slot_first = the head (nothing to consume).
// The descriptor batch is read again for every fetch (no caching across
// fetches: one DMA read of up to BATCH descriptors per fetch, plus the table
// reads of an indirect buffer).
// Arbitration when idle: a waiting fetch goes before a waiting
// notification (RX latency), except right after a fetch was accepted, when a
// waiting notification is served first (no starvation). A notification
// still serves every available buffer in one go and writes the context.
//
// Commit (s_commit_*, one-cycle pulse, no ready, always accepted): the
// context of (func, queue) := (slot, wrap). Ignored when (func, queue) is out
// of range or func_reset[f] is high; a queue reset of the same queue in the
// same cycle wins. The slot is not checked against the queue size (a context
// at or past the size is never walked: a later notification is ignored, a
// later fetch without cursor answers none). A commit while a walk of the same
// queue is in progress: the commit wins. A notification walk of that queue
// finishes its current buffer, writes nothing back and stops (as on a reset;
// RX queues never get notifications in the device, so this only bounds the
// damage); a fetch in progress keeps the start position it read and its
// answer is unaffected (a fetch without cursor reads the context in the
// cycle its queue configuration arrives, S_CTX_WAIT: a commit up to that
// cycle's edge is not seen, one before it is).
//
// walk_func/queue/fetch/active name the walk the m_axis_seg / m_axis_buf
// beats belong to; they are set when a notification or fetch is accepted and
// stay stable until the walk ends (a fetch: its record's handshake), so a
// router can pick the consumer before the first segment. busy and
// func_quiesced cover fetches too.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_pring_avail #(
    parameter int NUM_FUNC     = 2,        // functions
    parameter int MAX_QUEUES   = 8,        // queue contexts per function
    parameter int BATCH        = 8,        // descriptors per DMA read (power of 2, 1..64)
    parameter int RAM_ADDR_W   = 18,       // buffer RAM byte address width
    parameter int BUF_RAM_ADDR = 0,        // byte address of this block's BATCH*16-byte RAM region (64-aligned)
    parameter int LEN_W        = 16,       // DMA descriptor length width
    parameter int OP_TAG_W     = 8,        // DMA descriptor tag width
    parameter int DMA_TAG      = 0         // tag used on the DMA descriptor port
) (
    input  wire logic                    clk,
    input  wire logic                    rst,

    // notifications (vio_virtio_regs m_axis_notify_*)
    input  wire logic                    s_axis_notify_valid,
    output logic                         s_axis_notify_ready,
    input  wire logic [7:0]              s_axis_notify_func,
    input  wire logic [15:0]             s_axis_notify_queue,

    // RX buffer fetch: at most one buffer of (func, queue), the context is not advanced
    input  wire logic                    s_axis_fetch_valid,
    output logic                         s_axis_fetch_ready,
    input  wire logic [7:0]              s_axis_fetch_func,
    input  wire logic [15:0]             s_axis_fetch_queue,
    input  wire logic                    s_axis_fetch_cursor,   // 1: start at slot/wrap; 0: at the context
    input  wire logic [15:0]             s_axis_fetch_slot,
    input  wire logic                    s_axis_fetch_wrap,

    // commit: the context of (func, queue) := (slot, wrap); one-cycle pulse, no ready
    input  wire logic                    s_commit_valid,
    input  wire logic [7:0]              s_commit_func,
    input  wire logic [15:0]             s_commit_queue,
    input  wire logic [15:0]             s_commit_slot,
    input  wire logic                    s_commit_wrap,

    // queue context (vio_virtio_regs ctx_req/ctx_rsp)
    output logic                         ctx_req_valid,
    output logic      [7:0]              ctx_req_func,
    output logic      [15:0]             ctx_req_queue,
    input  wire logic                    ctx_rsp_valid,
    input  wire logic [15:0]             ctx_rsp_size,
    input  wire logic                    ctx_rsp_enable,
    input  wire logic [63:0]             ctx_rsp_desc,
    input  wire logic                    ctx_rsp_live,
    input  wire logic [127:0]            ctx_rsp_features,

    // context resets
    input  wire logic                    queue_reset_valid,
    input  wire logic [7:0]              queue_reset_func,
    input  wire logic [15:0]             queue_reset_queue,
    input  wire logic [NUM_FUNC-1:0]     func_reset,

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

    // available buffers
    output logic                         m_axis_buf_valid,
    input  wire logic                    m_axis_buf_ready,
    output logic      [7:0]              m_axis_buf_func,
    output logic      [15:0]             m_axis_buf_queue,
    output logic      [15:0]             m_axis_buf_id,
    output logic      [15:0]             m_axis_buf_slot_first,
    output logic                         m_axis_buf_wrap_first,
    output logic      [15:0]             m_axis_buf_num_desc,   // ring slots consumed
    output logic                         m_axis_buf_indirect,
    output logic                         m_axis_buf_error,
    output logic                         m_axis_buf_fetch,      // the record answers a fetch
    output logic                         m_axis_buf_none,       // fetch answer without a buffer (no segments before it)
    output logic      [15:0]             m_axis_buf_slot_next,  // ring position after this buffer
    output logic                         m_axis_buf_wrap_next,

    // segments of the buffers
    output logic                         m_axis_seg_valid,
    input  wire logic                    m_axis_seg_ready,
    output logic      [63:0]             m_axis_seg_addr,
    output logic      [31:0]             m_axis_seg_len,
    output logic                         m_axis_seg_write,
    output logic                         m_axis_seg_error,
    output logic                         m_axis_seg_last,

    // status
    output logic      [NUM_FUNC-1:0]     needs_reset_set,       // pulse: malformed ring / DMA error
    output logic                         busy,                  // a notification or fetch is being served
    output logic      [NUM_FUNC-1:0]     func_quiesced,         // level: nothing of function f in flight here

    // the walk the current m_axis_seg / m_axis_buf beats belong to
    output logic      [7:0]              walk_func,
    output logic      [15:0]             walk_queue,
    output logic                         walk_fetch,
    output logic                         walk_active
);

    // ------------------------------------------------------------------
    // parameters
    // ------------------------------------------------------------------

    localparam int NCTX   = NUM_FUNC * MAX_QUEUES;
    localparam int CTX_W  = NCTX > 1 ? $clog2(NCTX) : 1;
    localparam int BI_W   = $clog2(BATCH + 1);
    localparam int ROW_W  = RAM_ADDR_W - 6;
    localparam int BASE_ROW = BUF_RAM_ADDR / 64;
    localparam int F_INDIRECT_DESC = 28;

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_pring_avail: NUM_FUNC must be 1..256");
        if (MAX_QUEUES < 1 || MAX_QUEUES > 65536) $fatal(1, "vio_pring_avail: MAX_QUEUES must be 1..65536");
        if (BATCH < 1 || BATCH > 64 || (BATCH & (BATCH - 1)) != 0)
            $fatal(1, "vio_pring_avail: BATCH must be a power of 2 in 1..64");
        if (BUF_RAM_ADDR % 64 != 0) $fatal(1, "vio_pring_avail: BUF_RAM_ADDR must be 64-aligned");
        if (RAM_ADDR_W < 7 || BUF_RAM_ADDR + BATCH * 16 > (1 << RAM_ADDR_W))
            $fatal(1, "vio_pring_avail: RAM region outside the buffer RAM");
        if (LEN_W < 1 || LEN_W > 32 || BATCH * 16 > (1 << LEN_W) - 1)
            $fatal(1, "vio_pring_avail: LEN_W too small for BATCH*16");
        if (OP_TAG_W < 1 || DMA_TAG < 0 || DMA_TAG >= (1 << OP_TAG_W))
            $fatal(1, "vio_pring_avail: DMA_TAG does not fit OP_TAG_W");
    end

    // descriptor flag bits
    localparam int FL_NEXT = 0, FL_WRITE = 1, FL_INDIRECT = 2, FL_AVAIL = 7, FL_USED = 15;

    // ------------------------------------------------------------------
    // contexts
    // ------------------------------------------------------------------

    logic [15:0] ctx_slot [NCTX];
    logic        ctx_wrap [NCTX];

    // ------------------------------------------------------------------
    // walker state
    // ------------------------------------------------------------------

    typedef enum logic [3:0] {
        S_IDLE, S_CTX_REQ, S_CTX_WAIT, S_FETCH, S_DMA_WAIT, S_RD, S_PARSE,
        S_SEG, S_BUF, S_ERR, S_ERR_SEG, S_ERR_BUF, S_NONE
    } state_t;

    state_t state;

    logic [7:0]       a_func;
    logic [15:0]      a_queue;
    logic [CTX_W-1:0] a_idx;
    logic             a_abort;       // the walked queue was reset (or committed) meanwhile
    logic             a_fetch;       // the walk answers a fetch (one buffer, no write-back)
    logic             a_cursor;      // fetch: start at a_cslot / a_cwrap
    logic [15:0]      a_cslot;
    logic             a_cwrap;
    logic             last_fetch;    // the last accepted request was a fetch
    logic             none_err;      // S_NONE: the none record reports an error
    logic [15:0]      q_size;
    logic [63:0]      q_desc;
    logic             q_indirect;    // INDIRECT_DESC negotiated

    logic [15:0]      cur_slot;      // next descriptor to look at
    logic             cur_wrap;
    logic [15:0]      head_slot;     // head of the buffer being walked
    logic             head_wrap;
    logic [15:0]      cnt;           // descriptors of the buffer so far
    logic             seen_w;        // a writable descriptor was seen
    logic [BI_W-1:0]  batch_n;       // descriptors in the RAM region
    logic [BI_W-1:0]  batch_i;       // next one to parse
    logic             emitted;       // segments of the buffer were emitted
    logic             in_table;      // walking an indirect table
    logic [63:0]      ind_addr;      // next table entry
    logic [27:0]      ind_left;      // table entries left

    // the descriptor in this cycle's RAM data (valid in S_PARSE)
    logic [127:0] d_raw;
    logic [63:0]  d_addr;
    logic [31:0]  d_len;
    logic [15:0]  d_id;
    logic [15:0]  d_flags;
    logic         d_avail;

    always_comb begin
        d_raw = buf_rd_data[128 * (32'(batch_i) % 4) +: 128];
        d_addr = d_raw[63:0];
        d_len = d_raw[95:64];
        d_id = d_raw[111:96];
        d_flags = d_raw[127:112];
        d_avail = (d_flags[FL_AVAIL] == cur_wrap) && (d_flags[FL_USED] != cur_wrap);
    end

    // slots left before the ring end, and the next position
    logic [15:0] to_end;
    logic [15:0] nxt_slot;
    logic        nxt_wrap;

    always_comb begin
        to_end = q_size - cur_slot;
        if (cur_slot + 16'd1 >= q_size) begin
            nxt_slot = 16'd0;
            nxt_wrap = !cur_wrap;
        end else begin
            nxt_slot = cur_slot + 16'd1;
            nxt_wrap = cur_wrap;
        end
    end

    wire n_idx_ok = s_axis_notify_func < 8'(NUM_FUNC) && 32'(s_axis_notify_queue) < MAX_QUEUES;
    wire [CTX_W-1:0] n_idx = CTX_W'(32'(s_axis_notify_func) * MAX_QUEUES + 32'(s_axis_notify_queue));
    wire r_idx_ok = queue_reset_func < 8'(NUM_FUNC) && 32'(queue_reset_queue) < MAX_QUEUES;
    wire [CTX_W-1:0] r_idx = CTX_W'(32'(queue_reset_func) * MAX_QUEUES + 32'(queue_reset_queue));
    wire f_idx_ok = s_axis_fetch_func < 8'(NUM_FUNC) && 32'(s_axis_fetch_queue) < MAX_QUEUES;
    wire [CTX_W-1:0] f_idx = CTX_W'(32'(s_axis_fetch_func) * MAX_QUEUES + 32'(s_axis_fetch_queue));
    wire c_idx_ok = s_commit_func < 8'(NUM_FUNC) && 32'(s_commit_queue) < MAX_QUEUES;
    wire [CTX_W-1:0] c_idx = CTX_W'(32'(s_commit_func) * MAX_QUEUES + 32'(s_commit_queue));
    localparam int FN_W = $clog2(NUM_FUNC > 1 ? NUM_FUNC : 2);
    wire a_func_reset = func_reset[a_func[FN_W-1:0]];
    wire c_ok = s_commit_valid && c_idx_ok && !func_reset[s_commit_func[FN_W-1:0]];

    // start position of the walk (valid in S_CTX_WAIT)
    wire [15:0] st_slot = (a_fetch && a_cursor) ? a_cslot : ctx_slot[a_idx];
    wire        st_wrap = (a_fetch && a_cursor) ? a_cwrap : ctx_wrap[a_idx];

    // idle arbitration: a fetch first, but a notification after a fetch
    wire take_fetch = s_axis_fetch_valid && !(last_fetch && s_axis_notify_valid);
    assign s_axis_fetch_ready = (state == S_IDLE) && !(last_fetch && s_axis_notify_valid);
    assign s_axis_notify_ready = (state == S_IDLE) && !take_fetch;
    assign walk_func = a_func;
    assign walk_queue = a_queue;
    assign walk_fetch = a_fetch;
    assign walk_active = (state != S_IDLE);
    assign busy = (state != S_IDLE);
    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++)
            func_quiesced[f] = !(busy && 32'(a_func) == f);
    end
    assign ctx_req_valid = (state == S_CTX_REQ);
    assign ctx_req_func = a_func;
    assign ctx_req_queue = a_queue;
    assign buf_rd_en = (state == S_RD);
    assign buf_rd_addr = ROW_W'(BASE_ROW) + ROW_W'(batch_i / 4);
    assign m_axis_rd_desc_tag = OP_TAG_W'(DMA_TAG);
    assign m_axis_rd_desc_func = a_func;
    assign m_axis_rd_desc_ram_addr = RAM_ADDR_W'(BUF_RAM_ADDR);

    // status tag: one read in flight, any status answers it
    wire unused_ok = &{1'b0, s_axis_rd_desc_status_tag, ctx_rsp_features[127:F_INDIRECT_DESC+1],
                        ctx_rsp_features[F_INDIRECT_DESC-1:0]};

    // position write-back of the walked queue
    logic        wb_en;
    logic [15:0] wb_slot;
    logic        wb_wrap;

    always_ff @(posedge clk) begin
        needs_reset_set <= '0;
        wb_en <= 1'b0;

        case (state)
        S_IDLE: begin
            a_abort <= 1'b0;
            if (take_fetch) begin
                last_fetch <= 1'b1;
                a_fetch <= 1'b1;
                a_func <= s_axis_fetch_func;
                a_queue <= s_axis_fetch_queue;
                a_idx <= f_idx;
                a_cursor <= s_axis_fetch_cursor;
                a_cslot <= s_axis_fetch_slot;
                a_cwrap <= s_axis_fetch_wrap;
                // an out-of-range fetch still gets its (none) answer
                head_slot <= s_axis_fetch_cursor ? s_axis_fetch_slot : 16'd0;
                head_wrap <= s_axis_fetch_cursor ? s_axis_fetch_wrap : 1'b1;
                none_err <= 1'b0;
                state <= f_idx_ok ? S_CTX_REQ : S_NONE;
            end else if (s_axis_notify_valid) begin
                last_fetch <= 1'b0;
                a_fetch <= 1'b0;
                a_func <= s_axis_notify_func;
                a_queue <= s_axis_notify_queue;
                a_idx <= n_idx;
                if (n_idx_ok) state <= S_CTX_REQ;
            end
        end
        S_CTX_REQ: state <= S_CTX_WAIT;
        S_CTX_WAIT: if (ctx_rsp_valid) begin
            q_size <= ctx_rsp_size;
            q_desc <= ctx_rsp_desc;
            q_indirect <= ctx_rsp_features[F_INDIRECT_DESC];
            cur_slot <= st_slot;
            cur_wrap <= st_wrap;
            head_slot <= st_slot;
            head_wrap <= st_wrap;
            cnt <= '0;
            seen_w <= 1'b0;
            emitted <= 1'b0;
            in_table <= 1'b0;
            // a stale context (size shrunk under it) / a cursor past the end is not walked either
            if (!ctx_rsp_enable || !ctx_rsp_live || ctx_rsp_size == 16'd0 || a_func_reset
                || st_slot >= ctx_rsp_size || a_abort)
                state <= a_fetch ? S_NONE : S_IDLE;
            else
                state <= S_FETCH;
        end
        S_FETCH: begin
            if (a_abort && cnt == 16'd0) begin
                state <= a_fetch ? S_NONE : S_IDLE;
            end else if (!m_axis_rd_desc_valid) begin
                m_axis_rd_desc_valid <= 1'b1;
                if (in_table) begin
                    m_axis_rd_desc_pcie_addr <= ind_addr;
                    if (ind_left < 28'(BATCH)) begin
                        m_axis_rd_desc_len <= LEN_W'({ind_left, 4'd0});
                        batch_n <= BI_W'(ind_left);
                    end else begin
                        m_axis_rd_desc_len <= LEN_W'(BATCH * 16);
                        batch_n <= BI_W'(BATCH);
                    end
                end else if (to_end < 16'(BATCH)) begin
                    m_axis_rd_desc_pcie_addr <= q_desc + {44'd0, cur_slot, 4'd0};
                    m_axis_rd_desc_len <= LEN_W'({to_end, 4'd0});
                    batch_n <= BI_W'(to_end);
                end else begin
                    m_axis_rd_desc_pcie_addr <= q_desc + {44'd0, cur_slot, 4'd0};
                    m_axis_rd_desc_len <= LEN_W'(BATCH * 16);
                    batch_n <= BI_W'(BATCH);
                end
                batch_i <= '0;
            end else if (m_axis_rd_desc_ready) begin
                m_axis_rd_desc_valid <= 1'b0;
                state <= S_DMA_WAIT;
            end
        end
        S_DMA_WAIT: if (s_axis_rd_desc_status_valid) begin
            state <= (s_axis_rd_desc_status_error != vio_pkg::DMA_OK) ? S_ERR : S_RD;
        end
        S_RD: state <= S_PARSE;
        S_PARSE: begin
            m_axis_seg_addr <= d_addr;
            m_axis_seg_len <= d_len;
            m_axis_seg_write <= d_flags[FL_WRITE];
            m_axis_seg_error <= 1'b0;
            if (in_table) begin
                // indirect table entry: NEXT ignored, consumed in sequence
                m_axis_seg_last <= (ind_left == 28'd1);
                if (d_flags[FL_INDIRECT]) begin
                    state <= S_ERR;                      // nested indirect
                end else if (seen_w && !d_flags[FL_WRITE]) begin
                    state <= S_ERR;                      // readable after writable
                end else begin
                    m_axis_seg_valid <= 1'b1;
                    seen_w <= seen_w || d_flags[FL_WRITE];
                    state <= S_SEG;
                end
            end else begin
                m_axis_seg_last <= !d_flags[FL_NEXT];
                m_axis_buf_id <= d_id;
                if (cnt == 16'd0 && (!d_avail || a_abort)) begin
                    state <= a_fetch ? S_NONE : S_IDLE;  // nothing (more) available
                end else if (!d_avail) begin
                    state <= S_ERR;                      // chain descriptor not available
                end else if (d_flags[FL_INDIRECT]) begin
                    if (!q_indirect || cnt != 16'd0 || d_flags[FL_NEXT]
                        || d_len == 32'd0 || d_len[3:0] != 4'd0) begin
                        state <= S_ERR;                  // indirect misuse / table length
                    end else begin
                        // one ring slot; the segments come from the table
                        in_table <= 1'b1;
                        ind_addr <= d_addr;
                        ind_left <= d_len[31:4];
                        cnt <= 16'd1;
                        cur_slot <= nxt_slot;
                        cur_wrap <= nxt_wrap;
                        state <= S_FETCH;
                    end
                end else if (seen_w && !d_flags[FL_WRITE]) begin
                    state <= S_ERR;                      // readable after writable
                end else if (d_flags[FL_NEXT] && cnt + 16'd1 >= q_size) begin
                    state <= S_ERR;                      // chain longer than the queue
                end else begin
                    m_axis_seg_valid <= 1'b1;
                    seen_w <= seen_w || d_flags[FL_WRITE];
                    state <= S_SEG;
                end
            end
        end
        S_SEG: if (m_axis_seg_ready) begin
            m_axis_seg_valid <= 1'b0;
            emitted <= 1'b1;
            batch_i <= batch_i + 1'b1;
            if (in_table) begin
                ind_addr <= ind_addr + 64'd16;
                ind_left <= ind_left - 28'd1;
            end else begin
                cnt <= cnt + 16'd1;
                cur_slot <= nxt_slot;
                cur_wrap <= nxt_wrap;
            end
            if (m_axis_seg_last) begin
                m_axis_buf_valid <= 1'b1;
                m_axis_buf_func <= a_func;
                m_axis_buf_queue <= a_queue;
                m_axis_buf_slot_first <= head_slot;
                m_axis_buf_wrap_first <= head_wrap;
                m_axis_buf_num_desc <= in_table ? 16'd1 : cnt + 16'd1;
                m_axis_buf_indirect <= in_table;
                m_axis_buf_error <= 1'b0;
                m_axis_buf_fetch <= a_fetch;
                m_axis_buf_none <= 1'b0;
                // the indirect slot was passed when its descriptor was parsed
                m_axis_buf_slot_next <= in_table ? cur_slot : nxt_slot;
                m_axis_buf_wrap_next <= in_table ? cur_wrap : nxt_wrap;
                state <= S_BUF;
            end else if (32'(batch_i) + 1 >= 32'(batch_n)) begin
                state <= S_FETCH;
            end else begin
                state <= S_RD;
            end
        end
        S_BUF: if (m_axis_buf_ready) begin
            m_axis_buf_valid <= 1'b0;
            wb_en <= !a_abort && !a_fetch;
            wb_slot <= cur_slot;
            wb_wrap <= cur_wrap;
            head_slot <= cur_slot;
            head_wrap <= cur_wrap;
            cnt <= '0;
            seen_w <= 1'b0;
            emitted <= 1'b0;
            in_table <= 1'b0;
            // after a table batch_i = batch_n too: the ring is fetched again
            if (a_fetch)
                state <= S_IDLE;                         // a fetch takes one buffer
            else
                state <= (batch_i >= batch_n) ? S_FETCH : S_RD;
        end
        S_ERR: begin
            needs_reset_set[a_func[FN_W-1:0]] <= 1'b1;
            if (emitted) begin
                m_axis_seg_valid <= 1'b1;
                m_axis_seg_addr <= '0;
                m_axis_seg_len <= '0;
                m_axis_seg_write <= 1'b0;
                m_axis_seg_error <= 1'b1;
                m_axis_seg_last <= 1'b1;
                state <= S_ERR_SEG;
            end else if (a_fetch) begin
                none_err <= 1'b1;                        // a fetch is always answered
                state <= S_NONE;
            end else begin
                state <= S_IDLE;
            end
        end
        S_ERR_SEG: if (m_axis_seg_ready) begin
            m_axis_seg_valid <= 1'b0;
            m_axis_buf_valid <= 1'b1;
            m_axis_buf_func <= a_func;
            m_axis_buf_queue <= a_queue;
            m_axis_buf_slot_first <= head_slot;
            m_axis_buf_wrap_first <= head_wrap;
            m_axis_buf_num_desc <= cnt;
            m_axis_buf_indirect <= in_table;
            m_axis_buf_error <= 1'b1;
            m_axis_buf_fetch <= a_fetch;
            m_axis_buf_none <= 1'b0;
            m_axis_buf_slot_next <= head_slot;
            m_axis_buf_wrap_next <= head_wrap;
            state <= S_ERR_BUF;
        end
        S_NONE: begin
            // fetch answer without a buffer (none_err: malformed / DMA error)
            m_axis_buf_valid <= 1'b1;
            m_axis_buf_func <= a_func;
            m_axis_buf_queue <= a_queue;
            m_axis_buf_id <= '0;
            m_axis_buf_slot_first <= head_slot;
            m_axis_buf_wrap_first <= head_wrap;
            m_axis_buf_num_desc <= '0;
            m_axis_buf_indirect <= 1'b0;
            m_axis_buf_error <= none_err;
            m_axis_buf_fetch <= 1'b1;
            m_axis_buf_none <= 1'b1;
            m_axis_buf_slot_next <= head_slot;
            m_axis_buf_wrap_next <= head_wrap;
            state <= S_ERR_BUF;
        end
        S_ERR_BUF: if (m_axis_buf_ready) begin
            // the final record of a walk (error record, fetch none answer)
            m_axis_buf_valid <= 1'b0;
            state <= S_IDLE;
        end
        default: state <= S_IDLE;
        endcase

        // a reset of the walked queue: finish the buffer, do not write back
        if (state != S_IDLE && ((queue_reset_valid && r_idx_ok && r_idx == a_idx) || a_func_reset))
            a_abort <= 1'b1;
        // a commit of the queue a notification walks: the commit wins (no write-back)
        if (state != S_IDLE && !a_fetch && c_ok && c_idx == a_idx)
            a_abort <= 1'b1;

        if (rst) begin
            state <= S_IDLE;
            a_abort <= 1'b0;
            a_fetch <= 1'b0;
            last_fetch <= 1'b0;
            m_axis_rd_desc_valid <= 1'b0;
            m_axis_seg_valid <= 1'b0;
            m_axis_buf_valid <= 1'b0;
            needs_reset_set <= '0;
            wb_en <= 1'b0;
        end
    end

    // contexts: write-back, then commits, then resets (resets win)
    always_ff @(posedge clk) begin
        if (wb_en && !a_abort) begin
            ctx_slot[a_idx] <= wb_slot;
            ctx_wrap[a_idx] <= wb_wrap;
        end
        if (c_ok) begin
            ctx_slot[c_idx] <= s_commit_slot;
            ctx_wrap[c_idx] <= s_commit_wrap;
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
