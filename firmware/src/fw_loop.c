/*
 * The firmware's main loop on a DPU core: boot (provision every net
 * function over the management port) and the service loop (control-queue
 * mailbox, function events, timeouts).  See vio_fw.h (vio_fw_boot,
 * vio_fw_poll) for the behaviour; the mailbox protocol is the RTL's
 * (hdl/vio_net_ctrlq.sv header, docs/mgmt_regs.md CTRLQ_*).
 *
 * One loop per image: its state is static (a DPU core runs one).
 */
#include <stddef.h>

#include "fw_internal.h"
#include "vio_hal.h"
#include "vio_mgmt_regs.h"

#define REG(name) ((uint32_t)offsetof(vio_mgmt_t, name))
#define MB_WORDS ((uint32_t)(sizeof(((vio_mgmt_t *)0)->CMD_DATA) / sizeof(uint32_t)))
#define MB_BYTES (4u * MB_WORDS)
#define IRQ_CAUSES \
    (VIO_MGMT__IRQ_STATUS__CTRLQ_bm | VIO_MGMT__IRQ_STATUS__FUNC_EVENT_bm | VIO_MGMT__IRQ_STATUS__CTRLQ_TIMEOUT_bm)
#define STATUS_FEATURES_OK 0x08u

_Static_assert(sizeof(((vio_mgmt_t *)0)->RSP_DATA) == sizeof(((vio_mgmt_t *)0)->CMD_DATA),
               "mailbox directions differ in size");

static struct {
    vio_fw_mmio mmio;
    vio_fw_loop_stats stats;
    vio_fw_board board;                    /* copy of the boot board (re-provisioning) */
    uint8_t net_ok[VIO_FW_MAX_FUNCS];      /* a net row with a usable max_pairs */
    uint8_t last_status[VIO_FW_MAX_FUNCS]; /* device_status at the last scan (served functions) */
    uint32_t last_qen[VIO_FW_MAX_FUNCS];   /* FUNC_QUEUE_EN at the last scan (served functions) */
    uint8_t cmd[MB_BYTES];
    uint8_t rsp[MB_BYTES];
} L;

static uint32_t rd(uint32_t off)
{
    return vio_fw_mmio_rd(&L.mmio, off);
}

static void wr(uint32_t off, uint32_t v)
{
    vio_fw_mmio_wr(&L.mmio, off, v);
}

static uint32_t field(uint32_t v, uint32_t bm, uint32_t bp)
{
    return (v & bm) >> bp;
}

void vio_fw_loop_stats_get(vio_fw_loop_stats *out)
{
    *out = L.stats;
}

/* Provision net function f from the board copy; nq = its NUM_QUEUES.  max_pairs
 * is clamped to what the function's queues hold ((nq - 1) / 2: one RX + one TX
 * per pair + the control queue); no pair at all refuses (not served).
 * Returns 0 or -1. */
static int provision(vio_fw *fw, uint8_t f, uint32_t nq)
{
    const vio_fw_board_func *b = &L.board.func[f];
    vio_fw_func *fs = &fw->func[f];
    uint32_t cap = nq >= 1u ? (nq - 1u) / 2u : 0u;
    fs->provisioned = 0;
    if (cap == 0u) {
        L.stats.provision_errors++;
        return -1;
    }
    uint16_t pairs = b->max_pairs;
    fs->clamped = 0;
    if (pairs > cap) {
        pairs = (uint16_t)cap;
        fs->clamped = 1;
        L.stats.pairs_clamped++;
    }
    /* the shadow starts at the values the first FUNC_APPLY is to carry: no
     * transient MAC / pairs / rx mode from before (or 0 at boot) */
    vio_fw_mmio_func *s = &L.mmio.func[f];
    for (uint32_t i = 0; i < 6u; i++)
        s->mac[i] = b->mac[i];
    s->rx_mode = VIO_MGMT__FUNC_RX_MODE__PROMISC_bm;
    s->curr_pairs = 1;
    /* the link: the board's at boot, then whatever vio_fw_set_link said last */
    if (vio_fw_provision(fw, f, b->mac, pairs, fs->link_up) != 0) {
        L.stats.provision_errors++; /* not reached: rows are checked at boot */
        return -1;
    }
    L.stats.provisions++;
    return 0;
}

