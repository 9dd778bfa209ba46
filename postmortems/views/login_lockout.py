"""The page a person sees when sign-in is locked after too many wrong passwords (django-axes).

Axes counts failures per username + address (`LOGIN_FAILURE_LIMIT`) and refuses that pair for
`LOGIN_LOCKOUT_MINUTES` after the last counted failure; more tries during the lockout do not
extend it, and the same username from another address is not affected, so nobody can lock the
real person out for good. The page says why and from when a new try works.
"""

from __future__ import annotations

from datetime import datetime

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def client_ip(request: HttpRequest) -> str:
    """The address failures are counted for (AXES_CLIENT_IP_CALLABLE).

    Behind a TLS proxy every request comes from the proxy: the client is the last
    X-Forwarded-For hop, the one the proxy appended itself (earlier hops are the client's own
    claims and could be forged to dodge the count).
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.BEHIND_TLS_PROXY and forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def _retry_at(request: HttpRequest, username: str) -> datetime:
    cool_off = get_cool_off(request)
    last = (
        AccessAttempt.objects.filter(
            username=username, ip_address=getattr(request, "axes_ip_address", None)
        )
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    return (last or timezone.now()) + cool_off


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    username = get_client_username(request, credentials) or ""
    retry_at = _retry_at(request, username)
    minutes = max(1, round((retry_at - timezone.now()).total_seconds() / 60))
    response: HttpResponse = render(
        request,
        "registration/locked_out.html",
        {
            "username": username,
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "retry_at": retry_at,
            "minutes": minutes,
        },
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    return response
