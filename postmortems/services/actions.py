"""Writes of the action-items feature. `create_action_item` is shared by the why chain,
retrospectives and the tracker itself."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from metrics_link.models import Team

from .. import permissions as perms
from ..display import display_name
from ..models import ActionItem, Incident, Retrospective, TimelineEntry, WhyNode
from .errors import ServiceError
from .incidents import add_timeline_entry

TITLE_REQUIRED = "Say what will be done, in a few words."
TEAM_REQUIRED = (
    "Choose a team: it could not be derived from the incident's first service or the owner's teams."
)
DUE_IN_PAST = "The due date cannot be in the past."
HOURS_NEGATIVE = "Effort is in engineer-hours and cannot be negative."
MAX_TITLE = 200
TITLE_TOO_LONG = f"Keep the title under {MAX_TITLE} characters."


def default_team(*, incident: Incident | None, owner: User | None) -> Team | None:
    """The team of the incident's first service, else the owner's first team (ARCHITECTURE)."""
    if incident is not None:
        first = incident.services.order_by("slug").select_related("team").first()
        if first and first.team_id:
            return first.team
    if owner is not None:
        return Team.objects.filter(members=owner).order_by("name").first()
    return None


@transaction.atomic
def create_action_item(
    *,
    title: str,
    created_by: User,
    owner: User | None = None,
    team: Team | None = None,
    incident: Incident | None = None,
    why_node: WhyNode | None = None,
    description: str = "",
    due_on: date | None = None,
    priority: str = ActionItem.Priority.P2,
    type: str = ActionItem.Type.PREVENT,
    estimated_hours: Decimal | float | None = None,
    ticket_url: str = "",
    allow_past_due: bool = False,
    at: datetime | None = None,
    retrospective: Retrospective | None = None,
) -> ActionItem:
    """Create an open action item. The team defaults as ARCHITECTURE says; it is required."""
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = [TITLE_REQUIRED]
    elif len(title) > MAX_TITLE:
        errors["title"] = [TITLE_TOO_LONG]
    if why_node is not None and incident is None:
        incident = why_node.incident
    if team is None and retrospective is not None:
        team = retrospective.team
    team = team or default_team(incident=incident, owner=owner)
    if team is None:
        errors["team"] = [TEAM_REQUIRED]
    if due_on and not allow_past_due and due_on < timezone.localdate():
        errors["due_on"] = [DUE_IN_PAST]
    if estimated_hours is not None and Decimal(str(estimated_hours)) < 0:
        errors["estimated_hours"] = [HOURS_NEGATIVE]
    if priority not in ActionItem.Priority.values:
        errors["priority"] = ["Choose a priority from p1 to p4."]
    if type not in ActionItem.Type.values:
        errors["type"] = ["Choose a type: prevent, detect, mitigate or process."]
    if errors or team is None:
        raise ServiceError(errors)
    item = ActionItem.objects.create(
        title=title,
        description=description,
        owner=owner,
        team=team,
        incident=incident,
        why_node=why_node,
        retrospective=retrospective,
        due_on=due_on,
        priority=priority,
        type=type,
        estimated_hours=estimated_hours,
        ticket_url=ticket_url,
        created_by=created_by,
    )
    if incident is not None:
        owner_name = display_name(owner, "nobody yet")
        add_timeline_entry(
            incident=incident,
            kind=TimelineEntry.Kind.ACTION,
            author=created_by,
            body=f"Action item added: **{item.title}** (owner: {owner_name}"
            + (f", due {due_on:%Y-%m-%d}" if due_on else "")
            + ").",
            source=TimelineEntry.Source.MACHINE,
            at=at,
        )
    return item


# --- lifecycle -----------------------------------------------------------------------------

ILLEGAL_MOVE = "An item that is {current} cannot be {verb}."
VERIFICATION_REQUIRED = (
    "Say how we know it works (a dashboard, a test, a drill): closing as done needs a "
    "verification note."
)
REASON_REQUIRED = "Say why this will not be done: closing as won't do needs a reason."
ALREADY_DELETED = "This action item was deleted."
NOT_MANAGER = "Only the manager of the item's team can reassign {title!r}."
OWNER_REQUIRED = "Choose the new owner."
OWNER_INACTIVE = "The new owner's account is deactivated."

EDITABLE_FIELDS = (
    "title",
    "description",
    "owner",
    "team",
    "due_on",
    "priority",
    "type",
    "estimated_hours",
    "actual_hours",
    "ticket_url",
)


def _status_label(status: str) -> str:
    return str(ActionItem.Status(status).label).lower()


def _locked(item: ActionItem, by: User | None = None, *, check: bool = True) -> ActionItem:
    """Re-read the row under a lock: two people clicking at once serialise here, and the rule
    checks below see the committed status, not the one the page was rendered with. Then ask
    who may change it (postmortems.permissions)."""
    fresh = (
        ActionItem.objects.select_for_update(of=("self",))
        .select_related("team", "incident")
        .get(pk=item.pk)
    )
    if check:
        perms.require_action_item_editor(by, fresh)
    if fresh.is_deleted:
        raise ServiceError(ALREADY_DELETED)
    return fresh


def _save(item: ActionItem, *, by: User, reason: str, fields: list[str]) -> ActionItem:
    item._history_user = by  # type: ignore[attr-defined]  # who, on every change (simple-history)
    item._change_reason = reason  # type: ignore[attr-defined]
    item.save(update_fields=[*fields, "updated_at"])
    return item


@transaction.atomic
def start_action_item(*, item: ActionItem, by: User) -> ActionItem:
    """open → in_progress."""
    item = _locked(item, by)
    if item.status != ActionItem.Status.OPEN:
        raise ServiceError(
            {"status": [ILLEGAL_MOVE.format(current=_status_label(item.status), verb="started")]}
        )
    item.status = ActionItem.Status.IN_PROGRESS
    return _save(item, by=by, reason="Started", fields=["status"])


def _close(
    item: ActionItem, *, by: User, status: str, reason: str, fields: list[str]
) -> ActionItem:
    item.status = status
    item.closed_at = timezone.now()
    item.closed_by = by
    _save(item, by=by, reason=reason, fields=["status", "closed_at", "closed_by", *fields])
    if item.incident is not None:  # read with the item (_locked)
        verb = "done" if status == ActionItem.Status.DONE else "closed as won't do"
        detail = item.verification_note if status == ActionItem.Status.DONE else item.wont_do_reason
        add_timeline_entry(
            incident=item.incident,
            kind=TimelineEntry.Kind.ACTION,
            author=by,
            body=f"Action item {verb} by {display_name(by)}: **{item.title}**. {detail}".strip(),
            source=TimelineEntry.Source.MACHINE,
        )
    return item


@transaction.atomic
def complete_action_item(
    *,
    item: ActionItem,
    by: User,
    verification_note: str,
    actual_hours: Decimal | float | None = None,
) -> ActionItem:
    """open|in_progress → done. A verification note (how we know it works) is required."""
    item = _locked(item, by)
    if item.is_closed:
        raise ServiceError(
            {"status": [ILLEGAL_MOVE.format(current=_status_label(item.status), verb="completed")]}
        )
    note = (verification_note or "").strip()
    if not note:
        raise ServiceError({"verification_note": [VERIFICATION_REQUIRED]})
    fields = ["verification_note"]
    item.verification_note = note
    if actual_hours is not None:
        if Decimal(str(actual_hours)) < 0:
            raise ServiceError({"actual_hours": [HOURS_NEGATIVE]})
        item.actual_hours = actual_hours
        fields.append("actual_hours")
    return _close(item, by=by, status=ActionItem.Status.DONE, reason="Done", fields=fields)


@transaction.atomic
def wont_do_action_item(*, item: ActionItem, by: User, reason: str) -> ActionItem:
    """open|in_progress → wont_do. A reason is required; closure rates do not count it."""
    item = _locked(item, by)
    if item.is_closed:
        raise ServiceError(
            {
                "status": [
                    ILLEGAL_MOVE.format(
                        current=_status_label(item.status), verb="closed as won't do"
                    )
                ]
            }
        )
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError({"wont_do_reason": [REASON_REQUIRED]})
    item.wont_do_reason = reason
    return _close(
        item, by=by, status=ActionItem.Status.WONT_DO, reason="Won't do", fields=["wont_do_reason"]
    )


@transaction.atomic
def reopen_action_item(*, item: ActionItem, by: User) -> ActionItem:
    """done|wont_do → open. The old note and reason stay in the history, not on the item."""
    item = _locked(item, by)
    if not item.is_closed:
        raise ServiceError(
            {"status": [ILLEGAL_MOVE.format(current=_status_label(item.status), verb="reopened")]}
        )
    item.status = ActionItem.Status.OPEN
    item.closed_at = None
    item.closed_by = None
    item.verification_note = ""
    item.wont_do_reason = ""
    _save(
        item,
        by=by,
        reason="Reopened",
        fields=["status", "closed_at", "closed_by", "verification_note", "wont_do_reason"],
    )
    if item.incident is not None:
        add_timeline_entry(
            incident=item.incident,
            kind=TimelineEntry.Kind.ACTION,
            author=by,
            body=f"Action item reopened by {display_name(by)}: **{item.title}**.",
            source=TimelineEntry.Source.MACHINE,
        )
    return item


@transaction.atomic
def update_action_item(*, item: ActionItem, by: User, changes: dict[str, Any]) -> ActionItem:
    """Edit the plain fields (not the status: transitions have their own services)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ServiceError(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    item = _locked(item, by)
    errors: dict[str, list[str]] = {}
    if "title" in changes:
        changes["title"] = (changes["title"] or "").strip()
        if not changes["title"]:
            errors["title"] = [TITLE_REQUIRED]
        elif len(changes["title"]) > MAX_TITLE:
            errors["title"] = [TITLE_TOO_LONG]
    if "team" in changes and changes["team"] is None:
        errors["team"] = ["An action item needs a team: its manager follows it up."]
    for field in ("estimated_hours", "actual_hours"):
        value = changes.get(field)
        if value is not None and Decimal(str(value)) < 0:
            errors[field] = [HOURS_NEGATIVE]
    if (
        changes.get("priority") is not None
        and changes["priority"] not in ActionItem.Priority.values
    ):
        errors["priority"] = ["Choose a priority from p1 to p4."]
    if changes.get("type") is not None and changes["type"] not in ActionItem.Type.values:
        errors["type"] = ["Choose a type: prevent, detect, mitigate or process."]
    due = changes.get("due_on")
    if due and due != item.due_on and due < timezone.localdate() and not item.is_closed:
        errors["due_on"] = [DUE_IN_PAST]
    owner = changes.get("owner")
    if owner is not None and not owner.is_active:
        errors["owner"] = [OWNER_INACTIVE]
    if errors:
        raise ServiceError(errors)
    changed = [f for f, v in changes.items() if getattr(item, f) != v]
    if not changed:
        return item
    for field in changed:
        setattr(item, field, changes[field])
    return _save(item, by=by, reason="Edited", fields=changed)


def can_reassign(*, user: User, item: ActionItem) -> bool:
    """Bulk reassigning: managers their teams' items, superusers any (postmortems.permissions)."""
    return perms.can_bulk_reassign(user, item)


@transaction.atomic
def reassign_action_item(*, item: ActionItem, by: User, owner: User | None) -> ActionItem:
    """Give the item to someone else. The owner may hand over their own item; managers any
    item of their teams."""
    if owner is None:
        raise ServiceError({"owner": [OWNER_REQUIRED]})
    if not owner.is_active:
        raise ServiceError({"owner": [OWNER_INACTIVE]})
    item = _locked(item, by)
    if item.owner_id == owner.pk:
        return item
    item.owner = owner
    return _save(item, by=by, reason=f"Reassigned to {owner.get_username()}", fields=["owner"])


@transaction.atomic
def bulk_reassign_action_items(*, items: Iterable[ActionItem], by: User, owner: User | None) -> int:
    """Reassign several items at once, all or nothing: only a manager of every item's team."""
    if owner is None:
        raise ServiceError({"owner": [OWNER_REQUIRED]})
    if not owner.is_active:
        raise ServiceError({"owner": [OWNER_INACTIVE]})
    locked = list(
        ActionItem.objects.select_for_update()
        .alive()
        .filter(pk__in=[i.pk for i in items])
        .select_related("team")
        .order_by("pk")
    )
    refused = [i for i in locked if not perms.can_bulk_reassign(by, i)]
    if refused:
        raise perms.NotAllowed(NOT_MANAGER.format(title=refused[0].title))
    changed = 0
    for item in locked:
        if item.owner_id != owner.pk:
            item.owner = owner
            _save(item, by=by, reason=f"Reassigned to {owner.get_username()}", fields=["owner"])
            changed += 1
    return changed


@transaction.atomic
def delete_action_item(*, item: ActionItem, by: User) -> ActionItem:
    """Soft delete: the row and its history stay; every list and count stops showing it."""
    item = _locked(item, by)
    item.is_deleted = True
    return _save(item, by=by, reason="Deleted", fields=["is_deleted"])
