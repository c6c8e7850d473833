// SPDX-License-Identifier: Apache-2.0
//
// vio_dma_rd: DMA read engine, host memory -> local buffer RAM.
//
// Descriptors (s_axis_rd_desc_*) are split into MemRd TLPs of at most MRRS
// bytes that never cross an MRRS-aligned (hence never a 4 KiB) boundary
// (split stage gen_*), held in an issue register (iss_*) until a PCIe tag
// and completion-buffer space are free, and sent on the UltraScale+
// requester request stream (m_axis_rq_*, one beat per TLP).  PCIe tags come
// from a round-robin free pool; every tag remembers the op slot, the RAM
// address, the 4 KiB-page byte range and the credit reservation of its
// request.  Completions (s_axis_rc_*) may be split anywhere, interleaved
// and reordered between tags; each payload byte is written to
// ram_addr + (its PCIe address - pcie_addr) through a 512-bit realigner
// (one RAM row per beat, plus one extra row at the end of a completion when
// the realigned data spills into a row the completion's last beat does not
// cover).  Exactly one status per descriptor (m_axis_rd_desc_status_*) once
// every TLP of it is resolved, carrying the first error seen.
//
// RC pipeline:  input FIFO (2 beats, registered tready)
//            -> P: frame parse, tag lookup          (registers p_*)
//            -> Q: byte offsets, row, rotation      (registers q_*)
//            -> R: row merge, RAM write port        (ram_wr_*, u_* event)
// The end-of-frame event u_* updates the op table one cycle after the last
// RAM write of the frame, so a status never precedes its data.
//
// Statuses come in completion order, not descriptor order (the client tag
// tells them apart).  The engine uses its own tags: the hard block must be
// configured for client tags (cocotbext-pcie: enable_client_tag).
//
// Completion buffer credits: the hard block stores received completions in
// a buffer of CPLH_FC_LIMIT headers and CPLD_FC_LIMIT 16-byte data credits
// and drops those that do not fit; each completion TLP takes 1 header and
// ceil(payload DWs / 4) + 1 data credits until it has been delivered on RC.
// Completers split a read only at RCB (>= 64 bytes, 16-byte aligned)
// boundaries, so a request touching N 64-byte blocks and B 16-byte blocks
// gets at most N completions holding at most B + N data credits.  Each
// MemRd reserves exactly that (<= 64 headers, <= 320 credits at MRRS 4096)
// before it is issued, waits in the issue register while the reservation
// does not fit, and returns it when its tag is resolved (last completion,
// error or timeout), one cycle after the resolution.
//
// Completion handling: error_code POISON -> DMA_ERR_POISON, STATUS with UR /
// CA / other -> DMA_ERR_UR / DMA_ERR_CA / DMA_ERR_CPL, TIMEOUT (0b1001, the
// hard block's own completion timeout; it resolves the tag) ->
// DMA_ERR_TIMEOUT, any other non-zero error_code -> DMA_ERR_CPL; none of
// these write RAM.  A normal completion
// is also DMA_ERR_CPL and not written when it does not fit its request
// (lower_address below the request, lower_address + byte_count != request
// end, no data, status != SC), carries discontinue (from that beat on), or
// its beat count does not match dword_count.  A tag is resolved by
// request_completed (or a STATUS error); errors without it leave the tag to
// complete later or time out.  The first error of a descriptor is kept.
//
// Timeouts: a prescaler ticks every ceil(CPL_TIMEOUT/8) cycles; each open tag
// has a 4-bit age cleared on allocation, while its request waits on RQ and on
// every completion beat for it (a request waiting for credits has no tag
// yet and cannot time out); a tag whose age reaches 9 ticks (between
// CPL_TIMEOUT and 1.125 * CPL_TIMEOUT cycles without progress) is released
// with DMA_ERR_TIMEOUT.  A completion for a tag that is not outstanding is
// dropped and pulses stat_unexpected_cpl.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_dma_rd
    import vio_pkg::*;
