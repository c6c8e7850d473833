"""SR-IOV on vio_device_top (the default build: PF0 virtio-net + PF1 virtio-blk, 4 VFs each).

Every test runs the whole host: the PF driver negotiates VIRTIO_F_SR_IOV and
passes FEATURES_OK before it sets NumVFs and VF Enable (virtio.md §3.7, errata
#18); every VF is probed like any virtio function by its own driver instance,
with its rings and buffers in its own host memory region. The checks are the
scoreboard's (pymodel judges every descriptor, interrupt and DMA byte; the
host monitor flags any DMA outside the requester function's memory, so a
wrong requester ID is caught) plus the pin-level RQ log for "no DMA after
FLR / VF disable".
"""

from __future__ import annotations

import random

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer

from pymodel.features import BlkFeature as B
from pymodel.features import Transport as T
from pymodel.function import Region
from tb.device.bench import DeviceBench
from tb.device.net_driver import NetDriver
from tb.device.test_device_net import wait_rx
from tb.device.virtio_pci import BlkDriver
from tb.pcie.sriov import SRIOV_NUM_VFS, set_num_vfs, sriov_cap_offset
from tb.util import now

BLK_T_IN, BLK_T_OUT = 0, 1
BLK_S_OK, BLK_S_IOERR = 0, 1


def rnd_of(tb: DeviceBench) -> random.Random:
    return random.Random(cocotb.RANDOM_SEED)


async def pfs_up(tb: DeviceBench, firmware: bool = True) -> dict[int, object]:
    """Enumerate, boot the firmware, bring both PFs up with VIRTIO_F_SR_IOV negotiated."""
    await tb.init()
    if firmware:
        await tb.start_firmware()
    drivers: dict[int, object] = {}
    for f in range(tb.num_pf):
        d = tb.drv[f]
        if tb.funcs[f].is_net:
            nd = NetDriver(d)
            await nd.init(queue_size=32)
            drivers[f] = nd
        else:
            await d.init({0: 32, 1: 32})
            drivers[f] = tb.blk(f)
        assert d.features >> T.SR_IOV & 1, f"{now()}: fn {f}: VIRTIO_F_SR_IOV not negotiated ({d.features:#x})"
    return drivers


async def wait_provisioned(tb: DeviceBench, fid: int, timeout_us: float = 200) -> None:
    """A net VF: wait until the firmware raised LINK_UP (raw BAR read, not a driver access)."""
    d = tb.drv[fid]
    if not d.caps:
        await d.probe()
    base = d.caps[4][1]                                 # VIRTIO_PCI_CAP_DEVICE_CFG
    waited = 0.0
    while not int.from_bytes(await tb.bar[fid].read(base + 6, 2), "little") & 1:
        await Timer(5, "us")
        waited += 5
        assert waited < timeout_us, f"{now()}: fn {fid}: the firmware did not provision the VF (no LINK_UP)"


async def vfs_up(tb: DeviceBench, pf: int, n: int) -> dict[int, object]:
    """Enable ``n`` VFs of ``pf`` and bring each up with its own driver."""
    fids = await tb.enable_vfs(pf, n)
    out: dict[int, object] = {}
    for f in fids:
        d = tb.drv[f]
        await d.probe()
        if tb.funcs[f].is_net:
            await wait_provisioned(tb, f)
            nd = NetDriver(d)
            await nd.init(queue_size=32)
            out[f] = nd
        else:
            await d.init({0: 32, 1: 32})
            out[f] = tb.blk(f)
        assert not d.features >> T.SR_IOV & 1, f"{now()}: fn {f}: a VF offered VIRTIO_F_SR_IOV"
    return out


async def blk_io(tb: DeviceBench, blk: BlkDriver, rnd: random.Random, count: int, vq: int = 0) -> list:
    """Post ``count`` writes-then-reads on ``blk`` (distinct sectors per function), kick, return the requests."""
    f = blk.dev.fid
    cap = tb.funcs[f].capacity
    reqs = []
    for _ in range(count):
        sector = rnd.randrange(0, cap - 8)
        data = rnd.randbytes(512 * rnd.randint(1, 4))
        reqs.append(blk.prepare(BLK_T_OUT, sector, out_data=data, vq=vq))
        reqs.append(blk.prepare(BLK_T_IN, sector, in_len=len(data), vq=vq))
    for r in reqs:
        blk.post(r)
    await blk.dev.kick(vq)
    return reqs


