"""The one check for every "go back to" target a request carries (`next`).

`//evil.example/`, `/\\evil.example`, `https://evil.example/` and `javascript:` are refused by
Django's `url_has_allowed_host_and_scheme`, and the caller's safe default is used instead.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, default: str, *, param: str = "next") -> str:
    """`request`'s `next` (POST, else GET) when it stays on this site, else `default`."""
    target = request.POST.get(param) or request.GET.get(param) or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
