"""The immune system's verdicts open incidents: a regressed deploy is the first suspect.

metrics_link judges every production deploy (metrics_link/services/watch.py) and sends
`deploy_judged(watch_id, status)` on commit. For `regressed`, `react_to_verdict`:

- joins the incident the deploy's service already has open (`Incident.objects.joinable_for`, the
  alerts' rule), or one the immune system opened for a company-wide metric in the same window
  (several services' deploys under one falling metric: one incident, all of them ranked), or
  opens one titled from the worst metric ("Logins -34% after profile-web v2.41.0"), started at
  the deploy's end and detected at the verdict (provenance "immune system");
- adds a machine timeline entry (`watch:<id>`: once, however often it runs);
- mails the service's team and posts to Slack (when configured), through the outbox.

The suspects ranking gives a regressed deploy its own reason and points ("immune system:
regressed"), so it ranks first.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction

from metrics_link.links import absolute_url
from metrics_link.models import Deploy, DeployWatch, MetricSeries, Service
from metrics_link.signals import deploy_judged

from ..models import Incident, TimelineEntry
from ..models.incidents import Provenance
from . import incidents as incident_services
from .mail import queue_mail
from .slack import queue_slack

logger = logging.getLogger(__name__)

IMMUNE_SEVERITY = "sev2"


def worst_metric(results: list[dict]) -> dict | None:
    failed = [r for r in results if r.get("passed") is False]
    if not failed:
        return None
    return max(failed, key=lambda r: (bool(r.get("critical")), abs(r.get("change") or 0.0)))


def _percent(change: float | None) -> str:
    if change is None:
        return ""
    return f"{change * 100:+.0f}%".replace("-", "\u2212")


def _label(metric: dict) -> str:
    label = (metric.get("label") or metric.get("name") or "A metric").strip()
    return label[:1].upper() + label[1:]


def deploy_name(deploy: Deploy) -> str:
    return f"{deploy.service.slug} {deploy.version or deploy.short_sha}".strip()


def verdict_title(watch: DeployWatch) -> str:
    worst = worst_metric(watch.results)
    what = f"{_label(worst)} {_percent(worst.get('change'))}" if worst else "Metrics regressed"
    return f"{what} after {deploy_name(watch.deploy)}"[:200]


def verdict_body(watch: DeployWatch) -> str:
    failed = [r for r in watch.results if r.get("passed") is False]
    lines = [
        f"Immune system: **regressed** after [{deploy_name(watch.deploy)}]"
        f"({absolute_url(watch.deploy.get_absolute_url())}) (score {watch.score:g}%)."
        if watch.score is not None
        else f"Immune system: **regressed** after {deploy_name(watch.deploy)}."
    ]
    lines += [
        f"- {_label(r)}{' (critical)' if r.get('critical') else ''}: {r.get('reason', '')}"
        for r in failed
    ]
    return "\n".join(lines)


def _company_wide(metric: dict | None) -> bool:
    if metric is None:
        return False
    return MetricSeries.objects.filter(name=metric.get("name"), service__isnull=True).exists()


def _incident_to_join(watch: DeployWatch) -> Incident | None:
    deploy = watch.deploy
    incident = Incident.objects.joinable_for(deploy.service, deploy.finished_at).first()
    if incident is not None or not _company_wide(worst_metric(watch.results)):
        return incident
    window = timedelta(seconds=settings.DEPLOY_WATCH_SECONDS)
    return (
        Incident.objects.alive()
        .open()
        .filter(
            origin=Incident.Origin.IMMUNE,
            started_at__gte=deploy.finished_at - window,
            started_at__lte=deploy.finished_at + window,
        )
        .order_by("-started_at")
        .first()
    )


def _notify(incident: Incident, watch: DeployWatch) -> None:
    team = watch.deploy.service.team
    link = absolute_url(incident.get_absolute_url())
    text = f"{verdict_title(watch)}: {link}\n\n{verdict_body(watch)}"
    if team is not None:
        people = list(team.members.filter(is_active=True).values_list("email", flat=True))
        if team.manager is not None and team.manager.email:
            people.append(team.manager.email)
        to = sorted({e for e in people if e})
        if to:
            message = EmailMultiAlternatives(
                subject=f"[{incident.severity.upper()}] {verdict_title(watch)}",
                body=text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=to,
            )
            queue_mail(message, dedupe_key=f"immune-mail:{watch.pk}")
    queue_slack(f":rotating_light: {text}", dedupe_key=f"immune-slack:{watch.pk}")


@transaction.atomic
def react_to_verdict(*, watch_id: int) -> Incident | None:
    """Open or join the incident of a regressed deploy. Safe to run again: one entry per watch."""
    watch = DeployWatch.objects.select_related("deploy__service__team").filter(pk=watch_id).first()
    if watch is None or watch.status != DeployWatch.Status.REGRESSED:
        return None
    deploy = watch.deploy
    Service.objects.select_for_update().filter(pk=deploy.service_id).first()
    seen = (
        TimelineEntry.objects.select_related("incident")
        .filter(dedupe_key=f"watch:{watch.pk}", incident__in=Incident.objects.alive())
        .first()
    )
    if seen is not None:
        return seen.incident
    detected = watch.decided_at or deploy.finished_at
    incident = _incident_to_join(watch)
    if incident is None:
        incident = incident_services.open_incident(
            title=verdict_title(watch),
            severity=IMMUNE_SEVERITY,
            services=[deploy.service],
            impact=verdict_body(watch)[:2000],
            started_at=deploy.finished_at,
            started_at_source=Provenance.IMMUNE,
            detected_at=max(detected, deploy.finished_at),
            detected_at_source=Provenance.IMMUNE,
            origin=Incident.Origin.IMMUNE,
        )
    else:
        incident.services.add(deploy.service)
    incident_services.add_timeline_entry(
        incident=incident,
        kind=TimelineEntry.Kind.DEPLOY,
        body=verdict_body(watch),
        at=detected,
        source=TimelineEntry.Source.MACHINE,
        deploy=deploy,
        dedupe_key=f"watch:{watch.pk}",
    )
    _notify(incident, watch)
    return incident


def _on_deploy_judged(sender: object, watch_id: int, status: str = "", **kwargs: Any) -> None:
    if status == DeployWatch.Status.REGRESSED:
        react_to_verdict(watch_id=watch_id)


def connect() -> None:
    """Connect the receiver of metrics_link's deploy verdicts. Called once at app ready."""
    deploy_judged.connect(_on_deploy_judged, dispatch_uid="postmortems.immune.react")


__all__ = ["connect", "react_to_verdict", "verdict_title"]
