"""The catalog: teams and services. Unknown services are created unclaimed, never dropped."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from ..models import Service, Team


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


@transaction.atomic
def create_service(
    *,
    slug: str,
    name: str,
    team: Team | None = None,
    repositories: list[str] | None = None,
    description: str = "",
) -> Service:
    return Service.objects.create(
        slug=slug,
        name=name,
        team=team,
        repositories=list(repositories or []),
        description=description,
        claimed=True,
    )


@transaction.atomic
def update_service(*, service: Service, **changes) -> Service:
    for field, value in changes.items():
        setattr(service, field, value)
    if "team" in changes and changes["team"] is not None:
        service.claimed = True
    service.save()
    return service


@transaction.atomic
def claim_service(*, service: Service, team: Team) -> Service:
    service.team = team
    service.claimed = True
    service.save(update_fields=["team", "claimed"])
    return service
