"""Who may change what (ARCHITECTURE, "Who may change what"): one module of named predicates.

In the spirit of django-rules (`is_incident_person`, `can_edit_incident`, ...): each predicate takes
the acting user and the object and answers True or False; `require(...)` turns a False into
`NotAllowed` with the reason to show. Services call them where the write happens, so pages, API and
admin agree; views and templates may call them to hide buttons. Reads are not decided here: they
follow `Incident.objects.visible_to` and each type's accessor (a refused write on something the
reader cannot see is a 404 from the accessor before any rule is asked).

`user=None` means the product itself (an alert, a task, a command) and is always allowed.
The catalog and metric rules live in `metrics_link.permissions` (that layer never imports this one)
and are re-exported here.
"""

from __future__ import annotations

from django.db.models import Q

from metrics_link.models import Team
from metrics_link.permissions import (
    Actor,
    NotAllowed,
    can_claim_service,
    can_edit_metric_series,
    can_edit_service,
    is_signed_in,
    is_superuser,
    is_system,
    is_team_manager,
    is_team_member,
    require,
    series_refusal,
    service_refusal,
)

from .models import ActionItem, Incident, Retrospective, WhyNode
from .models.documents import Postmortem

__all__ = [
    "Actor",
    "NotAllowed",
    "can_add_note",
    "can_approve_postmortem",
    "can_bulk_reassign",
    "can_change_visibility",
    "can_claim_service",
    "can_edit_action_item",
    "can_edit_incident",
    "can_edit_metric_series",
    "can_edit_postmortem",
    "can_edit_retro",
    "can_edit_service",
    "can_edit_why",
    "can_join_incident",
    "can_judge_suspects",
    "can_see_incident",
    "is_incident_manager",
    "is_incident_person",
    "is_signed_in",
    "is_superuser",
    "is_system",
    "is_team_manager",
    "is_team_member",
    "require",
    "series_refusal",
    "service_refusal",
]

NOT_INCIDENT_PERSON = (
    "Only the incident's people (commander, reporter, responders), the managers of its services' "
    "teams and administrators can change #{pk}. Join it as a responder first."
)
NOT_COMMANDER = "Only the commander of #{pk} or an administrator can change its visibility."
NOT_ITEM_PERSON = (
    "Only the owner of {title!r}, its team's manager, the incident's commander or an "
    "administrator can change it."
)
NOT_MANAGER = "Only the manager of the item's team can reassign {title!r}."
NOT_A_REVIEWER = "Only the named reviewers can approve or request changes."
NOT_RETRO_TEAM = "Only members of the retro's team can change it."
CANNOT_JOIN = "You cannot join #{pk}."


# --------------------------------------------------------------------------- incidents


def can_see_incident(user: Actor, incident: Incident) -> bool:
    """The read rule, asked through the one queryset (never re-implemented here)."""
    return is_system(user) or Incident.objects.visible_to(user).filter(pk=incident.pk).exists()


def is_incident_person(user: Actor, incident: Incident) -> bool:
    """Its commander, reporter or one of its responders."""
    if not is_signed_in(user):
        return False
    if user.pk in (incident.commander_id, incident.reporter_id):
        return True
    return incident.responders.filter(pk=user.pk).exists()


def is_incident_manager(user: Actor, incident: Incident) -> bool:
    """The manager of a team owning one of the incident's services."""
    if not is_signed_in(user):
        return False
    return Team.objects.filter(manager=user, services__incidents=incident).exists()


def can_edit_incident(user: Actor, incident: Incident) -> bool:
    """Fields, status, timeline stars, verdicts, why nodes, postmortem draft: its people, the
    managers of its services' teams, superusers."""
    return (
        is_system(user)
        or is_superuser(user)
        or is_incident_person(user, incident)
        or is_incident_manager(user, incident)
    )


def can_change_visibility(user: Actor, incident: Incident) -> bool:
    """Public ↔ restricted: the commander and superusers only."""
    return (
        is_system(user)
        or is_superuser(user)
        or (is_signed_in(user) and incident.commander_id == user.pk)
    )


def can_join_incident(user: Actor, incident: Incident) -> bool:
    """Any employee who can read the incident may join it as a responder."""
    return is_signed_in(user) and can_see_incident(user, incident)


def can_add_note(user: Actor, incident: Incident) -> bool:
    """Timeline notes: anyone who can read the incident."""
    return is_system(user) or (is_signed_in(user) and can_see_incident(user, incident))


def can_edit_why(user: Actor, node_or_incident: WhyNode | Incident) -> bool:
    if isinstance(node_or_incident, WhyNode):
        return can_edit_incident(user, node_or_incident.incident)
    return can_edit_incident(user, node_or_incident)


def can_judge_suspects(user: Actor, incident: Incident) -> bool:
    return can_edit_incident(user, incident)


def incident_refusal(incident: Incident) -> str:
    return NOT_INCIDENT_PERSON.format(pk=incident.pk)


def require_incident_editor(user: Actor, incident: Incident) -> None:
    require(can_edit_incident(user, incident), incident_refusal(incident))


# --------------------------------------------------------------------------- postmortems


def can_edit_postmortem(user: Actor, postmortem: Postmortem) -> bool:
    """The draft, its reviewers, submitting and publishing: as the incident."""
    return can_edit_incident(user, postmortem.incident)


def can_approve_postmortem(user: Actor, postmortem: Postmortem) -> bool:
    """Approve or request changes: its named reviewers only."""
    return is_signed_in(user) and postmortem.reviewers.filter(pk=user.pk).exists()


# --------------------------------------------------------------------------- action items


def can_edit_action_item(user: Actor, item: ActionItem) -> bool:
    """Edit, reassign, close, reopen or delete: the owner, the team's manager, the incident's
    commander, superusers."""
    if is_system(user) or is_superuser(user):
        return True
    if not is_signed_in(user):
        return False
    if item.owner_id == user.pk or is_team_manager(user, item.team):
        return True
    return item.incident is not None and item.incident.commander_id == user.pk


def can_bulk_reassign(user: Actor, item: ActionItem) -> bool:
    """Reassigning many at once (the tracker's bulk action): the team's manager, superusers."""
    return is_system(user) or is_superuser(user) or is_team_manager(user, item.team)


def action_item_refusal(item: ActionItem) -> str:
    return NOT_ITEM_PERSON.format(title=item.title)


def require_action_item_editor(user: Actor, item: ActionItem) -> None:
    require(can_edit_action_item(user, item), action_item_refusal(item))


# --------------------------------------------------------------------------- retrospectives


def can_edit_retro(
    user: Actor, retro: Retrospective | None = None, team: Team | None = None
) -> bool:
    """A retro (and its items and actions): members and the manager of its team, superusers."""
    if is_system(user) or is_superuser(user):
        return True
    if not is_signed_in(user):
        return False
    team_id = retro.team_id if retro is not None else (team.pk if team is not None else None)
    if team_id is None:
        return False
    return Team.objects.filter(pk=team_id).filter(Q(members=user) | Q(manager=user)).exists()
