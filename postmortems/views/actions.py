"""Action-item pages: the tracker list (+ CSV), detail with transitions, create/edit, history,
bulk reassign, the manager view per team, and the iCal feed. Thin: selectors read, services write."""

from __future__ import annotations

import csv
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from metrics_link.charts import Bar, bar_chart
from metrics_link.links import absolute_url, site_url
from metrics_link.models import Team
from metrics_link.redirects import safe_next

from .. import ical, permissions
from ..csvsafe import safe_row
from ..display import display_name
from ..forms import ActionFilterForm, ActionItemForm, CompleteForm, ReassignForm, WontDoForm
from ..selectors.actions import (
    ActionFilters,
    action_item_list,
    aging_buckets,
    csv_rows,
    days_overdue,
    get_action_item_for,
    item_history,
    my_open_items,
    team_dashboard,
    visible_action_items,
)
from ..selectors.feeds import user_for_feed_token
from ..selectors.incidents import get_incident_for
from ..services import actions as action_services
from .utils import apply_service_errors, error_text


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
    base, items = action_item_list(request.user, filters, today=today)
    if request.GET.get("format") == "csv":
        return _csv_response(items, today)
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for item in rows:
        item.days_overdue = days_overdue(item, today)
        item.age_days = (today - timezone.localdate(item.created_at)).days
        item.can_reassign = action_services.can_reassign(user=request.user, item=item)
    managed = list(Team.objects.filter(manager=request.user).order_by("name"))
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


def _incident_for_form(request, number):
    if not number:
        return None
    return get_incident_for(request.user, number)


def action_create(request: HttpRequest) -> HttpResponse:
    initial = {"owner": request.user.pk, "incident": request.GET.get("incident")}
    form = ActionItemForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = _incident_for_form(request, data.get("incident"))
            item = action_services.create_action_item(
                title=data["title"],
                description=data.get("description") or "",
                owner=data.get("owner"),
                team=data.get("team"),
                incident=incident,
                due_on=data.get("due_on"),
                priority=data["priority"],
                type=data["type"],
                estimated_hours=data.get("estimated_hours"),
                ticket_url=data.get("ticket_url") or "",
                created_by=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except Http404:  # an incident the user cannot see: same answer as a missing one
            form.add_error("incident", "There is no incident with this number you can see.")
        else:
            messages.success(request, "Action item created.")
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
        try:
            action_services.update_action_item(item=item, by=request.user, changes=changes)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Saved.")
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


@require_POST
def action_transition(request: HttpRequest, pk: int, move: str) -> HttpResponse:
    item = get_action_item_for(request.user, pk)
    try:
        if move == "start":
            action_services.start_action_item(item=item, by=request.user)
            messages.success(request, "Started. Good luck!")
        elif move == "complete":
            form = CompleteForm(request.POST)
            if not form.is_valid():
                return render(
                    request,
                    "postmortems/actions/detail.html",
                    _item_context(request, item, complete_form=form, open_panel="complete"),
                    status=400,
                )
            action_services.complete_action_item(
                item=item,
                by=request.user,
                verification_note=form.cleaned_data["verification_note"],
                actual_hours=form.cleaned_data.get("actual_hours"),
            )
            messages.success(request, "Done, with its verification note. Thank you.")
        elif move == "wont-do":
            form = WontDoForm(request.POST)
            if not form.is_valid():
                return render(
                    request,
                    "postmortems/actions/detail.html",
                    _item_context(request, item, wont_do_form=form, open_panel="wont_do"),
                    status=400,
                )
            action_services.wont_do_action_item(
                item=item, by=request.user, reason=form.cleaned_data["reason"]
            )
            messages.success(request, "Closed as won't do.")
        elif move == "reopen":
            action_services.reopen_action_item(item=item, by=request.user)
            messages.success(request, "Reopened.")
        elif move == "reassign":
            form = ReassignForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Choose the new owner.")
                return redirect(item)
            action_services.reassign_action_item(
                item=item, by=request.user, owner=form.cleaned_data["owner"]
            )
            messages.success(request, "Reassigned.")
        elif move == "delete":
            action_services.delete_action_item(item=item, by=request.user)
            messages.success(request, f"Deleted “{item.title}”.")
            return redirect("postmortems:action-list")
        else:
            return HttpResponse("Unknown action.", status=404)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    return redirect(item)


@require_POST
def bulk_reassign(request: HttpRequest) -> HttpResponse:
    form = ReassignForm(request.POST)
    ids = [int(i) for i in request.POST.getlist("items") if i.isdigit()]
    back = safe_next(request, "/actions/")
    if not ids:
        messages.error(request, "Select at least one item to reassign.")
        return redirect(back)
    if not form.is_valid():
        messages.error(request, "Choose the new owner.")
        return redirect(back)
    items = list(visible_action_items(request.user).filter(pk__in=ids))
    try:
        count = action_services.bulk_reassign_action_items(
            items=items, by=request.user, owner=form.cleaned_data["owner"]
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        owner = form.cleaned_data["owner"]
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
    mine = Team.objects.filter(manager=request.user).order_by("name").first()
    if mine:
        return redirect("postmortems:action-team", slug=mine.slug)
    first = (
        Team.objects.filter(members=request.user).order_by("name").first()
        or Team.objects.order_by("name").first()
    )
    if first is None:
        messages.info(request, "No teams yet.")
        return redirect("postmortems:action-list")
    return redirect("postmortems:action-team", slug=first.slug)


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
