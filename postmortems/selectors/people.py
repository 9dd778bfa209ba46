"""Who the blameless checker should recognise as a person: shared by the why chain and postmortems."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpRequest


def blameless_people(request: HttpRequest | None = None) -> list[str]:
    """Names and usernames of known users, for the blameless checker; cached per request."""
    cached: list[str] | None = (
        getattr(request, "_blameless_people", None) if request is not None else None
    )
    if cached is not None:
        return cached
    people: list[str] = []
    rows = (
        get_user_model()
        .objects.filter(is_active=True)
        .values_list("username", "first_name", "last_name")
    )
    for username, first, last in rows:
        people.append(username)
        full = f"{first} {last}".strip()
        if full:
            people.append(full)
    if request is not None:
        request._blameless_people = people  # type: ignore[attr-defined]  # a per-request cache
    return people
