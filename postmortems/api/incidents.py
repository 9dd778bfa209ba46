"""`/api/incidents/` and `/api/incidents/{id}/timeline/`. Translate HTTP ↔ services, nothing more."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import path
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from metrics_link.api.fields import (
    SaneDateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictSlugRelatedField,
    TypedInput,
)
from metrics_link.api.pagination import CappedCountPagination, OldestFirstCursorPagination

from ..models import Incident, TimelineEntry
from ..models.incidents import Severity
from ..selectors.incidents import get_incident_for, incident_list, timeline_for
from ..services import incidents as incident_services
from .fields import absolute_url

User = get_user_model()

BAD_REQUEST = OpenApiResponse(
    description='Validation failed: {"field": ["message", ...]} or {"detail": "message"}.'
)
NOT_FOUND = OpenApiResponse(description="No such incident, or you may not see it (restricted).")


class UserField(StrictSlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(
            slug_field="username", queryset=User.objects.filter(is_active=True), **kwargs
        )


class IncidentOut(serializers.ModelSerializer):
    services = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    commander = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    reporter = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    responders = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    url = serializers.SerializerMethodField()
    time_to_detect_seconds = serializers.SerializerMethodField()
    time_to_mitigate_seconds = serializers.SerializerMethodField()
    time_to_resolve_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "url",
            "title",
            "severity",
            "status",
            "visibility",
            "impact",
            "summary",
            "services",
            "commander",
            "reporter",
            "responders",
            "started_at",
            "started_at_source",
            "detected_at",
            "detected_at_source",
            "mitigated_at",
            "mitigated_at_source",
            "resolved_at",
            "resolved_at_source",
            "closed_at",
            "close_reason",
            "duplicate_of",
            "no_deploy_involved",
            "origin",
            "time_to_detect_seconds",
            "time_to_mitigate_seconds",
            "time_to_resolve_seconds",
            "created_at",
            "updated_at",
        ]

    def get_url(self, obj: Incident) -> str:
        return absolute_url(self.context, obj.get_absolute_url())

    def _secs(self, value) -> int | None:
        return int(value.total_seconds()) if value is not None else None

    def get_time_to_detect_seconds(self, obj: Incident) -> int | None:
        return self._secs(obj.time_to_detect)

    def get_time_to_mitigate_seconds(self, obj: Incident) -> int | None:
        return self._secs(obj.time_to_mitigate)

    def get_time_to_resolve_seconds(self, obj: Incident) -> int | None:
        return self._secs(obj.time_to_resolve)


class IncidentCreateIn(TypedInput, serializers.Serializer):
    title = StrictCharField(max_length=200)
    severity = serializers.ChoiceField(choices=Severity.choices)
    services = serializers.ListField(
        child=serializers.SlugField(max_length=100),
        min_length=1,
        help_text="Service slugs. Unknown ones are created unclaimed.",
    )
    started_at = SaneDateTimeField(required=False)
    detected_at = SaneDateTimeField(required=False)
    impact = StrictCharField(required=False, allow_blank=True, default="")
    summary = StrictCharField(required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(
        choices=Incident.Visibility.choices, required=False, default="public"
    )
    commander = UserField(required=False, allow_null=True)
    responders = serializers.ListField(child=UserField(), required=False, default=list)


class IncidentUpdateIn(TypedInput, serializers.Serializer):
    title = StrictCharField(max_length=200, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    impact = StrictCharField(required=False, allow_blank=True)
    summary = StrictCharField(required=False, allow_blank=True)
    visibility = serializers.ChoiceField(choices=Incident.Visibility.choices, required=False)
    services = serializers.ListField(
        child=serializers.SlugField(max_length=100), min_length=1, required=False
    )
    commander = UserField(required=False, allow_null=True)
    responders = serializers.ListField(child=UserField(), required=False)
    started_at = SaneDateTimeField(required=False)
    detected_at = SaneDateTimeField(required=False, allow_null=True)
    mitigated_at = SaneDateTimeField(required=False, allow_null=True)
    resolved_at = SaneDateTimeField(required=False, allow_null=True)
    status = serializers.ChoiceField(
        choices=Incident.Status.choices,
        required=False,
        help_text="Moves the incident along its lifecycle; closing needs close_reason.",
    )
    close_reason = serializers.ChoiceField(choices=Incident.CloseReason.choices, required=False)
    duplicate_of = StrictIntegerField(required=False, min_value=1, max_value=2**31 - 1)


class IncidentFilter(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[*Incident.Status.choices, ("open", "Open")], required=False
    )
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    service = serializers.SlugField(required=False, help_text="Service slug")
    team = serializers.SlugField(required=False, help_text="Team slug")
    since = serializers.DateTimeField(
        required=False, help_text="ISO 8601; incidents started at or after"
    )
    q = StrictCharField(required=False, help_text="Words in title, summary or impact")


class IncidentPagination(CappedCountPagination):
    """Newest first by cursor; page numbers with a capped count (issue 15: 100k incidents)."""

    noun = "incidents"
    cursor_ordering = "-id"


@extend_schema_view(
    get=extend_schema(
        summary="List incidents you can see",
        parameters=[IncidentFilter],
        tags=["incidents"],
    ),
    post=extend_schema(
        summary="File an incident",
        request=IncidentCreateIn,
        examples=[
            OpenApiExample(
                "Checkout is failing",
                request_only=True,
                value={
                    "title": "Checkout returns 502 for a third of payments",
                    "severity": "sev2",
                    "services": ["checkout"],
                    "impact": "About 30% of card payments fail since 14:02 UTC.",
                    "started_at": "2026-11-02T14:02:00Z",
                },
            )
        ],
        responses={201: IncidentOut, 400: BAD_REQUEST},
        tags=["incidents"],
    ),
)
class IncidentListCreate(generics.ListCreateAPIView):
    serializer_class = IncidentOut
    filter_backends: list = []
    pagination_class = IncidentPagination

    def get_queryset(self):
        params = IncidentFilter(
            data=self.request.query_params.dict()
        )  # "" is a value, not "absent"
        params.is_valid(raise_exception=True)
        f = params.validated_data
        status_ = f.get("status")
        return (
            incident_list(
                self.request.user,
                status=list(Incident.OPEN_STATUSES) if status_ == "open" else status_,
                severity=f.get("severity"),
                service=f.get("service"),
                team=f.get("team"),
                since=f.get("since"),
                text=f.get("q"),
            )
            .prefetch_related("responders")
            .select_related("reporter")
        )

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = IncidentCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        incident = incident_services.open_incident(
            title=v["title"],
            severity=v["severity"],
            services=v["services"],
            reporter=request.user,
            commander=v.get("commander") or request.user,
            responders=v.get("responders") or [],
            impact=v.get("impact", ""),
            summary=v.get("summary", ""),
            visibility=v.get("visibility", "public"),
            started_at=v.get("started_at"),
            detected_at=v.get("detected_at"),
            origin=Incident.Origin.API,
        )
        incident = get_incident_for(request.user, incident.pk)
        return Response(
            IncidentOut(incident, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    get=extend_schema(
        summary="Read an incident", responses={200: IncidentOut, 404: NOT_FOUND}, tags=["incidents"]
    ),
    patch=extend_schema(
        summary="Update an incident (fields, times, status)",
        request=IncidentUpdateIn,
        responses={200: IncidentOut, 400: BAD_REQUEST, 404: NOT_FOUND},
        tags=["incidents"],
    ),
)
class IncidentDetail(generics.GenericAPIView):
    serializer_class = IncidentOut
    http_method_names = ["get", "patch", "head", "options"]

    def get(self, request: Request, pk: int) -> Response:
        incident = get_incident_for(request.user, pk)
        return Response(IncidentOut(incident, context={"request": request}).data)

    def patch(self, request: Request, pk: int) -> Response:
        """All or nothing: everything is validated first, then applied in one transaction, so a
        refused status change or an unknown duplicate_of leaves the incident as it was."""
        incident = get_incident_for(request.user, pk)
        data = IncidentUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        to = v.pop("status", None)
        reason = v.pop("close_reason", "")
        duplicate_id = v.pop("duplicate_of", None)
        services = v.pop("services", None)
        responders = v.pop("responders", None)
        duplicate_of = get_incident_for(request.user, duplicate_id) if duplicate_id else None
        if (
            to
            and to != incident.status
            and to not in incident_services.TRANSITIONS[incident.status]
        ):
            raise serializers.ValidationError(
                {
                    "status": [
                        incident_services.ILLEGAL_TRANSITION.format(
                            current=incident.status, target=to
                        )
                    ]
                }
            )
        with transaction.atomic():
            if v or services is not None or responders is not None:
                incident = incident_services.update_incident(
                    incident=incident,
                    by=request.user,
                    services=services,
                    responders=responders,
                    **v,
                )
            if to and to != incident.status:
                incident = incident_services.change_status(
                    incident=incident,
                    to=to,
                    by=request.user,
                    reason=reason,
                    duplicate_of=duplicate_of,
                )
        incident = get_incident_for(request.user, pk)
        return Response(IncidentOut(incident, context={"request": request}).data)


class TimelineEntryOut(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = TimelineEntry
        fields = [
            "id",
            "at",
            "kind",
            "author",
            "body",
            "source",
            "starred",
            "deploy",
            "alert",
            "created_at",
        ]


class TimelineEntryIn(TypedInput, serializers.Serializer):
    body = StrictCharField(max_length=20000)
    at = SaneDateTimeField(required=False)
    starred = StrictBooleanField(required=False, default=False)


@extend_schema_view(
    get=extend_schema(summary="An incident's timeline", tags=["incidents"]),
    post=extend_schema(
        summary="Add a note to the timeline",
        request=TimelineEntryIn,
        responses={201: TimelineEntryOut, 400: BAD_REQUEST, 404: NOT_FOUND},
        tags=["incidents"],
    ),
)
class IncidentTimeline(generics.ListCreateAPIView):
    serializer_class = TimelineEntryOut
    pagination_class = OldestFirstCursorPagination
    filter_backends: list = []

    def get_queryset(self):
        return timeline_for(get_incident_for(self.request.user, self.kwargs["pk"]))

    def create(self, request: Request, *args, **kwargs) -> Response:
        incident = get_incident_for(request.user, self.kwargs["pk"])
        data = TimelineEntryIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry = incident_services.add_note(
            incident=incident, author=request.user, **data.validated_data
        )
        return Response(TimelineEntryOut(entry).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("incidents/", IncidentListCreate.as_view(), name="api-incident-list"),
    path("incidents/<int:pk>/", IncidentDetail.as_view(), name="api-incident-detail"),
    path("incidents/<int:pk>/timeline/", IncidentTimeline.as_view(), name="api-incident-timeline"),
]
