"""Suspect deploys on the incident page: verdicts, "no deploy involved", the mitigating deploy.

Each POST works without JavaScript (redirect back to the section); with htmx the section is
re-rendered in place.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from metrics_link.models import Deploy

from ..forms.suspects import VerdictForm
from ..models import SuspectVerdict
from ..selectors.incidents import get_incident_for
from ..selectors.suspects import (
    other_culprits,
    ranked_suspects,
    suspect_window,
    suspects_section,
    with_suspect_commits,
)
from ..services import suspects as suspect_services
from .utils import error_text, run_service


def _respond(
    request: HttpRequest, incident, error: str = "", success: str = "", confirm=None
) -> HttpResponse:
    if request.htmx:
        incident = get_incident_for(request.user, incident.pk)
        ctx = suspects_section(incident, request.user)
        ctx["error"] = error
        ctx["confirm"] = confirm
        return render(
            request,
            "postmortems/incident/_suspects.html",
            {"ctx": ctx},
            status=422 if error else 200,
        )
    if error:
        messages.error(request, error)
    elif success:
        messages.success(request, success)
    return redirect(incident.get_absolute_url() + "#suspects")


SUSPECTS_PAGE_SIZE = 50


def incident_suspects(request: HttpRequest, pk: int) -> HttpResponse:
    """Every suspect deploy of the incident, ranked, 50 a page (the incident page shows the top)."""
    incident = get_incident_for(request.user, pk)
    suspects = ranked_suspects(incident, commits=False)
    page = Paginator(suspects, SUSPECTS_PAGE_SIZE).get_page(request.GET.get("page"))
    start, _end = suspect_window(incident)
    return render(
        request,
        "postmortems/incident/suspects.html",
        {
            "nav": "incidents",
            "incident": incident,
            "page_obj": page,
            "suspects": with_suspect_commits(list(page.object_list)),
            "total": len(suspects),
            "window_hours": settings.SUSPECT_WINDOW_HOURS,
            "skew_minutes": settings.SUSPECT_SKEW_MINUTES,
            "window_start": start,
            "verdict_choices": SuspectVerdict.Verdict.choices,
        },
    )


CHOOSE_VERDICT = "Choose culprit, contributing or ruled out (the note is saved with a verdict)."


@require_POST
def set_verdict(request: HttpRequest, pk: int, deploy_id: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    deploy = get_object_or_404(Deploy.objects.select_related("service"), pk=deploy_id)
    form = VerdictForm(request.POST)
    if not form.is_valid():
        return _respond(request, incident, error=CHOOSE_VERDICT)
    if form.cleaned_data["verdict"] == SuspectVerdict.Verdict.CULPRIT and not form.cleaned_data.get(
        "confirm"
    ):
        others = other_culprits(incident, deploy)
        if others:
            # A second culprit is rare and was once made by accident: ask before saving it.
            confirm = {
                "deploy": deploy,
                "others": others,
                "note": form.cleaned_data.get("note") or "",
            }
            if request.htmx:
                return _respond(request, incident, confirm=confirm)
            return render(
                request,
                "postmortems/incident/confirm_culprit.html",
                {"nav": "incidents", "incident": incident, "confirm": confirm},
            )
    try:
        suspect_services.set_verdict(
            incident=incident,
            deploy=deploy,
            verdict=form.cleaned_data["verdict"],
            note=form.cleaned_data.get("note") or "",
            by=request.user,
        )
    except ValidationError as exc:
        return _respond(request, incident, error=error_text(exc))
    return _respond(request, incident, success="Verdict saved.")


@require_POST
def no_deploy_involved(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    try:
        suspect_services.mark_no_deploy_involved(
            incident=incident, by=request.user, value=request.POST.get("value") != "0"
        )
    except ValidationError as exc:
        return _respond(request, incident, error=error_text(exc))
    return _respond(request, incident, success="Saved.")


@require_POST
def mark_mitigation(request: HttpRequest, pk: int, deploy_id: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    deploy = get_object_or_404(Deploy.objects.select_related("service"), pk=deploy_id)
    run_service(
        request,
        lambda: suspect_services.mark_mitigating_deploy(
            incident=incident, deploy=deploy, by=request.user
        ),
        success="Mitigation time set from the deploy.",
    )
    # The header (status, times) changes too: reload the page rather than the section.
    return redirect(incident.get_absolute_url() + "#suspects")
