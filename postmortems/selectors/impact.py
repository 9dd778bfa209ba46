"""Reads for the alerts & business-metrics feature (issue 4): what an incident cost.

For each business series of the incident's services plus the company-wide ones: the points over
the incident window with margins, against the same window one week earlier (shifted onto the same
time axis), and the difference summed over the window itself (start → mitigation, else
resolution, else now: the time users suffered). All stored series' points are read in ONE
query; a series with a PromQL query (and PROMETHEUS_URL set) is read from Prometheus with the
reader the immune system uses (`query_range`, with a timeout): a timeout or an error gives that
series no points ("no data" on the page), never a 500.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString

from metrics_link.charts import Series, format_value, line_chart
from metrics_link.models import Alert, MetricPoint, MetricSeries
from metrics_link.prometheus import reads_from_prometheus, series_points
from metrics_link.times import shift_time

from ..models import Incident, IncidentAlert

WEEK = timedelta(days=7)
MIN_MARGIN = timedelta(minutes=30)
MAX_MARGIN = timedelta(hours=6)
# A difference smaller than this share of last week's total is noise, not damage.
NOISE_SHARE = 0.01


@dataclass
class SeriesImpact:
    series: MetricSeries
    current: list[tuple[datetime, float]] = field(default_factory=list)  # window + margins
    previous: list[tuple[datetime, float]] = field(default_factory=list)  # shifted by +1 week
    difference: float = 0.0  # this window minus the same window a week earlier
    baseline: float = 0.0  # last week's total (sum) or mean over the matched points
    matched: int = 0  # points present in both weeks inside the window
    in_window: int = 0  # this week's points inside the window
    window: tuple[datetime, datetime] | None = None
    ongoing: bool = False  # the incident is not mitigated yet: its window runs to now
    chart_range: tuple[datetime, datetime] | None = None  # what the chart's x axis spans

    @property
    def has_data(self) -> bool:
        """Any point of this week around the incident: without one there is nothing to draw."""
        return bool(self.current)

    @property
    def is_sum(self) -> bool:
        return self.series.aggregation == MetricSeries.Aggregation.SUM

    @property
    def is_noise(self) -> bool:
        return self.matched == 0 or abs(self.difference) < NOISE_SHARE * abs(self.baseline)

    @property
    def direction(self) -> str:
        if self.is_noise:
            return "same"
        return "down" if self.difference < 0 else "up"

    def sentence(self) -> str:
        return impact_sentence(self)


def incident_window(incident: Incident, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(start, end) of the time users suffered: start → mitigation, else resolution, else now."""
    now = now or timezone.now()
    end = incident.mitigated_at or incident.resolved_at or now
    return incident.started_at, max(end, incident.started_at)


def chart_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    margin = min(max((end - start) / 2, MIN_MARGIN), MAX_MARGIN)
    return shift_time(start, -margin), shift_time(end, margin)


def business_series_for(incident: Incident) -> QuerySet[MetricSeries]:
    """Business series of the incident's services, then the company-wide ones."""
    return (
        MetricSeries.objects.filter(kind=MetricSeries.Kind.BUSINESS)
        .filter(Q(service__in=incident.services.values("pk")) | Q(service__isnull=True))
        .select_related("service")
        .order_by(F("service__slug").asc(nulls_last=True), "name")
    )


def _round_significant(value: float, digits: int = 3) -> float:
    if value == 0 or not math.isfinite(value):
        return 0.0
    if abs(value) < 1000:
        return float(round(value))
    return float(round(value, digits - 1 - math.floor(math.log10(abs(value)))))


def _amount(value: float, unit: str) -> str:
    number = f"{_round_significant(abs(value)):,.0f}"
    return f"${number}" if unit in ("$", "USD") else number


