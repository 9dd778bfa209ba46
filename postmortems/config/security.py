"""HTTPS settings derived from three operator choices (used by settings.py; unit-tested).

- Production (`DEBUG` off) is HTTPS: Secure cookies, a redirect from http:// to https://, HSTS.
- `BEHIND_TLS_PROXY=on`: TLS ends at a proxy (nginx, a load balancer) that talks plain HTTP to
  the app and sets `X-Forwarded-Proto: https`; Django trusts that header to know the request
  was secure. Only turn it on when the proxy always sets (or strips) that header.
- `INSECURE_HTTP=on`: the operator explicitly runs production over plain HTTP (a lab, a private
  network). Cookies are not Secure (else the browser never sends them back and sign-in fails
  with 403), no redirect, no HSTS; `check --deploy` warns about it (postmortems/checks.py).
"""

from __future__ import annotations

from typing import Any

ONE_YEAR = 365 * 24 * 3600


def https_settings(
    *,
    debug: bool,
    insecure_http: bool,
    behind_tls_proxy: bool,
    hsts_seconds: int | None = None,
    hsts_include_subdomains: bool | None = None,
    hsts_preload: bool = False,
    ssl_redirect: bool | None = None,
) -> dict[str, Any]:
    https = not debug and not insecure_http
    values: dict[str, Any] = {
        "SESSION_COOKIE_SECURE": https,
        "CSRF_COOKIE_SECURE": https,
        "SECURE_SSL_REDIRECT": https if ssl_redirect is None else ssl_redirect and https,
        "SECURE_HSTS_SECONDS": (ONE_YEAR if hsts_seconds is None else hsts_seconds) if https else 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": https
        and (True if hsts_include_subdomains is None else hsts_include_subdomains),
        "SECURE_HSTS_PRELOAD": https and hsts_preload,
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")
        if behind_tls_proxy
        else None,
    }
    return values
