"""The incident page is one include per section, each fed by one selector function.

A section function takes (incident, user) and returns the include's context, or None to hide it.
Feature modules own their functions; this list only orders them on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from ..models import Incident
from . import actions, documents, impact, incidents, recurrences, suspects, whys


@dataclass(frozen=True)
class Section:
    key: str
    template: str
    context: Callable[[Any, Any], dict[str, Any] | None]
    column: str = "main"  # "main" or "side"


INCIDENT_SECTIONS: list[Section] = [
    Section("impact", "postmortems/incident/_impact.html", impact.impact_section),
    Section("suspects", "postmortems/incident/_suspects.html", suspects.suspects_section),
    Section("whys", "postmortems/incident/_whys.html", whys.whys_section),
    Section("actions", "postmortems/incident/_actions.html", actions.actions_section),
    Section("recurrence", "postmortems/incident/_recurrence.html", recurrences.recurrence_section),
    Section("postmortem", "postmortems/incident/_postmortem.html", documents.postmortem_section),
    Section("timeline", "postmortems/incident/_timeline.html", incidents.timeline_section, "side"),
]


def incident_sections(
    incident: Incident, user: AbstractBaseUser | AnonymousUser
) -> list[tuple[Section, dict[str, Any]]]:
    rendered = []
    for section in INCIDENT_SECTIONS:
        ctx = section.context(incident, user)
        if ctx is not None:
            rendered.append((section, ctx))
    return rendered
