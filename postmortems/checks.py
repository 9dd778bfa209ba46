"""Deploy checks of our own: `manage.py check --deploy` says plainly when HTTPS is switched off."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

INSECURE_HTTP_ON = Warning(
    "INSECURE_HTTP is on: the site is served over plain HTTP. Cookies are not Secure, there is no "
    "redirect to HTTPS and no HSTS, so passwords and session cookies cross the network readable.",
    hint="Serve over HTTPS (BEHIND_TLS_PROXY=on behind a TLS proxy) and unset INSECURE_HTTP.",
    id="postmortems.W001",
)


@register(Tags.security, deploy=True)
def check_insecure_http(app_configs, **kwargs):
    if getattr(settings, "INSECURE_HTTP", False) and not settings.DEBUG:
        return [INSECURE_HTTP_ON]
    return []
