/*
 * vio_dev_ops over the management port (hdl/vio_mgmt.sv, docs/mgmt_regs.md):
 * every device read and effect of the firmware core becomes HAL register
 * accesses, at offsets taken from the generated vio_mgmt_regs.h.
 *
 * The indexed RW registers (FUNC_* / COAL_* / FILTER_* at 0x80..0xFF) are
 * written by the firmware only, so each has a shadow: a write of the value
 * the register already holds is skipped (FUNC_SEL in particular).  The
 * APPLY / CMD registers (single pulse) and everything else are always
 * written.  vio_fw_mmio_reset forgets the shadows (boot).
 */
#include <stddef.h>

#include "fw_internal.h"
#include "vio_hal.h"
#include "vio_mgmt_regs.h"

#define REG(name) ((uint32_t)offsetof(vio_mgmt_t, name))
#define SHADOW_BASE REG(FUNC_SEL)
#define SHADOW_END REG(CMD_DATA)

/* Registers with a side effect on write (single pulse): never shadowed. */
static int is_pulse(uint32_t off)
{
    return off == REG(FUNC_APPLY) || off == REG(COAL_APPLY) || off == REG(FILTER_CMD);
}

uint32_t vio_fw_mmio_rd(vio_fw_mmio *m, uint32_t off)
{
    if (m->stats)
        m->stats->mmio_reads++;
    return hal_mmio_read32(off);
}

void vio_fw_mmio_wr(vio_fw_mmio *m, uint32_t off, uint32_t v)
{
    if (off >= SHADOW_BASE && off < SHADOW_END && !is_pulse(off)) {
        uint32_t i = (off - SHADOW_BASE) / 4u;
        if ((m->reg_known >> i & 1u) && m->reg[i] == v)
            return;
        m->reg[i] = v;
        m->reg_known |= 1u << i;
    }
    if (m->stats)
        m->stats->mmio_writes++;
    hal_mmio_write32(off, v);
}

static void select_func(vio_fw_mmio *m, uint8_t func)
{
    vio_fw_mmio_wr(m, REG(FUNC_SEL), (uint32_t)func << VIO_MGMT__FUNC_SEL__FUNC_bp);
}

uint32_t vio_fw_mmio_func_rd(vio_fw_mmio *m, uint8_t func, uint32_t off)
{
    select_func(m, func);
    return vio_fw_mmio_rd(m, off);
}

void vio_fw_mmio_reset(vio_fw_mmio *m, vio_fw_loop_stats *stats)
{
    m->reg_known = 0;
    for (uint32_t i = 0; i < sizeof m->reg / sizeof m->reg[0]; i++)
        m->reg[i] = 0;
    m->caching = 0;
    m->stats = stats;
    for (uint32_t f = 0; f < VIO_FW_MAX_FUNCS; f++) {
        vio_fw_mmio_func *s = &m->func[f];
        for (uint32_t b = 0; b < 6u; b++)
            s->mac[b] = 0;
        s->rx_mode = 0;
        s->cached = 0;
        s->status = 0;
        s->max_pairs = 0;
        s->curr_pairs = 1;
        s->state = s->qen = 0;
        s->feat = 0;
        s->guest_offloads = 0;
        for (uint32_t w = 0; w < VIO_VLAN_IDS / 32u; w++)
            s->vlans[w] = 0;
    }
}

void vio_fw_mmio_caching(vio_fw_mmio *m, int on)
{
    m->caching = (uint8_t)(on != 0);
    for (uint32_t f = 0; f < VIO_FW_MAX_FUNCS; f++)
        m->func[f].cached = 0;
}

/* ------------------------------------------------------------------ reads */
#define CACHED_FEAT 1u
#define CACHED_STATE 2u
#define CACHED_QEN 4u

static vio_fw_mmio *ctx_of(void *ctx)
{
    return (vio_fw_mmio *)ctx;
}

static uint64_t op_features(void *ctx, uint8_t func, uint8_t word)
{
    vio_fw_mmio *m = ctx_of(ctx);
    if (word != 0u || func >= VIO_FW_MAX_FUNCS)
        return 0; /* the port shows the negotiated bits 63:0 only */
    vio_fw_mmio_func *s = &m->func[func];
    if (m->caching && (s->cached & CACHED_FEAT))
        return s->feat;
    uint64_t lo = vio_fw_mmio_func_rd(m, func, REG(FUNC_FEAT_LO));
    uint64_t hi = vio_fw_mmio_rd(m, REG(FUNC_FEAT_HI));
    s->feat = lo | hi << 32;
    s->cached = (uint8_t)(s->cached | CACHED_FEAT);
    return s->feat;
}

