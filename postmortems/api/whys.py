"""`/api/incidents/{id}/whys/` and `/api/whys/{node_id}/`: the why tree over HTTP.

Concurrency contract (ARCHITECTURE): every node has an `ETag` ("<id>-<version>"); PATCH and DELETE
need `If-Match` — 428 when it is missing, 412 when it names an older version (the body says who
changed the node). Versions are per node, so adding causes side by side never conflicts.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import path, reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from metrics_link.api.fields import StrictCharField, StrictIntegerField, TypedInput

from ..models import ActionItem, WhyNode
from ..selectors import whys as sel
from ..selectors.incidents import get_incident_for
from ..selectors.whys import get_why_node_for
from ..services import whys as svc

BAD_REQUEST = OpenApiResponse(
    description='Validation failed: {"field": ["message", ...]} or {"detail": "message"}.'
)
NOT_FOUND = OpenApiResponse(
    description="No such incident or cause, or you may not see it (restricted incident)."
)


class PreconditionOut(serializers.Serializer):
    detail = serializers.CharField()
    current_version = serializers.IntegerField(required=False)
    changed_by = serializers.CharField(required=False)
    etag = serializers.CharField(required=False)


STALE = OpenApiResponse(
    PreconditionOut,
    description="412 Precondition Failed: the node changed since the version in If-Match; "
    "the body says who changed it and carries the current ETag. Reload and retry.",
)
MISSING_IF_MATCH = OpenApiResponse(
    PreconditionOut,
    description="428 Precondition Required: send If-Match with the node's ETag from a GET.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    location=OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the version you read, e.g. "42-3" (from GET). Required.',
)
ETAG_HEADER = OpenApiParameter(
    "ETag",
    str,
    location=OpenApiParameter.HEADER,
    response=[200, 201, 412],
    description='The node\'s version tag, e.g. "42-3". Send it back in If-Match.',
)


def etag_for(node: WhyNode) -> str:
    return f'"{node.pk}-{node.version}"'


class WhyActionOut(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # A plain string: its choices are documented by the action-items API.
    status = serializers.CharField(read_only=True, help_text="open, in_progress, done or wont_do")

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "title",
            "owner",
            "due_on",
            "type",
            "priority",
            "estimated_hours",
            "status",
        ]


class WhyNodeOut(serializers.Serializer):
    """One cause. Read from the tree (selectors.whys.TreeNode)."""

    id = serializers.IntegerField(source="node.pk")
    incident = serializers.IntegerField(source="node.incident_id")
    parent = serializers.IntegerField(source="node.parent_id", allow_null=True)
    level = serializers.IntegerField(source="node.level")
    question = serializers.CharField(source="node.question")
    answer = serializers.CharField(source="node.answer")
    category = serializers.ChoiceField(
        source="node.category", choices=WhyNode.Category.choices, allow_blank=True
    )
    evidence_links = serializers.ListField(
        child=serializers.URLField(), source="node.evidence_links"
    )
    accepted_risk_reason = serializers.CharField(source="node.accepted_risk_reason")
    stop_reason = serializers.CharField(source="node.stop_reason")
    version = serializers.IntegerField(source="node.version")
    etag = serializers.SerializerMethodField()
    author = serializers.CharField(source="node.author.username", allow_null=True, default=None)
    updated_by = serializers.CharField(
        source="node.updated_by.username", allow_null=True, default=None
    )
    created_at = serializers.DateTimeField(source="node.created_at")
    updated_at = serializers.DateTimeField(source="node.updated_at")
    covered = serializers.BooleanField(
        help_text="Has an action with an owner and a due date, or an accepted risk."
    )
    actions = WhyActionOut(many=True)

    def get_etag(self, item) -> str:
        return etag_for(item.node)


class WhyTreeNodeOut(WhyNodeOut):
    children = serializers.SerializerMethodField()

    @extend_schema_field(
        {"type": "array", "items": {"$ref": "#/components/schemas/WhyTreeNodeOut"}}
    )
    def get_children(self, item) -> list:
        return WhyTreeNodeOut(item.children, many=True, context=self.context).data


class LevelEffortOut(serializers.Serializer):
    level = serializers.IntegerField()
    committed = serializers.DecimalField(max_digits=9, decimal_places=1)
    target = serializers.IntegerField(allow_null=True)
    actions = serializers.IntegerField()


class WhyTreeOut(serializers.Serializer):
    incident = serializers.IntegerField()
    severity = serializers.CharField()
    required_depth = serializers.IntegerField()
    complete = serializers.BooleanField()
    gaps = serializers.ListField(child=serializers.CharField(), help_text="What is missing.")
    effort = LevelEffortOut(many=True)
    effort_warnings = serializers.ListField(child=serializers.CharField())
    nodes = WhyTreeNodeOut(many=True)


class WhyNodeIn(TypedInput, serializers.Serializer):
    parent = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=2**31 - 1)
    answer = StrictCharField(max_length=5000)
    category = serializers.ChoiceField(
        choices=WhyNode.Category.choices, required=False, allow_blank=True, default=""
    )
    question = StrictCharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        help_text='Defaults to "Why did <impact> happen?" (level 1) or "Why <parent answer>?".',
    )
    evidence_links = serializers.ListField(
        child=StrictCharField(max_length=2000), required=False, default=list
    )


class WhyNodeUpdateIn(TypedInput, serializers.Serializer):
    question = StrictCharField(max_length=5000, required=False)
    answer = StrictCharField(max_length=5000, required=False)
    category = serializers.ChoiceField(
        choices=WhyNode.Category.choices, required=False, allow_blank=True
    )
    evidence_links = serializers.ListField(child=StrictCharField(max_length=2000), required=False)
    accepted_risk_reason = StrictCharField(max_length=5000, required=False, allow_blank=True)
    stop_reason = StrictCharField(max_length=5000, required=False, allow_blank=True)


def _tree_data(incident) -> dict:
    tree = sel.load_tree(incident)
    gaps = sel.gaps_of(tree)
    return {
        "incident": incident.pk,
        "severity": incident.severity,
        "required_depth": sel.required_depth(incident),
        "complete": not gaps,
        "gaps": gaps,
        "effort": sel.effort_by_level(tree),
        "effort_warnings": sel.effort_warnings(tree),
        "nodes": tree.roots,
    }


def _item(node: WhyNode) -> sel.TreeNode:
    """A node with its live actions, as the tree shows it (children are not needed here)."""
    actions = node.action_items.alive().select_related("owner").order_by("id")
    return sel.TreeNode(node=node, actions=list(actions))


def _precondition(request: Request, node: WhyNode) -> tuple[int | None, Response | None]:
    """The version named by If-Match, or the 428/412 response to send instead."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return None, Response(
            {"detail": 'Send If-Match with the ETag from a GET of this cause (e.g. "42-3").'},
            status=status.HTTP_428_PRECONDITION_REQUIRED,
        )
    for tag in (t.strip() for t in header.split(",")):
        if tag == "*":
            return node.version, None
        tag = tag.removeprefix("W/").strip('"')
        node_part, _, version_part = tag.rpartition("-")
        if node_part == str(node.pk) and version_part == str(node.version):
            return node.version, None
    return None, _stale_response(svc.StaleVersion(node))


