/*
 * Host build only: bind the HAL (vio_hal.h) to functions the host supplies.
 * Unbound calls are harmless: reads return 0xFFFFFFFF, writes are dropped,
 * hal_irq_wait returns -1 and hal_time_us 0.
 */
#ifndef VIO_HAL_HOST_H
#define VIO_HAL_HOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vio_hal_host_ops {
    uint32_t (*mmio_read32)(uint32_t off);
    void (*mmio_write32)(uint32_t off, uint32_t v);
    int (*irq_wait)(uint32_t timeout_us);
    uint64_t (*time_us)(void);
} vio_hal_host_ops;

/* Copies *ops (NULL unbinds everything). */
void hal_host_bind(const vio_hal_host_ops *ops);

#ifdef __cplusplus
}
#endif

#endif /* VIO_HAL_HOST_H */
