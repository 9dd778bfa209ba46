"""Serializer helpers shared by the API modules."""

from __future__ import annotations


def absolute_url(context: dict, path: str) -> str:
    """`path` made absolute with the request in the serializer context (as-is without one)."""
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path
