from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.safestring import mark_safe

from ..markdown import render_markdown, render_markdown_inline

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """Markdown → sanitised HTML (markdown-it-py + nh3)."""
    return mark_safe(render_markdown(text or ""))


@register.filter
def markdown_inline(text: str) -> str:
    """One line of Markdown (bold, code, links) → sanitised inline HTML, for lists and previews."""
    return mark_safe(render_markdown_inline(text or ""))  # sanitised by nh3


@register.filter
def duration(value: timedelta | None) -> str:
    """A compact human duration: 45s, 12m, 3h 05m, 2d 4h."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 0:
        return "—"
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
