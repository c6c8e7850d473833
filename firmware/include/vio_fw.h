/*
 * DPU control-plane firmware: public API (DESIGN.md decisions 4 and 5).
 *
 * The RTL fetches control-virtqueue buffers and hands their bytes to the
 * firmware; the firmware executes the command (vio_fw_ctrl), writes the ack
 * (+ result) and programs the device through vio_dev_ops.  The outcome of
 * every command -- ack, result bytes, effects, which feature each command
 * needs, framing errors -- is exactly pymodel/net_ctrl.py NetCtrl's.
 *
 * Nothing here allocates memory or calls libc: the caller owns the vio_fw
 * object (static storage on a real target).  One vio_fw serves up to
 * VIO_FW_MAX_FUNCS functions (PF and VFs) numbered 0..num_funcs-1.
 *
 * Effects (the set_* / update_status callbacks) are called synchronously,
 * one call per pymodel CtrlEffect and in the same order:
 *   set_rx_mode, set_mac_table, set_vlan  <->  RX_FILTER
 *   set_mac                               <->  MAC_CHANGED
 *   set_curr_pairs                        <->  PAIRS_CHANGED
 *   set_guest_offloads                    <->  OFFLOADS
 *   update_status(clear ANNOUNCE)         <->  ANNOUNCE_ACKED
 *   set_coalescing (one call per vq)      <->  COALESCING(vq)
 * A command answered with VIO_NET_ERR calls no effect.  The device (not the
 * firmware) bumps config_generation and sends the config-change interrupt
 * when set_mac / update_status change what the driver can read (§6.3).
 * VLAN filtering is on iff CTRL_VLAN is negotiated: the device derives that
 * from the negotiated features itself.
 */
#ifndef VIO_FW_H
#define VIO_FW_H

#include <stdint.h>

#include "vio_net_defs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Capacity: compile-time, override with -D. */
#ifndef VIO_FW_MAX_FUNCS
#define VIO_FW_MAX_FUNCS 16u /* functions one vio_fw serves */
#endif
#ifndef VIO_FW_MAX_PAIRS
#define VIO_FW_MAX_PAIRS 16u /* max_virtqueue_pairs a function may be provisioned with */
#endif
#define VIO_FW_MAX_DATA_VQS (2u * VIO_FW_MAX_PAIRS)

/* What the firmware needs from the device.  `ctx` is passed back untouched. */
typedef struct vio_dev_ops {
    /* -- reads (side-effect free) -- */
    /* Negotiated features of `func`, 64 bits per word: word 0 = bits 0..63,
     * word 1 = bits 64..127.  0 before FEATURES_OK and after a reset. */
    uint64_t (*features)(void *ctx, uint8_t func, uint8_t word);
    /* num_queues of the function (common cfg). */
    uint16_t (*num_queues)(void *ctx, uint8_t func);
    /* Non-zero if queue_enable of vq is 1 (called only for vq < num_queues). */
    int (*queue_enabled)(void *ctx, uint8_t func, uint16_t vq);
    /* Device config max_virtqueue_pairs. */
    uint16_t (*max_pairs)(void *ctx, uint8_t func);

    /* -- effects -- */
    /* Device config `mac` (and the RX filter's own address). */
    void (*set_mac)(void *ctx, uint8_t func, const uint8_t mac[6]);
    /* Device config `status`: clear the bits in `clear`, then set those in `set`. */
    void (*update_status)(void *ctx, uint8_t func, uint16_t clear, uint16_t set);
    /* Device config max_virtqueue_pairs (provisioning only). */
    void (*set_max_pairs)(void *ctx, uint8_t func, uint16_t max_pairs);
    /* Queue pairs in use (VQ_PAIRS_SET; 1 after reset). */
    void (*set_curr_pairs)(void *ctx, uint8_t func, uint16_t pairs);
    /* Receive-mode bits VIO_RX_* (the whole set, every time). */
    void (*set_rx_mode)(void *ctx, uint8_t func, uint8_t mode);
    /* MAC filter table: n_uni unicast then n_multi multicast 6-byte addresses
     * (packed, unaligned; valid only during the call) and VIO_MAC_OVERFLOW_*
     * flags.  An overflowed list is passed empty (accept all of that kind). */
    void (*set_mac_table)(void *ctx, uint8_t func, const uint8_t *uni, uint32_t n_uni,
                          const uint8_t *multi, uint32_t n_multi, uint8_t overflow);
    /* VLAN filter table entry vid (< 4096) on (1) or off (0). */
    void (*set_vlan)(void *ctx, uint8_t func, uint16_t vid, int on);
    /* GUEST_OFFLOADS bitmap in force (GUEST_* bit numbers, 46/47 for UDP tunnel). */
    void (*set_guest_offloads)(void *ctx, uint8_t func, uint64_t bitmap);
    /* Coalescing parameters in force for vq (§6.6; re-evaluate at once). */
    void (*set_coalescing)(void *ctx, uint8_t func, uint16_t vq, uint32_t max_packets,
                           uint32_t max_usecs);
} vio_dev_ops;

