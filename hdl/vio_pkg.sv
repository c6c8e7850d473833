// SPDX-License-Identifier: Apache-2.0
//
// Constants shared by the vio_* modules: DMA status codes and the
// UltraScale+ request/completion type codes the shell uses.

`resetall
`timescale 1ns / 1ps
`default_nettype none

package vio_pkg;

    // a module imports the package for the few constants it needs
    /* verilator lint_off UNUSEDPARAM */

    // DMA descriptor status (m_axis_*_desc_status_error)
    localparam logic [3:0] DMA_OK        = 4'd0;  // all bytes transferred
    localparam logic [3:0] DMA_ERR_UR    = 4'd1;  // completion status Unsupported Request
    localparam logic [3:0] DMA_ERR_CA    = 4'd2;  // completion status Completer Abort
    localparam logic [3:0] DMA_ERR_POISON= 4'd3;  // poisoned completion (EP)
    localparam logic [3:0] DMA_ERR_TIMEOUT = 4'd4;  // no (complete) completion within the timeout
    localparam logic [3:0] DMA_ERR_CPL   = 4'd5;  // malformed / mismatched / unexpected completion
    localparam logic [3:0] DMA_ERR_BME   = 4'd6;  // bus mastering disabled for the function
    localparam logic [3:0] DMA_ERR_FLR   = 4'd7;  // function reset while the request was in flight

    // UltraScale+ CQ/RQ request type field
    localparam logic [3:0] REQ_MEM_RD    = 4'b0000;
    localparam logic [3:0] REQ_MEM_WR    = 4'b0001;
    localparam logic [3:0] REQ_IO_RD     = 4'b0010;
    localparam logic [3:0] REQ_IO_WR     = 4'b0011;

    // PCIe completion status
    localparam logic [2:0] CPL_SC        = 3'b000;
    localparam logic [2:0] CPL_UR        = 3'b001;
    localparam logic [2:0] CPL_CRS       = 3'b010;
    localparam logic [2:0] CPL_CA        = 3'b100;

    // UltraScale+ RC descriptor error code field
    localparam logic [3:0] RC_ERR_NORMAL = 4'b0000;
    localparam logic [3:0] RC_ERR_POISON = 4'b0001;
    localparam logic [3:0] RC_ERR_STATUS = 4'b0010;

    /* verilator lint_on UNUSEDPARAM */

endpackage

`resetall
