"""The in-flight target: Little's law on the budget and the measured answer times, within bounds."""

from __future__ import annotations

import pytest

from integration.vtex.budget import tokens_per_second
from integration.vtex.concurrency import FLOOR, HEADROOM, InFlightTarget

PER_SECOND = tokens_per_second(6000)  # 98 calls a second: VTEX's 6000 rpm


def settled(answer_s: float, *, per_second: float | None = PER_SECOND, cap: int = 64) -> InFlightTarget:
    target = InFlightTarget(per_second=per_second, cap=cap)
    for _ in range(200):
        target.observe(answer_s)
    return target


@pytest.mark.parametrize(("answer_s", "expected"), [(0.05, 8), (0.2, 30), (0.5, 64)])
def test_the_target_is_calls_a_second_times_answer_time_with_headroom(answer_s, expected):
    # 98/s × 50 ms × 1.5 = 7.35 → 8; × 200 ms → 29.4 → 30; × 500 ms → 73.5, capped at 64
    assert settled(answer_s).target() == expected
    assert HEADROOM == 1.5


def test_a_long_tail_counts_by_its_mean():
    # 90 % at 150 ms, 10 % at 1.5 s: mean 285 ms, so 98 × 0.285 × 1.5 = 41.9 → about 42
    target = InFlightTarget(per_second=PER_SECOND, cap=64)
    for _ in range(50):
        for answer_s in [0.15] * 9 + [1.5]:
            target.observe(answer_s)
    assert 34 <= target.target() <= 50  # it moves a little with each slow answer


def test_the_target_follows_vtex_slowing_down_and_speeding_up():
    target = settled(0.05)
    before = target.target()
    for _ in range(60):
        target.observe(0.4)
    slower = target.target()
    for _ in range(60):
        target.observe(0.05)
    assert before < slower and target.target() < slower


def test_never_below_the_floor_nor_above_the_cap():
    assert settled(0.001).target() == FLOOR
    assert settled(5.0).target() == 64
    assert settled(0.001, cap=2).target() == 2  # a cap below the floor wins


def test_no_budget_means_the_cap_and_a_fixed_override_never_moves():
    assert settled(0.02, per_second=None, cap=40).target() == 40
    fixed = InFlightTarget(per_second=PER_SECOND, cap=64, fixed=8)
    for _ in range(100):
        fixed.observe(1.0)
    assert fixed.target() == 8 and not fixed.adaptive
    assert "VTEX_CONCURRENCY" in fixed.describe()


def test_the_first_answers_replace_the_initial_guess():
    target = InFlightTarget(per_second=PER_SECOND, cap=64)
    target.observe(0.1)
    assert target.mean_answer_s == pytest.approx(0.1)
