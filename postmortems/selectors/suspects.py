"""Reads for the deploys & suspects feature (issue 3)."""

from __future__ import annotations


def ranked_suspects(incident) -> list:
    """The incident's suspect deploys, best first.

    Interface (other features rely on it): a list of objects with attributes
    `deploy` (metrics_link Deploy, with `service` and its commits prefetched), `score` (float 0..100),
    `reasons` (list[str], human-readable, e.g. "deployed 38 min before the start"),
    `verdict` (SuspectVerdict or None). Filled in by the deploys feature; empty until then.
    """
    return []


def suspects_section(incident, user) -> dict | None:
    """Context of the incident page's section, or None to hide it."""
    return None
