"""Metrics API: POST points in bulk, or bump a per-minute counter.

- `POST /api/metrics/{name}/points/` with a JSON list of `{ts, value}`: every item is checked first;
  any bad item answers 400 with a message per item (keyed by its index) and NOTHING is stored.
  Good batches upsert on (series, ts): sending a point again replaces its value.
- `POST /api/metrics/{name}/increment/` with `{value?: 1, ts?: now}`: adds to the point of that
  minute, atomically (safe for many concurrent writers, like a memcached `incr`).

An unknown `name` (a slug) creates the series on first write: kind `business` unless `?kind=system`,
unit from `?unit=` (e.g. `$`, `logins`), aggregation `sum`. Later writes never change a series.
"""

from __future__ import annotations

import math
from typing import Any

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import MetricSeries
from ..services.metrics import (
    FUTURE_TOLERANCE,
    IN_FUTURE,
    MAX_POINTS_PER_REQUEST,
    NOT_FINITE,
    get_or_create_series,
    increment_counter,
    record_points,
)
from ..webhooks.types import PayloadError, parse_timestamp
from .fields import TypedInput

SERIES_PARAMETERS = [
    OpenApiParameter(
        "kind",
        str,
        enum=["business", "system"],
        description="Only used when this write creates the series (default business).",
    ),
    OpenApiParameter(
        "unit",
        str,
        description='Only used when this write creates the series, e.g. "$" or "logins".',
    ),
]
ERROR_RESPONSE = inline_serializer(
    "MetricErrors",
    {
        "detail": serializers.CharField(required=False),
        "points": serializers.DictField(
            child=serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
            required=False,
            help_text='Per-item messages keyed by the item\'s index: {"3": {"ts": ["..."]}}.',
        ),
    },
)


