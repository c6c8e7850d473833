"""Coalescing bounds (virtio.md §6.6); expectations computed by hand from the text."""

from __future__ import annotations

import pytest

from pymodel.coalescing import CoalescingParams, CoalescingTiming, QueueCoalescing

pytestmark = pytest.mark.model

US = 1000
SLACK = 50


def test_no_coalescing_when_either_parameter_is_zero() -> None:
    for p in (CoalescingParams(0, 0), CoalescingParams(8, 0), CoalescingParams(0, 100)):
        q = QueueCoalescing(p)
        q.on_packet(1000)
        assert q.condition_time() == 1000
        assert q.latest(trigger=1000, slack=SLACK) == 1050
        assert q.on_notification(1020) == CoalescingTiming.ON_TIME


def test_timer_from_first_packet() -> None:
    q = QueueCoalescing(CoalescingParams(max_packets=10, max_usecs=5))
    q.on_packet(1000)
    q.on_packet(2000)
    q.on_packet(3000)
    # condition: 5 us after the first packet (count 3 < 10)
    assert q.condition_time() == 1000 + 5 * US
    assert q.latest(trigger=3000, slack=SLACK) == 6000 + SLACK
    assert q.on_notification(4000) == CoalescingTiming.EARLY
    assert q.pending == 0


def test_packet_count_reached_first() -> None:
    q = QueueCoalescing(CoalescingParams(max_packets=3, max_usecs=100))
    for t in (10, 20, 30, 40):
        q.on_packet(t)
    assert q.condition_time() == 30  # the third packet
    assert q.latest(trigger=40, slack=SLACK) == 40 + SLACK
    assert q.on_notification(35) == CoalescingTiming.ON_TIME


def test_counters_restart_after_notification() -> None:
    q = QueueCoalescing(CoalescingParams(max_packets=2, max_usecs=10))
    q.on_packet(0)
    q.on_packet(1)
    q.on_notification(5)
    q.on_packet(100)
    assert q.condition_time() == 100 + 10 * US
    assert q.on_notification(150) == CoalescingTiming.EARLY
    assert q.on_notification(160) == CoalescingTiming.NO_PENDING


def test_parameter_change_reevaluates_at_once() -> None:
    # §6.6: 10 packets pending, new max_packets = 8 -> notify immediately.
    q = QueueCoalescing(CoalescingParams(max_packets=16, max_usecs=1000))
    for t in range(10):
        q.on_packet(t)
    q.set_params(CoalescingParams(max_packets=8, max_usecs=1000), time=500)
    assert q.latest(trigger=9, slack=SLACK) == 500 + SLACK
    q.on_notification(520)
    # and switching coalescing off with packets pending also fires at once
    q.on_packet(600)
    q.set_params(CoalescingParams(0, 0), time=700)
    assert q.latest(trigger=600, slack=SLACK) == 700 + SLACK


def test_quiet_evaluation_is_a_possible_reset_point() -> None:
    q = QueueCoalescing(CoalescingParams(max_packets=2, max_usecs=10))
    q.on_packet(0)
    q.on_quiet_evaluation(5)  # suppressed: the device may have reset its counters
    q.on_packet(20 * US)
    assert q.latest(trigger=20 * US, slack=SLACK) == 30 * US + SLACK


def test_reset_clears_parameters() -> None:
    q = QueueCoalescing(CoalescingParams(4, 4))
    q.on_packet(1)
    q.reset()
    assert q.params == CoalescingParams(0, 0) and q.pending == 0


def test_wire_format() -> None:
    p = CoalescingParams(max_packets=0x01020304, max_usecs=0x0A0B0C0D)
    assert p.pack() == bytes([4, 3, 2, 1, 0x0D, 0x0C, 0x0B, 0x0A])
    assert CoalescingParams.unpack(p.pack()) == p
