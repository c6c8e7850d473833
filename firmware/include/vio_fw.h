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
    uint8_t provisioned;
    uint8_t rx_mode;
    uint8_t initial_mac[6];
    uint16_t curr_pairs;
    uint16_t pad_;
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
 * and the link status, then applies a function reset (vio_fw_func_reset).
 * Returns 0, or -1 (nothing done) if func is out of range or max_pairs is 0
 * or above VIO_FW_MAX_PAIRS. */
int vio_fw_provision(vio_fw *fw, uint8_t func, const uint8_t mac[6], uint16_t max_pairs,
                     int link_up);

/* Link status change (config status LINK_UP); the device notifies the driver. */
void vio_fw_set_link(vio_fw *fw, uint8_t func, int link_up);

/* Ask the driver to announce (status ANNOUNCE), only if GUEST_ANNOUNCE is
 * negotiated.  Returns 0 if set, -1 otherwise. */
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

#ifdef __cplusplus
}
#endif

#endif /* VIO_FW_H */
