"""vio_device_top: virtio-blk over PCIe, checked transaction by transaction by pymodel.

Every test brings functions up through the driver model (Linux's sequence),
runs traffic, and ends with the scoreboard's final check; the scoreboard
fails a test at the first transaction that contradicts the golden model.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import Timer

from pymodel.features import BlkFeature as B
from pymodel.features import DeviceType, Transport as T, validate_driver_features
from pymodel.function import Region
from pymodel.packed_layout import DescFlag, PackedDesc
from tb.device.bench import DeviceBench
from tb.pcie.usp_device import FAULT_CA
from tb.device.virtio_pci import (
    BLK_S_IOERR, BLK_S_OK, BLK_S_UNSUPP, BLK_T_FLUSH, BLK_T_GET_ID, BLK_T_IN, BLK_T_OUT,
    FEATURES_OK, NEEDS_RESET, STATUS,
)
from tb.util import now

SECTOR = 512


async def start(dut, **kw) -> DeviceBench:
    tb = DeviceBench(dut, **kw)
    await tb.init()
    return tb


def random_request(rnd: random.Random, capacity: int, max_sectors: int = 16):
    kind = rnd.choices([BLK_T_IN, BLK_T_OUT, BLK_T_FLUSH, BLK_T_GET_ID], [45, 45, 5, 5])[0]
    n = rnd.randint(1, max_sectors)
    sector = rnd.randrange(0, capacity - n + 1)
    if kind == BLK_T_OUT:
        return kind, sector, rnd.randbytes(n * SECTOR), 0
    if kind == BLK_T_IN:
        return kind, sector, b"", n * SECTOR
    if kind == BLK_T_GET_ID:
        return kind, 0, b"", rnd.choice([20, 8, 64])
    return kind, 0, b"", 0


@cocotb.test(timeout_time=4, timeout_unit="ms")
async def test_init_and_io_smoke(dut):
    """Both functions come up; a write then a read of the same sectors returns the data; GET_ID; FLUSH."""
    tb = await start(dut)
    for f in tb.blk_fids:
        d = tb.drv[f]
        await d.init({0: 8})
        blk = tb.blk(f)
        data = bytes(range(256)) * 4
        w = blk.prepare(BLK_T_OUT, 10, out_data=data)
        r = blk.prepare(BLK_T_IN, 10, in_len=len(data))
        g = blk.prepare(BLK_T_GET_ID, 0, in_len=20)
        fl = blk.prepare(BLK_T_FLUSH, 0)
        for req in (w, r, g, fl):
            blk.post(req)
            await d.kick(0)
            await tb.complete_all(blk)
        ro = bool(tb.funcs[f].features >> B.RO & 1)
        assert w.result == (BLK_S_IOERR if ro else BLK_S_OK), f"{now()}: fn {f}: OUT status {w.result}"
        assert r.result == BLK_S_OK and r.used_len == len(data) + 1, f"{now()}: fn {f}: IN {r.result} len {r.used_len}"
        if not ro:
            assert r.read_back == data, f"{now()}: fn {f}: read back differs from what was written"
        assert g.read_back == tb.funcs[f].serial.encode().ljust(20, b"\0"), f"{now()}: fn {f}: GET_ID {g.read_back!r}"
        assert fl.result == BLK_S_OK
    await tb.finish()


@cocotb.test(timeout_time=4, timeout_unit="ms")
async def test_feature_negotiation_random_subsets(dut):
    """FEATURES_OK accepted or refused exactly as pymodel decides, for random driver subsets (incl. invalid)."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    for f in tb.blk_fids:
        d = tb.drv[f]
        await d.probe()
        offered = tb.funcs[f].features
        for trial in range(12):
            if trial == 0:
                want = offered
            elif trial % 3 == 0:
                want = offered & rnd.getrandbits(128) | rnd.choice([0, 1 << rnd.randrange(64)])
            else:
                want = offered & rnd.getrandbits(128)
            ok = await d.negotiate(want)
            exp = validate_driver_features(DeviceType.BLK, offered, want) is None
            assert ok == exp, (f"{now()}: fn {f} trial {trial}: driver features {want:#x}: device "
                               f"{'kept' if ok else 'refused'} FEATURES_OK, pymodel says {'accept' if exp else 'refuse'}")
        await d.reset()
    await tb.finish()