static uint32_t func_state(vio_fw_mmio *m, uint8_t func)
{
    vio_fw_mmio_func *s = &m->func[func];
    if (m->caching && (s->cached & CACHED_STATE))
        return s->state;
    s->state = vio_fw_mmio_func_rd(m, func, REG(FUNC_STATE));
    s->cached = (uint8_t)(s->cached | CACHED_STATE);
    return s->state;
}

static uint16_t op_num_queues(void *ctx, uint8_t func)
{
    vio_fw_mmio *m = ctx_of(ctx);
    if (func >= VIO_FW_MAX_FUNCS)
        return 0;
    uint32_t st = func_state(m, func);
    return (uint16_t)((st & VIO_MGMT__FUNC_STATE__NUM_QUEUES_bm) >> VIO_MGMT__FUNC_STATE__NUM_QUEUES_bp);
}

static int op_queue_enabled(void *ctx, uint8_t func, uint16_t vq)
{
    vio_fw_mmio *m = ctx_of(ctx);
    if (func >= VIO_FW_MAX_FUNCS || vq >= VIO_MGMT__FUNC_QUEUE_EN__ENABLED_bw)
        return 0;
    vio_fw_mmio_func *s = &m->func[func];
    if (!(m->caching && (s->cached & CACHED_QEN))) {
        s->qen = vio_fw_mmio_func_rd(m, func, REG(FUNC_QUEUE_EN));
        s->cached = (uint8_t)(s->cached | CACHED_QEN);
    }
    return (int)((s->qen >> vq) & 1u);
}

static uint16_t op_max_pairs(void *ctx, uint8_t func)
{
    vio_fw_mmio *m = ctx_of(ctx);
    return func < VIO_FW_MAX_FUNCS ? m->func[func].max_pairs : 0u;
}

