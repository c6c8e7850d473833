/* Internal helpers shared by the firmware core (no libc). */
#ifndef VIO_FW_INTERNAL_H
#define VIO_FW_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vio_fw.h"

/* Nothing below is part of the library's exported API. */
#pragma GCC visibility push(hidden)

/* -- little-endian loads from (unaligned) command bytes --------------------- */
static inline uint16_t vio_le16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | (uint16_t)((uint16_t)p[1] << 8));
}

static inline uint32_t vio_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t vio_le64(const uint8_t *p)
{
    return (uint64_t)vio_le32(p) | ((uint64_t)vio_le32(p + 4) << 32);
}

static inline void vio_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* -- bitmaps ----------------------------------------------------------------- */
static inline int vio_bit_get(const uint32_t *map, uint32_t bit)
{
    return (int)((map[bit >> 5] >> (bit & 31u)) & 1u);
}

static inline void vio_bit_put(uint32_t *map, uint32_t bit, int on)
{
    if (on)
        map[bit >> 5] |= 1u << (bit & 31u);
    else
        map[bit >> 5] &= ~(1u << (bit & 31u));
}

/* -- features and queue roles (features.c) ------------------------------------ */
/* Negotiated feature bit `bit` (0..127) of func. */
int vio_has(const vio_fw *fw, uint8_t func, uint32_t bit);

/* Bitmap of the GUEST_OFFLOADS bits whose feature is negotiated (pymodel
 * GUEST_OFFLOAD_BITS). */
uint64_t vio_offloads_allowed(const vio_fw *fw, uint8_t func);

enum vio_role { VIO_ROLE_NONE = 0, VIO_ROLE_RX, VIO_ROLE_TX, VIO_ROLE_CTRL };

/* Role of vq under the negotiated features (pymodel net.queue_role, §6.1). */
enum vio_role vio_queue_role(const vio_fw *fw, uint8_t func, uint32_t vq);

/* vq is an RX or TX vq that is enabled. */
int vio_rxtx_enabled(const vio_fw *fw, uint8_t func, uint32_t vq);

/* -- coalescing state (coal.c) ------------------------------------------------- */
vio_coal vio_coal_in_force(const vio_fw *fw, uint8_t func, uint32_t vq);
/* Reset values + set_coalescing(0, 0) on every data vq. */
void vio_coal_reset(vio_fw *fw, uint8_t func);
/* NOTF_COAL class: returns the ack; *result (8 bytes) is filled and
 * *result_len set for VQ_GET. */
uint8_t vio_ctrl_notf_coal(vio_fw *fw, uint8_t func, uint8_t command, const uint8_t *data,
                           uint32_t len, uint32_t writable, uint8_t *result, uint32_t *result_len);

/* -- receive filter (rx_filter.c) ----------------------------------------------- */
uint8_t vio_ctrl_rx_mode(vio_fw *fw, uint8_t func, uint8_t command, const uint8_t *data,
                         uint32_t len);
uint8_t vio_ctrl_mac(vio_fw *fw, uint8_t func, uint8_t command, const uint8_t *data, uint32_t len);
uint8_t vio_ctrl_vlan(vio_fw *fw, uint8_t func, uint8_t command, const uint8_t *data,
                      uint32_t len);
/* Reset values of rx mode, MAC table and VLAN table, applied through the ops. */
void vio_rx_filter_reset(vio_fw *fw, uint8_t func);

#pragma GCC visibility pop

#endif /* VIO_FW_INTERNAL_H */
