/*
 * Receive filter: RX, MAC and VLAN classes (virtio.md §6.4; pymodel
 * NetCtrl._rx_mode/_mac/_vlan, RxFilter reset values).
 */
#include "fw_internal.h"

uint8_t vio_ctrl_rx_mode(vio_fw *fw, uint8_t func, uint8_t command, const uint8_t *data, uint32_t len)
{
    if (command > VIO_NET_CTRL_RX_NOBCAST || len < 1u)
        return VIO_NET_ERR;
    /* PROMISC, ALLMULTI need CTRL_RX; ALLUNI .. NOBCAST need CTRL_RX_EXTRA */
    if (!vio_has(fw, func, command < 2u ? VIO_NET_F_CTRL_RX : VIO_NET_F_CTRL_RX_EXTRA))
        return VIO_NET_ERR;
    vio_fw_func *f = &fw->func[func];
    uint8_t bit = (uint8_t)(1u << command);
    if (data[0] != 0u)
        f->rx_mode = (uint8_t)(f->rx_mode | bit);
    else
        f->rx_mode = (uint8_t)(f->rx_mode & ~bit);
    fw->ops->set_rx_mode(fw->ctx, func, f->rx_mode);
    return VIO_NET_OK;
}

/* TABLE_SET: le32 n + n MACs (unicast), then the same for multicast, exactly;
 * more than VIO_MAC_TABLE_ENTRIES in all overflows (accept all of that kind). */
static uint8_t mac_table_set(vio_fw *fw, uint8_t func, const uint8_t *data, uint32_t len)
{
    const uint8_t *list[2];
    uint32_t n[2];
    uint64_t pos = 0;
    for (int i = 0; i < 2; i++) {
        if ((uint64_t)len < pos + 4u)
            return VIO_NET_ERR;
        n[i] = vio_le32(data + pos);
        pos += 4u;
        uint64_t end = pos + 6u * (uint64_t)n[i];
        if (end > (uint64_t)len || (i == 1 && end != (uint64_t)len))
            return VIO_NET_ERR;
        list[i] = data + pos;
        pos = end;
    }
    uint8_t overflow = 0;
    if (n[0] > VIO_MAC_TABLE_ENTRIES) {
        overflow |= VIO_MAC_OVERFLOW_UNI;
        n[0] = 0;
    }
    if (n[1] > VIO_MAC_TABLE_ENTRIES - n[0]) {
        overflow |= VIO_MAC_OVERFLOW_MULTI;
        n[1] = 0;
    }
    fw->ops->set_mac_table(fw->ctx, func, list[0], n[0], list[1], n[1], overflow);
    return VIO_NET_OK;
}

uint8_t vio_ctrl_mac(vio_fw *fw, uint8_t func, uint8_t command, const uint8_t *data, uint32_t len)
{
    if (command == VIO_NET_CTRL_MAC_ADDR_SET) {
        if (!vio_has(fw, func, VIO_NET_F_CTRL_MAC_ADDR) || len != 6u)
            return VIO_NET_ERR;
        fw->ops->set_mac(fw->ctx, func, data);
        return VIO_NET_OK;
    }
    if (command != VIO_NET_CTRL_MAC_TABLE_SET || !vio_has(fw, func, VIO_NET_F_CTRL_RX))
        return VIO_NET_ERR;
    return mac_table_set(fw, func, data, len);
}

uint8_t vio_ctrl_vlan(vio_fw *fw, uint8_t func, uint8_t command, const uint8_t *data, uint32_t len)
{
    if (command > VIO_NET_CTRL_VLAN_DEL || !vio_has(fw, func, VIO_NET_F_CTRL_VLAN) || len < 2u)
        return VIO_NET_ERR;
    uint16_t vid = vio_le16(data);
    if (vid >= VIO_VLAN_IDS)
        return VIO_NET_ERR;
    int on = command == VIO_NET_CTRL_VLAN_ADD;
    vio_bit_put(fw->func[func].vlans, vid, on);
    fw->ops->set_vlan(fw->ctx, func, vid, on);
    return VIO_NET_OK;
}

void vio_rx_filter_reset(vio_fw *fw, uint8_t func)
{
    vio_fw_func *f = &fw->func[func];
    f->rx_mode = VIO_RX_MODE_RESET;
    fw->ops->set_rx_mode(fw->ctx, func, f->rx_mode);
    fw->ops->set_mac_table(fw->ctx, func, (const uint8_t *)0, 0u, (const uint8_t *)0, 0u, 0u);
    for (uint32_t w = 0; w < VIO_VLAN_IDS / 32u; w++) {
        for (uint32_t b = 0; f->vlans[w] != 0u && b < 32u; b++) {
            if (!(f->vlans[w] & (1u << b)))
                continue;
            f->vlans[w] &= ~(1u << b);
            fw->ops->set_vlan(fw->ctx, func, (uint16_t)(w * 32u + b), 0);
        }
    }
}
