from __future__ import annotations

import re

from django.db import models, transaction
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers

from ..models import Service, Team
from ..services.catalog import create_service, update_service
from .fields import StrictCharField, StrictSlugRelatedField, TypedInput

REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")


class ServiceSerializer(TypedInput, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }
    team = StrictSlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True
    )
    repositories = serializers.ListField(
        child=StrictCharField(max_length=200),
        required=False,
        default=list,
        help_text='Repositories as "owner/name" strings.',
    )

    class Meta:
        model = Service
        fields = [
            "id",
            "slug",
            "name",
            "team",
            "repositories",
            "description",
            "claimed",
            "created_at",
        ]
        read_only_fields = ["id", "claimed", "created_at"]

    def validate_repositories(self, value: list[str]) -> list[str]:
        bad = [r for r in value if not REPO_RE.match(r.strip())]
        if bad:
            raise serializers.ValidationError(
                f'Use "owner/name" for repositories: {", ".join(bad)}.'
            )
        return [r.strip() for r in value]


class ServiceFilterIn(serializers.Serializer):
    team__slug = serializers.SlugField(required=False, help_text="Team slug.")
    claimed = serializers.ChoiceField(
        choices=["true", "false"], required=False, help_text="Claimed by a team, or not yet."
    )


@extend_schema_view(
    get=extend_schema(
        summary="List services",
        tags=["catalog"],
        parameters=[ServiceFilterIn],
    ),
    post=extend_schema(summary="Create a service", tags=["catalog"]),
)
class ServiceListCreate(generics.ListCreateAPIView):
    serializer_class = ServiceSerializer
    filter_backends: list = []

    def get_queryset(self):
        params = ServiceFilterIn(data=self.request.query_params.dict())  # "" is a value
        params.is_valid(raise_exception=True)
        p = params.validated_data
        services = Service.objects.select_related("team").order_by("slug")
        if "team__slug" in p:
            services = services.filter(team__slug=p["team__slug"])
        if "claimed" in p:
            services = services.filter(claimed=p["claimed"] == "true")
        return services

    @transaction.atomic
    def perform_create(self, serializer):
        serializer.instance = create_service(**serializer.validated_data, by=self.request.user)


@extend_schema_view(
    get=extend_schema(summary="Read a service", tags=["catalog"]),
    put=extend_schema(summary="Replace a service", tags=["catalog"]),
    patch=extend_schema(summary="Update a service", tags=["catalog"]),
)
class ServiceDetail(generics.RetrieveUpdateAPIView):
    serializer_class = ServiceSerializer
    queryset = Service.objects.select_related("team")
    lookup_field = "slug"

    def perform_update(self, serializer):
        serializer.instance = update_service(
            service=serializer.instance, by=self.request.user, **serializer.validated_data
        )


urlpatterns = [
    path("services/", ServiceListCreate.as_view(), name="api-service-list"),
    path("services/<slug:slug>/", ServiceDetail.as_view(), name="api-service-detail"),
]