/* Scan function f (FUNC_STATE, and FUNC_QUEUE_EN if served) against the last
 * scan; `boot`: the first scan (no previous state, nothing counted but
 * provisions).  Returns 0, or -1 if a net function that became live could
 * not be provisioned. */
static int scan(vio_fw *fw, uint8_t f, int boot)
{
    vio_fw_func *fs = &fw->func[f];
    uint32_t st = vio_fw_mmio_func_rd(&L.mmio, f, REG(FUNC_STATE));
    uint8_t exists = (uint8_t)field(st, VIO_MGMT__FUNC_STATE__EXISTS_bm, VIO_MGMT__FUNC_STATE__EXISTS_bp);
    uint8_t flr = (uint8_t)field(st, VIO_MGMT__FUNC_STATE__FLR_bm, VIO_MGMT__FUNC_STATE__FLR_bp);
    uint8_t status = (uint8_t)field(st, VIO_MGMT__FUNC_STATE__STATUS_bm, VIO_MGMT__FUNC_STATE__STATUS_bp);
    uint32_t nq = field(st, VIO_MGMT__FUNC_STATE__NUM_QUEUES_bm, VIO_MGMT__FUNC_STATE__NUM_QUEUES_bp);
    int was_live = !boot && fs->exists && !fs->flr;
    int live = exists && !flr;
    if (!boot) {
        if (exists && !fs->exists)
            L.stats.vf_appeared++;
        if (!exists && fs->exists)
            L.stats.vf_gone++;
        if (flr && !fs->flr)
            L.stats.flr_seen++;
        if (!flr && fs->flr)
            L.stats.flr_done++;
    }
    if (flr && (boot || !fs->flr))
        fs->flr_count++;
    fs->exists = exists;
    fs->flr = flr;
    fs->is_vf = (uint8_t)field(st, VIO_MGMT__FUNC_STATE__IS_VF_bm, VIO_MGMT__FUNC_STATE__IS_VF_bp);
    fs->pf = (uint8_t)field(st, VIO_MGMT__FUNC_STATE__PF_bm, VIO_MGMT__FUNC_STATE__PF_bp);

    if (!live || !L.net_ok[f]) {
        /* gone or in reset: not served; nothing written (the RTL holds it in
         * reset; it is provisioned again when it becomes live) */
        fs->provisioned = 0;
        L.last_status[f] = 0;
        L.last_qen[f] = 0;
        return 0;
    }
    uint8_t last = L.last_status[f];
    uint32_t last_qen = L.last_qen[f];
    if (!was_live) {
        if (provision(fw, f, nq) != 0)
            return -1;
        last = 0; /* provisioned = reset: what the function shows now is new */
        last_qen = 0;
    } else if (!fs->provisioned) {
        return 0; /* refused when it became live: stays so until it is live again */
    }
    uint32_t qen = vio_fw_mmio_func_rd(&L.mmio, f, REG(FUNC_QUEUE_EN));
    /* status bits are only ever added until a reset: a bit that went away
     * means the function was reset (maybe already re-initialising) */
    if (last & (uint8_t)~status) {
        vio_fw_func_reset(fw, f);
        L.stats.resets++;
        last = 0;
        last_qen = 0;
    }
    L.last_status[f] = status;
    L.last_qen[f] = qen;
    vio_fw_mmio_caching(&L.mmio, 1);
    if ((status & STATUS_FEATURES_OK) && !(last & STATUS_FEATURES_OK)) {
        vio_fw_features_ok(fw, f);
        L.stats.features_ok++;
    }
    uint32_t rose = qen & ~last_qen;
    for (uint16_t vq = 0; rose != 0u; vq++, rose >>= 1) {
        if (rose & 1u) {
            vio_fw_queue_reenabled(fw, f, vq);
            L.stats.reenables++;
        }
    }
    vio_fw_mmio_caching(&L.mmio, 0);
    return 0;
}