typedef struct vio_coal {
    uint32_t max_packets;
    uint32_t max_usecs;
} vio_coal;

/* Per-function state.  Opaque to callers; public only so it can be static. */
typedef struct vio_fw_func {
    uint8_t provisioned; /* provisioned and served (the loop clears it when the function goes / FLRs) */
    uint8_t rx_mode;
    uint8_t initial_mac[6];
    uint16_t curr_pairs;
    uint16_t max_pairs;  /* provisioned max_virtqueue_pairs (0: never provisioned) */
    /* function lifecycle as the loop last saw it (FUNC_STATE; vio_fw_init: an existing net PF) */
    uint8_t exists;
    uint8_t flr;
    uint8_t is_vf;
    uint8_t pf;
    uint8_t is_net;
    uint8_t clamped;     /* the board's max_pairs was clamped to the function's NUM_QUEUES */
    uint8_t link_up;     /* the link as last set (provisioning, vio_fw_set_link) */
    uint8_t pad_;
    uint32_t flr_count;  /* FLRs seen (FUNC_STATE.FLR rises) */
    uint32_t provisions; /* vio_fw_provision calls that succeeded */
    uint64_t guest_offloads;
    vio_coal tx_coal;
    vio_coal rx_coal;
    vio_coal vq_coal[VIO_FW_MAX_DATA_VQS];                /* VQ_SET overrides */
    uint32_t vq_coal_set[(VIO_FW_MAX_DATA_VQS + 31u) / 32u]; /* which are valid */
    uint32_t vlans[VIO_VLAN_IDS / 32u];                   /* VLAN table mirror */
} vio_fw_func;

typedef struct vio_fw {
    const vio_dev_ops *ops;
    void *ctx;
    uint8_t num_funcs;
    vio_fw_func func[VIO_FW_MAX_FUNCS];
} vio_fw;

/* Size of vio_fw in bytes (for hosts that allocate it, e.g. Python ctypes). */
uint32_t vio_fw_sizeof(void);

/* Bind the device and put every function's firmware state at its reset value.
 * No device effect is applied (functions are brought up by vio_fw_provision).
 * num_funcs is clamped to VIO_FW_MAX_FUNCS. */
void vio_fw_init(vio_fw *fw, const vio_dev_ops *ops, void *ctx, uint8_t num_funcs);

/* Bring-up of one function (pymodel: NetCtrl constructed on a NetConfig):
 * remembers `mac` as the function's reset MAC, programs max_virtqueue_pairs
 * and the status (LINK_UP per link_up, ANNOUNCE cleared: one update_status
 * call), then applies a function reset (vio_fw_func_reset).  Used again to
 * re-provision a function (VF enabled again, FLR done).
 * Returns 0, or -1 (nothing done) if func is out of range or max_pairs is 0
 * or above VIO_FW_MAX_PAIRS. */
int vio_fw_provision(vio_fw *fw, uint8_t func, const uint8_t mac[6], uint16_t max_pairs,
                     int link_up);

/* Link status change (config status LINK_UP); the device notifies the driver.
 * The value is remembered: a later re-provisioning (VF enabled again, FLR
 * done) uses it, not the board's.  A function that is not provisioned (gone,
 * in FLR, never) only remembers it: nothing is written. */
void vio_fw_set_link(vio_fw *fw, uint8_t func, int link_up);

/* Ask the driver to announce (status ANNOUNCE), only if the function is
 * provisioned and GUEST_ANNOUNCE is negotiated.  Returns 0 if set, -1
 * otherwise. */
