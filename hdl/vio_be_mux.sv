// SPDX-License-Identifier: Apache-2.0
//
// Shares one storage-backend port (hdl/README.md "Storage backend") between
// PORTS request engines. Requests are arbitrated round-robin (vio_req_arb);
// the backend serves them in order, so:
//   * WRITE data frames are passed from the engines in the order their WRITE
//     requests (count > 0) were granted: a FIFO of engine numbers selects
//     which engine's m_axis_be_wr stream reaches the port, one frame each;
//   * READ data frames from the backend go to the engines in the order their
//     READ requests (count > 0) were granted (a second FIFO);
//   * responses are routed by the high TAG_HI_W bits of their tag, which
//     every engine sets to its number (vio_blk_req BE_TAG_HI).
// At most one request per engine is outstanding, so FIFOs of PORTS entries
// never overflow. Payload fields towards the engines are shared; only
// valid/ready are per engine.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_be_mux #(
    parameter int PORTS = 2,     // request engines
    parameter int TAG_HI_W = 1   // tag bits [7 -: TAG_HI_W] = engine number
) (
    input  wire logic                    clk,
    input  wire logic                    rst,

    // engines: requests (port k in bits [k*W +: W])
    input  wire logic [PORTS-1:0]        s_axis_be_req_valid,
    output logic      [PORTS-1:0]        s_axis_be_req_ready,
    input  wire logic [PORTS*4-1:0]      s_axis_be_req_op,
    input  wire logic [PORTS*8-1:0]      s_axis_be_req_func,
    input  wire logic [PORTS*16-1:0]     s_axis_be_req_queue,
    input  wire logic [PORTS*64-1:0]     s_axis_be_req_sector,
    input  wire logic [PORTS*32-1:0]     s_axis_be_req_count,
    input  wire logic [PORTS*8-1:0]      s_axis_be_req_tag,
    // engines: WRITE data
    input  wire logic [PORTS*512-1:0]    s_axis_be_wr_tdata,
    input  wire logic [PORTS*64-1:0]     s_axis_be_wr_tkeep,
    input  wire logic [PORTS-1:0]        s_axis_be_wr_tvalid,
    output logic      [PORTS-1:0]        s_axis_be_wr_tready,
    input  wire logic [PORTS-1:0]        s_axis_be_wr_tlast,
    // engines: READ data (payload shared)
    output logic      [PORTS-1:0]        m_axis_be_rd_tvalid,
    input  wire logic [PORTS-1:0]        m_axis_be_rd_tready,
    // engines: responses (payload shared)
    output logic      [PORTS-1:0]        m_axis_be_rsp_valid,
    input  wire logic [PORTS-1:0]        m_axis_be_rsp_ready,

    // backend port
    output logic                         m_axis_be_req_valid,
    input  wire logic                    m_axis_be_req_ready,
    output logic      [3:0]              m_axis_be_req_op,
    output logic      [7:0]              m_axis_be_req_func,
    output logic      [15:0]             m_axis_be_req_queue,
    output logic      [63:0]             m_axis_be_req_sector,
    output logic      [31:0]             m_axis_be_req_count,
    output logic      [7:0]              m_axis_be_req_tag,
    output logic      [511:0]            m_axis_be_wr_tdata,
    output logic      [63:0]             m_axis_be_wr_tkeep,
    output logic                         m_axis_be_wr_tvalid,
    input  wire logic                    m_axis_be_wr_tready,
    output logic                         m_axis_be_wr_tlast,
    input  wire logic                    s_axis_be_rd_tvalid,
    output logic                         s_axis_be_rd_tready,
    input  wire logic                    s_axis_be_rd_tlast,
    input  wire logic                    s_axis_be_rsp_valid,
    output logic                         s_axis_be_rsp_ready,
    /* verilator lint_off UNUSEDSIGNAL */
    // only the engine-number bits route; the rest is the engine's sequence number
    input  wire logic [7:0]              s_axis_be_rsp_tag
    /* verilator lint_on UNUSEDSIGNAL */
);

    localparam int PW = PORTS > 1 ? $clog2(PORTS) : 1;
    localparam int RW = 4 + 8 + 16 + 64 + 32 + 8;
    localparam logic [3:0] OP_READ = 4'd0, OP_WRITE = 4'd1;

    initial begin
        if (PORTS < 1 || PORTS > 16) $fatal(1, "vio_be_mux: PORTS must be 1..16");
        if (TAG_HI_W < PW || TAG_HI_W > 4) $fatal(1, "vio_be_mux: TAG_HI_W must hold an engine number (<= 4)");
    end

    // ------------------------------------------------------------------ requests
    logic [PORTS*RW-1:0] req_data;
    logic [PW-1:0]       req_port;

    for (genvar k = 0; k < PORTS; k++) begin : g_req
        assign req_data[k*RW +: RW] = {s_axis_be_req_op[k*4 +: 4], s_axis_be_req_func[k*8 +: 8],
                                       s_axis_be_req_queue[k*16 +: 16], s_axis_be_req_sector[k*64 +: 64],
                                       s_axis_be_req_count[k*32 +: 32], s_axis_be_req_tag[k*8 +: 8]};
    end

    vio_req_arb #(.PORTS(PORTS), .DATA_W(RW)) req_arb_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_req_valid(s_axis_be_req_valid),
        .s_axis_req_ready(s_axis_be_req_ready),
        .s_axis_req_data(req_data),
        .m_axis_req_valid(m_axis_be_req_valid),
        .m_axis_req_ready(m_axis_be_req_ready),
        .m_axis_req_data({m_axis_be_req_op, m_axis_be_req_func, m_axis_be_req_queue, m_axis_be_req_sector,
                          m_axis_be_req_count, m_axis_be_req_tag}),
        .m_axis_req_port(req_port)
    );

    wire req_go = m_axis_be_req_valid && m_axis_be_req_ready && m_axis_be_req_count != 32'd0;

    // ------------------------------------------------------------------ frame order FIFOs
    logic [PW-1:0] wq [PORTS];
    logic [PW-1:0] rq [PORTS];
    logic [PW:0]   wq_n, rq_n;

    wire wr_last = m_axis_be_wr_tvalid && m_axis_be_wr_tready && m_axis_be_wr_tlast;
    wire rd_last = s_axis_be_rd_tvalid && s_axis_be_rd_tready && s_axis_be_rd_tlast;
    wire wq_push = req_go && m_axis_be_req_op == OP_WRITE;
    wire rq_push = req_go && m_axis_be_req_op == OP_READ;

    always_ff @(posedge clk) begin
        // write-order queue
        if (wr_last) begin
            for (int i = 0; i < PORTS - 1; i++) wq[i] <= wq[i + 1];
        end
        if (wq_push) wq[int'(wq_n) - (wr_last ? 1 : 0)] <= req_port;
        wq_n <= wq_n + (wq_push ? 1 : 0) - (wr_last ? 1 : 0);
        // read-order queue
        if (rd_last) begin
            for (int i = 0; i < PORTS - 1; i++) rq[i] <= rq[i + 1];
        end
        if (rq_push) rq[int'(rq_n) - (rd_last ? 1 : 0)] <= req_port;
        rq_n <= rq_n + (rq_push ? 1 : 0) - (rd_last ? 1 : 0);
        if (rst) begin
            wq_n <= '0;
            rq_n <= '0;
        end
    end

    // ------------------------------------------------------------------ WRITE data
    wire [PW-1:0] wsel = wq[0];
    wire          w_on = wq_n != '0;

    assign m_axis_be_wr_tdata = s_axis_be_wr_tdata[int'(wsel)*512 +: 512];
    assign m_axis_be_wr_tkeep = s_axis_be_wr_tkeep[int'(wsel)*64 +: 64];
    assign m_axis_be_wr_tvalid = w_on && s_axis_be_wr_tvalid[wsel];
    assign m_axis_be_wr_tlast = s_axis_be_wr_tlast[wsel];
    always_comb begin
        s_axis_be_wr_tready = '0;
        if (w_on) s_axis_be_wr_tready[wsel] = m_axis_be_wr_tready;
    end

    // ------------------------------------------------------------------ READ data
    wire [PW-1:0] rsel = rq[0];
    wire          r_on = rq_n != '0;

    always_comb begin
        m_axis_be_rd_tvalid = '0;
        if (r_on) m_axis_be_rd_tvalid[rsel] = s_axis_be_rd_tvalid;
    end
    assign s_axis_be_rd_tready = r_on && m_axis_be_rd_tready[rsel];

    // ------------------------------------------------------------------ responses
    wire [PW-1:0] tsel = PW'(s_axis_be_rsp_tag[7 -: TAG_HI_W]);
    wire          t_ok = int'(s_axis_be_rsp_tag[7 -: TAG_HI_W]) < PORTS;

    always_comb begin
        m_axis_be_rsp_valid = '0;
        if (t_ok) m_axis_be_rsp_valid[tsel] = s_axis_be_rsp_valid;
    end
    // a response whose tag names no engine is taken and dropped (never a hang)
    assign s_axis_be_rsp_ready = t_ok ? m_axis_be_rsp_ready[tsel] : 1'b1;

endmodule

`resetall
