"""Packed ring round trips: driver helper -> device model -> driver helper.

The test keeps its own record of what it handed over (segments per id) and
of where the next used descriptor must land (``u += chain length``, wrap
flips at N -- virtio.md §4.3), and checks the model against that record.
"""

from __future__ import annotations

import random

import pytest

from pymodel.buffers import Segment
from pymodel.memory import BumpAllocator, SparseMemory
from pymodel.packed_driver import PackedRingDriver
from pymodel.packed_layout import DescFlag, EventFlags, PackedDesc, RingPos
from pymodel.packed_ring import PackedRingDevice

pytestmark = pytest.mark.model


def make_ring(size: int, **dev_kw: bool) -> tuple[SparseMemory, PackedRingDriver, PackedRingDevice, BumpAllocator]:
    mem = SparseMemory()
    alloc = BumpAllocator(base=0x100000)
    desc = alloc.alloc(16 * size, 16)
    drv_ev, dev_ev = alloc.alloc(4, 4), alloc.alloc(4, 4)
    drv = PackedRingDriver(mem, size, desc, drv_ev, dev_ev, event_idx=bool(dev_kw.get("event_idx")))
    dev = PackedRingDevice(mem, size, desc, drv_ev, dev_ev, **dev_kw)
    return mem, drv, dev, alloc


def raw_used(mem: SparseMemory, drv: PackedRingDriver, slot: int) -> PackedDesc:
    return PackedDesc.unpack(mem.read(drv.desc_addr + 16 * slot, 16))


@pytest.mark.parametrize("size", [1, 2, 3, 5, 255, 32768])
def test_round_trip_many_wraps(size: int) -> None:
    rng = random.Random(size)
    mem, drv, dev, alloc = make_ring(size, indirect_desc=True, event_idx=True)
    pool = [alloc.alloc(256, 16) for _ in range(64)]
    expected: dict[int, list[Segment]] = {}
    in_flight = []
    exp_used_off, exp_used_wrap = 0, True  # independent tracking of §4.3 used position
    total_descs = 0
    target = 4 * size + 20 if size < 32768 else size + size // 4
    serial = 0
    while total_descs < target:
        # driver adds a few buffers while space allows
        for _ in range(rng.randint(1, 4)):
            use_ind = rng.random() < 0.2
            nout, nin = rng.randint(0, 3), rng.randint(0, 3)
            if nout + nin == 0:
                nin = 1
            chain = 1 if use_ind else nout + nin
            chain_ind = nout + nin
            if chain > drv.num_free:
                break
            out = [(rng.choice(pool), rng.randint(0, 256)) for _ in range(nout)]
            in_ = [(rng.choice(pool), rng.randint(1, 256)) for _ in range(nin)]
            bid = drv.add(out, in_, indirect_table=alloc.alloc(16 * chain_ind, 16) if use_ind else None)
            expected[bid] = [Segment(a, n, False) for a, n in out] + [Segment(a, n, True) for a, n in in_]
        # device takes everything available
        for b in dev.pop_all():
            assert list(b.segments) == expected[b.id]
            in_flight.append(b)
        # device completes a random subset in random order
        rng.shuffle(in_flight)
        cut = rng.randint(0, len(in_flight))
        done, in_flight = in_flight[:cut], in_flight[cut:]
        for b in done:
            written = min(b.writable_len, rng.randint(0, 64))
            payload = bytes([serial & 0xFF]) * written
            serial += 1
            assert b.scatter(mem, payload) == written
            e = dev.push_used(b, written)
            assert (e.slot, e.wrap) == (exp_used_off, exp_used_wrap)
            d = raw_used(mem, drv, e.slot)
            assert d.id == b.id and d.len == written
            wbits = 0x8080 if exp_used_wrap else 0
            assert d.flags == wbits | (2 if written else 0)
            exp_used_off += b.ndescs
            if exp_used_off >= size:
                exp_used_off -= size
                exp_used_wrap = not exp_used_wrap
            total_descs += b.ndescs
            u = drv.get_used()
            assert u is not None and u.id == b.id and u.len == written
            ranges = b.writable_ranges(0, written)
            assert b"".join(mem.read(a, n) for a, n in ranges) == payload
            del expected[u.id]
        assert drv.get_used() is None
    assert dev.used == RingPos(exp_used_off, exp_used_wrap)


