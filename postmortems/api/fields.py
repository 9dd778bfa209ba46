"""Serializer helpers shared by the API modules."""

from __future__ import annotations

from metrics_link.links import absolute_url as site_absolute_url


def absolute_url(context: dict, path: str) -> str:
    """`path` made absolute from SITE_URL, like every link that leaves the app
    (see metrics_link/links.py); the context is kept for the callers' signature."""
    return site_absolute_url(path)
