/* Negotiated features and virtqueue roles (virtio.md §2.3, §6.1). */
#include "fw_internal.h"

int vio_has(const vio_fw *fw, uint8_t func, uint32_t bit)
{
    if (bit >= 128u)
        return 0;
    uint64_t word = fw->ops->features(fw->ctx, func, (uint8_t)(bit >> 6));
    return (int)((word >> (bit & 63u)) & 1u);
}

/* GUEST_OFFLOADS bitmap bit -> feature it needs (§6.4, §10 #10). */
static const uint8_t offload_map[][2] = {
    {VIO_NET_F_GUEST_CSUM, VIO_NET_F_GUEST_CSUM},
    {VIO_NET_F_GUEST_TSO4, VIO_NET_F_GUEST_TSO4},
    {VIO_NET_F_GUEST_TSO6, VIO_NET_F_GUEST_TSO6},
    {VIO_NET_F_GUEST_ECN, VIO_NET_F_GUEST_ECN},
    {VIO_NET_F_GUEST_UFO, VIO_NET_F_GUEST_UFO},
    {VIO_NET_F_GUEST_USO4, VIO_NET_F_GUEST_USO4},
    {VIO_NET_F_GUEST_USO6, VIO_NET_F_GUEST_USO6},
    {VIO_NET_OFFLOAD_UDP_TUNNEL_GSO, VIO_NET_F_GUEST_UDP_TUNNEL_GSO},
    {VIO_NET_OFFLOAD_UDP_TUNNEL_GSO_CSUM, VIO_NET_F_GUEST_UDP_TUNNEL_GSO_CSUM},
};

uint64_t vio_offloads_allowed(const vio_fw *fw, uint8_t func)
{
    uint64_t allowed = 0;
    for (size_t i = 0; i < sizeof offload_map / sizeof offload_map[0]; i++)
        if (vio_has(fw, func, offload_map[i][1]))
            allowed |= (uint64_t)1 << offload_map[i][0];
    return allowed;
}

enum vio_role vio_queue_role(const vio_fw *fw, uint8_t func, uint32_t vq)
{
    uint32_t n = 1;
    if (vio_has(fw, func, VIO_NET_F_MQ) || vio_has(fw, func, VIO_NET_F_RSS))
        n = fw->ops->max_pairs(fw->ctx, func);
    if (vq < 2u * n)
        return (vq & 1u) ? VIO_ROLE_TX : VIO_ROLE_RX;
    if (vq == 2u * n && vio_has(fw, func, VIO_NET_F_CTRL_VQ))
        return VIO_ROLE_CTRL;
    return VIO_ROLE_NONE;
}

int vio_rxtx_enabled(const vio_fw *fw, uint8_t func, uint32_t vq)
{
    enum vio_role r = vio_queue_role(fw, func, vq);
    if (r != VIO_ROLE_RX && r != VIO_ROLE_TX)
        return 0;
    /* pymodel Function._vq_enabled: 0 <= vq < num_queues and queue_enable */
    if (vq >= fw->ops->num_queues(fw->ctx, func))
        return 0;
    return fw->ops->queue_enabled(fw->ctx, func, (uint16_t)vq) != 0;
}
