"""Action-item pages: the tracker list (+ CSV), detail with transitions, create/edit, history,
bulk reassign, the manager view per team, and the iCal feed. Thin: selectors read, services write."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from metrics_link.charts import Bar, bar_chart
from metrics_link.links import absolute_url, site_url
from metrics_link.models import Team
from metrics_link.redirects import safe_next

from .. import ical, permissions
from ..csvsafe import safe_row
from ..display import display_name
from ..forms.actions import (
    ActionFilterForm,
    ActionItemForm,
    BulkReassignForm,
    CompleteForm,
    ReassignForm,
    WontDoForm,
)
from ..models import ActionItem
from ..selectors.actions import (
    ActionFilters,
    action_item_list,
    aging_buckets,
    csv_rows,
    days_overdue,
    get_action_item_for,
    home_team,
    item_history,
    managed_teams,
    mark_incident_visibility,
    my_open_items,
    team_dashboard,
    visible_action_items,
)
from ..selectors.feeds import user_for_feed_token
from ..services import actions as action_services
from .utils import run_service


def _filters(request: HttpRequest) -> tuple[ActionFilterForm, ActionFilters]:
    form = ActionFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    scope = data.get("scope") or "mine"
    filters = ActionFilters(
        scope=scope if scope in ("mine", "teams", "all") else "mine",
        team=data.get("team"),
        owner=data.get("owner"),
        status=data.get("status") or "open",
        type=data.get("type") or "",
        incident=data.get("incident"),
        overdue=bool(data.get("overdue")),
        due_from=data.get("due_from"),
        due_to=data.get("due_to"),
        bucket=data.get("bucket") or "",
        text=data.get("q") or "",
        sort=data.get("sort") or "due",
    )
    return form, filters


def action_list(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    today = timezone.localdate()
    as_csv = request.GET.get("format") == "csv"
    base, items = action_item_list(request.user, filters, today=today, annotate=as_csv)
    if as_csv:
        return _csv_response(items, today)
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    rows = mark_incident_visibility(list(page.object_list), request.user)
    for item in rows:
        item.days_overdue = days_overdue(item, today)
        item.age_days = (today - timezone.localdate(item.created_at)).days
        item.can_reassign = action_services.can_reassign(user=request.user, item=item)
    managed = managed_teams(request.user)
    context = {
        "nav": "actions",
        "form": form,
        "filters": filters,
        "page_obj": page,
        "items": rows,
        "buckets": aging_buckets(base, today=today),
        "managed_teams": managed,
        "can_bulk": bool(managed) or request.user.is_superuser,
        "reassign_form": ReassignForm(),
        "scopes": [("mine", "Mine"), ("teams", "My teams"), ("all", "Everyone's")],
    }
    return render(request, "postmortems/actions/list.html", context)


class _Echo:
    def write(self, value):
        return value


def _csv_response(items, today) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    rows = csv_rows(items.iterator(chunk_size=500), today=today)
    response = StreamingHttpResponse(
        (writer.writerow(safe_row(row)) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="action-items-{today:%Y-%m-%d}.csv"'
    return response


def _item_context(request, item, **extra) -> dict:
    item.days_overdue = days_overdue(item)
    return {
        "nav": "actions",
        "item": item,
        "complete_form": extra.pop("complete_form", CompleteForm()),
        "wont_do_form": extra.pop("wont_do_form", WontDoForm()),
        "reassign_form": ReassignForm(initial={"owner": item.owner_id}),
        "can_reassign": action_services.can_reassign(user=request.user, item=item)
        or item.owner_id == request.user.pk,
        "reminders": list(item.reminders.select_related("recipient").order_by("-created_at")),
        **extra,
    }


def action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_action_item_for(request.user, pk)
    return render(request, "postmortems/actions/detail.html", _item_context(request, item))


def action_create(request: HttpRequest) -> HttpResponse:
    initial = {"owner": request.user.pk, "incident": request.GET.get("incident")}
    form = ActionItemForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        item, ok = run_service(
            request,
            lambda: action_services.create_action_item(
                title=data["title"],
                description=data.get("description") or "",
                owner=data.get("owner"),
                team=data.get("team"),
                incident=data.get("incident"),
                due_on=data.get("due_on"),
                priority=data["priority"],
                type=data["type"],
                estimated_hours=data.get("estimated_hours"),
                ticket_url=data.get("ticket_url") or "",
                created_by=request.user,
            ),
            form=form,
            success="Action item created.",
        )
        if ok and item is not None:
            return redirect(item)
    return render(
        request,
        "postmortems/actions/form.html",
        {"nav": "actions", "form": form, "title": "New action item"},
    )


EDIT_FIELDS = action_services.EDITABLE_FIELDS


def action_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_action_item_for(request.user, pk)
    if request.method == "POST":  # refuse before validating: 403 with the reason, not a form
        permissions.require_action_item_editor(request.user, item)
    initial = {f: getattr(item, f) for f in EDIT_FIELDS}
    form = ActionItemForm(request.POST or None, initial=initial)
    del form.fields["incident"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {f: data.get(f) for f in EDIT_FIELDS}
        changes["description"] = changes["description"] or ""
        changes["ticket_url"] = changes["ticket_url"] or ""
        if changes["team"] is None:
            changes["team"] = item.team
        _, ok = run_service(
            request,
            lambda: action_services.update_action_item(item=item, by=request.user, changes=changes),
            form=form,
            success="Saved.",
        )
        if ok:
            return redirect(item)
    return render(
        request,
        "postmortems/actions/form.html",
        {"nav": "actions", "form": form, "item": item, "title": f"Edit: {item.title}"},
    )


def action_history(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_action_item_for(request.user, pk)
    return render(
        request,
        "postmortems/actions/history.html",
        {"nav": "actions", "item": item, "changes": item_history(item)},
    )


@dataclass(frozen=True)
class Move:
    """One button of the detail page: the service it calls (with the form's cleaned data), what
    it says when done, and its form. An invalid form re-opens its `panel` with the errors (400),
    or says `invalid` when the form has no panel."""

    call: Callable[[ActionItem, Any, dict[str, Any]], object]
    success: str
    form: type[forms.Form] | None = None
    panel: str = ""
    invalid: str = ""


MOVES: dict[str, Move] = {
    "start": Move(
        lambda item, by, _: action_services.start_action_item(item=item, by=by),
        "Started. Good luck!",
    ),
    "complete": Move(
        lambda item, by, data: action_services.complete_action_item(
            item=item,
            by=by,
            verification_note=data["verification_note"],
            actual_hours=data.get("actual_hours"),
        ),
        "Done, with its verification note. Thank you.",
        form=CompleteForm,
        panel="complete",
    ),
    "wont-do": Move(
        lambda item, by, data: action_services.wont_do_action_item(
            item=item, by=by, reason=data["reason"]
        ),
        "Closed as won't do.",
        form=WontDoForm,
        panel="wont_do",
    ),
    "reopen": Move(
        lambda item, by, _: action_services.reopen_action_item(item=item, by=by), "Reopened."
    ),
    "reassign": Move(
        lambda item, by, data: action_services.reassign_action_item(
            item=item, by=by, owner=data["owner"]
        ),
        "Reassigned.",
        form=ReassignForm,
        invalid=action_services.OWNER_REQUIRED,
    ),
    "delete": Move(
        lambda item, by, _: action_services.delete_action_item(item=item, by=by),
        "Deleted “{title}”.",
    ),
}


@require_POST
def action_transition(request: HttpRequest, pk: int, move: str) -> HttpResponse:
    item = get_action_item_for(request.user, pk)
    step = MOVES.get(move)
    if step is None:
        return HttpResponse("Unknown action.", status=404)
    data: dict[str, Any] = {}
    if step.form is not None:
        form = step.form(request.POST)
        if not form.is_valid():
            if not step.panel:
                messages.error(request, step.invalid)
                return redirect(item)
            context = _item_context(
                request, item, **{f"{step.panel}_form": form, "open_panel": step.panel}
            )
            return render(request, "postmortems/actions/detail.html", context, status=400)
        data = form.cleaned_data
    _, ok = run_service(
        request,
        lambda: step.call(item, request.user, data),
        success=step.success.format(title=item.title),
    )
    if ok and move == "delete":
        return redirect("postmortems:action-list")
    return redirect(item)


@require_POST
def bulk_reassign(request: HttpRequest) -> HttpResponse:
    form = BulkReassignForm(request.POST)
    back = safe_next(request, reverse("postmortems:action-list"))
    if not form.is_valid():
        # The first thing missing: the ticked items, then the new owner.
        missing = form.errors.get("items") or [action_services.OWNER_REQUIRED]
        messages.error(request, missing[0])
        return redirect(back)
    owner = form.cleaned_data["owner"]
    items = list(visible_action_items(request.user).filter(pk__in=form.cleaned_data["items"]))
    count, ok = run_service(
        request,
        lambda: action_services.bulk_reassign_action_items(
            items=items, by=request.user, owner=owner
        ),
    )
    if ok:
        messages.success(
            request,
            f"Reassigned {count} item{'s' if count != 1 else ''} to {display_name(owner)}.",
        )
    return redirect(back)


def team_actions(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team.objects.select_related("manager"), slug=slug)
    data = team_dashboard(team, request.user)
    chart = bar_chart(
        [
            Bar(label=f"{w:%b %d}", values=[data["opened"][i], data["closed"][i]])
            for i, w in enumerate(data["weeks"])
        ],
        series_labels=["Opened", "Closed"],
        colors=["#2563eb", "#16a34a"],
        title=f"{team.name}: action items opened vs closed per week",
        width=720,
        height=220,
    )
    backlog = bar_chart(
        [
            Bar(label=f"{w:%b %d}", values=[data["open_at_end"][i]])
            for i, w in enumerate(data["weeks"])
        ],
        series_labels=["Open at week end"],
        colors=["#f59e0b"],
        title="Open items at the end of each week",
        width=720,
        height=180,
    )
    return render(
        request,
        "postmortems/actions/team.html",
        {
            "nav": "actions",
            "team": team,
            "d": data,
            "chart": chart,
            "backlog_chart": backlog,
            "teams": Team.objects.order_by("name"),
        },
    )


def action_teams(request: HttpRequest) -> HttpResponse:
    team = home_team(request.user)
    if team is None:
        messages.info(request, "No teams yet.")
        return redirect("postmortems:action-list")
    return redirect("postmortems:action-team", slug=team.slug)


@login_not_required
def actions_ics(request: HttpRequest, token: str) -> HttpResponse:
    """My open items' due dates as all-day events. The token stands for the user (or 404)."""
    user = user_for_feed_token(token)
    events = []
    for item in my_open_items(user).filter(due_on__isnull=False):
        lines = [
            f"{item.get_priority_display()} · {item.get_type_display()} · team {item.team.name}"
        ]
        if item.incident_id:
            lines.append(
                f"Incident #{item.incident_id}: {item.incident.title}"
                if item.incident_visible
                else "From a restricted incident."
            )
        url = absolute_url(item.get_absolute_url())
        lines.append(url)
        events.append(
            ical.AllDayEvent(
                uid=f"action-item-{item.pk}@{urlsplit(site_url()).hostname}",
                day=item.due_on,
                summary=f"Due: {item.title}",
                description="\n".join(lines),
                url=url,
                last_modified=item.updated_at,
            )
        )
    body = ical.calendar(events, name="My action items")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="actions.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
