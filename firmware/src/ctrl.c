/*
 * Control-queue command execution (virtio.md §6.4-§6.6): framing, dispatch
 * by class, and the small classes (ANNOUNCE, MQ, GUEST_OFFLOADS).  Every
 * outcome is pymodel/net_ctrl.py NetCtrl.process/handle's.
 */
#include "fw_internal.h"

static uint8_t ctrl_announce(vio_fw *fw, uint8_t func, uint8_t command)
{
    if (command != VIO_NET_CTRL_ANNOUNCE_ACK || !vio_has(fw, func, VIO_NET_F_GUEST_ANNOUNCE))
        return VIO_NET_ERR;
    fw->ops->update_status(fw->ctx, func, VIO_NET_S_ANNOUNCE, 0u);
    return VIO_NET_OK;
}

static uint8_t ctrl_mq(vio_fw *fw, uint8_t func, uint8_t command, const uint8_t *data, uint32_t len)
{
    /* RSS_CONFIG / HASH_CONFIG: RSS and HASH_REPORT are never offered -> ERR */
    if (command != VIO_NET_CTRL_MQ_VQ_PAIRS_SET || !vio_has(fw, func, VIO_NET_F_MQ) || len < 2u)
        return VIO_NET_ERR;
    uint16_t pairs = vio_le16(data);
    if (pairs < 1u || pairs > fw->ops->max_pairs(fw->ctx, func))
        return VIO_NET_ERR;
    fw->func[func].curr_pairs = pairs;
    fw->ops->set_curr_pairs(fw->ctx, func, pairs);
    return VIO_NET_OK;
}

static uint8_t ctrl_offloads(vio_fw *fw, uint8_t func, uint8_t command, const uint8_t *data,
                             uint32_t len)
{
    if (command != VIO_NET_CTRL_GUEST_OFFLOADS_SET || !vio_has(fw, func, VIO_NET_F_CTRL_GUEST_OFFLOADS) ||
        len < 8u)
        return VIO_NET_ERR;
    uint64_t bitmap = vio_le64(data);
    if (bitmap & ~vio_offloads_allowed(fw, func))
        return VIO_NET_ERR;
    fw->func[func].guest_offloads = bitmap;
    fw->ops->set_guest_offloads(fw->ctx, func, bitmap);
    return VIO_NET_OK;
}

uint32_t vio_fw_ctrl(vio_fw *fw, uint8_t func, const uint8_t *cmd, uint32_t cmd_len, uint8_t *rsp,
                     uint32_t rsp_room, int *needs_reset)
{
    /* QEMU "virtio-net ctrl missing headers": DEVICE_NEEDS_RESET */
    if (cmd_len < 2u || rsp_room < 1u) {
        if (needs_reset)
            *needs_reset = 1;
        return 0;
    }
    if (needs_reset)
        *needs_reset = 0;
    if (func >= fw->num_funcs) {
        rsp[0] = VIO_NET_ERR;
        return 1;
    }

    uint8_t klass = cmd[0], command = cmd[1];
    const uint8_t *data = cmd + 2;
    uint32_t len = cmd_len - 2u;
    uint8_t result[8];
    uint32_t result_len = 0;
    uint8_t ack;

    switch (klass) {
    case VIO_NET_CTRL_RX:
        ack = vio_ctrl_rx_mode(fw, func, command, data, len);
        break;
    case VIO_NET_CTRL_MAC:
        ack = vio_ctrl_mac(fw, func, command, data, len);
        break;
    case VIO_NET_CTRL_VLAN:
        ack = vio_ctrl_vlan(fw, func, command, data, len);
        break;
    case VIO_NET_CTRL_ANNOUNCE:
        ack = ctrl_announce(fw, func, command);
        break;
    case VIO_NET_CTRL_MQ:
        ack = ctrl_mq(fw, func, command, data, len);
        break;
    case VIO_NET_CTRL_GUEST_OFFLOADS:
        ack = ctrl_offloads(fw, func, command, data, len);
        break;
    case VIO_NET_CTRL_NOTF_COAL:
        ack = vio_ctrl_notf_coal(fw, func, command, data, len, rsp_room, result, &result_len);
        break;
    default: /* HASH_TUNNEL, STATS, RSS_CTX, unknown */
        ack = VIO_NET_ERR;
        break;
    }

    rsp[0] = ack;
    if (ack != VIO_NET_OK)
        result_len = 0;
    for (uint32_t i = 0; i < result_len; i++) /* result_len <= rsp_room - 1 (VQ_GET checks) */
        rsp[1u + i] = result[i];
    return 1u + result_len;
}
