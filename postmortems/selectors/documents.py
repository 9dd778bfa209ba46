"""Reads for the postmortem documents (issue 7) feature."""

from __future__ import annotations


def postmortem_section(incident, user) -> dict | None:
    """Context of the incident page's section, or None to hide it."""
    return None