def _stale_response(exc: svc.StaleVersion) -> Response:
    tag = etag_for(exc.node)
    return Response(
        {
            "detail": exc.messages[0],
            "current_version": exc.current_version,
            "changed_by": exc.changed_by,
            "etag": tag,
        },
        status=status.HTTP_412_PRECONDITION_FAILED,
        headers={"ETag": tag},
    )


def _node_response(request: Request, node: WhyNode, code: int = 200) -> Response:
    item = _item(node)
    data = WhyNodeOut(item, context={"request": request}).data
    return Response(data, status=code, headers={"ETag": etag_for(item.node)})


@extend_schema_view(
    get=extend_schema(
        summary="The why tree of an incident (nested, with versions and the gate's gaps)",
        responses={200: WhyTreeOut, 404: NOT_FOUND},
        tags=["whys"],
    ),
    post=extend_schema(
        summary="Add a cause (level 1 without parent, else one level below it)",
        request=WhyNodeIn,
        parameters=[ETAG_HEADER],
        responses={
            201: OpenApiResponse(WhyNodeOut, description="Created; ETag header set."),
            400: BAD_REQUEST,
            404: NOT_FOUND,
        },
        tags=["whys"],
    ),
)
class IncidentWhys(generics.GenericAPIView):
    serializer_class = WhyTreeOut

    def get(self, request: Request, pk: int) -> Response:
        incident = get_incident_for(request.user, pk)
        return Response(WhyTreeOut(_tree_data(incident), context={"request": request}).data)

    def post(self, request: Request, pk: int) -> Response:
        incident = get_incident_for(request.user, pk)
        data = WhyNodeIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        parent = None
        if v.get("parent"):
            try:
                parent = get_why_node_for(request.user, v["parent"], incident=incident)
            except Http404:  # a field of the body, not the URL: 400
                return Response(
                    {"parent": ["No such cause in this incident."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        node = svc.add_why(
            incident=incident,
            author=request.user,
            parent=parent,
            answer=v["answer"],
            category=v.get("category") or "",
            question=v.get("question") or None,
            evidence_links=v.get("evidence_links") or [],
        )
        node.incident = incident
        response = _node_response(request, node, status.HTTP_201_CREATED)
        response["Location"] = reverse("api-why-detail", args=[node.pk])
        return response


@extend_schema_view(
    get=extend_schema(
        summary="Read a cause (ETag header carries its version)",
        parameters=[ETAG_HEADER],
        responses={
            200: OpenApiResponse(WhyNodeOut, description="The cause."),
            404: NOT_FOUND,
        },
        tags=["whys"],
    ),
    patch=extend_schema(
        summary="Edit a cause (If-Match required)",
        parameters=[IF_MATCH, ETAG_HEADER],
        request=WhyNodeUpdateIn,
        responses={
            200: OpenApiResponse(WhyNodeOut, description="Saved; new ETag."),
            400: BAD_REQUEST,
            404: NOT_FOUND,
            412: STALE,
            428: MISSING_IF_MATCH,
        },
        tags=["whys"],
    ),
    delete=extend_schema(
        summary="Soft delete a cause and the causes below it (If-Match required)",
        parameters=[IF_MATCH],
        responses={
            204: OpenApiResponse(description="Deleted (kept in history)."),
            404: NOT_FOUND,
            412: STALE,
            428: MISSING_IF_MATCH,
        },
        tags=["whys"],
    ),
)
class WhyDetail(generics.GenericAPIView):
    serializer_class = WhyNodeOut
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get(self, request: Request, node_id: int) -> Response:
        return _node_response(request, get_why_node_for(request.user, node_id))

    def patch(self, request: Request, node_id: int) -> Response:
        node = get_why_node_for(request.user, node_id)
        data = WhyNodeUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)  # a malformed body is a 400 whatever its If-Match
        version, refusal = _precondition(request, node)
        if refusal is not None:
            return refusal
        incident = node.incident
        try:
            node = svc.update_why(
                node=node, expected_version=version, by=request.user, **data.validated_data
            )
        except svc.StaleVersion as exc:
            return _stale_response(exc)
        node.incident = incident
        return _node_response(request, node)

    def delete(self, request: Request, node_id: int) -> Response:
        node = get_why_node_for(request.user, node_id)
        version, refusal = _precondition(request, node)
        if refusal is not None:
            return refusal
        try:
            svc.delete_why(node=node, expected_version=version, by=request.user)
        except svc.StaleVersion as exc:
            return _stale_response(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("incidents/<int:pk>/whys/", IncidentWhys.as_view(), name="api-incident-whys"),
    path("whys/<int:node_id>/", WhyDetail.as_view(), name="api-why-detail"),
]
