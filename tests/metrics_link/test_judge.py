"""The immune system's pure judge (metrics_link/judge.py) on generated series."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from metrics_link.judge import (
    HEALTHY,
    MARGINAL,
    NO_DATA,
    REGRESSED,
    MetricInput,
    judge,
    judge_metric,
    mann_whitney_p,
    plan_windows,
)


def noisy(level: float, n: int = 10, noise: float = 0.03, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [level * (1 + rng.gauss(0, noise)) for _ in range(n)]


def metric(after_level, before_level=100.0, week_level=None, **kwargs) -> MetricInput:
    return MetricInput(
        name=kwargs.pop("name", "logins"),
        after=noisy(after_level, seed=2),
        before=noisy(before_level, seed=3),
        week_ago=noisy(week_level, seed=4) if week_level is not None else (),
        **kwargs,
    )


def test_the_u_test_matches_a_known_value():
    # Textbook: 1..5 vs 6..10 has U = 0; the normal approximation (continuity) gives p ≈ 0.006.
    p = mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], "drop")
    assert 0.004 < p < 0.008
    assert mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], "rise") > 0.99


def test_all_tied_values_give_no_evidence():
    assert mann_whitney_p([3, 3, 3, 3, 3], [3, 3, 3, 3, 3], "both") == 1.0


def test_a_third_fewer_logins_fails_against_both_baselines():
    result = judge_metric(metric(66, week_level=100))
    assert result.passed is False
    assert result.change == pytest.approx(-0.34, abs=0.03)
    assert result.p_value < 0.01 and result.week_p_value < 0.01


def test_a_drop_that_also_happened_a_week_earlier_is_seasonal_and_passes():
    result = judge_metric(metric(66, week_level=66))
    assert result.passed is True
    assert "seasonal" in result.reason


def test_a_rise_of_a_drop_metric_passes():
    assert judge_metric(metric(150)).passed is True


def test_latency_that_rises_fails_when_rise_is_bad():
    assert judge_metric(metric(150, bad_direction="rise")).passed is False


def test_both_directions_catch_either_change():
    assert judge_metric(metric(150, bad_direction="both")).passed is False
    assert judge_metric(metric(60, bad_direction="both")).passed is False


def test_a_significant_change_below_the_minimum_passes():
    sharp = MetricInput(
        name="logins",
        after=[97.0 + i * 0.01 for i in range(20)],
        before=[100.0 + i * 0.01 for i in range(20)],
        min_change=0.05,
    )
    result = judge_metric(sharp)
    assert result.p_value < 0.01
    assert result.passed is True
    assert "smaller than 5%" in result.reason


def test_without_week_old_data_the_result_says_so():
    result = judge_metric(metric(60))
    assert result.passed is False
    assert "judged against the window before only" in result.reason


def test_too_few_points_say_how_many_are_needed():
    result = judge_metric(MetricInput(name="logins", after=[1.0, 2.0], before=noisy(100)))
    assert result.passed is None
    assert "5 needed" in result.reason and "2 in the window after" in result.reason
    verdict = judge([MetricInput(name="logins", after=[], before=[])])
    assert verdict.status == NO_DATA and verdict.score is None


def test_no_watched_metric_is_no_data_with_a_reason():
    verdict = judge([])
    assert verdict.status == NO_DATA
    assert "No watched metric" in verdict.notes[0]


def test_a_critical_failure_regresses_the_deploy():
    verdict = judge(
        [
            metric(60, name="revenue", critical=True),
            metric(100, name="logins"),
            metric(100, name="signups"),
        ]
    )
    assert verdict.status == REGRESSED
    assert verdict.worst.name == "revenue"
    assert verdict.score == pytest.approx(66.7)


def test_one_non_critical_failure_of_three_is_marginal():
    verdict = judge([metric(60, name="a"), metric(100, name="b"), metric(100, name="c")])
    assert verdict.status == MARGINAL


def test_half_failing_regresses():
    verdict = judge([metric(60, name="a"), metric(100, name="b")])
    assert verdict.status == REGRESSED


def test_all_passing_is_healthy_with_full_score():
    verdict = judge([metric(100, name="a"), metric(101, name="b")])
    assert verdict.status == HEALTHY and verdict.score == 100.0


def test_healthy_generated_deploys_are_rarely_flagged():
    flagged = 0
    for seed in range(300):
        m = MetricInput(
            name="x", after=noisy(100, seed=seed), before=noisy(100, seed=seed + 10_000)
        )
        flagged += judge_metric(m).passed is False
    assert flagged <= 3  # ≤ 1%


def test_an_overlapping_deploy_shortens_the_windows_and_says_so():
    end = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    windows = plan_windows(
        end,
        600,
        previous_end=end - timedelta(minutes=4),
        next_end=end + timedelta(minutes=3),
    )
    assert windows.before == (end - timedelta(minutes=4), end)
    assert windows.after == (end, end + timedelta(minutes=3))
    assert windows.week_ago == (
        end - timedelta(days=7),
        end + timedelta(minutes=3) - timedelta(days=7),
    )
    assert len(windows.notes) == 2 and "shortened" in windows.notes[0]


def test_deploys_outside_the_window_change_nothing():
    end = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    windows = plan_windows(end, 600, previous_end=end - timedelta(hours=1))
    assert windows.before == (end - timedelta(minutes=10), end)
    assert windows.notes == ()
