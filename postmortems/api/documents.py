"""`/api/postmortems/`: published postmortems (list, read), the draft, and the review actions. Thin.

Draft concurrency (same contract as `/api/whys/{id}/`): GET `/api/postmortems/{id}/draft/` answers
with an `ETag` ("<incident id>-<version>"); PATCH needs `If-Match` — 428 when missing, 412 when it
names an older version (nothing is written; the body says who changed it and, per section changed
on both sides, their text and yours).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics_link.api.fields import StrictCharField, TypedInput

from ..models.documents import Postmortem, PostmortemVersion
from ..models.incidents import Severity
from ..models.whys import WhyNode
from ..selectors import documents as sel
from ..selectors.drafts import approvals_in_round, approvals_required
from ..services import documents as svc
from ..services.draft_conflicts import StaleDraft
from .fields import absolute_url


class VersionListOut(serializers.ModelSerializer):
    incident = serializers.IntegerField(source="postmortem.incident_id")
    severity = serializers.CharField(source="postmortem.incident.severity")
    services = serializers.SerializerMethodField()
    published_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
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
        return len(approvals_in_round(obj))

    def get_approvals_required(self, obj) -> int:
        return approvals_required(obj.incident.severity)


class SubmitIn(TypedInput, serializers.Serializer):
    override_reason = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Required when the blameless check finds high-severity wording.",
    )
    reviewers = serializers.ListField(
        child=StrictCharField(),
        required=False,
        help_text="Usernames of the named reviewers, set in the same step (replaces the list).",
    )


class DraftOut(serializers.Serializer):
    incident = serializers.IntegerField(source="incident_id")
    title = serializers.CharField()
    status = serializers.CharField()
    round = serializers.IntegerField()
    version = serializers.IntegerField()
    etag = serializers.SerializerMethodField()
    sections = serializers.DictField(child=serializers.CharField(allow_blank=True))
    edited_sections = serializers.ListField(child=serializers.CharField())
    reviewers = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()

    def get_etag(self, obj) -> str:
        return draft_etag(obj)

    def get_reviewers(self, obj) -> list[str]:
        return [u.get_username() for u in obj.reviewers.all()]


class DraftIn(TypedInput, serializers.Serializer):
    sections = serializers.DictField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False),
        required=False,
        default=dict,
        help_text="{section key: Markdown}; sections left out are kept as they are.",
    )
    reviewers = serializers.ListField(
        child=StrictCharField(),
        required=False,
        help_text="Usernames of the named reviewers (replaces the list).",
    )


class ConflictOut(serializers.Serializer):
    section = serializers.CharField(source="key")
    theirs = serializers.CharField()
    yours = serializers.CharField()


class StaleDraftOut(serializers.Serializer):
    detail = serializers.CharField()
    current_version = serializers.IntegerField()
    changed_by = serializers.CharField()
    etag = serializers.CharField()
    conflicts = ConflictOut(many=True)


class CommentIn(TypedInput, serializers.Serializer):
    comment = StrictCharField(required=False, allow_blank=True, max_length=5000)


class LibraryFilterIn(serializers.Serializer):
    q = StrictCharField(
        required=False, allow_blank=True, help_text="Full-text search (ranked on PostgreSQL)."
    )
    service = serializers.SlugField(required=False, allow_blank=True, help_text="Service slug.")
    team = serializers.SlugField(required=False, allow_blank=True, help_text="Team slug.")
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_blank=True)
    category = serializers.ChoiceField(
        choices=WhyNode.Category.choices,
        required=False,
        allow_blank=True,
        help_text="Cause category of a why node.",
    )
    year = serializers.IntegerField(
        required=False, min_value=1970, max_value=9999, help_text="Year the incident started."
    )


@extend_schema(
    tags=["postmortems"],
    parameters=[LibraryFilterIn],
    summary="Published postmortems you may see (latest version of each)",
)
class PostmortemList(generics.ListAPIView):
    serializer_class = VersionListOut
    filter_backends: list = []

    def get_queryset(self):
        params = LibraryFilterIn(
            data=self.request.query_params.dict()
        )  # "" is a value, not "absent"
        params.is_valid(raise_exception=True)
        p = params.validated_data
        return sel.library_queryset(
            self.request.user,
            q=p.get("q", ""),
            service=p.get("service", ""),
            team=p.get("team", ""),
            severity=p.get("severity", ""),
            category=p.get("category", ""),
            year=p.get("year"),
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


def draft_etag(pm: Postmortem) -> str:
    return f'"{pm.incident_id}-{pm.version}"'


def _reviewers(pm: Postmortem, usernames: list[str] | None):
    """The named reviewers from usernames (None: leave them as they are); 400 on an unknown one."""
    if usernames is None:
        return None
    field = get_user_model().USERNAME_FIELD
    chosen = list(sel.reviewer_choices(pm.incident).filter(**{f"{field}__in": usernames}))
    unknown = sorted(set(usernames) - {u.get_username() for u in chosen})
    if unknown:
        raise serializers.ValidationError(
            {"reviewers": [f"Not someone who can review this postmortem: {', '.join(unknown)}."]}
        )
    return chosen


ERRORS = {
    400: OpenApiResponse(description="A workflow rule refused the step: {field: [message]}."),
    404: OpenApiResponse(description="No such postmortem you may see."),
}


class _Action(APIView):
    input_serializer = CommentIn

    def act(self, pm, request, data):  # pragma: no cover - overridden
        raise NotImplementedError

    def post(self, request: Request, incident_id: int) -> Response:
        pm = sel.get_postmortem_for(request.user, incident_id)
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
            postmortem=pm,
            by=request.user,
            override_reason=data.get("override_reason", ""),
            reviewers=_reviewers(pm, data.get("reviewers")),
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


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    location=OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the draft you read, e.g. "12-3" (from GET). Required.',
)


def _stale(exc: StaleDraft) -> Response:
    tag = draft_etag(exc.postmortem)
    body = {
        "detail": exc.messages[0],
        "current_version": exc.current_version,
        "changed_by": exc.changed_by,
        "etag": tag,
        "conflicts": ConflictOut(exc.conflicts, many=True).data,
    }
    return Response(body, status=status.HTTP_412_PRECONDITION_FAILED, headers={"ETag": tag})


def _expected_version(request: Request, pm: Postmortem) -> tuple[int | None, Response | None]:
    """The version named by If-Match, or the 428 to send instead. A tag for another version is
    passed on as is: the service then refuses it as stale (412) and writes nothing."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return None, Response(
            {"detail": 'Send If-Match with the ETag from a GET of the draft (e.g. "12-3").'},
            status=status.HTTP_428_PRECONDITION_REQUIRED,
        )
    for tag in (t.strip() for t in header.split(",")):
        if tag == "*":
            return pm.version, None
        incident_part, _, version_part = tag.removeprefix("W/").strip('"').rpartition("-")
        if incident_part == str(pm.incident_id) and version_part.isdigit():
            return int(version_part), None
    return 0, None  # names no version of this draft: stale


