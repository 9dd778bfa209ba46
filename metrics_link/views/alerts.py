"""Pages of the alerts feature: /alerts/ and the alerts section of each service's page."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from ..models import Alert, Service
from ..selectors import (
    SERVICE_PAGE_SECTIONS,
    alert_list,
    firing_alert_count,
    incident_links_for_alerts,
    recent_alerts_of_service,
)

PAGE_SIZE = 50
SERVICE_PAGE_ALERTS = 8


class AlertFilterForm(forms.Form):
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("slug"),
        required=False,
        to_field_name="slug",
        empty_label="Any service",
    )
    source = forms.ChoiceField(required=False, choices=[("", "Any source"), *Alert.Source.choices])
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Alert.Status.choices])
    severity = forms.ChoiceField(
        required=False, choices=[("", "Any severity"), *Alert.Severity.choices]
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", "The end date is before the start date.")
        return data


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _with_links(alerts: list[Alert], user) -> list[Alert]:
    links = incident_links_for_alerts([a.pk for a in alerts], user)
    for alert in alerts:
        alert.linked_incidents = links.get(alert.pk, [])
    return alerts


def alert_list_view(request: HttpRequest) -> HttpResponse:
    form = AlertFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = alert_list(
        service=filters["service"].slug if filters.get("service") else None,
        source=filters.get("source") or None,
        status=filters.get("status") or None,
        severity=filters.get("severity") or None,
        since=_day_start(filters["since"]) if filters.get("since") else None,
        until=_day_start(filters["until"] + timedelta(days=1)) if filters.get("until") else None,
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    alerts = _with_links(list(page.object_list), request.user)
    firing = firing_alert_count()
    return render(
        request,
        "metrics_link/alert_list.html",
        {"nav": "alerts", "form": form, "page_obj": page, "alerts": alerts, "firing": firing},
    )


def service_alerts_section(service: Service, user) -> dict | None:
    alerts = recent_alerts_of_service(service, limit=SERVICE_PAGE_ALERTS)
    if not alerts:
        return None
    return {
        "template": "metrics_link/_service_alerts.html",
        "service": service,
        "alerts": _with_links(alerts, user),
        "firing": firing_alert_count(service=service),
    }


def register() -> None:
    if service_alerts_section not in SERVICE_PAGE_SECTIONS:
        SERVICE_PAGE_SECTIONS.append(service_alerts_section)


urlpatterns = [path("alerts/", alert_list_view, name="alert-list")]
