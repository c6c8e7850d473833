"""virtio.md §4.5 worked example (N = 4, EVENT_IDX), step by step.

Every expected number below is copied from the table in §4.5, not computed
by the model.
"""

from __future__ import annotations

import pytest

from pymodel.event_suppression import (
    NotifyDecision,
    PackedNotifyChecker,
    NotificationClass,
    packed_need_event,
    vring_need_event,
)
from pymodel.packed_driver import PackedRingDriver
from pymodel.packed_layout import EventFlags, EventSuppress, RingPos
from pymodel.packed_ring import PackedRingDevice

from .support import RecordingMemory

pytestmark = pytest.mark.model

N = 4
DESC, DRV_EV, DEV_EV = 0x1000, 0x2000, 0x2010
A_BUF, B_HDR, B_DATA, C_BUF, D_BUF = 0x10000, 0x11000, 0x12000, 0x13000, 0x14000


def flags_at(mem: RecordingMemory, slot: int) -> int:
    return int.from_bytes(mem.read(DESC + 16 * slot + 14, 2), "little")


def desc_at(mem: RecordingMemory, slot: int) -> tuple[int, int, int]:
    raw = mem.read(DESC + 16 * slot, 16)
    return (
        int.from_bytes(raw[8:12], "little"),
        int.from_bytes(raw[12:14], "little"),
        int.from_bytes(raw[14:16], "little"),
    )


def off_wrap(mem: RecordingMemory) -> int:
    return int.from_bytes(mem.read(DRV_EV, 2), "little")


def test_worked_example_4_5() -> None:
    mem = RecordingMemory()
    drv = PackedRingDriver(mem, N, DESC, DRV_EV, DEV_EV, event_idx=True)
    dev = PackedRingDevice(mem, N, DESC, DRV_EV, DEV_EV, event_idx=True)
    chk = PackedNotifyChecker(N, event_idx=True)

    # t0: driver posts A, B, C; driver event off_wrap = 0x8000, flags = DESC.
    drv.set_driver_event(EventSuppress(0, True, EventFlags.DESC))
    mem.writes.clear()
    assert drv.add(in_=[(A_BUF, 1500)]) == 0
    assert drv.add(out=[(B_HDR, 12)], in_=[(B_DATA, 1500)]) == 1
    assert drv.add(in_=[(C_BUF, 64)]) == 2
    assert [flags_at(mem, s) for s in range(4)] == [0x0082, 0x0081, 0x0082, 0x0082]
    assert drv.next_avail == RingPos(0, False)  # Wd -> 0, next_avail = (0,0)
    # slot 0's flags are written after every other byte of buffer A (head last)
    flag_writes = [a for a, d in mem.writes if (a - DESC) % 16 == 14 and len(d) == 2]
    assert flag_writes[0] == DESC + 14
    assert mem.read(DRV_EV, 4) == bytes([0x00, 0x80, 0x02, 0x00])

    # t1: device reads slots 0-3; after slot 3 Wa -> 0.
    a, b, c = dev.pop(), dev.pop(), dev.pop()
    assert a is not None and b is not None and c is not None
    assert (a.id, b.id, c.id) == (0, 1, 2)
    assert b.ndescs == 2 and [s.writable for s in b.segments] == [False, True]
    assert dev.pop() is None
    assert dev.avail == RingPos(0, False)

    # t2: B completes first, len 100, used at u=0 -> u=(2,1). E=4, old=4, new=6 -> notify.
    e = dev.push_used(b, 100)
    chk.on_used(e.skip, time=2)
    assert (e.slot, e.id, e.len, e.flags) == (0, 1, 100, 0x8082)
    assert desc_at(mem, 0) == (100, 1, 0x8082)
    assert dev.used == RingPos(2, True)
    assert chk.on_evaluate(dev.read_driver_event(), time=2) == NotifyDecision.REQUIRED
    assert dev.notify_decision() == NotifyDecision.REQUIRED
    assert chk.on_notification(time=2).kind == NotificationClass.REQUIRED

    # t3: driver sees slot 0 used (id1), skips 2 -> last_used (2,1), re-arms 0x8002.
    u = drv.get_used()
    assert u is not None and (u.id, u.len, u.flags) == (1, 100, 0x8082)
    assert drv.last_used == RingPos(2, True)
    assert off_wrap(mem) == 0x8002

    # t4: A completes, len 1500, at u=2 -> (3,1). E=6, old=6, new=7 -> notify.
    e = dev.push_used(a, 1500)
    chk.on_used(e.skip, time=4)
    assert (e.slot, e.flags) == (2, 0x8082)
    assert dev.used == RingPos(3, True)
    assert chk.on_evaluate(dev.read_driver_event(), time=4) == NotifyDecision.REQUIRED
    assert dev.should_notify()
    chk.on_notification(time=4)

    # t5: driver consumes A -> (3,1), re-arms 0x8003; posts D (id0) at slot 0, lap 0.
    u = drv.get_used()
    assert u is not None and u.id == 0 and u.len == 1500
    assert drv.last_used == RingPos(3, True)
    assert off_wrap(mem) == 0x8003
    assert drv.add(in_=[(D_BUF, 1500)]) == 0
    assert flags_at(mem, 0) == 0x8002
    assert drv.next_avail == RingPos(1, False)
    assert drv.notification_data(vq_index=0) == (1 << 16) | (0 << 31)

    # t6: device, Wa=0: slot 0 AVAIL=0=Wa, USED=1 != Wa -> available.
    d = dev.pop()
    assert d is not None and d.id == 0 and d.head == 0

    # t7: C completes, len 64, at u=3 -> wraps to (0,0). E=7, old=7, new=0 -> notify.
    e = dev.push_used(c, 64)
    chk.on_used(e.skip, time=7)
    assert (e.slot, e.id, e.flags) == (3, 2, 0x8082)
    assert dev.used == RingPos(0, False)
    assert chk.on_evaluate(dev.read_driver_event(), time=7) == NotifyDecision.REQUIRED
    assert dev.should_notify()
    chk.on_notification(time=7)

    # t8: driver consumes slot 3 -> last_used (0,0); re-arms 0x0000.
    u = drv.get_used()
    assert u is not None and u.id == 2 and u.len == 64
    assert drv.last_used == RingPos(0, False)
    assert off_wrap(mem) == 0x0000

    # t9: D completes, len 0, at u=0: flags 0x0000. E=0, old=0, new=1 -> notify.
    e = dev.push_used(d, 0)
    chk.on_used(e.skip, time=9)
    assert desc_at(mem, 0) == (0, 0, 0x0000)
    assert chk.on_evaluate(dev.read_driver_event(), time=9) == NotifyDecision.REQUIRED
    assert dev.should_notify()
    assert chk.on_notification(time=9).kind == NotificationClass.REQUIRED
    assert chk.unanswered() is None

    u = drv.get_used()
    assert u is not None and (u.id, u.len, u.flags) == (0, 0, 0x0000)


