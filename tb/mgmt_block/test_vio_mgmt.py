# SPDX-License-Identifier: Apache-2.0
"""Focused bench for vio_mgmt: the state behind the management-port registers.

An AxiLiteMaster plays the firmware with offsets and fields from the
generated tb.mgmt.regs only; the bench drives the function-state inputs
(mon_*) and the mailbox inputs, and checks what the block presents to the
device: per-function provisioning (net_mac / net_status / net_pairs /
net_rx_mode after FUNC_APPLY), live function state reads, the FUNC_EVENT
interrupt on status / queue-enable changes, the coalescing table, the MAC
and VLAN filter tables (write, read port, CLEAR), the microsecond counter,
and the mailbox pass-through.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from tb.mgmt import regs as R
from tb.util import now


class TB:
    def __init__(self, dut) -> None:
        self.dut = dut
        self.nf = int(dut.NUM_FUNC.value)
        self.nq = int(dut.MAX_QUEUES.value)
        cocotb.start_soon(Clock(dut.clk, 4, "ns").start())
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.axil.write_if.log.setLevel("WARNING")
        self.axil.read_if.log.setLevel("WARNING")
        for name in ("mb_valid", "mb_func", "mb_queue", "mb_cmd_len", "mb_rsp_room", "mb_cmd_data",
                     "mb_cmd_irq", "mb_timeout_irq", "mon_status", "mon_features", "mon_queue_en",
                     "coal_rd_func", "coal_rd_vq", "filt_mac_rd_en", "filt_mac_rd_func", "filt_mac_rd_index",
                     "filt_vlan_rd_en", "filt_vlan_rd_func", "filt_vlan_rd_index"):
            getattr(dut, name).value = 0
        dut.func_num_queues.value = sum((3 + f) << (16 * f) for f in range(self.nf))
        self.npf = int(dut.NUM_PF.value)
        dut.func_exists.value = (1 << self.nf) - 1
        dut.func_flr.value = 0

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    async def wr(self, off: int, value: int) -> None:
        await self.axil.write_dword(off, value)

    async def rd(self, off: int) -> int:
        return await self.axil.read_dword(off)

    def field(self, port: str, f: int, width: int) -> int:
        return int(getattr(self.dut, port).value) >> (width * f) & ((1 << width) - 1)


async def start(dut) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


@cocotb.test()
async def test_provisioning_apply(dut):
    """FUNC_APPLY loads MAC, status, pairs and rx mode into the selected function only."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    exp = {f: (tb.field("net_mac", f, 48), 0, 1, 1) for f in range(tb.nf)}   # reset: PROMISC, 1 pair
    for f in range(tb.nf):
        got = (tb.field("net_mac", f, 48), tb.field("net_status", f, 16), tb.field("net_pairs", f, 16),
               tb.field("net_rx_mode", f, 8))
        assert got[1:] == exp[f][1:], f"{now()}: fn {f}: after reset status/pairs/rx_mode {got[1:]}, expected {exp[f][1:]}"
    for _ in range(10):
        f = rnd.randrange(tb.nf)
        mac = rnd.randbytes(6)
        link, ann, pairs, mode = rnd.randrange(2), rnd.randrange(2), rnd.randrange(1, 9), rnd.randrange(64)
        await tb.wr(R.FUNC_SEL_OFFSET, f)
        await tb.wr(R.FUNC_MAC_LO_OFFSET, int.from_bytes(mac[:4], "little"))
        await tb.wr(R.FUNC_MAC_HI_OFFSET, int.from_bytes(mac[4:], "little"))
        await tb.wr(R.FUNC_NET_STATUS_OFFSET, link << R.FUNC_NET_STATUS_LINK_UP_SHIFT | ann << R.FUNC_NET_STATUS_ANNOUNCE_SHIFT)
        await tb.wr(R.FUNC_PAIRS_OFFSET, pairs << R.FUNC_PAIRS_CURR_SHIFT | 16)
        await tb.wr(R.FUNC_RX_MODE_OFFSET, mode)
        before = {g: exp[g] for g in range(tb.nf) if g != f}
        assert tb.field("net_mac", f, 48) == exp[f][0], f"{now()}: fn {f}: MAC changed before FUNC_APPLY"
        await tb.wr(R.FUNC_APPLY_OFFSET, 1 << R.FUNC_APPLY_APPLY_SHIFT)
        await ClockCycles(dut.clk, 2)
        exp[f] = (int.from_bytes(mac, "big"), link | ann << 1, pairs, mode)
        for g in range(tb.nf):
            got = (tb.field("net_mac", g, 48), tb.field("net_status", g, 16), tb.field("net_pairs", g, 16),
                   tb.field("net_rx_mode", g, 8))
            assert got == exp[g], f"{now()}: fn {g} after APPLY to fn {f}: got {got}, expected {exp[g]}"
        assert all(exp[g] == before[g] for g in before)


