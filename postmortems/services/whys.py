"""Writes of the why chain: causes (nodes) asked five levels deep, their corrective actions,
accepted risks and stop reasons, and the "done means done" gate on closing an incident.

Concurrency: several laptops edit one tree. Every node carries a version; a write names the version
it read and is applied by ONE conditional UPDATE (`... WHERE id = %s AND version = %s`). Two writers
holding the same version race on the row lock: the first wins, and when the second gets the lock
PostgreSQL re-evaluates its WHERE on the new row, matches nothing, and the second is told who changed
the node. Adding a child never touches its parent's row, so causes added side by side never conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from metrics_link.models import Team

from .. import permissions as perms
from ..display import display_name
from ..models import ActionItem, Incident, WhyNode
from ..selectors import whys as why_selectors
from .actions import create_action_item
from .errors import ServiceError

ANSWER_REQUIRED = "Write the answer: why did this happen?"
QUESTION_REQUIRED = "The question cannot be empty."
PARENT_ELSEWHERE = "That cause belongs to another incident."
PARENT_DELETED = "That cause was deleted; reload the tree."
NODE_DELETED = "This cause was deleted by {who}; reload the tree."
CATEGORY_INVALID = (
    "Choose a category: code, infrastructure, process, tooling, knowledge or external."
)
RISK_REASON_REQUIRED = "Say why the risk is accepted (e.g. the cost outweighs the likelihood)."
STOP_REASON_REQUIRED = 'Say why this branch stops here (e.g. "outside our control").'
LINK_INVALID = "Evidence links must be http(s) URLs: {link}"
STALE = "This cause was changed by {who} ({when}) while you were editing; reload to see it."
EDITABLE = {
    "question",
    "answer",
    "category",
    "evidence_links",
    "accepted_risk_reason",
    "stop_reason",
}
MAX_TEXT = 5000
VERSION_REQUIRED = "Reload the tree: the form did not say which version of this cause it edits."


class StaleVersion(ServiceError):
    """Someone saved the node since the version the writer read. Carries who, for the message."""

    def __init__(self, node: WhyNode):
        self.node = node
        self.current_version = node.version
        self.changed_by = display_name(node.updated_by or node.author)
        when = timezone.localtime(node.updated_at).strftime("%H:%M:%S")
        super().__init__(STALE.format(who=self.changed_by, when=when), code="stale")


class VersionMissing(StaleVersion):
    """A page form that did not say which version it edits (the API's 428): shown like a stale
    form, with the current text beside the person's own."""

    def __init__(self, node: WhyNode):
        super().__init__(node)
        ServiceError.__init__(self, VERSION_REQUIRED, code="version_required")


def _clean_category(category: str) -> str:
    category = (category or "").strip()
    if category and category not in WhyNode.Category.values:
        raise ServiceError({"category": [CATEGORY_INVALID]})
    return category


def _clean_links(links: Any) -> list[str]:
    if links is None:
        return []
    if isinstance(links, str):
        links = links.split()
    cleaned: list[str] = []
    for link in links:
        link = str(link).strip()
        if not link:
            continue
        # Internal hosts ("https://grafana/d/x") are normal here, so no TLD is required.
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in link:
            raise ServiceError({"evidence_links": [LINK_INVALID.format(link=link)]})
        if link not in cleaned:
            cleaned.append(link)
    return cleaned


def _text(value: str, field: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise ServiceError({field: [f"Keep it under {MAX_TEXT} characters."]})
    return value


@transaction.atomic
def add_why(
    *,
    incident: Incident,
    author: User,
    answer: str,
    category: str = "",
    parent: WhyNode | None = None,
    question: str | None = None,
    evidence_links: list[str] | None = None,
) -> WhyNode:
    """Add a cause. Level 1 answers "Why did <impact> happen?"; a child answers "Why <parent>?"."""
    perms.require(perms.can_edit_why(author, incident), perms.incident_refusal(incident))
    errors: dict[str, list[str]] = {}
    answer = _text(answer, "answer")
    if not answer:
        errors["answer"] = [ANSWER_REQUIRED]
    if parent is not None:
        if parent.incident_id != incident.pk:
            errors["parent"] = [PARENT_ELSEWHERE]
        elif WhyNode.objects.deleted().filter(pk=parent.pk).exists():
            errors["parent"] = [PARENT_DELETED]
    if errors:
        raise ServiceError(errors)
    category = _clean_category(category)
    links = _clean_links(evidence_links)
    question = _text(question or "", "question")
    if not question:
        question = (
            why_selectors.child_question(parent.answer)
            if parent is not None
            else why_selectors.root_question(incident)
        )
    node = WhyNode(
        incident=incident,
        parent=parent,
        level=parent.level + 1 if parent is not None else 1,
        question=question,
        answer=answer,
        category=category,
        evidence_links=links,
        author=author,
        updated_by=author,
    )
    node._history_user = author  # type: ignore[attr-defined]  # simple-history's "who"
    node.save()
    return node


def _conditional_update(
    *, node: WhyNode, expected_version: int | None, by: User, **values: Any
) -> WhyNode:
    """Apply `values` only if the node is still at `expected_version` (see the module docstring)."""
    perms.require(perms.can_edit_why(by, node.incident), perms.incident_refusal(node.incident))
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise ServiceError({"version": [VERSION_REQUIRED]}, code="version_required")
    now = timezone.now()
    applied = (
        WhyNode.objects.alive()
        .filter(pk=node.pk, version=expected_version)
        .update(**values, version=F("version") + 1, updated_by=by, updated_at=now)
    )
    fresh = WhyNode.objects.select_related("updated_by", "author").get(pk=node.pk)
    if not applied:
        if fresh.is_deleted:
            raise ServiceError(
                NODE_DELETED.format(who=display_name(fresh.updated_by)), code="deleted"
            )
        raise StaleVersion(fresh)
    # The UPDATE holds the row lock until commit: this save only records the history row
    # (django-simple-history listens to save()) with exactly the values just written.
    fresh._history_user = by  # type: ignore[attr-defined]
    fresh.save(update_fields=["updated_at"])
    return fresh


@transaction.atomic
def update_why(*, node: WhyNode, expected_version: int | None, by: User, **changes: Any) -> WhyNode:
    """Edit a cause (question, answer, category, evidence links, accepted risk, stop reason)."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ServiceError(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    values: dict[str, Any] = {}
    for name in ("question", "answer", "accepted_risk_reason", "stop_reason"):
        if name in changes:
            values[name] = _text(changes[name], name)
    if "answer" in values and not values["answer"]:
        raise ServiceError({"answer": [ANSWER_REQUIRED]})
    if "question" in values and not values["question"]:
        raise ServiceError({"question": [QUESTION_REQUIRED]})
    if "category" in changes:
        values["category"] = _clean_category(changes["category"])
    if "evidence_links" in changes:
        values["evidence_links"] = _clean_links(changes["evidence_links"])
    return _conditional_update(node=node, expected_version=expected_version, by=by, **values)


REASON_REQUIRED = {
    "accepted_risk_reason": RISK_REASON_REQUIRED,
    "stop_reason": STOP_REASON_REQUIRED,
}


def _set_reason(
    field: str, *, node: WhyNode, reason: str, expected_version: int | None, by: User
) -> WhyNode:
    reason = _text(reason, field)
    if not reason:
        raise ServiceError({field: [REASON_REQUIRED[field]]})
    return _conditional_update(
        node=node, expected_version=expected_version, by=by, **{field: reason}
    )


@transaction.atomic
def accept_risk(*, node: WhyNode, reason: str, expected_version: int | None, by: User) -> WhyNode:
    """End a node without a corrective action, on the record, with a reason."""
    return _set_reason(
        "accepted_risk_reason", node=node, reason=reason, expected_version=expected_version, by=by
    )


@transaction.atomic
def set_stop_reason(
    *, node: WhyNode, reason: str, expected_version: int | None, by: User
) -> WhyNode:
    """End a branch before the required depth, with a reason (e.g. "outside our control")."""
    return _set_reason(
        "stop_reason", node=node, reason=reason, expected_version=expected_version, by=by
    )


@transaction.atomic
def add_evidence_link(
    *, node: WhyNode, url: str, expected_version: int | None, by: User
) -> WhyNode:
    links = _clean_links([*node.evidence_links, url])
    return _conditional_update(
        node=node, expected_version=expected_version, by=by, evidence_links=links
    )


@transaction.atomic
def delete_why(*, node: WhyNode, expected_version: int | None, by: User) -> WhyNode:
    """Soft delete a cause and the causes below it (they answered its question)."""
    node = _conditional_update(node=node, expected_version=expected_version, by=by, is_deleted=True)
    frontier = [node.pk]
    while frontier:
        children = list(WhyNode.objects.alive().filter(parent_id__in=frontier))
        for child in children:
            child.is_deleted = True
            child.version += 1
            child.updated_by = by
            child._history_user = by  # type: ignore[attr-defined]
            child.save(update_fields=["is_deleted", "version", "updated_by", "updated_at"])
        frontier = [c.pk for c in children]
    return node


@transaction.atomic
def add_corrective_action(
    *,
    node: WhyNode,
    by: User,
    title: str,
    owner: User | None = None,
    due_on: date | None = None,
    type: str = ActionItem.Type.PREVENT,
    priority: str = ActionItem.Priority.P2,
    estimated_hours: Decimal | float | None = None,
    description: str = "",
    team: Team | None = None,
    ticket_url: str = "",
    allow_past_due: bool = False,
    at: datetime | None = None,
) -> ActionItem:
    """Commit to a corrective measure for this cause (an action item in the shared tracker)."""
    perms.require(perms.can_edit_why(by, node.incident), perms.incident_refusal(node.incident))
    if node.is_deleted or WhyNode.objects.deleted().filter(pk=node.pk).exists():
        raise ServiceError(PARENT_DELETED)
    return create_action_item(
        title=title,
        created_by=by,
        owner=owner,
        team=team,
        incident=node.incident,
        why_node=node,
        description=description,
        due_on=due_on,
        priority=priority,
        type=type,
        estimated_hours=estimated_hours,
        ticket_url=ticket_url,
        allow_past_due=allow_past_due,
        at=at,
    )


@dataclass(frozen=True)
class ActionDefaults:
    due_on: date
    estimated_hours: Decimal
    due_days: int


def action_defaults(*, severity: str, type: str = ActionItem.Type.PREVENT) -> ActionDefaults:
    """Due date and effort a corrective action starts with in the why session, from the
    incident's severity and the action's type (settings.WHY_ACTION_DEFAULTS; changeable later)."""
    table = settings.WHY_ACTION_DEFAULTS.get(severity) or settings.WHY_ACTION_DEFAULTS["sev2"]
    days = int(table["due_days"].get(type, table["due_days"]["prevent"]))
    hours = Decimal(str(table["hours"].get(type, table["hours"]["prevent"])))
    return ActionDefaults(
        due_on=timezone.localdate() + timedelta(days=days), estimated_hours=hours, due_days=days
    )


@dataclass(frozen=True)
class LevelSaved:
    node: WhyNode
    action: ActionItem | None


def _check_version(node: WhyNode, expected_version: int) -> None:
    """Refuse a stale level save even when the node's own text is unchanged (an action added
    to a cause someone has just rewritten would commit to the wrong cause)."""
    fresh = (
        WhyNode.objects.select_for_update(of=("self",))
        .select_related("updated_by", "author")
        .get(pk=node.pk)
    )
    if fresh.is_deleted:
        raise ServiceError(NODE_DELETED.format(who=display_name(fresh.updated_by)), code="deleted")
    if fresh.version != expected_version:
        raise StaleVersion(fresh)


@transaction.atomic
def answer_why(
    *,
    incident: Incident,
    by: User,
    answer: str,
    category: str = "",
    node: WhyNode | None = None,
    expected_version: int | None = None,
    parent: WhyNode | None = None,
    question: str | None = None,
    evidence_links: list[str] | None = None,
    action_title: str = "",
    action_type: str = ActionItem.Type.PREVENT,
) -> LevelSaved:
    """One level of the why session in one write: the cause (new, or `node` at
    `expected_version`) and, when `action_title` is given, its corrective action, owned by `by`,
    due and estimated from the severity and type defaults. All or nothing: a refused part (stale
    version, empty answer, no team for the action) leaves the tree and the tracker unchanged."""
    if node is not None:
        if node.incident_id != incident.pk:
            raise ServiceError({"parent": [PARENT_ELSEWHERE]})
        if expected_version is None:
            raise ServiceError(
                "This form lacks the cause's version; reload the page.", code="version_required"
            )
        changes = {
            name: value
            for name, value in (
                ("answer", (answer or "").strip()),
                ("question", (question or "").strip() or node.question),
                ("category", category or ""),
                ("evidence_links", _clean_links(evidence_links)),
            )
            if value != getattr(node, name)
        }
        if changes:
            node = update_why(node=node, expected_version=expected_version, by=by, **changes)
        else:
            _check_version(node, expected_version)
    else:
        node = add_why(
            incident=incident,
            author=by,
            answer=answer,
            category=category,
            parent=parent,
            question=question,
            evidence_links=evidence_links,
        )
    action = None
    if (action_title or "").strip():
        if action_type not in ActionItem.Type.values:
            raise ServiceError(
                {"action_type": ["Choose a type: prevent, detect, mitigate or process."]}
            )
        defaults = action_defaults(severity=incident.severity, type=action_type)
        node.incident = incident
        try:
            action = add_corrective_action(
                node=node,
                by=by,
                title=action_title,
                owner=by,
                type=action_type,
                due_on=defaults.due_on,
                estimated_hours=defaults.estimated_hours,
            )
        except ServiceError as exc:
            # Name the level form's fields: the action's title is `action_title` there.
            if hasattr(exc, "error_dict"):
                raise ServiceError(
                    {
                        ("action_title" if key == "title" else key): msgs
                        for key, msgs in exc.message_dict.items()
                    }
                ) from exc
            raise
    return LevelSaved(node=node, action=action)


def tree_gaps(incident: Incident) -> list[str]:
    """Exactly what is missing before the incident may close as resolved (empty = done)."""
    return why_selectors.gaps_of(why_selectors.load_tree(incident))