def test_worked_example_t9_variant_armed_0x0002_no_notify() -> None:
    # "If the driver had armed 0x0002 instead: (1-2-1)%8 = 6 >= 1 -> no notify."
    assert not packed_need_event(N, 2, False, RingPos(0, False), RingPos(1, False))


@pytest.mark.parametrize(
    ("ev", "old", "new", "expected"),
    [
        ((0, True), (0, True), (2, True), True),  # t2: E=4 old=4 new=6
        ((2, True), (2, True), (3, True), True),  # t4: E=6 old=6 new=7
        ((3, True), (3, True), (0, False), True),  # t7: E=7 old=7 new=0
        ((0, False), (0, False), (1, False), True),  # t9: E=0 old=0 new=1
        ((2, False), (0, False), (1, False), False),  # t9 variant
    ],
)
def test_worked_example_event_checks(
    ev: tuple[int, bool], old: tuple[int, bool], new: tuple[int, bool], expected: bool
) -> None:
    assert packed_need_event(N, ev[0], ev[1], RingPos(*old), RingPos(*new)) is expected


def test_worked_example_t7_u16_form() -> None:
    # off=3, wrap bit != Wu so off = -1 = 0xFFFF, old = 0xFFFF, new = 0 -> 0 < 1.
    assert vring_need_event(0xFFFF, 0, 0xFFFF)


def test_split_examples_of_section_5() -> None:
    assert vring_need_event(5, 7, 3)  # used_event=5, old=3, new=7 -> 1 < 4
    assert vring_need_event(0, 2, 0xFFFE)  # wrap example -> 1 < 4
