"""The request budget: per-second spreading of rpm, and the pause after a 429, in one process
(LocalRateBudget) and across processes (DatabaseRateBudget on the shared RateBudget row)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections

from integration.infra.rate_budget import BUDGET_NAME, DatabaseRateBudget
from integration.models import RateBudget
from integration.vtex.budget import LocalRateBudget, tokens_per_second
from tests.conftest import FakeClock

START = FakeClock.START


def _max_in_window(times: list[float], window: float) -> int:
    """Largest number of grants inside any half-open window [t, t + window)."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - window:
            start += 1
        best = max(best, end - start + 1)
    return best


# ---- tokens_per_second ----------------------------------------------------------------------------


@pytest.mark.parametrize("rpm", [1, 59, 60, 61, 600, 3000, 6000, 600000])
def test_tokens_per_second_never_exceeds_rpm_in_61_partial_seconds(rpm):
    # A sliding 60 s window overlaps 61 one-second slots; all of them full must stay within rpm
    # (except for tiny rpm, where one request per second is the floor).
    per_second = tokens_per_second(rpm)
    assert per_second >= 1
    if rpm >= 61:
        assert per_second * 61 <= rpm
        assert (per_second + 1) * 61 > rpm  # and it does not waste more than one token a second


# ---- LocalRateBudget ------------------------------------------------------------------------------


def test_local_budget_never_hands_out_more_than_per_second_in_one_second():
    # given
    clock = FakeClock(START + 0.4)
    budget = LocalRateBudget(600, clock=clock, sleep=clock.sleep)
    per_second = tokens_per_second(600)
    grants: list[float] = []
    # when: a caller that wants tokens as fast as it can, each request costing 1 ms
    for _ in range(per_second * 5 + 3):
        budget.acquire()
        grants.append(clock())
        clock.advance(0.001)
    # then
    per_slot = Counter(int(moment) for moment in grants)
    assert max(per_slot.values()) == per_second
    assert len(per_slot) == 6
    assert all(count == per_second for second, count in per_slot.items() if second != max(per_slot))


def test_local_budget_waits_for_the_next_second_when_spent():
    # given
    clock = FakeClock(START + 0.25)
    budget = LocalRateBudget(61 * 2, clock=clock, sleep=clock.sleep)  # 2 per second
    # when
    budget.acquire()
    budget.acquire()
    assert clock.sleeps == []
    budget.acquire()
    # then: it slept exactly until the next second began
    assert clock() == pytest.approx(START + 1)
    assert sum(clock.sleeps) == pytest.approx(0.75)


def test_local_budget_tokens_per_second_6000_stays_within_6000_in_any_sliding_minute():
    # given: the worst case, a burst at the very end of a second and demand ever after
    clock = FakeClock(START + 0.99)
    budget = LocalRateBudget(6000, clock=clock, sleep=clock.sleep)
    grants: list[float] = []
    # when: 62 seconds of a caller that never stops asking (each request costs 10 µs)
    while clock() < START + 62:
        budget.acquire()
        grants.append(clock())
        clock.advance(0.00001)
    # then
    busiest_minute = _max_in_window(grants, 60.0)
    assert busiest_minute <= 6000
    # The window from .99 of the first second covers 61 slots: proof the worst case was reached.
    assert busiest_minute == 61 * tokens_per_second(6000)


def test_local_budget_pause_blocks_until_the_pause_ends():
    # given
    clock = FakeClock(START + 0.3)
    budget = LocalRateBudget(6000, clock=clock, sleep=clock.sleep)
    budget.acquire()
    # when
    budget.pause(5)
    budget.acquire()
    # then
    assert clock() >= START + 5.3
    assert clock() == pytest.approx(START + 5.3)
    assert budget.pauses == 1


def test_local_budget_a_shorter_pause_does_not_cut_a_longer_one():
    # given
    clock = FakeClock(START)
    budget = LocalRateBudget(6000, clock=clock, sleep=clock.sleep)
    budget.pause(60)
    clock.advance(1)
    # when
    budget.pause(2)
    budget.acquire()
    # then
    assert clock() == pytest.approx(START + 60)
    assert budget.pauses == 2


# ---- DatabaseRateBudget: two instances play two processes sharing the RateBudget row --------------

db_transactional = pytest.mark.django_db(transaction=True)


@db_transactional
def test_database_budget_two_processes_never_exceed_per_second_together():
    # given: chunked reservations (per_second 20, chunks of 2)
    clock = FakeClock(START + 0.2)
    rpm = 61 * 20
    first = DatabaseRateBudget(rpm, clock=clock, sleep=clock.sleep)
    second = DatabaseRateBudget(rpm, clock=clock, sleep=clock.sleep)
    assert first.per_second == 20 and first.chunk == 2
    grants: list[tuple[str, float]] = []
    # when: both ask in turns, as fast as they can
    for turn in range(120):
        budget, name = (first, "first") if turn % 2 == 0 else (second, "second")
        budget.acquire()
        grants.append((name, clock()))
        clock.advance(0.001)
    # then
    per_slot = Counter(int(moment) for _, moment in grants)
    assert max(per_slot.values()) <= 20
    assert len(per_slot) >= 120 // 20  # the budget made them wait, it did not hand out more
    by_process = Counter(name for name, _ in grants)
    assert by_process == {"first": 60, "second": 60}
    row = RateBudget.objects.get(name=BUDGET_NAME)
    assert row.used <= 20