@cocotb.test()
async def test_function_state_and_event(dut):
    """FUNC_FEAT/STATE/QUEUE_EN read the selected function live (STATE with EXISTS / FLR / IS_VF / PF),
    DEV_FUNCS the numbering; a status, queue, existence (VF Enable) or FLR change raises FUNC_EVENT."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    feats = [rnd.getrandbits(128) for _ in range(tb.nf)]
    stat = [rnd.randrange(256) for _ in range(tb.nf)]
    qen = [rnd.getrandbits(tb.nq) for _ in range(tb.nf)]
    dut.mon_features.value = sum(v << (128 * f) for f, v in enumerate(feats))
    dut.mon_status.value = sum(v << (8 * f) for f, v in enumerate(stat))
    dut.mon_queue_en.value = sum(v << (tb.nq * f) for f, v in enumerate(qen))
    exists = [1] * tb.npf + [rnd.randrange(2) for _ in range(tb.nf - tb.npf)]
    flr = [rnd.randrange(2) for _ in range(tb.nf)]
    dut.func_exists.value = sum(v << f for f, v in enumerate(exists))
    dut.func_flr.value = sum(v << f for f, v in enumerate(flr))
    await ClockCycles(dut.clk, 4)
    await tb.wr(R.IRQ_STATUS_OFFSET, 0xFFFF_FFFF)        # the change above raised it: clear
    dev = await tb.rd(R.DEV_FUNCS_OFFSET)
    assert dev == tb.nf | tb.npf << R.DEV_FUNCS_NUM_PF_SHIFT, f"{now()}: DEV_FUNCS {dev:#x}, NUM_FUNC {tb.nf} NUM_PF {tb.npf}"
    await tb.wr(R.IRQ_ENABLE_OFFSET, 1 << R.IRQ_STATUS_FUNC_EVENT_SHIFT)
    assert not int(dut.irq.value), f"{now()}: irq high with nothing pending"
    for f in range(tb.nf):
        await tb.wr(R.FUNC_SEL_OFFSET, f)
        got = (await tb.rd(R.FUNC_FEAT_LO_OFFSET), await tb.rd(R.FUNC_FEAT_HI_OFFSET),
               await tb.rd(R.FUNC_STATE_OFFSET), await tb.rd(R.FUNC_QUEUE_EN_OFFSET))
        pf = f if f < tb.npf else 0                       # this build's VFs all belong to PF0 (FUNC_PF = 0)
        state = (stat[f] | exists[f] << R.FUNC_STATE_EXISTS_SHIFT | flr[f] << R.FUNC_STATE_FLR_SHIFT
                 | int(f >= tb.npf) << R.FUNC_STATE_IS_VF_SHIFT | pf << R.FUNC_STATE_PF_SHIFT
                 | (3 + f) << R.FUNC_STATE_NUM_QUEUES_SHIFT)
        exp = (feats[f] & 0xFFFF_FFFF, feats[f] >> 32 & 0xFFFF_FFFF, state, qen[f])
        assert got == exp, f"{now()}: fn {f}: FEAT_LO/HI, STATE, QUEUE_EN read {[hex(x) for x in got]}, expected {[hex(x) for x in exp]}"
    await tb.wr(R.FUNC_SEL_OFFSET, tb.nf)                 # no such function: reads 0
    assert await tb.rd(R.FUNC_STATE_OFFSET) == 0
    for change in ("status", "queue", "exists", "flr"):
        f = rnd.randrange(tb.nf) if change != "exists" else rnd.randrange(tb.npf, tb.nf)
        if change == "status":
            stat[f] ^= 0x04
            dut.mon_status.value = sum(v << (8 * g) for g, v in enumerate(stat))
        elif change == "exists":
            exists[f] ^= 1
            dut.func_exists.value = sum(v << g for g, v in enumerate(exists))
        elif change == "flr":
            flr[f] ^= 1
            dut.func_flr.value = sum(v << g for g, v in enumerate(flr))
        else:
            qen[f] ^= 1
            dut.mon_queue_en.value = sum(v << (tb.nq * g) for g, v in enumerate(qen))
        await ClockCycles(dut.clk, 4)
        st = await tb.rd(R.IRQ_STATUS_OFFSET)
        assert st >> R.IRQ_STATUS_FUNC_EVENT_SHIFT & 1 and int(dut.irq.value), \
            f"{now()}: fn {f} {change} change: IRQ_STATUS {st:#x}, irq {int(dut.irq.value)}"
        await tb.wr(R.IRQ_STATUS_OFFSET, 1 << R.IRQ_STATUS_FUNC_EVENT_SHIFT)
        await ClockCycles(dut.clk, 2)
        assert not int(dut.irq.value), f"{now()}: irq still high after the W1C"


@cocotb.test()
async def test_coalescing_table(dut):
    """COAL_APPLY stores (pkts, usecs) for (func, vq), pulses coal_changed; others untouched; out of range ignored."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    table = {(f, q): (0, 0) for f in range(tb.nf) for q in range(tb.nq)}
    pulses = []

    async def watch():
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            if int(dut.coal_changed.value):
                pulses.append((int(dut.coal_changed_func.value), int(dut.coal_changed_vq.value)))

    cocotb.start_soon(watch())
    applied = []
    for _ in range(12):
        f, q = rnd.randrange(tb.nf + 1), rnd.randrange(tb.nq + 1)
        p, u = rnd.getrandbits(32), rnd.getrandbits(32)
        await tb.wr(R.COAL_SEL_OFFSET, f | q << R.COAL_SEL_VQ_SHIFT)
        await tb.wr(R.COAL_MAX_PKTS_OFFSET, p)
        await tb.wr(R.COAL_MAX_USECS_OFFSET, u)
        await tb.wr(R.COAL_APPLY_OFFSET, 1)
        if (f, q) in table:
            table[(f, q)] = (p, u)
            applied.append((f, q))
    await ClockCycles(dut.clk, 4)
    assert pulses == applied, f"{now()}: coal_changed pulses {pulses}, expected {applied}"
    for (f, q), exp in table.items():
        dut.coal_rd_func.value = f
        dut.coal_rd_vq.value = q
        await ClockCycles(dut.clk, 1)
        await ReadOnly()
        got = (int(dut.coal_rd_pkts.value), int(dut.coal_rd_usecs.value))
        assert got == exp, f"{now()}: fn {f} vq {q}: coalescing {got}, expected {exp}"
        await RisingEdge(dut.clk)


