"""Reads for the action items (issue 6) feature."""

from __future__ import annotations


def actions_section(incident, user) -> dict | None:
    """Context of the incident page's section, or None to hide it."""
    return None