def net_tx(drv: NetDriver, rnd: random.Random, count: int) -> None:
    for _ in range(count):
        size = rnd.choice([64, 200, 600, 1400])
        drv.tx_post(bytes.fromhex("ffffffffffff") + drv.dev.tb.funcs[drv.dev.fid].mac + b"\x08\x00"
                    + rnd.randbytes(size - 14), vq=1)


async def wait_tx(drv: NetDriver, timeout_us: float = 600) -> None:
    waited = 0.0
    while any(drv.tx_inflight.values()):
        for q in drv.tx_inflight:
            drv.tx_reap(q)
        await Timer(2, "us")
        waited += 2
        assert waited < timeout_us, f"{now()}: fn {drv.dev.fid}: TX buffers not used within {timeout_us} us"


# ------------------------------------------------------------------------------------------------ tests
@cocotb.test(timeout_time=6, timeout_unit="ms")
async def test_sriov_enumeration(dut):
    """SR-IOV capability on both PFs; 1, then the maximum VFs appear with ids 0xFFFF and full virtio
    capabilities; NumVFs written while VF Enable is set is ignored; VF Enable cleared: the VFs are gone."""
    tb = DeviceBench(dut)
    await pfs_up(tb)
    rc = tb.rc
    for pf in range(tb.num_pf):
        pid = tb.pf[pf].pcie_id
        cap = await sriov_cap_offset(rc, pid)
        total = await rc.config_read_word(pid, cap + 0x0E)
        assert total == tb.funcs[pf].total_vfs, f"{now()}: PF{pf}: TotalVFs {total}"
        for n in (1, total):
            fids = await tb.enable_vfs(pf, n)
            exp = [f for f, fc in enumerate(tb.funcs) if fc.parent == pf][:n]
            assert fids == exp, f"{now()}: PF{pf} NumVFs {n}: VFs at fn {fids}, expected {exp}"
            for f in fids:
                ids = await rc.config_read_dword(tb.pf[f].pcie_id, 0)
                assert ids == 0xFFFF_FFFF, f"{now()}: fn {f}: VF vendor/device id {ids:#x}, expected 0xffffffff"
                d = tb.drv[f]
                await d.probe()
                offer = await d.read_offer()
                assert offer == tb.funcs[f].features, f"{now()}: fn {f}: offer {offer:#x} != {tb.funcs[f].features:#x}"
            await set_num_vfs(rc, pid, 1 if n != 1 else 2)      # ignored while VF Enable is set
            got = await rc.config_read_word(pid, cap + SRIOV_NUM_VFS)
            assert got == n, f"{now()}: PF{pf}: NumVFs changed to {got} while VF Enable was set (wrote != {n})"
            gone = await tb.disable_vfs(pf)
            assert gone == fids
            ids = await rc.config_read_dword(tb.pf[pf].pcie_id, 0)
            assert ids & 0xFFFF == 0x1AF4, f"{now()}: PF{pf} vanished with its VFs"
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_sriov_traffic_all_functions(dut):
    """Every PF and every VF at once: blk writes+reads on PF1 and its 4 VFs (one read-only), TX and RX on
    PF0 and its 4 VFs; the scoreboard judges each function and the host monitor checks every DMA's requester."""
    tb = DeviceBench(dut)
    rnd = rnd_of(tb)
    drv = await pfs_up(tb)
    for pf in range(tb.num_pf):
        drv.update(await vfs_up(tb, pf, tb.funcs[pf].total_vfs))
    t0 = get_sim_time("ns")
    blk_reqs = {}
    rx_sent: dict[int, list[bytes]] = {}
    for f, d in drv.items():
        if isinstance(d, NetDriver):
            net_tx(d, rnd, 6)
            await d.dev.kick(1)
            rx_sent[f] = [tb.funcs[f].mac + bytes.fromhex("525400ffffff0800") + rnd.randbytes(rnd.choice([50, 300, 1000]))
                          for _ in range(2)]
            for fr in rx_sent[f]:
                await tb.rx_send(f, fr)
        else:
            blk_reqs[f] = await blk_io(tb, d, rnd, 3)
    for f, d in drv.items():
        if isinstance(d, NetDriver):
            await wait_tx(d)
            await wait_rx(tb, d, len(rx_sent[f]))
            got = [r.frame for r in d.received]
            assert got == rx_sent[f], f"{now()}: fn {f}: received {len(got)} frames, not the ones sent to it"
        else:
            await tb.complete_all(d)
            ro = bool(tb.funcs[f].features >> B.RO & 1)
            for r in blk_reqs[f]:
                if r.type == BLK_T_OUT:
                    assert r.result == (BLK_S_IOERR if ro else BLK_S_OK), f"{now()}: fn {f}: OUT status {r.result}"
                else:
                    assert r.result == BLK_S_OK, f"{now()}: fn {f}: IN status {r.result}"
    dt = get_sim_time("ns") - t0
    fids = sorted({r[1] for r in tb.rq_log if r[0] >= t0})
    assert fids == sorted(drv), f"{now()}: RQ requesters {fids}, expected every function {sorted(drv)}"
    sent = {f: len(tb.tx_frames.get(f, [])) for f in drv if isinstance(drv[f], NetDriver)}
    assert all(n == 6 for n in sent.values()), f"{now()}: frames on the port per function {sent}"
    tb.log.info("all %d functions: %.1f us of simulated time for the mixed load", len(drv), dt / 1000)
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_sriov_flr_vf_mid_traffic(dut):
    """FLR of one blk VF while every blk function has requests in flight: the FLR handshake completes, that
    VF issues no DMA afterwards, the others complete everything exactly once; the VF works again after."""
    tb = DeviceBench(dut)
    rnd = rnd_of(tb)
    drv = await pfs_up(tb)
    drv.update(await vfs_up(tb, 1, tb.funcs[1].total_vfs))
    blk_fids = [f for f, d in drv.items() if isinstance(d, BlkDriver)]
    victim = blk_fids[1 + rnd.randrange(len(blk_fids) - 1)]
    for f in blk_fids:
        await blk_io(tb, drv[f], rnd, 4)
    await Timer(rnd.randint(1, 8), "us")
    t_done = await tb.flr(victim)
    drv[victim].inflight.clear()                        # the driver forgets what the reset discarded
    for f in blk_fids:
        if f != victim:
            await tb.complete_all(drv[f])
    await Timer(20, "us")
    late = tb.rq_since(victim, t_done)
    assert not late, f"{now()}: fn {victim}: {len(late)} RQ request(s) after its FLR completed at {t_done} ns: {late[:4]}"
    d = tb.drv[victim]
    assert await d.status() == 0, f"{now()}: fn {victim}: device_status not 0 after FLR"
    await d.init({0: 32})
    blk = tb.blk(victim)
    reqs = await blk_io(tb, blk, rnd, 2)
    await tb.complete_all(blk)
    assert all(r.result in (BLK_S_OK, BLK_S_IOERR) for r in reqs)
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_sriov_vf_disable_under_traffic(dut):
    """VF Enable cleared on PF1 with requests in flight on its VFs: the VFs are held in reset and issue no
    DMA once drained; PF1's own traffic completes, checked as usual."""
    tb = DeviceBench(dut)
    rnd = rnd_of(tb)
    drv = await pfs_up(tb)
    drv.update(await vfs_up(tb, 1, 2))
    vfs = [f for f in drv if tb.funcs[f].is_vf]
    for f in [1] + vfs:
        await blk_io(tb, drv[f], rnd, 4)
    await Timer(rnd.randint(1, 6), "us")
    gone = await tb.disable_vfs(1)
    assert gone == vfs
    t_off = get_sim_time("ns")
    await tb.complete_all(drv[1])
    await Timer(300, "us")                              # a drain bounded by the completion timeout
    t_quiet = get_sim_time("ns") - 290_000
    for f in vfs:
        late = tb.rq_since(f, t_quiet)
        assert not late, f"{now()}: fn {f}: RQ requests {late[:4]} long after VF Enable was cleared at {t_off} ns"
    await tb.finish()