int vio_fw_announce(vio_fw *fw, uint8_t func);

/* FEATURES_OK accepted (pymodel NetCtrl.set_features): the guest offloads in
 * force become every negotiated GUEST_* offload (set_guest_offloads). */
void vio_fw_features_ok(vio_fw *fw, uint8_t func);

/* Device reset of a function (pymodel NetCtrl.reset): config mac back to the
 * provisioned one, rx mode PROMISC, MAC table empty, every VLAN off, one pair,
 * guest offloads 0, coalescing 0 on every data vq (0 .. 2*max_pairs-1). */
void vio_fw_func_reset(vio_fw *fw, uint8_t func);

/* vq was enabled (again) (pymodel NetCtrl.on_queue_reenabled): it reverts to
 * the last TX_SET/RX_SET values, or 0 (§6.6); applied with set_coalescing if
 * vq is a data vq. */
void vio_fw_queue_reenabled(vio_fw *fw, uint8_t func, uint16_t vq);

/* Execute ONE control-queue command: cmd = {u8 class; u8 command; data[]}
 * (cmd_len readable bytes), rsp = rsp_room writable bytes.  Writes the ack
 * and any result; returns the bytes written (the used len).  A framing error
 * (cmd_len < 2 or rsp_room < 1) writes nothing, sets *needs_reset to 1 and
 * returns 0 (the device then sets DEVICE_NEEDS_RESET); otherwise
 * *needs_reset is set to 0.  needs_reset may be NULL.  func out of range
 * answers VIO_NET_ERR. */
uint32_t vio_fw_ctrl(vio_fw *fw, uint8_t func, const uint8_t *cmd, uint32_t cmd_len, uint8_t *rsp,
                     uint32_t rsp_room, int *needs_reset);

/* Coalescing parameters in force for vq (what VQ_GET answers, pymodel
 * NetCtrl.coalescing).  Returns 0, or -1 if func is out of range. */
int vio_fw_coalescing(const vio_fw *fw, uint8_t func, uint16_t vq, vio_coal *out);

/* What the firmware knows about one function (for the bench / a DPU manager;
 * pure memory read, no device access). */
typedef struct vio_fw_info {
    uint8_t exists;      /* FUNC_STATE.EXISTS at the last scan */
    uint8_t flr;         /* FUNC_STATE.FLR at the last scan: an FLR is in progress */
    uint8_t is_vf;       /* FUNC_STATE.IS_VF */
    uint8_t pf;          /* FUNC_STATE.PF: the PF of a VF (a PF: itself) */
    uint8_t is_net;      /* the board row is a usable virtio-net row */
    uint8_t provisioned; /* programmed from the board and served (exists, not in FLR) */
    uint8_t clamped;     /* max_pairs is the NUM_QUEUES limit, below the board's value */
    uint8_t link_up;     /* the link the function has / gets when (re)provisioned */
    uint8_t mac[6];      /* the provisioned (reset) MAC; 0 if never provisioned */
    uint16_t max_pairs;  /* provisioned max_virtqueue_pairs; 0 if never provisioned */
    uint32_t flr_count;  /* FLRs seen since boot (FLR rises seen by a scan) */
    uint32_t provisions; /* times the function was (re)provisioned since boot / init */
} vio_fw_info;

/* Fill *out for func.  Returns 0, or -1 (out untouched) if func >= the
 * number of functions.  Without the loop (vio_fw_init only) every function
 * reads as an existing net PF 0; vio_fw_boot / vio_fw_poll keep it current. */
int vio_fw_func_info(const vio_fw *fw, uint8_t func, vio_fw_info *out);


/* ======================================================================
 * Firmware main loop over the management port (fw_mmio.c, fw_loop.c).
 * Everything below talks to the device only through the HAL (vio_hal.h),
 * with offsets from the generated vio_mgmt_regs.h.
 * ====================================================================== */

/* What a real firmware reads from its flash / devicetree, per function. */
typedef struct vio_fw_board_func {
    uint8_t is_net;     /* 1: virtio-net function (provisioned, served); 0: not ours (e.g. blk) */
    uint8_t link_up;    /* link status after boot */
    uint16_t max_pairs; /* max_virtqueue_pairs (1..VIO_FW_MAX_PAIRS) */
    uint8_t mac[6];     /* MAC after reset */
    uint16_t pad_;
} vio_fw_board_func;