# ---------------------------------------------------------------------------------------------- traffic
async def run_io(tb: DeviceBench, f: int, blk, rnd: random.Random, count: int, queues, depth: int = 6,
                 max_sectors: int = 8, poll: bool = False) -> list:
    """``count`` random requests on ``queues`` of function ``f``, up to ``depth`` in flight per queue."""
    d = tb.drv[f]
    cap = tb.funcs[f].capacity
    done = []
    left = count
    while left or blk.inflight:
        posted = set()
        for vq in queues:
            ring = d.vqs[vq].ring
            while left and sum(1 for (q, _) in blk.inflight if q == vq) < depth:
                req = blk.prepare(*random_request(rnd, cap, max_sectors), vq=vq)
                if blk.slots_needed(req) > ring.num_free:
                    break
                blk.post(req)
                posted.add(vq)
                left -= 1
        for vq in posted:
            await d.kick(vq)
        if poll:
            await poll_all(tb, blk)
        else:
            await tb.complete_all(blk)
        done += blk.completed
        blk.completed = []
    return done


async def poll_all(tb: DeviceBench, blk, timeout_us: float = 2000) -> None:
    """Completion by polling with notifications DISABLEd (virtqueue_disable_cb, busy polling)."""
    waited = 0.0
    while blk.inflight:
        for vq in sorted({q for q, _ in blk.inflight}):
            blk.dev.vqs[vq].ring.disable_cb()
            blk.reap(vq)
        if blk.inflight:
            await Timer(5, "us")
            waited += 5
            assert waited < timeout_us, f"{now()}: fn {blk.dev.fid}: requests not completed while polling"


def check_results(tb: DeviceBench, f: int, done: list) -> None:
    """Status bytes as the spec says (the scoreboard compared every byte already; this is the driver's view)."""
    ro = bool(tb.funcs[f].features >> B.RO & 1)
    for r in done:
        exp = BLK_S_IOERR if (r.type == BLK_T_OUT and ro) else BLK_S_OK
        assert r.result == exp, f"{now()}: fn {f} vq {r.vq} id {r.id}: type {r.type} status {r.result}, expected {exp}"


@cocotb.test(timeout_time=60, timeout_unit="ms")
async def test_random_mixed_io(dut):
    """Random IN/OUT/FLUSH/GET_ID on every queue of both functions, many ring wraps, several in flight."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    for f in tb.blk_fids:
        nq = tb.funcs[f].num_queues
        await tb.drv[f].init({q: rnd.choice([8, 13, 16]) for q in range(nq)})
    for f in tb.blk_fids:
        blk = tb.blk(f, indirect=rnd.random() < 0.5, split_data=rnd.choice([0, 0, 512, 1024]))
        tb.log.info("fn %d: indirect %s, data pieces %s", f, blk.indirect, blk.split_data or "whole")
        done = await run_io(tb, f, blk, rnd, 60 if f == 0 else 30, range(tb.funcs[f].num_queues))
        check_results(tb, f, done)
    await tb.finish()


@cocotb.test(timeout_time=60, timeout_unit="ms")
async def test_queue_sizes(dut):
    """Queue sizes 1, 2, 3, 5, 64, 255, 256, 32768: rings wrap several times where the size allows."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    d = tb.drv[0]
    for size in (1, 2, 3, 5, 64, 255, 256, 32768):
        await d.init({0: size})
        blk = tb.blk(0, indirect=size < 3)
        n = min(3 * size + 2, 24)
        done = await run_io(tb, 0, blk, rnd, n, [0], depth=max(1, min(size, 6)), max_sectors=2)
        check_results(tb, 0, done)
        tb.log.info("queue size %d: %d requests, ring at slot %d wrap %d", size, len(done),
                    d.vqs[0].ring.next_avail.off, d.vqs[0].ring.next_avail.wrap)
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_chain_across_wrap(dut):
    """Chains of 3..6 descriptors in a ring of 5: most of them cross the end of the ring."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    await tb.drv[0].init({0: 7})
    blk = tb.blk(0, split_data=512)
    done = await run_io(tb, 0, blk, rnd, 30, [0], depth=2, max_sectors=4)
    check_results(tb, 0, done)
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_indirect(dut):
    """Every request through an indirect table (data split into 512-byte entries: tables of 3..10)."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    await tb.drv[0].init({0: 4, 1: 4})
    blk = tb.blk(0, indirect=True, split_data=512)
    done = await run_io(tb, 0, blk, rnd, 30, [0, 1], depth=4, max_sectors=8)
    check_results(tb, 0, done)
    await tb.finish()


