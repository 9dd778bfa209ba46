"""Pages of the deploys feature: `/deploys/` (filterable, paginated) and one page per deploy."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from ..models import Deploy, Service
from ..selectors import (
    deploy_list,
    deploy_page_sections,
    deploy_watch_section,
    service_deploy_summary,
)

PERIODS = [
    ("", "Any time"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
]
PERIOD_DELTAS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}


class DeployFilterForm(forms.Form):
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("slug"),
        to_field_name="slug",
        required=False,
        empty_label="All services",
    )
    environment = forms.ChoiceField(required=False, label="Environment")
    status = forms.ChoiceField(choices=[("", "Any status"), *Deploy.Status.choices], required=False)
    period = forms.ChoiceField(choices=PERIODS, required=False, label="When")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        envs = Deploy.objects.order_by("environment").values_list("environment", flat=True)
        self.fields["environment"].choices = [
            ("", "All environments"),
            *[(e, e) for e in envs.distinct()],
        ]


def deploy_list_view(request: HttpRequest) -> HttpResponse:
    form = DeployFilterForm(request.GET or None)
    f = form.cleaned_data if form.is_valid() else {}
    period = f.get("period") or ""
    qs = deploy_list(
        service=f["service"].slug if f.get("service") else None,
        environment=f.get("environment") or None,
        status=f.get("status") or None,
        since=timezone.now() - PERIOD_DELTAS[period] if period in PERIOD_DELTAS else None,
    )
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "metrics_link/deploy_list.html",
        {"nav": "deploys", "form": form, "page_obj": page, "deploys": page.object_list},
    )


def deploy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deploy = deploy_list().filter(pk=pk).first()
    if deploy is None:
        raise Http404("No such deploy.")
    return render(
        request,
        "metrics_link/deploy_detail.html",
        {
            "nav": "deploys",
            "deploy": deploy,
            "commits": [dc.commit for dc in deploy.deploy_commits.all()],
            "sections": deploy_page_sections(deploy, request.user),
            "watch": deploy_watch_section(deploy),
        },
    )


def service_deploys_section(service: Service, user: object) -> dict | None:
    """Service page: deploy figures of the last 30 days and the latest production deploy.

    The learning layer adds the timeline of deploys and incidents (it alone may show incidents).
    """
    summary = service_deploy_summary(service, now=timezone.now())
    if summary is None:
        return None
    return {"template": "metrics_link/_service_deploys.html", "service": service, **summary}


urlpatterns = [
    path("deploys/", deploy_list_view, name="deploy-list"),
    path("deploys/<int:pk>/", deploy_detail, name="deploy-detail"),
]
