"""Reads for the alerts & metrics (issue 4) feature."""

from __future__ import annotations


def impact_section(incident, user) -> dict | None:
    """Context of the incident page's section, or None to hide it."""
    return None
