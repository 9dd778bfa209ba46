"""Formatting filters of the weekly review pages and mail (`{% load reviews_tags %}`)."""

from __future__ import annotations

from django import template

from metrics_link.charts import format_value

register = template.Library()
MINUS = "\u2212"


@register.filter
def pct(value, digits: int = 0) -> str:
    """0.2 → "20%"; None → "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def signed_pct(value) -> str:
    """0.123 → "+12.3%"; -0.05 → "-5.0%" (with a real minus sign); None → "—"."""
    if value is None:
        return "—"
    number = float(value) * 100
    return f"{'+' if number >= 0 else MINUS}{abs(number):.1f}%"


@register.filter
def trend_class(value, good: str = "up") -> str:
    """CSS class for a change: "good", "bad" or "flat" given which direction is good."""
    if value is None or abs(float(value)) < 0.005:
        return "flat"
    up = float(value) > 0
    return "good" if up == (good == "up") else "bad"


@register.filter
def compact(value, unit: str = "") -> str:
    if value is None:
        return "—"
    return format_value(float(value), unit)


@register.filter
def get(mapping, key):
    return (mapping or {}).get(key)
