from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from metrics_link.links import absolute_url

from ..services import accounts

FEEDS = [
    (
        "postmortems",
        "Published postmortems",
        "Atom",
        "postmortems:postmortem-feed",
        "Every postmortem when it is published (and each new version). Paste the address into your "
        "feed reader (Feedly, Thunderbird, Outlook, NetNewsWire…).",
    ),
    (
        "reviews",
        "Weekly business reviews",
        "Atom",
        "postmortems:review-feed",
        "The weekly review every Monday: incidents, recovery, delivery, business metrics, actions.",
    ),
    (
        "actions",
        "My action items' due dates",
        "iCal",
        "postmortems:actions-ics",
        "Your open action items as all-day events on their due dates. In Google Calendar: Other "
        "calendars → From URL; in Outlook: Add calendar → Subscribe from web.",
    ),
]


def _feeds(user) -> list[dict]:
    token = accounts.get_feed_token(user=user)
    return [
        {
            "key": key,
            "label": label,
            "kind": kind,
            "url": absolute_url(reverse(name, args=[token.token])),
            "help": text,
        }
        for key, label, kind, name, text in FEEDS
    ]


def subscribe(request: HttpRequest) -> HttpResponse:
    """Feeds open as raw XML in a browser: this page says what each is and gives the URL to copy."""
    return render(
        request,
        "postmortems/subscribe.html",
        {"feeds": _feeds(request.user), "chosen": request.GET.get("feed", ""), "nav": ""},
    )


def me(request: HttpRequest) -> HttpResponse:
    profile = accounts.get_profile(user=request.user)
    feeds = [(f"{f['label']} ({f['kind']})", f["url"]) for f in _feeds(request.user)]
    return render(request, "postmortems/me.html", {"feeds": feeds, "profile": profile, "nav": ""})


@require_POST
def reset_token(request: HttpRequest) -> HttpResponse:
    accounts.reset_feed_token(user=request.user)
    messages.success(
        request, "Feed links reset. Update your feed reader and calendar with the new ones."
    )
    return redirect("postmortems:me")


@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    accounts.set_daily_digest(user=request.user, enabled=request.POST.get("daily_digest") == "on")
    messages.success(request, "Preferences saved.")
    return redirect("postmortems:me")
