"""The immune system's judge: is a deploy's window after worse than its baselines? (pure Python)

No Django here: plain numbers and datetimes in, a verdict out, so the benchmark and the unit tests
drive it directly. The approach is Kayenta's (Netflix/Spinnaker canary analysis): validate the
data, compare each metric in its *bad direction* with a one-sided Mann-Whitney U test, score the
run, and let a critical metric fail the whole of it.

- A metric fails when the window after the deploy is significantly worse (p < alpha) than the
  window before it AND than the same window one week earlier (seasonality: Monday 09:00 logins
  rise every week), and the change of the medians is at least the metric's `min_change`. With
  no week-old data it is judged against the window before only, and the reason says so.
- `regressed` when a critical metric fails or half or more of the judged ones fail; `marginal`
  when a non-critical one fails; `healthy` when all pass; `no_data` when no metric had enough
  points (each metric says how many it needs).

Mann-Whitney U is implemented here (normal approximation with tie correction and continuity
correction): a dozen lines instead of a scipy dependency; at 10 to 60 points per window the
approximation is within a few percent of the exact p-value, far below what moves a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any, Literal

Direction = Literal["drop", "rise", "both"]
DIRECTIONS: tuple[str, ...] = ("drop", "rise", "both")

WATCHING = "watching"
HEALTHY = "healthy"
MARGINAL = "marginal"
REGRESSED = "regressed"
NO_DATA = "no_data"

# The fewest points per window with which a one-sided test can reach p < 0.01 (exact minimum
# p for 5 vs 5 is 1/252 ≈ 0.004; for 4 vs 4 it is 1/70 ≈ 0.014).
MIN_POINTS = 5


# --- the test -----------------------------------------------------------------------------------


def _ranks(values: Sequence[float]) -> tuple[list[float], float]:
    """Average ranks (1-based) of `values`, and the tie term sum(t^3 - t) over groups of ties."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        average = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = average
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    return ranks, ties


def _normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def mann_whitney_p(
    after: Sequence[float], baseline: Sequence[float], direction: Direction
) -> float:
    """One-sided p-value that `after` is stochastically smaller ("drop") or larger ("rise") than
    `baseline`; "both" is the smaller of the two, doubled (two-sided). 1.0 when all values tie."""
    n1, n2 = len(after), len(baseline)
    if n1 == 0 or n2 == 0:
        return 1.0
    ranks, ties = _ranks([*after, *baseline])
    n = n1 + n2
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2  # U of `after`: large when after is larger
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    sd = math.sqrt(variance)
    p_rise = _normal_sf((u - mean - 0.5) / sd)
    p_drop = _normal_sf((mean - u - 0.5) / sd)
    if direction == "drop":
        return min(1.0, p_drop)
    if direction == "rise":
        return min(1.0, p_rise)
    return min(1.0, 2 * min(p_rise, p_drop))


def relative_change(after_median: float, baseline_median: float) -> float:
    """(after - baseline) / |baseline|; ±1.0 from a zero baseline, 0.0 when both are zero."""
    if baseline_median == 0:
        if after_median == 0:
            return 0.0
        return math.copysign(1.0, after_median)
    return (after_median - baseline_median) / abs(baseline_median)


def _in_bad_direction(change: float, direction: Direction) -> bool:
    if direction == "drop":
        return change < 0
    if direction == "rise":
        return change > 0
    return change != 0


# --- one metric ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricInput:
    name: str
    after: Sequence[float]
    before: Sequence[float]
    week_ago: Sequence[float] = ()
    bad_direction: Direction = "drop"
    critical: bool = False
    min_change: float = 0.05
    label: str = ""


@dataclass
class MetricResult:
    name: str
    passed: bool | None  # None: not judged (too few points)
    critical: bool
    bad_direction: str
    baseline_median: float | None
    after_median: float | None
    change: float | None
    p_value: float | None
    reason: str
    week_p_value: float | None = None
    week_median: float | None = None
    points: dict[str, int] = field(default_factory=dict)
    label: str = ""

    @property
    def judged(self) -> bool:
        return self.passed is not None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pct(change: float) -> str:
    return f"{change * 100:+.1f}%".replace("-", "\u2212")


