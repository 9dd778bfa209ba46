"""`/api/deploys/`: list with filters; create with `Idempotency-Key` / `external_id` semantics."""

from __future__ import annotations

import hashlib
import json

from django.urls import path
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from ..links import absolute_url
from ..models import Commit, Deploy
from ..selectors import deploy_list
from ..services.deploys import IdempotencyConflict, record_deploy, record_deploy_once
from .fields import OptionalURLField, SaneDateTimeField, StrictCharField, TypedInput
from .pagination import CappedCountPagination


class CommitOut(serializers.ModelSerializer):
    class Meta:
        model = Commit
        fields = ["sha", "message", "author", "committed_at", "url"]


class DeployOut(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    commits = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = Deploy
        fields = [
            "id",
            "page_url",
            "service",
            "environment",
            "repository",
            "sha",
            "version",
            "status",
            "started_at",
            "finished_at",
            "deployer",
            "url",
            "provider",
            "external_id",
            "commits",
            "created_at",
        ]

    def get_commits(self, obj: Deploy) -> list[dict]:
        return CommitOut([dc.commit for dc in obj.deploy_commits.all()], many=True).data

    def get_page_url(self, obj: Deploy) -> str:
        return absolute_url(obj.get_absolute_url())


class CommitIn(TypedInput, serializers.Serializer):
    sha = serializers.RegexField(r"^[0-9a-fA-F]{7,64}$", help_text="Full or abbreviated sha.")
    message = StrictCharField(allow_blank=True, default="")
    author = StrictCharField(max_length=200, allow_blank=True, default="")
    committed_at = SaneDateTimeField(required=False, allow_null=True, default=None)
    url = OptionalURLField(max_length=500, required=False, allow_blank=True, default="")


class DeployIn(TypedInput, serializers.Serializer):
    service = serializers.SlugField(
        max_length=100,
        required=False,
        help_text="Service slug (unknown ones are created unclaimed). Required unless repository is given.",
    )
    environment = StrictCharField(max_length=100, default="production")
    version = StrictCharField(max_length=200)
    status = serializers.ChoiceField(choices=Deploy.Status.choices, default="success")
    finished_at = SaneDateTimeField(required=False, help_text="Defaults to now.")
    started_at = SaneDateTimeField(required=False, allow_null=True)
    repository = serializers.RegexField(
        r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$",
        max_length=200,
        required=False,
        help_text='"owner/name"; defaults to the service\'s first repository.',
    )
    sha = serializers.RegexField(r"^[0-9a-fA-F]{7,64}$", required=False)
    commits = CommitIn(many=True, required=False)
    url = OptionalURLField(max_length=500, required=False, allow_blank=True, default="")
    deployer = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    external_id = StrictCharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if not attrs.get("service") and not attrs.get("repository"):
            raise serializers.ValidationError(
                {"service": ["Name the service (or the repository)."]}
            )
        started, finished = attrs.get("started_at"), attrs.get("finished_at")
        if started and finished and started > finished:
            raise serializers.ValidationError(
                {"started_at": ["A deploy cannot start after it finished."]}
            )
        return attrs


class DeployFilter(serializers.Serializer):
    service = serializers.SlugField(required=False, help_text="Service slug")
    environment = StrictCharField(required=False, max_length=100)
    status = serializers.ChoiceField(choices=Deploy.Status.choices, required=False)
    since = serializers.DateTimeField(
        required=False, help_text="ISO 8601; deploys finished at or after"
    )


class DeployPagination(CappedCountPagination):
    """Newest first by cursor; page numbers with a capped count."""

    noun = "deploys"
    cursor_ordering = "-id"


def request_hash(data) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


@extend_schema_view(
    get=extend_schema(
        summary="List deploys",
        parameters=[DeployFilter],
        tags=["deploys"],
    ),
    post=extend_schema(
        summary="Record a deploy",
        description=(
            "An `Idempotency-Key` header (or, without one, `external_id`) makes a retry return "
            "the first result (200); the same key with a different body is 422."
        ),
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        request=DeployIn,
        examples=[
            OpenApiExample(
                "From a CI job",
                request_only=True,
                value={
                    "service": "checkout",
                    "environment": "production",
                    "version": "v2026.11.02-3",
                    "repository": "acme/checkout",
                    "sha": "3f9c2a1b7d",
                    "status": "success",
                    "finished_at": "2026-11-02T13:48:00Z",
                    "deployer": "ci",
                    "url": "https://ci.example.com/jobs/4812",
                    "commits": [
                        {
                            "sha": "3f9c2a1b7d",
                            "message": "Retry the payment provider once",
                            "author": "maria",
                        }
                    ],
                },
            )
        ],
        responses={
            201: DeployOut,
            200: OpenApiResponse(DeployOut, description="A retry: the deploy recorded first."),
            400: OpenApiResponse(description="Invalid fields, as {field: [messages]}."),
            422: OpenApiResponse(description="Idempotency key reused with a different body."),
        },
        tags=["deploys"],
    ),
)
class DeployListCreate(generics.ListCreateAPIView):
    serializer_class = DeployOut
    filter_backends: list = []
    pagination_class = DeployPagination

    def get_queryset(self):
        params = DeployFilter(data=self.request.query_params.dict())  # "" is a value, not "absent"
        params.is_valid(raise_exception=True)
        return deploy_list(**params.validated_data)

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = DeployIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        header_key = (request.headers.get("Idempotency-Key") or "").strip()
        key = header_key or (f"external_id:{v['external_id']}" if v.get("external_id") else "")
        fields = {
            "service": v.pop("service", None),
            "provider": Deploy.Provider.API,
            **v,
        }
        try:
            if key:
                result = record_deploy_once(
                    key=key, request_hash=request_hash(request.data), **fields
                )
            else:
                result = record_deploy(**fields)
        except IdempotencyConflict as exc:
            return Response({"detail": str(exc)}, status=422)
        deploy = deploy_list().get(pk=result.deploy.pk)
        return Response(
            DeployOut(deploy, context={"request": request}).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


urlpatterns = [path("deploys/", DeployListCreate.as_view(), name="api-deploy-list")]
