/*
 * Freestanding entry point.  Until the mailbox loop (fw_loop.c, written
 * against the generated vio_mgmt_regs.h) exists, this brings the firmware up
 * on a device with no MMIO-backed ops yet (every read 0, effects dropped),
 * answers one control command to keep the whole core linked, then idles on
 * the firmware interrupt.
 */
#include "vio_fw.h"
#include "vio_hal.h"

void _start(void);

static uint64_t no_features(void *ctx, uint8_t func, uint8_t word)
{
    (void)ctx, (void)func, (void)word;
    return 0;
}
static uint16_t one_u16(void *ctx, uint8_t func)
{
    (void)ctx, (void)func;
    return 1;
}
static int not_enabled(void *ctx, uint8_t func, uint16_t vq)
{
    (void)ctx, (void)func, (void)vq;
    return 0;
}
static void nop_mac(void *ctx, uint8_t func, const uint8_t mac[6])
{
    (void)ctx, (void)func, (void)mac;
}
static void nop_status(void *ctx, uint8_t func, uint16_t clear, uint16_t set)
{
    (void)ctx, (void)func, (void)clear, (void)set;
}
static void nop_u16(void *ctx, uint8_t func, uint16_t v)
{
    (void)ctx, (void)func, (void)v;
}
static void nop_u8(void *ctx, uint8_t func, uint8_t v)
{
    (void)ctx, (void)func, (void)v;
}
static void nop_table(void *ctx, uint8_t func, const uint8_t *u, uint32_t nu, const uint8_t *m,
                      uint32_t nm, uint8_t ov)
{
    (void)ctx, (void)func, (void)u, (void)nu, (void)m, (void)nm, (void)ov;
}
static void nop_vlan(void *ctx, uint8_t func, uint16_t vid, int on)
{
    (void)ctx, (void)func, (void)vid, (void)on;
}
static void nop_u64(void *ctx, uint8_t func, uint64_t v)
{
    (void)ctx, (void)func, (void)v;
}
static void nop_coal(void *ctx, uint8_t func, uint16_t vq, uint32_t p, uint32_t u)
{
    (void)ctx, (void)func, (void)vq, (void)p, (void)u;
}

static const vio_dev_ops stub_ops = {
    .features = no_features,
    .num_queues = one_u16,
    .queue_enabled = not_enabled,
    .max_pairs = one_u16,
    .set_mac = nop_mac,
    .update_status = nop_status,
    .set_max_pairs = nop_u16,
    .set_curr_pairs = nop_u16,
    .set_rx_mode = nop_u8,
    .set_mac_table = nop_table,
    .set_vlan = nop_vlan,
    .set_guest_offloads = nop_u64,
    .set_coalescing = nop_coal,
};

static vio_fw fw;

void _start(void)
{
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static const uint8_t cmd[4] = {VIO_NET_CTRL_NOTF_COAL, VIO_NET_CTRL_NOTF_COAL_VQ_GET, 0, 0};
    uint8_t rsp[9];
    int needs_reset;

    vio_fw_init(&fw, &stub_ops, (void *)0, 1);
    vio_fw_provision(&fw, 0, mac, 1, 1);
    vio_fw_features_ok(&fw, 0);
    vio_fw_queue_reenabled(&fw, 0, 0);
    (void)vio_fw_ctrl(&fw, 0, cmd, sizeof cmd, rsp, sizeof rsp, &needs_reset);
    for (;;)
        (void)hal_irq_wait(1000u);
}