def impact_sentence(impact: SeriesImpact) -> str:
    """'≈ 1,240 fewer logins than the week before', '≈ $3,100 less revenue than the week before'."""
    series = impact.series
    label = (series.label or series.name.replace("-", " ")).lower()
    if not impact.current:
        return f"No {label} data around this incident."
    if impact.in_window == 0 and impact.ongoing and impact.window:
        since = timezone.localtime(impact.window[0]).strftime("%H:%M")
        return f"No {label} data yet since the incident started at {since}."
    if impact.in_window == 0:
        return f"No {label} data during the incident."
    if impact.matched == 0:
        return f"No {label} data from a week earlier to compare with."
    if impact.is_noise:
        return f"{label.capitalize()} about the same as the week before."
    down = impact.difference < 0
    if not impact.is_sum:  # a gauge: compare averages
        return (
            f"{label.capitalize()} ≈ {format_value(abs(impact.difference), series.unit)} "
            f"{'lower' if down else 'higher'} on average than the week before."
        )
    if series.unit in ("$", "USD"):
        return f"≈ {_amount(impact.difference, series.unit)} {'less' if down else 'more'} {label} than the week before."
    noun = series.unit if series.unit[:1].isalpha() else label
    return f"≈ {_amount(impact.difference, series.unit)} {'fewer' if down else 'more'} {noun} than the week before."


def series_impacts(
    incident: Incident, *, now: datetime | None = None
) -> tuple[tuple, list[SeriesImpact]]:
    """((start, end), impacts) with every series' points read in one query."""
    now = now or timezone.now()
    start, end = incident_window(incident, now)
    low, high = chart_range(start, end)
    high = min(high, now)  # an ongoing incident: last week's line stops where this week's does
    series_list = list(business_series_for(incident))
    if not series_list:
        return (start, end), []
    impacts = {
        s.pk: SeriesImpact(
            series=s,
            window=(start, end),
            chart_range=(low, high),
            ongoing=not (incident.mitigated_at or incident.resolved_at),
        )
        for s in series_list
    }
    remote = [s for s in series_list if reads_from_prometheus(s)]
    stored = [s.pk for s in series_list if not reads_from_prometheus(s)]
    rows = (
        MetricPoint.objects.filter(series_id__in=stored)
        .filter(Q(ts__gte=low, ts__lte=high) | Q(ts__gte=low - WEEK, ts__lte=high - WEEK))
        .order_by("series_id", "ts")
        .values_list("series_id", "ts", "value")
        if stored
        else []
    )
    for series_id, ts, value in rows:
        impact = impacts[series_id]
        if ts >= low:
            impact.current.append((ts, value))
        else:
            impact.previous.append((ts + WEEK, value))
    for series in remote:
        # Same step over spans of the same length: last week's timestamps + 7 days match.
        impact = impacts[series.pk]
        impact.current = series_points(series, low, high)
        impact.previous = [
            (ts + WEEK, v) for ts, v in series_points(series, low - WEEK, high - WEEK)
        ]
    for impact in impacts.values():
        _compare(impact, start, end)
    return (start, end), [impacts[s.pk] for s in series_list]


def _compare(impact: SeriesImpact, start: datetime, end: datetime) -> None:
    """Fill in the window's figures from the impact's points (this week against the last)."""
    impact.in_window = sum(start <= ts <= end for ts, _ in impact.current)
    before = {ts: value for ts, value in impact.previous if start <= ts < end}
    pairs = [(value, before[ts]) for ts, value in impact.current if ts in before]
    impact.matched = len(pairs)
    if not pairs:
        return
    now_total = sum(a for a, _ in pairs)
    then_total = sum(b for _, b in pairs)
    if impact.is_sum:
        impact.difference, impact.baseline = now_total - then_total, then_total
    else:
        impact.difference = (now_total - then_total) / len(pairs)
        impact.baseline = then_total / len(pairs)


