// SPDX-License-Identifier: Apache-2.0
//
// virtio-net transmit engine (virtio.md §6.1-§6.3): takes the TX buffers
// vio_pring_avail hands over, puts their frames on the wire port
// (m_axis_tx) and produces their used records. Outcomes are exactly
// pymodel.net.extract_tx with max_frame = MAX_FRAME: the virtio_net_hdr is
// readable bytes 0..hdr-1 (hdr = 12/20/24/32 by the negotiated features,
// pymodel net_hdr_size; it may span segments), the frame is the readable
// bytes after it (it may share a segment with the header).
//
// SHORTCUT: one packet at a time, store and forward: the whole frame is in
// the buffer RAM before its first beat goes out; the checksum pass and the
// stream each read the RAM once.
//
// Per buffer:
//   1. segments (s_axis_seg_*) go into a table of MAX_SEGS entries (flops),
//      readable bytes summed, writable segments noted; then the record
//      (s_axis_buf_*) is taken (a record without a preceding last segment is
//      taken too: never a hang).
//   2. a record with error set, a segment with error set, or a function
//      number >= NUM_FUNC: the buffer is dropped silently (the ring engine
//      already raised needs_reset). Otherwise (func, queue) is looked up on
//      ctx_req/ctx_rsp (one cycle): not live, or func_reset[f]: dropped
//      silently. More than MAX_SEGS segments (pymodel max_chain), any
//      writable segment (even of length 0), or fewer than hdr readable bytes:
//      one needs_reset_set[f] pulse, dropped (no DMA, no frame, no used
//      record).
//   3. the header is gathered with DMA reads (m_axis_rd_desc_*, one piece per
//      segment touched, zero-length segments skipped) into the 64-byte header
//      row at RD_RAM_ADDR and read back on buf_rd_*.
//   4. the decision, in pymodel's order (L = readable - hdr):
//        gso_type != 0                         -> needs_reset (as 2.)
//        NEEDS_CSUM (flags bit 0) without CSUM
//        (feature bit 0) negotiated            -> needs_reset (as 2.)
//        NEEDS_CSUM and csum_start > L or
//        csum_start + csum_offset + 2 > L      -> dropped
//        L == 0                                -> dropped
//        L > MAX_FRAME                         -> dropped (nothing of the
//                                                 frame is fetched)
//      Other flags and header fields are ignored. A dropped packet adds one
//      to stat_tx_drop_count and is used with len 0.
//   5. the frame is gathered with DMA reads (the cursor continues after the
//      header; one piece per segment touched) into the frame region at
//      RD_RAM_ADDR + 64 (frame byte k at RD_RAM_ADDR + 64 + k).
//   6. NEEDS_CSUM: the rows from csum_start to the end of the frame are read
//      back and summed (RFC 1071, 16-bit big-endian words, bytes before
//      csum_start and from L on masked out; an odd csum_start swaps the
//      bytes of the folded sum); the complement is put big-endian at frame
//      offset csum_start + csum_offset while streaming (the RAM itself is not
//      written). The field's old contents (the driver's pseudo-header sum)
//      are part of the sum, as in pymodel.
//   7. the frame is streamed from the RAM on m_axis_tx: one packet, 64 bytes
//      a beat, tkeep per byte (all ones but on the last beat), tlast on the
//      last beat, tuser = {queue, func} on every beat. Full throughput (a
//      two-entry queue in front of the port hides the RAM latency).
//   8. used record: id, func, queue, num_desc of the record, len 0.
//
// Errors while a packet runs (never a hang, no DMA outside the buffer's
// readable segments, RAM reads only inside the region):
//   * DMA read error (header or frame): one needs_reset_set[f] pulse (none
//     while func_reset[f]); no further DMA, no frame, no used record; the DMA
//     already issued is waited for.
//   * func_reset[f] while a packet of f runs: same, silently, unless the
//     stream has begun: as every byte is already in the RAM, a frame whose
//     streaming began is completed (never a truncated frame on the wire), and
//     then no used record is produced. A used record already presented on
//     m_axis_used stays valid until taken.
// Statuses on the DMA status port are all taken as this block's (the top
// routes them by tag).
// func_quiesced[f] is low from the record handshake of a packet of f until
// it is finished (last beat and used record taken); busy is high from the
// first segment of a buffer.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_net_tx #(
    parameter int NUM_FUNC      = 2,       // functions
    parameter int MAX_SEGS      = 64,      // segments one buffer may have (1..256); more -> needs_reset
    parameter int RAM_ADDR_W    = 18,      // buffer RAM byte address width
    parameter int RD_RAM_ADDR   = 4096,    // RAM region: 64 B header row, then MAX_FRAME rounded up to 64 (64-aligned)
    parameter int LEN_W         = 16,      // DMA descriptor length width (must hold MAX_FRAME)
    parameter int OP_TAG_W      = 8,       // DMA descriptor tag width
    parameter int RD_DMA_TAG    = 0,       // tag on the DMA read descriptor port
    parameter int MAX_FRAME     = 9018     // longest frame (bytes after the header) the port carries (1..65535)
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
    input  wire logic [127:0]                ctx_rsp_features,     // negotiated
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

    // read buffer RAM read port (row numbers, data one cycle after en)
    output logic                             buf_rd_en,
    output logic      [RAM_ADDR_W-7:0]       buf_rd_addr,
    input  wire logic [511:0]                buf_rd_data,

    // wire port: one frame per packet, never empty
    output logic      [511:0]                m_axis_tx_tdata,
    output logic      [63:0]                 m_axis_tx_tkeep,
    output logic                             m_axis_tx_tvalid,
    input  wire logic                        m_axis_tx_tready,
    output logic                             m_axis_tx_tlast,
    output logic      [23:0]                 m_axis_tx_tuser,      // {queue[15:0], func[7:0]}

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
    output logic                             busy,
    output logic      [31:0]                 stat_tx_drop_count    // frames dropped (csum offsets, empty, too long)
);

    // ------------------------------------------------------------------
    // parameters
    // ------------------------------------------------------------------

    localparam int FI_W    = NUM_FUNC > 1 ? $clog2(NUM_FUNC) : 1;
    localparam int SI_W    = $clog2(MAX_SEGS + 1);
    localparam int ROW_W   = RAM_ADDR_W - 6;
    localparam int RD_ROW  = RD_RAM_ADDR / 64;
    localparam int FRAME_ROWS = (MAX_FRAME + 63) / 64;
    localparam int FR_W    = $clog2(FRAME_ROWS + 1);
    // negotiated feature bits the engine looks at (pymodel NetFeature)
    localparam int F_CSUM = 0, F_HASH_REPORT = 57, F_GUEST_UDP_TUNNEL_GSO = 65,
                   F_HOST_UDP_TUNNEL_GSO = 67, F_OUT_NET_HEADER = 69, F_IPSEC = 70;

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_net_tx: NUM_FUNC must be 1..256");
        if (MAX_SEGS < 1 || MAX_SEGS > 256) $fatal(1, "vio_net_tx: MAX_SEGS must be 1..256");
        if (MAX_FRAME < 1 || MAX_FRAME > 65535) $fatal(1, "vio_net_tx: MAX_FRAME must be 1..65535");
        if (RD_RAM_ADDR % 64 != 0) $fatal(1, "vio_net_tx: RD_RAM_ADDR must be 64-aligned");
        if (RAM_ADDR_W < 7 || RAM_ADDR_W > 32 || RD_RAM_ADDR < 0
            || 64'(RD_RAM_ADDR) + 64 + 64 * 64'(FRAME_ROWS) > (64'd1 << RAM_ADDR_W))
            $fatal(1, "vio_net_tx: RAM region outside the buffer RAM");
        if (LEN_W < 6 || LEN_W > 32 || 64'(MAX_FRAME) > (64'd1 << LEN_W) - 1)
            $fatal(1, "vio_net_tx: LEN_W too small for MAX_FRAME");
        if (OP_TAG_W < 1 || OP_TAG_W > 32 || RD_DMA_TAG < 0 || 64'(RD_DMA_TAG) >= (64'd1 << OP_TAG_W))
            $fatal(1, "vio_net_tx: RD_DMA_TAG does not fit OP_TAG_W");
    end

    // ------------------------------------------------------------------
    // state
    // ------------------------------------------------------------------

    typedef enum logic [3:0] {
        S_IDLE,       // collecting segments
        S_REC,        // last segment seen, waiting for the record
        S_CTX_REQ, S_CTX_WAIT,
        S_CHECK,      // framing checks, start of the header gather
        S_MOVE,       // DMA mover
        S_DRAIN,      // wait for every DMA status
        S_HDR_RD, S_HDR_CAP,
        S_DECIDE,
        S_CSUM,       // checksum pass over the RAM
        S_CSUM_END,
        S_STREAM,     // frame on m_axis_tx
        S_USED,
        S_FINISH
    } state_t;

    state_t state;
    logic   mv_frame;            // the mover gathers the frame (0: the header)

    // segment table
    logic [63:0] seg_addr [MAX_SEGS];
    logic [31:0] seg_len  [MAX_SEGS];
    logic [SI_W-1:0] n_segs;
    logic        seg_ovf;
    logic        seg_err;
    logic        seg_wr;         // a writable segment was seen
    logic        seg_any;        // a segment of the buffer was taken
    logic [63:0] rd_bytes;

    // the record
    logic [7:0]  r_func;
    logic [15:0] r_queue;
    logic [15:0] r_id;
    logic [15:0] r_num_desc;
    logic        r_active;       // a packet of r_func is in this block
    wire [FI_W-1:0] fidx = r_func[FI_W-1:0];

    // packet
    logic        live;
    logic        neg_csum;
    logic [5:0]  hdr_size;
    logic [63:0] flen64;         // readable - hdr
    logic        h_needs_csum;   // flags bit 0 (NEEDS_CSUM); other flags are ignored
    logic [7:0]  h_gso;
    logic [15:0] h_cs_start;
    logic [15:0] h_cs_off;
    logic        do_csum;
    logic [FR_W-1:0] last_row;   // frame row of the last byte
    logic [63:0] tail_keep;      // byte mask of the last row
    logic [16:0] cs_at;          // frame offset of the checksum field
    logic [16:0] cs_at1;         // and of its second byte
    logic [15:0] csum;           // value stored big-endian at cs_at
    logic        fail;           // DMA error seen
    logic        abort;          // func_reset seen
    wire         dead = fail || abort;

    // mover: cursor over the readable segments
    logic [31:0]     mv_left;
    logic [RAM_ADDR_W-1:0] mv_ram;
    logic [31:0]     mv_piece;
    logic [SI_W-1:0] cur_i;
    logic [31:0]     cur_off;
    logic [15:0]     rd_out;     // DMA reads in flight

    // checksum pass
    logic [FR_W-1:0] cs_i;       // next row to read
    logic            cs_issued;  // every row was read
    logic            p1_valid;   // RAM data of row p1_row arrives
    logic [FR_W-1:0] p1_row;
    logic            p2_valid;   // partial sums of a row
    logic [18:0]     p2_sum [4];
    logic [31:0]     acc;

    // stream: RAM reads into a two-entry queue in front of the port
    logic [FR_W-1:0] st_i;       // next row to read
    logic            st_issued;
    logic            sp_valid;   // RAM data of row sp_row arrives
    logic [FR_W-1:0] sp_row;
    logic [511:0]    q_data [2];
    logic [63:0]     q_keep [2];
    logic            q_last [2];
    logic [1:0]      q_n;
    logic            q_rp;
    logic            q_wp;

    // ------------------------------------------------------------------
    // combinational helpers
    // ------------------------------------------------------------------

    // the segment under the cursor
    logic        c_valid;
    logic [63:0] c_addr;
    logic [31:0] c_len;
    logic [31:0] c_rest;
    logic [31:0] c_piece;

    always_comb begin
        c_valid = 32'(cur_i) < 32'(n_segs);
        c_addr = '0;
        c_len = '0;
        for (int i = 0; i < MAX_SEGS; i++) begin
            if (32'(cur_i) == i) begin
                c_addr = seg_addr[i];
                c_len = seg_len[i];
            end
        end
        c_rest = c_len - cur_off;
        c_piece = (c_rest < mv_left) ? c_rest : mv_left;
    end

    // header size by the negotiated features (pymodel net_hdr_size)
    function automatic logic [5:0] hdr_size_of(input logic [127:0] f);
        if (f[F_OUT_NET_HEADER] || f[F_IPSEC]) return 6'd32;
        if (f[F_HOST_UDP_TUNNEL_GSO] || f[F_GUEST_UDP_TUNNEL_GSO]) return 6'd24;
        if (f[F_HASH_REPORT]) return 6'd20;
        return 6'd12;
    endfunction

    // RFC 1071 sum of 8 big-endian 16-bit words of a row
    function automatic logic [18:0] sum8(input logic [127:0] d);
        logic [18:0] s;
        s = '0;
        for (int k = 0; k < 8; k++)
            s = s + 19'({d[16 * k +: 8], d[16 * k + 8 +: 8]});
        return s;
    endfunction

    // byte mask of a frame row in the checksum pass: from csum_start to the end of the frame
    function automatic logic [63:0] cs_row_mask(input logic [FR_W-1:0] row);
        logic [63:0] m;
        m = (row == last_row) ? tail_keep : '1;
        if (32'(row) == 32'(h_cs_start[15:6]))
            m = m & ~((64'd1 << h_cs_start[5:0]) - 64'd1);
        return m;
    endfunction

    wire        f_reset_now = func_reset[fidx];
    wire        rd_hs = m_axis_rd_desc_valid && m_axis_rd_desc_ready;
    wire        tx_hs = m_axis_tx_tvalid && m_axis_tx_tready;
    wire        cs_rd = (state == S_CSUM) && !cs_issued;
    wire        st_rd = (state == S_STREAM) && !st_issued
                        && 32'(q_n) + 32'(sp_valid) < 32'd2 + 32'(tx_hs);

    always_comb begin
        buf_rd_en = 1'b0;
        buf_rd_addr = ROW_W'(RD_ROW);
        if (state == S_HDR_RD) begin
            buf_rd_en = 1'b1;
        end else if (cs_rd) begin
            buf_rd_en = 1'b1;
            buf_rd_addr = ROW_W'(RD_ROW + 1) + ROW_W'(cs_i);
        end else if (st_rd) begin
            buf_rd_en = 1'b1;
            buf_rd_addr = ROW_W'(RD_ROW + 1) + ROW_W'(st_i);
        end
    end

    // a frame row with the checksum field patched in
    logic [511:0] sp_data;
    always_comb begin
        sp_data = buf_rd_data;
        if (do_csum) begin
            for (int i = 0; i < 64; i++) begin
                if (32'(sp_row) == 32'(cs_at[16:6]) && cs_at[5:0] == 6'(i))
                    sp_data[8 * i +: 8] = csum[15:8];
                if (32'(sp_row) == 32'(cs_at1[16:6]) && cs_at1[5:0] == 6'(i))
                    sp_data[8 * i +: 8] = csum[7:0];
            end
        end
    end

    // the RAM row of the checksum pass, bytes outside csum_start..L-1 zeroed
    logic [511:0] p1_masked;
    always_comb begin
        logic [63:0] m;
        m = cs_row_mask(p1_row);
        for (int i = 0; i < 64; i++)
            p1_masked[8 * i +: 8] = m[i] ? buf_rd_data[8 * i +: 8] : 8'd0;
    end

    // folded sum, bytes swapped back for an odd csum_start, complemented
    logic [16:0] fold1;
    logic [15:0] fold2;
    always_comb begin
        fold1 = 17'(acc[31:16]) + 17'(acc[15:0]);
        fold2 = fold1[15:0] + 16'(fold1[16]);
    end

    assign s_axis_seg_ready = (state == S_IDLE);
    assign s_axis_buf_ready = (state == S_REC);
    assign ctx_req_valid = (state == S_CTX_REQ);
    assign ctx_req_func = r_func;
    assign ctx_req_queue = r_queue;
    assign m_axis_rd_desc_func = r_func;
    assign m_axis_rd_desc_tag = OP_TAG_W'(RD_DMA_TAG);
    assign m_axis_tx_tvalid = (q_n != 2'd0);
    assign m_axis_tx_tdata = q_data[q_rp];
    assign m_axis_tx_tkeep = q_keep[q_rp];
    assign m_axis_tx_tlast = q_last[q_rp];
    assign m_axis_tx_tuser = {r_queue, r_func};
    assign m_axis_used_func = r_func;
    assign m_axis_used_queue = r_queue;
    assign m_axis_used_id = r_id;
    assign m_axis_used_num_desc = r_num_desc;
    assign m_axis_used_len = 32'd0;
    assign busy = !(state == S_IDLE && !seg_any);
    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++)
            func_quiesced[f] = !(r_active && 32'(r_func) == f);
    end

    wire unused_ok = &{1'b0, s_axis_buf_slot_first, s_axis_buf_wrap_first, s_axis_buf_indirect,
                       s_axis_rd_desc_status_tag, ctx_rsp_features};

    // ------------------------------------------------------------------
    // main FSM
    // ------------------------------------------------------------------

    always_ff @(posedge clk) begin
        needs_reset_set <= '0;

        // DMA statuses: counter and errors
        rd_out <= rd_out + 16'(rd_hs) - 16'(s_axis_rd_desc_status_valid);
        if (s_axis_rd_desc_status_valid && s_axis_rd_desc_status_error != vio_pkg::DMA_OK) begin
            if (!fail && !abort && !f_reset_now)
                needs_reset_set[fidx] <= 1'b1;
            fail <= 1'b1;
        end
        if (r_active && f_reset_now)
            abort <= 1'b1;

        // checksum pipeline: RAM row -> four partial sums -> accumulator
        p1_valid <= cs_rd;
        p1_row <= cs_i;
        p2_valid <= p1_valid;
        if (p1_valid) begin
            for (int k = 0; k < 4; k++)
                p2_sum[k] <= sum8(p1_masked[128 * k +: 128]);
        end
        if (p2_valid)
            acc <= acc + 32'(p2_sum[0]) + 32'(p2_sum[1]) + 32'(p2_sum[2]) + 32'(p2_sum[3]);
        if (cs_rd) begin
            if (cs_i == last_row) cs_issued <= 1'b1;
            cs_i <= cs_i + 1'b1;
        end

        // stream: RAM row -> queue -> port
        sp_valid <= st_rd;
        sp_row <= st_i;
        if (st_rd) begin
            if (st_i == last_row) st_issued <= 1'b1;
            st_i <= st_i + 1'b1;
        end
        if (sp_valid) begin
            q_data[q_wp] <= sp_data;
            q_keep[q_wp] <= (sp_row == last_row) ? tail_keep : '1;
            q_last[q_wp] <= (sp_row == last_row);
            q_wp <= !q_wp;
        end
        if (tx_hs) q_rp <= !q_rp;
        q_n <= q_n + 2'(sp_valid) - 2'(tx_hs);

        case (state)
        S_IDLE: begin
            if (s_axis_seg_valid) begin
                seg_any <= 1'b1;
                if (32'(n_segs) < MAX_SEGS) begin
                    for (int i = 0; i < MAX_SEGS; i++) begin
                        if (32'(n_segs) == i) begin
                            seg_addr[i] <= s_axis_seg_addr;
                            seg_len[i] <= s_axis_seg_len;
                        end
                    end
                    n_segs <= n_segs + 1'b1;
                end else begin
                    seg_ovf <= 1'b1;
                end
                seg_err <= seg_err || s_axis_seg_error;
                if (s_axis_seg_write) seg_wr <= 1'b1;
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
            neg_csum <= ctx_rsp_features[F_CSUM];
            hdr_size <= hdr_size_of(ctx_rsp_features);
            state <= S_CHECK;
        end
        S_CHECK: begin
            if (!live || f_reset_now || abort) begin
                state <= S_FINISH;
            end else if (seg_ovf || seg_wr || rd_bytes < 64'(hdr_size)) begin
                needs_reset_set[fidx] <= 1'b1;
                state <= S_FINISH;
            end else begin
                flen64 <= rd_bytes - 64'(hdr_size);
                cur_i <= '0;
                cur_off <= '0;
                mv_left <= 32'(hdr_size);
                mv_ram <= RAM_ADDR_W'(RD_RAM_ADDR);
                mv_frame <= 1'b0;
                state <= S_MOVE;
            end
        end

        // -- mover --------------------------------------------------------
        S_MOVE: begin
            if (m_axis_rd_desc_valid) begin
                if (rd_hs) begin
                    m_axis_rd_desc_valid <= 1'b0;
                    cur_off <= cur_off + mv_piece;
                    mv_left <= mv_left - mv_piece;
                    mv_ram <= mv_ram + RAM_ADDR_W'(mv_piece);
                end
            end else if (mv_left == 32'd0 || dead || !c_valid) begin
                state <= S_DRAIN;
            end else if (cur_off == c_len) begin
                cur_i <= cur_i + 1'b1;
                cur_off <= '0;
            end else begin
                // mv_left <= MAX_FRAME, so the piece fits LEN_W
                mv_piece <= c_piece;
                m_axis_rd_desc_valid <= 1'b1;
                m_axis_rd_desc_pcie_addr <= c_addr + 64'(cur_off);
                m_axis_rd_desc_ram_addr <= mv_ram;
                m_axis_rd_desc_len <= LEN_W'(c_piece);
            end
        end
        S_DRAIN: if (rd_out == 16'd0 && !s_axis_rd_desc_status_valid) begin
            if (dead) begin
                state <= S_FINISH;
            end else if (!mv_frame) begin
                state <= S_HDR_RD;
            end else if (do_csum) begin
                cs_i <= FR_W'(h_cs_start[15:6]);
                cs_issued <= 1'b0;
                acc <= '0;
                state <= S_CSUM;
            end else begin
                state <= S_STREAM;
            end
        end

        // -- header and decision -------------------------------------------
        S_HDR_RD: state <= S_HDR_CAP;
        S_HDR_CAP: begin
            h_needs_csum <= buf_rd_data[0];
            h_gso <= buf_rd_data[15:8];
            h_cs_start <= buf_rd_data[63:48];
            h_cs_off <= buf_rd_data[79:64];
            state <= S_DECIDE;
        end
        S_DECIDE: begin
            do_csum <= h_needs_csum;
            cs_at <= 17'(h_cs_start) + 17'(h_cs_off);
            cs_at1 <= 17'(h_cs_start) + 17'(h_cs_off) + 17'd1;
            last_row <= FR_W'((flen64[31:0] - 32'd1) >> 6);
            tail_keep <= (flen64[5:0] == 6'd0) ? '1 : (64'd1 << flen64[5:0]) - 64'd1;
            st_i <= '0;
            st_issued <= 1'b0;
            if (dead) begin
                state <= S_FINISH;
            end else if (h_gso != 8'd0 || (h_needs_csum && !neg_csum)) begin
                needs_reset_set[fidx] <= 1'b1;
                state <= S_FINISH;
            end else if ((h_needs_csum && (64'(h_cs_start) > flen64
                                         || 64'(h_cs_start) + 64'(h_cs_off) + 64'd2 > flen64))
                         || flen64 == 64'd0 || flen64 > 64'(MAX_FRAME)) begin
                stat_tx_drop_count <= stat_tx_drop_count + 32'd1;
                state <= S_USED;
            end else begin
                // the cursor stands right after the header
                mv_left <= flen64[31:0];
                mv_ram <= RAM_ADDR_W'(RD_RAM_ADDR + 64);
                mv_frame <= 1'b1;
                state <= S_MOVE;
            end
        end

        // -- checksum ---------------------------------------------------------
        S_CSUM: if (cs_issued && !p1_valid && !p2_valid) state <= S_CSUM_END;
        S_CSUM_END: begin
            csum <= ~(h_cs_start[0] ? {fold2[7:0], fold2[15:8]} : fold2);
            state <= dead ? S_FINISH : S_STREAM;
        end

        // -- frame on the wire (completed once begun) --------------------------
        S_STREAM: if (tx_hs && m_axis_tx_tlast) state <= abort ? S_FINISH : S_USED;

        // -- used record -------------------------------------------------------
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
            seg_wr <= 1'b0;
            seg_any <= 1'b0;
            rd_bytes <= '0;
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
            needs_reset_set <= '0;
            m_axis_rd_desc_valid <= 1'b0;
            m_axis_used_valid <= 1'b0;
            stat_tx_drop_count <= '0;
            do_csum <= 1'b0;
            p1_valid <= 1'b0;
            p2_valid <= 1'b0;
            sp_valid <= 1'b0;
            cs_issued <= 1'b1;
            st_issued <= 1'b1;
            q_n <= '0;
            q_rp <= 1'b0;
            q_wp <= 1'b0;
        end
    end

endmodule

`resetall
