"""Pages of the reviews feature: weekly reviews, retrospectives, the reviews Atom feed and the
recurrence decision posted from the incident page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import feedgenerator
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from metrics_link.links import absolute_url

from .. import permissions as perms
from ..forms.reviews import RecurrenceDecisionForm, RetroActionForm, RetroForm, RetroItemForm
from ..models import RetroItem
from ..selectors import retros
from ..selectors import reviews as sel
from ..selectors.feeds import user_for_feed_token
from ..selectors.incidents import get_incident_for
from ..services import accounts
from ..services import reviews as svc
from .utils import run_service

# --------------------------------------------------------------------------- weekly reviews


def review_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(sel.review_list(), 20).get_page(request.GET.get("page"))
    token = accounts.get_feed_token(user=request.user)
    return render(
        request,
        "postmortems/reviews/list.html",
        {
            "nav": "reviews",
            "page_obj": page,
            "reviews": page.object_list,
            "feed_url": reverse("postmortems:review-feed", args=[token.token]),
        },
    )


def review_detail(request: HttpRequest, week: str) -> HttpResponse:
    """Renders the stored snapshot only: the same page for every reader, whatever changed since."""
    review = sel.get_review(week)
    neighbours = sel.review_list().only("iso_week", "week_start")
    return render(
        request,
        "postmortems/reviews/detail.html",
        {
            "nav": "reviews",
            "review": review,
            "s": review.snapshot,
            "previous": neighbours.filter(week_start__lt=review.week_start).first(),
            "following": neighbours.filter(week_start__gt=review.week_start).last(),
        },
    )


@login_not_required
def review_feed(request: HttpRequest, token: str) -> HttpResponse:
    user_for_feed_token(token)  # 404 for an unknown token; reviews are for all staff
    feed = feedgenerator.Atom1Feed(
        title="Weekly business reviews",
        link=absolute_url(reverse("postmortems:review-list")),
        description="Every Monday: incidents, recovery, delivery, business, actions, fixes.",
        language="en",
    )
    for review in sel.review_list()[:30]:
        link = absolute_url(review.get_absolute_url())
        feed.add_item(
            title=f"Weekly review {review.iso_week}",
            link=link,
            unique_id=link,
            description=" ".join(review.snapshot.get("summary", [])),
            pubdate=review.published_at,
            updateddate=parse_datetime(review.snapshot.get("generated_at", ""))
            or review.generated_at,
        )
    return HttpResponse(feed.writeString("utf-8"), content_type="application/atom+xml")


# --------------------------------------------------------------------------- retrospectives


def retro_list(request: HttpRequest) -> HttpResponse:
    teams: dict[str, list] = {}
    for retro in retros.retro_list(request.user):
        teams.setdefault(retro.team.name, []).append(retro)
    return render(
        request,
        "postmortems/retros/list.html",
        {"nav": "retros", "teams": sorted(teams.items()), "can_create": True},
    )


def retro_create(request: HttpRequest) -> HttpResponse:
    form = RetroForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        retro, ok = run_service(
            request,
            lambda: svc.create_retrospective(created_by=request.user, **form.cleaned_data),
            form=form,
            success="Retrospective created. Add what to start, stop and continue.",
        )
        if ok:
            return redirect(retro)
    return render(request, "postmortems/retros/form.html", {"nav": "retros", "form": form})


def retro_edit(request: HttpRequest, pk: int) -> HttpResponse:
    retro = retros.get_retro_for(request.user, pk)
    initial = {
        "name": retro.name,
        "sprint_start": retro.sprint_start,
        "sprint_end": retro.sprint_end,
        "facilitator": retro.facilitator,
        "summary": retro.summary,
    }
    form = RetroForm(request.POST or None, initial=initial, user=request.user, editing=True)
    if request.method == "POST" and form.is_valid():
        _, ok = run_service(
            request,
            lambda: svc.update_retrospective(retro=retro, by=request.user, **form.cleaned_data),
            form=form,
            success="Saved.",
        )
        if ok:
            return redirect(retro)
    return render(
        request, "postmortems/retros/form.html", {"nav": "retros", "form": form, "retro": retro}
    )


def _retro_context(request, retro, **extra):
    return {
        "nav": "retros",
        "retro": retro,
        "columns": retros.retro_board(retro, request.user),
        "actions": retros.retro_action_items(retro),
        "can_edit": perms.can_edit_retro(request.user, retro=retro),
        "item_form": RetroItemForm(),
        "action_form": RetroActionForm(),
        **extra,
    }


def retro_detail(request: HttpRequest, pk: int) -> HttpResponse:
    retro = retros.get_retro_for(request.user, pk)
    return render(request, "postmortems/retros/detail.html", _retro_context(request, retro))


@require_POST
def retro_add_item(request: HttpRequest, pk: int) -> HttpResponse:
    retro = retros.get_retro_for(request.user, pk)
    form = RetroItemForm(request.POST)
    if form.is_valid():
        run_service(
            request,
            lambda: svc.add_retro_item(retro=retro, author=request.user, **form.cleaned_data),
        )
    else:
        messages.error(request, "Write the item and choose its column.")
    return redirect(retro)


@require_POST
def retro_vote(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    retro = retros.get_retro_for(request.user, pk)
    item = get_object_or_404(RetroItem.objects.alive(), pk=item_id, retrospective=retro)
    _, ok = run_service(request, lambda: svc.toggle_retro_vote(item=item, user=request.user))
    if not ok:  # the reason is in the messages
        return HttpResponse(status=403) if request.htmx else redirect(retro)
    if request.htmx:
        ctx = _retro_context(request, retro)
        column = next(c for c in ctx["columns"] if c["key"] == item.column)
        return render(request, "postmortems/retros/detail.html#column", {**ctx, "column": column})
    return redirect(f"{retro.get_absolute_url()}#item-{item.pk}")


@require_POST
def retro_add_action(request: HttpRequest, pk: int) -> HttpResponse:
    retro = retros.get_retro_for(request.user, pk)
    form = RetroActionForm(request.POST)
    if form.is_valid():
        run_service(
            request,
            lambda: svc.add_retro_action_item(
                retro=retro, created_by=request.user, **form.cleaned_data
            ),
            success="Action item added to the tracker.",
        )
    else:
        messages.error(request, "Say what will be done; the due date must be a date.")
    return redirect(retro)


@require_POST
def retro_publish(request: HttpRequest, pk: int) -> HttpResponse:
    retro = retros.get_retro_for(request.user, pk)
    run_service(
        request,
        lambda: svc.publish_retrospective(retro=retro, by=request.user),
        success="Published to all staff.",
    )
    return redirect(retro)


# --------------------------------------------------------------------------- recurrences


@require_POST
def recurrence_decide(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    form = RecurrenceDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for the decision.")
        return redirect(f"{incident.get_absolute_url()}#recurrence")
    earlier = get_incident_for(request.user, form.cleaned_data["earlier"])
    run_service(
        request,
        lambda: svc.decide_recurrence(
            incident=incident,
            earlier=earlier,
            by=request.user,
            confirm=form.cleaned_data["decision"] == "confirm",
            reason=form.cleaned_data["reason"],
        ),
        success="Recorded. The weekly review counts confirmed recurrences only.",
    )
    return redirect(f"{incident.get_absolute_url()}#recurrence")
