from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from ..selectors.home import home_panels
from ..selectors.incidents import open_incidents_for, recent_timeline_for


def greeting(now: datetime | None = None) -> str:
    """By the hour in the site's TIME_ZONE (there is no per-user zone yet)."""
    hour = timezone.localtime(now).hour
    if 5 <= hour < 12:
        return "Good morning"
    if 12 <= hour < 18:
        return "Good afternoon"
    if 18 <= hour < 23:
        return "Good evening"
    return "Hello"


def home(request: HttpRequest) -> HttpResponse:
    incidents = list(open_incidents_for(request.user))
    context = {
        "nav": "home",
        "greeting": greeting(),
        "open_incidents": incidents,
        "recent_entries": list(recent_timeline_for(request.user, limit=12)),
        "panels": home_panels(request.user),
    }
    return render(request, "postmortems/home.html", context)


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers, else 503. For load balancers; no sign-in."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means unhealthy
        return JsonResponse({"status": "unavailable", "database": str(exc)[:200]}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
