// SPDX-License-Identifier: Apache-2.0
//
// virtio-net control-virtqueue engine (DESIGN.md decision 4, virtio.md §6.4):
// fetches the bytes of each control buffer vio_pring_avail hands over, gives
// them to the firmware through a mailbox (the management register block
// wires mb_* to CTRLQ_STATUS / CTRLQ_DONE / CTRLQ_RSP / CTRLQ_TIMEOUT /
// CMD_DATA / RSP_DATA / IRQ_STATUS.CTRLQ), writes the firmware's answer back
// and produces the used record. A request is readable {u8 class; u8 command;
// u8 data[]}, writable {u8 ack; u8 result[]}; what the command means is the
// firmware's business (pymodel.net_ctrl.NetCtrl), this block only moves bytes.
//
// SHORTCUT: one command at a time, start to finish.
//
// Per buffer:
//   1. segments (s_axis_seg_*) go into a table of MAX_SEGS entries (flops),
//      with the readable / writable byte counts summed; then the record
//      (s_axis_buf_*) is taken (a record without a preceding last segment is
//      taken too: never a hang).
//   2. a record with error set, a segment with error set, or a function
//      number >= NUM_FUNC: the buffer is dropped silently (the ring engine
//      already raised needs_reset). Otherwise (func, queue) is looked up on
//      ctx_req/ctx_rsp (one cycle): not live, or func_reset[f]: dropped
//      silently. More than MAX_SEGS segments (pymodel max_chain), fewer than
//      2 readable bytes or no writable byte (pymodel NetCtrl.process framing,
//      QEMU "ctrl missing headers"): one needs_reset_set[f] pulse, dropped
//      (no DMA, no mailbox, no used record).
//   3. the first cmd_n = min(readable, MB_WORDS*4) readable bytes are
//      gathered with DMA reads (m_axis_rd_desc_*, one piece per non-empty
//      readable segment touched, in readable order; zero-length segments
//      contribute nothing) into the read-RAM region at RD_RAM_ADDR, read back
//      row by row on buf_rd_* and placed in mb_cmd_data (byte k at bits
//      8k+7:8k; bytes >= cmd_n read 0).
//   4. the command is presented: mb_valid rises with mb_func / mb_queue /
//      mb_cmd_len (readable bytes, saturating at 65535) / mb_rsp_room
//      (writable bytes, saturating at 65535) / mb_cmd_data, and mb_cmd_irq
//      pulses for one cycle. A readable part longer than the mailbox is NOT
//      an error here: mb_cmd_len carries the true length, only the first
//      MB_WORDS*4 bytes are in mb_cmd_data, and the firmware decides (it sees
//      mb_cmd_len > MB_WORDS*4; it typically answers ERR for a command it
//      cannot see whole). mb_valid and the mb_* outputs stay put until the
//      command ends (mb_done, timeout or func_reset).
//   5. the firmware answers with a one-cycle mb_done pulse, mb_rsp_len =
//      bytes of ack + result in mb_rsp_data (ack = byte 0). mb_done is only
//      looked at while mb_valid is high; it drops mb_valid the next cycle.
//      rsp_n = min(mb_rsp_len, writable, MB_WORDS*4) bytes are copied from
//      mb_rsp_data into the write-RAM region at WR_RAM_ADDR in the cycles
//      right after mb_done (the firmware keeps RSP_DATA unchanged until it
//      sees the next command) and written with DMA writes to the FIRST
//      rsp_n writable bytes (ack at writable offset 0; one piece per
//      non-empty writable segment touched). mb_done with mb_rsp_len 0 writes
//      nothing and the used len is 0 (the firmware chose to answer nothing;
//      the driver then reads whatever its ack byte held).
//   6. timeout: if mb_timeout_us != 0 (looked at every cycle while mb_valid
//      is high, counted from mb_valid rising) and no mb_done arrived in the
//      first mb_timeout_us * US_CYCLES cycles of mb_valid being high, the
//      engine answers itself: at the end of the next cycle mb_valid falls and
//      mb_timeout_irq pulses for one cycle; ack = VIRTIO_NET_ERR (one byte,
//      value 1) is written to writable offset 0, used len 1. Priority in one
//      cycle: func_reset[f], then mb_done, then the timeout. A late mb_done
//      (mb_valid low) is ignored. The mailbox carries no sequence number: a firmware that
//      answers a timed-out command after the NEXT command was presented
//      answers that next command (the firmware must check CTRLQ_STATUS).
//   7. used record: id, func, queue, num_desc of the record; len = rsp_n
//      (0..MB_WORDS*4; 1 after a timeout).
//
// Errors while a command runs (never a hang, no DMA outside the buffer's
// segments and never beyond readable byte cmd_n / writable byte rsp_n):
//   * DMA read error (gather) / DMA write error (answer): one
//     needs_reset_set[f] pulse (none while func_reset[f]); no further DMA,
//     no mailbox (read error), no used record; the DMA already issued is
//     waited for.
//   * func_reset[f] while a command of f runs: same, silently: mb_valid
//     falls (a later mb_done is ignored), nothing more is written, no used
//     record (one already presented on m_axis_used stays valid until taken);
//     DMA in flight finishes.
// Statuses on the DMA status ports are all taken as this block's (the top
// routes them by tag).
// func_quiesced[f] is low from the record handshake of a command of f until
// it is finished; busy is high from the first segment of a buffer.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_net_ctrlq #(
    parameter int NUM_FUNC      = 2,       // functions
    parameter int MAX_SEGS      = 64,      // segments one command may have (1..256); more -> needs_reset
    parameter int RAM_ADDR_W    = 18,      // buffer RAM byte address width
    parameter int RD_RAM_ADDR   = 4096,    // read-RAM region: MB_WORDS*4 bytes rounded up to rows (64-aligned)
    parameter int WR_RAM_ADDR   = 4096,    // write-RAM region: MB_WORDS*4 bytes rounded up to rows (64-aligned)
    parameter int LEN_W         = 16,      // DMA descriptor length width
    parameter int OP_TAG_W      = 8,       // DMA descriptor tag width
    parameter int RD_DMA_TAG    = 0,       // tag on the DMA read descriptor port
    parameter int WR_DMA_TAG    = 0,       // tag on the DMA write descriptor port
    parameter int MB_WORDS      = 64,      // mailbox size in 32-bit words (command and response, each; 1..4096)
    parameter int US_CYCLES     = 250      // clock cycles per microsecond (timeout counting)
) (
    input  wire logic                        clk,
    input  wire logic                        rst,

    // buffers from vio_pring_avail (segments first, then the record)
    input  wire logic                        s_axis_seg_valid,
    output logic                             s_axis_seg_ready,
    input  wire logic [63:0]                 s_axis_seg_addr,
    input  wire logic [31:0]                 s_axis_seg_len,
    input  wire logic                        s_axis_seg_write,
    input  wire logic                        s_axis_seg_error,
    input  wire logic                        s_axis_seg_last,
    input  wire logic                        s_axis_buf_valid,
    output logic                             s_axis_buf_ready,
    input  wire logic [7:0]                  s_axis_buf_func,
    input  wire logic [15:0]                 s_axis_buf_queue,
    input  wire logic [15:0]                 s_axis_buf_id,
    input  wire logic [15:0]                 s_axis_buf_slot_first,
    input  wire logic                        s_axis_buf_wrap_first,
    input  wire logic [15:0]                 s_axis_buf_num_desc,
    input  wire logic                        s_axis_buf_indirect,
    input  wire logic                        s_axis_buf_error,

    // function state (vio_virtio_regs ctx port, one cycle latency)
    output logic                             ctx_req_valid,
    output logic      [7:0]                  ctx_req_func,
    output logic      [15:0]                 ctx_req_queue,
    input  wire logic                        ctx_rsp_valid,
    input  wire logic                        ctx_rsp_live,
    input  wire logic [127:0]                ctx_rsp_features,     // negotiated (not used: firmware's business)
    input  wire logic [NUM_FUNC-1:0]         func_reset,           // level

    // DMA read descriptors (vio_dma_rd)
    output logic                             m_axis_rd_desc_valid,
    input  wire logic                        m_axis_rd_desc_ready,
    output logic      [7:0]                  m_axis_rd_desc_func,
    output logic      [63:0]                 m_axis_rd_desc_pcie_addr,
    output logic      [RAM_ADDR_W-1:0]       m_axis_rd_desc_ram_addr,
    output logic      [LEN_W-1:0]            m_axis_rd_desc_len,
    output logic      [OP_TAG_W-1:0]         m_axis_rd_desc_tag,
    input  wire logic                        s_axis_rd_desc_status_valid,
    input  wire logic [OP_TAG_W-1:0]         s_axis_rd_desc_status_tag,
    input  wire logic [3:0]                  s_axis_rd_desc_status_error,

    // DMA write descriptors (vio_dma_wr)
    output logic                             m_axis_wr_desc_valid,
    input  wire logic                        m_axis_wr_desc_ready,
    output logic      [7:0]                  m_axis_wr_desc_func,
    output logic      [63:0]                 m_axis_wr_desc_pcie_addr,
    output logic      [RAM_ADDR_W-1:0]       m_axis_wr_desc_ram_addr,
    output logic      [LEN_W-1:0]            m_axis_wr_desc_len,
    output logic      [OP_TAG_W-1:0]         m_axis_wr_desc_tag,
    input  wire logic                        s_axis_wr_desc_status_valid,
    input  wire logic [OP_TAG_W-1:0]         s_axis_wr_desc_status_tag,
    input  wire logic [3:0]                  s_axis_wr_desc_status_error,

    // read buffer RAM read port (row numbers, data one cycle after en)
    output logic                             buf_rd_en,
    output logic      [RAM_ADDR_W-7:0]       buf_rd_addr,
    input  wire logic [511:0]                buf_rd_data,

    // write buffer RAM write port (row numbers, byte enables)
    output logic                             buf_wr_en,
    output logic      [RAM_ADDR_W-7:0]       buf_wr_addr,
    output logic      [63:0]                 buf_wr_be,
    output logic      [511:0]                buf_wr_data,

    // mailbox (management register block)
    output logic                             mb_valid,        // a command waits for the firmware
    output logic      [7:0]                  mb_func,
    output logic      [15:0]                 mb_queue,
    output logic      [15:0]                 mb_cmd_len,      // readable bytes (saturating at 65535)
    output logic      [15:0]                 mb_rsp_room,     // writable bytes (saturating)
    output logic      [MB_WORDS*32-1:0]      mb_cmd_data,     // first MB_WORDS*4 readable bytes, rest 0
    output logic                             mb_cmd_irq,      // pulse: a command was placed
    output logic                             mb_timeout_irq,  // pulse: the firmware did not answer in time
    input  wire logic                        mb_done,         // pulse: the firmware answered
    input  wire logic [15:0]                 mb_rsp_len,      // bytes of ack + result in mb_rsp_data
    input  wire logic [MB_WORDS*32-1:0]      mb_rsp_data,
    input  wire logic [31:0]                 mb_timeout_us,   // 0 = never time out

    // used records (vio_pring_used s_axis_used_*)
    output logic                             m_axis_used_valid,
    input  wire logic                        m_axis_used_ready,
    output logic      [7:0]                  m_axis_used_func,
    output logic      [15:0]                 m_axis_used_queue,
    output logic      [15:0]                 m_axis_used_id,
    output logic      [31:0]                 m_axis_used_len,
    output logic      [15:0]                 m_axis_used_num_desc,

    // status
    output logic      [NUM_FUNC-1:0]         needs_reset_set,      // pulse
    output logic      [NUM_FUNC-1:0]         func_quiesced,        // level
    output logic                             busy
);

    // ------------------------------------------------------------------
    // parameters
    // ------------------------------------------------------------------

    localparam int FI_W     = NUM_FUNC > 1 ? $clog2(NUM_FUNC) : 1;
    localparam int SI_W     = $clog2(MAX_SEGS + 1);
    localparam int ROW_W    = RAM_ADDR_W - 6;
    localparam int MB_BYTES = MB_WORDS * 4;
    localparam int MB_ROWS  = (MB_BYTES + 63) / 64;
    localparam int MR_W     = $clog2(MB_ROWS + 1);
    localparam int RD_ROW   = RD_RAM_ADDR / 64;
    localparam int WR_ROW   = WR_RAM_ADDR / 64;
    localparam int USC_W    = US_CYCLES > 1 ? $clog2(US_CYCLES) : 1;

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_net_ctrlq: NUM_FUNC must be 1..256");
        if (MAX_SEGS < 1 || MAX_SEGS > 256) $fatal(1, "vio_net_ctrlq: MAX_SEGS must be 1..256");
        if (MB_WORDS < 1 || MB_WORDS > 4096) $fatal(1, "vio_net_ctrlq: MB_WORDS must be 1..4096");
        if (US_CYCLES < 1 || US_CYCLES > 65536) $fatal(1, "vio_net_ctrlq: US_CYCLES must be 1..65536");
        if (RD_RAM_ADDR % 64 != 0 || WR_RAM_ADDR % 64 != 0)
            $fatal(1, "vio_net_ctrlq: RD_RAM_ADDR / WR_RAM_ADDR must be 64-aligned");
        if (RAM_ADDR_W < 7 || RAM_ADDR_W > 32 || RD_RAM_ADDR < 0 || WR_RAM_ADDR < 0
            || 64'(RD_RAM_ADDR) + 64 * 64'(MB_ROWS) > (64'd1 << RAM_ADDR_W)
            || 64'(WR_RAM_ADDR) + 64 * 64'(MB_ROWS) > (64'd1 << RAM_ADDR_W))
            $fatal(1, "vio_net_ctrlq: RAM region outside the buffer RAM");
        if (LEN_W < 1 || LEN_W > 32 || 64'(MB_BYTES) > (64'd1 << LEN_W) - 1)
            $fatal(1, "vio_net_ctrlq: LEN_W too small for MB_WORDS*4");
        if (OP_TAG_W < 1 || OP_TAG_W > 32 || RD_DMA_TAG < 0 || 64'(RD_DMA_TAG) >= (64'd1 << OP_TAG_W)
            || WR_DMA_TAG < 0 || 64'(WR_DMA_TAG) >= (64'd1 << OP_TAG_W))
            $fatal(1, "vio_net_ctrlq: RD_DMA_TAG / WR_DMA_TAG do not fit OP_TAG_W");
    end

    localparam logic [7:0] ACK_ERR = 8'd1;    // VIRTIO_NET_ERR

    // ------------------------------------------------------------------
    // state
    // ------------------------------------------------------------------

    typedef enum logic [3:0] {
        S_IDLE,       // collecting segments
        S_REC,        // last segment seen, waiting for the record
        S_CTX_REQ, S_CTX_WAIT,
        S_CHECK,      // framing checks, start of the gather
        S_MOVE,       // DMA mover over the segments of one direction
        S_DRAIN,      // wait for every DMA status
        S_CMD_RD, S_CMD_CAP,   // read-RAM rows -> command words
        S_WAIT,       // mailbox presented, waiting for the firmware
        S_RSP_WR,     // response words -> write-RAM rows
        S_USED,
        S_FINISH
    } state_t;

    state_t state;
    logic   mv_kind;        // 0 gather readable, 1 scatter writable (also the return point)

    // segment table
    logic [63:0] seg_addr [MAX_SEGS];
    logic [31:0] seg_len  [MAX_SEGS];
    logic        seg_wr   [MAX_SEGS];
    logic [SI_W-1:0] n_segs;
    logic        seg_ovf;
    logic        seg_err;
    logic        seg_any;        // a segment of the buffer was taken
    logic [63:0] rd_bytes;
    logic [63:0] wr_bytes;

    // the record
    logic [7:0]  r_func;
    logic [15:0] r_queue;
    logic [15:0] r_id;
    logic [15:0] r_num_desc;
    logic        r_active;       // a command of r_func is in this block
    wire [FI_W-1:0] fidx = r_func[FI_W-1:0];

    // command
    logic        live;
    logic [31:0] cmd_n;          // bytes gathered = min(readable, MB_BYTES)
    logic [31:0] rsp_n;          // bytes written back = used len
    logic [MR_W-1:0] row_i;      // RAM row being moved
    logic [MR_W-1:0] n_rows;     // rows to move
    logic [MB_ROWS*512-1:0] cmd_buf;
    logic        fail;           // DMA error seen
    logic        abort;          // func_reset seen
    wire         dead = fail || abort;

    // timeout
    logic [USC_W-1:0] us_cyc;
    logic [31:0] us_cnt;         // whole microseconds mb_valid has been high (saturating)

    // mover: cursor over the segments of one direction
    logic [31:0]     mv_left;
    logic [RAM_ADDR_W-1:0] mv_ram;
    logic [31:0]     mv_piece;
    logic [SI_W-1:0] cur_i;
    logic [31:0]     cur_off;
    logic [15:0]     rd_out;     // DMA reads in flight
    logic [15:0]     wr_out;     // DMA writes in flight

    // ------------------------------------------------------------------
    // combinational helpers
    // ------------------------------------------------------------------

    // the segment under the cursor
    logic        c_valid;
    logic [63:0] c_addr;
    logic [31:0] c_len;
    logic        c_wr;
    logic [31:0] c_rest;
    logic [31:0] c_piece;

    always_comb begin
        c_valid = 32'(cur_i) < 32'(n_segs);
        c_addr = '0;
        c_len = '0;
        c_wr = 1'b0;
        for (int i = 0; i < MAX_SEGS; i++) begin
            if (32'(cur_i) == i) begin
                c_addr = seg_addr[i];
                c_len = seg_len[i];
                c_wr = seg_wr[i];
            end
        end
        c_rest = c_len - cur_off;
        c_piece = (c_rest < mv_left) ? c_rest : mv_left;
    end

    function automatic logic [15:0] sat16(input logic [63:0] v);
        return (v > 64'd65535) ? 16'hFFFF : v[15:0];
    endfunction

    // byte mask of read-RAM row row_i: bytes below cmd_n
    logic [63:0] cap_mask;
    always_comb begin
        for (int b = 0; b < 64; b++)
            cap_mask[b] = (32'(row_i) * 64 + b) < cmd_n;
    end
    logic [511:0] cap_data;
    always_comb begin
        for (int b = 0; b < 64; b++)
            cap_data[8 * b +: 8] = cap_mask[b] ? buf_rd_data[8 * b +: 8] : 8'd0;
    end

    // response words padded to whole rows; byte enables of write-RAM row row_i
    wire [MB_ROWS*512-1:0] rsp_pad = (MB_ROWS * 512)'(mb_rsp_data);
    logic [63:0] rsp_be;
    always_comb begin
        for (int b = 0; b < 64; b++)
            rsp_be[b] = (32'(row_i) * 64 + b) < MB_BYTES;
    end

    // rsp_n for an mb_done now: min(mb_rsp_len, writable, MB_BYTES)
    logic [31:0] done_n;
    always_comb begin
        done_n = 32'(mb_rsp_len);
        if (64'(done_n) > wr_bytes) done_n = wr_bytes[31:0];
        if (done_n > 32'(MB_BYTES)) done_n = 32'(MB_BYTES);
    end

    wire        timed_out = mb_timeout_us != 32'd0 && us_cnt >= mb_timeout_us;
    wire        f_reset_now = func_reset[fidx];
    wire        rd_hs = m_axis_rd_desc_valid && m_axis_rd_desc_ready;
    wire        wr_hs = m_axis_wr_desc_valid && m_axis_wr_desc_ready;

    assign s_axis_seg_ready = (state == S_IDLE);
    assign s_axis_buf_ready = (state == S_REC);
    assign ctx_req_valid = (state == S_CTX_REQ);
    assign ctx_req_func = r_func;
    assign ctx_req_queue = r_queue;
    assign m_axis_rd_desc_func = r_func;
    assign m_axis_wr_desc_func = r_func;
    assign m_axis_rd_desc_tag = OP_TAG_W'(RD_DMA_TAG);
    assign m_axis_wr_desc_tag = OP_TAG_W'(WR_DMA_TAG);
    assign buf_rd_en = (state == S_CMD_RD);
    assign buf_rd_addr = ROW_W'(RD_ROW) + ROW_W'(row_i);
    assign mb_func = r_func;
    assign mb_queue = r_queue;
    assign mb_cmd_data = cmd_buf[MB_WORDS*32-1:0];
    assign m_axis_used_func = r_func;
    assign m_axis_used_queue = r_queue;
    assign m_axis_used_id = r_id;
    assign m_axis_used_num_desc = r_num_desc;
    assign m_axis_used_len = rsp_n;
    assign busy = !(state == S_IDLE && !seg_any);
    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++)
            func_quiesced[f] = !(r_active && 32'(r_func) == f);
    end

    wire unused_ok = &{1'b0, s_axis_buf_slot_first, s_axis_buf_wrap_first, s_axis_buf_indirect,
                       s_axis_rd_desc_status_tag, s_axis_wr_desc_status_tag, ctx_rsp_features};
    if (MB_ROWS * 512 > MB_WORDS * 32) begin : g_pad
        // command bytes past the mailbox in the last row (always 0)
        wire unused_pad = &{1'b0, cmd_buf[MB_ROWS*512-1:MB_WORDS*32]};
    end

    // ------------------------------------------------------------------
    // main FSM
    // ------------------------------------------------------------------

    always_ff @(posedge clk) begin
        needs_reset_set <= '0;
        buf_wr_en <= 1'b0;
        mb_cmd_irq <= 1'b0;
        mb_timeout_irq <= 1'b0;

        // DMA statuses: counters and errors
        rd_out <= rd_out + 16'(rd_hs) - 16'(s_axis_rd_desc_status_valid);
        wr_out <= wr_out + 16'(wr_hs) - 16'(s_axis_wr_desc_status_valid);
        if ((s_axis_rd_desc_status_valid && s_axis_rd_desc_status_error != vio_pkg::DMA_OK)
            || (s_axis_wr_desc_status_valid && s_axis_wr_desc_status_error != vio_pkg::DMA_OK)) begin
            if (!fail && !abort && !f_reset_now)
                needs_reset_set[fidx] <= 1'b1;
            fail <= 1'b1;
        end
        if (r_active && f_reset_now)
            abort <= 1'b1;

        case (state)
        S_IDLE: begin
            if (s_axis_seg_valid) begin
                seg_any <= 1'b1;
                if (32'(n_segs) < MAX_SEGS) begin
                    for (int i = 0; i < MAX_SEGS; i++) begin
                        if (32'(n_segs) == i) begin
                            seg_addr[i] <= s_axis_seg_addr;
                            seg_len[i] <= s_axis_seg_len;
                            seg_wr[i] <= s_axis_seg_write;
                        end
                    end
                    n_segs <= n_segs + 1'b1;
                end else begin
                    seg_ovf <= 1'b1;
                end
                seg_err <= seg_err || s_axis_seg_error;
                if (s_axis_seg_write) wr_bytes <= wr_bytes + 64'(s_axis_seg_len);
                else                  rd_bytes <= rd_bytes + 64'(s_axis_seg_len);
                if (s_axis_seg_last) state <= S_REC;
            end else if (s_axis_buf_valid) begin
                // a record without a last segment: take it (never a hang)
                state <= S_REC;
            end
        end
        S_REC: if (s_axis_buf_valid) begin
            r_func <= s_axis_buf_func;
            r_queue <= s_axis_buf_queue;
            r_id <= s_axis_buf_id;
            r_num_desc <= s_axis_buf_num_desc;
            fail <= 1'b0;
            abort <= 1'b0;
            if (s_axis_buf_error || seg_err || 32'(s_axis_buf_func) >= NUM_FUNC) begin
                state <= S_FINISH;        // broken buffer: dropped silently
            end else begin
                r_active <= 1'b1;
                state <= S_CTX_REQ;
            end
        end
        S_CTX_REQ: state <= S_CTX_WAIT;
        S_CTX_WAIT: if (ctx_rsp_valid) begin
            live <= ctx_rsp_live;
            state <= S_CHECK;
        end
        S_CHECK: begin
            if (!live || f_reset_now || abort) begin
                state <= S_FINISH;
            end else if (seg_ovf || rd_bytes < 64'd2 || wr_bytes == 64'd0) begin
                needs_reset_set[fidx] <= 1'b1;
                state <= S_FINISH;
            end else begin
                cmd_n <= (rd_bytes < 64'(MB_BYTES)) ? rd_bytes[31:0] : 32'(MB_BYTES);
                cmd_buf <= '0;
                cur_i <= '0;
                cur_off <= '0;
                mv_kind <= 1'b0;
                mv_left <= (rd_bytes < 64'(MB_BYTES)) ? rd_bytes[31:0] : 32'(MB_BYTES);
                mv_ram <= RAM_ADDR_W'(RD_RAM_ADDR);
                state <= S_MOVE;
            end
        end

        // -- mover --------------------------------------------------------
        S_MOVE: begin
            if (m_axis_rd_desc_valid || m_axis_wr_desc_valid) begin
                if (rd_hs || wr_hs) begin
                    m_axis_rd_desc_valid <= 1'b0;
                    m_axis_wr_desc_valid <= 1'b0;
                    cur_off <= cur_off + mv_piece;
                    mv_left <= mv_left - mv_piece;
                    mv_ram <= mv_ram + RAM_ADDR_W'(mv_piece);
                end
            end else if (mv_left == 32'd0 || dead || !c_valid) begin
                state <= S_DRAIN;
            end else if (c_wr != mv_kind || cur_off == c_len) begin
                cur_i <= cur_i + 1'b1;
                cur_off <= '0;
            end else begin
                // mv_left <= MB_BYTES, so the piece fits LEN_W
                mv_piece <= c_piece;
                if (mv_kind) begin
                    m_axis_wr_desc_valid <= 1'b1;
                    m_axis_wr_desc_pcie_addr <= c_addr + 64'(cur_off);
                    m_axis_wr_desc_ram_addr <= mv_ram;
                    m_axis_wr_desc_len <= LEN_W'(c_piece);
                end else begin
                    m_axis_rd_desc_valid <= 1'b1;
                    m_axis_rd_desc_pcie_addr <= c_addr + 64'(cur_off);
                    m_axis_rd_desc_ram_addr <= mv_ram;
                    m_axis_rd_desc_len <= LEN_W'(c_piece);
                end
            end
        end
        S_DRAIN: if (rd_out == 16'd0 && wr_out == 16'd0 && !s_axis_rd_desc_status_valid
                     && !s_axis_wr_desc_status_valid) begin
            if (dead) begin
                state <= S_FINISH;
            end else if (!mv_kind) begin
                row_i <= '0;
                n_rows <= MR_W'((cmd_n + 32'd63) >> 6);
                state <= S_CMD_RD;
            end else begin
                state <= S_USED;
            end
        end

        // -- command words --------------------------------------------------
        S_CMD_RD: state <= S_CMD_CAP;
        S_CMD_CAP: begin
            cmd_buf[512 * 32'(row_i) +: 512] <= cap_data;
            if (row_i + 1'b1 == n_rows) begin
                if (dead) begin
                    state <= S_FINISH;
                end else begin
                    mb_valid <= 1'b1;
                    mb_cmd_irq <= 1'b1;
                    mb_cmd_len <= sat16(rd_bytes);
                    mb_rsp_room <= sat16(wr_bytes);
                    us_cyc <= '0;
                    us_cnt <= '0;
                    state <= S_WAIT;
                end
            end else begin
                row_i <= row_i + 1'b1;
                state <= S_CMD_RD;
            end
        end

        // -- mailbox ----------------------------------------------------------
        S_WAIT: begin
            if (32'(us_cyc) == US_CYCLES - 1) begin
                us_cyc <= '0;
                if (us_cnt != 32'hFFFF_FFFF) us_cnt <= us_cnt + 32'd1;
            end else begin
                us_cyc <= us_cyc + 1'b1;
            end
            cur_i <= '0;
            cur_off <= '0;
            mv_kind <= 1'b1;
            mv_ram <= RAM_ADDR_W'(WR_RAM_ADDR);
            row_i <= '0;
            if (abort || f_reset_now) begin
                mb_valid <= 1'b0;
                state <= S_FINISH;
            end else if (mb_done) begin
                mb_valid <= 1'b0;
                rsp_n <= done_n;
                mv_left <= done_n;
                n_rows <= MR_W'((done_n + 32'd63) >> 6);
                state <= (done_n == 32'd0) ? S_USED : S_RSP_WR;
            end else if (timed_out) begin
                mb_valid <= 1'b0;
                mb_timeout_irq <= 1'b1;
                buf_wr_en <= 1'b1;
                buf_wr_addr <= ROW_W'(WR_ROW);
                buf_wr_be <= 64'd1;
                buf_wr_data <= {504'd0, ACK_ERR};
                rsp_n <= 32'd1;
                mv_left <= 32'd1;
                state <= S_MOVE;
            end
        end
        S_RSP_WR: begin
            buf_wr_en <= 1'b1;
            buf_wr_addr <= ROW_W'(WR_ROW) + ROW_W'(row_i);
            buf_wr_be <= rsp_be;
            buf_wr_data <= rsp_pad[512 * 32'(row_i) +: 512];
            row_i <= row_i + 1'b1;
            if (row_i + 1'b1 == n_rows) state <= S_MOVE;
        end

        // -- used record ------------------------------------------------------
        S_USED: begin
            if (!m_axis_used_valid) begin
                if (dead) state <= S_FINISH;
                else m_axis_used_valid <= 1'b1;
            end else if (m_axis_used_ready) begin
                m_axis_used_valid <= 1'b0;
                state <= S_FINISH;
            end
        end
        S_FINISH: begin
            r_active <= 1'b0;
            n_segs <= '0;
            seg_ovf <= 1'b0;
            seg_err <= 1'b0;
            seg_any <= 1'b0;
            rd_bytes <= '0;
            wr_bytes <= '0;
            state <= S_IDLE;
        end
        default: state <= S_FINISH;
        endcase

        if (rst) begin
            state <= S_FINISH;
            r_active <= 1'b0;
            fail <= 1'b0;
            abort <= 1'b0;
            rd_out <= '0;
            wr_out <= '0;
            needs_reset_set <= '0;
            buf_wr_en <= 1'b0;
            mb_valid <= 1'b0;
            mb_cmd_irq <= 1'b0;
            mb_timeout_irq <= 1'b0;
            m_axis_rd_desc_valid <= 1'b0;
            m_axis_wr_desc_valid <= 1'b0;
            m_axis_used_valid <= 1'b0;
        end
    end

endmodule

`resetall
