"""Reads for the deploys & suspects feature (issue 3).

`ranked_suspects(incident)` reads the production deploys in the incident's window in a constant
number of queries (services, deploys with their commit count, verdicts) and ranks them with the pure
`postmortems.suspects_ranking.score_deploy`. A busy company has hundreds of deploys in a window
(issue 15): the ranking reads no commits; `with_suspect_commits(shown)` loads them for the suspects
a page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Prefetch, prefetch_related_objects
from django.utils import timezone

from metrics_link.models import Commit, Deploy, DeployCommit, DeployWatch, Service
from metrics_link.selectors import deploys_in_window, with_commits
from metrics_link.times import shift_time

from ..models import Incident, SuspectVerdict
from ..suspects_ranking import Candidate, Score, rank, score_deploy

COMMITS_SHOWN = 10
SUSPECTS_SHOWN = 20  # the incident page's section; the suspects page lists them all


@dataclass
class Suspect:
    """One ranked deploy. Interface shared with other features: deploy, score, reasons, verdict."""

    deploy: Deploy
    score: float
    reasons: list[str]
    verdict: SuspectVerdict | None
    breakdown: list[tuple[str, float]] = field(default_factory=list)
    own_service: bool = False
    rank: int = 0  # 1 for the most likely; counts from the top of the whole list
    commit_count: int = 0

    @property
    def commits(self) -> list[Commit]:
        """Needs `with_suspect_commits` (else one query per suspect)."""
        return [dc.commit for dc in self.deploy.deploy_commits.all()]

    @property
    def commits_shown(self) -> list[Commit]:
        return self.commits[:COMMITS_SHOWN]

    @property
    def more_commits(self) -> int:
        return max(0, self.commit_count - COMMITS_SHOWN)


def suspect_window(incident: Incident) -> tuple[datetime, datetime]:
    """[start - SUSPECT_WINDOW_HOURS, start + SUSPECT_SKEW_MINUTES] (clocks skew)."""
    return (
        shift_time(incident.started_at, -timedelta(hours=settings.SUSPECT_WINDOW_HOURS)),
        shift_time(incident.started_at, timedelta(minutes=settings.SUSPECT_SKEW_MINUTES)),
    )


def _incident_services(incident: Incident) -> list[Service]:
    return list(incident.services.all())


def _regression(results: list[dict[str, Any]]) -> str:
    """ "Logins -34%" for the worst failed metric of a regressed watch."""
    failed = [r for r in results if r.get("passed") is False]
    if not failed:
        return "metrics fell"
    worst = max(failed, key=lambda r: (bool(r.get("critical")), abs(r.get("change") or 0.0)))
    label = (worst.get("label") or worst.get("name") or "a metric").strip()
    change = worst.get("change")
    pct = f" {change * 100:+.0f}%".replace("-", "\u2212") if change is not None else ""
    return f"{label[:1].upper()}{label[1:]}{pct}"


def with_suspect_commits(suspects: list[Suspect]) -> list[Suspect]:
    """Load the ordered commits of these suspects' deploys (one query), for the ones shown."""
    prefetch_related_objects(
        [s.deploy for s in suspects],
        Prefetch(
            "deploy_commits",
            queryset=DeployCommit.objects.select_related("commit").order_by("position"),
        ),
    )
    return suspects


def ranked_suspects(incident: Incident, *, commits: bool = True) -> list[Suspect]:
    """The incident's suspect deploys, best first.

    Interface (other features rely on it): a list of objects with attributes
    `deploy` (metrics_link Deploy, with `service` and — unless `commits=False` — its commits
    prefetched), `score` (float 0..100), `reasons` (list[str], human-readable, e.g. "deployed
    38 min before the start"), `verdict` (SuspectVerdict or None), `rank` (1 for the top).
    With `commits=False` the caller shows a slice: pass it to `with_suspect_commits`.
    """
    services = _incident_services(incident)
    service_ids = {s.pk for s in services}
    repositories = {r.strip().lower() for s in services for r in (s.repositories or [])}
    start, end = suspect_window(incident)
    # The ranking needs each deploy's commit count, not its commits: count them in the query.
    deploys = list(
        deploys_in_window(start=start, end=end)
        .prefetch_related(None)
        .annotate(commit_count=Count("deploy_commits"))
    )
    verdicts = {
        v.deploy_id: v
        for v in SuspectVerdict.objects.filter(incident=incident).select_related("by")
    }
    regressed = {
        w.deploy_id: _regression(w.results)
        for w in DeployWatch.objects.filter(
            deploy__in=deploys, status=DeployWatch.Status.REGRESSED
        ).only("deploy_id", "results")
    }
    commit_counts = {d.pk: d.commit_count for d in deploys}
    scored: list[tuple[object, Score, datetime]] = []
    for deploy in deploys:
        result = score_deploy(
            Candidate(
                finished_at=deploy.finished_at,
                service_id=deploy.service_id,
                repository=deploy.repository,
                status=deploy.status,
                commit_count=deploy.commit_count,
                regressed=regressed.get(deploy.pk, ""),
            ),
            started_at=incident.started_at,
            service_ids=service_ids,
            repositories=repositories,
        )
        scored.append((deploy, result, deploy.finished_at))
    suspects = []
    for position, (item, result) in enumerate(rank(scored), 1):
        shown = cast(Deploy, item)  # rank hands back the deploys it was given
        suspects.append(
            Suspect(
                deploy=shown,
                score=result.score,
                reasons=result.reasons,
                verdict=verdicts.get(shown.pk),
                breakdown=result.breakdown,
                own_service=shown.service_id in service_ids,
                rank=position,
                commit_count=commit_counts[shown.pk],
            )
        )
    return with_suspect_commits(suspects) if commits else suspects


