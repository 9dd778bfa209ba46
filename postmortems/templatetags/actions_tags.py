"""Template helpers of the action-items pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def person(user, empty: str = "—") -> str:
    """A person's full name, else username, else `empty` (for nullable owner/closer/manager)."""
    if user is None:
        return empty
    return user.get_full_name() or user.get_username()