/* One row per device function, in the device's numbering (DEV_FUNCS): PFs
 * 0..num_pf-1, then every POSSIBLE VF of PF0, of PF1, ... (TotalVFs each),
 * whether or not it is enabled now.  A blk row (and its VFs) is_net = 0. */
typedef struct vio_fw_board {
    uint8_t num_funcs;         /* rows: must equal DEV_FUNCS.NUM_FUNC (<= VIO_FW_MAX_FUNCS) */
    uint8_t num_pf;            /* must equal DEV_FUNCS.NUM_PF (1..4) */
    uint8_t pad_[2];
    uint32_t ctrlq_timeout_us; /* written to CTRLQ_TIMEOUT at boot; 0: leave the device's value */
    vio_fw_board_func func[VIO_FW_MAX_FUNCS];
} vio_fw_board;

/* vio_fw_poll result bits (what one iteration handled). */
#define VIO_FW_POLL_CTRLQ 0x01u      /* a command was answered (CTRLQ_DONE written) */
#define VIO_FW_POLL_FUNC_EVENT 0x02u /* functions rescanned (IRQ_STATUS.FUNC_EVENT) */
#define VIO_FW_POLL_TIMEOUT 0x04u    /* IRQ_STATUS.CTRLQ_TIMEOUT seen and counted */
#define VIO_FW_POLL_OVERSIZE 0x08u   /* the answered command did not fit the mailbox: ERR */
#define VIO_FW_POLL_STALE 0x10u      /* a command timed out while being served: not answered */

/* Counters of the loop since vio_fw_boot. */
typedef struct vio_fw_loop_stats {
    uint32_t polls;       /* vio_fw_poll calls that returned >= 0 */
    uint32_t served;      /* commands answered (CTRLQ_DONE), oversize ones included */
    uint32_t oversize;    /* commands answered ERR because CMD_LEN exceeded the mailbox */
    uint32_t timeouts;    /* IRQ_STATUS.CTRLQ_TIMEOUT events */
    uint32_t stale;       /* commands executed but not answered (timed out meanwhile) */
    uint32_t func_events; /* rescans */
    uint32_t resets;      /* vio_fw_func_reset calls from rescans */
    uint32_t features_ok; /* vio_fw_features_ok calls from rescans */
    uint32_t reenables;   /* vio_fw_queue_reenabled calls from rescans */
    uint32_t mmio_reads;  /* HAL reads issued by the loop and the MMIO ops */
    uint32_t mmio_writes; /* HAL writes issued (shadowed writes that changed nothing are skipped) */
    /* function lifecycle (rescans; the boot scan is the baseline and counts only provisions) */
    uint32_t vf_appeared;  /* FUNC_STATE.EXISTS rises (any function: only VFs come and go) */
    uint32_t vf_gone;      /* FUNC_STATE.EXISTS falls */
    uint32_t flr_seen;     /* FUNC_STATE.FLR rises */
    uint32_t flr_done;     /* FUNC_STATE.FLR falls */
    uint32_t provisions;   /* net functions (re)provisioned from the board, boot included */
    uint32_t pairs_clamped;    /* of those, provisioned with max_pairs clamped to NUM_QUEUES */
    uint32_t provision_errors; /* net functions that became live but could not be provisioned
                                  (NUM_QUEUES < 3: no pair) */
    uint32_t refused;      /* commands answered ERR because the function is not served
                              (not net, gone, in FLR, not provisioned) */
} vio_fw_loop_stats;

/* Device state the MMIO-backed vio_dev_ops keep.  Opaque; public only so it
 * can be static.  The management block's indexed RW registers (FUNC_* /
 * COAL_* / FILTER_*, 0x80..0xFF) are written only by the firmware, so a
 * write of the value a register already holds is skipped (reg/reg_known). */
typedef struct vio_fw_mmio_func {
    uint8_t mac[6];
    uint8_t rx_mode;   /* FUNC_RX_MODE value: VIO_RX_* bits + UNI/MULTI_OVERFLOW */
    uint8_t cached;    /* which of feat / state / qen are valid (only while caching) */
    uint16_t status;   /* FUNC_NET_STATUS value */
    uint16_t max_pairs;
    uint16_t curr_pairs;
    uint16_t pad_;
    uint32_t state;    /* FUNC_STATE (cache) */
    uint32_t qen;      /* FUNC_QUEUE_EN (cache) */
    uint64_t feat;     /* FUNC_FEAT_HI:LO (cache) */
    uint64_t guest_offloads; /* no device register: firmware state only */
    uint32_t vlans[VIO_VLAN_IDS / 32u]; /* the VLAN table as written to the device */
} vio_fw_mmio_func;

