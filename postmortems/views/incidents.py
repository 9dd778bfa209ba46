"""Incident pages: list, file, detail (composed of sections), edit, history, status, notes."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .. import permissions as perms
from ..forms import IncidentEditForm, IncidentFilterForm, IncidentForm, NoteForm, StatusForm
from ..models import Incident
from ..selectors.incidents import (
    get_incident_for,
    incident_list,
    incident_page,
    timeline_for,
    visible_incidents,
)
from ..selectors.sections import incident_sections
from ..services import incidents as incident_services
from .utils import error_text, run_service


def incident_list_view(request: HttpRequest) -> HttpResponse:
    form = IncidentFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    status = filters.get("status") or None
    sort = filters.get("sort") or "-started"
    qs = incident_list(
        request.user,
        status=list(Incident.OPEN_STATUSES) if status == "open" else status,
        severity=filters.get("severity") or None,
        service=filters["service"].slug if filters.get("service") else None,
        team=filters["team"].slug if filters.get("team") else None,
        text=filters.get("q") or None,
        sort=sort,
    )
    page = incident_page(
        qs,
        sort=sort,
        page=request.GET.get("page"),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        last=request.GET.get("last") == "1",
    )
    return render(
        request,
        "postmortems/incident_list.html",
        {"nav": "incidents", "form": form, "page": page, "incidents": page.incidents},
    )


def incident_create(request: HttpRequest) -> HttpResponse:
    form = IncidentForm(request.POST or None, initial={"commander": request.user})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        incident, ok = run_service(
            request,
            lambda: incident_services.open_incident(
                title=data["title"],
                severity=data["severity"],
                services=list(data["services"]),
                reporter=request.user,
                commander=data.get("commander") or request.user,
                responders=list(data.get("responders") or []),
                impact=data.get("impact") or "",
                summary=data.get("summary") or "",
                visibility=data.get("visibility") or "public",
                started_at=data.get("started_at"),
            ),
            form=form,
        )
        if ok and incident is not None:
            messages.success(request, f"Incident #{incident.pk} filed. Add notes as you go.")
            return redirect(incident)
    return render(request, "postmortems/incident_form.html", {"nav": "incidents", "form": form})


LIFECYCLE = ["investigating", "mitigated", "resolved", "closed"]


def status_moves(current: str) -> list[dict]:
    """The status buttons in lifecycle order: the next step forward is the primary one; moves
    backwards come after it, labelled as going back. "closed" has its own form (a reason)."""
    here = LIFECYCLE.index(current)
    allowed = incident_services.TRANSITIONS[current]
    forward = [s for s in LIFECYCLE[here + 1 :] if s in allowed and s != "closed"]
    backward = [s for s in reversed(LIFECYCLE[:here]) if s in allowed]
    moves = [
        {"to": to, "label": to.capitalize(), "primary": i == 0} for i, to in enumerate(forward)
    ]
    for to in backward:
        label = "Reopen" if current == "closed" else f"Back to {to}"
        moves.append({"to": to, "label": label, "primary": False})
    return moves


def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    sections = incident_sections(incident, request.user)
    return render(
        request,
        "postmortems/incident_detail.html",
        {
            "nav": "incidents",
            "incident": incident,
            "main_sections": [(s, c) for s, c in sections if s.column == "main"],
            "side_sections": [(s, c) for s, c in sections if s.column == "side"],
            "status_form": StatusForm(),
            "next_statuses": sorted(incident_services.TRANSITIONS[incident.status]),
            "status_moves": status_moves(incident.status),
            "can_join": not perms.is_incident_person(request.user, incident),
            "note_form": NoteForm(),
        },
    )


def incident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    if request.method == "POST":  # refuse before validating: 403 with the reason, not a form
        perms.require_incident_editor(request.user, incident)
    form = IncidentEditForm(request.POST or None, instance=incident)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        services = data.pop("services")
        responders = data.pop("responders")
        _, ok = run_service(
            request,
            lambda: incident_services.update_incident(
                incident=incident,
                by=request.user,
                services=list(services),
                responders=list(responders),
                **data,
            ),
            form=form,
            success="Saved.",
        )
        if ok:
            return redirect(incident)
    return render(
        request,
        "postmortems/incident_edit.html",
        {"nav": "incidents", "form": form, "incident": incident},
    )


def incident_history(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    records = list(incident.history.select_related("history_user").order_by("-history_date")[:200])
    changes = []
    for record in records:
        prev = record.prev_record
        diff = record.diff_against(prev).changes if prev else []
        changes.append({"record": record, "changes": diff, "created": prev is None})
    return render(
        request,
        "postmortems/incident_history.html",
        {"nav": "incidents", "incident": incident, "changes": changes},
    )


@require_POST
def incident_status(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid status.")
        return redirect(incident)
    data = form.cleaned_data
    duplicate_of = None
    if data.get("duplicate_of"):
        duplicate_of = visible_incidents(request.user).filter(pk=data["duplicate_of"]).first()
        if duplicate_of is None:
            messages.error(request, f"There is no incident #{data['duplicate_of']} you can see.")
            return redirect(incident)
    run_service(
        request,
        lambda: incident_services.change_status(
            incident=incident,
            to=data["to"],
            by=request.user,
            reason=data.get("reason") or "",
            duplicate_of=duplicate_of,
            note=data.get("note") or "",
        ),
        success=f"Incident is now {data['to']}.",
    )
    return redirect(incident)


@require_POST
def add_note(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    form = NoteForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            incident_services.add_note(
                incident=incident,
                author=request.user,
                body=form.cleaned_data["body"],
                at=form.cleaned_data.get("at"),
                starred=form.cleaned_data.get("starred", False),
            )
            form = NoteForm()
        except ValidationError as exc:
            error = error_text(exc)
    if request.htmx:
        return render(
            request,
            "postmortems/incident/_timeline.html#timeline",
            {
                "incident": incident,
                "ctx": {"entries": list(timeline_for(incident)), "note_error": error},
                "note_form": form,
            },
            status=200 if not (form.errors or error) else 422,
        )
    if error or form.errors:
        messages.error(request, error or "The note needs some text.")
    return redirect(incident.get_absolute_url() + "#timeline")


def timeline_entries(request: HttpRequest, pk: int) -> HttpResponse:
    """The timeline's entries alone: the open incident page polls it to stay live."""
    incident = get_incident_for(request.user, pk)
    return render(
        request,
        "postmortems/incident/_timeline.html#entries",
        {"incident": incident, "ctx": {"entries": list(timeline_for(incident))}},
    )


@require_POST
def toggle_star(request: HttpRequest, pk: int, entry_id: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    entry = get_object_or_404(incident.timeline.alive(), pk=entry_id)
    incident_services.set_starred(
        entry=entry, starred=request.POST.get("starred") == "1", by=request.user
    )
    if request.htmx:
        return render(
            request,
            "postmortems/incident/_timeline.html#entry",
            {"incident": incident, "entry": entry},
        )
    return redirect(incident.get_absolute_url() + f"#entry-{entry.pk}")


@require_POST
def join(request: HttpRequest, pk: int) -> HttpResponse:
    """Join the incident as a responder (one click on the incident page and the why page)."""
    incident = get_incident_for(request.user, pk)
    incident_services.join_incident(incident=incident, by=request.user)
    messages.success(request, f"You are a responder on #{incident.pk}.")
    if request.POST.get("back") == "whys":
        return redirect("postmortems:whys", pk=incident.pk)
    return redirect(incident)