#(
    // byte address width of the local buffer RAM (64-byte rows)
    parameter int RAM_ADDR_W     = 18,
    // descriptor length width (bytes)
    parameter int LEN_W          = 16,
    // client tag width (echoed in the status)
    parameter int OP_TAG_W       = 8,
    // descriptors in flight (op slots)
    parameter int OP_COUNT       = 16,
    // PCIe tags used, 0..PCIE_TAG_COUNT-1 (<= 32 without extended tags, <= 256)
    parameter int PCIE_TAG_COUNT = 32,
    // cycles without progress on an outstanding read before it times out
    parameter int CPL_TIMEOUT    = 65536,
    // hard-block completion buffer headers (CPLH); US+ 256, >= 64 (one 4 KiB read)
    parameter int CPLH_FC_LIMIT  = 256,
    // hard-block completion buffer data credits of 16 bytes (CPLD); US+ 2048, >= 320
    parameter int CPLD_FC_LIMIT  = 2048
) (
    input  wire logic                    clk,
    input  wire logic                    rst,

    // read descriptors
    input  wire logic                    s_axis_rd_desc_valid,
    output logic                         s_axis_rd_desc_ready,
    input  wire logic [7:0]              s_axis_rd_desc_func,
    input  wire logic [63:0]             s_axis_rd_desc_pcie_addr,
    input  wire logic [RAM_ADDR_W-1:0]   s_axis_rd_desc_ram_addr,
    input  wire logic [LEN_W-1:0]        s_axis_rd_desc_len,
    input  wire logic [OP_TAG_W-1:0]     s_axis_rd_desc_tag,

    // descriptor status (no backpressure)
    output logic                         m_axis_rd_desc_status_valid,
    output logic [OP_TAG_W-1:0]          m_axis_rd_desc_status_tag,
    output logic [3:0]                   m_axis_rd_desc_status_error,

    // requester request (to the hard block)
    output logic [511:0]                 m_axis_rq_tdata,
    output logic [15:0]                  m_axis_rq_tkeep,
    output logic                         m_axis_rq_tvalid,
    input  wire logic                    m_axis_rq_tready,
    output logic                         m_axis_rq_tlast,
    output logic [136:0]                 m_axis_rq_tuser,

    // requester completion (from the hard block)
    input  wire logic [511:0]            s_axis_rc_tdata,
    input  wire logic [15:0]             s_axis_rc_tkeep,
    input  wire logic                    s_axis_rc_tvalid,
    output logic                         s_axis_rc_tready,
    input  wire logic                    s_axis_rc_tlast,
    input  wire logic [160:0]            s_axis_rc_tuser,

    // buffer RAM write port (rows of 64 bytes, always accepts)
    output logic                         ram_wr_en,
    output logic [RAM_ADDR_W-7:0]        ram_wr_addr,
    output logic [63:0]                  ram_wr_be,
    output logic [511:0]                 ram_wr_data,

    // configuration: max read request size = 128 << n bytes (n > 5 read as 5)
    input  wire logic [2:0]              cfg_max_read_req,

    // statistics: one-cycle pulse per dropped completion (tag not outstanding)
    output logic                         stat_unexpected_cpl
);

    // ------------------------------------------------------------------
    // parameters
    // ------------------------------------------------------------------

    localparam int ROW_W     = RAM_ADDR_W - 6;
    localparam int OP_IDX_W  = OP_COUNT > 1 ? $clog2(OP_COUNT) : 1;
    localparam int TAG_IDX_W = PCIE_TAG_COUNT > 1 ? $clog2(PCIE_TAG_COUNT) : 1;
    localparam int CNT_W     = $clog2(PCIE_TAG_COUNT + 1);
    localparam int TICK      = (CPL_TIMEOUT + 7) / 8;
    localparam int TICK_W    = $clog2(TICK + 1);
    localparam logic [3:0] AGE_EXPIRED = 4'd9;
    localparam int CH_W      = 7;    // headers of one request, <= 64
    localparam int CD_W      = 9;    // data credits of one request, <= 320
    localparam int FCH_W     = $clog2(CPLH_FC_LIMIT + 1);
    localparam int FCD_W     = $clog2(CPLD_FC_LIMIT + 1);
    // RC error_code: the hard block's completion timeout for the request
    localparam logic [3:0] RC_ERR_CPL_TIMEOUT = 4'b1001;

    initial begin
        if (RAM_ADDR_W < 7 || RAM_ADDR_W > 32)
            $fatal(1, "vio_dma_rd: RAM_ADDR_W must be 7..32 (got %0d)", RAM_ADDR_W);
        if (LEN_W < 1 || LEN_W > 32)
            $fatal(1, "vio_dma_rd: LEN_W must be 1..32 (got %0d)", LEN_W);
        if (OP_TAG_W < 1)
            $fatal(1, "vio_dma_rd: OP_TAG_W must be >= 1 (got %0d)", OP_TAG_W);
        if (OP_COUNT < 1 || OP_COUNT > 256)
            $fatal(1, "vio_dma_rd: OP_COUNT must be 1..256 (got %0d)", OP_COUNT);
        if (PCIE_TAG_COUNT < 1 || PCIE_TAG_COUNT > 256)
            $fatal(1, "vio_dma_rd: PCIE_TAG_COUNT must be 1..256 (got %0d)", PCIE_TAG_COUNT);
        if (CPL_TIMEOUT < 64)
            $fatal(1, "vio_dma_rd: CPL_TIMEOUT must be >= 64 cycles (got %0d)", CPL_TIMEOUT);
        if (CPLH_FC_LIMIT < 64 || CPLH_FC_LIMIT > 4096)
            $fatal(1, "vio_dma_rd: CPLH_FC_LIMIT must be 64..4096 (got %0d)", CPLH_FC_LIMIT);
        if (CPLD_FC_LIMIT < 320 || CPLD_FC_LIMIT > 65536)
            $fatal(1, "vio_dma_rd: CPLD_FC_LIMIT must be 320..65536 (got %0d)", CPLD_FC_LIMIT);
    end

    // ------------------------------------------------------------------
    // helpers
    // ------------------------------------------------------------------

    // rotate a row left by s byte lanes: result lane i = d lane (i - s) mod 64
    function automatic logic [511:0] rotl_bytes(input logic [511:0] d, input logic [5:0] s);
        return (d << {s, 3'b000}) | (d >> (10'd512 - {1'b0, s, 3'b000}));
    endfunction

    // clamp a signed lane offset to 0..64
    function automatic logic [6:0] clamp64(input logic signed [15:0] x);
        if (x < 16'sd0)
            return 7'd0;
        else if (x > 16'sd64)
            return 7'd64;
        else
            return x[6:0];
    endfunction

    // byte lanes lo <= lane < hi
    function automatic logic [63:0] lane_range(input logic [6:0] lo, input logic [6:0] hi);
        logic [63:0] m;
        for (int i = 0; i < 64; i++)
            m[i] = (7'(i) >= lo) && (7'(i) < hi);
        return m;
    endfunction

    // ------------------------------------------------------------------
    // state
    // ------------------------------------------------------------------

    // op slots
    logic [OP_COUNT-1:0]   op_active;       // slot holds a descriptor without status yet
    logic [OP_COUNT-1:0]   op_issuing;      // request generator still owes TLPs
    logic [OP_TAG_W-1:0]   op_ctag [OP_COUNT];
    logic [3:0]            op_err  [OP_COUNT];
    logic [CNT_W-1:0]      op_cnt  [OP_COUNT];   // TLPs issued and not resolved

    // PCIe tags
    logic [PCIE_TAG_COUNT-1:0] tag_busy;    // allocated, not yet returned to the pool
    logic [PCIE_TAG_COUNT-1:0] tag_open;    // completions for it are accepted
    logic [3:0]            tag_age [PCIE_TAG_COUNT];
    logic [OP_IDX_W-1:0]   tag_op  [PCIE_TAG_COUNT];
    logic [RAM_ADDR_W-1:0] tag_ram [PCIE_TAG_COUNT];  // RAM address of the request's first byte
    logic [11:0]           tag_lo  [PCIE_TAG_COUNT];  // request's first byte address [11:0]
    logic [12:0]           tag_end [PCIE_TAG_COUNT];  // tag_lo + request byte count
    logic [CH_W-1:0]       tag_ch  [PCIE_TAG_COUNT];  // completion headers reserved
    logic [CD_W-1:0]       tag_cd  [PCIE_TAG_COUNT];  // completion data credits reserved
    logic [TAG_IDX_W-1:0]  tag_rr;                    // round-robin allocation start

    // request generator: split stage
    logic                  gen_active;
    logic [63:0]           gen_addr;
    logic [RAM_ADDR_W-1:0] gen_ram;
    logic [LEN_W-1:0]      gen_rem;
    logic [7:0]            gen_func;
    logic [OP_IDX_W-1:0]   gen_op;
    logic [12:0]           mrrs;

    // request generator: issue register (the next MemRd)
    logic                  iss_valid;
    logic [63:0]           iss_addr;
    logic [RAM_ADDR_W-1:0] iss_ram;
    logic [7:0]            iss_func;
    logic [OP_IDX_W-1:0]   iss_op;
    logic                  iss_last;        // last TLP of its descriptor
    logic [10:0]           iss_dw;
    logic [3:0]            iss_first_be, iss_last_be;
    logic [12:0]           iss_end;         // iss_addr[11:0] + byte count
    logic [CH_W-1:0]       iss_ch;          // completion headers to reserve
    logic [CD_W-1:0]       iss_cd;          // completion data credits to reserve

    // completion buffer credits not reserved
    logic [FCH_W-1:0]      cplh_free;
    logic [FCD_W-1:0]      cpld_free;

    // RQ output register
    logic [127:0]          rq_desc;
    logic [3:0]            rq_first_be, rq_last_be;
    logic [TAG_IDX_W-1:0]  rq_tag;

    // end-of-frame event from the RC pipeline
    logic                  u_valid;
    logic                  u_resolve;
    logic [OP_IDX_W-1:0]   u_op;
    logic [TAG_IDX_W-1:0]  u_tag;
    logic [3:0]            u_err;

    // ------------------------------------------------------------------
    // descriptor intake
    // ------------------------------------------------------------------

    logic                  op_free_any;
    logic [OP_IDX_W-1:0]   op_free_idx;

    always_comb begin
        op_free_any = 1'b0;
        op_free_idx = '0;
        for (int i = OP_COUNT - 1; i >= 0; i--) begin
            if (!op_active[i]) begin
                op_free_any = 1'b1;
                op_free_idx = OP_IDX_W'(i);
            end
        end
    end

    assign s_axis_rd_desc_ready = !gen_active && op_free_any;

    logic desc_fire;
    assign desc_fire = s_axis_rd_desc_valid && s_axis_rd_desc_ready;

    // ------------------------------------------------------------------
    // request generator
    // ------------------------------------------------------------------

    logic                  alloc_ok;
    logic [TAG_IDX_W-1:0]  alloc_tag;

    // lowest free tag at or after tag_rr, else the lowest free tag
    always_comb begin
        alloc_ok  = 1'b0;
        alloc_tag = '0;
        for (int i = PCIE_TAG_COUNT - 1; i >= 0; i--) begin
            if (!tag_busy[i]) begin
                alloc_ok  = 1'b1;
                alloc_tag = TAG_IDX_W'(i);
            end
        end
        for (int i = PCIE_TAG_COUNT - 1; i >= 0; i--) begin
            if (!tag_busy[i] && TAG_IDX_W'(i) >= tag_rr)
                alloc_tag = TAG_IDX_W'(i);
        end
    end

    // split stage: the next TLP of the descriptor and its credit reservation
    logic [12:0] gen_to_bound;   // bytes to the next MRRS boundary
    logic [12:0] gen_chunk;      // bytes in this TLP
    logic        gen_last;       // this TLP ends the descriptor
    logic [10:0] gen_dw;
    logic [1:0]  gen_end_lo;
    logic [3:0]  gen_first_be, gen_last_be;
    logic [CH_W-1:0] gen_ch;     // 64-byte blocks touched: max completions at RCB 64
    logic [CD_W-1:0] gen_cd;     // 16-byte blocks touched + one credit per completion
    logic        gen_adv;        // the TLP moves into the issue register
    logic        iss_fire;       // the issue register's TLP goes to RQ
    logic        credit_ok;

    always_comb begin
        gen_to_bound = mrrs - (gen_addr[12:0] & (mrrs - 13'd1));
        if (33'(gen_rem) < 33'(gen_to_bound))
            gen_chunk = 13'(gen_rem);
        else
            gen_chunk = gen_to_bound;
        gen_last   = 33'(gen_rem) == 33'(gen_chunk);
        gen_dw     = 11'((14'(gen_addr[1:0]) + 14'(gen_chunk) + 14'd3) >> 2);
        gen_end_lo = gen_addr[1:0] + gen_chunk[1:0];
        gen_first_be = 4'hf << gen_addr[1:0];
        gen_last_be  = (gen_end_lo == 2'd0) ? 4'hf : (4'hf >> (3'd4 - {1'b0, gen_end_lo}));
        if (gen_dw == 11'd1) begin
            gen_first_be = gen_first_be & gen_last_be;
            gen_last_be  = 4'h0;
        end
        // the chunk never crosses an MRRS (>= 128) boundary, so
        // gen_addr[5:0] + gen_chunk <= MRRS: at most 64 headers, 256 + 64 credits
        gen_ch = CH_W'((14'(gen_addr[5:0]) + 14'(gen_chunk) + 14'd63) >> 6);
        gen_cd = CD_W'((14'(gen_addr[3:0]) + 14'(gen_chunk) + 14'd15) >> 4) + CD_W'(gen_ch);
    end

    assign credit_ok = FCH_W'(iss_ch) <= cplh_free && FCD_W'(iss_cd) <= cpld_free;
    assign iss_fire  = iss_valid && alloc_ok && credit_ok && (!m_axis_rq_tvalid || m_axis_rq_tready);
    assign gen_adv   = gen_active && (!iss_valid || iss_fire);

    always_ff @(posedge clk) begin
        mrrs <= 13'd128 << ((cfg_max_read_req > 3'd5) ? 3'd5 : cfg_max_read_req);

        if (desc_fire) begin
            gen_active <= s_axis_rd_desc_len != '0;
            gen_addr   <= s_axis_rd_desc_pcie_addr;
            gen_ram    <= s_axis_rd_desc_ram_addr;
            gen_rem    <= s_axis_rd_desc_len;
            gen_func   <= s_axis_rd_desc_func;
            gen_op     <= op_free_idx;
        end else if (gen_adv) begin
            gen_addr <= gen_addr + 64'(gen_chunk);
            gen_ram  <= gen_ram + RAM_ADDR_W'(gen_chunk);
            gen_rem  <= gen_rem - LEN_W'(gen_chunk);
            if (gen_last)
                gen_active <= 1'b0;
        end

        if (gen_adv) begin
            iss_valid    <= 1'b1;
            iss_addr     <= gen_addr;
            iss_ram      <= gen_ram;
            iss_func     <= gen_func;
            iss_op       <= gen_op;
            iss_last     <= gen_last;
            iss_dw       <= gen_dw;
            iss_first_be <= gen_first_be;
            iss_last_be  <= gen_last_be;
            iss_end      <= {1'b0, gen_addr[11:0]} + gen_chunk;
            iss_ch       <= gen_ch;
            iss_cd       <= gen_cd;
        end else if (iss_fire) begin
            iss_valid <= 1'b0;
        end

        if (iss_fire) begin
            m_axis_rq_tvalid <= 1'b1;
            rq_desc <= {
                1'b0,                    // force ECRC
                3'b000,                  // attr
                3'b000,                  // TC
                1'b0,                    // requester ID enable: the core fills the bus
                16'h0000,                // completer ID
                8'(alloc_tag),           // tag
                8'h00, iss_func,         // requester ID: bus (core), function
                1'b0,                    // poisoned
                REQ_MEM_RD,              // request type
                iss_dw,                  // dword count
                iss_addr[63:2], 2'b00    // address, AT = 0
            };
            rq_first_be <= iss_first_be;
            rq_last_be  <= iss_last_be;
            rq_tag      <= alloc_tag;
            tag_rr      <= (32'(alloc_tag) == PCIE_TAG_COUNT - 1) ? '0 : alloc_tag + 1'b1;
        end else if (m_axis_rq_tready) begin
            m_axis_rq_tvalid <= 1'b0;
        end

        if (rst) begin
            gen_active       <= 1'b0;
            iss_valid        <= 1'b0;
            m_axis_rq_tvalid <= 1'b0;
            tag_rr           <= '0;
        end
    end

    // per-tag request information (no reset: only read while the tag is busy)
    always_ff @(posedge clk) begin
        if (iss_fire) begin
            tag_op[alloc_tag]  <= iss_op;
            tag_ram[alloc_tag] <= iss_ram;
            tag_lo[alloc_tag]  <= iss_addr[11:0];
            tag_end[alloc_tag] <= iss_end;
            tag_ch[alloc_tag]  <= iss_ch;
            tag_cd[alloc_tag]  <= iss_cd;
        end
    end

    assign m_axis_rq_tdata  = {384'd0, rq_desc};
    assign m_axis_rq_tkeep  = 16'h000f;
    assign m_axis_rq_tlast  = 1'b1;
    // first_be0 [3:0], last_be0 [11:8], is_sop0 [20] (ptr 0), is_eop0 [26]
    // with is_eop0_ptr [31:28] = DW 3; discontinue, seq_num, parity 0
    assign m_axis_rq_tuser  = {105'd0, 4'd3, 1'b0, 1'b1, 4'd0, 1'b0, 1'b1, 8'd0,
                               rq_last_be, 4'd0, rq_first_be};

    // ------------------------------------------------------------------
    // RC input FIFO (2 beats): registered tready, absorbs the flush stall
    // ------------------------------------------------------------------

    logic [513:0] rcf_mem [2];    // {discontinue, tlast, tdata}
    logic [1:0]   rcf_cnt;
    logic         rcf_wp, rcf_rp;
    logic         adv;            // RC pipeline advances (no flush row pending)
    logic         rcf_push, rcf_pop;

    assign s_axis_rc_tready = rcf_cnt != 2'd2;
    assign rcf_push = s_axis_rc_tvalid && s_axis_rc_tready;
    assign rcf_pop  = rcf_cnt != 2'd0 && adv;

    always_ff @(posedge clk) begin
        if (rcf_push) begin
            rcf_mem[rcf_wp] <= {s_axis_rc_tuser[96], s_axis_rc_tlast, s_axis_rc_tdata};
            rcf_wp <= !rcf_wp;
        end
        if (rcf_pop)
            rcf_rp <= !rcf_rp;
        rcf_cnt <= rcf_cnt + {1'b0, rcf_push} - {1'b0, rcf_pop};

        if (rst) begin
            rcf_cnt <= '0;
            rcf_wp  <= 1'b0;
            rcf_rp  <= 1'b0;
        end
    end

    // ------------------------------------------------------------------
    // stage P: frame parse and tag lookup
    // ------------------------------------------------------------------

    logic [511:0] h_data;
    logic         h_last, h_disc, h_sop;
    logic         in_frame;       // a frame's first beat has been popped, not its last
    logic [6:0]   bi_next;        // beat index of the next non-first beat (saturating)

    assign {h_disc, h_last, h_data} = rcf_mem[rcf_rp];
    assign h_sop = !in_frame;

    // RC descriptor fields of the head beat
    logic [11:0]          h_la;
    logic [3:0]           h_ec;
    logic [12:0]          h_bc;
    logic                 h_rcmp;
    logic [10:0]          h_dwc;
    logic [2:0]           h_st;
    logic [7:0]           h_tag;
    logic [TAG_IDX_W-1:0] h_tidx;
    logic                 h_ok;       // tag outstanding
    logic                 h_res;      // this completion ends the request

    assign h_la   = h_data[11:0];
    assign h_ec   = h_data[15:12];
    assign h_bc   = h_data[28:16];
    assign h_rcmp = h_data[30];
    assign h_dwc  = h_data[42:32];
    assign h_st   = h_data[45:43];
    assign h_tag  = h_data[71:64];
    assign h_tidx = TAG_IDX_W'(h_tag);
    assign h_ok   = ({1'b0, h_tag} < 9'(PCIE_TAG_COUNT)) && tag_open[h_tidx];
    assign h_res  = h_rcmp || h_ec == RC_ERR_STATUS || h_ec == RC_ERR_CPL_TIMEOUT;

    // per-beat
    logic                 p_valid, p_sop, p_last, p_disc;
    logic [511:0]         p_data;
    logic [6:0]           p_bi;
    // per-frame (loaded with the first beat; belongs to the beat in P)
    logic                 pf_ok, pf_res;
    logic [TAG_IDX_W-1:0] pf_tag;
    logic [OP_IDX_W-1:0]  pf_op;
    logic [RAM_ADDR_W-1:0] pf_ram;
    logic [11:0]          pf_lo;
    logic [12:0]          pf_end;
    logic [11:0]          pf_la;
    logic [3:0]           pf_ec;
    logic [12:0]          pf_bc;
    logic [10:0]          pf_dwc;
    logic [2:0]           pf_st;

    // side effects of a pop
    logic                 p_close;        // first beat of a completion ending its request
    logic                 p_touch;        // progress on an open tag: clear its age
    logic [TAG_IDX_W-1:0] p_touch_tag;

    assign p_close     = rcf_pop && h_sop && h_ok && h_res;
    assign p_touch     = rcf_pop && (h_sop ? h_ok : pf_ok);
    assign p_touch_tag = h_sop ? h_tidx : pf_tag;

    always_ff @(posedge clk) begin
        stat_unexpected_cpl <= rcf_pop && h_sop && !h_ok;

        if (adv) begin
            p_valid <= rcf_pop;
            if (rcf_pop) begin
                p_data <= h_data;
                p_last <= h_last;
                p_disc <= h_disc;
                p_sop  <= h_sop;
                p_bi   <= h_sop ? 7'd0 : bi_next;
                in_frame <= !h_last;
                bi_next  <= h_sop ? 7'd1 : ((bi_next == 7'd127) ? bi_next : bi_next + 7'd1);
                if (h_sop) begin
                    pf_ok  <= h_ok;
                    pf_res <= h_res;
                    pf_tag <= h_tidx;
                    pf_op  <= tag_op[h_tidx];
                    pf_ram <= tag_ram[h_tidx];
                    pf_lo  <= tag_lo[h_tidx];
                    pf_end <= tag_end[h_tidx];
                    pf_la  <= h_la;
                    pf_ec  <= h_ec;
                    pf_bc  <= h_bc;
                    pf_dwc <= h_dwc;
                    pf_st  <= h_st;
                end
            end
        end

        if (rst) begin
            stat_unexpected_cpl <= 1'b0;
            p_valid  <= 1'b0;
            in_frame <= 1'b0;
            bi_next  <= 7'd0;
        end
    end

    // ------------------------------------------------------------------
    // stage Q: byte offsets, RAM row, rotation
    // ------------------------------------------------------------------

    logic [12:0]           c_bc;        // byte count (0 read as 4096)
    logic [13:0]           c_avail;     // payload bytes from lower_address on
    logic [12:0]           c_n;         // payload bytes of this completion
    logic [4:0]            c_plo;       // frame position of the first payload byte
    logic [13:0]           c_phi;       // frame position after the last payload byte
    logic [RAM_ADDR_W-1:0] c_b;         // RAM byte address of frame position 0
    logic [5:0]            c_s;         // rotation: RAM lane = frame lane + c_s
    logic [ROW_W-1:0]      c_row0;      // RAM row of frame position 0
    logic [6:0]            c_off_lo;    // payload offsets from c_row0 * 64
    logic [14:0]           c_off_hi;
    logic                  c_range_ok;  // completion lies inside its request
    logic [7:0]            c_exp_last;  // expected index of the frame's last beat
    logic                  c_fmt_ok;    // data completion, well formed
    logic                  c_wr;        // write this beat's bytes
    logic                  c_disc;      // discontinue seen in this frame
    logic [3:0]            c_err;
    logic signed [15:0]    c_lo_rel, c_hi_rel;
    logic                  q_disc_seen;

    always_comb begin
        c_bc      = (pf_bc == 13'd0) ? 13'd4096 : pf_bc;
        c_avail   = {1'b0, pf_dwc, 2'b00} - 14'(pf_la[1:0]);
        if (pf_dwc == 11'd0)
            c_n = 13'd0;
        else if (14'(c_bc) < c_avail)
            c_n = c_bc;
        else
            c_n = 13'(c_avail);
        c_plo     = 5'd12 + 5'(pf_la[1:0]);
        c_phi     = 14'(c_plo) + 14'(c_n);
        c_b       = pf_ram + RAM_ADDR_W'({pf_la[11:2], 2'b00}) - RAM_ADDR_W'(pf_lo)
                  - RAM_ADDR_W'(12);
        c_s       = c_b[5:0];
        c_row0    = c_b[RAM_ADDR_W-1:6];
        c_off_lo  = 7'(c_s) + 7'(c_plo);
        c_off_hi  = 15'(c_s) + 15'(c_phi);
        c_range_ok = (pf_la >= pf_lo) && ((13'(pf_la) + c_bc) == pf_end);
        c_exp_last = 8'(({1'b0, pf_dwc, 2'b00} + 14'd11) >> 6);
        c_disc    = p_disc || (!p_sop && q_disc_seen);
        c_fmt_ok  = c_range_ok && pf_dwc != 11'd0 && pf_st == CPL_SC;
        c_wr      = pf_ok && pf_ec == RC_ERR_NORMAL && c_fmt_ok && !c_disc;

        // error of the frame (used with its last beat)
        case (pf_ec)
            RC_ERR_NORMAL:
                c_err = (c_fmt_ok && !c_disc && 8'(p_bi) == c_exp_last) ? DMA_OK : DMA_ERR_CPL;
            RC_ERR_POISON:
                c_err = DMA_ERR_POISON;
            RC_ERR_STATUS:
                case (pf_st)
                    CPL_UR:  c_err = DMA_ERR_UR;
                    CPL_CA:  c_err = DMA_ERR_CA;
                    default: c_err = DMA_ERR_CPL;
                endcase
            RC_ERR_CPL_TIMEOUT:
                c_err = DMA_ERR_TIMEOUT;
            default:
                c_err = DMA_ERR_CPL;
        endcase

        c_lo_rel = 16'(c_off_lo) - 16'({p_bi, 6'd0});
        c_hi_rel = 16'(c_off_hi) - 16'({p_bi, 6'd0});
    end

    logic                  q_valid, q_last, q_upd, q_res, q_wr;
    logic [511:0]          q_rot;
    logic [ROW_W-1:0]      q_row;
    logic [5:0]            q_s;
    logic [6:0]            q_lo, q_hi, q_lo2, q_hi2;
    logic [OP_IDX_W-1:0]   q_op;
    logic [TAG_IDX_W-1:0]  q_tag;
    logic [3:0]            q_err;

    always_ff @(posedge clk) begin
        if (adv) begin
            q_valid <= p_valid;
            if (p_valid) begin
                q_disc_seen <= !p_last && c_disc;
                q_rot  <= rotl_bytes(p_data, c_s);
                q_row  <= c_row0 + ROW_W'(p_bi);
                q_s    <= c_s;
                q_lo   <= clamp64(c_lo_rel);
                q_hi   <= clamp64(c_hi_rel);
                q_lo2  <= clamp64(c_lo_rel - 16'sd64);
                q_hi2  <= clamp64(c_hi_rel - 16'sd64);
                q_wr   <= c_wr;
                q_last <= p_last;
                q_upd  <= pf_ok;
                q_res  <= pf_res;
                q_op   <= pf_op;
                q_tag  <= pf_tag;
                q_err  <= c_err;
            end
        end

        if (rst) begin
            q_valid     <= 1'b0;
            q_disc_seen <= 1'b0;
        end
    end

    // ------------------------------------------------------------------
    // stage R: row merge and RAM write
    // ------------------------------------------------------------------

    logic [511:0]          r_prev;      // previous beat, rotated
    logic                  r_flush;     // extra row pending: pipeline stalls one cycle
    logic [ROW_W-1:0]      r_flush_row;
    logic [63:0]           r_flush_be;
    logic                  r_upd, r_res;
    logic [OP_IDX_W-1:0]   r_op;
    logic [TAG_IDX_W-1:0]  r_tag;
    logic [3:0]            r_err;

    logic [63:0]           m_low;       // lanes < q_s come from the previous beat
    logic [63:0]           m_be, m_flush_be;
    logic [511:0]          m_data;

    assign adv = !r_flush;

    always_comb begin
        m_low = ~(64'hffff_ffff_ffff_ffff << q_s);
        m_be       = q_wr ? lane_range(q_lo, q_hi) : 64'd0;
        m_flush_be = q_wr ? (lane_range(q_lo2, q_hi2) & m_low) : 64'd0;
        for (int i = 0; i < 64; i++)
            m_data[i*8 +: 8] = m_low[i] ? r_prev[i*8 +: 8] : q_rot[i*8 +: 8];
    end

    always_ff @(posedge clk) begin
        ram_wr_en <= 1'b0;
        u_valid   <= 1'b0;

        if (r_flush) begin
            ram_wr_en   <= 1'b1;
            ram_wr_addr <= r_flush_row;
            ram_wr_be   <= r_flush_be;
            ram_wr_data <= r_prev;
            r_flush     <= 1'b0;
            u_valid     <= r_upd;
            u_resolve   <= r_res;
            u_op        <= r_op;
            u_tag       <= r_tag;
            u_err       <= r_err;
        end else if (q_valid) begin
            ram_wr_en   <= m_be != 64'd0;
            ram_wr_addr <= q_row;
            ram_wr_be   <= m_be;
            ram_wr_data <= m_data;
            r_prev      <= q_rot;
            if (q_last) begin
                if (m_flush_be != 64'd0) begin
                    r_flush     <= 1'b1;
                    r_flush_row <= q_row + 1'b1;
                    r_flush_be  <= m_flush_be;
                    r_upd       <= q_upd;
                    r_res       <= q_res;
                    r_op        <= q_op;
                    r_tag       <= q_tag;
                    r_err       <= q_err;
                end else begin
                    u_valid   <= q_upd;
                    u_resolve <= q_res;
                    u_op      <= q_op;
                    u_tag     <= q_tag;
                    u_err     <= q_err;
                end
            end
        end

        if (rst) begin
            ram_wr_en <= 1'b0;
            u_valid   <= 1'b0;
            r_flush   <= 1'b0;
        end
    end

    // ------------------------------------------------------------------
    // completion timeout
    // ------------------------------------------------------------------

    logic [TICK_W-1:0]         tick_cnt;
    logic                      tick;
    logic [PCIE_TAG_COUNT-1:0] age_clr;
    logic                      to_any;
    logic [TAG_IDX_W-1:0]      to_tag;
    logic                      to_fire;

    always_comb begin
        to_any = 1'b0;
        to_tag = '0;
        for (int i = PCIE_TAG_COUNT - 1; i >= 0; i--) begin
            age_clr[i] = (iss_fire && alloc_tag == TAG_IDX_W'(i))
                      || (m_axis_rq_tvalid && rq_tag == TAG_IDX_W'(i))
                      || (p_touch && p_touch_tag == TAG_IDX_W'(i));
            if (tag_open[i] && tag_age[i] >= AGE_EXPIRED) begin
                to_any = 1'b1;
                to_tag = TAG_IDX_W'(i);
            end
        end
    end

    // the end-of-frame event has priority; a tag touched by a completion
    // beat this very cycle is not timed out
    assign to_fire = to_any && !u_valid && !(p_touch && p_touch_tag == to_tag);

    always_ff @(posedge clk) begin
        tick     <= 32'(tick_cnt) == TICK - 1;
        tick_cnt <= (32'(tick_cnt) == TICK - 1) ? '0 : tick_cnt + 1'b1;
        for (int i = 0; i < PCIE_TAG_COUNT; i++) begin
            if (age_clr[i])
                tag_age[i] <= 4'd0;
            else if (tick && tag_open[i] && tag_age[i] != 4'hf)
                tag_age[i] <= tag_age[i] + 4'd1;
        end

        if (rst) begin
            tick     <= 1'b0;
            tick_cnt <= '0;
            for (int i = 0; i < PCIE_TAG_COUNT; i++)
                tag_age[i] <= 4'd0;
        end
    end

    // ------------------------------------------------------------------
    // tag pool and op table
    // ------------------------------------------------------------------

    // one resolution event per cycle: end of a completion, else a timeout
    logic                  ev_valid, ev_resolve;
    logic [OP_IDX_W-1:0]   ev_op;
    logic [TAG_IDX_W-1:0]  ev_tag;
    logic [3:0]            ev_err;

    always_comb begin
        ev_valid   = u_valid || to_fire;
        ev_resolve = u_valid ? u_resolve : 1'b1;
        ev_op      = u_valid ? u_op : tag_op[to_tag];
        ev_tag     = u_valid ? u_tag : to_tag;
        ev_err     = u_valid ? u_err : DMA_ERR_TIMEOUT;
    end

    always_ff @(posedge clk) begin
        for (int i = 0; i < PCIE_TAG_COUNT; i++) begin
            if (iss_fire && alloc_tag == TAG_IDX_W'(i)) begin
                tag_busy[i] <= 1'b1;
                tag_open[i] <= 1'b1;
            end else begin
                if (ev_valid && ev_resolve && ev_tag == TAG_IDX_W'(i))
                    tag_busy[i] <= 1'b0;
                if ((p_close && h_tidx == TAG_IDX_W'(i)) || (to_fire && to_tag == TAG_IDX_W'(i)))
                    tag_open[i] <= 1'b0;
            end
        end

        if (rst) begin
            tag_busy <= '0;
            tag_open <= '0;
        end
    end

    // completion buffer credits: reserved when a TLP is issued, returned
    // (registered) when its tag is resolved
    logic                  rel_valid;
    logic [CH_W-1:0]       rel_ch;
    logic [CD_W-1:0]       rel_cd;

    always_ff @(posedge clk) begin
        rel_valid <= ev_valid && ev_resolve;
        rel_ch    <= tag_ch[ev_tag];
        rel_cd    <= tag_cd[ev_tag];
        cplh_free <= cplh_free - (iss_fire ? FCH_W'(iss_ch) : '0) + (rel_valid ? FCH_W'(rel_ch) : '0);
        cpld_free <= cpld_free - (iss_fire ? FCD_W'(iss_cd) : '0) + (rel_valid ? FCD_W'(rel_cd) : '0);

        if (rst) begin
            rel_valid <= 1'b0;
            cplh_free <= FCH_W'(CPLH_FC_LIMIT);
            cpld_free <= FCD_W'(CPLD_FC_LIMIT);
        end
    end

    // status selection: lowest finished slot
    logic                  st_any;
    logic [OP_IDX_W-1:0]   st_idx;

    always_comb begin
        st_any = 1'b0;
        st_idx = '0;
        for (int i = OP_COUNT - 1; i >= 0; i--) begin
            if (op_active[i] && !op_issuing[i] && op_cnt[i] == '0) begin
                st_any = 1'b1;
                st_idx = OP_IDX_W'(i);
            end
        end
    end

    always_ff @(posedge clk) begin
        m_axis_rd_desc_status_valid <= st_any;
        m_axis_rd_desc_status_tag   <= op_ctag[st_idx];
        m_axis_rd_desc_status_error <= op_err[st_idx];

        for (int i = 0; i < OP_COUNT; i++) begin
            if (desc_fire && op_free_idx == OP_IDX_W'(i)) begin
                op_active[i]  <= 1'b1;
                op_issuing[i] <= s_axis_rd_desc_len != '0;
                op_ctag[i]    <= s_axis_rd_desc_tag;
                op_err[i]     <= DMA_OK;
                op_cnt[i]     <= '0;
            end else begin
                op_cnt[i] <= op_cnt[i]
                           + CNT_W'(iss_fire && iss_op == OP_IDX_W'(i))
                           - CNT_W'(ev_valid && ev_resolve && ev_op == OP_IDX_W'(i));
                if (ev_valid && ev_op == OP_IDX_W'(i) && op_err[i] == DMA_OK)
                    op_err[i] <= ev_err;
                if (iss_fire && iss_last && iss_op == OP_IDX_W'(i))
                    op_issuing[i] <= 1'b0;
                if (st_any && st_idx == OP_IDX_W'(i))
                    op_active[i] <= 1'b0;
            end
        end

        if (rst) begin
            m_axis_rd_desc_status_valid <= 1'b0;
            op_active  <= '0;
            op_issuing <= '0;
        end
    end

    // unused inputs: tkeep (the payload length comes from the descriptor),
    // RC tuser except discontinue (byte enables are recomputed from
    // lower_address / byte_count / dword_count), RC descriptor fields not
    // needed (locked, requester/completer ID, TC, attr)
    wire _unused_ok = &{1'b0, s_axis_rc_tkeep, s_axis_rc_tuser[160:97], s_axis_rc_tuser[95:0],
                        h_data[511:72], h_data[63:46], h_data[31], h_data[29]};

endmodule

`resetall
