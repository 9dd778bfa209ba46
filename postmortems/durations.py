"""One way to write a duration for people, used by pages, documents, reviews and emails."""

from __future__ import annotations

from datetime import timedelta


def human_duration(value: timedelta | float | None) -> str:
    """A timedelta or seconds → "under a minute", "2m", "1h 12m", "3d 0h"; None or negative → "—"."""
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 0:
        return "—"
    minutes = round(seconds / 60)
    if minutes == 0:
        return "under a minute"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
