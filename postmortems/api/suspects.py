"""`/api/incidents/{id}/suspects/` (ranked, with score and reasons) and
`/api/incidents/{id}/suspects/{deploy_id}/` (PUT a verdict). Both go through `get_incident_for`.

A window can hold hundreds of deploys (issue 15): the list ranks them without their commits and
serializes one page (`?limit=`, 50 by default, at most 200), with the commits of that page only.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from metrics_link.api.deploys import DeployOut
from metrics_link.api.fields import StrictCharField, TypedInput
from metrics_link.api.pagination import PAGE_SIZE, PagePagination
from metrics_link.models import Deploy

from ..models import SuspectVerdict
from ..selectors.incidents import get_incident_for
from ..selectors.suspects import Suspect, ranked_suspects, with_suspect_commits
from ..services import suspects as suspect_services


class VerdictOut(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = SuspectVerdict
        fields = ["verdict", "note", "by", "at"]


class BreakdownOut(serializers.Serializer):
    reason = serializers.CharField()
    points = serializers.FloatField()


class SuspectOut(serializers.Serializer):
    rank = serializers.IntegerField()
    score = serializers.FloatField(help_text="0..100; higher is more suspicious.")
    reasons = serializers.ListField(child=serializers.CharField())
    breakdown = BreakdownOut(many=True)
    deploy = DeployOut()
    verdict = VerdictOut(allow_null=True)


class VerdictIn(TypedInput, serializers.Serializer):
    verdict = serializers.ChoiceField(choices=SuspectVerdict.Verdict.choices)
    note = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")


def _suspect_data(suspects: list[Suspect], request: Request) -> list[dict]:
    """Serialize suspects whose commits are loaded (`with_suspect_commits`)."""
    return SuspectOut(
        [
            {
                "rank": s.rank,
                "score": s.score,
                "reasons": s.reasons,
                "breakdown": [{"reason": r, "points": p} for r, p in s.breakdown],
                "deploy": s.deploy,
                "verdict": s.verdict,
            }
            for s in suspects
        ],
        many=True,
        context={"request": request},
    ).data


MAX_LIMIT = 200
MALFORMED_LIMIT = "A limit is a whole number from 1 to {max} (got {value!r})."


class SuspectPagination(PagePagination):
    """Page numbers as every list, `?limit=` suspects a page (50 by default, at most 200)."""

    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return PAGE_SIZE
        text = raw.strip()
        if not text.isascii() or not text.isdigit() or not 1 <= int(text[:9]) <= MAX_LIMIT:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [MALFORMED_LIMIT.format(max=MAX_LIMIT, value=raw)]}
            )
        return int(text)

    def paginate_queryset(self, queryset, request, view=None):
        self.page_size = self.get_page_size(request)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Suspects a page, 1 to {MAX_LIMIT} (default {PAGE_SIZE}). "
                "Malformed or out of range: 400.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
        ]


class IncidentSuspects(generics.GenericAPIView):
    serializer_class = SuspectOut
    queryset = SuspectVerdict.objects.none()  # reads go through get_incident_for
    pagination_class = SuspectPagination

    @extend_schema(
        summary="An incident's suspect deploys, most likely first",
        description="Paginated like every list: the top suspects are on page 1 (`limit` a page, "
        "50 by default, at most 200); `count` is the number of suspects; `rank` counts from the "
        "top of the whole list.",
        responses={200: SuspectOut(many=True), 404: OpenApiResponse(description="Not visible.")},
        tags=["incidents"],
    )
    def get(self, request: Request, pk: int) -> Response:
        incident = get_incident_for(request.user, pk)
        page = self.paginate_queryset(ranked_suspects(incident, commits=False))
        return self.get_paginated_response(_suspect_data(with_suspect_commits(page), request))


class SuspectVerdictView(generics.GenericAPIView):
    serializer_class = VerdictIn
    queryset = SuspectVerdict.objects.none()  # writes go through get_incident_for
    http_method_names = ["put", "options"]

    @extend_schema(
        summary="Set the verdict on one suspect deploy",
        request=VerdictIn,
        responses={
            200: SuspectOut,
            400: OpenApiResponse(description="Unknown verdict, or the deploy is not a suspect."),
            404: OpenApiResponse(description="Incident not visible, or no such deploy."),
        },
        tags=["incidents"],
    )
    def put(self, request: Request, pk: int, deploy_id: int) -> Response:
        incident = get_incident_for(request.user, pk)
        deploy = get_object_or_404(Deploy, pk=deploy_id)
        data = VerdictIn(data=request.data)
        data.is_valid(raise_exception=True)
        suspect_services.set_verdict(
            incident=incident, deploy=deploy, by=request.user, **data.validated_data
        )
        suspects = ranked_suspects(get_incident_for(request.user, pk), commits=False)
        found = with_suspect_commits([s for s in suspects if s.deploy.pk == deploy.pk])
        return Response(_suspect_data(found, request)[0])


urlpatterns = [
    path("incidents/<int:pk>/suspects/", IncidentSuspects.as_view(), name="api-incident-suspects"),
    path(
        "incidents/<int:pk>/suspects/<int:deploy_id>/",
        SuspectVerdictView.as_view(),
        name="api-incident-suspect-verdict",
    ),
]
