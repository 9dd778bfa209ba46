"""The one place absolute links are made: mail, Slack, CSV, iCal, Atom feeds, API fields and CLI
output all call `absolute_url`.

Decision: every absolute link starts with the `SITE_URL` setting, never with the request's host. A
link leaves the app (a mail, a feed reader, a spreadsheet, a calendar) and must work from there: the
host a request arrived on may be an internal name behind a proxy, a health-check address or an
attacker-chosen `Host` header, and mail and CSV have no request at all. It lives in the production
layer so that both layers may use it (metrics_link never imports postmortems).
"""

from __future__ import annotations

import re

from django.conf import settings

_ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, …
# Markdown inline links and images whose target is a site path: [text](/path "title")
_MD_LINK = re.compile(r"(\]\()(/(?!/)[^)\s]*)")
# HTML href/src attributes whose value is a site path
_HTML_ATTR = re.compile(r"""(\b(?:href|src)=["'])(/(?!/))""", re.IGNORECASE)


def site_url() -> str:
    return settings.SITE_URL.rstrip("/")


def absolute_url(path: str) -> str:
    """A site path ("/incidents/1/") → "<SITE_URL>/incidents/1/"; absolute URLs and fragments pass."""
    if not path or _ABSOLUTE.match(path) or path.startswith("#"):
        return path
    if path.startswith("//"):
        return path
    return site_url() + ("" if path.startswith("/") else "/") + path


def absolutize_markdown(text: str) -> str:
    """Relative Markdown links and images made absolute, for Markdown that leaves the app."""
    return _MD_LINK.sub(lambda m: m.group(1) + absolute_url(m.group(2)), text or "")


def absolutize_html(html: str) -> str:
    """`href="/…"` and `src="/…"` made absolute, for HTML that leaves the app (mail)."""
    return _HTML_ATTR.sub(lambda m: m.group(1) + site_url() + "/", html or "")