@db_transactional
def test_database_budget_one_process_cannot_take_tokens_another_already_took():
    # given: per_second 5, reserved one at a time (chunk 1)
    clock = FakeClock(START + 0.5)
    first = DatabaseRateBudget(61 * 5, clock=clock, sleep=clock.sleep)
    second = DatabaseRateBudget(61 * 5, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        first.acquire()
    assert int(clock()) == int(START)  # all five in the same second (only a 1 ms wait for the row)
    # when: the other process wants one in the same second
    second.acquire()
    # then: it waited for the next second
    assert int(clock()) == int(START) + 1


@db_transactional
def test_database_budget_pause_on_one_process_blocks_the_other_until_it_ends():
    # given: chunk 1, so no process holds tokens of its own
    clock = FakeClock(START + 0.1)
    first = DatabaseRateBudget(61 * 5, clock=clock, sleep=clock.sleep)
    second = DatabaseRateBudget(61 * 5, clock=clock, sleep=clock.sleep)
    second.acquire()
    # when: the first process got a 429
    first.pause(30)
    second.acquire()
    # then
    assert clock() >= START + 30.1
    assert clock() == pytest.approx(START + 30.1, abs=0.01)
    row = RateBudget.objects.get(name=BUDGET_NAME)
    assert row.pauses == 1
    assert row.paused_until == pytest.approx(START + 30.1)


@db_transactional
def test_database_budget_pause_stops_the_other_process_even_with_tokens_it_already_held():
    # given: per_second 20 in chunks of 2; the second process holds one token of this second
    clock = FakeClock(START + 0.1)
    first = DatabaseRateBudget(61 * 20, clock=clock, sleep=clock.sleep)
    second = DatabaseRateBudget(61 * 20, clock=clock, sleep=clock.sleep)
    second.acquire()
    # when
    first.pause(30)
    granted_during_pause = 0
    while True:
        second.acquire()
        if clock() >= START + 30.1:
            break
        granted_during_pause += 1
    # then: the tokens it held for this second do not let it send during the pause (the
    # reliability matrix found them sent after another process's 429)
    assert second.chunk > 1, "the second process must hold tokens for this test to mean anything"
    assert granted_during_pause == 0
    assert clock() == pytest.approx(START + 30.1, abs=0.01)


def _then_close_connections(work):
    def run() -> None:
        try:
            work()
        finally:
            connections.close_all()  # this thread's own; the test database is dropped after

    return run


@db_transactional
def test_database_budget_a_429_in_this_process_while_the_pause_is_read_stops_the_request(monkeypatch):
    # given a budget holding tokens for this second
    clock = FakeClock(START + 0.1)
    budget = DatabaseRateBudget(6000, clock=clock, sleep=clock.sleep)
    budget.acquire()
    read = budget._shared_paused_until

    def read_while_another_thread_gets_a_429() -> float:
        paused_until = read()  # not paused yet
        pause = threading.Thread(target=_then_close_connections(lambda: budget.pause(30)))
        pause.start()
        pause.join(2)
        return paused_until

    monkeypatch.setattr(budget, "_shared_paused_until", read_while_another_thread_gets_a_429)
    # when the next request asks for a token
    budget.acquire()
    # then it waited out the pause instead of going with the token it took before the 429
    assert clock() >= START + 30


@db_transactional
def test_database_budget_a_thread_reading_the_shared_pause_does_not_hold_up_the_others(monkeypatch):
    # given: one process's budget holding tokens for this second, and a read of the shared pause
    # that stalls in one thread (a busy database, a thread waiting for the GIL)
    clock = FakeClock(START + 0.1)
    budget = DatabaseRateBudget(6000, clock=clock, sleep=clock.sleep)
    budget.acquire()
    stalled, release = threading.Event(), threading.Event()
    read = budget._shared_paused_until

    def read_the_pause() -> float:
        if threading.current_thread().name == "stalled":
            stalled.set()
            release.wait(10)
        return read()

    monkeypatch.setattr(budget, "_shared_paused_until", read_the_pause)
    slow = threading.Thread(target=_then_close_connections(budget.acquire), name="stalled")
    slow.start()
    assert stalled.wait(5)
    # when another thread asks for a token meanwhile
    other = threading.Thread(target=_then_close_connections(budget.acquire), name="other")
    other.start()
    other.join(2)
    # then it gets one without waiting for the stalled read
    try:
        assert not other.is_alive(), "a thread waited for another thread's read of the shared pause"
    finally:
        release.set()
        slow.join(5)
        other.join(5)
    assert budget._tokens == budget.chunk - 3


@db_transactional
def test_database_budget_pause_counter_increments_and_keeps_the_longest_pause():
    # given
    clock = FakeClock(START)
    first = DatabaseRateBudget(6000, clock=clock, sleep=clock.sleep)
    second = DatabaseRateBudget(6000, clock=clock, sleep=clock.sleep)
    # when
    first.pause(60)
    second.pause(10)
    first.pause(5)
    # then
    row = RateBudget.objects.get(name=BUDGET_NAME)
    assert row.pauses == 3
    assert row.paused_until == pytest.approx(START + 60)


@db_transactional
def test_database_budget_creates_its_row_when_missing():
    # given
    assert not RateBudget.objects.filter(name="other").exists()
    clock = FakeClock(START)
    budget = DatabaseRateBudget(6000, name="other", clock=clock, sleep=clock.sleep)
    # when
    budget.acquire()
    # then
    row = RateBudget.objects.get(name="other")
    assert row.window_start == int(START)
    assert row.used == budget.chunk