typedef struct vio_fw_mmio {
    uint32_t reg[32];        /* shadow of the RW registers at 0x80 + 4*i */
    uint32_t reg_known;      /* bit i: reg[i] holds the register's value */
    uint8_t caching;         /* 1: feature / state / queue-enable reads are cached (one command) */
    uint8_t pad_[3];
    vio_fw_loop_stats *stats; /* access counters (may be NULL) */
    vio_fw_mmio_func func[VIO_FW_MAX_FUNCS];
} vio_fw_mmio;

/* vio_dev_ops over the management registers; ctx is a vio_fw_mmio *.
 * Reads: features (FUNC_SEL + FUNC_FEAT_LO/HI; word 1 reads 0: the port
 * shows bits 63:0 only), num_queues (FUNC_STATE), queue_enabled
 * (FUNC_QUEUE_EN; vq >= 32 reads 0), max_pairs (the provisioned value).
 * Effects: MAC / status / curr_pairs / rx mode are shadowed per function and
 * written together + FUNC_APPLY; the MAC table is FILTER_CMD.CLEAR + one
 * WRITE_MAC per entry (unicast first) + the overflow bits in FUNC_RX_MODE,
 * and -- CLEAR also zeroes the VLAN table -- every non-zero VLAN word is
 * written again; a VLAN is a read-modify-write of the shadowed word +
 * WRITE_VLAN; coalescing is COAL_SEL/MAX_PKTS/MAX_USECS/APPLY; guest
 * offloads have no device register (kept in vio_fw_mmio). */
extern const vio_dev_ops vio_fw_mmio_ops;

/* Shared by fw_mmio.c and fw_loop.c only (hidden: not exported by the host
 * library).  Every HAL access of the loop goes through these (counted;
 * writes to the shadowed registers skipped when unchanged). */
#if defined(__GNUC__)
#define VIO_FW_HIDDEN __attribute__((visibility("hidden")))
#else
#define VIO_FW_HIDDEN
#endif
VIO_FW_HIDDEN uint32_t vio_fw_mmio_rd(vio_fw_mmio *m, uint32_t off);
VIO_FW_HIDDEN void vio_fw_mmio_wr(vio_fw_mmio *m, uint32_t off, uint32_t v);
/* FUNC_SEL = func (if not already), then read the FUNC_* register at off. */
VIO_FW_HIDDEN uint32_t vio_fw_mmio_func_rd(vio_fw_mmio *m, uint8_t func, uint32_t off);
/* Forget every register shadow and cache, zero the per-function state. */
VIO_FW_HIDDEN void vio_fw_mmio_reset(vio_fw_mmio *m, vio_fw_loop_stats *stats);
/* Start (1) / end (0) a cached section: reads of features, FUNC_STATE and
 * FUNC_QUEUE_EN are served from the first read until the section ends. */
VIO_FW_HIDDEN void vio_fw_mmio_caching(vio_fw_mmio *m, int on);

/* vio_fw_boot results. */
#define VIO_FW_BOOT_OK 0
#define VIO_FW_BOOT_EID (-1)        /* ID is not VMG1: nothing written */
#define VIO_FW_BOOT_EPROVISION (-2) /* a net row is unusable (max_pairs 0 or > VIO_FW_MAX_PAIRS) or
                                       a live net function has NUM_QUEUES < 3; the rest is up */
#define VIO_FW_BOOT_EFUNCS (-3)     /* DEV_FUNCS disagrees with the board: nothing written */

