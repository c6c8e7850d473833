// SPDX-License-Identifier: Apache-2.0
//
// virtio-net receive engine (virtio.md §6.1-§6.4): takes frames from the
// wire port (s_axis_rx), filters them, places them in the RX buffers of the
// chosen function's receive queue and produces their used records.
// Outcomes are exactly pymodel.net_rx (RxFilter.accepts, then place_rx /
// write_rx): header size by the negotiated features (pymodel net_hdr_size:
// 12 with VERSION_1 only), the header written is all zero but num_buffers
// (little-endian at offset 10; 1 without MRG_RXBUF).
//
// SHORTCUT: one frame at a time, store and forward. s_axis_rx_tready is high
// only while no frame is being processed: from the last beat of a frame
// until it is placed or dropped the port is backpressured (the switch in
// front of the device buffers). Frame bytes go to the RAM region at
// WR_RAM_ADDR + 64 (beat k at row WR_RAM_ADDR/64 + 1 + k, byte enables =
// tkeep); the header is staged right-aligned in the region's first row, so
// header + frame are one contiguous byte stream at WR_RAM_ADDR + 64 - hdr.
//
// Per frame:
//   1. beats are taken on s_axis_rx (tuser = {pair_hint[7:0], func[7:0]},
//      sampled on the first beat). Length = 64 * (beats - 1) + bytes of the
//      last beat. Beats beyond MAX_FRAME are consumed up to tlast but not
//      stored. A beat before tlast whose tkeep is not all ones, or a last
//      beat whose tkeep is not contiguous from byte 0, makes the frame bad.
//   2. func >= NUM_FUNC or FUNC_NET[func] = 0: dropped (stat_rx_drop_other).
//   3. RX queue selection: vq = 2 * (pair_hint mod curr_pairs), curr_pairs =
//      net_pairs[f] (0 treated as 1); the remainder is computed bit-serially
//      (8 cycles). (f, vq) is looked up on ctx_req/ctx_rsp (one cycle).
//   4. dropped (stat_rx_drop_other): function not live, func_reset[f], bad
//      tkeep, frame longer than MAX_FRAME, empty frame.
//   5. the filter, RxFilter.accepts exactly, with net_rx_mode[f] bits
//      0 PROMISC 1 ALLMULTI 2 ALLUNI 3 NOMULTI 4 NOUNI 5 NOBCAST
//      6 UNI_OVERFLOW 7 MULTI_OVERFLOW, net_mac[f] (first octet in [47:40]),
//      VLAN filtering = CTRL_VLAN (feature 19) negotiated (VLAN table word
//      vid >> 5 bit vid & 31 on filt_vlan_rd_*), uni / multi lists = MAC table
//      entries {multicast, valid, mac} with valid = 1 and multicast = 0 / 1
//      (filt_mac_rd_*, entries 0..63 read one per cycle, stopping at a hit:
//      at most 65 cycles). Rejected: stat_rx_drop_filter.
//   6. buffers are fetched one at a time (m_axis_fetch_*: the first with
//      cursor = 0, the next ones with cursor = 1 at slot_next / wrap_next of
//      the previous answer); each answer is the buffer's segments on
//      s_axis_seg_* and its record on s_axis_buf_*. Per answer, in this order
//      (pymodel place_rx):
//        func_reset[f] seen since the frame started -> abandoned (other)
//        none = 1                          -> dropped (stat_rx_drop_nobuf)
//        error = 1 or a segment error      -> dropped (other; the ring engine
//                                             already raised needs_reset)
//        a readable segment (even empty),
//        or (MRG_RXBUF) first buffer with
//        fewer than hdr writable bytes     -> needs_reset_set[f] pulse, dropped
//                                             (other)
//        more than MAX_SEGS segments over
//        all buffers of the frame, or more
//        than MAX_SEGS buffers             -> dropped (other): the device's
//                                             limit, not the driver's fault
//        room = writable bytes so far >= hdr + len -> placed
//        otherwise without MRG_RXBUF       -> dropped (nobuf; pymodel TOO_BIG)
//        otherwise                         -> fetch the next buffer
//      A dropped frame is never committed: the buffers stay available.
//   7. the header row is written (num_buffers = buffers used), then header
//      + frame are DMA-written (m_axis_wr_desc_*) into the writable segments
//      in order: one descriptor per non-empty piece (zero-length segments
//      skipped, a piece never crosses a segment); every buffer but the last
//      is filled completely.
//   8. after every DMA status: one used record per buffer, in order (id and
//      num_desc of its record, len = bytes written into it, func f, queue
//      vq), then one m_commit pulse with (slot_next, wrap_next) of the last
//      buffer's answer; stat_rx_frames + 1.
// The record's func / queue / fetch / slot_first / wrap_first / indirect
// fields are not looked at (the source answers this block's fetch).
//
// Errors while a frame is placed (never a hang, no DMA outside the writable
// segments the source handed over, RAM writes only inside the region):
//   * DMA write error: one needs_reset_set[f] pulse (none while
//     func_reset[f]); no further DMA, no used record, no commit (other). The
//     DMA already issued is waited for.
//   * func_reset[f] while a frame of f is placed: same, silently; an answer
//     still expected for a fetch already handed over is taken first; a used
//     record already presented stays valid until taken, the rest are not
//     produced, and there is no commit (other).
// Every frame taken from the port adds one to exactly one of stat_rx_frames,
// stat_rx_drop_nobuf, stat_rx_drop_filter, stat_rx_drop_other. Statuses on
// the DMA write status port are all taken as this block's (the top routes
// them by tag).
// func_quiesced[f] is low from the end of a frame of f on the port until it
// is finished; busy is high from the first beat of a frame.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_net_rx #(
    parameter int NUM_FUNC      = 2,       // functions
    parameter logic [NUM_FUNC-1:0] FUNC_NET = '1,  // bit f = 1: function f is virtio-net
    parameter int MAX_SEGS      = 64,      // segments (and buffers) one frame may use over all its buffers (1..256)
    parameter int RAM_ADDR_W    = 18,      // buffer RAM byte address width
    parameter int WR_RAM_ADDR   = 4096,    // RAM region: 64 B header row, then MAX_FRAME rounded up to 64 (64-aligned)
    parameter int LEN_W         = 16,      // DMA descriptor length width (must hold 32 + MAX_FRAME)
    parameter int OP_TAG_W      = 8,       // DMA descriptor tag width
    parameter int WR_DMA_TAG    = 0,       // tag on the DMA write descriptor port
    parameter int MAX_FRAME     = 9018     // longest frame (wire bytes) delivered (1..65535)
) (
    input  wire logic                        clk,
    input  wire logic                        rst,

    // wire port: frames from the switch
    input  wire logic [511:0]                s_axis_rx_tdata,
    input  wire logic [63:0]                 s_axis_rx_tkeep,
    input  wire logic                        s_axis_rx_tvalid,
    output logic                             s_axis_rx_tready,
    input  wire logic                        s_axis_rx_tlast,
    input  wire logic [15:0]                 s_axis_rx_tuser,      // {pair_hint[7:0], func[7:0]}

    // buffer fetch and commit (vio_pring_avail s_axis_fetch_* / s_commit_*)
    output logic                             m_axis_fetch_valid,
    input  wire logic                        m_axis_fetch_ready,
    output logic      [7:0]                  m_axis_fetch_func,
    output logic      [15:0]                 m_axis_fetch_queue,
    output logic                             m_axis_fetch_cursor,  // 0: committed position; 1: slot/wrap
    output logic      [15:0]                 m_axis_fetch_slot,
    output logic                             m_axis_fetch_wrap,
    output logic                             m_commit_valid,       // pulse, always accepted
    output logic      [7:0]                  m_commit_func,
    output logic      [15:0]                 m_commit_queue,
    output logic      [15:0]                 m_commit_slot,
    output logic                             m_commit_wrap,

    // fetch answers (segments first, then the record)
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
    input  wire logic                        s_axis_buf_fetch,
    input  wire logic                        s_axis_buf_none,
    input  wire logic [15:0]                 s_axis_buf_slot_next,
    input  wire logic                        s_axis_buf_wrap_next,

    // function state (vio_virtio_regs ctx port, one cycle latency)
    output logic                             ctx_req_valid,
    output logic      [7:0]                  ctx_req_func,
    output logic      [15:0]                 ctx_req_queue,
    input  wire logic                        ctx_rsp_valid,
    input  wire logic                        ctx_rsp_live,
    input  wire logic [127:0]                ctx_rsp_features,     // negotiated
    input  wire logic [NUM_FUNC-1:0]         func_reset,           // level

    // receive filter state (vio_mgmt)
    input  wire logic [NUM_FUNC*48-1:0]      net_mac,              // first octet in [48f+47 -: 8]
    input  wire logic [NUM_FUNC*8-1:0]       net_rx_mode,
    input  wire logic [NUM_FUNC*16-1:0]      net_pairs,            // curr_pairs
    output logic                             filt_mac_rd_en,
    output logic      [7:0]                  filt_mac_rd_func,
    output logic      [5:0]                  filt_mac_rd_index,
    input  wire logic [49:0]                 filt_mac_rd_data,     // {multicast, valid, mac}, one cycle after en
    output logic                             filt_vlan_rd_en,
    output logic      [7:0]                  filt_vlan_rd_func,
    output logic      [6:0]                  filt_vlan_rd_index,
    input  wire logic [31:0]                 filt_vlan_rd_data,    // one cycle after en

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

    // write buffer RAM write port (row numbers, byte enables)
    output logic                             buf_wr_en,
    output logic      [RAM_ADDR_W-7:0]       buf_wr_addr,
    output logic      [63:0]                 buf_wr_be,
    output logic      [511:0]                buf_wr_data,

    // used records (vio_pring_used s_axis_used_*)
    output logic                             m_axis_used_valid,
    input  wire logic                        m_axis_used_ready,
    output logic      [7:0]                  m_axis_used_func,
    output logic      [15:0]                 m_axis_used_queue,
    output logic      [15:0]                 m_axis_used_id,
    output logic      [31:0]                 m_axis_used_len,
    output logic      [15:0]                 m_axis_used_num_desc,
    output logic                             m_axis_used_more,     // more records of this frame follow (a group)
    output logic                             used_group,           // level: a group of records is being emitted

    // status
    output logic      [NUM_FUNC-1:0]         needs_reset_set,      // pulse
    output logic      [NUM_FUNC-1:0]         func_quiesced,        // level
    output logic                             busy,
    output logic      [31:0]                 stat_rx_frames,       // frames placed (used + committed)
    output logic      [31:0]                 stat_rx_drop_nobuf,   // no buffer / not enough room
    output logic      [31:0]                 stat_rx_drop_filter,  // rejected by the receive filter
    output logic      [31:0]                 stat_rx_drop_other    // not net / not live / too long / bad / errors
);

    // ------------------------------------------------------------------
    // parameters
    // ------------------------------------------------------------------

    localparam int FI_W    = NUM_FUNC > 1 ? $clog2(NUM_FUNC) : 1;
    localparam int SI_W    = $clog2(MAX_SEGS + 1);
    localparam int ROW_W   = RAM_ADDR_W - 6;
    localparam int WR_ROW  = WR_RAM_ADDR / 64;
    localparam int FRAME_ROWS = (MAX_FRAME + 63) / 64;
    localparam int FR_W    = $clog2(FRAME_ROWS + 2);
    // negotiated feature bits the engine looks at (pymodel NetFeature)
    localparam int F_MRG_RXBUF = 15, F_CTRL_VLAN = 19, F_HASH_REPORT = 57, F_GUEST_UDP_TUNNEL_GSO = 65,
                   F_HOST_UDP_TUNNEL_GSO = 67, F_OUT_NET_HEADER = 69, F_IPSEC = 70;
    // net_rx_mode bits
    localparam int M_PROMISC = 0, M_ALLMULTI = 1, M_ALLUNI = 2, M_NOMULTI = 3, M_NOUNI = 4, M_NOBCAST = 5,
                   M_UNI_OVF = 6, M_MULTI_OVF = 7;

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_net_rx: NUM_FUNC must be 1..256");
        if (MAX_SEGS < 1 || MAX_SEGS > 256) $fatal(1, "vio_net_rx: MAX_SEGS must be 1..256");
        if (MAX_FRAME < 1 || MAX_FRAME > 65535) $fatal(1, "vio_net_rx: MAX_FRAME must be 1..65535");
        if (WR_RAM_ADDR % 64 != 0) $fatal(1, "vio_net_rx: WR_RAM_ADDR must be 64-aligned");
        if (RAM_ADDR_W < 7 || RAM_ADDR_W > 32 || WR_RAM_ADDR < 0
            || 64'(WR_RAM_ADDR) + 64 + 64 * 64'(FRAME_ROWS) > (64'd1 << RAM_ADDR_W))
            $fatal(1, "vio_net_rx: RAM region outside the buffer RAM");
        if (LEN_W < 6 || LEN_W > 32 || 64'(MAX_FRAME) + 32 > (64'd1 << LEN_W) - 1)
            $fatal(1, "vio_net_rx: LEN_W too small for 32 + MAX_FRAME");
        if (OP_TAG_W < 1 || OP_TAG_W > 32 || WR_DMA_TAG < 0 || 64'(WR_DMA_TAG) >= (64'd1 << OP_TAG_W))
            $fatal(1, "vio_net_rx: WR_DMA_TAG does not fit OP_TAG_W");
    end

    // ------------------------------------------------------------------
    // state
    // ------------------------------------------------------------------

    typedef enum logic [4:0] {
        S_RX,         // taking a frame from the port
        S_CHK,        // function checks
        S_QSEL,       // pair_hint mod curr_pairs
        S_CTX_REQ, S_CTX_WAIT,
        S_DECIDE,     // live / reset / length checks, filter start
        S_VLAN_RD, S_VLAN_CAP,
        S_ADDR,       // destination address rules
        S_SCAN,       // MAC table scan
        S_FETCH,      // fetch request
        S_ANS,        // taking the answer (segments, record)
        S_BUF,        // evaluating the answer
        S_HDR,        // header row into the RAM
        S_MOVE,       // DMA writes
        S_DRAIN,      // wait for every DMA status
        S_USED,
        S_COMMIT,
        S_FINISH
    } state_t;

    state_t state;

    // the frame on the port
    logic [FR_W-1:0] rx_beats;   // beats taken (saturates at FRAME_ROWS + 1)
    logic        rx_long;        // more than MAX_FRAME bytes
    logic        rx_bad;         // tkeep rule broken
    logic [31:0] rx_len;
    logic [127:0] rx_head;       // bytes 0..15
    logic [7:0]  r_func;
    logic [7:0]  r_hint;
    logic        r_active;       // a frame of r_func is in this block
    wire [FI_W-1:0] fidx = r_func[FI_W-1:0];

    // queue selection
    logic [15:0] q_div;
    logic [15:0] q_rem;
    logic [2:0]  q_bit;
    logic [15:0] r_vq;

    // function state
    logic        live;
    logic        neg_mrg;
    logic        neg_vlan;
    logic [5:0]  hdr_size;
    logic [7:0]  mode;
    logic [47:0] own_mac;

    // MAC table scan
    logic [6:0]  mi;             // next index to read
    logic        m_pend;         // a read was issued last cycle
    logic        want_multi;     // the entry kind searched

    // buffers of the frame
    logic [63:0] seg_addr [MAX_SEGS];
    logic [31:0] seg_len  [MAX_SEGS];
    logic [SI_W-1:0] n_segs;
    logic        seg_ovf;
    logic        seg_err;
    logic        seg_rd;         // the current answer has a readable segment
    logic        seg_last_seen;
    logic [63:0] b_wlen;         // writable bytes of the current answer
    logic [15:0] buf_id   [MAX_SEGS];
    logic [15:0] buf_nd   [MAX_SEGS];
    logic [31:0] buf_ulen [MAX_SEGS];
    logic [SI_W-1:0] n_bufs;
    logic [63:0] room;
    logic [31:0] need;           // hdr + len
    logic [15:0] nxt_slot;
    logic        nxt_wrap;
    // the answer's record
    logic        a_none, a_err;
    logic [15:0] a_id, a_nd, a_slot;
    logic        a_wrap;

    logic        fail;           // DMA error seen
    logic        abort;          // func_reset seen
    wire         dead = fail || abort;

    // mover
    logic [31:0]     mv_left;
    logic [RAM_ADDR_W-1:0] mv_ram;
    logic [31:0]     mv_piece;
    logic [SI_W-1:0] cur_i;
    logic [31:0]     cur_off;
    logic [15:0]     wr_out;     // DMA writes in flight
    logic [SI_W-1:0] ub;         // next used record

    // ------------------------------------------------------------------
    // combinational helpers
    // ------------------------------------------------------------------

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

    // bytes of a last beat's tkeep (contiguous from byte 0) and the tkeep rule
    function automatic logic [6:0] keep_bytes(input logic [63:0] k);
        logic [6:0] n;
        n = '0;
        for (int i = 0; i < 64; i++)
            if (k[i]) n = 7'(i + 1);
        return n;
    endfunction

    wire [47:0] dst = {rx_head[0 +: 8], rx_head[8 +: 8], rx_head[16 +: 8], rx_head[24 +: 8],
                       rx_head[32 +: 8], rx_head[40 +: 8]};
    wire        dst_multi = rx_head[0];
    wire        dst_bcast = (dst == 48'hFFFF_FFFF_FFFF);
    wire        is_vlan = rx_head[96 +: 8] == 8'h81 && rx_head[104 +: 8] == 8'h00;
    wire [11:0] vid = {rx_head[112 +: 4], rx_head[120 +: 8]};
    wire        mac_hit = m_pend && filt_mac_rd_data[48] && filt_mac_rd_data[49] == want_multi
                          && filt_mac_rd_data[47:0] == dst;

    wire        f_reset_now = func_reset[fidx];
    wire        rx_hs = s_axis_rx_tvalid && s_axis_rx_tready;
    wire        wr_hs = m_axis_wr_desc_valid && m_axis_wr_desc_ready;
    wire        seg_hs = s_axis_seg_valid && s_axis_seg_ready;
    wire        buf_hs = s_axis_buf_valid && s_axis_buf_ready;
    wire [63:0] need64 = 64'(need);
    wire [16:0] q_t = {q_rem, r_hint[q_bit]};

    assign s_axis_rx_tready = (state == S_RX);
    assign s_axis_seg_ready = (state == S_ANS) && !seg_last_seen;
    assign s_axis_buf_ready = (state == S_ANS) && (seg_last_seen || !s_axis_seg_valid);
    assign ctx_req_valid = (state == S_CTX_REQ);
    assign ctx_req_func = r_func;
    assign ctx_req_queue = r_vq;
    assign filt_mac_rd_en = (state == S_SCAN) && !mi[6];
    assign filt_mac_rd_func = r_func;
    assign filt_mac_rd_index = mi[5:0];
    assign filt_vlan_rd_en = (state == S_VLAN_RD);
    assign filt_vlan_rd_func = r_func;
    assign filt_vlan_rd_index = vid[11:5];
    assign m_axis_fetch_valid = (state == S_FETCH);
    assign m_axis_fetch_func = r_func;
    assign m_axis_fetch_queue = r_vq;
    assign m_axis_fetch_cursor = (n_bufs != '0);
    assign m_axis_fetch_slot = nxt_slot;
    assign m_axis_fetch_wrap = nxt_wrap;
    assign m_commit_func = r_func;
    assign m_commit_queue = r_vq;
    assign m_commit_slot = nxt_slot;
    assign m_commit_wrap = nxt_wrap;
    assign m_axis_wr_desc_func = r_func;
    assign m_axis_wr_desc_tag = OP_TAG_W'(WR_DMA_TAG);
    assign m_axis_used_func = r_func;
    assign m_axis_used_queue = r_vq;
    assign m_axis_used_more = 32'(ub) + 1 < 32'(n_bufs);
    assign used_group = state == S_USED && 32'(n_bufs) > 1;
    always_comb begin
        m_axis_used_id = '0;
        m_axis_used_num_desc = '0;
        m_axis_used_len = '0;
        for (int i = 0; i < MAX_SEGS; i++) begin
            if (32'(ub) == i) begin
                m_axis_used_id = buf_id[i];
                m_axis_used_num_desc = buf_nd[i];
                m_axis_used_len = buf_ulen[i];
            end
        end
    end
    assign busy = !(state == S_RX && rx_beats == '0);
    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++)
            func_quiesced[f] = !(r_active && 32'(r_func) == f);
    end

    wire unused_ok = &{1'b0, s_axis_buf_func, s_axis_buf_queue, s_axis_buf_slot_first, s_axis_buf_wrap_first,
                       s_axis_buf_indirect, s_axis_buf_fetch, s_axis_wr_desc_status_tag, ctx_rsp_features,
                       rx_head[119:116], rx_head[95:48]};

    // ------------------------------------------------------------------
    // main FSM
    // ------------------------------------------------------------------

    always_ff @(posedge clk) begin
        needs_reset_set <= '0;
        buf_wr_en <= 1'b0;
        m_commit_valid <= 1'b0;

        // DMA statuses: counter and errors
        wr_out <= wr_out + 16'(wr_hs) - 16'(s_axis_wr_desc_status_valid);
        if (s_axis_wr_desc_status_valid && s_axis_wr_desc_status_error != vio_pkg::DMA_OK) begin
            if (!fail && !abort && !f_reset_now)
                needs_reset_set[fidx] <= 1'b1;
            fail <= 1'b1;
        end
        if (r_active && f_reset_now)
            abort <= 1'b1;

        case (state)
        // -- the frame on the port -------------------------------------------
        S_RX: if (rx_hs) begin
            if (rx_beats == '0) begin
                rx_head <= s_axis_rx_tdata[127:0];
                r_func <= s_axis_rx_tuser[7:0];
                r_hint <= s_axis_rx_tuser[15:8];
            end
            if (32'(rx_beats) < FRAME_ROWS) begin
                buf_wr_en <= 1'b1;
                buf_wr_addr <= ROW_W'(WR_ROW + 1) + ROW_W'(rx_beats);
                buf_wr_be <= s_axis_rx_tkeep;
                buf_wr_data <= s_axis_rx_tdata;
            end
            if (32'(rx_beats) <= FRAME_ROWS)
                rx_beats <= rx_beats + 1'b1;
            if (s_axis_rx_tlast) begin
                if ((s_axis_rx_tkeep & (s_axis_rx_tkeep + 64'd1)) != '0) rx_bad <= 1'b1;
                rx_len <= 32'(rx_beats) * 32'd64 + 32'(keep_bytes(s_axis_rx_tkeep));
                if (32'(rx_beats) >= FRAME_ROWS) rx_long <= 1'b1;
                state <= S_CHK;
            end else if (s_axis_rx_tkeep != '1) begin
                rx_bad <= 1'b1;
            end
        end
        S_CHK: begin
            if (32'(r_func) >= NUM_FUNC || !FUNC_NET[fidx]) begin
                stat_rx_drop_other <= stat_rx_drop_other + 32'd1;
                state <= S_FINISH;
            end else begin
                r_active <= 1'b1;
                abort <= f_reset_now;
                fail <= 1'b0;
                q_div <= (net_pairs[32'(fidx) * 16 +: 16] == 16'd0) ? 16'd1 : net_pairs[32'(fidx) * 16 +: 16];
                q_rem <= '0;
                q_bit <= 3'd7;
                mode <= net_rx_mode[32'(fidx) * 8 +: 8];
                own_mac <= net_mac[32'(fidx) * 48 +: 48];
                state <= S_QSEL;
            end
        end
        // restoring remainder, one bit of pair_hint per cycle
        S_QSEL: begin
            q_rem <= (q_t >= 17'(q_div)) ? 16'(q_t - 17'(q_div)) : q_t[15:0];
            q_bit <= q_bit - 3'd1;
            if (q_bit == 3'd0) state <= S_CTX_REQ;
        end
        S_CTX_REQ: begin
            r_vq <= {q_rem[14:0], 1'b0};
            state <= S_CTX_WAIT;
        end
        S_CTX_WAIT: if (ctx_rsp_valid) begin
            live <= ctx_rsp_live;
            neg_mrg <= ctx_rsp_features[F_MRG_RXBUF];
            neg_vlan <= ctx_rsp_features[F_CTRL_VLAN];
            hdr_size <= hdr_size_of(ctx_rsp_features);
            state <= S_DECIDE;
        end

        // -- filter (RxFilter.accepts) ---------------------------------------------
        S_DECIDE: begin
            need <= rx_len + 32'(hdr_size);
            if (!live || f_reset_now || abort || rx_bad || rx_long || rx_len > MAX_FRAME || rx_len == 32'd0) begin
                stat_rx_drop_other <= stat_rx_drop_other + 32'd1;
                state <= S_FINISH;
            end else if (mode[M_PROMISC]) begin
                state <= S_FETCH;
            end else if (rx_len < 32'd14) begin
                stat_rx_drop_filter <= stat_rx_drop_filter + 32'd1;
                state <= S_FINISH;
            end else if (neg_vlan && is_vlan && rx_len >= 32'd16) begin
                state <= S_VLAN_RD;
            end else begin
                state <= S_ADDR;
            end
        end
        S_VLAN_RD: state <= S_VLAN_CAP;
        S_VLAN_CAP: begin
            if (!filt_vlan_rd_data[vid[4:0]]) begin
                stat_rx_drop_filter <= stat_rx_drop_filter + 32'd1;
                state <= S_FINISH;
            end else begin
                state <= S_ADDR;
            end
        end
        S_ADDR: begin
            mi <= '0;
            m_pend <= 1'b0;
            want_multi <= dst_multi;
            if (dst_multi) begin
                if (dst_bcast ? mode[M_NOBCAST] : mode[M_NOMULTI]) begin
                    stat_rx_drop_filter <= stat_rx_drop_filter + 32'd1;
                    state <= S_FINISH;
                end else if (dst_bcast || mode[M_ALLMULTI] || mode[M_MULTI_OVF]) begin
                    state <= S_FETCH;
                end else begin
                    state <= S_SCAN;
                end
            end else begin
                if (mode[M_NOUNI]) begin
                    stat_rx_drop_filter <= stat_rx_drop_filter + 32'd1;
                    state <= S_FINISH;
                end else if (mode[M_ALLUNI] || mode[M_UNI_OVF] || dst == own_mac) begin
                    state <= S_FETCH;
                end else begin
                    state <= S_SCAN;
                end
            end
        end
        S_SCAN: begin
            m_pend <= filt_mac_rd_en;
            if (filt_mac_rd_en) mi <= mi + 7'd1;
            if (mac_hit) begin
                state <= S_FETCH;
            end else if (!filt_mac_rd_en && !m_pend) begin
                stat_rx_drop_filter <= stat_rx_drop_filter + 32'd1;
                state <= S_FINISH;
            end
        end

        // -- buffers ---------------------------------------------------------------
        S_FETCH: if (m_axis_fetch_ready) begin
            seg_rd <= 1'b0;
            seg_err <= 1'b0;
            seg_last_seen <= 1'b0;
            b_wlen <= '0;
            state <= S_ANS;
        end
        S_ANS: begin
            if (seg_hs) begin
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
                if (s_axis_seg_write) b_wlen <= b_wlen + 64'(s_axis_seg_len);
                else                  seg_rd <= 1'b1;
                if (s_axis_seg_last) seg_last_seen <= 1'b1;
            end
            if (buf_hs) begin
                a_none <= s_axis_buf_none;
                a_err <= s_axis_buf_error;
                a_id <= s_axis_buf_id;
                a_nd <= s_axis_buf_num_desc;
                a_slot <= s_axis_buf_slot_next;
                a_wrap <= s_axis_buf_wrap_next;
                state <= S_BUF;
            end
        end
        S_BUF: begin
            if (abort || f_reset_now) begin
                stat_rx_drop_other <= stat_rx_drop_other + 32'd1;
                state <= S_FINISH;
            end else if (a_none) begin
                stat_rx_drop_nobuf <= stat_rx_drop_nobuf + 32'd1;
                state <= S_FINISH;
            end else if (a_err || seg_err) begin
                stat_rx_drop_other <= stat_rx_drop_other + 32'd1;
                state <= S_FINISH;
            end else if (seg_rd || (neg_mrg && n_bufs == '0 && b_wlen < 64'(hdr_size))) begin
                needs_reset_set[fidx] <= 1'b1;
                stat_rx_drop_other <= stat_rx_drop_other + 32'd1;
                state <= S_FINISH;
            end else if (seg_ovf || 32'(n_bufs) >= MAX_SEGS) begin
                stat_rx_drop_other <= stat_rx_drop_other + 32'd1;
                state <= S_FINISH;
            end else begin
                for (int i = 0; i < MAX_SEGS; i++) begin
                    if (32'(n_bufs) == i) begin
                        buf_id[i] <= a_id;
                        buf_nd[i] <= a_nd;
                        // bytes of the stream this buffer takes: min(writable, need - room)
                        buf_ulen[i] <= (b_wlen < need64 - room) ? b_wlen[31:0] : 32'(need64 - room);
                    end
                end
                n_bufs <= n_bufs + 1'b1;
                room <= room + b_wlen;
                nxt_slot <= a_slot;
                nxt_wrap <= a_wrap;
                if (room + b_wlen >= need64) begin
                    state <= S_HDR;
                end else if (!neg_mrg) begin
                    stat_rx_drop_nobuf <= stat_rx_drop_nobuf + 32'd1;     // pymodel TOO_BIG
                    state <= S_FINISH;
                end else begin
                    state <= S_FETCH;
                end
            end
        end

        // -- header + frame into the buffers ---------------------------------------
        S_HDR: begin
            // header right-aligned in the first row: all zero but num_buffers at offset 10
            buf_wr_en <= 1'b1;
            buf_wr_addr <= ROW_W'(WR_ROW);
            buf_wr_be <= '1;
            buf_wr_data <= 512'(n_bufs) << (8 * (64 - 32'(hdr_size) + 10));
            cur_i <= '0;
            cur_off <= '0;
            mv_left <= need;
            mv_ram <= RAM_ADDR_W'(WR_RAM_ADDR + 64) - RAM_ADDR_W'(hdr_size);
            state <= S_MOVE;
        end
        S_MOVE: begin
            if (m_axis_wr_desc_valid) begin
                if (wr_hs) begin
                    m_axis_wr_desc_valid <= 1'b0;
                    cur_off <= cur_off + mv_piece;
                    mv_left <= mv_left - mv_piece;
                    mv_ram <= mv_ram + RAM_ADDR_W'(mv_piece);
                end
            end else if (mv_left == 32'd0 || dead || f_reset_now || !c_valid) begin
                state <= S_DRAIN;
            end else if (cur_off == c_len) begin
                cur_i <= cur_i + 1'b1;
                cur_off <= '0;
            end else begin
                // mv_left <= 32 + MAX_FRAME, so the piece fits LEN_W
                mv_piece <= c_piece;
                m_axis_wr_desc_valid <= 1'b1;
                m_axis_wr_desc_pcie_addr <= c_addr + 64'(cur_off);
                m_axis_wr_desc_ram_addr <= mv_ram;
                m_axis_wr_desc_len <= LEN_W'(c_piece);
            end
        end
        S_DRAIN: if (wr_out == 16'd0 && !s_axis_wr_desc_status_valid) begin
            ub <= '0;
            if (dead || f_reset_now) begin
                stat_rx_drop_other <= stat_rx_drop_other + 32'd1;
                state <= S_FINISH;
            end else begin
                state <= S_USED;
            end
        end
        S_USED: begin
            if (!m_axis_used_valid) begin
                if (dead || f_reset_now) begin
                    stat_rx_drop_other <= stat_rx_drop_other + 32'd1;
                    state <= S_FINISH;
                end else if (ub == n_bufs) begin
                    state <= S_COMMIT;
                end else begin
                    m_axis_used_valid <= 1'b1;
                end
            end else if (m_axis_used_ready) begin
                m_axis_used_valid <= 1'b0;
                ub <= ub + 1'b1;
            end
        end
        S_COMMIT: begin
            if (dead || f_reset_now) begin
                stat_rx_drop_other <= stat_rx_drop_other + 32'd1;
            end else begin
                m_commit_valid <= 1'b1;
                stat_rx_frames <= stat_rx_frames + 32'd1;
            end
            state <= S_FINISH;
        end
        S_FINISH: begin
            r_active <= 1'b0;
            rx_beats <= '0;
            rx_long <= 1'b0;
            rx_bad <= 1'b0;
            n_segs <= '0;
            n_bufs <= '0;
            seg_ovf <= 1'b0;
            room <= '0;
            m_pend <= 1'b0;
            state <= S_RX;
        end
        default: state <= S_FINISH;
        endcase

        if (rst) begin
            state <= S_FINISH;
            r_active <= 1'b0;
            fail <= 1'b0;
            abort <= 1'b0;
            wr_out <= '0;
            needs_reset_set <= '0;
            buf_wr_en <= 1'b0;
            m_commit_valid <= 1'b0;
            m_axis_wr_desc_valid <= 1'b0;
            m_axis_used_valid <= 1'b0;
            stat_rx_frames <= '0;
            stat_rx_drop_nobuf <= '0;
            stat_rx_drop_filter <= '0;
            stat_rx_drop_other <= '0;
        end
    end

endmodule

`resetall