@extend_schema(tags=["postmortems"])
class DraftView(APIView):
    @extend_schema(
        summary="The current draft (every section; ETag carries its version)",
        responses={200: DraftOut, 404: ERRORS[404]},
    )
    def get(self, request: Request, incident_id: int) -> Response:
        pm = sel.get_postmortem_for(request.user, incident_id)
        return Response(DraftOut(pm).data, headers={"ETag": draft_etag(pm)})

    @extend_schema(
        summary="Save sections and reviewers of the draft at once (If-Match required)",
        parameters=[IF_MATCH],
        request=DraftIn,
        responses={
            200: OpenApiResponse(DraftOut, description="Saved; new ETag."),
            **ERRORS,
            412: OpenApiResponse(StaleDraftOut, description="Changed since your version."),
            428: OpenApiResponse(description="If-Match is missing."),
        },
    )
    def patch(self, request: Request, incident_id: int) -> Response:
        pm = sel.get_postmortem_for(request.user, incident_id)
        data = DraftIn(data=request.data)
        data.is_valid(raise_exception=True)  # a malformed body is a 400 whatever its If-Match
        version, refusal = _expected_version(request, pm)
        if refusal is not None:
            return refusal
        try:
            pm, _changed = svc.save_draft(
                postmortem=pm,
                sections=data.validated_data["sections"],
                expected_version=version,
                by=request.user,
                reviewers=_reviewers(pm, data.validated_data.get("reviewers")),
            )
        except StaleDraft as exc:
            return _stale(exc)
        return Response(DraftOut(pm).data, headers={"ETag": draft_etag(pm)})


urlpatterns = [
    path("postmortems/<int:incident_id>/draft/", DraftView.as_view(), name="api-postmortem-draft"),
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
