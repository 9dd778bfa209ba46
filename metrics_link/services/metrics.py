"""Metric series and their points: bulk upserts and per-minute counters.

Unknown series names are created on their first write (like a statsd or memcached counter):
kind "business" unless the caller says "system", aggregation "sum". A name must be a slug.
Rule violations raise Django's ValidationError (this layer cannot import postmortems'
ServiceError; the API maps both to 400). Points are stored as sent, no rollup: at 5-minute
resolution a series grows by ~105k points a year, and the unique (series, ts) index serves
every time-window read as a range scan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .. import permissions as perms
from ..models import MetricPoint, MetricSeries

MAX_POINTS_PER_REQUEST = 10_000
FUTURE_TOLERANCE = timedelta(minutes=5)
BAD_NAME = "A series name is a slug: letters, digits, hyphens and underscores (at most 100)."
BAD_KIND = "kind must be business or system."
NOT_FINITE = "value must be a finite number."
IN_FUTURE = "ts is more than 5 minutes in the future."


def get_or_create_series(
    *, name: str, kind: str = MetricSeries.Kind.BUSINESS, unit: str = ""
) -> MetricSeries:
    """The series called `name`, created on first use."""
    try:
        validate_slug(name)
    except ValidationError:
        raise ValidationError({"name": [BAD_NAME]}) from None
    if len(name) > 100:
        raise ValidationError({"name": [BAD_NAME]})
    if kind not in MetricSeries.Kind.values:
        raise ValidationError({"kind": [BAD_KIND]})
    # get_or_create retries the read when a concurrent first write wins the insert.
    series, _ = MetricSeries.objects.get_or_create(
        name=name, defaults={"kind": kind, "unit": unit[:20], "label": name.replace("-", " ")}
    )
    return series


@transaction.atomic
def record_points(*, series: MetricSeries, points: Iterable[tuple[datetime, float]]) -> int:
    """Upsert points on (series, ts): a point sent again replaces the stored value.

    Callers validate first (the API answers 400 for the whole batch on any bad item); this
    re-checks the rules so that no caller can store a bad point.
    """
    rows: dict[datetime, MetricPoint] = {}
    limit = timezone.now() + FUTURE_TOLERANCE
    for ts, value in points:
        if not math.isfinite(value):
            raise ValidationError({"value": [NOT_FINITE]})
        if ts > limit:
            raise ValidationError({"ts": [IN_FUTURE]})
        rows[ts] = MetricPoint(series=series, ts=ts, value=float(value))
    MetricPoint.objects.bulk_create(
        list(rows.values()),
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["series", "ts"],
        update_fields=["value"],
    )
    return len(rows)


def minute_bucket(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@transaction.atomic
def increment_counter(
    *, series: MetricSeries, by: float = 1.0, at: datetime | None = None
) -> MetricPoint:
    """Add `by` to the series' point of the minute containing `at` (default now); atomic.

    The race: two requests for a fresh minute both find no row. The UPDATE ... SET value = value
    + by is atomic per row; when it touches nothing we insert, and the loser of the insert race
    (unique (series, ts)) falls back to the UPDATE, which then waits on the winner's row lock.
    """
    if not math.isfinite(by):
        raise ValidationError({"value": [NOT_FINITE]})
    ts = minute_bucket(at or timezone.now())
    if ts > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError({"ts": [IN_FUTURE]})
    points = MetricPoint.objects.filter(series=series, ts=ts)
    if not points.update(value=F("value") + by):
        try:
            with transaction.atomic():
                return MetricPoint.objects.create(series=series, ts=ts, value=by)
        except IntegrityError:
            points.update(value=F("value") + by)
    return points.get()


SERIES_SETTINGS = ("watched", "bad_direction", "critical", "min_change", "kind", "unit", "service")
BAD_DIRECTION = "bad_direction must be drop, rise or both."
BAD_MIN_CHANGE = "min_change is a fraction between 0 and 10 (0.05 = 5%)."


@transaction.atomic
def update_series(*, series: MetricSeries, by: User | None = None, **changes: Any) -> MetricSeries:
    """Change a series' watch settings: the team of its service, or a superuser; company-wide
    series (and making a series company-wide): superusers only. Nothing changes on a refusal."""
    unknown = set(changes) - {*SERIES_SETTINGS, "promql", "label"}
    if unknown:
        raise ValidationError(
            {"non_field_errors": [f"Unknown fields: {', '.join(sorted(unknown))}."]}
        )
    errors: dict[str, list[str]] = {}
    if (
        "bad_direction" in changes
        and changes["bad_direction"] not in MetricSeries.BadDirection.values
    ):
        errors["bad_direction"] = [BAD_DIRECTION]
    if "kind" in changes and changes["kind"] not in MetricSeries.Kind.values:
        errors["kind"] = [BAD_KIND]
    if "min_change" in changes:
        value = changes["min_change"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 10:
            errors["min_change"] = [BAD_MIN_CHANGE]
    if errors:
        raise ValidationError(errors)
    series = MetricSeries.objects.select_for_update(of=("self",)).get(pk=series.pk)
    perms.require(perms.can_edit_metric_series(by, series), perms.series_refusal(series))
    if "service" in changes and changes["service"] != series.service:
        moved = MetricSeries(name=series.name, service=changes["service"])
        perms.require(perms.can_edit_metric_series(by, moved), perms.series_refusal(moved))
    for field, value in changes.items():
        setattr(series, field, value)
    series.save()
    return series