/* Bring the firmware up on the management port (the first thing a DPU core
 * runs; see firmware/README.md "Functions, VFs and FLR"):
 *   1. ID must be VMG1, else VIO_FW_BOOT_EID.
 *   2. DEV_FUNCS must match the board: NUM_FUNC == board->num_funcs <=
 *      VIO_FW_MAX_FUNCS and NUM_PF == board->num_pf (1..4, <= NUM_FUNC), else
 *      VIO_FW_BOOT_EFUNCS.  Both checks only read: nothing is written.
 *   3. IRQ_ENABLE 0, binds vio_fw_mmio_ops (static state: one loop per image),
 *      keeps a copy of the board (re-provisioning needs it later), writes
 *      CTRLQ_TIMEOUT if board->ctrlq_timeout_us != 0, clears IRQ_STATUS
 *      (W1C: an event from here on is kept and rescanned by the first poll).
 *   4. Reads every function's FUNC_STATE: EXISTS / FLR / IS_VF / PF are the
 *      baseline; every LIVE (EXISTS and not FLR) net function is provisioned
 *      from its row (vio_fw_provision: MAC, max pairs, link, reset values
 *      incl. coalescing 0 and empty filters; FUNC_MAC / FUNC_PAIRS /
 *      FUNC_NET_STATUS + FUNC_APPLY), max_pairs clamped to
 *      (NUM_QUEUES - 1) / 2; then, as after any provisioning, its
 *      device_status / queue enables are taken from 0 (FEATURES_OK already set
 *      -> vio_fw_features_ok, each enabled queue -> vio_fw_queue_reenabled).
 *      A VF that does not exist yet, or a function in FLR, is provisioned
 *      when it becomes live (vio_fw_poll).
 *   5. Enables the IRQ_STATUS causes CTRLQ / FUNC_EVENT / CTRLQ_TIMEOUT.
 * Returns VIO_FW_BOOT_*. */
int vio_fw_boot(vio_fw *fw, const vio_fw_board *board);

/* ONE iteration of the service loop: hal_irq_wait(timeout_us), then
 *   - read IRQ_STATUS and clear (W1C) the causes seen, before handling them
 *     (an event while handling raises the line again);
 *   - CTRLQ_TIMEOUT: counted; the timed-out command is not answered;
 *   - FUNC_EVENT: rescan every function (FUNC_STATE; FUNC_QUEUE_EN of the
 *     served ones).  Lifecycle first (a function is LIVE while EXISTS = 1 and
 *     FLR = 0): EXISTS / FLR changes are counted; a function that stopped
 *     being live (VF disabled, FLR started) is no longer served -- nothing is
 *     written, its commands are answered ERR; a net function that became
 *     live (VF enabled, FLR done) is re-provisioned from the board copy as at
 *     boot (step 4).  Then, for a served function that was already live: a
 *     device_status bit that went 0 (status written 0, or a reset missed
 *     between two scans and already followed by ACKNOWLEDGE..) ->
 *     vio_fw_func_reset; FEATURES_OK newly set -> vio_fw_features_ok; each
 *     queue-enable bit that rose -> vio_fw_queue_reenabled (in this order);
 *   - CTRLQ (or the wait timed out: a lost edge is recovered by polling
 *     CTRLQ_STATUS.VALID): if VALID, read CTRLQ_LEN and ceil(CMD_LEN/4)
 *     CMD_DATA words, run vio_fw_ctrl with rsp_room = RSP_ROOM (clamped to
 *     the mailbox), write the RSP_DATA words, CTRLQ_RSP, CTRLQ_DONE.
 *     CMD_LEN larger than the mailbox (the engine passes the true length):
 *     answered ERR (1 byte) without running it (the firmware cannot see it
 *     whole).  A command of a function that is not served (not a net
 *     function, gone, in FLR, provisioning refused -- as of the last scan):
 *     ERR, without running it (counted in `refused`).
 *     A framing error (CMD_LEN < 2 or RSP_ROOM 0; the engine drops those
 *     itself): answered with RSP_LEN 0.  Before CTRLQ_DONE the loop reads
 *     IRQ_STATUS: if CTRLQ_TIMEOUT rose meanwhile, the engine already
 *     answered ERR and dropped the command -- the answer is not written (its
 *     effects were applied: the device stays what the firmware programmed).
 * Returns the VIO_FW_POLL_* bits handled (0: nothing, e.g. a timeout), or
 * -1 if hal_irq_wait reported an error (the host asks the loop to stop). */
int vio_fw_poll(vio_fw *fw, uint32_t timeout_us);

/* Counters since vio_fw_boot. */
void vio_fw_loop_stats_get(vio_fw_loop_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* VIO_FW_H */
