"""Writes of the alerts feature."""

from __future__ import annotations


def connect() -> None:
    """Register this feature's hooks (signal receivers, close gates, home panels...). Called once at app ready."""
