"""The catalog: teams and services. Unknown services are created unclaimed, never dropped."""

from __future__ import annotations

import re
from typing import cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from .. import permissions as perms
from ..models import Service, Team

REPOSITORY_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
BAD_REPOSITORY = 'Use "owner/name" for repositories: {bad}.'
BAD_SLUG = "A service slug is lower-case letters, digits and hyphens (at most 100)."
NAME_REQUIRED = "Give the service a name (at most 200 characters)."
SERVICE_FIELDS = {"slug", "name", "team", "repositories", "description"}


def service_slug(name: str) -> str:
    """`Codertocat/Hello-World` → `hello-world`; `Checkout API` → `checkout-api`."""
    name = (name or "").strip()
    if "/" in name:
        name = name.rsplit("/", 1)[-1]
    return slugify(name)[:100] or "unknown"


def get_or_create_service(*, slug: str, name: str = "") -> Service:
    """The service with this slug, created unclaimed and without a team when first seen."""
    slug = service_slug(slug)
    service = Service.objects.filter(slug=slug).first()
    if service:
        return service
    try:
        with transaction.atomic():
            return Service.objects.create(slug=slug, name=name or slug, claimed=False)
    except IntegrityError:  # another request created it between our read and our insert
        return Service.objects.get(slug=slug)


def resolve_service_for_repository(repository: str) -> Service:
    """A deploy's service: the one listing its repository, else the repository's name slugified."""
    service = Service.objects.for_repository(repository)
    if service:
        return service
    new = get_or_create_service(slug=service_slug(repository))
    if repository and repository not in new.repositories and not new.claimed:
        new.repositories = [*new.repositories, repository]
        new.save(update_fields=["repositories"])
    return new


def _check_fields(changes: dict) -> dict:
    """Validate what a catalog write is given, whoever calls it (page, API, admin, command)."""
    unknown = set(changes) - SERVICE_FIELDS
    if unknown:
        raise ValidationError(f"These fields cannot be set here: {', '.join(sorted(unknown))}.")
    errors: dict[str, list[str]] = {}
    if "slug" in changes:
        slug = changes["slug"]
        if not isinstance(slug, str) or not slug or len(slug) > 100 or slugify(slug) != slug:
            errors["slug"] = [BAD_SLUG]
    if "name" in changes:
        name = changes["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors["name"] = [NAME_REQUIRED]
    if "team" in changes and changes["team"] is not None and not isinstance(changes["team"], Team):
        errors["team"] = ["Choose a team."]
    if "repositories" in changes:
        repos = changes["repositories"]
        if not isinstance(repos, list | tuple) or not all(isinstance(r, str) for r in repos):
            errors["repositories"] = [BAD_REPOSITORY.format(bad=repos)]
        else:
            repos = [r.strip() for r in repos]
            bad = [r for r in repos if len(r) > 200 or not REPOSITORY_RE.match(r)]
            if bad:
                errors["repositories"] = [BAD_REPOSITORY.format(bad=", ".join(bad))]
            changes["repositories"] = repos
    if "description" in changes and not isinstance(changes["description"], str):
        errors["description"] = ["Write text."]
    if errors:
        raise ValidationError(errors)
    return changes


@transaction.atomic
def create_service(
    *,
    slug: str,
    name: str,
    team: Team | None = None,
    repositories: list[str] | None = None,
    description: str = "",
    by: User | None = None,
) -> Service:
    """A new service: any employee may create one. Naming a team claims it, which only a member
    of that team may do."""
    values = _check_fields(
        {
            "slug": slug,
            "name": name,
            "team": team,
            "repositories": list(repositories or []),
            "description": description,
        }
    )
    if team is not None:
        service = Service(slug=slug)
        perms.require(
            perms.can_claim_service(by, service, team),
            perms.service_refusal(by, service, team),
        )
    return Service.objects.create(**values, claimed=True)


@transaction.atomic
def update_service(*, service: Service, by: User | None = None, **changes: object) -> Service:
    """Edit a service: its team's members and manager, superusers. Moving it to a team (or
    claiming it) also needs membership of that team."""
    changes = _check_fields(changes)
    service = (
        Service.objects.select_for_update(of=("self",)).select_related("team").get(pk=service.pk)
    )
    new_team = cast(Team | None, changes.get("team", service.team))  # _check_fields: a Team
    if "team" in changes and new_team is not None and service.team_id != new_team.pk:
        perms.require(
            perms.can_claim_service(by, service, new_team),
            perms.service_refusal(by, service, new_team),
        )
    else:
        perms.require(perms.can_edit_service(by, service), perms.service_refusal(by, service))
    for field, value in changes.items():
        setattr(service, field, value)
    if "team" in changes and changes["team"] is not None:
        service.claimed = True
    service.save()
    return service


@transaction.atomic
def claim_service(*, service: Service, team: Team, by: User | None = None) -> Service:
    """Give a service to `team`: a member of that team (and, for a service that already has a
    team, someone who may edit it)."""
    service = (
        Service.objects.select_for_update(of=("self",)).select_related("team").get(pk=service.pk)
    )
    perms.require(
        perms.can_claim_service(by, service, team), perms.service_refusal(by, service, team)
    )
    service.team = team
    service.claimed = True
    service.save(update_fields=["team", "claimed"])
    return service
