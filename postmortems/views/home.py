from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from metrics_link.queue import broker_status

from ..selectors.home import home_panels
from ..selectors.incidents import open_incidents_for, recent_timeline_for

log = logging.getLogger(__name__)


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
    """Database and broker, reported separately, for load balancers and monitoring; no sign-in.

    503 only when the database is down: nothing can be served or kept. A broker outage answers
    200 with "status": "degraded": requests still succeed and what they commit stays pending
    until the sweep hands it over (ARCHITECTURE: "Accepted means kept and done"), so taking web
    nodes out of rotation would turn a broker outage into a full one. Errors are logged by type,
    never echoed (they can name hosts and users).
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = "ok"
    except Exception as exc:  # any database failure means unhealthy
        log.warning("healthz: database unavailable (%s)", type(exc).__name__)
        database = "down"
    broker = broker_status()
    if database != "ok":
        status, code = "unavailable", 503
    elif broker == "down":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "database": database, "broker": broker}, status=code)