def _merged(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for low, high in sorted(spans):
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def impact_lines_many(
    incidents: Sequence[Incident], *, now: datetime | None = None
) -> dict[int, list[str]]:
    """`impact_lines` of many incidents (the weekly review's) in two queries: the business
    series, then the stored points of every series over the union of the incidents' ranges.
    The incidents' `services` should be prefetched."""
    now = now or timezone.now()
    business = list(
        MetricSeries.objects.filter(kind=MetricSeries.Kind.BUSINESS)
        .select_related("service")
        .order_by(F("service__slug").asc(nulls_last=True), "name")
    )
    plans = []
    spans: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for incident in incidents:
        start, end = incident_window(incident, now)
        low, high = chart_range(start, end)
        high = min(high, now)
        services = {s.pk for s in incident.services.all()}
        series_list = [s for s in business if s.service_id is None or s.service_id in services]
        plans.append((incident, start, end, low, high, series_list))
        for series in series_list:
            if not reads_from_prometheus(series):
                spans[series.pk] += [(low, high), (low - WEEK, high - WEEK)]
    where = Q()
    for series_id, ranges in spans.items():
        for low, high in _merged(ranges):
            where |= Q(series_id=series_id, ts__gte=low, ts__lte=high)
    points: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    if spans:
        for series_id, ts, value in (
            MetricPoint.objects.filter(where)
            .order_by("series_id", "ts")
            .values_list("series_id", "ts", "value")
        ):
            points[series_id].append((ts, value))
    stamps_of = {series_id: [ts for ts, _ in rows] for series_id, rows in points.items()}
    out: dict[int, list[str]] = {}
    for incident, start, end, low, high, series_list in plans:
        lines = []
        for series in series_list:
            impact = SeriesImpact(
                series=series,
                window=(start, end),
                chart_range=(low, high),
                ongoing=not (incident.mitigated_at or incident.resolved_at),
            )
            if reads_from_prometheus(series):
                impact.current = series_points(series, low, high)
                impact.previous = [
                    (ts + WEEK, v) for ts, v in series_points(series, low - WEEK, high - WEEK)
                ]
            else:
                rows = points.get(series.pk, [])
                stamps = stamps_of.get(series.pk, [])
                impact.current = rows[bisect_left(stamps, low) : bisect_right(stamps, high)]
                impact.previous = [
                    (ts + WEEK, v)
                    for ts, v in rows[
                        bisect_left(stamps, low - WEEK) : bisect_right(stamps, high - WEEK)
                    ]
                    if ts < low
                ]
            _compare(impact, start, end)
            if impact.matched:
                lines.append(impact.sentence())
        out[incident.pk] = lines
    return out


def impact_lines(incident: Incident) -> list[str]:
    """One sentence per business metric lost against the same window a week earlier, e.g.
    "≈ 1,240 fewer logins than the week before". Used by the postmortem draft and reviews."""
    _window, impacts = series_impacts(incident)
    return [impact.sentence() for impact in impacts if impact.matched]


def impact_chart(impact: SeriesImpact, window: tuple[datetime, datetime]) -> SafeString | None:
    """This week's line around the incident (before, during, after: hence "This week", not
    "During the incident"), last week's dashed, and the incident as a band. The x axis spans the
    whole chart range, so an incident still open shows its band up to now even when the last
    point came earlier. None when there is nothing to draw: the sentence says so instead."""
    if not impact.has_data:
        return None
    series = impact.series
    return line_chart(
        Series(label="This week", points=impact.current),
        comparison=Series(label="Same time a week earlier", points=impact.previous),
        window=window,
        window_label="incident",
        x_range=impact.chart_range,
        title=f"{series.label or series.name}"
        + (f" · {series.service.slug}" if series.service else ""),
        unit=series.unit,
        tz=timezone.get_current_timezone(),
    )


def impact_section(incident: Incident, user: AbstractBaseUser | AnonymousUser) -> dict | None:
    """Context of the incident page's section, or None to hide it.

    Queries: series (1), all points (1), the incident's alerts (1), whatever the number of points
    (plus two `query_range` calls per PromQL series).
    `user` may see the incident (the page checked); alerts belong to services and are shown whole.
    """
    window, impacts = series_impacts(incident)
    links = list(
        IncidentAlert.objects.filter(incident=incident)
        .select_related("alert__service")
        .order_by("alert__starts_at", "pk")
    )
    alerts = [link.alert for link in links]
    if not impacts and not alerts:
        return None
    without_data = [i for i in impacts if not i.has_data]
    return {
        "incident": incident,
        "window": window,
        "ongoing": not (incident.mitigated_at or incident.resolved_at),
        "rows": [
            {
                "series": impact.series,
                "sentence": impact.sentence(),
                "direction": impact.direction,
                "chart": impact_chart(impact, window),
            }
            for impact in impacts
            if impact.has_data
        ],
        # Series with no point at all around the incident: one sentence, no empty charts.
        "no_data": [i.series.label or i.series.name.replace("-", " ") for i in without_data],
        "alerts": alerts,
        "firing": sum(a.status == Alert.Status.FIRING for a in alerts),
    }
