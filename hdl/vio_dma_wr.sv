// SPDX-License-Identifier: Apache-2.0
//
// vio_dma_wr — DMA write engine: local buffer RAM → host memory.
//
// Takes write descriptors (func, pcie_addr, ram_addr, len, tag), reads the
// bytes from the 512-bit local buffer RAM and sends them to the host as
// posted MemWr TLPs on the UltraScale+ requester request (RQ) interface.
//
// Per descriptor:
//   * the host range is cut into TLPs at every MPS-aligned host address
//     (MPS = 128 << cfg_max_payload), so no TLP carries more than MPS bytes
//     and none crosses a 4 KiB boundary; all but the first start on an MPS
//     boundary and all but the last end on one;
//   * the payload is realigned from the RAM byte offset to the DWORD-aligned
//     TLP payload (RQ descriptor in DW0..3 of the first beat, payload from
//     DW4); first_be/last_be and tkeep are exact;
//   * the requester function is the descriptor's func (DW2[23:16], bus number
//     left to the core: requester_id_enable = 0);
//   * one status (DMA_OK) per descriptor, in descriptor order, issued once the
//     last beat of its last TLP has been accepted on RQ; len == 0 completes
//     with DMA_OK and sends nothing (still in descriptor order).
//
// Structure:
//   desc queue   DESC_FIFO_DEPTH entries, read by two pointers: the planner
//                and the status issuer (an entry is freed by its status)
//   planner      cuts the current descriptor into TLPs (1 TLP / cycle)
//   TLP stage    registers one TLP (addr, ram, len, func, last)
//   cmd stage    registers the derived TLP fields (DW count, BEs, beats,
//                RAM rows, realignment shift)
//   beat engine  one beat per cycle; keeps a two-row window (rows W, W+1) of
//                the RAM and reads one row ahead per beat; a beat either
//                reuses the window (hold), slides it by one row (shift) or,
//                at a descriptor start, loads it (prime, one bubble unless
//                the first beat's payload sits in one row)
//   rd stage     ram_rd_en/ram_rd_addr (registered)
//   data stage   ram_rd_data arrives, window registers updated
//   shift stage  window realigned to the beat (64:1 byte shifter), RQ
//                descriptor inserted in the first beat, written to the
//                output FIFO
//   output FIFO  OUT_FIFO_DEPTH beats with a registered RQ output; the beat
//                engine only issues a beat when the FIFO has room for it and
//                for every beat still in the pipeline, so the RAM needs no
//                backpressure
//
// Beats of a window are only reused within one descriptor: the window is
// invalidated at every descriptor end, so a RAM buffer rewritten between two
// descriptors is read afresh. RAM byte addresses wrap modulo 2^RAM_ADDR_W,
// host addresses modulo 2^64. cfg_max_payload is sampled per TLP.
//
// RQ tuser: first_be [3:0], last_be [11:8], is_sop[0] [20], is_eop[0] [26],
// is_eop0_ptr [31:28]; everything else (discontinue, seq_num, parity) is 0.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_dma_wr #(
    parameter int RAM_ADDR_W      = 18,  // local buffer RAM byte address width (RAM rows: RAM_ADDR_W-6 bits)
    parameter int LEN_W           = 16,  // descriptor length width (bytes)
    parameter int OP_TAG_W        = 8,   // descriptor tag width (echoed in the status)
    parameter int DESC_FIFO_DEPTH = 16,  // descriptors accepted and not yet completed (power of 2, >= 2)
    parameter int OUT_FIFO_DEPTH  = 8    // RQ output FIFO depth in beats (power of 2, >= 4; 8 sustains one beat per cycle)
) (
    input  wire logic                  clk,
    input  wire logic                  rst,

    // write descriptors
    input  wire logic                  s_axis_wr_desc_valid,
    output logic                       s_axis_wr_desc_ready,
    input  wire logic [7:0]            s_axis_wr_desc_func,
    input  wire logic [63:0]           s_axis_wr_desc_pcie_addr,
    input  wire logic [RAM_ADDR_W-1:0] s_axis_wr_desc_ram_addr,
    input  wire logic [LEN_W-1:0]      s_axis_wr_desc_len,
    input  wire logic [OP_TAG_W-1:0]   s_axis_wr_desc_tag,

    // descriptor status (no backpressure)
    output logic                       m_axis_wr_desc_status_valid,
    output logic [OP_TAG_W-1:0]        m_axis_wr_desc_status_tag,
    output logic [3:0]                 m_axis_wr_desc_status_error,

    // local buffer RAM read port (row address, data one cycle after ram_rd_en)
    output logic                       ram_rd_en,
    output logic [RAM_ADDR_W-7:0]      ram_rd_addr,
    input  wire logic [511:0]          ram_rd_data,

    // requester request (RQ) to the PCIe hard block
    output logic [511:0]               m_axis_rq_tdata,
    output logic [15:0]                m_axis_rq_tkeep,
    output logic                       m_axis_rq_tvalid,
    input  wire logic                  m_axis_rq_tready,
    output logic                       m_axis_rq_tlast,
    output logic [136:0]               m_axis_rq_tuser,

    // configuration
    input  wire logic [1:0]            cfg_max_payload   // MPS = 128 << cfg_max_payload bytes
);

    // ------------------------------------------------------------------
    // parameters
    // ------------------------------------------------------------------

    localparam int ROW_W  = RAM_ADDR_W - 6;               // RAM row number width
    localparam int DPTR_W = $clog2(DESC_FIFO_DEPTH);      // descriptor queue index width
    localparam int OPTR_W = $clog2(OUT_FIFO_DEPTH);       // output FIFO index width
    localparam int CMP_W  = (LEN_W > 11) ? LEN_W : 11;    // remaining-length compare width

    initial begin
        if (RAM_ADDR_W < 7 || RAM_ADDR_W > 32)
            $fatal(1, "vio_dma_wr: RAM_ADDR_W must be 7..32 (at least two 64-byte rows)");
        if (LEN_W < 1 || LEN_W > 32)
            $fatal(1, "vio_dma_wr: LEN_W must be 1..32");
        if (OP_TAG_W < 1)
            $fatal(1, "vio_dma_wr: OP_TAG_W must be at least 1");
        if (DESC_FIFO_DEPTH < 2 || (DESC_FIFO_DEPTH & (DESC_FIFO_DEPTH - 1)) != 0)
            $fatal(1, "vio_dma_wr: DESC_FIFO_DEPTH must be a power of 2, at least 2");
        if (OUT_FIFO_DEPTH < 4 || (OUT_FIFO_DEPTH & (OUT_FIFO_DEPTH - 1)) != 0)
            $fatal(1, "vio_dma_wr: OUT_FIFO_DEPTH must be a power of 2, at least 4");
    end

    // per-beat control, carried from the beat engine to the shift stage
    typedef struct packed {
        logic        first;     // first beat of the TLP (carries the RQ descriptor)
        logic        last;      // last beat of the TLP
        logic        desc_end;  // last beat of the descriptor's last TLP
        logic        swap;      // window halves swapped before shifting
        logic [5:0]  shift;     // byte shift of the window
        logic [3:0]  eop_ptr;   // last valid DWORD lane of the beat
        logic [61:0] addr_dw;   // host address [63:2] (first beat)
        logic [10:0] dw;        // payload DWORD count (first beat)
        logic [7:0]  func;      // requester function (first beat)
        logic [3:0]  first_be;  // first DWORD byte enables (first beat)
        logic [3:0]  last_be;   // last DWORD byte enables (first beat)
    } beat_ctl_t;

    // one output FIFO entry
    typedef struct packed {
        logic         desc_end;
        logic         last;
        logic         sop;
        logic [3:0]   eop_ptr;
        logic [3:0]   first_be;
        logic [3:0]   last_be;
        logic [511:0] data;
    } out_beat_t;

    // ------------------------------------------------------------------
    // descriptor queue: written by s_axis_wr_desc, read by the planner
    // (plan_ptr) and by the status issuer (stat_ptr, frees the entry)
    // ------------------------------------------------------------------

    logic [7:0]            dq_func [DESC_FIFO_DEPTH];
    logic [63:0]           dq_addr [DESC_FIFO_DEPTH];
    logic [RAM_ADDR_W-1:0] dq_ram  [DESC_FIFO_DEPTH];
    logic [LEN_W-1:0]      dq_len  [DESC_FIFO_DEPTH];
    logic [OP_TAG_W-1:0]   dq_tag  [DESC_FIFO_DEPTH];
    logic                  dq_zero [DESC_FIFO_DEPTH];

    logic [DPTR_W:0] dq_wr_ptr, dq_plan_ptr, dq_stat_ptr;

    wire logic dq_full  = (dq_wr_ptr[DPTR_W] != dq_stat_ptr[DPTR_W]) &&
                          (dq_wr_ptr[DPTR_W-1:0] == dq_stat_ptr[DPTR_W-1:0]);
    wire logic dq_write = s_axis_wr_desc_valid && !dq_full;
    wire logic dq_plan_avail = dq_plan_ptr != dq_wr_ptr;

    assign s_axis_wr_desc_ready = !dq_full;

    always_ff @(posedge clk) begin
        if (dq_write) begin
            dq_func[dq_wr_ptr[DPTR_W-1:0]] <= s_axis_wr_desc_func;
            dq_addr[dq_wr_ptr[DPTR_W-1:0]] <= s_axis_wr_desc_pcie_addr;
            dq_ram [dq_wr_ptr[DPTR_W-1:0]] <= s_axis_wr_desc_ram_addr;
            dq_len [dq_wr_ptr[DPTR_W-1:0]] <= s_axis_wr_desc_len;
            dq_tag [dq_wr_ptr[DPTR_W-1:0]] <= s_axis_wr_desc_tag;
            dq_zero[dq_wr_ptr[DPTR_W-1:0]] <= s_axis_wr_desc_len == '0;
        end
    end

    // ------------------------------------------------------------------
    // planner: cuts the current descriptor into TLPs at MPS boundaries
    // ------------------------------------------------------------------

    logic [1:0] mps_q;                 // cfg_max_payload, registered
    logic       p_valid;               // a descriptor with bytes left
    logic [63:0] p_addr;               // next host byte address
    logic [RAM_ADDR_W-1:0] p_ram;      // next RAM byte address
    logic [LEN_W-1:0] p_rem;           // bytes left (> 0 while p_valid)
    logic [7:0] p_func;

    logic        t_valid;              // TLP stage
    logic [63:0] t_addr;
    logic [RAM_ADDR_W-1:0] t_ram;
    logic [10:0] t_len;                // 1..1024
    logic [7:0]  t_func;
    logic        t_desc_last;

    logic        c_valid;              // cmd stage (see below)
    logic        e_pop;                // beat engine finished the cmd-stage TLP

    wire logic [10:0] mps_bytes = 11'd128 << mps_q;
    wire logic [9:0]  mps_off   = p_addr[9:0] & 10'(mps_bytes - 11'd1);
    wire logic [10:0] to_bound  = mps_bytes - {1'b0, mps_off};          // 1..MPS
    wire logic [CMP_W-1:0] p_rem_x = CMP_W'(p_rem);
    wire logic        p_last    = p_rem_x <= CMP_W'(to_bound);
    wire logic [10:0] tlp_len   = p_last ? p_rem_x[10:0] : to_bound;

    wire logic c_take  = t_valid && (!c_valid || e_pop);                // TLP stage → cmd stage
    wire logic p_emit  = p_valid && (!t_valid || c_take);               // planner → TLP stage
    wire logic p_load  = (!p_valid || (p_emit && p_last)) && dq_plan_avail;

    always_ff @(posedge clk) begin
        mps_q <= cfg_max_payload;

        if (p_emit) begin
            p_addr <= p_addr + 64'(tlp_len);
            p_ram  <= p_ram + RAM_ADDR_W'(tlp_len);
            p_rem  <= LEN_W'(p_rem_x - CMP_W'(tlp_len));
            if (p_last)
                p_valid <= 1'b0;
        end
        if (p_load) begin
            // a zero-length descriptor is passed over here; its status is
            // issued in order by the status issuer
            p_valid <= !dq_zero[dq_plan_ptr[DPTR_W-1:0]];
            p_addr  <= dq_addr[dq_plan_ptr[DPTR_W-1:0]];
            p_ram   <= dq_ram [dq_plan_ptr[DPTR_W-1:0]];
            p_rem   <= dq_len [dq_plan_ptr[DPTR_W-1:0]];
            p_func  <= dq_func[dq_plan_ptr[DPTR_W-1:0]];
        end

        if (p_emit) begin
            t_valid     <= 1'b1;
            t_addr      <= p_addr;
            t_ram       <= p_ram;
            t_len       <= tlp_len;
            t_func      <= p_func;
            t_desc_last <= p_last;
        end else if (c_take) begin
            t_valid     <= 1'b0;
        end

        if (rst) begin
            mps_q   <= 2'd0;
            p_valid <= 1'b0;
            t_valid <= 1'b0;
        end
    end

    always_ff @(posedge clk) begin
        if (rst)
            dq_plan_ptr <= '0;
        else if (p_load)
            dq_plan_ptr <= dq_plan_ptr + 1'b1;
    end

    // ------------------------------------------------------------------
    // cmd stage: derived fields of one TLP
    // ------------------------------------------------------------------
    //
    // The TLP byte stream is the 16-byte RQ descriptor followed by the
    // DWORD-aligned payload. Stream byte s of the TLP maps to RAM byte
    // base + s, base = ram - addr[1:0] - 16; beat n covers stream bytes
    // 64n..64n+63, i.e. RAM rows row(base)+n and row(base)+n+1, shifted by
    // base[5:0]. The first beat's payload (stream bytes 16..63) starts at
    // RAM byte pay = ram - addr[1:0].

    logic [61:0]      c_addr_dw;
    logic [10:0]      c_dw;
    logic [7:0]       c_func;
    logic [3:0]       c_first_be;
    logic [3:0]       c_last_be;
    logic [4:0]       c_nbeats;        // 1..17
    logic [3:0]       c_last_ptr;      // last DWORD lane of the last beat
    logic [5:0]       c_shift;         // base[5:0]
    logic [ROW_W-1:0] c_row_base;      // row(base)
    logic [ROW_W-1:0] c_row_pay;       // row(pay): lower row of the first beat
    logic             c_first_single;  // first beat's payload lies in one row
    logic             c_desc_last;

    wire logic [1:0]  t_a3     = t_addr[1:0];
    wire logic [11:0] t_end    = {10'd0, t_a3} + {1'b0, t_len};          // payload end, bytes from addr & ~3
    wire logic [11:0] t_dw_x   = (t_end + 12'd3) >> 2;                  // 1..256
    wire logic [10:0] t_dw     = t_dw_x[10:0];
    wire logic [RAM_ADDR_W-1:0] t_pay  = t_ram - RAM_ADDR_W'(t_a3);
    wire logic [RAM_ADDR_W-1:0] t_base = t_pay - RAM_ADDR_W'(16);
    wire logic [4:0]  t_beats  = 5'((t_dw_x + 12'd19) >> 4);            // ceil((4 + dw) / 16): 1..17
    wire logic [3:0]  t_lptr   = 4'(t_dw_x + 12'd3);                    // (4 + dw - 1) mod 16
    wire logic [6:0]  t_first_bytes = (t_dw_x >= 12'd12) ? 7'd48 : 7'(t_dw_x << 2);
    wire logic [6:0]  t_first_end   = {1'b0, t_pay[5:0]} + t_first_bytes;
    wire logic [3:0]  t_fbe    = 4'hf << t_a3;
    wire logic [3:0]  t_lbe    = (t_end[1:0] == 2'd0) ? 4'hf : 4'hf >> (3'd4 - {1'b0, t_end[1:0]});

    always_ff @(posedge clk) begin
        if (c_take) begin
            c_addr_dw      <= t_addr[63:2];
            c_dw           <= t_dw;
            c_func         <= t_func;
            c_first_be     <= (t_dw == 11'd1) ? (t_fbe & t_lbe) : t_fbe;
            c_last_be      <= (t_dw == 11'd1) ? 4'h0 : t_lbe;
            c_nbeats       <= t_beats;
            c_last_ptr     <= t_lptr;
            c_shift        <= t_base[5:0];
            c_row_base     <= t_base[RAM_ADDR_W-1:6];
            c_row_pay      <= t_pay[RAM_ADDR_W-1:6];
            c_first_single <= t_first_end <= 7'd64;
            c_desc_last    <= t_desc_last;
        end
    end

    always_ff @(posedge clk) begin
        if (rst)
            c_valid <= 1'b0;
        else if (c_take)
            c_valid <= 1'b1;
        else if (e_pop)
            c_valid <= 1'b0;
    end

    // ------------------------------------------------------------------
    // beat engine
    // ------------------------------------------------------------------

    logic [4:0]       e_beat;          // beat index inside the TLP
    logic [ROW_W-1:0] e_row_next;      // row(base) + e_beat, for e_beat > 0
    logic [ROW_W-1:0] win_w;           // window = rows win_w (A), win_w + 1 (B)
    logic             win_a_ok;        // A holds row win_w of this descriptor
    logic             win_b_ok;        // B holds row win_w + 1 of this descriptor

    logic             s1_rd, s2_rd;    // a RAM row read belongs to this stage
    logic             s1_emit, s2_emit, s3_emit;
    beat_ctl_t        s1_ctl, s2_ctl, s3_ctl;

    logic [OPTR_W:0]  of_wr_ptr, of_rd_ptr;
    wire logic [OPTR_W:0] of_count = of_wr_ptr - of_rd_ptr;
    wire logic [OPTR_W+1:0] of_committed = {1'b0, of_count} + (OPTR_W+2)'(s1_emit) +
                                           (OPTR_W+2)'(s2_emit) + (OPTR_W+2)'(s3_emit);
    wire logic credit_ok = of_committed < (OPTR_W+2)'(OUT_FIFO_DEPTH);

    wire logic             e_first   = e_beat == 5'd0;
    wire logic             e_last    = e_beat == c_nbeats - 5'd1;
    wire logic [ROW_W-1:0] e_row_lo  = e_first ? c_row_pay : e_row_next;   // lowest row the beat needs
    wire logic             e_hit_shift = win_b_ok && (e_row_lo == win_w + 1'b1);
    wire logic             e_hit_hold  = win_b_ok && win_a_ok && (e_row_lo == win_w);
    wire logic             e_prime   = !e_hit_shift && !e_hit_hold;
    wire logic             e_emit    = !e_prime || (e_first && c_first_single);
    wire logic             e_step    = c_valid && credit_ok;
    wire logic [ROW_W-1:0] e_win_new = e_hit_shift ? win_w + 1'b1 :
                                       e_prime     ? e_row_lo - 1'b1 : win_w;

    assign e_pop = e_step && e_emit && e_last;

    always_ff @(posedge clk) begin
        ram_rd_en   <= e_step && !e_hit_hold;
        ram_rd_addr <= e_hit_shift ? win_w + ROW_W'(2) : e_row_lo;
        s1_rd       <= e_step && !e_hit_hold;
        s1_emit     <= e_step && e_emit;

        s1_ctl.first    <= e_first;
        s1_ctl.last     <= e_last;
        s1_ctl.desc_end <= e_last && c_desc_last;
        // beat 0's stream starts at row(base), which may be one row below
        // or above the window's lower row: then the halves are swapped
        s1_ctl.swap     <= e_first && (c_row_base != e_win_new);
        s1_ctl.shift    <= c_shift;
        s1_ctl.eop_ptr  <= e_last ? c_last_ptr : 4'hf;
        s1_ctl.addr_dw  <= c_addr_dw;
        s1_ctl.dw       <= c_dw;
        s1_ctl.func     <= c_func;
        s1_ctl.first_be <= c_first_be;
        s1_ctl.last_be  <= c_last_be;

        if (e_step) begin
            win_w <= e_win_new;
            if (e_prime) begin
                win_a_ok <= 1'b0;
                win_b_ok <= 1'b1;
            end else if (e_hit_shift) begin
                win_a_ok <= 1'b1;
            end
            if (e_emit) begin
                if (e_last) begin
                    e_beat <= 5'd0;
                    if (c_desc_last) begin
                        win_a_ok <= 1'b0;
                        win_b_ok <= 1'b0;
                    end
                end else begin
                    e_beat     <= e_beat + 5'd1;
                    e_row_next <= (e_first ? c_row_base : e_row_next) + 1'b1;
                end
            end
        end

        if (rst) begin
            ram_rd_en <= 1'b0;
            s1_rd     <= 1'b0;
            s1_emit   <= 1'b0;
            e_beat    <= 5'd0;
            win_a_ok  <= 1'b0;
            win_b_ok  <= 1'b0;
        end
    end

    // ------------------------------------------------------------------
    // data stage: RAM row arrives, window slides
    // ------------------------------------------------------------------

    logic [511:0] win_a, win_b;

    always_ff @(posedge clk) begin
        s2_rd   <= s1_rd;
        s2_emit <= s1_emit;
        s2_ctl  <= s1_ctl;
        if (s2_rd) begin
            win_a <= win_b;
            win_b <= ram_rd_data;
        end
        if (rst) begin
            s2_rd   <= 1'b0;
            s2_emit <= 1'b0;
        end
    end

    // ------------------------------------------------------------------
    // shift stage: realign, insert the RQ descriptor, write the FIFO
    // ------------------------------------------------------------------

    always_ff @(posedge clk) begin
        s3_emit <= s2_emit;
        s3_ctl  <= s2_ctl;
        if (rst)
            s3_emit <= 1'b0;
    end

    wire logic [1023:0] sh_window = s3_ctl.swap ? {win_a, win_b} : {win_b, win_a};
    wire logic [511:0]  sh_data   = sh_window[{1'b0, s3_ctl.shift, 3'b000} +: 512];
    wire logic [127:0]  sh_rq_desc = {
        1'b0, 3'b000, 3'b000, 1'b0, 16'h0000, 8'h00,                      // DW3: ecrc, attr, tc, req_id_en, cpl id, tag
        8'h00, s3_ctl.func, 1'b0, vio_pkg::REQ_MEM_WR, s3_ctl.dw,         // DW2: bus (core), func, poison, type, dwords
        s3_ctl.addr_dw[61:30],                                            // DW1: address [63:32]
        s3_ctl.addr_dw[29:0], 2'b00                                       // DW0: address [31:2], AT
    };

    out_beat_t of_mem [OUT_FIFO_DEPTH];
    out_beat_t of_in;

    always_comb begin
        of_in.desc_end = s3_ctl.desc_end;
        of_in.last     = s3_ctl.last;
        of_in.sop      = s3_ctl.first;
        of_in.eop_ptr  = s3_ctl.eop_ptr;
        of_in.first_be = s3_ctl.first ? s3_ctl.first_be : 4'h0;
        of_in.last_be  = s3_ctl.first ? s3_ctl.last_be : 4'h0;
        of_in.data     = s3_ctl.first ? {sh_data[511:128], sh_rq_desc} : sh_data;
    end

    always_ff @(posedge clk) begin
        if (s3_emit)
            of_mem[of_wr_ptr[OPTR_W-1:0]] <= of_in;
    end

    // ------------------------------------------------------------------
    // output FIFO read side, registered RQ outputs
    // ------------------------------------------------------------------

    logic out_desc_end;
    wire logic of_pop = (of_count != '0) && (!m_axis_rq_tvalid || m_axis_rq_tready);
    out_beat_t of_head;
    assign of_head = of_mem[of_rd_ptr[OPTR_W-1:0]];

    always_ff @(posedge clk) begin
        if (of_pop) begin
            m_axis_rq_tvalid <= 1'b1;
            m_axis_rq_tdata  <= of_head.data;
            m_axis_rq_tlast  <= of_head.last;
            for (int i = 0; i < 16; i++)
                m_axis_rq_tkeep[i] <= 4'(i) <= of_head.eop_ptr;
            m_axis_rq_tuser          <= '0;
            m_axis_rq_tuser[3:0]     <= of_head.first_be;
            m_axis_rq_tuser[11:8]    <= of_head.last_be;
            m_axis_rq_tuser[20]      <= of_head.sop;                    // is_sop[0]
            m_axis_rq_tuser[26]      <= of_head.last;                   // is_eop[0]
            m_axis_rq_tuser[31:28]   <= of_head.last ? of_head.eop_ptr : 4'h0;  // is_eop0_ptr
            out_desc_end             <= of_head.desc_end;
        end else if (m_axis_rq_tready) begin
            m_axis_rq_tvalid <= 1'b0;
        end
        if (rst)
            m_axis_rq_tvalid <= 1'b0;
    end

    always_ff @(posedge clk) begin
        if (rst) begin
            of_wr_ptr <= '0;
            of_rd_ptr <= '0;
        end else begin
            if (s3_emit)
                of_wr_ptr <= of_wr_ptr + 1'b1;
            if (of_pop)
                of_rd_ptr <= of_rd_ptr + 1'b1;
        end
    end

    // ------------------------------------------------------------------
    // status: in descriptor order, after the descriptor's last beat left
    // ------------------------------------------------------------------

    logic [DPTR_W:0] done_cnt;         // descriptors sent, status not yet issued

    wire logic rq_desc_done = m_axis_rq_tvalid && m_axis_rq_tready && out_desc_end;
    wire logic st_avail = dq_stat_ptr != dq_plan_ptr;
    wire logic st_zero  = dq_zero[dq_stat_ptr[DPTR_W-1:0]];
    wire logic st_fire  = st_avail && (st_zero || done_cnt != '0);

    assign m_axis_wr_desc_status_error = vio_pkg::DMA_OK;

    always_ff @(posedge clk) begin
        m_axis_wr_desc_status_valid <= st_fire;
        if (st_fire)
            m_axis_wr_desc_status_tag <= dq_tag[dq_stat_ptr[DPTR_W-1:0]];
        done_cnt <= done_cnt + (DPTR_W+1)'(rq_desc_done) - (DPTR_W+1)'(st_fire && !st_zero);

        if (rst) begin
            m_axis_wr_desc_status_valid <= 1'b0;
            m_axis_wr_desc_status_tag   <= '0;
            done_cnt                    <= '0;
        end
    end

    always_ff @(posedge clk) begin
        if (rst) begin
            dq_wr_ptr   <= '0;
            dq_stat_ptr <= '0;
        end else begin
            if (dq_write)
                dq_wr_ptr <= dq_wr_ptr + 1'b1;
            if (st_fire)
                dq_stat_ptr <= dq_stat_ptr + 1'b1;
        end
    end

endmodule

`resetall
