"""Reads for the deploys & suspects (issue 3) feature."""

from __future__ import annotations


def suspects_section(incident, user) -> dict | None:
    """Context of the incident page's section, or None to hide it."""
    return None