int vio_fw_boot(vio_fw *fw, const vio_fw_board *board)
{
    vio_fw_loop_stats zero = {0};
    L.stats = zero;
    vio_fw_mmio_reset(&L.mmio, &L.stats);
    if (rd(REG(ID)) != VIO_MGMT__ID__VALUE_reset)
        return VIO_FW_BOOT_EID;
    uint32_t df = rd(REG(DEV_FUNCS));
    uint32_t nf = field(df, VIO_MGMT__DEV_FUNCS__NUM_FUNC_bm, VIO_MGMT__DEV_FUNCS__NUM_FUNC_bp);
    uint32_t npf = field(df, VIO_MGMT__DEV_FUNCS__NUM_PF_bm, VIO_MGMT__DEV_FUNCS__NUM_PF_bp);
    if (nf != board->num_funcs || nf > VIO_FW_MAX_FUNCS || npf != board->num_pf || npf < 1u || npf > 4u ||
        npf > nf)
        return VIO_FW_BOOT_EFUNCS;
    uint8_t n = (uint8_t)nf;
    wr(REG(IRQ_ENABLE), 0u);
    vio_fw_init(fw, &vio_fw_mmio_ops, &L.mmio, n);
    L.board.num_funcs = n;
    L.board.num_pf = (uint8_t)npf;
    L.board.ctrlq_timeout_us = board->ctrlq_timeout_us;
    int rc = VIO_FW_BOOT_OK;
    for (uint8_t f = 0; f < VIO_FW_MAX_FUNCS; f++) {
        vio_fw_board_func *b = &L.board.func[f];
        *b = board->func[f];
        L.net_ok[f] = 0;
        L.last_status[f] = 0;
        L.last_qen[f] = 0;
        fw->func[f].is_net = 0;
        if (f >= n || !b->is_net)
            continue;
        if (b->max_pairs < 1u || b->max_pairs > VIO_FW_MAX_PAIRS) {
            rc = VIO_FW_BOOT_EPROVISION; /* unusable row: never provisioned, never served */
            continue;
        }
        L.net_ok[f] = 1;
        fw->func[f].is_net = 1;
        fw->func[f].link_up = (uint8_t)(b->link_up != 0);
    }
    if (board->ctrlq_timeout_us != 0u)
        wr(REG(CTRLQ_TIMEOUT), board->ctrlq_timeout_us);
    /* W1C before the scan: a change from here on raises FUNC_EVENT again */
    wr(REG(IRQ_STATUS), IRQ_CAUSES);
    for (uint8_t f = 0; f < n; f++)
        if (scan(fw, f, 1) != 0)
            rc = VIO_FW_BOOT_EPROVISION;
    wr(REG(IRQ_ENABLE), VIO_MGMT__IRQ_ENABLE__CTRLQ_bm | VIO_MGMT__IRQ_ENABLE__FUNC_EVENT_bm |
                            VIO_MGMT__IRQ_ENABLE__CTRLQ_TIMEOUT_bm);
    return rc;
}

/* FUNC_EVENT: compare every function with the last scan. */
static void rescan(vio_fw *fw)
{
    L.stats.func_events++;
    for (uint8_t f = 0; f < fw->num_funcs; f++)
        (void)scan(fw, f, 0); /* a refusal is counted (provision_errors) */
}

