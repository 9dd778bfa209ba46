"""Writes of the action-items feature. `create_action_item` is shared by the why chain,
retrospectives and the tracker itself."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from metrics_link.models import Team

from ..models import ActionItem, Incident, TimelineEntry, WhyNode
from .errors import ServiceError
from .incidents import add_timeline_entry

TITLE_REQUIRED = "Say what will be done, in a few words."
TEAM_REQUIRED = (
    "Choose a team: it could not be derived from the incident's first service or the owner's teams."
)
DUE_IN_PAST = "The due date cannot be in the past."
HOURS_NEGATIVE = "Effort is in engineer-hours and cannot be negative."


def default_team(*, incident: Incident | None, owner) -> Team | None:
    """The team of the incident's first service, else the owner's first team (ARCHITECTURE)."""
    if incident is not None:
        first = incident.services.order_by("slug").select_related("team").first()
        if first and first.team_id:
            return first.team
    if owner is not None:
        return owner.teams.order_by("name").first()
    return None


@transaction.atomic
def create_action_item(
    *,
    title: str,
    created_by,
    owner=None,
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
    retrospective=None,
) -> ActionItem:
    """Create an open action item. The team defaults as ARCHITECTURE says; it is required."""
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = [TITLE_REQUIRED]
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
    if errors:
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
        owner_name = owner.get_full_name() or owner.get_username() if owner else "nobody yet"
        add_timeline_entry(
            incident=incident,
            kind=TimelineEntry.Kind.ACTION,
            author=created_by,
            body=f"Action item added: **{item.title}** (owner: {owner_name}"
            + (f", due {due_on:%Y-%m-%d}" if due_on else "")
            + ").",
            source=TimelineEntry.Source.MACHINE,
        )
    return item


def connect() -> None:
    """Register this feature's hooks (home panel, ...). Called once at app ready."""
