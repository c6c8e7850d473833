/*
 * Notification coalescing: NOTF_COAL class (virtio.md §6.5, §6.6) and the
 * per-function parameters behind VQ_GET (pymodel NetCtrl._coal / coalescing).
 */
#include "fw_internal.h"

static const vio_coal coal_zero = {0u, 0u};

static int override_get(const vio_fw_func *f, uint32_t vq)
{
    return vq < VIO_FW_MAX_DATA_VQS && vio_bit_get(f->vq_coal_set, vq);
}

static void override_drop(vio_fw_func *f, uint32_t vq)
{
    if (vq < VIO_FW_MAX_DATA_VQS)
        vio_bit_put(f->vq_coal_set, vq, 0);
}

static void apply(vio_fw *fw, uint8_t func, uint32_t vq, vio_coal c)
{
    fw->ops->set_coalescing(fw->ctx, func, (uint16_t)vq, c.max_packets, c.max_usecs);
}

vio_coal vio_coal_in_force(const vio_fw *fw, uint8_t func, uint32_t vq)
{
    const vio_fw_func *f = &fw->func[func];
    if (override_get(f, vq))
        return f->vq_coal[vq];
    switch (vio_queue_role(fw, func, vq)) {
    case VIO_ROLE_RX:
        return f->rx_coal;
    case VIO_ROLE_TX:
        return f->tx_coal;
    default:
        return coal_zero;
    }
}

int vio_fw_coalescing(const vio_fw *fw, uint8_t func, uint16_t vq, vio_coal *out)
{
    if (func >= fw->num_funcs)
        return -1;
    *out = vio_coal_in_force(fw, func, vq);
    return 0;
}

/* Data vqs are 0 .. 2*max_pairs-1 (pymodel iterates over exactly these). */
static uint32_t data_vq_count(const vio_fw *fw, uint8_t func)
{
    return 2u * (uint32_t)fw->ops->max_pairs(fw->ctx, func);
}

void vio_coal_reset(vio_fw *fw, uint8_t func)
{
    vio_fw_func *f = &fw->func[func];
    f->tx_coal = coal_zero;
    f->rx_coal = coal_zero;
    for (uint32_t i = 0; i < sizeof f->vq_coal_set / sizeof f->vq_coal_set[0]; i++)
        f->vq_coal_set[i] = 0;
    uint32_t n = data_vq_count(fw, func);
    for (uint32_t vq = 0; vq < n; vq++)
        apply(fw, func, vq, coal_zero);
}

void vio_fw_queue_reenabled(vio_fw *fw, uint8_t func, uint16_t vq)
{
    if (func >= fw->num_funcs)
        return;
    vio_fw_func *f = &fw->func[func];
    override_drop(f, vq);
    /* Re-applied even without an override: a queue reset may have cleared
     * the device's per-vq context. */
    enum vio_role r = vio_queue_role(fw, func, vq);
    if (r == VIO_ROLE_RX || r == VIO_ROLE_TX)
        apply(fw, func, vq, vio_coal_in_force(fw, func, vq));
}

static vio_coal unpack(const uint8_t *p)
{
    vio_coal c;
    c.max_packets = vio_le32(p);
    c.max_usecs = vio_le32(p + 4);
    return c;
}

/* TX_SET / RX_SET: every TX (RX) vq, last command wins (§6.6). */
static uint8_t set_all(vio_fw *fw, uint8_t func, enum vio_role want, vio_coal c)
{
    vio_fw_func *f = &fw->func[func];
    if (want == VIO_ROLE_TX)
        f->tx_coal = c;
    else
        f->rx_coal = c;
    uint32_t n = data_vq_count(fw, func);
    for (uint32_t vq = 0; vq < n; vq++) {
        if (vio_queue_role(fw, func, vq) != want)
            continue;
        override_drop(f, vq);
        apply(fw, func, vq, c);
    }
    return VIO_NET_OK;
}

uint8_t vio_ctrl_notf_coal(vio_fw *fw, uint8_t func, uint8_t command, const uint8_t *data,
                           uint32_t len, uint32_t writable, uint8_t *result, uint32_t *result_len)
{
    vio_fw_func *f = &fw->func[func];
    switch (command) {
    case VIO_NET_CTRL_NOTF_COAL_TX_SET:
    case VIO_NET_CTRL_NOTF_COAL_RX_SET:
        if (!vio_has(fw, func, VIO_NET_F_NOTF_COAL) || len < 8u)
            return VIO_NET_ERR;
        return set_all(fw, func, command == VIO_NET_CTRL_NOTF_COAL_TX_SET ? VIO_ROLE_TX : VIO_ROLE_RX,
                       unpack(data));
    case VIO_NET_CTRL_NOTF_COAL_VQ_SET: {
        /* virtio_net_ctrl_coal_vq: le16 vq_index; le16 reserved (ignored); coal */
        if (!vio_has(fw, func, VIO_NET_F_VQ_NOTF_COAL) || len < 12u)
            return VIO_NET_ERR;
        uint16_t vq = vio_le16(data);
        if (!vio_rxtx_enabled(fw, func, vq))
            return VIO_NET_ERR;
        if (vq >= VIO_FW_MAX_DATA_VQS)
            return VIO_NET_ERR; /* cannot apply (§6.5): only if max_pairs > VIO_FW_MAX_PAIRS */
        vio_coal c = unpack(data + 4);
        f->vq_coal[vq] = c;
        vio_bit_put(f->vq_coal_set, vq, 1);
        apply(fw, func, vq, c);
        return VIO_NET_OK;
    }
    case VIO_NET_CTRL_NOTF_COAL_VQ_GET: {
        /* readable: le16 vq_index (reserved optional, §10 #11); writable: ack + coal */
        if (!vio_has(fw, func, VIO_NET_F_VQ_NOTF_COAL) || len < 2u)
            return VIO_NET_ERR;
        uint16_t vq = vio_le16(data);
        if (!vio_rxtx_enabled(fw, func, vq) || writable < 9u)
            return VIO_NET_ERR;
        vio_coal c = vio_coal_in_force(fw, func, vq);
        vio_put_le32(result, c.max_packets);
        vio_put_le32(result + 4, c.max_usecs);
        *result_len = 8u;
        return VIO_NET_OK;
    }
    default:
        return VIO_NET_ERR;
    }
}
