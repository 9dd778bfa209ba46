"""Reads for the alerts & business-metrics feature (issue 4)."""

from __future__ import annotations


def impact_lines(incident) -> list[str]:
    """One sentence per business metric lost against the same window a week earlier, e.g.
    "≈ 1,240 fewer logins than the week before". Used by the postmortem draft and reviews.
    Filled in by the alerts & metrics feature; empty until then."""
    return []


def impact_section(incident, user) -> dict | None:
    """Context of the incident page's section, or None to hide it."""
    return None
