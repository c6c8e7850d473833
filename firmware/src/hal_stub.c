/*
 * Freestanding stub HAL: the management port as a memory-mapped window at
 * VIO_MGMT_BASE.  A real target replaces this file (interrupt controller,
 * timer); it exists so the freestanding build links with no libc.
 */
#include "vio_hal.h"

#ifndef VIO_MGMT_BASE
#define VIO_MGMT_BASE 0x40000000u
#endif

static uint64_t ticks; /* stand-in clock: advances by each wait's timeout */

uint32_t hal_mmio_read32(uint32_t off)
{
    return *(volatile const uint32_t *)(uintptr_t)(VIO_MGMT_BASE + off);
}

void hal_mmio_write32(uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(VIO_MGMT_BASE + off) = v;
}

int hal_irq_wait(uint32_t timeout_us)
{
    ticks += timeout_us;
    return 0; /* no interrupt controller: always a timeout */
}

uint64_t hal_time_us(void)
{
    return ticks;
}
