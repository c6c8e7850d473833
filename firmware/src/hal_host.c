/*
 * Host HAL: every call goes to a function pointer the host binds
 * (hal_host_bind), so the bench can plug Python / the simulation in.
 */
#include "vio_hal.h"
#include "vio_hal_host.h"

static vio_hal_host_ops bound;

void hal_host_bind(const vio_hal_host_ops *ops)
{
    if (ops) {
        bound = *ops;
    } else {
        bound.mmio_read32 = 0;
        bound.mmio_write32 = 0;
        bound.irq_wait = 0;
        bound.time_us = 0;
    }
}

uint32_t hal_mmio_read32(uint32_t off)
{
    return bound.mmio_read32 ? bound.mmio_read32(off) : 0xFFFFFFFFu;
}

void hal_mmio_write32(uint32_t off, uint32_t v)
{
    if (bound.mmio_write32)
        bound.mmio_write32(off, v);
}

int hal_irq_wait(uint32_t timeout_us)
{
    return bound.irq_wait ? bound.irq_wait(timeout_us) : -1;
}

uint64_t hal_time_us(void)
{
    return bound.time_us ? bound.time_us() : 0u;
}
