"""`/api/action-items/`: list with filters, create, read, partial update, and transitions
(`POST /api/action-items/{id}/start|complete|wont-do|reopen/`). Every read goes through the
accessor (`visible_action_items` / `get_action_item_for`); every write through a service."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.urls import path
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics_link.api.fields import (
    OptionalURLField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictSlugRelatedField,
    TypedInput,
)
from metrics_link.api.pagination import CappedCountPagination
from metrics_link.models import Team

from ..models import ActionItem
from ..selectors.actions import (
    ActionFilters,
    action_item_list,
    get_action_item_for,
    mark_incident_visibility,
)
from ..selectors.incidents import get_incident_for
from ..selectors.whys import get_why_node_for
from ..services import actions as action_services
from ..services import whys as why_services
from .fields import absolute_url

User = get_user_model()
MAX_ID = 2**31 - 1  # ids are 32-bit in PostgreSQL


def _hours() -> serializers.DecimalField:
    """Engineer-hours: optional, not negative, one decimal."""
    return serializers.DecimalField(
        max_digits=7,
        decimal_places=1,
        min_value=0,
        coerce_to_string=False,
        required=False,
        allow_null=True,
    )


class _User(StrictSlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(
            slug_field="username", queryset=User.objects.filter(is_active=True), **kwargs
        )


class _Team(StrictSlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", queryset=Team.objects.all(), **kwargs)


class ActionItemOut(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    closed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    incident = serializers.SerializerMethodField(
        help_text="The incident's id and title, or null; {id: null, restricted: true} when the "
        "item belongs to a restricted incident you cannot see."
    )
    why_node = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "url",
            "title",
            "description",
            "status",
            "priority",
            "type",
            "owner",
            "team",
            "due_on",
            "estimated_hours",
            "actual_hours",
            "ticket_url",
            "incident",
            "why_node",
            "verification_note",
            "wont_do_reason",
            "closed_at",
            "closed_by",
            "created_at",
            "updated_at",
        ]

    def get_url(self, obj) -> str:
        return absolute_url(self.context, obj.get_absolute_url())

    def get_incident(self, obj) -> dict | None:
        if obj.incident_id is None:
            return None
        if not getattr(obj, "incident_visible", False):
            return {"id": None, "title": None, "restricted": True}
        return {"id": obj.incident_id, "title": obj.incident.title, "restricted": False}

    def get_why_node(self, obj) -> int | None:
        return obj.why_node_id if getattr(obj, "incident_visible", False) else None


class ActionItemCreateIn(TypedInput, serializers.Serializer):
    title = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True, default="")
    owner = _User(required=False, allow_null=True)
    team = _Team(required=False, allow_null=True, help_text="Team slug; defaults as documented.")
    incident = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)
    why_node = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="A why node's id: the item becomes that cause's corrective action "
        "(its incident is the node's).",
    )
    due_on = serializers.DateField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=ActionItem.Priority.choices, default="p2")
    type = serializers.ChoiceField(choices=ActionItem.Type.choices, default="prevent")
    estimated_hours = _hours()
    ticket_url = OptionalURLField(required=False, allow_blank=True, default="")


class ActionItemUpdateIn(TypedInput, serializers.Serializer):
    title = StrictCharField(max_length=200, required=False)
    description = StrictCharField(required=False, allow_blank=True)
    owner = _User(required=False, allow_null=True)
    team = _Team(required=False)
    due_on = serializers.DateField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=ActionItem.Priority.choices, required=False)
    type = serializers.ChoiceField(choices=ActionItem.Type.choices, required=False)
    estimated_hours = _hours()
    actual_hours = _hours()
    ticket_url = OptionalURLField(required=False, allow_blank=True)


class CompleteIn(TypedInput, serializers.Serializer):
    verification_note = StrictCharField(
        help_text="How we know it works. Required.", allow_blank=True
    )
    actual_hours = _hours()


class WontDoIn(TypedInput, serializers.Serializer):
    reason = StrictCharField(help_text="Why it will not be done. Required.", allow_blank=True)


class EmptyIn(TypedInput, serializers.Serializer):
    pass


class ActionFilterIn(serializers.Serializer):
    mine = StrictBooleanField(required=False, default=False, help_text="Only items I own.")
    owner = serializers.CharField(
        required=False, max_length=150, help_text="Owner's username (unknown: an empty list)."
    )
    team = serializers.SlugField(required=False, help_text="Team slug (unknown: an empty list).")
    status = serializers.ChoiceField(
        choices=["open", "closed", "any", *ActionItem.Status.values],
        required=False,
        help_text="Default: any. 'open' means open or in progress.",
    )
    type = serializers.ChoiceField(choices=ActionItem.Type.values, required=False)
    incident = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Incident id."
    )
    overdue = StrictBooleanField(
        required=False, default=False, help_text="Open items past their due date."
    )
    due_after = serializers.DateField(required=False, help_text="Inclusive.")
    due_before = serializers.DateField(required=False, help_text="Inclusive.")
    sort = serializers.ChoiceField(
        choices=["due", "-due", "priority", "-priority", "created", "-created"],
        required=False,
        help_text="Page-number mode only (a cursor orders by id).",
    )


LIST_PARAMS = [ActionFilterIn]

ERRORS = {
    400: OpenApiResponse(description="A rule was broken: {field: [message]} or {detail}."),
    404: OpenApiResponse(description="No such item, or one you may not see."),
}


class ActionItemPagination(CappedCountPagination):
    """Newest first by cursor; page numbers with a capped count ("1,000+"; issue 15: 500k)."""

    noun = "action items"
    cursor_ordering = "-id"
    # 1,000, not 10,000: each counted row is tested against the visibility rule (a pk probe of
    # its incident); counted by due date (`action_due_id_idx`) whatever the page's sort.
    count_cap = 1_000
    count_ordering = (F("due_on").asc(nulls_last=True), "id")


class ActionItemListCreate(generics.ListCreateAPIView):
    serializer_class = ActionItemOut
    pagination_class = ActionItemPagination

    def get_queryset(self):
        params = ActionFilterIn(
            data=self.request.query_params.dict()
        )  # "" is a value, not "absent"
        params.is_valid(raise_exception=True)
        p = params.validated_data
        filters = ActionFilters(
            scope="mine" if p.get("mine") else "all",
            team_slug=p.get("team") or "",
            owner_username=p.get("owner") or "",
            status=p.get("status") or "any",
            type=p.get("type") or "",
            incident=p.get("incident"),
            overdue=p.get("overdue", False),
            due_from=p.get("due_after"),
            due_to=p.get("due_before"),
            sort=p.get("sort") or "due",
        )
        return action_item_list(self.request.user, filters, annotate=False)[1]

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return mark_incident_visibility(page, self.request.user) if page is not None else None

    @extend_schema(
        summary="List action items you may see",
        parameters=LIST_PARAMS,
        responses={200: ActionItemOut(many=True), 400: ERRORS[400]},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create an action item",
        request=ActionItemCreateIn,
        examples=[
            OpenApiExample(
                "A fix from a postmortem",
                request_only=True,
                value={
                    "title": "Alert on the payment provider's error rate",
                    "incident": 42,
                    "owner": "maria",
                    "team": "payments",
                    "due_on": "2026-11-20",
                    "priority": "p2",
                    "type": "detect",
                    "estimated_hours": 4.0,
                },
            )
        ],
        responses={201: ActionItemOut, 400: ERRORS[400], 404: ERRORS[404]},
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        data = ActionItemCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        number = v.pop("incident", None)
        node_id = v.pop("why_node", None)
        if node_id:
            node = get_why_node_for(request.user, node_id)
            if number and number != node.incident_id:
                raise ValidationError({"why_node": ["This why node belongs to another incident."]})
            item = why_services.add_corrective_action(node=node, by=request.user, **v)
        else:
            incident = get_incident_for(request.user, number) if number else None
            item = action_services.create_action_item(
                created_by=request.user, incident=incident, **v
            )
        item = get_action_item_for(request.user, item.pk)
        return Response(
            ActionItemOut(item, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class ActionItemDetail(APIView):
    @extend_schema(summary="Read an action item", responses={200: ActionItemOut, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        item = get_action_item_for(request.user, pk)
        return Response(ActionItemOut(item, context={"request": request}).data)

    @extend_schema(
        summary="Change an action item's fields (not its status: use the transitions)",
        request=ActionItemUpdateIn,
        responses={200: ActionItemOut, 400: ERRORS[400], 404: ERRORS[404]},
    )
    def patch(self, request: Request, pk: int) -> Response:
        item = get_action_item_for(request.user, pk)
        data = ActionItemUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        with transaction.atomic():  # all or nothing: a refused edit undoes the reassignment
            owner = changes.get("owner")
            if "owner" in changes and owner != item.owner and owner is not None:
                action_services.reassign_action_item(
                    item=item, by=request.user, owner=changes.pop("owner")
                )
            if changes:
                action_services.update_action_item(item=item, by=request.user, changes=changes)
        item = get_action_item_for(request.user, pk)
        return Response(ActionItemOut(item, context={"request": request}).data)


class _Transition(APIView):
    move = ""
    input_serializer = EmptyIn

    def act(self, request, item, data):  # pragma: no cover - overridden
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        item = get_action_item_for(request.user, pk)
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.act(request, item, data.validated_data)
        item = get_action_item_for(request.user, pk)
        return Response(ActionItemOut(item, context={"request": request}).data)


def _transition_schema(summary: str, request):
    return extend_schema(
        summary=summary,
        request=request,
        responses={200: ActionItemOut, 400: ERRORS[400], 404: ERRORS[404]},
    )


class StartItem(_Transition):
    @_transition_schema("Start: open → in progress", EmptyIn)
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, request, item, data):
        action_services.start_action_item(item=item, by=request.user)


class CompleteItem(_Transition):
    input_serializer = CompleteIn

    @_transition_schema("Close as done (verification note required)", CompleteIn)
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, request, item, data):
        action_services.complete_action_item(
            item=item,
            by=request.user,
            verification_note=data["verification_note"],
            actual_hours=data.get("actual_hours"),
        )


class WontDoItem(_Transition):
    input_serializer = WontDoIn

    @_transition_schema("Close as won't do (reason required)", WontDoIn)
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, request, item, data):
        action_services.wont_do_action_item(item=item, by=request.user, reason=data["reason"])


class ReopenItem(_Transition):
    @_transition_schema("Reopen a closed item", EmptyIn)
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, request, item, data):
        action_services.reopen_action_item(item=item, by=request.user)


urlpatterns = [
    path("action-items/", ActionItemListCreate.as_view(), name="api-action-items"),
    path("action-items/<int:pk>/", ActionItemDetail.as_view(), name="api-action-item"),
    path("action-items/<int:pk>/start/", StartItem.as_view(), name="api-action-item-start"),
    path(
        "action-items/<int:pk>/complete/", CompleteItem.as_view(), name="api-action-item-complete"
    ),
    path("action-items/<int:pk>/wont-do/", WontDoItem.as_view(), name="api-action-item-wont-do"),
    path("action-items/<int:pk>/reopen/", ReopenItem.as_view(), name="api-action-item-reopen"),
]
