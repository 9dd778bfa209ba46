from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..services import accounts


def me(request: HttpRequest) -> HttpResponse:
    token = accounts.get_feed_token(user=request.user)
    profile = accounts.get_profile(user=request.user)
    base = request.build_absolute_uri(f"/feeds/{token.token}/")
    feeds = [
        ("Published postmortems (Atom)", base + "postmortems.atom"),
        ("Weekly business reviews (Atom)", base + "reviews.atom"),
        ("My action items' due dates (iCal)", base + "actions.ics"),
    ]
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
