"""Pure arithmetic of the weekly review: durations, DORA keys, week-over-week change, and the
significance of an experiment. No queries here: callers pass lists of rows (or plain numbers),
so each figure can be checked by hand against a small table.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from .durations import human_duration  # noqa: F401  (re-exported for the review pages)

CHI2_CRITICAL_95_1DOF = 3.841


# --------------------------------------------------------------------------- weeks


def parse_iso_week(value: str) -> date:
    """ "2026-W48" → the Monday of that ISO week. Raises ValueError with a readable message."""
    text = (value or "").strip().upper()
    try:
        year_text, week_text = text.split("-W")
        year, week = int(year_text), int(week_text)
        return date.fromisocalendar(year, week, 1)
    except (ValueError, TypeError):
        raise ValueError(f'"{value}" is not an ISO week; write it like 2026-W48.') from None


def iso_week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def previous_iso_week(today: date) -> str:
    """The last complete ISO week before `today` (on a Monday: the week that just ended)."""
    return iso_week_of(today - timedelta(days=7))


# --------------------------------------------------------------------------- durations


def _seconds(delta: timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None


def mean_seconds(deltas: Iterable[timedelta | None]) -> float | None:
    """Mean of the known durations in seconds (None when none is known). Negative durations
    (a time typed before the start) are data errors and are left out."""
    values = [s for s in (_seconds(d) for d in deltas) if s is not None and s >= 0]
    return sum(values) / len(values) if values else None


def mttd_seconds(incidents: Iterable) -> float | None:
    """Mean time to detect: detected - started (ARCHITECTURE, "Open incident")."""
    return mean_seconds(i.detected_at - i.started_at if i.detected_at else None for i in incidents)


def mttr_seconds(incidents: Iterable) -> float | None:
    """Mean time to restore: resolved - started. Unresolved incidents are not counted yet."""
    return mean_seconds(i.resolved_at - i.started_at if i.resolved_at else None for i in incidents)


# --------------------------------------------------------------------------- DORA


def deploy_frequency_per_day(successful_deploys: int, days: int = 7) -> float:
    """Successful production deploys per day over the period."""
    return successful_deploys / days if days else 0.0


def lead_time_seconds(pairs: Iterable[tuple[datetime | None, datetime]]) -> float | None:
    """Median of (deploy finished - commit committed) over every commit of every deploy.
    Commits without a time, or dated after their deploy (clock skew), are left out."""
    values = [
        (finished - committed).total_seconds()
        for committed, finished in pairs
        if committed is not None and finished >= committed
    ]
    return statistics.median(values) if values else None


def change_failure_rate(deploys: int, confirmed_culprits: int) -> float | None:
    """Share of production deploys that a person confirmed as an incident's culprit."""
    return confirmed_culprits / deploys if deploys else None


# --------------------------------------------------------------------------- business


def aggregate(values: Sequence[float], how: str) -> float | None:
    if not values:
        return None
    return sum(values) if how == "sum" else sum(values) / len(values)


def change_ratio(current: float | None, previous: float | None) -> float | None:
    """Week-over-week change as a ratio (0.12 = +12%); None when it cannot be said."""
    if current is None or previous in (None, 0):
        return None
    return (current - previous) / abs(previous)


# --------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class Significance:
    method: str  # "simple rule (50/50 split)" or "chi-squared test (2x2, 1 dof)"
    significant: bool
    statistic: float  # D² - N for the rule, χ² for the test
    detail: str
    p_value: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def simple_rule(control_conversions: int, experiment_conversions: int) -> Significance:
    """For a 50/50 split: N = total conversions, D = half the difference between the two
    arms; the difference is significant at about 95% when D² > N."""
    n = control_conversions + experiment_conversions
    d = abs(experiment_conversions - control_conversions) / 2
    return Significance(
        method="simple rule (50/50 split)",
        significant=d * d > n,
        statistic=d * d - n,
        detail=f"N = {n}, D = {d:g}, D² = {d * d:g} {'>' if d * d > n else '≤'} N",
    )


def chi_squared_2x2(
    control_trials: int,
    control_conversions: int,
    experiment_trials: int,
    experiment_conversions: int,
) -> Significance:
    """Pearson's χ² on the 2x2 table (arm x converted), 1 degree of freedom, no continuity
    correction; significant at 95% when χ² > 3.841. p = erfc(√(χ²/2)) for 1 dof."""
    a, b = control_conversions, control_trials - control_conversions
    c, d = experiment_conversions, experiment_trials - experiment_conversions
    n = a + b + c + d
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    if n == 0 or denominator == 0:
        return Significance(
            method="chi-squared test (2x2, 1 dof)",
            significant=False,
            statistic=0.0,
            detail="Not enough data: an arm or an outcome has no observations.",
        )
    chi2 = n * (a * d - b * c) ** 2 / denominator
    p = math.erfc(math.sqrt(chi2 / 2))
    return Significance(
        method="chi-squared test (2x2, 1 dof)",
        significant=chi2 > CHI2_CRITICAL_95_1DOF,
        statistic=chi2,
        detail=f"χ² = {chi2:.3f} {'>' if chi2 > CHI2_CRITICAL_95_1DOF else '≤'} 3.841, p = {p:.3g}",
        p_value=p,
    )


def significance(
    *,
    split: float,
    control_trials: int,
    control_conversions: int,
    experiment_trials: int,
    experiment_conversions: int,
) -> Significance:
    """The simple rule for a 50/50 split, a proper χ² test otherwise."""
    if math.isclose(split, 0.5):
        return simple_rule(control_conversions, experiment_conversions)
    return chi_squared_2x2(
        control_trials, control_conversions, experiment_trials, experiment_conversions
    )
