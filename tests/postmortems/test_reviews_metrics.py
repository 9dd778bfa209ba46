"""Pure arithmetic of the weekly review, against answers computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from postmortems import reviews_metrics as rm

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _incident(detect_min=None, resolve_min=None):
    return SimpleNamespace(
        started_at=T0,
        detected_at=T0 + timedelta(minutes=detect_min) if detect_min is not None else None,
        resolved_at=T0 + timedelta(minutes=resolve_min) if resolve_min is not None else None,
    )


def test_mttd_is_the_mean_of_detected_minus_started():
    incidents = [_incident(10, 60), _incident(20, 120), _incident(30)]
    assert rm.mttd_seconds(incidents) == 20 * 60


def test_mttr_leaves_out_unresolved_incidents():
    incidents = [_incident(10, 60), _incident(20, 120), _incident(30)]
    assert rm.mttr_seconds(incidents) == 90 * 60


def test_durations_are_none_without_data():
    assert rm.mttd_seconds([]) is None
    assert rm.mttr_seconds([_incident(5)]) is None


def test_lead_time_is_the_median_over_every_commit_of_every_deploy():
    finished_a = T0
    finished_b = T0 + timedelta(days=1)
    pairs = [
        (finished_a - timedelta(hours=1), finished_a),
        (finished_a - timedelta(hours=3), finished_a),
        (finished_a - timedelta(hours=5), finished_a),
        (finished_b - timedelta(hours=2), finished_b),
        (finished_b - timedelta(hours=10), finished_b),
        (None, finished_b),  # a commit without a time is left out
    ]
    assert rm.lead_time_seconds(pairs) == 3 * 3600


def test_change_failure_rate_is_confirmed_culprits_over_deploys():
    assert rm.change_failure_rate(10, 2) == pytest.approx(0.2)
    assert rm.change_failure_rate(0, 0) is None


def test_deploy_frequency_is_per_day():
    assert rm.deploy_frequency_per_day(14, 7) == 2


def test_week_over_week_change():
    assert rm.change_ratio(120, 100) == pytest.approx(0.2)
    assert rm.change_ratio(80, 100) == pytest.approx(-0.2)
    assert rm.change_ratio(5, 0) is None


@pytest.mark.parametrize(
    ("control", "experiment", "significant"),
    [
        (312, 398, True),  # N = 710, D = 43, D² = 1849 > 710
        (100, 110, False),  # N = 210, D = 5, D² = 25 ≤ 210
        (100, 130, False),  # N = 230, D = 15, D² = 225 ≤ 230: just short
        (100, 132, True),  # N = 232, D = 16, D² = 256 > 232
    ],
)
def test_the_simple_rule_for_a_fifty_fifty_split(control, experiment, significant):
    verdict = rm.significance(
        split=0.5,
        control_trials=5000,
        control_conversions=control,
        experiment_trials=5000,
        experiment_conversions=experiment,
    )
    assert verdict.method.startswith("simple rule")
    assert verdict.significant is significant


def test_chi_squared_matches_a_hand_computed_table():
    # a=20 b=80 / c=40 d=60: chi² = 200·(20·60 - 80·40)² / (100·100·60·140) = 9.5238
    verdict = rm.chi_squared_2x2(100, 20, 100, 40)
    assert verdict.statistic == pytest.approx(9.5238, abs=1e-4)
    assert verdict.significant
    assert verdict.p_value == pytest.approx(0.00203, abs=1e-4)


def test_chi_squared_on_a_second_table():
    # a=100 b=900 / c=130 d=870: chi² = 2000·30000² / (1000·1000·230·1770) = 4.4215
    verdict = rm.chi_squared_2x2(1000, 100, 1000, 130)
    assert verdict.statistic == pytest.approx(4.4215, abs=1e-4)
    assert verdict.significant


def test_chi_squared_at_the_critical_value_has_p_of_five_percent():
    assert rm.chi_squared_2x2(100, 20, 100, 20).statistic == 0
    # p(χ² > 3.841, 1 dof) = 0.05
    import math

    assert math.erfc(math.sqrt(3.841 / 2)) == pytest.approx(0.05, abs=1e-4)


def test_an_uneven_split_uses_the_chi_squared_test_and_says_so():
    verdict = rm.significance(
        split=0.3,
        control_trials=7000,
        control_conversions=420,
        experiment_trials=3000,
        experiment_conversions=222,
    )
    assert verdict.method.startswith("chi-squared")
    assert "χ²" in verdict.detail


def test_chi_squared_without_data_is_not_significant():
    assert not rm.chi_squared_2x2(0, 0, 0, 0).significant


def test_iso_weeks_parse_and_print():
    assert rm.parse_iso_week("2026-W48") == date(2026, 11, 23)
    assert rm.iso_week_of(date(2026, 11, 29)) == "2026-W48"
    assert rm.previous_iso_week(date(2026, 11, 30)) == "2026-W48"
    with pytest.raises(ValueError, match="2026-W48"):
        rm.parse_iso_week("last week")


def test_human_durations():
    assert rm.human_duration(None) == "—"
    assert rm.human_duration(90) == "2m"
    assert rm.human_duration(72 * 60) == "1h 12m"
    assert rm.human_duration(3 * 86400) == "3d 0h"
