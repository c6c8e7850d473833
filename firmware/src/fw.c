/*
 * Firmware lifecycle: init, provisioning (bring-up), link, FEATURES_OK and
 * function reset (pymodel NetCtrl.__post_init__/reset/set_features).
 */
#include "fw_internal.h"

uint32_t vio_fw_sizeof(void)
{
    return (uint32_t)sizeof(vio_fw);
}

/* Firmware-side reset values only; no device effect. */
static void state_reset(vio_fw_func *f)
{
    f->rx_mode = VIO_RX_MODE_RESET;
    f->curr_pairs = 1;
    f->guest_offloads = 0;
    f->tx_coal.max_packets = f->tx_coal.max_usecs = 0;
    f->rx_coal.max_packets = f->rx_coal.max_usecs = 0;
    for (uint32_t i = 0; i < sizeof f->vq_coal_set / sizeof f->vq_coal_set[0]; i++)
        f->vq_coal_set[i] = 0;
    for (uint32_t i = 0; i < sizeof f->vlans / sizeof f->vlans[0]; i++)
        f->vlans[i] = 0;
}

void vio_fw_init(vio_fw *fw, const vio_dev_ops *ops, void *ctx, uint8_t num_funcs)
{
    fw->ops = ops;
    fw->ctx = ctx;
    fw->num_funcs = num_funcs > VIO_FW_MAX_FUNCS ? (uint8_t)VIO_FW_MAX_FUNCS : num_funcs;
    for (uint32_t i = 0; i < VIO_FW_MAX_FUNCS; i++) {
        vio_fw_func *f = &fw->func[i];
        f->provisioned = 0;
        for (uint32_t b = 0; b < 6u; b++)
            f->initial_mac[b] = 0;
        f->max_pairs = 0;
        /* no management port: every function is an existing net PF (vio_fw_boot reads the truth) */
        f->exists = 1;
        f->flr = 0;
        f->is_vf = 0;
        f->pf = 0;
        f->is_net = 1;
        f->clamped = 0;
        f->link_up = 0;
        f->flr_count = 0;
        f->provisions = 0;
        state_reset(f);
    }
}

void vio_fw_func_reset(vio_fw *fw, uint8_t func)
{
    if (func >= fw->num_funcs)
        return;
    vio_fw_func *f = &fw->func[func];
    fw->ops->set_mac(fw->ctx, func, f->initial_mac);
    vio_rx_filter_reset(fw, func); /* clears the VLANs it had set */
    state_reset(f);
    fw->ops->set_curr_pairs(fw->ctx, func, f->curr_pairs);
    fw->ops->set_guest_offloads(fw->ctx, func, f->guest_offloads);
    vio_coal_reset(fw, func);
}

int vio_fw_provision(vio_fw *fw, uint8_t func, const uint8_t mac[6], uint16_t max_pairs, int link_up)
{
    if (func >= fw->num_funcs || max_pairs < 1u || max_pairs > VIO_FW_MAX_PAIRS)
        return -1;
    vio_fw_func *f = &fw->func[func];
    for (uint32_t b = 0; b < 6u; b++)
        f->initial_mac[b] = mac[b];
    f->max_pairs = max_pairs;
    f->link_up = (uint8_t)(link_up != 0);
    fw->ops->set_max_pairs(fw->ctx, func, max_pairs);
    /* the status is exactly the provisioned one: an ANNOUNCE left from before goes */
    fw->ops->update_status(fw->ctx, func, VIO_NET_S_LINK_UP | VIO_NET_S_ANNOUNCE,
                           link_up ? VIO_NET_S_LINK_UP : 0u);
    vio_fw_func_reset(fw, func);
    f->provisioned = 1;
    f->provisions++;
    return 0;
}

int vio_fw_func_info(const vio_fw *fw, uint8_t func, vio_fw_info *out)
{
    if (func >= fw->num_funcs)
        return -1;
    const vio_fw_func *f = &fw->func[func];
    out->exists = f->exists;
    out->flr = f->flr;
    out->is_vf = f->is_vf;
    out->pf = f->pf;
    out->is_net = f->is_net;
    out->provisioned = f->provisioned;
    out->clamped = f->clamped;
    out->link_up = f->link_up;
    for (uint32_t b = 0; b < 6u; b++)
        out->mac[b] = f->initial_mac[b];
    out->max_pairs = f->max_pairs;
    out->flr_count = f->flr_count;
    out->provisions = f->provisions;
    return 0;
}

void vio_fw_set_link(vio_fw *fw, uint8_t func, int link_up)
{
    if (func >= fw->num_funcs)
        return;
    fw->func[func].link_up = (uint8_t)(link_up != 0);
    if (!fw->func[func].provisioned)
        return; /* remembered for the next provisioning */
    fw->ops->update_status(fw->ctx, func, VIO_NET_S_LINK_UP, link_up ? VIO_NET_S_LINK_UP : 0u);
}

int vio_fw_announce(vio_fw *fw, uint8_t func)
{
    if (func >= fw->num_funcs || !fw->func[func].provisioned || !vio_has(fw, func, VIO_NET_F_GUEST_ANNOUNCE))
        return -1;
    fw->ops->update_status(fw->ctx, func, 0u, VIO_NET_S_ANNOUNCE);
    return 0;
}

void vio_fw_features_ok(vio_fw *fw, uint8_t func)
{
    if (func >= fw->num_funcs)
        return;
    vio_fw_func *f = &fw->func[func];
    f->guest_offloads = vio_offloads_allowed(fw, func);
    fw->ops->set_guest_offloads(fw->ctx, func, f->guest_offloads);
}
