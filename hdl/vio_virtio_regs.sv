// SPDX-License-Identifier: Apache-2.0
//
// Modern virtio-pci transport registers of every function: the common
// configuration structure, ISR, device-specific configuration (virtio-net,
// virtio-blk) and the notification area, served on the `reg` interface
// (hdl/README.md) in the application window of BAR0. Behaviour follows the
// golden model: pymodel/common_cfg.py (common configuration, which writes are
// ignored), pymodel/features.py (the FEATURES_OK decision), pymodel/status.py
// (device_status), pymodel/blk_config.py / net.py (device configuration).
//
// BAR0 application window of every function (offsets inside BAR0):
//
//   0x0000-0x003F  common configuration (virtio.md §3.3), 0x0040-0x00FF read 0
//   0x0100         ISR status byte (bits 1:0), bytes 0x101-0x1FF read 0
//   0x0200-0x02FF  device configuration (blk §7: 96 bytes; net §6.3: 24 bytes; rest 0)
//   0x0300-0x0FFF  reserved: reads 0, writes ignored
//   0x1000-0x1FFF  notification area: queue q at 0x1000 + 4*q
//                  (queue_notify_off = q, notify_off_multiplier = 4)
//
// Register access rules (those of pymodel.common_cfg.CommonCfg):
// - a DWORD access with byte enables is the access (offset, width) the
//   enables describe: 0001/0010/0100/1000 = 1 byte, 0011/1100 = 2 bytes,
//   1111 = 4 bytes. A write takes effect only if (offset, width) is exactly
//   one writable field; any other write (read-only field, wrong width,
//   misaligned, non-contiguous enables) is ignored. 64-bit fields are two
//   DWORDs, each accepted on its own.
// - reads return the whole DWORD image whatever the enables; only the ISR
//   read has a side effect (clear on read, when byte 0 is enabled).
// - device_status: 0 resets the function; a non-zero write ORs in the bits
//   the driver may set (ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK, FAILED);
//   newly setting FEATURES_OK runs the feature validation and, if the
//   driver's feature set is refused, the whole write is ignored; DRIVER_OK
//   without FEATURES_OK sets DEVICE_NEEDS_RESET.
// - FEATURES_OK is refused unless: accepted is a subset of offered,
//   VERSION_1 is accepted, ACCESS_PLATFORM is accepted if offered, and
//   every hard dependency of virtio-net (virtio.md §2.3) holds.
// - driver_feature: mirrors every written bit (windows 0-3), ignored after
//   FEATURES_OK and for driver_feature_select >= 4. device_feature reads
//   the offered window device_feature_select (0-3, incl. 2 per §10 #3),
//   0 above.
// - queue fields (size, enable, desc/driver/device) are written only after
//   FEATURES_OK and while the selected queue is disabled; queue_msix_vector
//   any time; queue_select beyond num_queues makes every queue field read
//   0 and ignore writes. queue_size: 1..max, a power of two unless
//   RING_PACKED is negotiated. queue_enable: only 1; a misaligned ring
//   address (desc 16, driver 4 packed / 2 split, device 4) sets
//   DEVICE_NEEDS_RESET instead of enabling. queue_reset (RING_RESET
//   negotiated, value 1): the queue's fields return to reset values at once
//   and ev_queue_reset_* pulses for the ring engine; it always reads 0.
// - MSI-X vectors >= MSIX_VEC (other than 0xFFFF) read back 0xFFFF.
// - config_generation is never reset; it advances whenever a device
//   configuration input (blk_capacity, net_mac, net_status) changes.
//
// Device reset (status write 0): every register of the function returns to
// its reset value at once (queues disabled, vectors 0xFFFF, features 0,
// ISR 0), and func_reset_req[f] rises. Until the ring engine answers with
// func_quiesced[f] (no DMA of f in flight any more) device_status keeps
// reading its pre-reset value (non-zero), every write to the function is
// ignored, notifications are dropped and ISR set requests are ignored. A
// reset written while device_status is already 0 completes at once (nothing
// of the function can be live).
//
// Function Level Reset (func_flr[f], level: the hard block's FLR in progress
// for f, or a VF that does not exist): every register of f is held at its
// reset value while func_flr[f] is high (device_status reads 0, writes have
// no lasting effect, notifications are dropped: no queue is enabled), and
// its rising edge starts the same drain as a device reset (func_reset_req[f]
// until func_quiesced[f]). func_flr_done[f] rises when that drain is over:
// nothing of f is in flight, the FLR may complete.
//
// Notifications: a write with byte enables [1:0] set anywhere in the
// notification area is a notification for queue wdata[15:0] (the value the
// driver writes: the vq index, pymodel/device.py). It is passed on as
// m_axis_notify_* (with the written DWORD, bytes not enabled zeroed, for
// NOTIFICATION_DATA) if
// the queue exists, is enabled and the function is live (DRIVER_OK without
// DEVICE_NEEDS_RESET); otherwise it is dropped and counted
// (stat_notify_drop, stat_notify_drop_count). The register port stalls
// while a notification waits for m_axis_notify_ready.
//
// Configuration-change notifications (pymodel FunctionModel._config_interrupt):
// when DEVICE_NEEDS_RESET becomes set or device configuration changes while
// DRIVER_OK is set, ISR bit 1 is set and, if config_msix_vector is not
// 0xFFFF, m_axis_cfg_irq_* asks the interrupt unit for that vector. Queue
// interrupts (ISR bit 0) come from isr_queue_set (the interrupt unit sets it
// when it delivers by INTx), isr_cfg_set sets bit 1 for other sources.
//
// The ring engine reads per-(function, queue) contexts on ctx_req/ctx_rsp
// (one cycle latency, one per cycle): queue size, enable, MSI-X vector, ring
// addresses, and the function's negotiated features and liveness.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vio_virtio_regs #(
    parameter int NUM_FUNC = 2,                  // functions (PFs now, VFs later)
    parameter int REG_ADDR_W = 24,               // BAR offset width on the register bus
    parameter int MAX_QUEUES = 8,                // queue contexts per function (>= every FUNC_NUM_QUEUES entry)
    parameter int MSIX_VEC = 64,                 // MSI-X table size of every function (vector >= this reads 0xFFFF)
    parameter int CTX_PORTS = 1,                 // context read ports (one per engine; fields packed port-major)
    // per function f in bits [8f +: 8]: virtio device type, 1 = net, 2 = blk
    parameter logic [NUM_FUNC*8-1:0] FUNC_TYPE = 16'h0201,
    // per function f in bits [128f +: 128]: offered feature bits
    parameter logic [NUM_FUNC*128-1:0] FUNC_FEATURES = {
        128'h0000_0000_0000_0000_0000_0017_3000_1246,   // f1 blk: SIZE_MAX SEG_MAX BLK_SIZE FLUSH MQ + transport
        128'h0000_0000_0000_0000_0030_0017_304F_802B    // f0 net: CSUM GUEST_CSUM MTU MAC MRG_RXBUF STATUS CTRL_VQ/RX/VLAN MQ (VQ_)NOTF_COAL + transport
    },
    // per function f in bits [16f +: 16]: num_queues (net: 2*pairs (+1 with CTRL_VQ); blk: request queues)
    parameter logic [NUM_FUNC*16-1:0] FUNC_NUM_QUEUES = {16'd2, 16'd5},
    // per function f in bits [16f +: 16]: maximum (and reset) queue_size, 1..32768
    parameter logic [NUM_FUNC*16-1:0] FUNC_QUEUE_MAX = {16'd256, 16'd256},
    parameter logic [31:0] BLK_SIZE_MAX = 32'h0000_8000,  // blk size_max: bytes per segment
    parameter logic [31:0] BLK_SEG_MAX = 32'd64,          // blk seg_max: data segments per request
    parameter logic [31:0] BLK_BLK_SIZE = 32'd512,        // blk blk_size
    parameter logic [7:0]  BLK_WRITEBACK = 8'd0,          // blk writeback after reset (CONFIG_WCE)
    parameter logic [15:0] NET_MTU = 16'd1500,            // net mtu
    parameter logic [31:0] NET_SPEED = 32'hFFFF_FFFF,     // net speed (Mb/s; all ones = unknown)
    parameter logic [7:0]  NET_DUPLEX = 8'hFF             // net duplex (0 half, 1 full, 0xFF unknown)
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    // register port (application window of BAR0)
    input  wire logic                   s_reg_req_valid,
    output logic                        s_reg_req_ready,
    input  wire logic                   s_reg_req_we,
    input  wire logic [7:0]             s_reg_req_func,
    /* verilator lint_off UNUSEDSIGNAL */
    // the demux matched BAR and window; the offset inside the 8 KiB window decides
    input  wire logic [2:0]             s_reg_req_bar,
    input  wire logic [REG_ADDR_W-1:0]  s_reg_req_addr,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire logic [3:0]             s_reg_req_be,
    input  wire logic [31:0]            s_reg_req_wdata,
    output logic                        s_reg_rsp_valid,
    output logic      [31:0]            s_reg_rsp_rdata,

    // device reset handshake with the ring engine
    output logic      [NUM_FUNC-1:0]    func_reset_req,   // level: drain and stop all DMA of f
    input  wire logic [NUM_FUNC-1:0]    func_quiesced,    // level: f has nothing in flight (answer to func_reset_req)
    output logic      [NUM_FUNC-1:0]    func_live,        // DRIVER_OK and not DEVICE_NEEDS_RESET
    input  wire logic [NUM_FUNC-1:0]    func_flr,         // level: FLR in progress / VF absent: hold f in reset
    output logic      [NUM_FUNC-1:0]    func_flr_done,    // level: func_flr[f] and f's reset drain is complete

    // events from the device side
    input  wire logic [NUM_FUNC-1:0]    isr_queue_set,    // pulse: set ISR bit 0
    input  wire logic [NUM_FUNC-1:0]    isr_cfg_set,      // pulse: set ISR bit 1
    input  wire logic [NUM_FUNC-1:0]    needs_reset_set,  // pulse: set DEVICE_NEEDS_RESET (unrecoverable error)

    // device configuration inputs (a change bumps config_generation)
    input  wire logic [NUM_FUNC*64-1:0] blk_capacity,     // blk: capacity in 512-byte sectors
    input  wire logic [NUM_FUNC*48-1:0] net_mac,          // net: MAC, first octet in bits [47:40]
    input  wire logic [NUM_FUNC*16-1:0] net_status,       // net: status (bit 0 LINK_UP, bit 1 ANNOUNCE)

    // available-buffer notifications
    output logic                        m_axis_notify_valid,
    input  wire logic                   m_axis_notify_ready,
    output logic      [7:0]             m_axis_notify_func,
    output logic      [15:0]            m_axis_notify_queue,
    output logic      [31:0]            m_axis_notify_data,
    output logic                        stat_notify_drop,        // pulse per dropped notification
    output logic      [31:0]            stat_notify_drop_count,

    // configuration-change interrupt requests (config_msix_vector)
    output logic                        m_axis_cfg_irq_valid,
    input  wire logic                   m_axis_cfg_irq_ready,
    output logic      [7:0]             m_axis_cfg_irq_func,
    output logic      [10:0]            m_axis_cfg_irq_vec,

    // per-queue reset (RING_RESET): the queue's state returned to defaults
    output logic                        ev_queue_reset_valid,
    output logic      [7:0]             ev_queue_reset_func,
    output logic      [15:0]            ev_queue_reset_queue,

    // function state for the firmware (management port): device_status, negotiated features
    // (0 before FEATURES_OK), queue_enable bits; function f in bits [f*W +: W]
    output logic      [NUM_FUNC*8-1:0]  mon_status,
    output logic      [NUM_FUNC*128-1:0] mon_features,
    output logic      [NUM_FUNC*MAX_QUEUES-1:0] mon_queue_en,

    // queue context read port for the ring engine
    // (port p in bits [p*W +: W] of every field)
    input  wire logic [CTX_PORTS-1:0]     ctx_req_valid,
    input  wire logic [CTX_PORTS*8-1:0]   ctx_req_func,
    input  wire logic [CTX_PORTS*16-1:0]  ctx_req_queue,
    output logic      [CTX_PORTS-1:0]     ctx_rsp_valid,
    output logic      [CTX_PORTS*16-1:0]  ctx_rsp_size,
    output logic      [CTX_PORTS-1:0]     ctx_rsp_enable,
    output logic      [CTX_PORTS*16-1:0]  ctx_rsp_vector,
    output logic      [CTX_PORTS*64-1:0]  ctx_rsp_desc,
    output logic      [CTX_PORTS*64-1:0]  ctx_rsp_driver,
    output logic      [CTX_PORTS*64-1:0]  ctx_rsp_device,
    output logic      [CTX_PORTS-1:0]     ctx_rsp_live,
    output logic      [CTX_PORTS*128-1:0] ctx_rsp_features    // negotiated (0 before FEATURES_OK)
);

    // ------------------------------------------------------------------ constants
    localparam logic [15:0] NO_VECTOR = 16'hFFFF;
    localparam int FW = NUM_FUNC > 1 ? $clog2(NUM_FUNC) : 1;
    localparam int QW = MAX_QUEUES > 1 ? $clog2(MAX_QUEUES) : 1;

    // feature bits (pymodel/features.py)
    localparam int F_VERSION_1 = 32;
    localparam int F_ACCESS_PLATFORM = 33;
    localparam int F_RING_PACKED = 34;
    localparam int F_RING_RESET = 40;
    localparam int F_ADMIN_VQ = 41;
    localparam int F_SUSPEND = 43;
    localparam int NET_CTRL_VQ = 17;
    localparam int NET_MQ = 22;
    localparam int BLK_FLUSH = 9;
    localparam int BLK_CONFIG_WCE = 11;

    localparam logic [7:0] TYPE_NET = 8'd1;
    localparam logic [7:0] TYPE_BLK = 8'd2;

    // device_status bits
    localparam int S_DRIVER_OK = 2;
    localparam int S_FEATURES_OK = 3;
    localparam int S_NEEDS_RESET = 6;
    localparam logic [7:0] ST_NEEDS_RESET = 8'h40;
    localparam logic [7:0] ST_SETTABLE = 8'h8F;

    // --------------------------------------------------------- per-function constants
    function automatic logic [7:0] f_type(input int f);
        return FUNC_TYPE[8*f +: 8];
    endfunction

    function automatic logic [127:0] f_offer(input int f);
        return FUNC_FEATURES[128*f +: 128];
    endfunction

    function automatic logic [15:0] f_nq(input int f);
        return FUNC_NUM_QUEUES[16*f +: 16];
    endfunction

    function automatic logic [15:0] f_qmax(input int f);
        return FUNC_QUEUE_MAX[16*f +: 16];
    endfunction

    // Hard dependencies of virtio-net (virtio.md §2.3, pymodel.features.DEPENDENCIES).
    /* verilator lint_off UNUSEDSIGNAL */
    // only the bits that take part in a dependency are looked at
    function automatic logic net_deps_ok(input logic [127:0] a);
        logic ok;
        ok = 1'b1;
        if (a[7]  && !a[1]) ok = 1'b0;                        // GUEST_TSO4 needs GUEST_CSUM
        if (a[8]  && !a[1]) ok = 1'b0;                        // GUEST_TSO6 needs GUEST_CSUM
        if (a[9]  && !(a[7] || a[8])) ok = 1'b0;              // GUEST_ECN needs GUEST_TSO4 or 6
        if (a[10] && !a[1]) ok = 1'b0;                        // GUEST_UFO needs GUEST_CSUM
        if (a[11] && !a[0]) ok = 1'b0;                        // HOST_TSO4 needs CSUM
        if (a[12] && !a[0]) ok = 1'b0;                        // HOST_TSO6 needs CSUM
        if (a[13] && !(a[11] || a[12])) ok = 1'b0;            // HOST_ECN needs HOST_TSO4 or 6
        if (a[14] && !a[0]) ok = 1'b0;                        // HOST_UFO needs CSUM
        if (a[18] && !a[17]) ok = 1'b0;                       // CTRL_RX needs CTRL_VQ
        if (a[19] && !a[17]) ok = 1'b0;                       // CTRL_VLAN needs CTRL_VQ
        if (a[21] && !a[17]) ok = 1'b0;                       // GUEST_ANNOUNCE needs CTRL_VQ
        if (a[22] && !a[17]) ok = 1'b0;                       // MQ needs CTRL_VQ
        if (a[23] && !a[17]) ok = 1'b0;                       // CTRL_MAC_ADDR needs CTRL_VQ
        if (a[51] && !(a[17] && (a[60] || a[57]))) ok = 1'b0; // HASH_TUNNEL needs CTRL_VQ + (RSS or HASH_REPORT)
        if (a[52] && !a[17]) ok = 1'b0;                       // VQ_NOTF_COAL needs CTRL_VQ
        if (a[53] && !a[17]) ok = 1'b0;                       // NOTF_COAL needs CTRL_VQ
        if (a[54] && !a[1]) ok = 1'b0;                        // GUEST_USO4 needs GUEST_CSUM
        if (a[55] && !a[1]) ok = 1'b0;                        // GUEST_USO6 needs GUEST_CSUM
        if (a[56] && !a[0]) ok = 1'b0;                        // HOST_USO needs CSUM
        if (a[60] && !a[17]) ok = 1'b0;                       // RSS needs CTRL_VQ
        if (a[61] && !(a[11] || a[12])) ok = 1'b0;            // RSC_EXT needs HOST_TSO4 or 6
        if (a[64] && !(a[17] && a[60])) ok = 1'b0;            // RSS_CONTEXT needs CTRL_VQ + RSS
        if (a[65] && !(a[7] && a[8] && a[54] && a[55])) ok = 1'b0;  // GUEST_UDP_TUNNEL_GSO
        if (a[66] && !a[65]) ok = 1'b0;                       // GUEST_UDP_TUNNEL_GSO_CSUM
        if (a[67] && !(a[11] && a[12] && a[56])) ok = 1'b0;   // HOST_UDP_TUNNEL_GSO
        if (a[68] && !a[67]) ok = 1'b0;                       // HOST_UDP_TUNNEL_GSO_CSUM
        return ok;
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */

    // The FEATURES_OK decision (pymodel.features.validate_driver_features).
    function automatic logic features_acceptable(input logic [7:0] dtype, input logic [127:0] offered,
                                                 input logic [127:0] acc);
        logic ok;
        ok = (acc & ~offered) == '0;
        if (!acc[F_VERSION_1]) ok = 1'b0;
        if (offered[F_ACCESS_PLATFORM] && !acc[F_ACCESS_PLATFORM]) ok = 1'b0;
        if (dtype == TYPE_NET && !net_deps_ok(acc)) ok = 1'b0;
        return ok;
    endfunction

    function automatic logic is_pow2(input logic [15:0] v);
        return (v & (v - 16'd1)) == 16'd0;
    endfunction

    // elaboration checks: a consistent offer (pymodel.features.validate_offer) and geometry
    initial begin
        logic [127:0] o;
        if (NUM_FUNC < 1 || NUM_FUNC > 256) $fatal(1, "vio_virtio_regs: NUM_FUNC must be 1..256");
        if (MAX_QUEUES < 1 || MAX_QUEUES > 1024) $fatal(1, "vio_virtio_regs: MAX_QUEUES must be 1..1024 (notify area)");
        if (MSIX_VEC < 1 || MSIX_VEC > 2048) $fatal(1, "vio_virtio_regs: MSIX_VEC must be 1..2048");
        if (CTX_PORTS < 1 || CTX_PORTS > 8) $fatal(1, "vio_virtio_regs: CTX_PORTS must be 1..8");
        if (REG_ADDR_W < 13) $fatal(1, "vio_virtio_regs: REG_ADDR_W must cover the 8 KiB window");
        for (int f = 0; f < NUM_FUNC; f++) begin
            o = f_offer(f);
            if (f_type(f) != TYPE_NET && f_type(f) != TYPE_BLK)
                $fatal(1, "vio_virtio_regs: function %0d: FUNC_TYPE must be 1 (net) or 2 (blk)", f);
            if (f_nq(f) < 16'd1 || int'(f_nq(f)) > MAX_QUEUES)
                $fatal(1, "vio_virtio_regs: function %0d: num_queues must be 1..MAX_QUEUES", f);
            if (f_qmax(f) < 16'd1 || f_qmax(f) > 16'd32768)
                $fatal(1, "vio_virtio_regs: function %0d: queue max size must be 1..32768", f);
            if (!o[F_VERSION_1])
                $fatal(1, "vio_virtio_regs: function %0d: VERSION_1 must be offered", f);
            if (o[49:44] != '0 || o[24] || o[27] || o[30])
                $fatal(1, "vio_virtio_regs: function %0d: reserved or legacy-only feature offered", f);
            if (o[F_ADMIN_VQ] || o[F_SUSPEND])
                $fatal(1, "vio_virtio_regs: function %0d: ADMIN_VQ / SUSPEND are not implemented", f);
            if (f_type(f) == TYPE_NET) begin
                if (o[6] || o[42])
                    $fatal(1, "vio_virtio_regs: function %0d: legacy-only net feature offered", f);
                if (!net_deps_ok(o))
                    $fatal(1, "vio_virtio_regs: function %0d: offered net features break a dependency", f);
                if (o[NET_CTRL_VQ] ? f_nq(f) % 2 != 1 : f_nq(f) % 2 != 0)
                    $fatal(1, "vio_virtio_regs: function %0d: net num_queues must be 2*pairs (+1 with CTRL_VQ)", f);
                if (!o[NET_MQ] && f_nq(f) > 16'd3)
                    $fatal(1, "vio_virtio_regs: function %0d: more than one net queue pair needs MQ", f);
            end else begin
                if (o[0] || o[7])
                    $fatal(1, "vio_virtio_regs: function %0d: legacy-only blk feature offered", f);
                if (o[BLK_CONFIG_WCE] && !o[BLK_FLUSH])
                    $fatal(1, "vio_virtio_regs: function %0d: blk CONFIG_WCE offered without FLUSH", f);
            end
        end
    end

    // ------------------------------------------------------------------ state
    // per function
    logic [31:0]  dfsel     [NUM_FUNC];
    logic [31:0]  drfsel    [NUM_FUNC];
    logic [127:0] drfeat    [NUM_FUNC];
    logic [15:0]  cfgvec    [NUM_FUNC];
    logic [15:0]  qsel      [NUM_FUNC];
    logic [7:0]   status    [NUM_FUNC];
    logic [7:0]   gen       [NUM_FUNC];
    logic [1:0]   isr       [NUM_FUNC];
    logic [7:0]   wback     [NUM_FUNC];
    logic [7:0]   st_shadow [NUM_FUNC];   // device_status shown while a reset drains
    logic [NUM_FUNC-1:0] rst_pend;        // reset drain in progress
    logic [NUM_FUNC-1:0] flr_q;           // func_flr last cycle
    logic [NUM_FUNC-1:0] cfg_irq_pend;    // configuration-change interrupt owed

    // per (function, queue)
    logic [15:0]  q_size [NUM_FUNC][MAX_QUEUES];
    logic [15:0]  q_vec  [NUM_FUNC][MAX_QUEUES];
    logic         q_en   [NUM_FUNC][MAX_QUEUES];
    logic [63:0]  q_desc [NUM_FUNC][MAX_QUEUES];
    logic [63:0]  q_drv  [NUM_FUNC][MAX_QUEUES];
    logic [63:0]  q_dev  [NUM_FUNC][MAX_QUEUES];

    // device configuration inputs, as last seen
    logic [NUM_FUNC*64-1:0] cap_seen;
    logic [NUM_FUNC*48-1:0] mac_seen;
    logic [NUM_FUNC*16-1:0] nst_seen;
    logic                   cfg_inputs_valid;

    // ------------------------------------------------------------------ request decode
    wire fire = s_reg_req_valid && s_reg_req_ready;
    wire [12:0] off = s_reg_req_addr[12:0];
    wire fok = s_reg_req_func < 8'(NUM_FUNC);
    wire [FW-1:0] fi = s_reg_req_func[FW-1:0];

    wire in_common = off[12:8] == 5'h00;
    wire in_isr = off[12:8] == 5'h01;
    wire in_dev = off[12:8] == 5'h02;
    wire in_notify = off[12];
    wire [3:0] dw_common = off[5:2];       // DWORD inside the 0x40-byte structure
    wire common_hi = off[7:6] != 2'b00;    // 0x40..0xFF

    // the selected queue of the addressed function
    logic [15:0]  sel_q;
    logic         sel_ok;
    logic [QW-1:0] sq;
    logic [7:0]   cur_status;
    logic [127:0] neg;                     // negotiated features of the addressed function
    logic         packed_neg;

    logic [127:0] offer_fi;                // offered features of the addressed function

    always_comb begin
        offer_fi = f_offer(int'(fi));
        sel_q = fok ? qsel[fi] : 16'd0;
        sel_ok = fok && sel_q < f_nq(int'(fi));
        sq = sel_q[QW-1:0];
        cur_status = fok ? status[fi] : 8'd0;
        neg = (fok && status[fi][S_FEATURES_OK]) ? drfeat[fi] : '0;
        packed_neg = neg[F_RING_PACKED];
    end

    // ------------------------------------------------------------------ read data
    function automatic logic [31:0] blk_cfg_dword(input int f, input logic [5:0] dw, input logic [7:0] wb);
        logic [63:0] cap;
        cap = blk_capacity[64*f +: 64];
        case (dw)
            6'd0: return cap[31:0];
            6'd1: return cap[63:32];
            6'd2: return BLK_SIZE_MAX;
            6'd3: return BLK_SEG_MAX;
            6'd5: return BLK_BLK_SIZE;
            6'd8: return {f_nq(f), 8'd0, wb};                 // writeback, unused0, num_queues
            default: return 32'd0;                            // geometry, topology, discard ... not offered
        endcase
    endfunction

    function automatic logic [31:0] net_cfg_dword(input int f, input logic [5:0] dw);
        logic [47:0] mac;
        logic [15:0] pairs;
        logic [127:0] o;
        mac = net_mac[48*f +: 48];
        o = f_offer(f);
        pairs = (f_nq(f) - (o[NET_CTRL_VQ] ? 16'd1 : 16'd0)) >> 1;
        case (dw)
            6'd0: return {mac[23:16], mac[31:24], mac[39:32], mac[47:40]};
            6'd1: return {net_status[16*f +: 16], mac[7:0], mac[15:8]};
            6'd2: return {NET_MTU, pairs};
            6'd3: return NET_SPEED;
            6'd4: return {24'd0, NET_DUPLEX};
            default: return 32'd0;
        endcase
    endfunction

    logic [31:0] rd_data;

    always_comb begin
        rd_data = 32'd0;
        if (fok) begin
            if (in_common && !common_hi) begin
                case (dw_common)
                    4'h0: rd_data = dfsel[fi];
                    4'h1: rd_data = dfsel[fi] < 32'd4 ? offer_fi[32*dfsel[fi][1:0] +: 32] : 32'd0;
                    4'h2: rd_data = drfsel[fi];
                    4'h3: rd_data = drfsel[fi] < 32'd4 ? drfeat[fi][32*drfsel[fi][1:0] +: 32] : 32'd0;
                    4'h4: rd_data = {f_nq(int'(fi)), cfgvec[fi]};
                    4'h5: rd_data = {qsel[fi], gen[fi], rst_pend[fi] ? st_shadow[fi] : status[fi]};
                    4'h6: if (sel_ok) rd_data = {q_vec[fi][sq], q_size[fi][sq]};
                    4'h7: if (sel_ok) rd_data = {sel_q, 15'd0, q_en[fi][sq]};          // notify_off = index
                    4'h8: if (sel_ok) rd_data = q_desc[fi][sq][31:0];
                    4'h9: if (sel_ok) rd_data = q_desc[fi][sq][63:32];
                    4'hA: if (sel_ok) rd_data = q_drv[fi][sq][31:0];
                    4'hB: if (sel_ok) rd_data = q_drv[fi][sq][63:32];
                    4'hC: if (sel_ok) rd_data = q_dev[fi][sq][31:0];
                    4'hD: if (sel_ok) rd_data = q_dev[fi][sq][63:32];
                    4'hE: if (sel_ok) rd_data = {16'd0, sel_q};                        // queue_reset 0, notif_config_data = index
                    default: rd_data = 32'd0;                                          // admin queue fields: no ADMIN_VQ
                endcase
            end else if (in_isr) begin
                if (off[7:2] == 6'd0) rd_data = {30'd0, isr[fi]};
            end else if (in_dev) begin
                rd_data = f_type(int'(fi)) == TYPE_BLK ? blk_cfg_dword(int'(fi), off[7:2], wback[fi])
                                                       : net_cfg_dword(int'(fi), off[7:2]);
            end
        end
    end

    // ------------------------------------------------------------------ write decode
    // (offset, width) of a byte-enable pattern; width 0 = not a natural access
    logic [1:0] be_off;
    logic [2:0] be_w;
    always_comb begin
        be_off = 2'd0;
        be_w = 3'd0;
        case (s_reg_req_be)
            4'b0001: begin be_off = 2'd0; be_w = 3'd1; end
            4'b0010: begin be_off = 2'd1; be_w = 3'd1; end
            4'b0100: begin be_off = 2'd2; be_w = 3'd1; end
            4'b1000: begin be_off = 2'd3; be_w = 3'd1; end
            4'b0011: begin be_off = 2'd0; be_w = 3'd2; end
            4'b1100: begin be_off = 2'd2; be_w = 3'd2; end
            4'b1111: begin be_off = 2'd0; be_w = 3'd4; end
            default: ;
        endcase
    end

    wire [5:0] acc_off = {dw_common, be_off};
    wire [15:0] w16 = be_off[1] ? s_reg_req_wdata[31:16] : s_reg_req_wdata[15:0];
    wire [31:0] w32 = s_reg_req_wdata;
    wire [7:0] w8 = s_reg_req_wdata[8*be_off +: 8];

    wire wr = fire && s_reg_req_we && fok && !rst_pend[fi];
    wire wr_common = wr && in_common && !common_hi;
    wire wr_w4 = wr_common && be_w == 3'd4;
    wire wr_w2 = wr_common && be_w == 3'd2;
    wire wr_w1 = wr_common && be_w == 3'd1;

    wire w_dfsel    = wr_w4 && acc_off == 6'h00;
    wire w_drfsel   = wr_w4 && acc_off == 6'h08;
    wire w_drfeat   = wr_w4 && acc_off == 6'h0C;
    wire w_cfgvec   = wr_w2 && acc_off == 6'h10;
    wire w_status   = wr_w1 && acc_off == 6'h14;
    wire w_qsel     = wr_w2 && acc_off == 6'h16;
    wire w_qsize    = wr_w2 && acc_off == 6'h18;
    wire w_qvec     = wr_w2 && acc_off == 6'h1A;
    wire w_qen      = wr_w2 && acc_off == 6'h1C;
    wire w_qaddr    = wr_w4 && acc_off >= 6'h20 && acc_off <= 6'h34;
    wire w_qreset   = wr_w2 && acc_off == 6'h3A;
    wire w_wback    = wr && in_dev && off[7:0] == 8'd32 && s_reg_req_be == 4'b0001;

    // queue field writes allowed (after FEATURES_OK, selected queue disabled)
    wire q_fields_open = sel_ok && cur_status[S_FEATURES_OK] && !q_en[fi][sq];

    // misaligned rings at queue_enable (pymodel CommonCfg._write_queue_enable)
    wire ring_misaligned = q_desc[fi][sq][3:0] != 4'd0
                        || (packed_neg ? q_drv[fi][sq][1:0] != 2'd0 : q_drv[fi][sq][0] != 1'b0)
                        || q_dev[fi][sq][1:0] != 2'd0;

    // device_status write
    wire [7:0] st_new_bits = w8 & ST_SETTABLE & ~cur_status;
    wire st_feat_ok = features_acceptable(f_type(int'(fi)), offer_fi, drfeat[fi]);
    wire st_refused = st_new_bits[S_FEATURES_OK] && !st_feat_ok;
    wire [7:0] st_next = cur_status | st_new_bits;
    wire st_drv_ok_bad = st_new_bits[S_DRIVER_OK] && !st_next[S_FEATURES_OK];     // DRIVER_OK without FEATURES_OK

    // notification-area write
    wire nt_wr = fire && s_reg_req_we && in_notify;
    wire [15:0] nt_q = s_reg_req_wdata[15:0];
    wire nt_ok = fok && !rst_pend[fi] && s_reg_req_be[1:0] == 2'b11 && nt_q < f_nq(int'(fi))
              && q_en[fi][nt_q[QW-1:0]] && status[fi][S_DRIVER_OK] && !status[fi][S_NEEDS_RESET];

    // the port stalls while a notification waits
    assign s_reg_req_ready = !m_axis_notify_valid || m_axis_notify_ready;

    // ------------------------------------------------------------------ config inputs
    // a change of a device configuration input is a device configuration change
    logic [NUM_FUNC-1:0] cfg_changed;
    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++) begin
            if (f_type(f) == TYPE_BLK)
                cfg_changed[f] = cfg_inputs_valid && blk_capacity[64*f +: 64] != cap_seen[64*f +: 64];
            else
                cfg_changed[f] = cfg_inputs_valid && (net_mac[48*f +: 48] != mac_seen[48*f +: 48]
                                                   || net_status[16*f +: 16] != nst_seen[16*f +: 16]);
        end
    end

    // ------------------------------------------------------------------ state update
    task automatic reset_function(input int f);
        dfsel[f] <= 32'd0;
        drfsel[f] <= 32'd0;
        drfeat[f] <= '0;
        cfgvec[f] <= NO_VECTOR;
        qsel[f] <= 16'd0;
        status[f] <= 8'd0;
        isr[f] <= 2'd0;
        wback[f] <= BLK_WRITEBACK;
        cfg_irq_pend[f] <= 1'b0;
        for (int q = 0; q < MAX_QUEUES; q++) begin
            q_size[f][q] <= f_qmax(f);
            q_vec[f][q] <= NO_VECTOR;
            q_en[f][q] <= 1'b0;
            q_desc[f][q] <= 64'd0;
            q_drv[f][q] <= 64'd0;
            q_dev[f][q] <= 64'd0;
        end
    endtask

    function automatic logic [15:0] map_vector(input logic [15:0] v);
        return v < 16'(MSIX_VEC) ? v : NO_VECTOR;
    endfunction

    always_ff @(posedge clk) begin
        logic served;

        // ---------------------------------------------------------------- read response
        s_reg_rsp_valid <= fire && !s_reg_req_we;
        if (fire && !s_reg_req_we) s_reg_rsp_rdata <= rd_data;

        ev_queue_reset_valid <= 1'b0;
        stat_notify_drop <= 1'b0;

        // ---------------------------------------------------------------- ISR read clears
        // (events of this very cycle, below, stay set: they follow the read)
        if (fire && !s_reg_req_we && fok && in_isr && off[7:2] == 6'd0 && s_reg_req_be[0]) isr[fi] <= 2'd0;

        // ---------------------------------------------------------------- device-side events
        for (int f = 0; f < NUM_FUNC; f++) begin
            if (!rst_pend[f]) begin
                if (isr_queue_set[f]) isr[f][0] <= 1'b1;
                if (isr_cfg_set[f]) isr[f][1] <= 1'b1;
                if (cfg_changed[f] && status[f][S_DRIVER_OK]) begin
                    isr[f][1] <= 1'b1;
                    cfg_irq_pend[f] <= 1'b1;
                end
                if (needs_reset_set[f] && !status[f][S_NEEDS_RESET]) begin
                    status[f][S_NEEDS_RESET] <= 1'b1;
                    if (status[f][S_DRIVER_OK]) begin
                        isr[f][1] <= 1'b1;
                        cfg_irq_pend[f] <= 1'b1;
                    end
                end
            end
            if (cfg_changed[f]) gen[f] <= gen[f] + 8'd1;
            // end of a reset drain
            if (rst_pend[f] && func_quiesced[f]) begin
                rst_pend[f] <= 1'b0;
                func_reset_req[f] <= 1'b0;
            end
        end
        cfg_inputs_valid <= 1'b1;
        cap_seen <= blk_capacity;
        mac_seen <= net_mac;
        nst_seen <= net_status;

        // ---------------------------------------------------------------- configuration interrupts
        // the lowest pending function is served; its request goes out only with a vector
        if (!m_axis_cfg_irq_valid || m_axis_cfg_irq_ready) begin
            m_axis_cfg_irq_valid <= 1'b0;
            served = 1'b0;
            for (int f = 0; f < NUM_FUNC; f++) begin
                if (!served && cfg_irq_pend[f]) begin
                    served = 1'b1;
                    cfg_irq_pend[f] <= 1'b0;
                    m_axis_cfg_irq_valid <= cfgvec[f] != NO_VECTOR;
                    m_axis_cfg_irq_func <= 8'(f);
                    m_axis_cfg_irq_vec <= cfgvec[f][10:0];
                end
            end
        end

        // ---------------------------------------------------------------- common configuration
        if (w_dfsel) dfsel[fi] <= w32;
        if (w_drfsel) drfsel[fi] <= w32;
        if (w_drfeat && !cur_status[S_FEATURES_OK] && drfsel[fi] < 32'd4) drfeat[fi][32*drfsel[fi][1:0] +: 32] <= w32;
        if (w_cfgvec) cfgvec[fi] <= map_vector(w16);
        if (w_qsel) qsel[fi] <= w16;
        if (w_qvec && sel_ok) q_vec[fi][sq] <= map_vector(w16);
        if (w_qsize && q_fields_open && w16 != 16'd0 && w16 <= f_qmax(int'(fi)) && (packed_neg || is_pow2(w16)))
            q_size[fi][sq] <= w16;
        if (w_qaddr && q_fields_open) begin
            case (acc_off)
                6'h20: q_desc[fi][sq][31:0] <= w32;
                6'h24: q_desc[fi][sq][63:32] <= w32;
                6'h28: q_drv[fi][sq][31:0] <= w32;
                6'h2C: q_drv[fi][sq][63:32] <= w32;
                6'h30: q_dev[fi][sq][31:0] <= w32;
                default: q_dev[fi][sq][63:32] <= w32;
            endcase
        end
        if (w_qen && q_fields_open && w16 == 16'd1) begin
            if (!ring_misaligned) begin
                q_en[fi][sq] <= 1'b1;
            end else if (!cur_status[S_NEEDS_RESET]) begin
                status[fi][S_NEEDS_RESET] <= 1'b1;
                if (cur_status[S_DRIVER_OK]) begin
                    isr[fi][1] <= 1'b1;
                    cfg_irq_pend[fi] <= 1'b1;
                end
            end
        end
        if (w_qreset && sel_ok && neg[F_RING_RESET] && w16 == 16'd1) begin
            q_size[fi][sq] <= f_qmax(int'(fi));
            q_vec[fi][sq] <= NO_VECTOR;
            q_en[fi][sq] <= 1'b0;
            q_desc[fi][sq] <= 64'd0;
            q_drv[fi][sq] <= 64'd0;
            q_dev[fi][sq] <= 64'd0;
            ev_queue_reset_valid <= 1'b1;
            ev_queue_reset_func <= s_reg_req_func;
            ev_queue_reset_queue <= sel_q;
        end
        if (w_status) begin
            if (w8 == 8'd0) begin
                reset_function(int'(fi));
                if (cur_status != 8'd0) begin
                    rst_pend[fi] <= 1'b1;
                    func_reset_req[fi] <= 1'b1;
                    st_shadow[fi] <= cur_status;
                end
            end else if (!st_refused) begin
                // a needs_reset_set event of this cycle (above) is kept
                status[fi] <= st_next | (st_drv_ok_bad || needs_reset_set[fi] ? ST_NEEDS_RESET : 8'd0);
                if (st_drv_ok_bad && !cur_status[S_NEEDS_RESET]) begin
                    isr[fi][1] <= 1'b1;           // DRIVER_OK is set by this very write
                    cfg_irq_pend[fi] <= 1'b1;
                end
            end
        end

        // ---------------------------------------------------------------- blk writeback
        if (w_wback && f_type(int'(fi)) == TYPE_BLK && cur_status[S_FEATURES_OK] && neg[BLK_CONFIG_WCE] && w8 <= 8'd1)
            wback[fi] <= w8;

        // ---------------------------------------------------------------- notifications
        if (m_axis_notify_valid && m_axis_notify_ready) m_axis_notify_valid <= 1'b0;
        if (nt_wr) begin
            if (nt_ok) begin
                m_axis_notify_valid <= 1'b1;
                m_axis_notify_func <= s_reg_req_func;
                m_axis_notify_queue <= nt_q;
                m_axis_notify_data <= s_reg_req_wdata & {{8{s_reg_req_be[3]}}, {8{s_reg_req_be[2]}},
                                                          {8{s_reg_req_be[1]}}, {8{s_reg_req_be[0]}}};
            end else begin
                stat_notify_drop <= 1'b1;
                stat_notify_drop_count <= stat_notify_drop_count + 32'd1;
            end
        end

        // ---------------------------------------------------------------- function level reset
        // held in reset while func_flr is high (wins over this cycle's writes); the rising
        // edge starts a reset drain like a device_status write of 0
        for (int f = 0; f < NUM_FUNC; f++) begin
            if (func_flr[f]) begin
                reset_function(f);
                st_shadow[f] <= 8'd0;
                if (!flr_q[f]) begin
                    rst_pend[f] <= 1'b1;
                    func_reset_req[f] <= 1'b1;
                end
            end
        end
        flr_q <= func_flr;

        // ---------------------------------------------------------------- reset
        if (rst) begin
            for (int f = 0; f < NUM_FUNC; f++) begin
                reset_function(f);
                gen[f] <= 8'd0;
                st_shadow[f] <= 8'd0;
            end
            rst_pend <= '0;
            flr_q <= '0;
            func_reset_req <= '0;
            cfg_inputs_valid <= 1'b0;
            s_reg_rsp_valid <= 1'b0;
            m_axis_notify_valid <= 1'b0;
            m_axis_cfg_irq_valid <= 1'b0;
            ev_queue_reset_valid <= 1'b0;
            stat_notify_drop <= 1'b0;
            stat_notify_drop_count <= 32'd0;
        end
    end

    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++) begin
            mon_status[f*8 +: 8] = status[f];
            mon_features[f*128 +: 128] = status[f][S_FEATURES_OK] ? drfeat[f] : '0;
            for (int q = 0; q < MAX_QUEUES; q++) mon_queue_en[f*MAX_QUEUES + q] = q_en[f][q];
        end
    end

    assign func_flr_done = func_flr & flr_q & ~rst_pend;

    always_comb begin
        for (int f = 0; f < NUM_FUNC; f++) func_live[f] = status[f][S_DRIVER_OK] && !status[f][S_NEEDS_RESET] && !rst_pend[f];
    end

    // ------------------------------------------------------------------ context read ports
    for (genvar p = 0; p < CTX_PORTS; p++) begin : g_ctx
        wire [7:0]    rf = ctx_req_func[p*8 +: 8];
        wire [15:0]   rq = ctx_req_queue[p*16 +: 16];
        wire          ctx_fok = rf < 8'(NUM_FUNC);
        wire [FW-1:0] cf = rf[FW-1:0];
        wire          ctx_qok = ctx_fok && rq < f_nq(int'(cf));
        wire [QW-1:0] cq = rq[QW-1:0];

        always_ff @(posedge clk) begin
            ctx_rsp_valid[p] <= ctx_req_valid[p];
            if (ctx_req_valid[p]) begin
                ctx_rsp_size[p*16 +: 16] <= ctx_qok ? q_size[cf][cq] : 16'd0;
                ctx_rsp_enable[p] <= ctx_qok ? q_en[cf][cq] : 1'b0;
                ctx_rsp_vector[p*16 +: 16] <= ctx_qok ? q_vec[cf][cq] : NO_VECTOR;
                ctx_rsp_desc[p*64 +: 64] <= ctx_qok ? q_desc[cf][cq] : 64'd0;
                ctx_rsp_driver[p*64 +: 64] <= ctx_qok ? q_drv[cf][cq] : 64'd0;
                ctx_rsp_device[p*64 +: 64] <= ctx_qok ? q_dev[cf][cq] : 64'd0;
                ctx_rsp_live[p] <= ctx_fok ? func_live[cf] : 1'b0;
                ctx_rsp_features[p*128 +: 128] <= (ctx_fok && status[cf][S_FEATURES_OK]) ? drfeat[cf] : '0;
            end
            if (rst) ctx_rsp_valid[p] <= 1'b0;
        end
    end

endmodule

`resetall
