"""Reads for the postmortem documents feature (issue 7)."""

from __future__ import annotations


def published_postmortem_urls(incident_ids) -> dict[int, str]:
    """{incident_id: url of its latest published postmortem} for those that have one.

    Callers must pass only incidents the reader may see (the reviews feature uses it for the
    incidents of the week). Filled in by the postmortem feature; empty until then."""
    return {}


def postmortem_section(incident, user) -> dict | None:
    """Context of the incident page's section, or None to hide it."""
    return None
