"""Template helpers of the action-items pages."""

from __future__ import annotations

from django import template

from ..display import display_name

register = template.Library()


@register.filter
def person(user, empty: str = "—") -> str:
    """A person's full name, else username, else `empty` (for nullable owner/closer/manager)."""
    return display_name(user, empty)