@cocotb.test(timeout_time=10, timeout_unit="ms")
async def test_sriov_bad_inputs(dut):
    """VF BAR access with VF MSE = 0 (unsupported request), an MSI-X vector beyond a VF's table (reads
    back NO_VECTOR), and a VF whose ring points into another function's memory (the host monitor flags
    the DMA as an isolation violation: the device cannot know memory ownership, the host's IOMMU does)."""
    tb = DeviceBench(dut)
    await pfs_up(tb)
    rc = tb.rc
    fids = await tb.enable_vfs(1, 2)
    vf = fids[0]
    pid = tb.pf[1].pcie_id
    cap = await sriov_cap_offset(rc, pid)
    ctrl = await rc.config_read_word(pid, cap + 0x08)
    await rc.config_write_word(pid, cap + 0x08, ctrl & ~0x8)    # VF MSE off
    try:
        await tb.bar[vf].read(0, 4)
        raised = False
    except Exception:                                           # UR completion
        raised = True
    assert raised, f"{now()}: fn {vf}: VF BAR read with VF MSE = 0 completed"
    await rc.config_write_word(pid, cap + 0x08, ctrl)
    d = tb.drv[vf]
    await d.probe()
    await d.negotiate()
    await d.wr(Region.COMMON, 0x16, 2, 0)                       # queue_select 0
    await d.wr(Region.COMMON, 0x1A, 2, tb.msix_vec + 3)         # queue_msix_vector beyond the table
    got = await d.rd(Region.COMMON, 0x1A, 2)
    assert got == 0xFFFF, f"{now()}: fn {vf}: MSI-X vector {tb.msix_vec + 3} read back {got:#x}, expected NO_VECTOR"
    # a ring in PF1's memory: the device fetches it with the VF's requester ID; the host monitor and the
    # scoreboard both flag it (expected here: recorded instead of failing the test)
    tb.sb.expect_violation.add(vf)
    tb.host.fail_fast = False                                   # record, do not raise: checked below
    other = tb.mem[1].base + 0x10_0000
    await d.setup_msix()
    q = await d.setup_queue(0, 8)
    for off, val in ((0x20, other & 0xFFFF_FFFF), (0x24, other >> 32)):
        await tb.bar[vf].write(d.caps[1][1] + off, val.to_bytes(4, "little"))   # raw: the checker's copy stays sane
    await d.enable_queue(0)
    await d.wr(Region.COMMON, 0x14, 1, 0x0F)
    await tb.bar[vf].write(q.notify_addr, (0).to_bytes(2, "little"))
    await Timer(20, "us")
    bad = [v for v in tb.host.violations if f"fn {vf}:" in v]
    assert bad, f"{now()}: fn {vf}: a descriptor read in PF1's memory was not flagged ({tb.host.violations})"
    assert tb.sb.flagged, f"{now()}: fn {vf}: the scoreboard did not flag the DMA into PF1's memory"
    tb.log.info("isolation violation flagged as expected: host %s; scoreboard %s", bad[0], tb.sb.flagged[0])
    assert all(f"fn {vf}:" in v for v in tb.host.violations), f"{now()}: other violations: {tb.host.violations}"
    tb.host.violations.clear()
    tb.host.fail_fast = True
    await tb.disable_vfs(1)
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_sriov_flr_outstanding_read(dut):
    """FLR of a VF while one of its DMA reads is outstanding (the host answers 40 us late): the FLR
    completes only after that completion came back and was dropped, so it can never reach the function's
    next owner; the VF then works from its reset state and nothing of the old requests is used."""
    tb = DeviceBench(dut)
    rnd = rnd_of(tb)
    drv = await pfs_up(tb)
    drv.update(await vfs_up(tb, 1, 2))
    victim = [f for f in drv if tb.funcs[f].is_vf][0]
    mem = tb.mem[victim]
    fault = tb.dev.add_cpl_fault(mem.base, mem.base + mem.size, "delay", count=1, delay_ns=40_000)
    await blk_io(tb, drv[victim], rnd, 2)
    waited = 0
    while not fault.hits:
        await Timer(1, "us")
        waited += 1
        assert waited < 200, f"{now()}: fn {victim}: no DMA read of the VF was issued"
    t_start = get_sim_time("ns")
    t_done = await tb.flr(victim)
    drv[victim].inflight.clear()
    assert fault.released_ns, f"{now()}: fn {victim}: FLR completed at {t_done} ns (started {t_start} ns) " \
                              f"while a DMA read of the function was still outstanding"
    assert t_done >= fault.released_ns[0], (
        f"{now()}: fn {victim}: FLR completed at {t_done} ns, before the outstanding read's completion "
        f"came back at {fault.released_ns[0]} ns (a late completion could reach the next owner)")
    d = tb.drv[victim]
    await d.init({0: 32})
    blk = tb.blk(victim)
    reqs = await blk_io(tb, blk, rnd, 2)
    await tb.complete_all(blk)
    assert all(r.result == BLK_S_OK for r in reqs), f"{now()}: fn {victim}: IO after FLR {[r.result for r in reqs]}"
    await tb.finish()
