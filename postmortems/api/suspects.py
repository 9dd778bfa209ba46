"""`/api/incidents/{id}/suspects/` (ranked, with score and reasons) and
`/api/incidents/{id}/suspects/{deploy_id}/` (PUT a verdict). Both go through `get_incident_for`."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from metrics_link.api.deploys import DeployOut
from metrics_link.api.fields import StrictCharField, TypedInput
from metrics_link.models import Deploy

from ..models import SuspectVerdict
from ..selectors.incidents import get_incident_for
from ..selectors.suspects import ranked_suspects
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


def _suspect_data(suspects, request) -> list[dict]:
    return SuspectOut(
        [
            {
                "rank": i,
                "score": s.score,
                "reasons": s.reasons,
                "breakdown": [{"reason": r, "points": p} for r, p in s.breakdown],
                "deploy": s.deploy,
                "verdict": s.verdict,
            }
            for i, s in enumerate(suspects, 1)
        ],
        many=True,
        context={"request": request},
    ).data


class IncidentSuspects(generics.GenericAPIView):
    serializer_class = SuspectOut
    queryset = SuspectVerdict.objects.none()  # reads go through get_incident_for

    @extend_schema(
        summary="An incident's suspect deploys, most likely first",
        description="Paginated like every list: the top suspects are on page 1; `rank` counts "
        "from the top of the whole list.",
        responses={200: SuspectOut(many=True), 404: OpenApiResponse(description="Not visible.")},
        tags=["incidents"],
    )
    def get(self, request: Request, pk: int) -> Response:
        incident = get_incident_for(request.user, pk)
        ranked = _suspect_data(ranked_suspects(incident), request)  # ranks count from the top
        return self.get_paginated_response(self.paginate_queryset(ranked))


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
        suspects = ranked_suspects(get_incident_for(request.user, pk))
        found = [d for d in _suspect_data(suspects, request) if d["deploy"]["id"] == deploy.pk]
        return Response(found[0])


urlpatterns = [
    path("incidents/<int:pk>/suspects/", IncidentSuspects.as_view(), name="api-incident-suspects"),
    path(
        "incidents/<int:pk>/suspects/<int:deploy_id>/",
        SuspectVerdictView.as_view(),
        name="api-incident-suspect-verdict",
    ),
]
