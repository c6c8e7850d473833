"""Split ring round trips and notification plumbing (virtio.md §5)."""

from __future__ import annotations

import random

import pytest

from pymodel.buffers import Segment
from pymodel.memory import BumpAllocator, SparseMemory, rd16, rd32
from pymodel.split_driver import SplitRingDriver
from pymodel.split_ring import SplitRingDevice

pytestmark = pytest.mark.model


def make_ring(size: int, **kw: bool) -> tuple[SparseMemory, SplitRingDriver, SplitRingDevice, BumpAllocator]:
    mem = SparseMemory()
    alloc = BumpAllocator(base=0x200000)
    desc = alloc.alloc(16 * size, 16)
    avail = alloc.alloc(6 + 2 * size, 2)
    used = alloc.alloc(6 + 8 * size, 4)
    drv = SplitRingDriver(mem, size, desc, avail, used, event_idx=bool(kw.get("event_idx")))
    dev = SplitRingDevice(mem, size, desc, avail, used, **kw)
    return mem, drv, dev, alloc


@pytest.mark.parametrize("size", [1, 2, 4, 8, 256, 32768])
def test_round_trip_many_wraps(size: int) -> None:
    rng = random.Random(size)
    mem, drv, dev, alloc = make_ring(size, indirect_desc=True, event_idx=True)
    pool = [alloc.alloc(128, 16) for _ in range(32)]
    expected: dict[int, list[Segment]] = {}
    in_flight = []
    used_count = 0
    # start near the top of the 16-bit index space so the free-running
    # indices wrap during the run (state as after a long uptime)
    start = 0xFFF0
    drv.avail_idx = drv.last_used = start
    dev.last_avail = dev.used_idx = dev.last_eval = start
    mem.write(drv.layout.avail_idx, start.to_bytes(2, "little"))
    mem.write(drv.layout.used_idx, start.to_bytes(2, "little"))
    target = 3 * size + 40 if size < 32768 else size + 2000
    exp_idx = start
    while used_count < target:
        for _ in range(rng.randint(1, 4)):
            use_ind = rng.random() < 0.2
            nout, nin = rng.randint(0, 2), rng.randint(1, 2)
            chain = 1 if use_ind else nout + nin
            if chain > drv.num_free:
                break
            out = [(rng.choice(pool), rng.randint(0, 128)) for _ in range(nout)]
            in_ = [(rng.choice(pool), rng.randint(1, 128)) for _ in range(nin)]
            tbl = alloc.alloc(16 * (nout + nin), 16) if use_ind else None
            head = drv.add(out, in_, indirect_table=tbl)
            expected[head] = [Segment(a, n, False) for a, n in out] + [Segment(a, n, True) for a, n in in_]
        for b in dev.pop_all():
            assert list(b.segments) == expected[b.id]
            in_flight.append(b)
        rng.shuffle(in_flight)
        cut = rng.randint(0, len(in_flight))
        done, in_flight = in_flight[:cut], in_flight[cut:]
        if done:
            elems = dev.push_used_batch([(b, min(3, b.writable_len)) for b in done])
            for e, b in zip(elems, done):
                assert e.index == exp_idx & 0xFFFF
                a = dev.layout.used_ring(exp_idx)
                assert (rd32(mem, a), rd32(mem, a + 4)) == (b.id, min(3, b.writable_len))
                exp_idx += 1
            assert rd16(mem, dev.layout.used_idx) == exp_idx & 0xFFFF
        for b in done:
            u = drv.get_used()
            assert u is not None and u.id == b.id
            del expected[u.id]
            used_count += 1
        assert drv.get_used() is None


def test_event_idx_used_event_rearm_and_notify() -> None:
    mem, drv, dev, _ = make_ring(8, event_idx=True)
    for _ in range(4):
        drv.add(in_=[(0x9000, 4)])
    bufs = dev.pop_all()
    dev.push_used(bufs[0], 4)
    assert dev.should_notify()  # used_event = 0 (initial), entry 0 written
    assert drv.get_used() is not None  # re-arms used_event = 1
    assert rd16(mem, drv.layout.used_event) == 1
    drv.disable_cb()  # EVENT_IDX: writes used_event = 0 hack (Linux)
    dev.push_used(bufs[1], 4)
    assert not dev.should_notify()
    assert drv.enable_cb() is False  # something is pending already


def test_no_interrupt_flag_without_event_idx() -> None:
    mem, drv, dev, _ = make_ring(4)
    drv.add(in_=[(0x9000, 4)])
    drv.add(in_=[(0x9000, 4)])
    b0, b1 = dev.pop_all()
    drv.disable_cb()
    assert rd16(mem, drv.layout.avail_flags) == 1
    dev.push_used(b0, 1)
    assert not dev.should_notify()
    drv.enable_cb()
    dev.push_used(b1, 1)
    assert dev.should_notify()


def test_split_kick_suppression() -> None:
    mem, drv, dev, _ = make_ring(8, event_idx=True)
    dev.set_kick_suppression(no_notify=False, avail_event=2)
    drv.add(in_=[(0x9000, 4)])
    assert not drv.kick_prepare()  # idx 0 -> 1
    drv.add(in_=[(0x9000, 4)])
    drv.add(in_=[(0x9000, 4)])
    assert drv.kick_prepare()  # idx 1 -> 3 passes 2


def test_in_order_batch() -> None:
    mem, drv, dev, _ = make_ring(8, in_order=True)
    heads = [drv.add(in_=[(0x9000, 4)]) for _ in range(3)]
    bufs = dev.pop_all()
    e = dev.push_used_in_order(bufs, 4)
    assert e.index == 2 and e.id == heads[-1]
    assert rd16(mem, dev.layout.used_idx) == 3
