"""`/api/postmortems/`: published postmortems (list, read) and the review actions. Thin."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models.documents import Postmortem, PostmortemVersion
from ..selectors import documents as sel
from ..services import documents as svc
from .fields import absolute_url


class VersionListOut(serializers.ModelSerializer):
    incident = serializers.IntegerField(source="postmortem.incident_id")
    severity = serializers.CharField(source="postmortem.incident.severity")
    services = serializers.SerializerMethodField()
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = PostmortemVersion
        fields = [
            "incident",
            "title",
            "number",
            "severity",
            "services",
            "published_at",
            "published_by",
            "url",
        ]

    def get_services(self, obj) -> list[str]:
        return [s.slug for s in obj.postmortem.incident.services.all()]

    def get_url(self, obj) -> str:
        return absolute_url(self.context, obj.postmortem.get_absolute_url())


class VersionOut(VersionListOut):
    markdown = serializers.CharField()
    html = serializers.CharField(help_text="Sanitised HTML rendered from the Markdown.")
    versions = serializers.SerializerMethodField()
    status = serializers.CharField(source="postmortem.status", help_text="Of the current draft.")

    class Meta(VersionListOut.Meta):
        fields = [*VersionListOut.Meta.fields, "status", "markdown", "html", "versions"]

    def get_versions(self, obj) -> list[dict]:
        return [
            {"number": v.number, "published_at": v.published_at}
            for v in obj.postmortem.versions.order_by("-number")
        ]


class ReviewStateOut(serializers.Serializer):
    incident = serializers.IntegerField(source="incident_id")
    status = serializers.CharField()
    round = serializers.IntegerField()
    reviewers = serializers.SerializerMethodField()
    approvals = serializers.SerializerMethodField()
    approvals_required = serializers.SerializerMethodField()
    latest_version = serializers.IntegerField(source="latest_version.number", allow_null=True)

    def get_reviewers(self, obj) -> list[str]:
        return [u.get_username() for u in obj.reviewers.all()]

    def get_approvals(self, obj) -> int:
        return len(svc.approvals_in_round(obj))

    def get_approvals_required(self, obj) -> int:
        return svc.approvals_required(obj.incident.severity)


class SubmitIn(serializers.Serializer):
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Required when the blameless check finds high-severity wording.",
    )


class CommentIn(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


LIBRARY_PARAMS = [
    OpenApiParameter("q", str, description="Full-text search (ranked on PostgreSQL)."),
    OpenApiParameter("service", str, description="Service slug."),
    OpenApiParameter("team", str, description="Team slug."),
    OpenApiParameter("severity", str, enum=["sev1", "sev2", "sev3", "sev4"]),
    OpenApiParameter("category", str, description="Cause category of a why node."),
    OpenApiParameter("year", int, description="Year the incident started."),
]


@extend_schema(
    tags=["postmortems"],
    parameters=LIBRARY_PARAMS,
    summary="Published postmortems you may see (latest version of each)",
)
class PostmortemList(generics.ListAPIView):
    serializer_class = VersionListOut
    filter_backends: list = []

    def get_queryset(self):
        p = self.request.query_params
        year = p.get("year", "")
        return sel.library_queryset(
            self.request.user,
            q=p.get("q", ""),
            service=p.get("service", ""),
            team=p.get("team", ""),
            severity=p.get("severity", ""),
            category=p.get("category", ""),
            year=int(year) if year.isdigit() else None,
        )


@extend_schema(
    tags=["postmortems"],
    summary="The latest published version (Markdown and rendered HTML)",
    responses={200: VersionOut, 404: OpenApiResponse(description="Not published or not visible.")},
)
class PostmortemDetail(APIView):
    def get(self, request: Request, incident_id: int) -> Response:
        pm = sel.get_postmortem_for(request.user, incident_id, published=True)
        version = pm.latest_version
        version.postmortem = pm
        return Response(VersionOut(version, context={"request": request}).data)


def _pm(request, incident_id) -> Postmortem:
    from django.http import Http404

    incident = sel.get_incident_for(request.user, incident_id)
    pm = Postmortem.objects.filter(incident=incident).first()
    if pm is None:
        raise Http404("No postmortem yet.")
    pm.incident = incident
    return pm


ERRORS = {
    400: OpenApiResponse(description="A workflow rule refused the step: {field: [message]}."),
    404: OpenApiResponse(description="No such postmortem you may see."),
}


class _Action(APIView):
    input_serializer = CommentIn

    def act(self, pm, request, data):  # pragma: no cover - overridden
        raise NotImplementedError

    def post(self, request: Request, incident_id: int) -> Response:
        pm = _pm(request, incident_id)
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.act(pm, request, data.validated_data)
        pm.refresh_from_db()
        return Response(ReviewStateOut(pm).data)


@extend_schema(
    tags=["postmortems"],
    summary="Submit the draft for review",
    request=SubmitIn,
    responses={200: ReviewStateOut, **ERRORS},
)
class SubmitView(_Action):
    input_serializer = SubmitIn

    def act(self, pm, request, data):
        svc.submit_for_review(
            postmortem=pm, by=request.user, override_reason=data.get("override_reason", "")
        )


@extend_schema(
    tags=["postmortems"],
    summary="Approve (named reviewers only)",
    request=CommentIn,
    responses={200: ReviewStateOut, **ERRORS},
)
class ApproveView(_Action):
    def act(self, pm, request, data):
        svc.approve(postmortem=pm, by=request.user, comment=data.get("comment", ""))


@extend_schema(
    tags=["postmortems"],
    summary="Request changes with a comment (named reviewers only)",
    request=CommentIn,
    responses={200: ReviewStateOut, **ERRORS},
)
class RequestChangesView(_Action):
    def act(self, pm, request, data):
        svc.request_changes(postmortem=pm, by=request.user, comment=data.get("comment", ""))


@extend_schema(
    tags=["postmortems"],
    summary="Publish (needs the approvals the severity requires)",
    request=None,
    responses={200: ReviewStateOut, **ERRORS},
)
class PublishView(_Action):
    def act(self, pm, request, data):
        svc.publish(postmortem=pm, by=request.user)


urlpatterns = [
    path("postmortems/", PostmortemList.as_view(), name="api-postmortem-list"),
    path(
        "postmortems/<int:incident_id>/", PostmortemDetail.as_view(), name="api-postmortem-detail"
    ),
    path(
        "postmortems/<int:incident_id>/submit/", SubmitView.as_view(), name="api-postmortem-submit"
    ),
    path(
        "postmortems/<int:incident_id>/approve/",
        ApproveView.as_view(),
        name="api-postmortem-approve",
    ),
    path(
        "postmortems/<int:incident_id>/request-changes/",
        RequestChangesView.as_view(),
        name="api-postmortem-request-changes",
    ),
    path(
        "postmortems/<int:incident_id>/publish/",
        PublishView.as_view(),
        name="api-postmortem-publish",
    ),
]