async def _rd_mac(tb: TB, f: int, i: int) -> int:
    d = tb.dut
    d.filt_mac_rd_en.value = 1
    d.filt_mac_rd_func.value = f
    d.filt_mac_rd_index.value = i
    await RisingEdge(d.clk)
    d.filt_mac_rd_en.value = 0
    await ReadOnly()
    v = int(d.filt_mac_rd_data.value)
    await RisingEdge(d.clk)
    return v


async def _rd_vlan(tb: TB, f: int, i: int) -> int:
    d = tb.dut
    d.filt_vlan_rd_en.value = 1
    d.filt_vlan_rd_func.value = f
    d.filt_vlan_rd_index.value = i
    await RisingEdge(d.clk)
    d.filt_vlan_rd_en.value = 0
    await ReadOnly()
    v = int(d.filt_vlan_rd_data.value)
    await RisingEdge(d.clk)
    return v


@cocotb.test()
async def test_filter_tables(dut):
    """MAC entries and VLAN words land where FILTER_SEL points, read back on the filter ports; CLEAR empties one function."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    macs, vlans = {}, {}
    for _ in range(20):
        f = rnd.randrange(tb.nf)
        if rnd.random() < 0.5:
            i, mac, mc = rnd.randrange(64), rnd.randbytes(6), rnd.randrange(2)
            await tb.wr(R.FILTER_SEL_OFFSET, f | i << R.FILTER_SEL_INDEX_SHIFT)
            await tb.wr(R.FILTER_MAC_LO_OFFSET, int.from_bytes(mac[:4], "little"))
            await tb.wr(R.FILTER_MAC_HI_OFFSET, int.from_bytes(mac[4:], "little") | R.FILTER_MAC_HI_VALID_MASK
                        | mc << R.FILTER_MAC_HI_MULTICAST_SHIFT)
            await tb.wr(R.FILTER_CMD_OFFSET, R.FILTER_CMD_WRITE_MAC_MASK)
            macs[(f, i)] = mc << 49 | 1 << 48 | int.from_bytes(mac, "big")
        else:
            i, bits = rnd.randrange(128), rnd.getrandbits(32)
            await tb.wr(R.FILTER_SEL_OFFSET, f | i << R.FILTER_SEL_INDEX_SHIFT)
            await tb.wr(R.FILTER_VLAN_OFFSET, bits)
            await tb.wr(R.FILTER_CMD_OFFSET, R.FILTER_CMD_WRITE_VLAN_MASK)
            vlans[(f, i)] = bits
    cleared = rnd.randrange(tb.nf)
    await tb.wr(R.FILTER_SEL_OFFSET, cleared)
    await tb.wr(R.FILTER_CMD_OFFSET, R.FILTER_CMD_CLEAR_MASK)
    for (f, i), v in macs.items():
        got = await _rd_mac(tb, f, i)
        exp = 0 if f == cleared else v
        assert got == exp, f"{now()}: fn {f} MAC entry {i}: {got:#x}, expected {exp:#x}"
    for (f, i), v in vlans.items():
        got = await _rd_vlan(tb, f, i)
        exp = 0 if f == cleared else v
        assert got == exp, f"{now()}: fn {f} VLAN word {i}: {got:#x}, expected {exp:#x}"
    assert await _rd_mac(tb, (cleared + 1) % tb.nf, 63) == macs.get(((cleared + 1) % tb.nf, 63), 0)


@cocotb.test()
async def test_time_and_mailbox(dut):
    """TIME_US counts microseconds; the mailbox registers mirror the engine's ports both ways."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    t0 = await tb.rd(R.TIME_US_LO_OFFSET)
    await ClockCycles(dut.clk, 250 * 10)
    t1 = await tb.rd(R.TIME_US_LO_OFFSET)
    assert 10 <= t1 - t0 <= 11, f"{now()}: TIME_US advanced {t1 - t0} us over 2500 cycles at 250 per us"
    words = [rnd.getrandbits(32) for _ in range(64)]
    dut.mb_cmd_data.value = sum(w << (32 * i) for i, w in enumerate(words))
    dut.mb_valid.value = 1
    dut.mb_func.value = 2
    dut.mb_queue.value = 4
    dut.mb_cmd_len.value = 77
    dut.mb_rsp_room.value = 9
    await ClockCycles(dut.clk, 2)
    st = await tb.rd(R.CTRLQ_STATUS_OFFSET)
    assert st == 1 | 2 << R.CTRLQ_STATUS_FUNC_SHIFT | 4 << R.CTRLQ_STATUS_QUEUE_SHIFT, f"{now()}: CTRLQ_STATUS {st:#x}"
    assert await tb.rd(R.CTRLQ_LEN_OFFSET) == 77 | 9 << R.CTRLQ_LEN_RSP_ROOM_SHIFT
    for i in (0, 17, 63):
        got = await tb.rd(R.CMD_DATA_OFFSET + 4 * i)
        assert got == words[i], f"{now()}: CMD_DATA[{i}] {got:#x}, expected {words[i]:#x}"
    await tb.wr(R.RSP_DATA_OFFSET + 4, 0xA5A5_0001)
    await tb.wr(R.CTRLQ_RSP_OFFSET, 5)
    await tb.wr(R.CTRLQ_TIMEOUT_OFFSET, 1234)
    done = []

    async def watch():
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            if int(dut.mb_done.value):
                done.append(int(dut.mb_rsp_len.value))

    cocotb.start_soon(watch())
    await tb.wr(R.CTRLQ_DONE_OFFSET, 1)
    await ClockCycles(dut.clk, 3)
    assert done == [5], f"{now()}: mb_done pulses with rsp_len {done}, expected [5]"
    assert int(dut.mb_rsp_data.value) >> 32 & 0xFFFF_FFFF == 0xA5A5_0001
    assert int(dut.mb_timeout_us.value) == 1234
