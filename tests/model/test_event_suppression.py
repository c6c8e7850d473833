"""Event suppression (virtio.md §4.4, §5) against brute-force ring simulations.

The brute force never uses the 2N / u16 formulas: it records which ring
slots -- as (offset, wrap) pairs, wrap starting at 1 and flipping every lap
-- the device's used position passed in the current batch, and says a DESC
notification is owed iff the slot the driver asked about is among them.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pymodel.event_suppression import (
    NotificationClass,
    NotifyDecision,
    PackedNotifyChecker,
    SplitEvent,
    SplitNotifyChecker,
    packed_decision,
    packed_kick_needed,
    packed_need_event,
    split_decision,
    vring_need_event,
)
from pymodel.memory import SparseMemory
from pymodel.packed_driver import PackedRingDriver
from pymodel.packed_layout import EventFlags, EventSuppress, RingPos
from pymodel.packed_ring import PackedRingDevice
from pymodel.split_driver import SplitRingDriver
from pymodel.split_ring import SplitRingDevice

from .support import MODEL_SETTINGS

pytestmark = pytest.mark.model


def slot_of(absolute: int, n: int) -> tuple[int, bool]:
    """(offset, wrap) of the absolute position; wrap is 1 in lap 0, 0 in lap 1, ..."""
    return absolute % n, (absolute // n) % 2 == 0


def brute_packed(mode: int, ev: tuple[int, bool], passed: set[tuple[int, bool]], event_idx: bool) -> NotifyDecision:
    if mode == 1:
        return NotifyDecision.SUPPRESSED
    if not passed:
        return NotifyDecision.NOT_REQUIRED
    if mode == 2 and event_idx:
        return NotifyDecision.REQUIRED if ev in passed else NotifyDecision.NOT_REQUIRED
    return NotifyDecision.REQUIRED


@MODEL_SETTINGS
@given(st.data())
def test_packed_device_decision_matches_brute_force(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 9), label="N")
    event_idx = data.draw(st.booleans(), label="event_idx")
    mem = SparseMemory()
    drv = PackedRingDriver(mem, n, 0x1000, 0x2000, 0x2004, event_idx=event_idx)
    dev = PackedRingDevice(mem, n, 0x1000, 0x2000, 0x2004, event_idx=event_idx)
    in_flight = []
    used_abs = 0
    eval_abs = 0
    passed: set[tuple[int, bool]] = set()

    def evaluate() -> None:
        nonlocal eval_abs
        snap = dev.read_driver_event()
        expect = brute_packed(snap.flags & 3, (snap.off, snap.wrap), passed, event_idx)
        assert dev.notify_decision() == expect
        passed.clear()
        eval_abs = used_abs

    for _ in range(data.draw(st.integers(1, 80), label="steps")):
        op = data.draw(st.sampled_from(["add", "complete", "consume", "arm", "raw_arm", "eval"]))
        if op == "add" and drv.num_free:
            k = data.draw(st.integers(1, min(3, drv.num_free)))
            drv.add(in_=[(0x9000, 4)] * k)
            in_flight.extend(dev.pop_all())
        elif op == "complete" and in_flight:
            b = in_flight.pop(data.draw(st.integers(0, len(in_flight) - 1)))
            if used_abs + b.ndescs - eval_abs > n:
                evaluate()  # the device evaluates at least once per N (§4.4)
            dev.push_used(b, 0)
            for k in range(b.ndescs):
                passed.add(slot_of(used_abs + k, n))
            used_abs += b.ndescs
        elif op == "consume":
            drv.get_used()
        elif op == "arm":
            how = data.draw(st.sampled_from(["disable", "enable", "delayed"]))
            {"disable": drv.disable_cb, "enable": drv.enable_cb, "delayed": drv.enable_cb_delayed}[how]()
        elif op == "raw_arm":
            off = data.draw(st.integers(0, n - 1))
            drv.set_driver_event(EventSuppress(off, data.draw(st.booleans()), data.draw(st.integers(0, 3))))
        elif op == "eval":
            evaluate()
    evaluate()


@MODEL_SETTINGS
@given(st.data())
def test_split_device_decision_matches_brute_force(data: st.DataObject) -> None:
    n = 1 << data.draw(st.integers(0, 3), label="log2 N")
    event_idx = data.draw(st.booleans(), label="event_idx")
    mem = SparseMemory()
    drv = SplitRingDriver(mem, n, 0x1000, 0x2000, 0x3000, event_idx=event_idx)
    dev = SplitRingDevice(mem, n, 0x1000, 0x2000, 0x3000, event_idx=event_idx)
    start = data.draw(st.sampled_from([0, 0xFFFA]), label="start index")
    drv.avail_idx = drv.last_used = start
    dev.last_avail = dev.used_idx = dev.last_eval = start
    mem.write(0x2002, start.to_bytes(2, "little"))
    mem.write(0x3002, start.to_bytes(2, "little"))
    in_flight = []
    passed: set[int] = set()

    def evaluate() -> None:
        snap = dev.read_driver_event()
        if event_idx:
            expect = (
                NotifyDecision.REQUIRED if snap.used_event in passed else NotifyDecision.NOT_REQUIRED
            )
        elif snap.avail_flags & 1:
            expect = NotifyDecision.SUPPRESSED
        else:
            expect = NotifyDecision.REQUIRED if passed else NotifyDecision.NOT_REQUIRED
        assert dev.notify_decision() == expect
        passed.clear()

    for _ in range(data.draw(st.integers(1, 80), label="steps")):
        op = data.draw(st.sampled_from(["add", "complete", "consume", "arm", "raw_arm", "eval"]))
        if op == "add" and drv.num_free:
            drv.add(in_=[(0x9000, 4)])
            in_flight.extend(dev.pop_all())
        elif op == "complete" and in_flight:
            b = in_flight.pop(data.draw(st.integers(0, len(in_flight) - 1)))
            passed.add(dev.used_idx)
            dev.push_used(b, 0)
        elif op == "consume":
            drv.get_used()
        elif op == "arm":
            how = data.draw(st.sampled_from(["disable", "enable", "delayed"]))
            {"disable": drv.disable_cb, "enable": drv.enable_cb, "delayed": drv.enable_cb_delayed}[how]()
        elif op == "raw_arm":
            mem.write(0x2000, data.draw(st.integers(0, 1)).to_bytes(2, "little"))
            mem.write(0x2004 + 2 * n, data.draw(st.integers(0, 0xFFFF)).to_bytes(2, "little"))
        elif op == "eval":
            evaluate()
    evaluate()


@MODEL_SETTINGS
@given(
    n=st.integers(1, 32768),
    old_abs=st.integers(0, 4 * 32768),
    k=st.integers(0, 32768),
    e_rel=st.integers(-32768, 32767),
)
def test_u16_form_equals_2n_form_within_a_lap(n: int, old_abs: int, k: int, e_rel: int) -> None:
    """QEMU/Linux u16 form (§4.4 cross-check) == 2N form, and == brute force."""
    k = k % (n + 1)
    old, new = slot_of(old_abs, n), slot_of(old_abs + k, n)
    e_abs = old_abs + k + (e_rel % (2 * n)) - n  # anywhere within N of new
    if e_abs < 0:
        e_abs += 2 * n
    ev = slot_of(e_abs, n)
    two_n = packed_need_event(n, ev[0], ev[1], RingPos(*old), RingPos(*new))
    brute = ev in {slot_of(old_abs + i, n) for i in range(k)}
    e16 = ev[0] if ev[1] == new[1] else ev[0] - n
    u16 = vring_need_event(e16 & 0xFFFF, new[0], (new[0] - k) & 0xFFFF)
    assert two_n == brute == u16


@MODEL_SETTINGS
@given(n=st.integers(1, 64), start=st.integers(0, 256), added=st.integers(0, 64), e_rel=st.integers(0, 127))
def test_driver_kick_decision_matches_brute_force(n: int, start: int, added: int, e_rel: int) -> None:
    added %= n + 1
    ev = slot_of(start + added + (e_rel % (2 * n)) - n + 2 * n, n)
    nxt = slot_of(start + added, n)
    brute = ev in {slot_of(start + i, n) for i in range(added)}
    got = packed_kick_needed(n, EventSuppress(ev[0], ev[1], EventFlags.DESC), RingPos(*nxt), added)
    assert got == brute


@MODEL_SETTINGS
@given(old=st.integers(0, 0xFFFF), k=st.integers(0, 0xFFFF), e=st.integers(0, 0xFFFF))
def test_vring_need_event_matches_enumeration(old: int, k: int, e: int) -> None:
    new = (old + k) & 0xFFFF
    brute = any((old + i) & 0xFFFF == e for i in range(k))
    assert vring_need_event(e, new, old) == brute


@pytest.mark.parametrize("flags", [EventFlags.ENABLE, EventFlags.RESERVED])
def test_reserved_flags_value_3_behaves_like_enable(flags: int) -> None:
    ev = EventSuppress(0, True, flags)
    assert packed_decision(4, ev, RingPos(0, True), RingPos(1, True), True) == NotifyDecision.REQUIRED
    assert packed_decision(4, ev, RingPos(1, True), RingPos(1, True), True) == NotifyDecision.NOT_REQUIRED


def test_desc_without_event_idx_behaves_like_enable() -> None:
    ev = EventSuppress(3, False, EventFlags.DESC)
    assert packed_decision(4, ev, RingPos(0, True), RingPos(1, True), False) == NotifyDecision.REQUIRED


def test_desc_offset_beyond_ring_notifies_conservatively() -> None:
    ev = EventSuppress(9, True, EventFlags.DESC)
    assert packed_decision(4, ev, RingPos(0, True), RingPos(1, True), True) == NotifyDecision.REQUIRED


def test_split_no_interrupt_ignored_with_event_idx() -> None:
    assert split_decision(1, 0, 0, 1, event_idx=True) == NotifyDecision.REQUIRED
    assert split_decision(1, 0, 0, 1, event_idx=False) == NotifyDecision.SUPPRESSED


# -- the checker ------------------------------------------------------------------------
@MODEL_SETTINGS
@given(st.data())
def test_checker_classifies_against_brute_force(data: st.DataObject) -> None:
    """A device that sometimes drops or adds notifications, judged by the checker.

    Brute-force rule: an evaluation that finds a notification REQUIRED owes
    one unless a notification was already observed after the used write that
    triggered it (the write containing E for DESC, the batch's last write
    otherwise).
    """
    n = data.draw(st.integers(1, 8), label="N")
    chk = PackedNotifyChecker(n, event_idx=True)
    used_abs, t = 0, 0
    passed: dict[tuple[int, bool], int] = {}  # slot -> end of the write that passed it
    notified_upto = 0
    owed = False  # brute: a required notification has not been sent yet
    for _ in range(data.draw(st.integers(1, 60))):
        t += 1
        op = data.draw(st.sampled_from(["used", "eval", "spurious"]))
        if op == "used":
            k = data.draw(st.integers(1, max(1, n // 2)))
            if len(passed) + k > n:
                continue
            for i in range(k):
                passed[slot_of(used_abs + i, n)] = used_abs + k
            used_abs += k
            chk.on_used(k, t)
        elif op == "eval":
            mode = data.draw(st.sampled_from([0, 1, 2, 3]))
            ev = (data.draw(st.integers(0, n - 1)), data.draw(st.booleans()))
            expect = brute_packed(mode, ev, set(passed), True)
            assert chk.on_evaluate(EventSuppress(ev[0], ev[1], mode), t) == expect
            if expect == NotifyDecision.REQUIRED:
                trigger_end = passed[ev] if mode == 2 else used_abs
                if trigger_end > notified_upto:
                    owed = True
                if data.draw(st.booleans(), label="device notifies"):
                    kind = chk.on_notification(t).kind
                    assert kind == (NotificationClass.REQUIRED if owed else NotificationClass.SPURIOUS)
                    owed = False
                    notified_upto = used_abs
            passed.clear()
            assert (chk.unanswered() is not None) == owed
        else:
            v = chk.on_notification(t)
            assert v.kind == (NotificationClass.REQUIRED if owed else NotificationClass.SPURIOUS)
            owed = False
            notified_upto = used_abs
    if owed:
        r = chk.overdue(now=t + 100, allowance=10)
        assert r is not None and r.eval_time <= t


def test_checker_notification_before_evaluation_answers_it() -> None:
    """A device that notifies before reading the event area still satisfies ENABLE."""
    chk = PackedNotifyChecker(4, event_idx=False)
    chk.on_used(1, time=10)
    assert chk.on_notification(time=11).kind == NotificationClass.SPURIOUS
    assert chk.on_evaluate(EventSuppress(0, True, EventFlags.ENABLE), time=12) == NotifyDecision.REQUIRED
    assert chk.unanswered() is None


def test_checker_flush_catches_device_that_never_evaluates() -> None:
    chk = SplitNotifyChecker(8, event_idx=True)
    chk.on_used(3, time=5)
    assert chk.flush(SplitEvent(0, 1), time=50) == NotifyDecision.REQUIRED
    r = chk.overdue(now=100, allowance=20)
    assert r is not None and r.used_time == 5 and r.position == 3


def test_checker_desc_requirement_points_at_the_triggering_write() -> None:
    chk = PackedNotifyChecker(8, event_idx=True)
    chk.on_used(2, time=1)  # positions 0,1
    chk.on_used(3, time=2)  # positions 2,3,4  <- E = 3 is in this write
    chk.on_used(1, time=3)
    assert chk.on_evaluate(EventSuppress(3, True, EventFlags.DESC), time=4) == NotifyDecision.REQUIRED
    r = chk.unanswered()
    assert r is not None and r.used_time == 2 and r.position == 5