@extend_schema_field({"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}]})
class TimestampField(serializers.Field):
    """A point's time as the views parse it (documentation only: `_timestamp` reads it)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _timestamp(value: Any, errors: dict[str, list[str]], field: str = "ts"):
    try:
        moment = parse_timestamp(value, field)
    except PayloadError as exc:
        errors.setdefault(field, []).append(
            str(exc).removeprefix(f"{field}: ")
            + " (ISO 8601 with a zone, e.g. 2026-11-02T14:05:00Z)"
        )
        return None
    if moment > timezone.now() + FUTURE_TOLERANCE:
        errors.setdefault(field, []).append(IN_FUTURE)
        return None
    return moment


def _series_for(request, name: str) -> MetricSeries:
    kind = request.query_params.get("kind")
    if kind is not None and kind not in MetricSeries.Kind.values:
        raise ValidationError({"kind": [f"Use one of: {', '.join(MetricSeries.Kind.values)}."]})
    return get_or_create_series(
        name=name,
        kind=request.query_params.get("kind") or MetricSeries.Kind.BUSINESS,
        unit=request.query_params.get("unit") or "",
    )


class PointsView(APIView):
    @extend_schema(
        summary="Store points of a metric series",
        tags=["metrics"],
        parameters=SERIES_PARAMETERS,
        request=inline_serializer(
            "MetricPointIn",
            {
                "ts": TimestampField(help_text="ISO 8601 with a zone, or Unix seconds."),
                "value": serializers.FloatField(),
            },
            many=True,
        ),
        responses={
            201: inline_serializer(
                "MetricPointsStored",
                {"series": serializers.CharField(), "stored": serializers.IntegerField()},
            ),
            400: ERROR_RESPONSE,
        },
        description=(
            "A JSON list of {ts, value} (at most 10,000). All items are validated first: "
            "one bad item answers 400 with per-item messages and nothing is stored. Points "
            "upsert on (series, ts). An unknown series name creates the series (kind business "
            "unless ?kind=system)."
        ),
        examples=[
            OpenApiExample(
                "Two points",
                value=[
                    {"ts": "2026-11-02T14:05:00Z", "value": 1240},
                    {"ts": "2026-11-02T14:06:00Z", "value": 1198},
                ],
                request_only=True,
            )
        ],
    )
    def post(self, request, name: str) -> Response:
        items = request.data
        if not isinstance(items, list):
            return Response(
                {"detail": "Send a JSON list of {ts, value} objects."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if not items:
            return Response({"detail": "The list is empty."}, status=status.HTTP_400_BAD_REQUEST)
        if len(items) > MAX_POINTS_PER_REQUEST:
            return Response(
                {"detail": f"At most {MAX_POINTS_PER_REQUEST:,} points per request."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        problems: dict[str, dict[str, list[str]]] = {}
        points = []
        seen: dict[Any, int] = {}
        for index, item in enumerate(items):
            errors: dict[str, list[str]] = {}
            if not isinstance(item, dict):
                problems[str(index)] = {"non_field_errors": ["Expected an object {ts, value}."]}
                continue
            unknown = set(item) - {"ts", "value"}
            if unknown:
                errors["non_field_errors"] = [f"Unknown fields: {', '.join(sorted(unknown))}."]
            moment = None
            if "ts" not in item:
                errors["ts"] = ["This field is required."]
            else:
                moment = _timestamp(item["ts"], errors)
            value = None
            if "value" not in item:
                errors["value"] = ["This field is required."]
            else:
                value = _number(item["value"])
                if value is None:
                    errors["value"] = [NOT_FINITE]
            if moment is not None and moment in seen:
                errors.setdefault("ts", []).append(f"Same ts as item {seen[moment]}.")
            if errors:
                problems[str(index)] = errors
                continue
            seen[moment] = index
            points.append((moment, value))
        if problems:
            return Response(
                {
                    "detail": f"{len(problems)} of {len(items)} points are invalid; "
                    "nothing was stored.",
                    "points": problems,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        series = _series_for(request, name)
        stored = record_points(series=series, points=points)
        return Response({"series": series.name, "stored": stored}, status=status.HTTP_201_CREATED)


class IncrementIn(TypedInput, serializers.Serializer):
    value = serializers.FloatField(required=False, default=1.0, help_text="Default 1.")
    ts = TimestampField(
        required=False,
        allow_null=True,
        help_text="ISO 8601 with a zone, or Unix seconds; default (or null) now. Bucketed to "
        "its minute.",
    )


class IncrementView(APIView):
    @extend_schema(
        summary="Increment a per-minute counter",
        tags=["metrics"],
        parameters=SERIES_PARAMETERS,
        request=IncrementIn,
        responses={
            200: inline_serializer(
                "MetricCounter",
                {
                    "series": serializers.CharField(),
                    "ts": serializers.DateTimeField(),
                    "value": serializers.FloatField(),
                },
            ),
            400: ERROR_RESPONSE,
        },
        description=(
            "Adds `value` (default 1) to the point of the minute containing `ts` (default now), "
            "atomically. An unknown series name creates the series (kind business unless "
            "?kind=system)."
        ),
    )
    def post(self, request, name: str) -> Response:
        data = request.data  # no body at all is {}; a JSON null is refused below
        if not isinstance(data, dict):
            return Response(
                {"detail": "Send a JSON object {value?, ts?}."}, status=status.HTTP_400_BAD_REQUEST
            )
        errors: dict[str, list[str]] = {}
        by = 1.0
        if "value" in data:
            by = _number(data["value"])
            if by is None:
                errors["value"] = [NOT_FINITE]
        moment = _timestamp(data["ts"], errors) if data.get("ts") is not None else None
        if errors:
            return Response(
                {"detail": "Nothing was counted.", **errors}, status=status.HTTP_400_BAD_REQUEST
            )
        series = _series_for(request, name)
        point = increment_counter(series=series, by=by, at=moment)
        return Response({"series": series.name, "ts": point.ts, "value": point.value})


urlpatterns = [
    path("metrics/<str:name>/points/", PointsView.as_view(), name="metric-points"),
    path("metrics/<str:name>/increment/", IncrementView.as_view(), name="metric-increment"),
]
