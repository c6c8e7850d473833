// SPDX-License-Identifier: Apache-2.0
//
// virtio-blk request engine (virtio.md §7): executes the requests of the
// buffers vio_pring_avail hands over and produces their used records.
// Outcomes are exactly pymodel.blk.BlkDevice.process, on byte streams: the
// 16-byte header {le32 type; le32 reserved; le64 sector} is readable bytes
// 0..15 (it may span segments), OUT data is readable bytes 16.., IN / GET_ID
// data goes to the first writable bytes and the status byte is the LAST
// writable byte (writable offset room-1).
//
// SHORTCUT: one request at a time, start to finish; a request's DMA pieces
// are issued back to back but each stage (header, a data chunk, the status
// byte) waits for all its statuses before the next one starts.
//
// Per buffer:
//   1. segments (s_axis_seg_*) go into a table of MAX_SEGS entries (flops),
//      with the readable / writable byte counts summed; then the record
//      (s_axis_buf_*) is taken (a record without a preceding last segment is
//      taken too: never a hang).
//   2. a record with error set, a segment with error set, or a function
//      number >= NUM_FUNC: the buffer is dropped silently (the ring engine
//      already raised needs_reset). Otherwise (func, queue) is looked up on
//      ctx_req/ctx_rsp (one cycle): not live, or func_reset[f]: dropped.
//      More than MAX_SEGS segments (pymodel max_chain), fewer than 16
//      readable bytes, or no writable byte: one needs_reset_set[f] pulse,
//      dropped (no DMA, no used record).
//   3. the header is gathered with DMA reads (m_axis_rd_desc_*, one piece per
//      segment touched, zero-length segments skipped) into the 64-byte header
//      row at RD_RAM_ADDR and read back on buf_rd_*.
//   4. the decision (pymodel BlkDevice._dispatch), data_room = writable - 1:
//        IN      data_room % 512 != 0 or sector + data_room/512 > capacity
//                -> IOERR, else backend READ (sector, data_room/512);
//        OUT     RO offered (FUNC_FEATURES bit 5 of f) -> IOERR;
//                (readable-16) % 512 != 0 or out of range -> IOERR,
//                else backend WRITE (sector, (readable-16)/512);
//        FLUSH   FLUSH (bit 9) not negotiated -> UNSUPP, else backend FLUSH
//                (sector 0, count 0);
//        GET_ID  min(20, data_room) bytes of blk_serial[f] (NUL padded) are
//                written to writable offset 0, no backend op;
//        other   (DISCARD / WRITE_ZEROES are not offered) -> UNSUPP.
//      The range check is sector <= capacity && count <= capacity - sector
//      (no 64-bit overflow near 2^64).
//   5. data moves in CHUNK-byte pieces staged in the RAM region after the
//      64-byte row of each RAM. OUT: gather readable bytes with DMA reads,
//      then stream the chunk from the read RAM on m_axis_be_wr (one frame of
//      count*512 bytes for the request, after its be_req; full beats, tlast
//      on the final beat). IN: take CHUNK bytes of the be_rd frame into the
//      write RAM, scatter them with DMA writes, next chunk. Count 0 (READ /
//      WRITE of no data, which pymodel issues too): the be_req carries count
//      0 and there is NO data frame in either direction. A backend rsp status
//      != 0, an rsp tag that is not the request's, or a READ frame whose tlast
//      is not on beat count*8 -> IOERR (data already written stays, used
//      len 1); an early tlast ends the frame. be_rd tkeep is not looked at
//      (whole beats).
//   6. the status byte is staged at byte 0 of the write row (WR_RAM_ADDR) and
//      written with ONE one-byte DMA write at writable offset room-1, after
//      every data write of the request has its status.
//   7. used record: id, func, queue, num_desc of the record; len = data
//      bytes written + 1 (IN: data_room + 1 when OK, else 1; GET_ID:
//      min(20, data_room) + 1; everything else 1), truncated to 32 bits.
//
// Errors while a request runs (never a hang, no DMA outside the buffer's
// segments, a DMA piece never crosses a segment and is at most CHUNK bytes):
//   * DMA read error (header or OUT data) / DMA write error (data or status
//     byte): one needs_reset_set[f] pulse (none while func_reset[f]); no
//     further DMA, no status byte, no used record; the DMA already issued is
//     waited for.
//   * func_reset[f] while a request of f runs: same, silently (a used record
//     already presented on m_axis_used stays valid until taken; a status
//     byte write already issued completes).
//   * in both cases a backend exchange already started is finished so the
//     backend streams stay in sync: an IN frame is consumed and dropped, the
//     remaining beats of an OUT frame are sent with tkeep = 0 ("no data":
//     the backend must leave those bytes of the disk unchanged), and the rsp
//     is taken. Before the be_req was sent, no backend op happens at all.
// Statuses on the DMA status ports are all taken as this block's (the top
// routes them by tag); the backend is trusted for the frame length of a
// WRITE (it takes count*512 bytes).
// func_quiesced[f] is low from the record handshake of a request of f until
// it is finished; busy is high from the first segment of a buffer.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_blk_req #(
    parameter int NUM_FUNC      = 2,       // functions
    parameter logic [NUM_FUNC*128-1:0] FUNC_FEATURES = '0,  // offered features per function (bit 5 RO)
    parameter int MAX_SEGS      = 64,      // segments one request may have (1..256); more -> needs_reset
    parameter int CHUNK         = 4096,    // bytes staged per data chunk (power of 2, 512..32768)
    parameter int RAM_ADDR_W    = 18,      // buffer RAM byte address width
    parameter int RD_RAM_ADDR   = 4096,    // read-RAM region: 64 B header row, then CHUNK bytes (64-aligned)
    parameter int WR_RAM_ADDR   = 4096,    // write-RAM region: 64 B status/ID row, then CHUNK bytes (64-aligned)
    parameter int LEN_W         = 16,      // DMA descriptor length width
    parameter int OP_TAG_W      = 8,       // DMA descriptor tag width
    parameter int RD_DMA_TAG    = 0,       // tag on the DMA read descriptor port
    parameter int WR_DMA_TAG    = 0,       // tag on the DMA write descriptor port
    parameter int BE_TAG_HI_W   = 0,       // high bits of the backend tag that name this engine (0..4)
    parameter int BE_TAG_HI     = 0        // their value (several engines share one backend port)
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
    input  wire logic [NUM_FUNC*64-1:0]      blk_capacity,         // sectors per function
    input  wire logic [NUM_FUNC*160-1:0]     blk_serial,           // GET_ID string, byte 0 in [7:0]
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

    // storage backend
    output logic                             m_axis_be_req_valid,
    input  wire logic                        m_axis_be_req_ready,
    output logic      [3:0]                  m_axis_be_req_op,     // 0 READ, 1 WRITE, 2 FLUSH
    output logic      [7:0]                  m_axis_be_req_func,
    output logic      [15:0]                 m_axis_be_req_queue,
    output logic      [63:0]                 m_axis_be_req_sector,
    output logic      [31:0]                 m_axis_be_req_count,  // 512-byte sectors
    output logic      [7:0]                  m_axis_be_req_tag,
    output logic      [511:0]                m_axis_be_wr_tdata,
    output logic      [63:0]                 m_axis_be_wr_tkeep,
    output logic                             m_axis_be_wr_tvalid,
    input  wire logic                        m_axis_be_wr_tready,
    output logic                             m_axis_be_wr_tlast,
    input  wire logic [511:0]                s_axis_be_rd_tdata,
    input  wire logic [63:0]                 s_axis_be_rd_tkeep,
    input  wire logic                        s_axis_be_rd_tvalid,
    output logic                             s_axis_be_rd_tready,
    input  wire logic                        s_axis_be_rd_tlast,
    input  wire logic                        s_axis_be_rsp_valid,
    output logic                             s_axis_be_rsp_ready,
    input  wire logic [7:0]                  s_axis_be_rsp_tag,
    input  wire logic [1:0]                  s_axis_be_rsp_status, // 0 OK

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

    localparam int FI_W    = NUM_FUNC > 1 ? $clog2(NUM_FUNC) : 1;
    localparam int SI_W    = $clog2(MAX_SEGS + 1);
    localparam int ROW_W   = RAM_ADDR_W - 6;
    localparam int CH_BEATS = CHUNK / 64;
    localparam int CB_W    = $clog2(CH_BEATS + 1);
    localparam int RD_ROW  = RD_RAM_ADDR / 64;
    localparam int WR_ROW  = WR_RAM_ADDR / 64;
    localparam int F_RO    = 5;
    localparam int F_FLUSH = 9;

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_blk_req: NUM_FUNC must be 1..256");
        if (MAX_SEGS < 1 || MAX_SEGS > 256) $fatal(1, "vio_blk_req: MAX_SEGS must be 1..256");
        if (BE_TAG_HI_W < 0 || BE_TAG_HI_W > 4 || BE_TAG_HI < 0 || BE_TAG_HI >= (1 << BE_TAG_HI_W))
            $fatal(1, "vio_blk_req: BE_TAG_HI must fit BE_TAG_HI_W (0..4 bits)");
        if (CHUNK < 512 || CHUNK > 32768 || (CHUNK & (CHUNK - 1)) != 0)
            $fatal(1, "vio_blk_req: CHUNK must be a power of 2 in 512..32768");
        if (RD_RAM_ADDR % 64 != 0 || WR_RAM_ADDR % 64 != 0)
            $fatal(1, "vio_blk_req: RD_RAM_ADDR / WR_RAM_ADDR must be 64-aligned");
        if (RAM_ADDR_W < 7 || RAM_ADDR_W > 32 || RD_RAM_ADDR < 0 || WR_RAM_ADDR < 0
            || 64'(RD_RAM_ADDR) + 64 + 64'(CHUNK) > (64'd1 << RAM_ADDR_W)
            || 64'(WR_RAM_ADDR) + 64 + 64'(CHUNK) > (64'd1 << RAM_ADDR_W))
            $fatal(1, "vio_blk_req: RAM region outside the buffer RAM");
        if (LEN_W < 1 || LEN_W > 32 || 64'(CHUNK) > (64'd1 << LEN_W) - 1)
            $fatal(1, "vio_blk_req: LEN_W too small for CHUNK");
        if (OP_TAG_W < 1 || OP_TAG_W > 32 || RD_DMA_TAG < 0 || 64'(RD_DMA_TAG) >= (64'd1 << OP_TAG_W)
            || WR_DMA_TAG < 0 || 64'(WR_DMA_TAG) >= (64'd1 << OP_TAG_W))
            $fatal(1, "vio_blk_req: RD_DMA_TAG / WR_DMA_TAG do not fit OP_TAG_W");
    end

    // request types, status values, backend ops
    localparam logic [31:0] T_IN = 32'd0, T_OUT = 32'd1, T_FLUSH = 32'd4, T_GET_ID = 32'd8;
    localparam logic [7:0]  ST_OK = 8'd0, ST_IOERR = 8'd1, ST_UNSUPP = 8'd2;
    localparam logic [3:0]  OP_READ = 4'd0, OP_WRITE = 4'd1, OP_FLUSH = 4'd2;

    // ------------------------------------------------------------------
    // state
    // ------------------------------------------------------------------

    typedef enum logic [4:0] {
        S_IDLE,       // collecting segments
        S_REC,        // last segment seen, waiting for the record
        S_CTX_REQ, S_CTX_WAIT,
        S_CHECK,      // framing checks, start of the header gather
        S_MOVE,       // DMA / cursor mover
        S_DRAIN,      // wait for every DMA status
        S_HDR_RD, S_HDR_CAP,
        S_DECIDE,
        S_ID_STAGE,
        S_BE_REQ,
        S_IN_RX,      // IN: receiving a chunk of the be_rd frame
        S_OUT_GATHER, // OUT: start of a chunk
        S_OUT_RD, S_OUT_LAT, S_OUT_TX,
        S_BE_RSP,
        S_STATUS,
        S_USED,
        S_FINISH
    } state_t;

    typedef enum logic [2:0] {
        R_HDR, R_ID, R_IN, R_OUT, R_STSEEK, R_ST
    } ret_t;

    typedef enum logic [2:0] {
        K_STATUS, K_FLUSH, K_ID, K_IN, K_OUT
    } kind_t;

    state_t state;
    ret_t   mv_ret;
    kind_t  kind;

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
    logic        r_active;       // a request of r_func is in this block
    wire [FI_W-1:0] fidx = r_func[FI_W-1:0];

    // request
    logic        live;
    logic        neg_flush;
    logic [31:0] h_type;
    logic [63:0] h_sector;
    logic [63:0] room1;          // data_room = writable - 1
    logic [63:0] rdata;          // readable - 16
    logic [63:0] xfer_left;      // IN: beats of the frame left; OUT: bytes left
    logic [31:0] be_count;
    logic [7:0]  st;             // status byte
    logic [31:0] used_len;
    logic [4:0]  id_len;
    logic        be_err;
    logic        fail;           // DMA error seen
    logic        abort;          // func_reset seen
    wire         dead = fail || abort;
    logic [7:0]  be_seq;

    // mover: cursor over the segments of one direction
    logic            mv_kind;    // 0 readable, 1 writable
    logic            mv_dma;     // 1 DMA pieces, 0 only move the cursor
    logic [63:0]     mv_left;
    logic [RAM_ADDR_W-1:0] mv_ram;
    logic [31:0]     mv_piece;
    logic [SI_W-1:0] cur_i;
    logic [31:0]     cur_off;
    logic [15:0]     rd_out;     // DMA reads in flight
    logic [15:0]     wr_out;     // DMA writes in flight

    // chunk counters
    logic [CB_W-1:0] ch_beats;   // beats in the current chunk
    logic [CB_W-1:0] tx_i;       // next beat to send from the chunk
    logic            chunk_ok;   // the chunk's data is valid (OUT)

    // ------------------------------------------------------------------
    // combinational helpers
    // ------------------------------------------------------------------

    // the segment under the cursor
    logic        c_valid;
    logic [63:0] c_addr;
    logic [31:0] c_len;
    logic        c_wr;
    logic [31:0] c_rest;
    logic [63:0] c_piece;

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
        c_piece = (64'(c_rest) < mv_left) ? 64'(c_rest) : mv_left;
    end

    // decision inputs
    logic [63:0] cap;
    logic [159:0] serial;
    logic        ro;
    always_comb begin
        cap = blk_capacity[64 * 32'(fidx) +: 64];
        serial = blk_serial[160 * 32'(fidx) +: 160];
        ro = FUNC_FEATURES[128 * 32'(fidx) + F_RO];
    end

    function automatic logic in_range(input logic [63:0] sector, input logic [63:0] count,
                                      input logic [63:0] capacity);
        return sector <= capacity && count <= capacity - sector;
    endfunction

    wire        f_reset_now = func_reset[fidx];
    wire        rd_hs = m_axis_rd_desc_valid && m_axis_rd_desc_ready;
    wire        wr_hs = m_axis_wr_desc_valid && m_axis_wr_desc_ready;
    wire        rd_beat = s_axis_be_rd_tvalid && s_axis_be_rd_tready;

    assign s_axis_seg_ready = (state == S_IDLE);
    assign s_axis_buf_ready = (state == S_REC);
    assign ctx_req_valid = (state == S_CTX_REQ);
    assign ctx_req_func = r_func;
    assign ctx_req_queue = r_queue;
    assign m_axis_rd_desc_func = r_func;
    assign m_axis_wr_desc_func = r_func;
    assign m_axis_rd_desc_tag = OP_TAG_W'(RD_DMA_TAG);
    assign m_axis_wr_desc_tag = OP_TAG_W'(WR_DMA_TAG);
    assign buf_rd_en = (state == S_HDR_RD) || (state == S_OUT_RD);
    assign buf_rd_addr = (state == S_HDR_RD) ? ROW_W'(RD_ROW) : ROW_W'(RD_ROW + 1) + ROW_W'(tx_i);
    assign s_axis_be_rd_tready = (state == S_IN_RX);
    assign s_axis_be_rsp_ready = (state == S_BE_RSP);
    assign m_axis_be_req_func = r_func;
    assign m_axis_be_req_queue = r_queue;
    // backend tag: {engine id, sequence number}; a response must carry it back
    localparam logic [7:0] BE_HI_MASK = BE_TAG_HI_W == 0 ? 8'h00 : 8'hFF << (8 - BE_TAG_HI_W);
    wire [7:0] be_tag = (be_seq & ~BE_HI_MASK) | ((8'(BE_TAG_HI) << (8 - BE_TAG_HI_W)) & BE_HI_MASK);
    assign m_axis_be_req_tag = be_tag;
    assign m_axis_used_func = r_func;
    assign m_axis_used_queue = r_queue;
    assign m_axis_used_id = r_id;
    assign m_axis_used_num_desc = r_num_desc;
    assign m_axis_used_len = used_len;
    assign busy = !(state == S_IDLE && !seg_any);
    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++)
            func_quiesced[f] = !(r_active && 32'(r_func) == f);
    end

    wire unused_ok = &{1'b0, s_axis_buf_slot_first, s_axis_buf_wrap_first, s_axis_buf_indirect,
                       s_axis_rd_desc_status_tag, s_axis_wr_desc_status_tag, s_axis_be_rd_tkeep,
                       ctx_rsp_features[127:F_FLUSH+1], ctx_rsp_features[F_FLUSH-1:0],
                       buf_rd_data[511:128], buf_rd_data[63:32]};

    // ------------------------------------------------------------------
    // main FSM
    // ------------------------------------------------------------------

    always_ff @(posedge clk) begin
        needs_reset_set <= '0;
        buf_wr_en <= 1'b0;

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
            neg_flush <= ctx_rsp_features[F_FLUSH];
            state <= S_CHECK;
        end
        S_CHECK: begin
            if (!live || f_reset_now || abort) begin
                state <= S_FINISH;
            end else if (seg_ovf || rd_bytes < 64'd16 || wr_bytes == 64'd0) begin
                needs_reset_set[fidx] <= 1'b1;
                state <= S_FINISH;
            end else begin
                room1 <= wr_bytes - 64'd1;
                rdata <= rd_bytes - 64'd16;
                cur_i <= '0;
                cur_off <= '0;
                mv_kind <= 1'b0;
                mv_dma <= 1'b1;
                mv_left <= 64'd16;
                mv_ram <= RAM_ADDR_W'(RD_RAM_ADDR);
                mv_ret <= R_HDR;
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
                    mv_left <= mv_left - 64'(mv_piece);
                    mv_ram <= mv_ram + RAM_ADDR_W'(mv_piece);
                end
            end else if (mv_left == 64'd0 || (mv_dma && dead) || !c_valid) begin
                state <= S_DRAIN;
            end else if (c_wr != mv_kind || cur_off == c_len) begin
                cur_i <= cur_i + 1'b1;
                cur_off <= '0;
            end else if (!mv_dma) begin
                cur_off <= cur_off + c_piece[31:0];
                mv_left <= mv_left - c_piece;
            end else begin
                // DMA mode: mv_left <= CHUNK, so the piece fits LEN_W
                mv_piece <= c_piece[31:0];
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
            case (mv_ret)
            R_HDR:    state <= dead ? S_FINISH : S_HDR_RD;
            R_ID:     state <= S_STATUS;
            R_IN:     state <= (xfer_left == 64'd0) ? S_BE_RSP : S_IN_RX;
            R_OUT: begin
                chunk_ok <= !dead;
                tx_i <= '0;
                state <= S_OUT_RD;
            end
            R_STSEEK: begin
                mv_dma <= 1'b1;
                mv_left <= 64'd1;
                mv_ram <= RAM_ADDR_W'(WR_RAM_ADDR);
                mv_ret <= R_ST;
                state <= S_MOVE;
            end
            default:  state <= dead ? S_FINISH : S_USED;    // R_ST
            endcase
        end

        // -- header and decision -------------------------------------------
        S_HDR_RD: state <= S_HDR_CAP;
        S_HDR_CAP: begin
            h_type <= buf_rd_data[31:0];
            h_sector <= buf_rd_data[127:64];
            state <= S_DECIDE;
        end
        S_DECIDE: begin
            st <= ST_OK;
            used_len <= 32'd1;
            be_err <= 1'b0;
            if (h_type != T_OUT) begin    // IN / GET_ID start at writable offset 0;
                cur_i <= '0;              // OUT data follows the header
                cur_off <= '0;
            end
            id_len <= (room1 < 64'd20) ? room1[4:0] : 5'd20;
            if (h_type == T_IN) begin
                if (room1[8:0] != 9'd0 || !in_range(h_sector, room1 >> 9, cap)) begin
                    st <= ST_IOERR;
                    kind <= K_STATUS;
                end else begin
                    kind <= K_IN;
                    m_axis_be_req_op <= OP_READ;
                    m_axis_be_req_sector <= h_sector;
                    be_count <= 32'(room1 >> 9);
                    xfer_left <= room1 >> 6;         // beats
                end
            end else if (h_type == T_OUT) begin
                if (ro || rdata[8:0] != 9'd0 || !in_range(h_sector, rdata >> 9, cap)) begin
                    st <= ST_IOERR;
                    kind <= K_STATUS;
                end else begin
                    kind <= K_OUT;
                    m_axis_be_req_op <= OP_WRITE;
                    m_axis_be_req_sector <= h_sector;
                    be_count <= 32'(rdata >> 9);
                    xfer_left <= rdata;              // bytes
                end
            end else if (h_type == T_FLUSH) begin
                if (!neg_flush) begin
                    st <= ST_UNSUPP;
                    kind <= K_STATUS;
                end else begin
                    kind <= K_FLUSH;
                    m_axis_be_req_op <= OP_FLUSH;
                    m_axis_be_req_sector <= '0;
                    be_count <= '0;
                    xfer_left <= '0;
                end
            end else if (h_type == T_GET_ID) begin
                kind <= K_ID;
            end else begin
                st <= ST_UNSUPP;
                kind <= K_STATUS;
            end
            state <= S_ID_STAGE;
        end
        S_ID_STAGE: begin
            if (dead) begin
                state <= S_FINISH;
            end else if (kind == K_STATUS) begin
                state <= S_STATUS;
            end else if (kind == K_ID) begin
                buf_wr_en <= 1'b1;
                buf_wr_addr <= ROW_W'(WR_ROW + 1);
                buf_wr_be <= 64'h0000_0000_000f_ffff;
                buf_wr_data <= {352'd0, serial};
                used_len <= 32'(id_len) + 32'd1;
                mv_kind <= 1'b1;
                mv_dma <= 1'b1;
                mv_left <= 64'(id_len);
                mv_ram <= RAM_ADDR_W'(WR_RAM_ADDR + 64);
                mv_ret <= R_ID;
                state <= S_MOVE;
            end else begin
                m_axis_be_req_valid <= 1'b1;
                m_axis_be_req_count <= be_count;
                state <= S_BE_REQ;
            end
        end

        // -- backend --------------------------------------------------------
        S_BE_REQ: if (m_axis_be_req_ready) begin
            m_axis_be_req_valid <= 1'b0;
            ch_beats <= '0;
            if (kind == K_IN && xfer_left != 64'd0) state <= S_IN_RX;
            else if (kind == K_OUT && xfer_left != 64'd0) state <= S_OUT_GATHER;
            else state <= S_BE_RSP;
        end
        S_IN_RX: if (rd_beat) begin
            buf_wr_en <= 1'b1;
            buf_wr_addr <= ROW_W'(WR_ROW + 1) + ROW_W'(ch_beats);
            buf_wr_be <= '1;
            buf_wr_data <= s_axis_be_rd_tdata;
            if (s_axis_be_rd_tlast != (xfer_left == 64'd1)) be_err <= 1'b1;
            xfer_left <= s_axis_be_rd_tlast ? 64'd0 : xfer_left - 64'd1;
            if (32'(ch_beats) + 1 == CH_BEATS || s_axis_be_rd_tlast || xfer_left == 64'd1) begin
                ch_beats <= '0;
                mv_kind <= 1'b1;
                mv_dma <= 1'b1;
                mv_left <= 64'({ch_beats + 1'b1, 6'd0});
                mv_ram <= RAM_ADDR_W'(WR_RAM_ADDR + 64);
                mv_ret <= R_IN;
                state <= S_MOVE;
            end else begin
                ch_beats <= ch_beats + 1'b1;
            end
        end
        S_OUT_GATHER: begin
            mv_kind <= 1'b0;
            mv_dma <= 1'b1;
            mv_left <= (xfer_left < 64'(CHUNK)) ? xfer_left : 64'(CHUNK);
            mv_ram <= RAM_ADDR_W'(RD_RAM_ADDR + 64);
            ch_beats <= (xfer_left < 64'(CHUNK)) ? CB_W'(xfer_left >> 6) : CB_W'(CH_BEATS);
            mv_ret <= R_OUT;
            state <= S_MOVE;
        end
        S_OUT_RD: state <= S_OUT_LAT;
        S_OUT_LAT: begin
            m_axis_be_wr_tvalid <= 1'b1;
            m_axis_be_wr_tdata <= buf_rd_data;
            m_axis_be_wr_tkeep <= chunk_ok ? '1 : '0;
            m_axis_be_wr_tlast <= (xfer_left == 64'd64);
            state <= S_OUT_TX;
        end
        S_OUT_TX: if (m_axis_be_wr_tready) begin
            m_axis_be_wr_tvalid <= 1'b0;
            xfer_left <= xfer_left - 64'd64;
            tx_i <= tx_i + 1'b1;
            if (xfer_left == 64'd64) state <= S_BE_RSP;
            else if (tx_i + 1'b1 == ch_beats) state <= S_OUT_GATHER;
            else state <= S_OUT_RD;
        end
        S_BE_RSP: if (s_axis_be_rsp_valid) begin
            if (s_axis_be_rsp_status != 2'd0 || s_axis_be_rsp_tag != be_tag || be_err) begin
                st <= ST_IOERR;
            end else if (kind == K_IN) begin
                used_len <= 32'(room1) + 32'd1;
            end
            be_seq <= be_seq + 8'd1;
            state <= S_STATUS;
        end

        // -- status byte and used record -----------------------------------
        S_STATUS: begin
            if (dead) begin
                state <= S_FINISH;
            end else begin
                buf_wr_en <= 1'b1;
                buf_wr_addr <= ROW_W'(WR_ROW);
                buf_wr_be <= 64'd1;
                buf_wr_data <= {504'd0, st};
                if (st != ST_OK) used_len <= 32'd1;
                cur_i <= '0;
                cur_off <= '0;
                mv_kind <= 1'b1;
                mv_dma <= 1'b0;
                mv_left <= room1;
                mv_ret <= R_STSEEK;
                state <= S_MOVE;
            end
        end
        S_USED: begin
            if (!m_axis_used_valid) begin
                m_axis_used_valid <= 1'b1;
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
            be_seq <= '0;
            needs_reset_set <= '0;
            buf_wr_en <= 1'b0;
            m_axis_rd_desc_valid <= 1'b0;
            m_axis_wr_desc_valid <= 1'b0;
            m_axis_be_req_valid <= 1'b0;
            m_axis_be_wr_tvalid <= 1'b0;
            m_axis_used_valid <= 1'b0;
        end
    end

endmodule

`resetall
