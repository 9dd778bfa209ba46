"""`{{ value|http_url }}`: the one gate for stored outside URLs rendered as links.

URLs that arrive in webhooks (GitHub `target_url`, commit `url`, GitLab `deployable_url`,
Alertmanager `generatorURL`, PagerDuty `html_url`) and URLs people type (ticket, evidence links) are
stored as sent; only http(s) ones become links. Anything else (`javascript:`, `data:`, relative
paths) gives "" so the template shows plain text instead.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django import template

register = template.Library()

SAFE_SCHEMES = ("http", "https")


def http_url_or_empty(value: object) -> str:
    text = str(value or "").strip()
    try:
        # urlsplit drops tabs/newlines and leading control characters as browsers do, so
        # "java\tscript:" is seen as the javascript: scheme it is.
        parts = urlsplit(text)
    except ValueError:
        return ""
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.netloc:
        return ""
    return text


@register.filter
def http_url(value: object) -> str:
    """The URL when it is http(s) with a host, else ""."""
    return http_url_or_empty(value)
