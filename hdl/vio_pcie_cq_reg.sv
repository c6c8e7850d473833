// SPDX-License-Identifier: Apache-2.0
//
// vio_pcie_cq_reg: PCIe completer for register BARs on the UltraScale+ CQ/CC
// interface (512-bit, DWORD-aligned, no straddling).
//
// Every completer request is received whole (payload kept in a 4 KiB buffer,
// so a TLP that ends with discontinue is discarded without any side effect),
// then executed strictly in arrival order:
//
//   MemWr  one `reg` write per DWORD (first_be / 4'hF ... / last_be); DWORDs
//          with no byte enabled and BAR offsets >= 2**REG_ADDR_W are skipped.
//   MemRd  one `reg` read per DWORD, carrying its byte enables (offsets
//          >= 2**REG_ADDR_W read as 0 without an access); up to RD_SLOTS reads
//          in flight; data lands in a completion buffer at its final position
//          and each completion (split at CPL_SPLIT boundaries) is sent once
//          all its data is in, so tvalid never drops inside a completion.
//   IO, atomics, locked reads, config requests
//          -> one completion with status UR and no data, stat_ur.
//   messages, malformed requests, discontinue
//          -> discarded, stat_drop.
//
// Malformed (dropped): fewer than 4 descriptor DWORDs, Dword Count above
// 1024, or a MemWr whose payload length differs from its Dword Count.
//
// Completion fields: lower address and byte count per PCIe rules, requester
// ID / tag / TC / attr / AT copied from the request, completer function =
// target function (completer_id_enable = 0, bus/device 0). A zero-length
// read (1 DWORD, first_be 0) issues one reg read with be 0 and returns one
// DWORD, byte count 1. UR completions: IO / config -> lower address 0, byte
// count 4; atomics -> operand size; locked read -> the read's lower address
// and byte count, locked-completion bit set.
//
// Throughput: about one DWORD per cycle each way (a 1024-DWORD read with
// 8-cycle reg latency completes in ~1.1k cycles). The next request is taken
// from CQ once the current one has issued all its reg accesses.
// Buffers: payload 65 x 512 bit; completions 2 x the largest completion
// (4 x 512 bit for CPL_SPLIT 64, 256 x 512 bit for 4096); 16 read slots.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_pcie_cq_reg #(
    // BAR offset width in bits; larger offsets read 0 / drop writes without a reg access (12..48)
    parameter int REG_ADDR_W = 24,
    // read completions end on multiples of CPL_SPLIT bytes except the last (power of two, 64..4096; RCB 64)
    parameter int CPL_SPLIT  = 64
) (
    input  wire logic                  clk,
    input  wire logic                  rst,

    // completer requests from the hard block
    input  wire logic [511:0]          s_axis_cq_tdata,
    input  wire logic [15:0]           s_axis_cq_tkeep,
    input  wire logic                  s_axis_cq_tvalid,
    output logic                       s_axis_cq_tready,
    input  wire logic                  s_axis_cq_tlast,
    input  wire logic [182:0]          s_axis_cq_tuser,

    // completer completions to the hard block
    output logic [511:0]               m_axis_cc_tdata,
    output logic [15:0]                m_axis_cc_tkeep,
    output logic                       m_axis_cc_tvalid,
    input  wire logic                  m_axis_cc_tready,
    output logic                       m_axis_cc_tlast,
    output logic [80:0]                m_axis_cc_tuser,

    // register access master (hdl/README.md, `reg`)
    output logic                       m_reg_req_valid,
    input  wire logic                  m_reg_req_ready,
    output logic                       m_reg_req_we,
    output logic [7:0]                 m_reg_req_func,
    output logic [2:0]                 m_reg_req_bar,
    output logic [REG_ADDR_W-1:0]      m_reg_req_addr,
    output logic [3:0]                 m_reg_req_be,
    output logic [31:0]                m_reg_req_wdata,
    input  wire logic                  m_reg_rsp_valid,
    input  wire logic [31:0]           m_reg_rsp_rdata,

    // non-posted credit requests to the hard block (one credit per cycle)
    output logic [1:0]                 pcie_cq_np_req,

    output logic                       stat_ur,     // pulse: a UR completion was sent
    output logic                       stat_drop    // pulse: a TLP was discarded
);

    import vio_pkg::*;

    // ------------------------------------------------------------------
    // sizes
    // ------------------------------------------------------------------

    localparam int SPLIT_DW   = CPL_SPLIT / 4;                   // DWORDs per split unit
    localparam int SPLIT_LOG2 = $clog2(CPL_SPLIT);
    localparam int CHUNK_ROWS = (3 + SPLIT_DW + 15) / 16;        // 512-bit beats of the largest completion
    localparam int CB_AW      = $clog2(2 * CHUNK_ROWS);          // completion buffer: two largest completions
    localparam int CB_ROWS    = 1 << CB_AW;
    localparam int CDF_DEPTH  = CB_ROWS;                         // completion headers (each data completion owns >= 1 row)
    localparam int RD_SLOTS   = 16;                              // reg reads in flight (and response buffer depth)
    localparam int SLOT_AW    = $clog2(RD_SLOTS);
    localparam int PL_ROWS    = (4 + 1024 + 15) / 16;            // descriptor + 1024 payload DWORDs
    localparam int PL_AW      = $clog2(PL_ROWS);

    initial begin
        if (CPL_SPLIT < 64 || CPL_SPLIT > 4096 || (CPL_SPLIT & (CPL_SPLIT - 1)) != 0)
            $fatal(1, "vio_pcie_cq_reg: CPL_SPLIT must be a power of two in 64..4096 (got %0d)", CPL_SPLIT);
        if (REG_ADDR_W < 12 || REG_ADDR_W > 48)
            $fatal(1, "vio_pcie_cq_reg: REG_ADDR_W must be in 12..48 (got %0d)", REG_ADDR_W);
    end

    // UltraScale+ request types not in vio_pkg
    localparam logic [3:0] REQ_FETCH_ADD  = 4'b0100;
    localparam logic [3:0] REQ_SWAP       = 4'b0101;
    localparam logic [3:0] REQ_CAS        = 4'b0110;
    localparam logic [3:0] REQ_MEM_RD_LK  = 4'b0111;

    // ------------------------------------------------------------------
    // helpers
    // ------------------------------------------------------------------

    // byte index of the lowest enabled byte (0 when none)
    function automatic logic [1:0] be_low(input logic [3:0] be);
        casez (be)
            4'b???1: be_low = 2'd0;
            4'b??10: be_low = 2'd1;
            4'b?100: be_low = 2'd2;
            4'b1000: be_low = 2'd3;
            default: be_low = 2'd0;
        endcase
    endfunction

    // disabled bytes above the highest enabled byte (0 when none)
    function automatic logic [1:0] be_high_gap(input logic [3:0] be);
        casez (be)
            4'b1???: be_high_gap = 2'd0;
            4'b01??: be_high_gap = 2'd1;
            4'b001?: be_high_gap = 2'd2;
            4'b0001: be_high_gap = 2'd3;
            default: be_high_gap = 2'd0;
        endcase
    endfunction

    // tkeep of a beat when `left` DWORDs of the packet remain
    function automatic logic [15:0] keep_of(input logic [10:0] left);
        if (left >= 11'd16)
            keep_of = 16'hffff;
        else
            keep_of = 16'((17'd1 << left[3:0]) - 17'd1);
    endfunction

    // CC descriptor (3 DWORDs)
    function automatic logic [95:0] cc_desc(
        input logic [6:0]  lower_addr,
        input logic [1:0]  at,
        input logic [12:0] byte_count,
        input logic        locked,
        input logic [10:0] dword_count,
        input logic [2:0]  status,
        input logic [15:0] requester_id,
        input logic [7:0]  tag,
        input logic [7:0]  func,
        input logic [2:0]  tc,
        input logic [2:0]  attr
    );
        logic [95:0] d;
        d        = '0;
        d[6:0]   = lower_addr;
        d[9:8]   = at;
        d[28:16] = byte_count;
        d[29]    = locked;
        d[42:32] = dword_count;
        d[45:43] = status;
        d[63:48] = requester_id;
        d[71:64] = tag;
        d[79:72] = func;             // completer ID: bus 0, ARI function number
        d[91:89] = tc;
        d[94:92] = attr;
        cc_desc  = d;
    endfunction

    // ------------------------------------------------------------------
    // CQ ingress: descriptor, payload buffer, length / discontinue check
    // ------------------------------------------------------------------

    typedef enum logic [2:0] {
        ST_RX_IDLE,     // waiting for the first beat of a request
        ST_RX,          // receiving the rest of the request
        ST_DECODE,      // classify the request, set up its execution
        ST_WR,          // MemWr: one reg write per DWORD
        ST_RD_CHUNK,    // MemRd: reserve buffer space for the next completion
        ST_RD_ISSUE,    // MemRd: one reg read per DWORD of the current completion
        ST_UR           // queue a UR completion
    } state_t;

    state_t state_reg, state_next;

    wire cq_hs    = s_axis_cq_tvalid && s_axis_cq_tready;
    wire cq_first = cq_hs && state_reg == ST_RX_IDLE;

    assign s_axis_cq_tready = state_reg == ST_RX_IDLE || state_reg == ST_RX;

    // descriptor of the request being received / executed
    logic [63:0] d_addr;
    logic [1:0]  d_at;
    logic [10:0] d_len;
    logic [3:0]  d_type;
    logic [15:0] d_rid;
    logic [7:0]  d_tag;
    logic [7:0]  d_func;
    logic [2:0]  d_bar;
    logic [5:0]  d_aper;
    logic [2:0]  d_tc;
    logic [2:0]  d_attr;
    logic [3:0]  d_first_be;
    logic [3:0]  d_last_be;

    always_ff @(posedge clk) begin
        if (cq_first) begin
            d_at       <= s_axis_cq_tdata[1:0];
            d_addr     <= {s_axis_cq_tdata[63:2], 2'b00};
            d_len      <= s_axis_cq_tdata[74:64];
            d_type     <= s_axis_cq_tdata[78:75];
            d_rid      <= s_axis_cq_tdata[95:80];
            d_tag      <= s_axis_cq_tdata[103:96];
            d_func     <= s_axis_cq_tdata[111:104];
            d_bar      <= s_axis_cq_tdata[114:112];
            d_aper     <= s_axis_cq_tdata[120:115];
            d_tc       <= s_axis_cq_tdata[123:121];
            d_attr     <= s_axis_cq_tdata[126:124];
            d_first_be <= s_axis_cq_tuser[3:0];
            d_last_be  <= s_axis_cq_tuser[11:8];
        end
    end

    // beats, DWORDs and discontinue of the request being received
    logic [PL_AW:0] rx_row;     // payload buffer row of the next beat
    logic [11:0]    rx_dw;      // DWORDs received (saturating)
    logic           rx_disc;

    logic [4:0]  beat_dw;
    logic [12:0] rx_dw_sum;

    always_comb begin
        beat_dw   = 5'($countones(s_axis_cq_tkeep));
        rx_dw_sum = (cq_first ? 13'd0 : {1'b0, rx_dw}) + 13'(beat_dw);
    end

    always_ff @(posedge clk) begin
        if (cq_hs) begin
            rx_dw   <= rx_dw_sum[12] ? 12'hfff : rx_dw_sum[11:0];
            rx_disc <= (cq_first ? 1'b0 : rx_disc) | s_axis_cq_tuser[96];
            if (s_axis_cq_tlast)
                rx_row <= '0;
            else if (rx_row < (PL_AW+1)'(PL_ROWS))
                rx_row <= rx_row + 1'b1;
        end
        if (rst) begin
            rx_row  <= '0;
            rx_dw   <= '0;
            rx_disc <= 1'b0;
        end
    end

    // payload buffer: one 512-bit row per beat (row 0 holds the descriptor)
    logic [511:0] pl_mem [PL_ROWS];
    logic [511:0] pl_rd_data;
    logic [10:0]  pl_idx_reg, pl_idx_next;   // DWORD index of the next write DWORD (payload DW k = k + 4)

    always_ff @(posedge clk) begin
        if (cq_hs && rx_row < (PL_AW+1)'(PL_ROWS))
            pl_mem[rx_row[PL_AW-1:0]] <= s_axis_cq_tdata;
        pl_rd_data <= pl_mem[pl_idx_next[PL_AW+3:4]];
    end

    // ------------------------------------------------------------------
    // decode (combinational on the latched descriptor; used in ST_DECODE)
    // ------------------------------------------------------------------

    logic [10:0] len_dw;        // 1..1024
    logic        len_bad;       // Dword Count above 1024
    logic [1:0]  first_off;     // lower address bits [1:0]
    logic [12:0] rd_byte_count; // byte count of the whole read
    logic [63:0] bar_off;       // offset inside the BAR
    logic        bar_off_high;  // offset >= 2**REG_ADDR_W from the start
    logic [6:0]  ur_la;
    logic [12:0] ur_bc;

    always_comb begin
        len_dw    = (d_len == 11'd0) ? 11'd1024 : d_len;
        len_bad   = d_len > 11'd1024;
        first_off = be_low(d_first_be);

        if (len_dw == 11'd1)
            rd_byte_count = (d_first_be == 4'd0) ? 13'd1
                          : 13'd4 - 13'(first_off) - 13'(be_high_gap(d_first_be));
        else
            rd_byte_count = {len_dw, 2'b00} - 13'(first_off) - 13'(be_high_gap(d_last_be));

        bar_off      = d_addr & ~({64{1'b1}} << d_aper);
        bar_off_high = (bar_off >> REG_ADDR_W) != 64'd0;

        // UR completion: lower address / byte count per completion type
        case (d_type)
            REQ_MEM_RD_LK: begin
                ur_la = {d_addr[6:2], first_off};
                ur_bc = rd_byte_count;
            end
            REQ_FETCH_ADD, REQ_SWAP: begin
                ur_la = {d_addr[6:2], 2'b00};
                ur_bc = {len_dw, 2'b00};
            end
            REQ_CAS: begin
                ur_la = {d_addr[6:2], 2'b00};
                ur_bc = {1'b0, len_dw, 1'b0};
            end
            default: begin   // IO, configuration
                ur_la = 7'd0;
                ur_bc = 13'd4;
            end
        endcase
    end

    // ------------------------------------------------------------------
    // execution state
    // ------------------------------------------------------------------

    logic [10:0]         k_left_reg, k_left_next;          // DWORDs of the request still to issue
    logic                is_first_reg, is_first_next;      // next DWORD is the first
    logic [REG_ADDR_W:0] cur_addr_reg, cur_addr_next;      // BAR offset of the next DWORD (+ carry)
    logic                off_high_reg, off_high_next;      // high BAR offset bits set: beyond the window
    logic [11:0]         cpl_addr_reg, cpl_addr_next;      // bus address [11:0] of the next completion
    logic [12:0]         bc_rem_reg, bc_rem_next;          // byte count of the next completion
    logic                first_cpl_reg, first_cpl_next;    // next completion is the first of the read
    logic [1:0]          first_off_reg, first_off_next;    // lower address [1:0] of the first completion
    logic [10:0]         chunk_left_reg, chunk_left_next;  // DWORDs of the current completion to issue
    logic [CB_AW-1:0]    iss_row_reg, iss_row_next;        // completion buffer row / lane of the next read DWORD
    logic [3:0]          iss_lane_reg, iss_lane_next;
    logic [6:0]          ur_la_reg, ur_la_next;
    logic [12:0]         ur_bc_reg, ur_bc_next;
    logic                ur_lk_reg, ur_lk_next;

    logic                  req_valid_reg, req_valid_next;
    logic                  req_we_reg, req_we_next;
    logic [7:0]            req_func_reg, req_func_next;
    logic [2:0]            req_bar_reg, req_bar_next;
    logic [REG_ADDR_W-1:0] req_addr_reg, req_addr_next;
    logic [3:0]            req_be_reg, req_be_next;
    logic [31:0]           req_wdata_reg, req_wdata_next;

    logic stat_drop_reg, stat_drop_next;

    // completion buffer allocation (rows [cb_rd_ptr, cb_alloc_ptr) are in use)
    logic [CB_AW:0] cb_alloc_ptr_reg, cb_alloc_ptr_next;
    logic [CB_AW:0] cb_rd_ptr_reg, cb_rd_ptr_next;
    logic [CB_AW:0] cb_used;        // rows in use: pointer difference modulo 2**(CB_AW+1)

    // completion header FIFO (one entry per completion, in order)
    logic [95:0]       cdf_hdr [CDF_DEPTH];
    logic [10:0]       cdf_n   [CDF_DEPTH];    // payload DWORDs, 0 = no data (UR)
    logic [CB_AW:0]    cdf_wr_ptr, cdf_rd_ptr;
    logic              cdf_push, cdf_pop;
    logic [95:0]       cdf_push_hdr;
    logic [10:0]       cdf_push_n;
    wire               cdf_full  = (cdf_wr_ptr - cdf_rd_ptr) == (CB_AW+1)'(CDF_DEPTH);
    wire               cdf_empty = cdf_wr_ptr == cdf_rd_ptr;

    // read slots: where each issued read DWORD goes, in issue order
    logic              slot_local [RD_SLOTS];   // no reg access: data is 0
    logic [CB_AW-1:0]  slot_row   [RD_SLOTS];
    logic [3:0]        slot_lane  [RD_SLOTS];
    logic              slot_last  [RD_SLOTS];   // last DWORD of its completion
    logic [SLOT_AW:0]  slot_wr_ptr, slot_rd_ptr;
    logic              slot_push, slot_pop;
    logic              slot_push_local, slot_push_last;
    wire               slot_full  = (slot_wr_ptr - slot_rd_ptr) == (SLOT_AW+1)'(RD_SLOTS);
    wire               slot_empty = slot_wr_ptr == slot_rd_ptr;

    // reg responses (never more than the non-local slots outstanding)
    logic [31:0]       rsp_data [RD_SLOTS];
    logic [SLOT_AW:0]  rsp_wr_ptr, rsp_rd_ptr;
    logic              rsp_pop;
    wire               rsp_empty = rsp_wr_ptr == rsp_rd_ptr;

    // ------------------------------------------------------------------
    // request FSM
    // ------------------------------------------------------------------

    logic        req_free;
    logic [3:0]  be_k;
    logic        oor_k;
    logic        fire;
    logic [10:0] to_split, n_chunk;
    logic [CB_AW+1:0] rows_chunk, cb_space;

    always_comb begin
        state_next        = state_reg;
        k_left_next       = k_left_reg;
        is_first_next     = is_first_reg;
        cur_addr_next     = cur_addr_reg;
        off_high_next     = off_high_reg;
        pl_idx_next       = pl_idx_reg;
        cpl_addr_next     = cpl_addr_reg;
        bc_rem_next       = bc_rem_reg;
        first_cpl_next    = first_cpl_reg;
        first_off_next    = first_off_reg;
        chunk_left_next   = chunk_left_reg;
        iss_row_next      = iss_row_reg;
        iss_lane_next     = iss_lane_reg;
        ur_la_next        = ur_la_reg;
        ur_bc_next        = ur_bc_reg;
        ur_lk_next        = ur_lk_reg;
        cb_alloc_ptr_next = cb_alloc_ptr_reg;

        req_valid_next = req_valid_reg && !m_reg_req_ready;
        req_we_next    = req_we_reg;
        req_func_next  = req_func_reg;
        req_bar_next   = req_bar_reg;
        req_addr_next  = req_addr_reg;
        req_be_next    = req_be_reg;
        req_wdata_next = req_wdata_reg;

        stat_drop_next = 1'b0;

        cdf_push     = 1'b0;
        cdf_push_hdr = '0;
        cdf_push_n   = '0;

        slot_push       = 1'b0;
        slot_push_local = 1'b0;
        slot_push_last  = 1'b0;

        req_free = !req_valid_reg || m_reg_req_ready;
        be_k     = is_first_reg ? d_first_be : (k_left_reg == 11'd1 ? d_last_be : 4'hf);
        oor_k    = off_high_reg || cur_addr_reg[REG_ADDR_W];
        fire     = 1'b0;

        // next completion: up to the next CPL_SPLIT boundary
        to_split   = 11'(SPLIT_DW) - 11'(cpl_addr_reg[SPLIT_LOG2-1:2]);
        n_chunk    = (k_left_reg < to_split) ? k_left_reg : to_split;
        rows_chunk = (CB_AW+2)'((n_chunk + 11'd18) >> 4);
        // the difference must wrap at the pointer width (CB_AW+1 bits): a size
        // cast to CB_AW+2 bits would widen the operands first and turn a wrapped
        // alloc pointer (numerically below the read pointer) into a huge space
        cb_used    = cb_alloc_ptr_reg - cb_rd_ptr_reg;
        cb_space   = (CB_AW+2)'(CB_ROWS) - {1'b0, cb_used};

        case (state_reg)
            ST_RX_IDLE, ST_RX: begin
                pl_idx_next = 11'd4;
                if (cq_hs)
                    state_next = s_axis_cq_tlast ? ST_DECODE : ST_RX;
            end

            ST_DECODE: begin
                k_left_next    = len_dw;
                is_first_next  = 1'b1;
                cur_addr_next  = {1'b0, bar_off[REG_ADDR_W-1:0]};
                off_high_next  = bar_off_high;
                cpl_addr_next  = d_addr[11:0];
                bc_rem_next    = rd_byte_count;
                first_cpl_next = 1'b1;
                first_off_next = first_off;
                ur_la_next     = ur_la;
                ur_bc_next     = ur_bc;
                ur_lk_next     = d_type == REQ_MEM_RD_LK;

                if (rx_disc || rx_dw < 12'd4) begin
                    stat_drop_next = 1'b1;
                    state_next     = ST_RX_IDLE;
                end else begin
                    case (d_type)
                        REQ_MEM_WR: begin
                            if (len_bad || rx_dw != 12'(len_dw) + 12'd4) begin
                                stat_drop_next = 1'b1;
                                state_next     = ST_RX_IDLE;
                            end else begin
                                state_next = ST_WR;
                            end
                        end
                        REQ_MEM_RD: begin
                            if (len_bad) begin
                                stat_drop_next = 1'b1;
                                state_next     = ST_RX_IDLE;
                            end else begin
                                state_next = ST_RD_CHUNK;
                            end
                        end
                        REQ_IO_RD, REQ_IO_WR, REQ_FETCH_ADD, REQ_SWAP, REQ_CAS, REQ_MEM_RD_LK,
                        4'b1000, 4'b1001, 4'b1010, 4'b1011: begin   // + configuration requests
                            state_next = ST_UR;
                        end
                        default: begin   // messages, reserved
                            stat_drop_next = 1'b1;
                            state_next     = ST_RX_IDLE;
                        end
                    endcase
                end
            end

            ST_WR: begin
                // DWORDs with nothing enabled or outside the register window: no access
                fire = (be_k == 4'd0 || oor_k) ? 1'b1 : req_free;
                if (fire && be_k != 4'd0 && !oor_k) begin
                    req_valid_next = 1'b1;
                    req_we_next    = 1'b1;
                    req_func_next  = d_func;
                    req_bar_next   = d_bar;
                    req_addr_next  = cur_addr_reg[REG_ADDR_W-1:0];
                    req_be_next    = be_k;
                    req_wdata_next = pl_rd_data[pl_idx_reg[3:0]*32 +: 32];
                end
                if (fire) begin
                    k_left_next   = k_left_reg - 11'd1;
                    is_first_next = 1'b0;
                    cur_addr_next = cur_addr_reg + (REG_ADDR_W+1)'(4);
                    pl_idx_next   = pl_idx_reg + 11'd1;
                    if (k_left_reg == 11'd1)
                        state_next = ST_RX_IDLE;
                end
            end

            ST_RD_CHUNK: begin
                if (!cdf_full && cb_space >= rows_chunk) begin
                    cdf_push     = 1'b1;
                    cdf_push_n   = n_chunk;
                    cdf_push_hdr = cc_desc({cpl_addr_reg[6:2], first_cpl_reg ? first_off_reg : 2'b00},
                                           d_at, bc_rem_reg, 1'b0, n_chunk, CPL_SC,
                                           d_rid, d_tag, d_func, d_tc, d_attr);
                    cb_alloc_ptr_next = cb_alloc_ptr_reg + (CB_AW+1)'(rows_chunk);
                    iss_row_next      = cb_alloc_ptr_reg[CB_AW-1:0];
                    iss_lane_next     = 4'd3;
                    chunk_left_next   = n_chunk;
                    cpl_addr_next     = cpl_addr_reg + {n_chunk[9:0], 2'b00};
                    bc_rem_next       = bc_rem_reg - {n_chunk, 2'b00}
                                      + (first_cpl_reg ? 13'(first_off_reg) : 13'd0);
                    first_cpl_next    = 1'b0;
                    state_next        = ST_RD_ISSUE;
                end
            end

            ST_RD_ISSUE: begin
                fire = !slot_full && (oor_k || req_free);
                if (fire) begin
                    slot_push       = 1'b1;
                    slot_push_local = oor_k;
                    slot_push_last  = chunk_left_reg == 11'd1;
                    if (!oor_k) begin
                        req_valid_next = 1'b1;
                        req_we_next    = 1'b0;
                        req_func_next  = d_func;
                        req_bar_next   = d_bar;
                        req_addr_next  = cur_addr_reg[REG_ADDR_W-1:0];
                        req_be_next    = be_k;
                        req_wdata_next = '0;
                    end
                    k_left_next     = k_left_reg - 11'd1;
                    chunk_left_next = chunk_left_reg - 11'd1;
                    is_first_next   = 1'b0;
                    cur_addr_next   = cur_addr_reg + (REG_ADDR_W+1)'(4);
                    iss_lane_next   = iss_lane_reg + 4'd1;
                    if (iss_lane_reg == 4'd15)
                        iss_row_next = iss_row_reg + 1'b1;
                    if (chunk_left_reg == 11'd1)
                        state_next = (k_left_reg == 11'd1) ? ST_RX_IDLE : ST_RD_CHUNK;
                end
            end

            ST_UR: begin
                if (!cdf_full) begin
                    cdf_push     = 1'b1;
                    cdf_push_n   = 11'd0;
                    cdf_push_hdr = cc_desc(ur_la_reg, d_at, ur_bc_reg, ur_lk_reg, 11'd0, CPL_UR,
                                           d_rid, d_tag, d_func, d_tc, d_attr);
                    state_next   = ST_RX_IDLE;
                end
            end

            default: state_next = ST_RX_IDLE;
        endcase
    end

    always_ff @(posedge clk) begin
        state_reg        <= state_next;
        k_left_reg       <= k_left_next;
        is_first_reg     <= is_first_next;
        cur_addr_reg     <= cur_addr_next;
        off_high_reg     <= off_high_next;
        pl_idx_reg       <= pl_idx_next;
        cpl_addr_reg     <= cpl_addr_next;
        bc_rem_reg       <= bc_rem_next;
        first_cpl_reg    <= first_cpl_next;
        first_off_reg    <= first_off_next;
        chunk_left_reg   <= chunk_left_next;
        iss_row_reg      <= iss_row_next;
        iss_lane_reg     <= iss_lane_next;
        ur_la_reg        <= ur_la_next;
        ur_bc_reg        <= ur_bc_next;
        ur_lk_reg        <= ur_lk_next;
        cb_alloc_ptr_reg <= cb_alloc_ptr_next;

        req_valid_reg    <= req_valid_next;
        req_we_reg       <= req_we_next;
        req_func_reg     <= req_func_next;
        req_bar_reg      <= req_bar_next;
        req_addr_reg     <= req_addr_next;
        req_be_reg       <= req_be_next;
        req_wdata_reg    <= req_wdata_next;

        stat_drop_reg    <= stat_drop_next;

        if (rst) begin
            state_reg        <= ST_RX_IDLE;
            pl_idx_reg       <= 11'd4;
            cb_alloc_ptr_reg <= '0;
            req_valid_reg    <= 1'b0;
            stat_drop_reg    <= 1'b0;
        end
    end

    assign m_reg_req_valid = req_valid_reg;
    assign m_reg_req_we    = req_we_reg;
    assign m_reg_req_func  = req_func_reg;
    assign m_reg_req_bar   = req_bar_reg;
    assign m_reg_req_addr  = req_addr_reg;
    assign m_reg_req_be    = req_be_reg;
    assign m_reg_req_wdata = req_wdata_reg;
    assign stat_drop       = stat_drop_reg;

    // ------------------------------------------------------------------
    // completion header FIFO, read slots, response FIFO
    // ------------------------------------------------------------------

    always_ff @(posedge clk) begin
        if (cdf_push) begin
            cdf_hdr[cdf_wr_ptr[CB_AW-1:0]] <= cdf_push_hdr;
            cdf_n[cdf_wr_ptr[CB_AW-1:0]]   <= cdf_push_n;
            cdf_wr_ptr <= cdf_wr_ptr + 1'b1;
        end
        if (cdf_pop)
            cdf_rd_ptr <= cdf_rd_ptr + 1'b1;

        if (slot_push) begin
            slot_local[slot_wr_ptr[SLOT_AW-1:0]] <= slot_push_local;
            slot_row[slot_wr_ptr[SLOT_AW-1:0]]   <= iss_row_reg;
            slot_lane[slot_wr_ptr[SLOT_AW-1:0]]  <= iss_lane_reg;
            slot_last[slot_wr_ptr[SLOT_AW-1:0]]  <= slot_push_last;
            slot_wr_ptr <= slot_wr_ptr + 1'b1;
        end
        if (slot_pop)
            slot_rd_ptr <= slot_rd_ptr + 1'b1;

        if (m_reg_rsp_valid) begin
            rsp_data[rsp_wr_ptr[SLOT_AW-1:0]] <= m_reg_rsp_rdata;
            rsp_wr_ptr <= rsp_wr_ptr + 1'b1;
        end
        if (rsp_pop)
            rsp_rd_ptr <= rsp_rd_ptr + 1'b1;

        if (rst) begin
            cdf_wr_ptr  <= '0;
            cdf_rd_ptr  <= '0;
            slot_wr_ptr <= '0;
            slot_rd_ptr <= '0;
            rsp_wr_ptr  <= '0;
            rsp_rd_ptr  <= '0;
        end
    end

    // ------------------------------------------------------------------
    // read data writer: slot head + its response -> completion buffer
    // ------------------------------------------------------------------

    logic [511:0]     cb_mem [CB_ROWS];
    logic [511:0]     cb_rd_data;
    logic             cb_we;
    logic [CB_AW-1:0] cb_wrow;
    logic [3:0]       cb_wlane;
    logic [31:0]      cb_wdata;
    logic             chunk_done;
    logic             chunk_done_q;       // a cycle later the buffer read port sees that data

    always_comb begin
        cb_we    = !slot_empty && (slot_local[slot_rd_ptr[SLOT_AW-1:0]] || !rsp_empty);
        cb_wrow  = slot_row[slot_rd_ptr[SLOT_AW-1:0]];
        cb_wlane = slot_lane[slot_rd_ptr[SLOT_AW-1:0]];
        cb_wdata = slot_local[slot_rd_ptr[SLOT_AW-1:0]] ? 32'd0 : rsp_data[rsp_rd_ptr[SLOT_AW-1:0]];
        slot_pop = cb_we;
        rsp_pop  = cb_we && !slot_local[slot_rd_ptr[SLOT_AW-1:0]];
        chunk_done = cb_we && slot_last[slot_rd_ptr[SLOT_AW-1:0]];
    end

    always_ff @(posedge clk) begin
        for (int lane = 0; lane < 16; lane++) begin
            if (cb_we && cb_wlane == 4'(lane))
                cb_mem[cb_wrow][lane*32 +: 32] <= cb_wdata;
        end
        cb_rd_data <= cb_mem[cb_rd_ptr_next[CB_AW-1:0]];
        chunk_done_q <= chunk_done && !rst;
    end

    // ------------------------------------------------------------------
    // CC output: header + buffered rows, one completion at a time
    // ------------------------------------------------------------------

    logic [CB_AW:0] ready_cnt;                         // completed data completions not yet started
    logic           ready_take;

    logic [511:0]   cc_tdata_reg, cc_tdata_next;
    logic [15:0]    cc_tkeep_reg, cc_tkeep_next;
    logic           cc_tvalid_reg, cc_tvalid_next;
    logic           cc_tlast_reg, cc_tlast_next;
    logic           cc_ur_reg, cc_ur_next;             // beat is a UR completion
    logic           cc_busy_reg, cc_busy_next;         // inside a multi-beat completion
    logic [10:0]    cc_left_reg, cc_left_next;         // DWORDs of the completion still to send
    logic           stat_ur_reg;

    logic [95:0]    head_hdr;
    logic [10:0]    head_n;
    logic [10:0]    head_total;
    logic           out_ready;

    always_comb begin
        head_hdr   = cdf_hdr[cdf_rd_ptr[CB_AW-1:0]];
        head_n     = cdf_n[cdf_rd_ptr[CB_AW-1:0]];
        head_total = head_n + 11'd3;
        out_ready  = !cc_tvalid_reg || m_axis_cc_tready;

        cc_tdata_next  = cc_tdata_reg;
        cc_tkeep_next  = cc_tkeep_reg;
        cc_tvalid_next = cc_tvalid_reg && !m_axis_cc_tready;
        cc_tlast_next  = cc_tlast_reg;
        cc_ur_next     = cc_ur_reg;
        cc_busy_next   = cc_busy_reg;
        cc_left_next   = cc_left_reg;
        cb_rd_ptr_next = cb_rd_ptr_reg;
        cdf_pop        = 1'b0;
        ready_take     = 1'b0;

        if (out_ready) begin
            if (cc_busy_reg) begin
                cc_tvalid_next = 1'b1;
                cc_tdata_next  = cb_rd_data;
                cc_tkeep_next  = keep_of(cc_left_reg);
                cc_tlast_next  = cc_left_reg <= 11'd16;
                cc_ur_next     = 1'b0;
                cc_left_next   = cc_left_reg - 11'd16;
                cc_busy_next   = cc_left_reg > 11'd16;
                cb_rd_ptr_next = cb_rd_ptr_reg + 1'b1;
            end else if (!cdf_empty && (head_n == 11'd0 || ready_cnt != '0)) begin
                cdf_pop        = 1'b1;
                cc_tvalid_next = 1'b1;
                if (head_n == 11'd0) begin
                    cc_tdata_next = {416'd0, head_hdr};
                    cc_tkeep_next = 16'h0007;
                    cc_tlast_next = 1'b1;
                    cc_ur_next    = 1'b1;
                end else begin
                    ready_take     = 1'b1;
                    cc_tdata_next  = {cb_rd_data[511:96], head_hdr};
                    cc_tkeep_next  = keep_of(head_total);
                    cc_tlast_next  = head_total <= 11'd16;
                    cc_ur_next     = 1'b0;
                    cc_left_next   = head_total - 11'd16;
                    cc_busy_next   = head_total > 11'd16;
                    cb_rd_ptr_next = cb_rd_ptr_reg + 1'b1;
                end
            end
        end
    end

    always_ff @(posedge clk) begin
        cc_tdata_reg   <= cc_tdata_next;
        cc_tkeep_reg   <= cc_tkeep_next;
        cc_tvalid_reg  <= cc_tvalid_next;
        cc_tlast_reg   <= cc_tlast_next;
        cc_ur_reg      <= cc_ur_next;
        cc_busy_reg    <= cc_busy_next;
        cc_left_reg    <= cc_left_next;
        cb_rd_ptr_reg  <= cb_rd_ptr_next;
        ready_cnt      <= ready_cnt + (CB_AW+1)'(chunk_done_q) - (CB_AW+1)'(ready_take);
        stat_ur_reg    <= cc_tvalid_reg && m_axis_cc_tready && cc_ur_reg;

        if (rst) begin
            cc_tvalid_reg <= 1'b0;
            cc_busy_reg   <= 1'b0;
            cb_rd_ptr_reg <= '0;
            ready_cnt     <= '0;
            stat_ur_reg   <= 1'b0;
        end
    end

    assign m_axis_cc_tdata  = cc_tdata_reg;
    assign m_axis_cc_tkeep  = cc_tkeep_reg;
    assign m_axis_cc_tvalid = cc_tvalid_reg;
    assign m_axis_cc_tlast  = cc_tlast_reg;
    assign m_axis_cc_tuser  = '0;
    assign stat_ur          = stat_ur_reg;

    // ------------------------------------------------------------------
    // non-posted credits: this completer never holds back a non-posted
    // request for lack of resources (it stalls CQ with tready instead), so
    // it asks for one credit every cycle; the hard block saturates the count
    // ------------------------------------------------------------------

    logic [1:0] np_req_reg;

    always_ff @(posedge clk) begin
        np_req_reg <= rst ? 2'b00 : 2'b01;
    end

    assign pcie_cq_np_req = np_req_reg;

    // tuser fields this completer does not use (byte_en, sop/eop, parity,
    // TPH, segment 1 byte enables) and the descriptor's reserved bits
    wire unused_cq = ^{s_axis_cq_tuser[182:97], s_axis_cq_tuser[95:12], s_axis_cq_tuser[7:4],
                       s_axis_cq_tdata[127], s_axis_cq_tdata[79]};

endmodule

`resetall
