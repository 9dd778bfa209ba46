"""`/api/reviews/`, `/api/retros/` (read) and `/api/experiments/` (record experiments and their
counts from the experiment system). Translate HTTP ↔ selectors/services, nothing more."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from metrics_link.api.fields import StrictCharField, StrictIntegerField, TypedInput

from ..models import Experiment, RetroItem, Retrospective, WeeklyReview
from ..selectors import retros
from ..selectors import reviews as sel
from ..selectors.weekly_followup import experiment_figures
from ..services import reviews as svc
from .fields import absolute_url

User = get_user_model()


# --------------------------------------------------------------------------- reviews


class ReviewOut(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()

    class Meta:
        model = WeeklyReview
        fields = ["iso_week", "week_start", "generated_at", "published_at", "url", "summary"]

    def get_url(self, obj) -> str:
        return absolute_url(self.context, obj.get_absolute_url())

    def get_summary(self, obj) -> list[str]:
        return obj.snapshot.get("summary", [])


class ReviewDetailOut(ReviewOut):
    figures = serializers.SerializerMethodField()

    class Meta(ReviewOut.Meta):
        fields = [*ReviewOut.Meta.fields, "figures"]

    def get_figures(self, obj) -> dict:
        """The snapshot's figures (public-safe: computed as the all-staff view), without HTML."""
        # "html": kept by snapshots built before the templates rendered them from the figures.
        data = {k: v for k, v in obj.snapshot.items() if k not in ("html", "charts")}
        business = dict(data.get("business") or {})
        business.pop("charts", None)
        data["business"] = business
        return data


@extend_schema(tags=["reviews"], summary="Published weekly business reviews, newest first.")
class ReviewListApi(generics.ListAPIView):
    serializer_class = ReviewOut

    def get_queryset(self):
        return sel.review_list()


@extend_schema(
    tags=["reviews"],
    summary="One weekly review's figures (e.g. 2026-W48); 404 if not built.",
)
class ReviewDetailApi(generics.RetrieveAPIView):
    serializer_class = ReviewDetailOut

    def get_object(self):
        return sel.get_review(self.kwargs["week"])


# --------------------------------------------------------------------------- retros


class RetroItemOut(serializers.ModelSerializer):
    votes = serializers.IntegerField(source="vote_count", read_only=True)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = RetroItem
        fields = ["id", "column", "text", "author", "votes", "created_at"]


class RetroOut(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    facilitator = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = Retrospective
        fields = [
            "id",
            "url",
            "team",
            "name",
            "sprint_start",
            "sprint_end",
            "facilitator",
            "summary",
            "published",
            "published_at",
        ]

    def get_url(self, obj) -> str:
        return absolute_url(self.context, obj.get_absolute_url())


class RetroActionOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    owner = serializers.CharField(source="owner.username", default=None)
    due_on = serializers.DateField(allow_null=True)


class RetroDetailOut(RetroOut):
    items = serializers.SerializerMethodField()
    action_items = serializers.SerializerMethodField()

    class Meta(RetroOut.Meta):
        fields = [*RetroOut.Meta.fields, "items", "action_items"]

    def get_items(self, obj) -> list[dict]:
        items = [
            i for col in retros.retro_board(obj, self.context["request"].user) for i in col["items"]
        ]
        return RetroItemOut(items, many=True).data

    def get_action_items(self, obj) -> list[dict]:
        return RetroActionOut(retros.retro_action_items(obj), many=True).data


@extend_schema(tags=["retros"], summary="Retrospectives: published ones, and your team's drafts.")
class RetroListApi(generics.ListAPIView):
    serializer_class = RetroOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Retrospective.objects.none()
        return retros.retro_list(self.request.user)


@extend_schema(tags=["retros"], summary="One retrospective with its items, votes and action items.")
class RetroDetailApi(generics.RetrieveAPIView):
    serializer_class = RetroDetailOut

    def get_object(self):
        return retros.get_retro_for(self.request.user, self.kwargs["pk"])


# --------------------------------------------------------------------------- experiments


# Counts are stored as PositiveIntegerField (a 32-bit integer column on PostgreSQL).
COUNT_MAX = 2_147_483_647


class ExperimentIn(TypedInput, serializers.Serializer):
    name = StrictCharField(max_length=200)
    hypothesis = StrictCharField(required=False, allow_blank=True)
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    control_trials = StrictIntegerField(min_value=0, max_value=COUNT_MAX, required=False)
    control_conversions = StrictIntegerField(min_value=0, max_value=COUNT_MAX, required=False)
    experiment_trials = StrictIntegerField(min_value=0, max_value=COUNT_MAX, required=False)
    experiment_conversions = StrictIntegerField(min_value=0, max_value=COUNT_MAX, required=False)
    split = serializers.FloatField(required=False, help_text="Experiment arm's share; 0.5 = 50/50.")
    decision = StrictCharField(required=False, allow_blank=True)
    started_on = serializers.DateField(required=False, allow_null=True)
    ended_on = serializers.DateField(required=False, allow_null=True)


class ExperimentOut(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    significance = serializers.SerializerMethodField()

    class Meta:
        model = Experiment
        fields = [
            "id",
            "name",
            "hypothesis",
            "owner",
            "control_trials",
            "control_conversions",
            "experiment_trials",
            "experiment_conversions",
            "split",
            "decision",
            "started_on",
            "ended_on",
            "significance",
            "updated_at",
        ]

    def get_significance(self, obj) -> dict:
        """{method, significant, statistic, detail, p_value}: the simple rule for a 50/50
        split, a chi-squared test otherwise."""
        return experiment_figures(obj)["significance"]


@extend_schema_view(
    get=extend_schema(tags=["experiments"], summary="Experiments with their significance."),
    post=extend_schema(
        tags=["experiments"],
        summary="Record an experiment (400 with field messages on bad counts).",
        request=ExperimentIn,
        responses={201: ExperimentOut},
    ),
)
class ExperimentListApi(generics.ListCreateAPIView):
    serializer_class = ExperimentOut
    queryset = Experiment.objects.select_related("owner").order_by("-started_on", "name")

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = ExperimentIn(data=request.data)
        data.is_valid(raise_exception=True)
        exp = svc.create_experiment(**data.validated_data)
        return Response(ExperimentOut(exp).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(tags=["experiments"], summary="One experiment."),
    patch=extend_schema(
        tags=["experiments"],
        summary="Update counts or the decision (400 when conversions exceed trials).",
        request=ExperimentIn,
        responses={200: ExperimentOut},
    ),
)
class ExperimentDetailApi(generics.RetrieveAPIView):
    serializer_class = ExperimentOut
    queryset = Experiment.objects.select_related("owner")

    def patch(self, request: Request, *args, **kwargs) -> Response:
        exp = self.get_object()
        data = ExperimentIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        exp = svc.update_experiment(experiment=exp, **data.validated_data)
        return Response(ExperimentOut(exp).data)


urlpatterns = [
    path("reviews/", ReviewListApi.as_view(), name="api-review-list"),
    path("reviews/<str:week>/", ReviewDetailApi.as_view(), name="api-review-detail"),
    path("retros/", RetroListApi.as_view(), name="api-retro-list"),
    path("retros/<int:pk>/", RetroDetailApi.as_view(), name="api-retro-detail"),
    path("experiments/", ExperimentListApi.as_view(), name="api-experiment-list"),
    path("experiments/<int:pk>/", ExperimentDetailApi.as_view(), name="api-experiment-detail"),
]