@cocotb.test(timeout_time=30, timeout_unit="ms")
async def test_event_suppression_modes(dut):
    """ENABLE (no EVENT_IDX), DESC with EVENT_IDX (enable_cb_delayed), DISABLE (polling: no MSI-X allowed)."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    d = tb.drv[0]
    # ENABLE: EVENT_IDX not negotiated
    await d.init({0: 8}, want=tb.funcs[0].features & ~(1 << T.EVENT_IDX))
    done = await run_io(tb, 0, tb.blk(0), rnd, 20, [0])
    check_results(tb, 0, done)
    enable_irqs = d.irq_count[1]
    # DESC: EVENT_IDX, interrupts re-armed like virtqueue_enable_cb_delayed
    await d.init({0: 8})
    done = await run_io(tb, 0, tb.blk(0), rnd, 20, [0])
    check_results(tb, 0, done)
    desc_irqs = d.irq_count[1] - enable_irqs
    # DISABLE: the driver polls; the scoreboard (strict_disable) fails on any queue interrupt
    before = d.irq_count[1]
    done = await run_io(tb, 0, tb.blk(0), rnd, 20, [0], poll=True)
    check_results(tb, 0, done)
    tb.log.info("MSI-X for 20 requests: ENABLE %d, DESC %d, DISABLE %d", enable_irqs, desc_irqs, d.irq_count[1] - before)
    assert enable_irqs >= 1 and desc_irqs >= 1
    await tb.finish()


@cocotb.test(timeout_time=30, timeout_unit="ms")
async def test_reset_mid_traffic(dut):
    """Device reset while requests are in flight: status reads 0 only when drained, no DMA after; IO works again."""
    tb = await start(dut, backend_latency=(50, 400))
    rnd = random.Random(cocotb.RANDOM_SEED)
    d = tb.drv[0]
    for attempt in range(3):
        await d.init({0: 16, 1: 16})
        blk = tb.blk(0)
        for vq in (0, 1):
            for _ in range(5):
                blk.post(blk.prepare(*random_request(rnd, tb.funcs[0].capacity, 8), vq=vq))
            await d.kick(vq)
        await Timer(rnd.randint(1, 30), "us")
        await d.reset()
        tb.log.info("reset %d: %d of 10 requests were still in flight", attempt, len(blk.inflight))
        # nothing may touch the old rings after the reset read 0 (the scoreboard flags any DMA before DRIVER_OK)
        await Timer(20, "us")
    await d.init({0: 8})
    done = await run_io(tb, 0, tb.blk(0), rnd, 10, [0])
    check_results(tb, 0, done)
    await tb.finish()


# ---------------------------------------------------------------------------------------------- bad input


async def expect_needs_reset(tb: DeviceBench, f: int, what: str) -> None:
    """DEVICE_NEEDS_RESET with a configuration-change MSI-X (§1.3), then the driver resets the function."""
    d = tb.drv[f]
    got_irq = await d.wait_irq(0, 200)
    st = await d.status()
    assert st & NEEDS_RESET, f"{now()}: fn {f}: {what}: device_status {st:#04x}, expected DEVICE_NEEDS_RESET (0x40)"
    assert got_irq, f"{now()}: fn {f}: {what}: DEVICE_NEEDS_RESET without the configuration-change MSI-X"
    await d.reset()


async def other_function_works(tb: DeviceBench, f: int, rnd: random.Random) -> None:
    """The other function keeps serving IO."""
    g = 1 - f
    if g not in tb.drv or not tb.drv[g].vqs:
        await tb.drv[g].init({0: 8})
    done = await run_io(tb, g, tb.blk(g), rnd, 4, [0])
    check_results(tb, g, done)


async def raw_request(tb: DeviceBench, f: int, descs, buf_id: int = 0, vq: int = 0) -> None:
    ring = tb.drv[f].vqs[vq].ring
    ring.add_raw(descs, buf_id=buf_id)
    await tb.drv[f].kick(vq, force=True)


def hdr(tb: DeviceBench, f: int, rtype: int, sector: int = 0) -> int:
    d = tb.drv[f]
    a = d.alloc.alloc(16, 16)
    d.mem.write(a, rtype.to_bytes(4, "little") + bytes(4) + sector.to_bytes(8, "little"))
    return a


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_zero_length_descriptor(dut):
    """Zero-length descriptors inside a chain are tolerated (pymodel keeps them as empty segments)."""
    tb = await start(dut)
    await tb.drv[0].init({0: 8})
    d = tb.drv[0]
    data = d.alloc.alloc(1024, 64)
    st = d.alloc.alloc(1, 1)
    h = hdr(tb, 0, BLK_T_IN, 3)
    N, W = DescFlag.NEXT, DescFlag.WRITE
    await raw_request(tb, 0, [PackedDesc(h, 16, 5, N), PackedDesc(data, 0, 5, N | W), PackedDesc(data, 1024, 5, N | W),
                              PackedDesc(data, 0, 5, N | W), PackedDesc(st, 1, 5, W)], buf_id=5)
    await Timer(30, "us")
    u = d.vqs[0].ring.get_used()
    assert u is not None and u.id == 5 and u.len == 1025, f"{now()}: fn 0 vq 0: used {u}, expected id 5 len 1025"
    assert d.mem.read(st, 1) == bytes([BLK_S_OK])
    await tb.finish()


async def _malformed(dut, descs_fn, what: str, indirect_table: bool = False) -> None:
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    await tb.drv[0].init({0: 8, 1: 8})
    await tb.drv[1].init({0: 8})
    descs = descs_fn(tb)
    await raw_request(tb, 0, descs, buf_id=1)
    await expect_needs_reset(tb, 0, what)
    await other_function_works(tb, 0, rnd)
    await tb.drv[0].init({0: 8})
    check_results(tb, 0, await run_io(tb, 0, tb.blk(0), rnd, 3, [0]))
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_chain_longer_than_queue(dut):
    """A NEXT chain that never ends (every slot of the ring has NEXT): DEVICE_NEEDS_RESET, no hang."""
    def descs(tb):
        d = tb.drv[0]
        h = hdr(tb, 0, BLK_T_IN)
        return [PackedDesc(h, 16, 1, DescFlag.NEXT)] + [PackedDesc(d.alloc.alloc(512, 64), 512, 1,
                                                                   DescFlag.NEXT | DescFlag.WRITE) for _ in range(7)]
    await _malformed(dut, descs, "chain longer than the queue")


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_indirect_with_next(dut):
    """INDIRECT together with NEXT: DEVICE_NEEDS_RESET."""
    def descs(tb):
        d = tb.drv[0]
        t = d.alloc.alloc(48, 16)
        d.mem.write(t, PackedDesc(hdr(tb, 0, BLK_T_FLUSH), 16, 0, 0).pack()
                    + PackedDesc(d.alloc.alloc(1, 1), 1, 0, DescFlag.WRITE).pack())
        return [PackedDesc(t, 32, 1, DescFlag.INDIRECT | DescFlag.NEXT), PackedDesc(d.alloc.alloc(1, 1), 1, 1, DescFlag.WRITE)]
    await _malformed(dut, descs, "indirect with NEXT")


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_indirect_length(dut):
    """An indirect table whose length is not a multiple of 16: DEVICE_NEEDS_RESET."""
    def descs(tb):
        d = tb.drv[0]
        t = d.alloc.alloc(48, 16)
        d.mem.write(t, PackedDesc(hdr(tb, 0, BLK_T_FLUSH), 16, 0, 0).pack()
                    + PackedDesc(d.alloc.alloc(1, 1), 1, 0, DescFlag.WRITE).pack())
        return [PackedDesc(t, 24, 1, DescFlag.INDIRECT)]
    await _malformed(dut, descs, "indirect table length 24")


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_nested_indirect(dut):
    """An INDIRECT entry inside an indirect table: DEVICE_NEEDS_RESET."""
    def descs(tb):
        d = tb.drv[0]
        inner = d.alloc.alloc(32, 16)
        d.mem.write(inner, PackedDesc(hdr(tb, 0, BLK_T_FLUSH), 16, 0, 0).pack()
                    + PackedDesc(d.alloc.alloc(1, 1), 1, 0, DescFlag.WRITE).pack())
        t = d.alloc.alloc(16, 16)
        d.mem.write(t, PackedDesc(inner, 32, 0, DescFlag.INDIRECT).pack())
        return [PackedDesc(t, 16, 1, DescFlag.INDIRECT)]
    await _malformed(dut, descs, "nested indirect")


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_short_header(dut):
    """A request whose readable part is 12 bytes (< 16-byte header): DEVICE_NEEDS_RESET."""
    def descs(tb):
        d = tb.drv[0]
        return [PackedDesc(hdr(tb, 0, BLK_T_IN), 12, 1, DescFlag.NEXT), PackedDesc(d.alloc.alloc(1, 1), 1, 1, DescFlag.WRITE)]
    await _malformed(dut, descs, "header shorter than 16 bytes")


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_missing_status(dut):
    """A request with no writable byte for the status: DEVICE_NEEDS_RESET."""
    def descs(tb):
        d = tb.drv[0]
        return [PackedDesc(hdr(tb, 0, BLK_T_OUT), 16, 1, DescFlag.NEXT), PackedDesc(d.alloc.alloc(512, 64), 512, 1, 0)]
    await _malformed(dut, descs, "missing status byte")


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_sector_beyond_capacity(dut):
    """IN / OUT past the end of the disk, and a sector near 2^64 (no wrap-around): IOERR, nothing touched."""
    tb = await start(dut)
    await tb.drv[0].init({0: 16})
    blk = tb.blk(0)
    cap = tb.funcs[0].capacity
    reqs = [blk.prepare(BLK_T_IN, cap - 1, in_len=1024), blk.prepare(BLK_T_OUT, cap, out_data=bytes(512)),
            blk.prepare(BLK_T_IN, (1 << 64) - 1, in_len=1024), blk.prepare(BLK_T_OUT, (1 << 64) - 2, out_data=bytes(1024)),
            blk.prepare(BLK_T_IN, cap - 2, in_len=1024)]
    for r in reqs:
        blk.post(r)
    await tb.drv[0].kick(0)
    await tb.complete_all(blk)
    got = [r.result for r in reqs]
    assert got == [BLK_S_IOERR] * 4 + [BLK_S_OK], f"{now()}: fn 0 vq 0: statuses {got}"
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_write_to_read_only(dut):
    """OUT to the RO function: IOERR, the disk is unchanged; IN still works."""
    tb = await start(dut)
    await tb.drv[1].init({0: 8})
    blk = tb.blk(1)
    before = tb.disks[1].read(0, 8)
    w = blk.prepare(BLK_T_OUT, 0, out_data=b"\xA5" * 4096)
    r = blk.prepare(BLK_T_IN, 0, in_len=4096)
    blk.post(w)
    blk.post(r)
    await tb.drv[1].kick(0)
    await tb.complete_all(blk)
    assert w.result == BLK_S_IOERR, f"{now()}: fn 1 vq 0 id {w.id}: OUT to RO disk status {w.result}, expected IOERR"
    assert r.result == BLK_S_OK and r.read_back == before, f"{now()}: fn 1: RO disk changed or unreadable"
    assert tb.disks[1].read(0, 8) == before
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_unsupported_type(dut):
    """Unknown type and DISCARD (not offered): UNSUPP; FLUSH without FLUSH negotiated: UNSUPP."""
    tb = await start(dut)
    await tb.drv[0].init({0: 8}, want=tb.funcs[0].features & ~(1 << B.FLUSH))
    blk = tb.blk(0)
    reqs = [blk.prepare(77, 0, in_len=512), blk.prepare(11, 0), blk.prepare(BLK_T_FLUSH, 0)]
    for r in reqs:
        blk.post(r)
    await tb.drv[0].kick(0)
    await tb.complete_all(blk)
    got = [r.result for r in reqs]
    assert got == [BLK_S_UNSUPP] * 3, f"{now()}: fn 0 vq 0: statuses {got}, expected UNSUPP x3"
    await tb.finish()


async def _dma_fault(dut, target: str) -> None:
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    d = tb.drv[0]
    await d.init({0: 8})
    await tb.drv[1].init({0: 8})
    blk = tb.blk(0)
    r = blk.prepare(BLK_T_OUT, 4, out_data=rnd.randbytes(2048))
    if target == "descriptor":
        ring = d.vqs[0].ring
        lo, hi = ring.desc_addr, ring.desc_addr + 16 * ring.size
    else:
        lo, hi = r.data, r.data + 2048
    fault = tb.dev.add_cpl_fault(lo, hi, FAULT_CA, count=1)
    tb.sb.on_dma_fault(0, f"completer abort on the {target} read")
    blk.post(r)
    await d.kick(0)
    await expect_needs_reset(tb, 0, f"completer abort on a {target} read")
    assert fault.hits == 1, f"{now()}: the fault on [{lo:#x}, {hi:#x}) was never hit"
    await other_function_works(tb, 0, rnd)
    await d.init({0: 8})
    check_results(tb, 0, await run_io(tb, 0, tb.blk(0), rnd, 3, [0]))
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_error_completion_descriptor_read(dut):
    """A completer abort on the descriptor fetch: DEVICE_NEEDS_RESET + config MSI-X; the other function works."""
    await _dma_fault(dut, "descriptor")


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_error_completion_data_read(dut):
    """A completer abort on the OUT data read: DEVICE_NEEDS_RESET + config MSI-X, no status byte, no used."""
    await _dma_fault(dut, "data")


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def test_bad_notify_disabled_queue(dut):
    """A notification for a queue that is not enabled (and one beyond num_queues) is dropped; others work."""
    tb = await start(dut)
    rnd = random.Random(cocotb.RANDOM_SEED)
    d = tb.drv[0]
    await d.probe()
    assert await d.negotiate()
    await d.setup_msix()
    await d.setup_queue(0, 8)
    await d.setup_queue(1, 8)
    await d.enable_queue(0)                      # queue 1 configured but never enabled
    await d.wr(Region.COMMON, STATUS, 1, 0x0F)
    before = int(dut.stat_notify_drop_count.value)
    base = d.caps[2][1]
    for q in (1, 3, 9):
        tb.sb.on_register_write(0, Region.NOTIFY, q * d.notify_mult, 2, q)
        await d.bar.write(base + q * d.notify_mult, q.to_bytes(2, "little"))
    await Timer(5, "us")
    dropped = int(dut.stat_notify_drop_count.value) - before
    assert dropped == 3, f"{now()}: fn 0: {dropped} notifications counted as dropped, expected 3"
    assert not (await d.status()) & NEEDS_RESET
    check_results(tb, 0, await run_io(tb, 0, tb.blk(0), rnd, 5, [0]))
    await tb.finish()


@cocotb.test(timeout_time=40, timeout_unit="ms")
async def test_requests_in_flight_out_of_order(dut):
    """Several requests in flight on the blk engines; a quick one overtakes a slow one (used out of order)."""
    tb = await start(dut, backend_latency=(600, 600))
    rnd = random.Random(cocotb.RANDOM_SEED)
    d = tb.drv[0]
    await d.init({0: 16, 1: 16})
    blk = tb.blk(0)
    slow = blk.prepare(BLK_T_IN, 100, in_len=4096)            # waits 600 cycles in the backend
    quick = blk.prepare(BLK_T_GET_ID, 0, in_len=20)          # no backend operation
    blk.post(slow)
    blk.post(quick)
    await d.kick(0)
    await tb.complete_all(blk)
    order = [r.id for r in blk.completed]
    assert order == [quick.id, slow.id], (f"{now()}: fn 0 vq 0: used order {order}, expected GET_ID id {quick.id} "
                                          f"before IN id {slow.id} (two engines, the IN waits for the backend)")
    blk.completed = []
    # and a random mix with a slow backend on two queues: every result still exact
    tb.backend.latency = (20, 400)
    done = await run_io(tb, 0, blk, rnd, 40, [0, 1], depth=6)
    check_results(tb, 0, done)
    await tb.finish()