/* ------------------------------------------------------------------ function registers */
static uint32_t mac_lo(const uint8_t *mac)
{
    return (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 | (uint32_t)mac[3] << 24;
}

static uint32_t mac_hi(const uint8_t *mac)
{
    return (uint32_t)mac[4] | (uint32_t)mac[5] << 8;
}

/* Every FUNC_* RW value of func, then FUNC_APPLY: the block loads them together. */
static void func_apply(vio_fw_mmio *m, uint8_t func)
{
    const vio_fw_mmio_func *s = &m->func[func];
    select_func(m, func);
    vio_fw_mmio_wr(m, REG(FUNC_MAC_LO), mac_lo(s->mac) << VIO_MGMT__FUNC_MAC_LO__MAC_bp);
    vio_fw_mmio_wr(m, REG(FUNC_MAC_HI), mac_hi(s->mac) << VIO_MGMT__FUNC_MAC_HI__MAC_bp);
    vio_fw_mmio_wr(m, REG(FUNC_NET_STATUS),
                   ((s->status & VIO_NET_S_LINK_UP) ? VIO_MGMT__FUNC_NET_STATUS__LINK_UP_bm : 0u) |
                       ((s->status & VIO_NET_S_ANNOUNCE) ? VIO_MGMT__FUNC_NET_STATUS__ANNOUNCE_bm : 0u));
    vio_fw_mmio_wr(m, REG(FUNC_PAIRS),
                   ((uint32_t)s->max_pairs << VIO_MGMT__FUNC_PAIRS__MAX_bp & VIO_MGMT__FUNC_PAIRS__MAX_bm) |
                       ((uint32_t)s->curr_pairs << VIO_MGMT__FUNC_PAIRS__CURR_bp & VIO_MGMT__FUNC_PAIRS__CURR_bm));
    vio_fw_mmio_wr(m, REG(FUNC_RX_MODE), s->rx_mode);
    vio_fw_mmio_wr(m, REG(FUNC_APPLY), VIO_MGMT__FUNC_APPLY__APPLY_bm);
}

/* VIO_RX_* bits -> FUNC_RX_MODE fields (the receive-mode part; overflow bits kept). */
static uint8_t rx_mode_reg(uint8_t keep, uint8_t mode)
{
    static const struct {
        uint8_t vio;
        uint8_t reg;
    } map[] = {
        {VIO_RX_PROMISC, VIO_MGMT__FUNC_RX_MODE__PROMISC_bm},
        {VIO_RX_ALLMULTI, VIO_MGMT__FUNC_RX_MODE__ALLMULTI_bm},
        {VIO_RX_ALLUNI, VIO_MGMT__FUNC_RX_MODE__ALLUNI_bm},
        {VIO_RX_NOMULTI, VIO_MGMT__FUNC_RX_MODE__NOMULTI_bm},
        {VIO_RX_NOUNI, VIO_MGMT__FUNC_RX_MODE__NOUNI_bm},
        {VIO_RX_NOBCAST, VIO_MGMT__FUNC_RX_MODE__NOBCAST_bm},
    };
    uint8_t v = (uint8_t)(keep & (VIO_MGMT__FUNC_RX_MODE__UNI_OVERFLOW_bm |
                                  VIO_MGMT__FUNC_RX_MODE__MULTI_OVERFLOW_bm));
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (mode & map[i].vio)
            v = (uint8_t)(v | map[i].reg);
    return v;
}

static void op_set_mac(void *ctx, uint8_t func, const uint8_t mac[6])
{
    vio_fw_mmio *m = ctx_of(ctx);
    if (func >= VIO_FW_MAX_FUNCS)
        return;
    for (uint32_t b = 0; b < 6u; b++)
        m->func[func].mac[b] = mac[b];
    func_apply(m, func);
}

static void op_update_status(void *ctx, uint8_t func, uint16_t clear, uint16_t set)
{
    vio_fw_mmio *m = ctx_of(ctx);
    if (func >= VIO_FW_MAX_FUNCS)
        return;
    vio_fw_mmio_func *s = &m->func[func];
    s->status = (uint16_t)((s->status & ~clear) | set);
    func_apply(m, func);
}

static void op_set_max_pairs(void *ctx, uint8_t func, uint16_t max_pairs)
{
    vio_fw_mmio *m = ctx_of(ctx);
    if (func >= VIO_FW_MAX_FUNCS)
        return;
    /* FUNC_PAIRS.MAX is informational (the RTL's max is a build parameter);
     * it goes out with the next apply. */
    m->func[func].max_pairs = max_pairs;
}

static void op_set_curr_pairs(void *ctx, uint8_t func, uint16_t pairs)
{
    vio_fw_mmio *m = ctx_of(ctx);
    if (func >= VIO_FW_MAX_FUNCS)
        return;
    m->func[func].curr_pairs = pairs;
    func_apply(m, func);
}

static void op_set_rx_mode(void *ctx, uint8_t func, uint8_t mode)
{
    vio_fw_mmio *m = ctx_of(ctx);
    if (func >= VIO_FW_MAX_FUNCS)
        return;
    vio_fw_mmio_func *s = &m->func[func];
    s->rx_mode = rx_mode_reg(s->rx_mode, mode);
    func_apply(m, func);
}

/* ------------------------------------------------------------------ filters */
static void filter_sel(vio_fw_mmio *m, uint8_t func, uint32_t index)
{
    vio_fw_mmio_wr(m, REG(FILTER_SEL),
                   (uint32_t)func << VIO_MGMT__FILTER_SEL__FUNC_bp |
                       (index << VIO_MGMT__FILTER_SEL__INDEX_bp & VIO_MGMT__FILTER_SEL__INDEX_bm));
}

static void vlan_word_write(vio_fw_mmio *m, uint8_t func, uint32_t w)
{
    filter_sel(m, func, w);
    vio_fw_mmio_wr(m, REG(FILTER_VLAN), m->func[func].vlans[w]);
    vio_fw_mmio_wr(m, REG(FILTER_CMD), VIO_MGMT__FILTER_CMD__WRITE_VLAN_bm);
}

static void mac_entry_write(vio_fw_mmio *m, uint8_t func, uint32_t index, const uint8_t *mac, int multicast)
{
    filter_sel(m, func, index);
    vio_fw_mmio_wr(m, REG(FILTER_MAC_LO), mac_lo(mac) << VIO_MGMT__FILTER_MAC_LO__MAC_bp);
    vio_fw_mmio_wr(m, REG(FILTER_MAC_HI),
                   mac_hi(mac) << VIO_MGMT__FILTER_MAC_HI__MAC_bp | VIO_MGMT__FILTER_MAC_HI__VALID_bm |
                       (multicast ? VIO_MGMT__FILTER_MAC_HI__MULTICAST_bm : 0u));
    vio_fw_mmio_wr(m, REG(FILTER_CMD), VIO_MGMT__FILTER_CMD__WRITE_MAC_bm);
}

static void op_set_mac_table(void *ctx, uint8_t func, const uint8_t *uni, uint32_t n_uni,
                             const uint8_t *multi, uint32_t n_multi, uint8_t overflow)
{
    vio_fw_mmio *m = ctx_of(ctx);
    if (func >= VIO_FW_MAX_FUNCS)
        return;
    vio_fw_mmio_func *s = &m->func[func];
    filter_sel(m, func, 0);
    vio_fw_mmio_wr(m, REG(FILTER_CMD), VIO_MGMT__FILTER_CMD__CLEAR_bm);
    uint32_t index = 0;
    for (uint32_t i = 0; i < n_uni && index < VIO_MAC_TABLE_ENTRIES; i++, index++)
        mac_entry_write(m, func, index, uni + 6u * i, 0);
    for (uint32_t i = 0; i < n_multi && index < VIO_MAC_TABLE_ENTRIES; i++, index++)
        mac_entry_write(m, func, index, multi + 6u * i, 1);
    /* CLEAR zeroed the VLAN table too: put back what the firmware set */
    for (uint32_t w = 0; w < VIO_VLAN_IDS / 32u; w++)
        if (s->vlans[w] != 0u)
            vlan_word_write(m, func, w);
    uint8_t ov = 0;
    if (overflow & VIO_MAC_OVERFLOW_UNI)
        ov = (uint8_t)(ov | VIO_MGMT__FUNC_RX_MODE__UNI_OVERFLOW_bm);
    if (overflow & VIO_MAC_OVERFLOW_MULTI)
        ov = (uint8_t)(ov | VIO_MGMT__FUNC_RX_MODE__MULTI_OVERFLOW_bm);
    uint8_t mode = (uint8_t)((s->rx_mode & ~(VIO_MGMT__FUNC_RX_MODE__UNI_OVERFLOW_bm |
                                             VIO_MGMT__FUNC_RX_MODE__MULTI_OVERFLOW_bm)) | ov);
    if (mode != s->rx_mode) {
        s->rx_mode = mode;
        func_apply(m, func);
    }
}

static void op_set_vlan(void *ctx, uint8_t func, uint16_t vid, int on)
{
    vio_fw_mmio *m = ctx_of(ctx);
    if (func >= VIO_FW_MAX_FUNCS || vid >= VIO_VLAN_IDS)
        return;
    vio_fw_mmio_func *s = &m->func[func];
    uint32_t w = (uint32_t)vid / 32u, bit = 1u << (vid % 32u);
    s->vlans[w] = on ? (s->vlans[w] | bit) : (s->vlans[w] & ~bit);
    vlan_word_write(m, func, w);
}

/* ------------------------------------------------------------------ offloads, coalescing */
static void op_set_guest_offloads(void *ctx, uint8_t func, uint64_t bitmap)
{
    vio_fw_mmio *m = ctx_of(ctx);
    if (func < VIO_FW_MAX_FUNCS)
        m->func[func].guest_offloads = bitmap; /* no device register */
}

static void op_set_coalescing(void *ctx, uint8_t func, uint16_t vq, uint32_t max_packets,
                              uint32_t max_usecs)
{
    vio_fw_mmio *m = ctx_of(ctx);
    vio_fw_mmio_wr(m, REG(COAL_SEL),
                   (uint32_t)func << VIO_MGMT__COAL_SEL__FUNC_bp | (uint32_t)vq << VIO_MGMT__COAL_SEL__VQ_bp);
    vio_fw_mmio_wr(m, REG(COAL_MAX_PKTS), max_packets);
    vio_fw_mmio_wr(m, REG(COAL_MAX_USECS), max_usecs);
    vio_fw_mmio_wr(m, REG(COAL_APPLY), VIO_MGMT__COAL_APPLY__APPLY_bm);
}

const vio_dev_ops vio_fw_mmio_ops = {
    .features = op_features,
    .num_queues = op_num_queues,
    .queue_enabled = op_queue_enabled,
    .max_pairs = op_max_pairs,
    .set_mac = op_set_mac,
    .update_status = op_update_status,
    .set_max_pairs = op_set_max_pairs,
    .set_curr_pairs = op_set_curr_pairs,
    .set_rx_mode = op_set_rx_mode,
    .set_mac_table = op_set_mac_table,
    .set_vlan = op_set_vlan,
    .set_guest_offloads = op_set_guest_offloads,
    .set_coalescing = op_set_coalescing,
};
