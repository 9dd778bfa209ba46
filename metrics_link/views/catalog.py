"""The catalog: teams and services, unclaimed ones marked so someone claims them."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ..models import Service, Team
from ..redirects import safe_next
from ..selectors import service_page_sections, team_by_slug, unclaimed_services
from ..services.catalog import claim_service


def catalog(request: HttpRequest) -> HttpResponse:
    teams = list(
        Team.objects.select_related("manager")
        .prefetch_related(
            Prefetch("services", queryset=Service.objects.order_by("slug")), "members"
        )
        .order_by("name")
    )
    unclaimed = unclaimed_services()
    return render(
        request,
        "metrics_link/catalog.html",
        {
            "nav": "services",
            "teams": teams,
            "unclaimed": unclaimed,
            "my_teams": list(request.user.teams.order_by("name")),
            "service_count": Service.objects.count(),
        },
    )


def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(Service.objects.select_related("team__manager"), slug=slug)
    return render(
        request,
        "metrics_link/service_detail.html",
        {
            "nav": "services",
            "service": service,
            "sections": service_page_sections(service, request.user),
            "my_teams": list(request.user.teams.order_by("name")),
        },
    )


@require_POST
def claim(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(Service, slug=slug)
    # Who may claim for which team is the service's rule (metrics_link.permissions): 403 otherwise.
    team = team_by_slug(request.POST.get("team") or "")
    if team is None:
        messages.error(request, "Choose one of your teams to claim this service.")
    else:
        claim_service(service=service, team=team, by=request.user)
        messages.success(request, f"{service.slug} now belongs to {team.name}.")
    return redirect(safe_next(request, service.get_absolute_url()))


def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(
        Team.objects.select_related("manager").prefetch_related("members", "services"), slug=slug
    )
    services = team.services.annotate(deploy_count=Count("deploys")).order_by("slug")
    return render(
        request,
        "metrics_link/team_detail.html",
        {"nav": "services", "team": team, "services": services},
    )