def top_suspects(suspects: list[Suspect], shown: int = SUSPECTS_SHOWN) -> list[Suspect]:
    """The first `shown` suspects, plus any lower one that has a verdict, in rank order."""
    return [s for s in suspects if s.rank <= shown or s.verdict is not None]


def deploys_during(incident: Incident) -> list[Deploy]:
    """Production deploys of the incident's services after its start while it was open: often the
    fix or a rollback, so a responder can mark one as the mitigation."""
    end = incident.resolved_at or timezone.now()
    qs = Deploy.objects.filter(
        service__in=incident.services.all(),
        environment__in=settings.PRODUCTION_ENVIRONMENTS,
        finished_at__gte=incident.started_at,
        finished_at__lte=end,
    )
    return list(with_commits(qs).order_by("finished_at", "pk")[:20])


def suspects_section(
    incident: Incident, user: AbstractBaseUser | AnonymousUser
) -> dict[str, Any] | None:
    """Context of the incident page's section, or None to hide it: the top suspects (and any
    with a verdict), the total and a link to all of them."""
    suspects = ranked_suspects(incident, commits=False)
    shown = with_suspect_commits(top_suspects(suspects))
    start, _end = suspect_window(incident)
    return {
        "incident": incident,
        "suspects": shown,
        "suspects_total": len(suspects),
        "suspects_hidden": len(suspects) - len(shown),
        "during": deploys_during(incident),
        "window_hours": settings.SUSPECT_WINDOW_HOURS,
        "skew_minutes": settings.SUSPECT_SKEW_MINUTES,
        "window_start": start,
        "verdict_choices": SuspectVerdict.Verdict.choices,
    }


def other_culprits(incident: Incident, deploy: Deploy) -> list[Deploy]:
    """The deploys other than `deploy` already marked as the incident's culprit."""
    return [
        v.deploy
        for v in SuspectVerdict.objects.filter(
            incident=incident, verdict=SuspectVerdict.Verdict.CULPRIT
        )
        .exclude(deploy=deploy)
        .select_related("deploy__service")
    ]


# --- service page: deploys and incidents on one timeline ----------------------------------------

SERVICE_TIMELINE_DAYS = 30


@dataclass
class TimelineItem:
    at: datetime
    kind: str  # "deploy" | "incident"
    obj: object


def deploy_verdicts_section(
    deploy: Deploy, user: AbstractBaseUser | AnonymousUser
) -> dict[str, Any] | None:
    """Deploy page: what responders concluded about this deploy, for incidents the reader may see
    (a restricted incident's verdict is not shown to outsiders, not even as a count)."""
    verdicts = list(
        SuspectVerdict.objects.filter(Incident.objects.visible_exists(user), deploy=deploy)
        .select_related("incident", "by")
        .order_by("-at")
    )
    if not verdicts:
        return None
    return {"template": "postmortems/incident/_deploy_verdicts.html", "verdicts": verdicts}


def service_timeline_section(
    service: Service, user: AbstractBaseUser | AnonymousUser
) -> dict[str, Any] | None:
    """The service's deploys and the incidents `user` may see, interleaved, newest first."""
    since = timezone.now() - timedelta(days=SERVICE_TIMELINE_DAYS)
    incidents = list(
        Incident.objects.visible_to(user)
        .filter(services=service, started_at__gte=since)
        .order_by("-started_at")[:30]
    )
    deploys = list(
        with_commits(
            Deploy.objects.filter(service=service, finished_at__gte=since).order_by("-finished_at")
        )[:60]
    )
    if not incidents and not deploys:
        return None
    items = [TimelineItem(d.finished_at, "deploy", d) for d in deploys] + [
        TimelineItem(i.started_at, "incident", i) for i in incidents
    ]
    items.sort(key=lambda item: item.at, reverse=True)
    return {
        "template": "postmortems/_service_timeline.html",
        "service": service,
        "items": items,
        "days": SERVICE_TIMELINE_DAYS,
        "incident_count": len(incidents),
        "deploy_count": len(deploys),
    }
