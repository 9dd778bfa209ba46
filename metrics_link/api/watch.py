"""The immune system over the API.

- `GET /api/deploys/{id}/watch/`: the verdict a pipeline polls between its first hosts and the
  full roll-out (`watching` until DEPLOY_WATCH_SECONDS after the deploy finished).
- `GET/PATCH /api/metrics/{name}/`: a series' watch settings (the write rule: the team of its
  service, or an administrator; company-wide series: administrators).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..links import absolute_url
from ..models import Deploy, DeployWatch, MetricSeries, Service
from ..services.metrics import update_series
from .fields import StrictSlugRelatedField, TypedInput

NOT_WATCHED = (
    "Deploy {id} is not watched: only successful production deploys are judged "
    "(this one is {status} in {environment})."
)


class WatchMetricOut(serializers.Serializer):
    name = serializers.CharField()
    passed = serializers.BooleanField(
        allow_null=True, help_text="null: not judged (too few points)."
    )
    critical = serializers.BooleanField()
    bad_direction = serializers.ChoiceField(choices=MetricSeries.BadDirection.values)
    baseline_median = serializers.FloatField(allow_null=True)
    after_median = serializers.FloatField(allow_null=True)
    change = serializers.FloatField(allow_null=True, help_text="Relative: -0.34 = 34% lower.")
    p_value = serializers.FloatField(allow_null=True)
    reason = serializers.CharField()


class WatchOut(serializers.Serializer):
    deploy = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DeployWatch.Status.values)
    score = serializers.FloatField(allow_null=True, help_text="% of judged metrics that passed.")
    due_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    notes = serializers.ListField(child=serializers.CharField())
    page_url = serializers.CharField()
    metrics = WatchMetricOut(many=True)


def watch_data(watch: DeployWatch) -> dict:
    keys = WatchMetricOut().fields.keys()
    return {
        "deploy": watch.deploy_id,
        "status": watch.status,
        "score": watch.score,
        "due_at": watch.due_at,
        "decided_at": watch.decided_at,
        "notes": [line for line in watch.notes.splitlines() if line],
        "page_url": absolute_url(watch.deploy.get_absolute_url()),
        "metrics": [{k: result.get(k) for k in keys} for result in watch.results],
    }


class DeployWatchView(APIView):
    @extend_schema(
        summary="The immune system's verdict on a deploy",
        tags=["deploys"],
        responses={
            200: WatchOut,
            404: OpenApiResponse(description="No such deploy, or a deploy that is not watched."),
        },
        description=(
            "`watching` until DEPLOY_WATCH_SECONDS after the deploy finished, then `healthy`, "
            "`marginal`, `regressed` (roll back) or `no_data`. Poll it between the first hosts "
            "and the full roll-out."
        ),
    )
    def get(self, request, pk: int) -> Response:
        deploy = get_object_or_404(Deploy.objects.select_related("watch"), pk=pk)
        watch = getattr(deploy, "watch", None)
        if watch is None:
            return Response(
                {
                    "detail": NOT_WATCHED.format(
                        id=deploy.pk, status=deploy.status, environment=deploy.environment
                    )
                },
                status=404,
            )
        return Response(WatchOut(watch_data(watch)).data)


class SeriesSerializer(TypedInput, serializers.ModelSerializer):
    service = StrictSlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = MetricSeries
        fields = [
            "name",
            "label",
            "kind",
            "unit",
            "service",
            "watched",
            "bad_direction",
            "critical",
            "min_change",
            "promql",
        ]
        read_only_fields = ["name"]


class SeriesDetail(APIView):
    def _series(self, name: str) -> MetricSeries:
        return get_object_or_404(MetricSeries.objects.select_related("service__team"), name=name)

    @extend_schema(
        summary="Read a metric series' settings", tags=["metrics"], responses=SeriesSerializer
    )
    def get(self, request, name: str) -> Response:
        return Response(SeriesSerializer(self._series(name)).data)

    @extend_schema(
        summary="Change a metric series' watch settings",
        tags=["metrics"],
        request=SeriesSerializer,
        responses={
            200: SeriesSerializer,
            400: OpenApiResponse(description="A bad value; nothing changed."),
            403: OpenApiResponse(
                description="Not the series' team (or not an administrator for a company-wide series)."
            ),
            404: OpenApiResponse(description="No such series."),
        },
    )
    def patch(self, request, name: str) -> Response:
        series = self._series(name)
        data = SeriesSerializer(series, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        series = update_series(series=series, by=request.user, **data.validated_data)
        return Response(SeriesSerializer(series).data)


urlpatterns = [
    path("deploys/<int:pk>/watch/", DeployWatchView.as_view(), name="api-deploy-watch"),
    path("metrics/<str:name>/", SeriesDetail.as_view(), name="api-metric-series"),
]