def judge_metric(
    metric: MetricInput, *, alpha: float = 0.01, min_points: int = MIN_POINTS
) -> MetricResult:
    """Judge one metric: see the module's docstring."""
    points = {
        "after": len(metric.after),
        "before": len(metric.before),
        "week_ago": len(metric.week_ago),
    }
    base: dict[str, Any] = {
        "name": metric.name,
        "critical": metric.critical,
        "bad_direction": metric.bad_direction,
        "points": points,
        "label": metric.label,
    }
    short = [w for w in ("after", "before") if points[w] < min_points]
    if short:
        got = ", ".join(f"{points[w]} in the window {w}" for w in short)
        return MetricResult(
            **base,
            passed=None,
            baseline_median=median(metric.before) if metric.before else None,
            after_median=median(metric.after) if metric.after else None,
            change=None,
            p_value=None,
            reason=f"Too few points: {min_points} needed in each window, got {got}.",
        )
    after_median = float(median(metric.after))
    baseline_median = float(median(metric.before))
    change = relative_change(after_median, baseline_median)
    p_value = mann_whitney_p(metric.after, metric.before, metric.bad_direction)
    big_enough = abs(change) >= metric.min_change and _in_bad_direction(
        change, metric.bad_direction
    )
    fails_before = p_value < alpha and big_enough
    has_week = points["week_ago"] >= min_points
    week_p = week_median = None
    if has_week:
        week_median = float(median(metric.week_ago))
        week_change = relative_change(after_median, week_median)
        week_p = mann_whitney_p(metric.after, metric.week_ago, metric.bad_direction)
        fails_week = (
            week_p < alpha
            and abs(week_change) >= metric.min_change
            and _in_bad_direction(week_change, metric.bad_direction)
        )
    else:
        fails_week = True  # nothing to contradict the window before
    failed = fails_before and fails_week
    week_note = (
        ""
        if has_week
        else (
            f" No week-old data ({points['week_ago']} points a week earlier): "
            "judged against the window before only."
        )
    )
    if failed:
        reason = (
            f"{_pct(change)} (median {baseline_median:g} → {after_median:g}), "
            f"p={p_value:.2g} < alpha={alpha:g}"
            + (f"; also worse than a week earlier (p={week_p:.2g})" if has_week else "")
            + "."
        )
    elif fails_before and not fails_week:
        reason = (
            f"{_pct(change)} against the window before, but the same window a week earlier "
            f"was as low (median {week_median:g}): seasonal, passed."
        )
    elif p_value < alpha and not big_enough:
        reason = (
            f"{_pct(change)} is significant (p={p_value:.2g}) but smaller than "
            f"{metric.min_change * 100:g}% or not in the bad direction: passed."
        )
    else:
        reason = f"{_pct(change)}, p={p_value:.2g} (alpha={alpha:g}): passed."
    return MetricResult(
        **base,
        passed=not failed,
        baseline_median=baseline_median,
        after_median=after_median,
        change=change,
        p_value=p_value,
        reason=reason + week_note,
        week_p_value=week_p,
        week_median=week_median,
    )


# --- the verdict --------------------------------------------------------------------------------


@dataclass
class Verdict:
    status: str
    score: float | None  # percentage of judged metrics that passed
    metrics: list[MetricResult]
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[MetricResult]:
        return [m for m in self.metrics if m.passed is False]

    @property
    def worst(self) -> MetricResult | None:
        """The failed metric to name the incident after: critical first, then the largest change."""
        failed = self.failed
        if not failed:
            return None
        return max(failed, key=lambda m: (m.critical, abs(m.change or 0.0)))


def judge(
    metrics: Sequence[MetricInput],
    *,
    alpha: float = 0.01,
    min_points: int = MIN_POINTS,
    notes: Sequence[str] = (),
) -> Verdict:
    """The verdict over all watched metrics of one deploy."""
    notes = list(notes)
    if not metrics:
        return Verdict(NO_DATA, None, [], [*notes, "No watched metric applies to this deploy."])
    results = [judge_metric(m, alpha=alpha, min_points=min_points) for m in metrics]
    judged = [r for r in results if r.judged]
    if not judged:
        return Verdict(
            NO_DATA,
            None,
            results,
            [*notes, f"No watched metric had {min_points} points in both windows."],
        )
    failed = [r for r in judged if not r.passed]
    score = round(100 * (len(judged) - len(failed)) / len(judged), 1)
    if any(r.critical for r in failed) or (failed and 2 * len(failed) >= len(judged)):
        status = REGRESSED
    elif failed:
        status = MARGINAL
    else:
        status = HEALTHY
    skipped = len(results) - len(judged)
    if skipped:
        notes.append(f"{skipped} metric(s) not judged: too few points.")
    return Verdict(status, score, results, notes)


# --- the windows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    before: tuple[datetime, datetime]
    after: tuple[datetime, datetime]
    week_ago: tuple[datetime, datetime]
    notes: tuple[str, ...] = ()


def plan_windows(
    finished_at: datetime,
    seconds: float,
    *,
    previous_end: datetime | None = None,
    next_end: datetime | None = None,
) -> Windows:
    """The windows before and after a deploy that finished at `finished_at`, `seconds` long.

    Another deploy of the same service inside a window shortens it at that deploy (its effect is
    not this deploy's), and a note says so. The week-ago window is the after window's minus 7 days.
    Windows are half-open on the deploy's side: before = [start, end), after = (end, stop].
    """
    span = timedelta(seconds=seconds)
    notes: list[str] = []
    before_start = finished_at - span
    if previous_end is not None and before_start < previous_end < finished_at:
        before_start = previous_end
        notes.append(
            "Another deploy of this service finished "
            f"{_minutes(finished_at - previous_end)} before: the window before is shortened."
        )
    after_end = finished_at + span
    if next_end is not None and finished_at < next_end < after_end:
        after_end = next_end
        notes.append(
            "The next deploy of this service finished "
            f"{_minutes(next_end - finished_at)} after: the window after is shortened."
        )
    week = timedelta(days=7)
    return Windows(
        before=(before_start, finished_at),
        after=(finished_at, after_end),
        week_ago=(finished_at - week, after_end - week),
        notes=tuple(notes),
    )


def _minutes(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.1f} min" if minutes < 10 else f"{minutes:.0f} min"
