/*
 * Hardware abstraction layer: what a real target implements (DESIGN.md
 * decision 5).  Offsets are byte offsets into the management port, as the
 * generated register header (vio_mgmt_regs.h) names them.
 *
 * Host build: firmware/src/hal_host.c forwards each call to a function
 * pointer the host binds with hal_host_bind() (the bench plugs Python /
 * the simulation in).  Freestanding build: firmware/src/hal_stub.c.
 */
#ifndef VIO_HAL_H
#define VIO_HAL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 32-bit read of the management port at byte offset `off`. */
uint32_t hal_mmio_read32(uint32_t off);
/* 32-bit write of the management port at byte offset `off`. */
void hal_mmio_write32(uint32_t off, uint32_t v);
/* Wait for the firmware interrupt: > 0 if it fired, 0 on timeout, < 0 on error
 * (e.g. the host asked the firmware to stop). */
int hal_irq_wait(uint32_t timeout_us);
/* Free-running microsecond clock. */
uint64_t hal_time_us(void);

#ifdef __cplusplus
}
#endif

#endif /* VIO_HAL_H */
