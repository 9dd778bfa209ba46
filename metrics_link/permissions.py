"""Who may change what in the production layer (ARCHITECTURE, "Who may change what").

Named predicates, one per kind of write, in the spirit of django-rules: each takes the acting user
and the object and answers True or False. Services call them through `require(...)`, so pages,
API and admin agree. Reads are not decided here (they follow each type's accessor).

`user=None` means the product itself (a webhook, a task, a command): it is always allowed.
`postmortems.permissions` re-exports what the learning layer shares (this layer never imports it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from typing_extensions import TypeIs

    from .models import MetricSeries, Service, Team

# Who acts: a person (signed in or not) or `None`, the product itself.
Actor = User | AnonymousUser | None

NOT_SERVICE_TEAM = (
    "Only members and the manager of {team}, or an administrator, can change {service}."
)
UNCLAIMED_SERVICE = "{service} has no team yet: claim it for one of your teams first."
NOT_CLAIMING_MEMBER = "Only a member of {team} can claim {service} for it."
NOT_SERIES_TEAM = "Only the team of {service}, or an administrator, can change {series}'s settings."
COMPANY_SERIES = "Only an administrator can change the company-wide series {series}."


class NotAllowed(PermissionDenied):
    """A write refused because of who asked. Pages and the API answer 403 with `reason` (the
    object was visible, or the accessor would have answered 404 first); nothing is changed."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def require(allowed: bool, reason: str) -> None:
    """Raise NotAllowed(reason) unless `allowed`."""
    if not allowed:
        raise NotAllowed(reason)


def is_system(user: Actor) -> bool:
    """The product acting on its own (no person): webhooks, tasks, commands."""
    return user is None


def is_signed_in(user: Actor) -> TypeIs[User]:
    return isinstance(user, User) and user.is_authenticated and user.is_active


def is_superuser(user: Actor) -> bool:
    return is_signed_in(user) and user.is_superuser


def is_team_manager(user: Actor, team: Team | None) -> bool:
    return bool(team is not None and is_signed_in(user) and team.manager_id == user.pk)


def is_team_member(user: Actor, team: Team | None) -> bool:
    return bool(
        team is not None and is_signed_in(user) and team.members.filter(pk=user.pk).exists()
    )


def can_edit_service(user: Actor, service: Service) -> bool:
    """The owning team's members and manager, superusers. An unclaimed service is claimed first."""
    if is_system(user) or is_superuser(user):
        return True
    team = service.team
    return is_team_manager(user, team) or is_team_member(user, team)


def can_claim_service(user: Actor, service: Service, team: Team) -> bool:
    """Claiming for `team`: a member (or the manager) of that team; moving a service that already
    has a team also needs the right to edit it."""
    if is_system(user) or is_superuser(user):
        return True
    if not (is_team_member(user, team) or is_team_manager(user, team)):
        return False
    return service.team_id is None or service.team_id == team.pk or can_edit_service(user, service)


def service_refusal(user: Actor, service: Service, team: Team | None = None) -> str:
    """The reason to show when `user` may not change `service` (or claim it for `team`)."""
    if team is not None and service.team_id != team.pk and not is_team_member(user, team):
        return NOT_CLAIMING_MEMBER.format(team=team.name, service=service.slug)
    if service.team is None:
        return UNCLAIMED_SERVICE.format(service=service.slug)
    return NOT_SERVICE_TEAM.format(team=service.team.name, service=service.slug)


def can_edit_metric_series(user: Actor, series: MetricSeries) -> bool:
    """Watched-metric settings: the series' service team and superusers; company-wide series
    (no service): superusers only."""
    if is_system(user) or is_superuser(user):
        return True
    if series.service is None:
        return False
    team = series.service.team
    return is_team_manager(user, team) or is_team_member(user, team)


def series_refusal(series: MetricSeries) -> str:
    if series.service is None:
        return COMPANY_SERIES.format(series=series.name)
    return NOT_SERIES_TEAM.format(service=series.service.slug, series=series.name)