/* Answer the command in the mailbox (if any).  Returns VIO_FW_POLL_* bits. */
static uint32_t serve(vio_fw *fw)
{
    uint32_t st = rd(REG(CTRLQ_STATUS));
    if (!(st & VIO_MGMT__CTRLQ_STATUS__VALID_bm))
        return 0;
    uint8_t func = (uint8_t)((st & VIO_MGMT__CTRLQ_STATUS__FUNC_bm) >> VIO_MGMT__CTRLQ_STATUS__FUNC_bp);
    uint32_t len = rd(REG(CTRLQ_LEN));
    uint32_t cmd_len = (len & VIO_MGMT__CTRLQ_LEN__CMD_LEN_bm) >> VIO_MGMT__CTRLQ_LEN__CMD_LEN_bp;
    uint32_t room = (len & VIO_MGMT__CTRLQ_LEN__RSP_ROOM_bm) >> VIO_MGMT__CTRLQ_LEN__RSP_ROOM_bp;
    if (room > MB_BYTES)
        room = MB_BYTES;
    uint32_t n = 0, out = 0;

    if (cmd_len > MB_BYTES) {
        /* the mailbox holds only the first MB_BYTES: do not run what we cannot see */
        L.rsp[0] = VIO_NET_ERR;
        n = room != 0u ? 1u : 0u;
        out |= VIO_FW_POLL_OVERSIZE;
        L.stats.oversize++;
    } else if (func < fw->num_funcs && !fw->func[func].provisioned && cmd_len >= 2u && room != 0u) {
        /* not served (not net, gone, in FLR, refused): not run, no effect */
        L.rsp[0] = VIO_NET_ERR;
        n = 1;
        L.stats.refused++;
    } else {
        for (uint32_t w = 0; w < (cmd_len + 3u) / 4u; w++) {
            uint32_t v = rd(REG(CMD_DATA) + 4u * w);
            for (uint32_t b = 0; b < 4u; b++)
                L.cmd[4u * w + b] = (uint8_t)(v >> (8u * b));
        }
        int needs_reset = 0;
        vio_fw_mmio_caching(&L.mmio, 1);
        n = vio_fw_ctrl(fw, func, L.cmd, cmd_len, L.rsp, room, &needs_reset);
        vio_fw_mmio_caching(&L.mmio, 0);
        /* needs_reset (framing): the engine never hands such a buffer over;
         * answered with RSP_LEN 0 (nothing written, used len 0) */
    }

    /* the engine may have given up meanwhile (and answered ERR itself) */
    uint32_t irq = rd(REG(IRQ_STATUS));
    if (irq & VIO_MGMT__IRQ_STATUS__CTRLQ_TIMEOUT_bm) {
        wr(REG(IRQ_STATUS), VIO_MGMT__IRQ_STATUS__CTRLQ_TIMEOUT_bm);
        L.stats.timeouts++;
        L.stats.stale++;
        return (out & ~(uint32_t)VIO_FW_POLL_OVERSIZE) | VIO_FW_POLL_TIMEOUT | VIO_FW_POLL_STALE;
    }
    for (uint32_t w = 0; w < (n + 3u) / 4u; w++) {
        uint32_t v = 0;
        for (uint32_t b = 0; b < 4u && 4u * w + b < n; b++)
            v |= (uint32_t)L.rsp[4u * w + b] << (8u * b);
        wr(REG(RSP_DATA) + 4u * w, v);
    }
    wr(REG(CTRLQ_RSP), n << VIO_MGMT__CTRLQ_RSP__RSP_LEN_bp & VIO_MGMT__CTRLQ_RSP__RSP_LEN_bm);
    wr(REG(CTRLQ_DONE), VIO_MGMT__CTRLQ_DONE__DONE_bm);
    L.stats.served++;
    return out | VIO_FW_POLL_CTRLQ;
}

int vio_fw_poll(vio_fw *fw, uint32_t timeout_us)
{
    int w = hal_irq_wait(timeout_us);
    if (w < 0)
        return -1;
    L.stats.polls++;
    uint32_t handled = 0;
    uint32_t st = rd(REG(IRQ_STATUS)) & IRQ_CAUSES;
    if (st)
        wr(REG(IRQ_STATUS), st); /* W1C before handling: a new event raises the line again */
    if (st & VIO_MGMT__IRQ_STATUS__CTRLQ_TIMEOUT_bm) {
        L.stats.timeouts++;
        handled |= VIO_FW_POLL_TIMEOUT;
    }
    if (st & VIO_MGMT__IRQ_STATUS__FUNC_EVENT_bm) {
        rescan(fw);
        handled |= VIO_FW_POLL_FUNC_EVENT;
    }
    /* CTRLQ_STATUS.VALID is looked at on every wake-up, interrupt or
     * timeout: a lost edge (or a command left from before boot) is served */
    handled |= serve(fw);
    return (int)handled;
}
