from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.safestring import mark_safe

from ..durations import human_duration
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
def duration(value: timedelta | float | None) -> str:
    """A timedelta or seconds, compact: 52m, 2h 10m, 3d 4h."""
    return human_duration(value)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
