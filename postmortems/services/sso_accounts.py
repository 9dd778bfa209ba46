"""Company sign-in (OpenID Connect): the local user behind a verified provider account.

A person is matched by issuer + `sub` (`ExternalIdentity`), never by email alone: an email can be
reused or renamed at the provider, `sub` cannot. The first sign-in creates the user (username: the
email's local part, made unique; no usable password); every sign-in updates email and name, the
membership of the *mapped* teams (`OIDC_TEAM_MAP`: a mapped team mirrors the provider's group, a team
nobody mapped is never touched) and the superuser flag from `OIDC_ADMIN_GROUPS` (leaving the group
demotes only a superuser that sign-in made). One transaction: all of it or nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from metrics_link.models import Team

from ..models import ExternalIdentity

logger = logging.getLogger(__name__)

_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


@dataclass(frozen=True)
class ProviderAccount:
    """What a verified ID token (and userinfo) says about a person."""

    issuer: str
    subject: str
    email: str = ""
    given_name: str = ""
    family_name: str = ""
    groups: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_claims(cls, *, issuer: str, claims: Mapping, teams_claim: str) -> ProviderAccount:
        given, family = claims.get("given_name") or "", claims.get("family_name") or ""
        if not (given or family) and claims.get("name"):
            given, _, family = str(claims["name"]).strip().partition(" ")
        raw_groups = claims.get(teams_claim) or []
        if isinstance(raw_groups, str):
            raw_groups = [raw_groups]
        return cls(
            issuer=issuer,
            subject=str(claims["sub"]),
            email=str(claims.get("email") or ""),
            given_name=str(given)[:150],
            family_name=str(family)[:150],
            groups=tuple(str(g) for g in raw_groups),
        )


def _unique_username(account: ProviderAccount) -> str:
    base = account.email.partition("@")[0] if account.email else ""
    base = _USERNAME_UNSAFE.sub("", base)[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def _sync_teams(user: User, groups: Iterable[str], team_map: Mapping[str, str]) -> None:
    wanted = {team_map[g] for g in groups if g in team_map}
    mapped = set(team_map.values())
    teams = Team.objects.filter(slug__in=mapped)
    missing = mapped - {t.slug for t in teams}
    if missing & wanted:
        logger.warning("OIDC_TEAM_MAP names teams that do not exist: %s", sorted(missing & wanted))
    member_of = set(user.teams.filter(slug__in=mapped).values_list("slug", flat=True))
    for team in teams:
        if team.slug in wanted and team.slug not in member_of:
            team.members.add(user)
        elif team.slug not in wanted and team.slug in member_of:
            team.members.remove(user)


@transaction.atomic
def sign_in_external_account(
    *,
    account: ProviderAccount,
    team_map: Mapping[str, str] | None = None,
    admin_groups: Iterable[str] | None = None,
) -> User:
    """Create or update the user of `account`; returns the user (the caller checks is_active)."""
    team_map = settings.OIDC_TEAM_MAP if team_map is None else team_map
    admin_groups = set(settings.OIDC_ADMIN_GROUPS if admin_groups is None else admin_groups)

    identity = (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=account.issuer, subject=account.subject)
        .first()
    )
    if identity is None:
        user = User(username=_unique_username(account))
        user.set_unusable_password()
        user.save()
        identity = ExternalIdentity(user=user, issuer=account.issuer, subject=account.subject)
        logger.info("OIDC: created user %s for %s", user.username, identity)
    user = identity.user

    user.email = account.email or user.email
    user.first_name = account.given_name or user.first_name
    user.last_name = account.family_name or user.last_name

    in_admin_group = bool(admin_groups & set(account.groups))
    if in_admin_group and not user.is_superuser:
        user.is_superuser = user.is_staff = True
        identity.made_superuser = True
    elif not in_admin_group and identity.made_superuser:
        user.is_superuser = user.is_staff = False
        identity.made_superuser = False
    user.save()

    identity.last_sign_in_at = timezone.now()
    identity.save()
    _sync_teams(user, account.groups, team_map)
    return user