@pytest.mark.parametrize("size", [3, 5, 7])
def test_batched_used_writes_first_flags_last(size: int) -> None:
    from .support import RecordingMemory

    mem = RecordingMemory()
    drv = PackedRingDriver(mem, size, 0x1000, 0x2000, 0x2004)
    dev = PackedRingDevice(mem, size, 0x1000, 0x2000, 0x2004)
    for _ in range(size):
        drv.add(in_=[(0x9000, 8)])
    bufs = dev.pop_all()
    mem.writes.clear()
    elems = dev.push_used_batch([(b, 8) for b in bufs])
    flag_writes = [a for a, d in mem.writes if len(d) == 2]
    assert flag_writes[-1] == 0x1000 + 14  # slot 0 flags written last
    assert [e.slot for e in elems] == list(range(size))
    assert [u.id for u in drv.drain()] == [b.id for b in bufs]


def test_chain_across_the_wrap() -> None:
    mem, drv, dev, _ = make_ring(4)
    drv.add(in_=[(0x5000, 4)])
    drv.add(in_=[(0x5000, 4)])
    drv.add(in_=[(0x5000, 4)])
    for b in dev.pop_all():
        dev.push_used(b, 0)
    drv.drain()
    # next_avail = slot 3, wrap 1: a 3-descriptor chain uses slots 3, 0, 1
    bid = drv.add(out=[(0x6000, 1)], in_=[(0x7000, 2), (0x8000, 3)])
    raw = [PackedDesc.unpack(mem.read(drv.desc_addr + 16 * s, 16)) for s in (3, 0, 1)]
    assert [d.flags for d in raw] == [0x0081, 0x8003, 0x8002]  # lap flip after slot 3
    got = dev.pop()
    assert got is not None and got.id == bid and got.ndescs == 3 and got.head == 3
    b = got
    assert [s.addr for s in b.segments] == [0x6000, 0x7000, 0x8000]
    e = dev.push_used(b, 5)
    assert (e.slot, e.wrap) == (3, True)
    assert dev.used == RingPos(2, False)


def test_in_order_batch_single_used_descriptor() -> None:
    mem, drv, dev, _ = make_ring(8, in_order=True)
    ids = [drv.add(out=[(0x5000, 10)], in_=[(0x6000, 10)]) for _ in range(3)]
    bufs = dev.pop_all()
    e = dev.push_used_in_order(bufs, written_last=7)
    assert (e.slot, e.id, e.len, e.skip) == (0, ids[-1], 7, 6)
    assert dev.used == RingPos(6, True)
    # the driver skips the whole batch: the one descriptor it sees has the last id
    d = PackedDesc.unpack(mem.read(drv.desc_addr, 16))
    assert d.id == ids[-1] and d.flags == 0x8082


def test_id_taken_from_last_descriptor_and_mismatch_flagged() -> None:
    mem, drv, dev, _ = make_ring(4)
    drv.add_raw(
        [PackedDesc(0x5000, 8, 1, DescFlag.NEXT), PackedDesc(0x6000, 8, 2, DescFlag.WRITE)], buf_id=2
    )
    b = dev.pop()
    assert b is not None and b.id == 2
    assert b.warnings and "disagree" in b.warnings[0]


def test_kick_suppression_packed_desc_mode() -> None:
    mem, drv, dev, _ = make_ring(8, event_idx=True)
    # device asks for a kick when the driver makes slot 2 (wrap 1) available
    dev.set_kick_suppression(EventFlags.DESC, RingPos(2, True))
    drv.add(in_=[(0x5000, 1)])
    assert not drv.kick_prepare()  # slot 0 only
    drv.add(in_=[(0x5000, 1)])
    assert not drv.kick_prepare()  # slot 1
    drv.add(in_=[(0x5000, 1)])
    assert drv.kick_prepare()  # slot 2 is the one asked about
    dev.set_kick_suppression(EventFlags.DISABLE)
    drv.add(in_=[(0x5000, 1)])
    assert not drv.kick_prepare()
    dev.set_kick_suppression(EventFlags.ENABLE)
    drv.add(in_=[(0x5000, 1)])
    assert drv.kick_prepare()


def test_enable_cb_delayed_arms_three_quarters_ahead() -> None:
    mem, drv, dev, _ = make_ring(8, event_idx=True)
    for _ in range(8):
        drv.add(in_=[(0x5000, 1)])
    drv.disable_cb()
    assert drv.enable_cb_delayed()
    # 8 outstanding descriptors * 3/4 = 6 ahead of last_used (0,1): off 6, wrap 1, DESC
    assert mem.read(drv.driver_area, 4) == bytes([6, 0x80, 2, 0])
    bufs = dev.pop_all()
    for b in bufs[:6]:
        dev.push_used(b, 0)
        assert not dev.should_notify()
    dev.push_used(bufs[6], 0)
    assert dev.should_notify()
