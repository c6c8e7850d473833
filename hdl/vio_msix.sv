// SPDX-License-Identifier: Apache-2.0
//
// MSI-X for NUM_FUNC functions: the per-function MSI-X table and Pending Bit
// Array (PBA), served as DWORD registers on the `reg` interface, and the
// interrupt message generator, which sends each message as a 1-DWORD posted
// memory write on the UltraScale+ requester request (RQ) stream.
//
// Register map (per function, inside the BAR the register demux routes here;
// s_reg_req_bar is not decoded):
//   [TABLE_OFFSET, +TBL_BYTES)  table, 16 bytes per vector:
//       +0x0 Message Address (bits 1:0 read 0), +0x4 Message Upper Address,
//       +0x8 Message Data, +0xC Vector Control (bit 0 Mask, other bits RO 0)
//     entries >= NUM_VEC read 0 and ignore writes.
//   [PBA_OFFSET, +4 KiB)        PBA, one bit per vector, QWORD-packed,
//     read-only (writes ignored); DWORDs past ceil(NUM_VEC/64) QWORDs read 0.
//   Anything else (and any function >= NUM_FUNC) reads 0, writes are ignored.
//   Reset: address/data 0, every vector masked, PBA clear. Byte enables are
//   honoured on writes; reads have no side effects.
//
// Interrupt requests (s_axis_irq, one function/vector per transfer):
//   function >= NUM_FUNC or vector >= NUM_VEC   dropped (stat_irq_dropped)
//   MSI-X Enable clear for the function         dropped, pending NOT set
//       (while MSI-X is disabled the function does not use MSI-X at all, so
//       the event is not remembered for a later enable)    (stat_irq_dropped)
//   Function Mask or the vector's Mask set      pending bit set, nothing sent
//                                                           (stat_irq_pending)
//   otherwise                                   one MemWr of 1 DW: data =
//       Message Data, address = {Upper Address, Address}, first_be 4'hF,
//       last_be 0, requester ID = {8'h00, func}; pending left clear.
//       stat_irq_sent pulses when the RQ handshake completes.
//
// Replay: a pending vector is sent (once, with the table contents at send
// time) and its pending bit cleared as soon as it becomes deliverable, i.e.
// MSI-X enabled, function unmasked and vector unmasked:
//   - a table write that leaves the vector's Mask clear sends that vector;
//   - when (cfg_msix_enable & ~cfg_msix_mask) of a function rises (Function
//     Mask cleared while enabled, or MSI-X enabled while unmasked), every
//     pending, unmasked vector of that function is sent, lowest vector first.
//   If the function becomes undeliverable during such a scan, the scan stops
//   and the remaining vectors stay pending (the next rising edge rescans).
//   Disabling MSI-X does not clear the PBA.
//
// Function reset (func_reset[f], level: an FLR of f, or a VF that does not
// exist): the function's table entries return to their reset values (address
// and data 0, every vector masked, pending bits clear), one entry per cycle
// (NUM_VEC cycles) as soon as the block is idle; func_reset_busy[f] is high
// from the rising edge of func_reset[f] until that sweep is done (the FLR
// handshake waits for it). While func_reset[f] is high, interrupt requests
// of f are dropped (stat_irq_dropped, no pending bit) and its register
// accesses read 0 / are ignored (the PCIe block does not route requests to a
// function in FLR anyway).
//
// Ordering: requests are processed one at a time, in the order they are
// accepted; a replay scan is finished before the next request is accepted.
// A message's deliverability is decided in the cycle it enters the RQ
// output register, so a message never waits in this block after a mask was
// set.
//
// Storage: the table is a RAM of NUM_FUNC*NUM_VEC 96-bit entries (address,
// upper address, data; byte-enable writes), the masks and pending bits a RAM
// of NUM_FUNC*ceil(NUM_VEC/64) 128-bit words {mask[63:0], pending[63:0]}
// updated read-modify-write. After reset both are swept to their reset
// values (one entry per cycle, NUM_FUNC*NUM_VEC cycles) with both inputs not
// ready.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_msix #(
    parameter int NUM_FUNC = 2,                                  // functions 0..NUM_FUNC-1 (1..256)
    parameter int NUM_VEC = 64,                                  // MSI-X vectors per function (1..2048)
    parameter int REG_ADDR_W = 24,                               // reg interface byte-address width
    parameter logic [REG_ADDR_W-1:0] TABLE_OFFSET = 'h2000,      // BAR offset of the table region (4 KiB aligned)
    parameter logic [REG_ADDR_W-1:0] PBA_OFFSET = 'h3000         // BAR offset of the 4 KiB PBA region (4 KiB aligned)
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    // register access (reg interface, slave)
    input  wire logic                   s_reg_req_valid,
    output logic                        s_reg_req_ready,
    input  wire logic                   s_reg_req_we,
    input  wire logic [7:0]             s_reg_req_func,
    // the demux routes only this block's BAR here, so the BAR id is not decoded
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire logic [2:0]             s_reg_req_bar,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire logic [REG_ADDR_W-1:0]  s_reg_req_addr,
    input  wire logic [3:0]             s_reg_req_be,
    input  wire logic [31:0]            s_reg_req_wdata,
    output logic                        s_reg_rsp_valid,
    output logic      [31:0]            s_reg_rsp_rdata,

    // interrupt requests
    input  wire logic                   s_axis_irq_valid,
    output logic                        s_axis_irq_ready,
    input  wire logic [7:0]             s_axis_irq_func,
    input  wire logic [10:0]            s_axis_irq_vec,

    // MSI-X Enable / Function Mask of each function (config space)
    input  wire logic [NUM_FUNC-1:0]    cfg_msix_enable,
    input  wire logic [NUM_FUNC-1:0]    cfg_msix_mask,

    // function resets (FLR / VF gone): level in, busy until the function's entries are swept
    input  wire logic [NUM_FUNC-1:0]    func_reset,
    output logic      [NUM_FUNC-1:0]    func_reset_busy,

    // messages (UltraScale+ RQ, 512-bit, no straddling)
    output logic      [511:0]           m_axis_rq_tdata,
    output logic      [15:0]            m_axis_rq_tkeep,
    output logic                        m_axis_rq_tvalid,
    input  wire logic                   m_axis_rq_tready,
    output logic                        m_axis_rq_tlast,
    output logic      [136:0]           m_axis_rq_tuser,

    // statistics (one-cycle pulses)
    output logic                        stat_irq_sent,
    output logic                        stat_irq_pending,
    output logic                        stat_irq_dropped
);

    // ------------------------------------------------------------ geometry
    localparam int PBA_WORDS = (NUM_VEC + 63) / 64;                  // PBA QWORDs per function
    localparam int TBL_BYTES = ((16 * NUM_VEC + 4095) / 4096) * 4096; // table region size
    localparam int PBA_BYTES = 4096;                                  // PBA region size
    localparam int TBL_DEPTH = NUM_FUNC * NUM_VEC;                    // table RAM entries
    localparam int ST_DEPTH = NUM_FUNC * PBA_WORDS;                   // mask/pending RAM words
    localparam int FUNC_W = NUM_FUNC > 1 ? $clog2(NUM_FUNC) : 1;
    localparam int WORD_W = PBA_WORDS > 1 ? $clog2(PBA_WORDS) : 1;   // PBA word index width
    localparam int TIDX_W = TBL_DEPTH > 1 ? $clog2(TBL_DEPTH) : 1;
    localparam int SIDX_W = ST_DEPTH > 1 ? $clog2(ST_DEPTH) : 1;
    localparam int TENT_W = $clog2(TBL_BYTES / 16);                   // entry index width in the table region
    localparam int CNT_W = $clog2(TBL_DEPTH + 1);                     // init sweep counter

    initial begin
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_msix: NUM_FUNC must be 1..256");
        if (NUM_VEC < 1 || NUM_VEC > 2048) $fatal(1, "vio_msix: NUM_VEC must be 1..2048");
        if (REG_ADDR_W < 13 || REG_ADDR_W > 32) $fatal(1, "vio_msix: REG_ADDR_W must be 13..32");
        if (TABLE_OFFSET % 4096 != 0) $fatal(1, "vio_msix: TABLE_OFFSET must be 4 KiB aligned");
        if (PBA_OFFSET % 4096 != 0) $fatal(1, "vio_msix: PBA_OFFSET must be 4 KiB aligned");
        if (64'(TABLE_OFFSET) + 64'(TBL_BYTES) > (64'd1 << REG_ADDR_W))
            $fatal(1, "vio_msix: table region does not fit in REG_ADDR_W");
        if (64'(PBA_OFFSET) + 64'(PBA_BYTES) > (64'd1 << REG_ADDR_W))
            $fatal(1, "vio_msix: PBA region does not fit in REG_ADDR_W");
        if (64'(TABLE_OFFSET) < 64'(PBA_OFFSET) + 64'(PBA_BYTES) &&
            64'(PBA_OFFSET) < 64'(TABLE_OFFSET) + 64'(TBL_BYTES))
            $fatal(1, "vio_msix: table and PBA regions overlap");
    end

    // ------------------------------------------------------------ state
    typedef enum logic [3:0] {
        S_INIT,       // sweeping the RAMs to their reset values
        S_FRST,       // sweeping one function's entries (function reset)
        S_IDLE,       // accept a request or start a replay scan
        S_LOOKUP,     // read the entry / state word of the current operation
        S_EXEC,       // act on a register access or interrupt request
        S_SCAN_RD,    // replay scan: read one state word
        S_SCAN_CHK,   // replay scan: find the lowest pending unmasked vector
        S_SEND_RD,    // replay scan: read that vector's table entry
        S_SEND_EXEC   // replay scan: send it
    } state_t;

    typedef enum logic [2:0] {
        OP_RD_ZERO,   // read of nothing: returns 0
        OP_RD_TBL,    // read table DWORD 0..2
        OP_RD_VC,     // read Vector Control
        OP_RD_PBA,    // read a PBA DWORD
        OP_WR_TBL,    // write table DWORD 0..2
        OP_WR_VC,     // write Vector Control
        OP_IRQ        // interrupt request
    } op_t;

    state_t state;
    op_t    op;
    logic [1:0]        op_dw;      // DWORD within the entry / PBA QWORD
    logic [3:0]        op_be;
    logic [31:0]       op_wdata;
    logic [FUNC_W-1:0] cur_func;
    logic [WORD_W-1:0] cur_word;   // vector = {cur_word, cur_bit}
    logic [5:0]        cur_bit;
    logic              rr_reg;     // round robin: the register port goes first
    logic [CNT_W-1:0]  init_cnt;

    logic [NUM_FUNC-1:0] en_q, fmask_q, deliv_prev;
    logic [NUM_FUNC-1:0] scan_req;
    logic [NUM_FUNC-1:0] frst_req, frst_prev;   // function sweeps owed / func_reset last cycle

    // RAM indices of the current {func, vector}
    logic [TIDX_W-1:0] tidx;
    logic [SIDX_W-1:0] sidx;
    always_comb begin
        tidx = TIDX_W'(cur_func) * TIDX_W'(NUM_VEC) + TIDX_W'({cur_word, cur_bit});
        sidx = SIDX_W'(cur_func) * SIDX_W'(PBA_WORDS) + SIDX_W'(cur_word);
    end

    // ------------------------------------------------------------ storage
    // table RAM: {data, upper address, address} per {func, vec}
    logic [95:0] tbl_mem [TBL_DEPTH];
    logic        tbl_we;
    logic [TIDX_W-1:0] tbl_waddr;
    logic [11:0] tbl_wbe;
    logic [95:0] tbl_wdata;
    logic        tbl_re;
    logic [95:0] tbl_rdata;

    always_ff @(posedge clk) begin
        if (tbl_we) begin
            for (int b = 0; b < 12; b++) begin
                if (tbl_wbe[b]) tbl_mem[tbl_waddr][b*8 +: 8] <= tbl_wdata[b*8 +: 8];
            end
        end
        if (tbl_re) tbl_rdata <= tbl_mem[tidx];
    end

    // mask/pending RAM: {mask[63:0], pending[63:0]} per {func, PBA word}
    logic [127:0] st_mem [ST_DEPTH];
    logic         st_we;
    logic [SIDX_W-1:0] st_waddr;
    logic [127:0] st_wdata;
    logic         st_re;
    logic [127:0] st_rdata;

    always_ff @(posedge clk) begin
        if (st_we) st_mem[st_waddr] <= st_wdata;
        if (st_re) st_rdata <= st_mem[sidx];
    end

    wire [NUM_FUNC-1:0] deliv = en_q & ~fmask_q;   // function may send now
    wire cur_en = en_q[cur_func];
    wire cur_deliv = deliv[cur_func];

    // the current vector's bits in the state word read from the RAM
    wire [63:0] st_pend = st_rdata[63:0];
    wire [63:0] st_mask = st_rdata[127:64];
    wire cur_pend = st_pend[cur_bit];
    wire cur_mask = st_mask[cur_bit];

    // lowest pending, unmasked vector of the word
    wire [63:0] cand = st_pend & ~st_mask;
    logic [5:0] cand_bit;
    always_comb begin
        cand_bit = '0;
        for (int i = 63; i >= 0; i--) begin
            if (cand[i]) cand_bit = 6'(i);
        end
    end

    // lowest function waiting for a function-reset sweep
    logic [FUNC_W-1:0] frst_func;
    always_comb begin
        frst_func = '0;
        for (int i = NUM_FUNC - 1; i >= 0; i--) begin
            if (frst_req[i]) frst_func = FUNC_W'(i);
        end
    end
    always_comb begin
        for (int i = 0; i < NUM_FUNC; i++)
            func_reset_busy[i] = frst_req[i] || (func_reset[i] && !frst_prev[i])
                                 || (state == S_FRST && 32'(cur_func) == i);
    end

    // lowest function waiting for a replay scan
    logic [FUNC_W-1:0] scan_func;
    always_comb begin
        scan_func = '0;
        for (int i = NUM_FUNC - 1; i >= 0; i--) begin
            if (scan_req[i]) scan_func = FUNC_W'(i);
        end
    end

    // ------------------------------------------------------------ request decode
    wire idle_free = state == S_IDLE && scan_req == '0 && frst_req == '0;
    always_comb begin
        s_reg_req_ready = idle_free && (rr_reg || !s_axis_irq_valid);
        s_axis_irq_ready = idle_free && (!rr_reg || !s_reg_req_valid);
    end
    wire reg_fire = s_reg_req_valid && s_reg_req_ready;
    wire irq_fire = s_axis_irq_valid && s_axis_irq_ready;

    // register address decode
    wire [REG_ADDR_W-1:0] tbl_rel = s_reg_req_addr - TABLE_OFFSET;
    wire [REG_ADDR_W-1:0] pba_rel = s_reg_req_addr - PBA_OFFSET;
    wire in_tbl = tbl_rel < REG_ADDR_W'(TBL_BYTES);
    wire in_pba = pba_rel < REG_ADDR_W'(PBA_BYTES);
    wire [TENT_W-1:0] tbl_ent = tbl_rel[4 +: TENT_W];   // vector number
    wire [9:0] pba_dw = pba_rel[11:2];                  // PBA DWORD number
    wire req_func_ok = {24'd0, s_reg_req_func} < NUM_FUNC && !func_reset[FUNC_W'(s_reg_req_func)];
    wire tbl_ok = req_func_ok && in_tbl && {{(32 - TENT_W){1'b0}}, tbl_ent} < NUM_VEC;
    wire pba_ok = req_func_ok && in_pba && {22'd0, pba_dw} < 2 * PBA_WORDS;

    wire irq_ok = {24'd0, s_axis_irq_func} < NUM_FUNC && {21'd0, s_axis_irq_vec} < NUM_VEC
                  && !func_reset[FUNC_W'(s_axis_irq_func)];

    // ------------------------------------------------------------ RQ message
    logic out_load;
    wire out_free = !m_axis_rq_tvalid || m_axis_rq_tready;

    // descriptor + payload of the current vector's message (tbl_rdata holds its entry)
    logic [159:0] msg;
    always_comb begin
        msg = '0;
        msg[31:0]    = {tbl_rdata[31:2], 2'b00};      // address [31:2], AT = 0 (untranslated)
        msg[63:32]   = tbl_rdata[63:32];              // address [63:32]
        msg[74:64]   = 11'd1;                         // dword count
        msg[78:75]   = vio_pkg::REQ_MEM_WR;           // request type
        msg[79]      = 1'b0;                          // poisoned
        msg[95:80]   = {8'h00, 8'(cur_func)};         // requester ID (ARI function number)
        msg[103:96]  = 8'h00;                         // tag (posted: unused)
        msg[119:104] = 16'h0000;                      // completer ID
        msg[120]     = 1'b0;                          // requester ID enable: the core fills in the bus
        msg[123:121] = 3'b000;                        // TC 0
        msg[126:124] = 3'b000;                        // attr: no RO, no NS, no IDO
        msg[127]     = 1'b0;                          // force ECRC
        msg[159:128] = tbl_rdata[95:64];              // Message Data
    end

    always_ff @(posedge clk) begin
        if (out_load) begin
            m_axis_rq_tdata <= {352'd0, msg};
            m_axis_rq_tkeep <= 16'h001f;
            m_axis_rq_tlast <= 1'b1;
            m_axis_rq_tuser <= '0;
            m_axis_rq_tuser[3:0] <= 4'hf;             // first_be
            m_axis_rq_tuser[11:8] <= 4'h0;            // last_be (1 DW)
            m_axis_rq_tuser[20] <= 1'b1;              // is_sop[0], sop0 at DW 0
            m_axis_rq_tuser[26] <= 1'b1;              // is_eop[0]
            m_axis_rq_tuser[31:28] <= 4'd4;           // is_eop0_ptr: last DW = 4
        end
        if (rst) begin
            m_axis_rq_tvalid <= 1'b0;
        end else if (out_load) begin
            m_axis_rq_tvalid <= 1'b1;
        end else if (m_axis_rq_tready) begin
            m_axis_rq_tvalid <= 1'b0;
        end
        stat_irq_sent <= !rst && m_axis_rq_tvalid && m_axis_rq_tready;
    end

    // ------------------------------------------------------------ control
    logic irq_pending_set, irq_drop;
    logic rsp_valid_d;
    logic [31:0] rsp_rdata_d;
    state_t state_d;

    // effect of a Vector Control write on the current vector
    wire vc_new_mask = op_be[0] ? op_wdata[0] : cur_mask;
    wire vc_send = !vc_new_mask && cur_pend && cur_deliv;
    // what an interrupt request does once its state word is read
    wire irq_masked = fmask_q[cur_func] || cur_mask;

    always_comb begin
        state_d = state;
        tbl_re = 1'b0;
        st_re = 1'b0;
        tbl_we = 1'b0;
        tbl_waddr = tidx;
        tbl_wbe = '0;
        tbl_wdata = {3{op_wdata}};
        st_we = 1'b0;
        st_waddr = sidx;
        st_wdata = st_rdata;
        out_load = 1'b0;
        irq_pending_set = 1'b0;
        irq_drop = 1'b0;
        rsp_valid_d = 1'b0;
        rsp_rdata_d = 32'd0;

        case (state)
            S_INIT: begin
                tbl_we = 1'b1;
                tbl_waddr = TIDX_W'(init_cnt);
                tbl_wbe = '1;
                tbl_wdata = '0;
                st_we = init_cnt < CNT_W'(ST_DEPTH);
                st_waddr = SIDX_W'(init_cnt);
                st_wdata = {64'hffff_ffff_ffff_ffff, 64'd0};
                if (init_cnt == CNT_W'(TBL_DEPTH - 1)) state_d = S_IDLE;
            end
            S_FRST: begin
                tbl_we = 1'b1;
                tbl_waddr = TIDX_W'(cur_func) * TIDX_W'(NUM_VEC) + TIDX_W'(init_cnt);
                tbl_wbe = '1;
                tbl_wdata = '0;
                st_we = init_cnt < CNT_W'(PBA_WORDS);
                st_waddr = SIDX_W'(cur_func) * SIDX_W'(PBA_WORDS) + SIDX_W'(init_cnt);
                st_wdata = {64'hffff_ffff_ffff_ffff, 64'd0};
                if (init_cnt == CNT_W'(NUM_VEC - 1)) state_d = S_IDLE;
            end
            S_IDLE: begin
                if (frst_req != '0) begin
                    state_d = S_FRST;
                end else if (scan_req != '0) begin
                    state_d = S_SCAN_RD;
                end else if (reg_fire) begin
                    // unmapped writes complete here, everything else is looked up
                    if (s_reg_req_we && !(tbl_ok && s_reg_req_be != 4'h0)) state_d = S_IDLE;
                    else state_d = S_LOOKUP;
                end else if (irq_fire) begin
                    if (!irq_ok) irq_drop = 1'b1;
                    else state_d = S_LOOKUP;
                end
            end
            S_LOOKUP: begin
                if (op == OP_WR_TBL) begin
                    tbl_we = 1'b1;
                    tbl_wbe = 12'(op_be) << (4 * op_dw);
                    // Message Address bits 1:0 are read-only 0
                    tbl_wdata[1:0] = 2'b00;
                    state_d = S_IDLE;
                end else begin
                    tbl_re = 1'b1;
                    st_re = 1'b1;
                    state_d = S_EXEC;
                end
            end
            S_EXEC: begin
                case (op)
                    OP_RD_TBL: begin
                        rsp_valid_d = 1'b1;
                        case (op_dw)
                            2'd0: rsp_rdata_d = tbl_rdata[31:0];
                            2'd1: rsp_rdata_d = tbl_rdata[63:32];
                            default: rsp_rdata_d = tbl_rdata[95:64];
                        endcase
                        state_d = S_IDLE;
                    end
                    OP_RD_VC: begin
                        rsp_valid_d = 1'b1;
                        rsp_rdata_d = {31'd0, cur_mask};
                        state_d = S_IDLE;
                    end
                    OP_RD_PBA: begin
                        rsp_valid_d = 1'b1;
                        rsp_rdata_d = op_dw[0] ? st_pend[63:32] : st_pend[31:0];
                        state_d = S_IDLE;
                    end
                    OP_WR_VC: begin
                        if (!vc_send || out_free) begin
                            st_we = 1'b1;
                            st_wdata[64 + 32'(cur_bit)] = vc_new_mask;
                            if (vc_send) begin
                                st_wdata[32'(cur_bit)] = 1'b0;
                                out_load = 1'b1;
                            end
                            state_d = S_IDLE;
                        end
                    end
                    OP_IRQ: begin
                        if (!cur_en) begin
                            irq_drop = 1'b1;
                            state_d = S_IDLE;
                        end else if (irq_masked) begin
                            st_we = 1'b1;
                            st_wdata[32'(cur_bit)] = 1'b1;
                            irq_pending_set = 1'b1;
                            state_d = S_IDLE;
                        end else if (out_free) begin
                            st_we = 1'b1;
                            st_wdata[32'(cur_bit)] = 1'b0;
                            out_load = 1'b1;
                            state_d = S_IDLE;
                        end
                    end
                    default: begin   // OP_RD_ZERO (writes never get here)
                        rsp_valid_d = 1'b1;
                        state_d = S_IDLE;
                    end
                endcase
            end
            S_SCAN_RD: begin
                st_re = 1'b1;
                state_d = S_SCAN_CHK;
            end
            S_SCAN_CHK: begin
                if (!cur_deliv) begin
                    state_d = S_IDLE;                   // masked or disabled again: stop
                end else if (cand == '0) begin
                    if (cur_word == WORD_W'(PBA_WORDS - 1)) state_d = S_IDLE;
                    else state_d = S_SCAN_RD;
                end else begin
                    state_d = S_SEND_RD;
                end
            end
            S_SEND_RD: begin
                tbl_re = 1'b1;
                state_d = S_SEND_EXEC;
            end
            S_SEND_EXEC: begin
                if (!cur_deliv) begin
                    state_d = S_IDLE;
                end else if (out_free) begin
                    st_we = 1'b1;
                    st_wdata[32'(cur_bit)] = 1'b0;
                    out_load = 1'b1;
                    state_d = S_SCAN_RD;
                end
            end
            default: state_d = S_IDLE;
        endcase
    end

    always_ff @(posedge clk) begin
        state <= state_d;
        s_reg_rsp_valid <= rsp_valid_d;
        s_reg_rsp_rdata <= rsp_rdata_d;
        stat_irq_pending <= irq_pending_set;
        stat_irq_dropped <= irq_drop;

        // config space inputs, registered; a rising "deliverable" asks for a replay scan
        en_q <= cfg_msix_enable;
        fmask_q <= cfg_msix_mask;
        deliv_prev <= deliv;

        if (state == S_INIT || state == S_FRST) init_cnt <= init_cnt + 1'b1;

        if (state == S_IDLE) begin
            if (frst_req != '0) begin
                cur_func <= frst_func;
                init_cnt <= '0;
            end else if (scan_req != '0) begin
                cur_func <= scan_func;
                cur_word <= '0;
                cur_bit <= '0;
            end else if (reg_fire) begin
                op_be <= s_reg_req_be;
                op_wdata <= s_reg_req_wdata;
                rr_reg <= 1'b0;
                if (tbl_ok) begin
                    cur_func <= FUNC_W'(s_reg_req_func);
                    cur_word <= WORD_W'(tbl_ent >> 6);
                    cur_bit <= tbl_ent[5:0];
                    op_dw <= tbl_rel[3:2];
                    if (tbl_rel[3:2] == 2'd3) op <= s_reg_req_we ? OP_WR_VC : OP_RD_VC;
                    else op <= s_reg_req_we ? OP_WR_TBL : OP_RD_TBL;
                end else if (pba_ok) begin
                    cur_func <= FUNC_W'(s_reg_req_func);
                    cur_word <= WORD_W'(pba_dw >> 1);
                    cur_bit <= '0;
                    op_dw <= {1'b0, pba_dw[0]};
                    op <= OP_RD_PBA;
                end else begin
                    op <= OP_RD_ZERO;
                end
            end else if (irq_fire) begin
                rr_reg <= 1'b1;
                op <= OP_IRQ;
                cur_func <= FUNC_W'(s_axis_irq_func);
                cur_word <= WORD_W'(s_axis_irq_vec >> 6);
                cur_bit <= s_axis_irq_vec[5:0];
            end
        end
        if (state == S_SCAN_CHK && cur_deliv) begin
            if (cand == '0) cur_word <= cur_word + 1'b1;
            else cur_bit <= cand_bit;
        end

        scan_req <= (state == S_IDLE && frst_req == '0 && scan_req != '0 ? scan_req & ~(NUM_FUNC'(1) << scan_func) : scan_req)
                    | (deliv & ~deliv_prev);
        frst_prev <= func_reset;
        frst_req <= (state == S_IDLE && frst_req != '0 ? frst_req & ~(NUM_FUNC'(1) << frst_func) : frst_req)
                    | (func_reset & ~frst_prev);

        if (rst) begin
            state <= S_INIT;
            init_cnt <= '0;
            rr_reg <= 1'b1;
            s_reg_rsp_valid <= 1'b0;
            stat_irq_pending <= 1'b0;
            stat_irq_dropped <= 1'b0;
            en_q <= '0;
            fmask_q <= '0;
            deliv_prev <= '0;
            scan_req <= '0;
            frst_req <= '0;
            frst_prev <= '0;
        end
    end

endmodule

`resetall
