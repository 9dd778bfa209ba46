"""The immune system: every successful production deploy is judged by the watched metrics.

- `schedule_watch(deploy)` runs inside `record_deploy`'s transaction: the `DeployWatch` row
  (status `watching`, `due_at` = finished_at + DEPLOY_WATCH_SECONDS) is written with the deploy,
  so a broker outage loses nothing ("accepted means kept and done"). A task is published for its
  due time as a hint; the sweep (beat every minute, worker start-up, the embedded run's ticker)
  judges every watch that is due and still undecided. A backfill (its window already passed) is
  judged at once.
- `judge_deploy(deploy_id)` is idempotent: it locks the watch, decides once, and sends
  `deploy_judged(watch_id, status)` on commit (postmortems opens or joins the incident).
- A deploy stamped in the future (a skewed clock) is not judged: `no_data`, with the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .. import judge as judgement
from ..links import absolute_url
from ..models import Deploy, DeployWatch, MetricPoint, MetricSeries, OutboxMessage
from ..prometheus import query_values, reads_from_prometheus
from ..queue import publish
from ..signals import deploy_judged
from .outbox import queue_message

logger = logging.getLogger(__name__)

# A deploy finishing further ahead than this is a skewed clock, not a deploy to wait for.
SKEW_TOLERANCE = timedelta(minutes=5)
IN_THE_FUTURE = (
    "The deploy says it finished at {at}, {ahead} ahead of this server's clock (a skewed "
    "clock?): not judged."
)


def window_seconds() -> int:
    return int(settings.DEPLOY_WATCH_SECONDS)


def is_watchable(deploy: Deploy) -> bool:
    return deploy.is_production and deploy.status == Deploy.Status.SUCCESS


def schedule_watch(deploy: Deploy, *, now: datetime | None = None) -> DeployWatch | None:
    """Create the deploy's watch if it deserves one and has none; publish the judging on commit.
    Safe to call again (a replayed webhook, a later status): one watch per deploy."""
    if not is_watchable(deploy):
        return None
    now = now or timezone.now()
    due_at = deploy.finished_at + timedelta(seconds=window_seconds())
    watch, created = DeployWatch.objects.get_or_create(deploy=deploy, defaults={"due_at": due_at})
    if not created:
        return watch
    if deploy.finished_at > now + SKEW_TOLERANCE:
        _decide(
            watch,
            judgement.Verdict(
                judgement.NO_DATA,
                None,
                [],
                [
                    IN_THE_FUTURE.format(
                        at=deploy.finished_at.isoformat(),
                        ahead=_duration(deploy.finished_at - now),
                    )
                ],
            ),
            windows=None,
            now=now,
        )
        return watch
    delay = (due_at - now).total_seconds()
    deploy_id = deploy.pk
    transaction.on_commit(lambda: _publish_judging(deploy_id, delay))
    return watch


def _publish_judging(deploy_id: int, delay: float) -> None:
    from ..tasks import judge_deploy_task  # the service → task enqueue: tasks imports this module

    if delay <= 0:
        publish(judge_deploy_task, deploy_id)
    elif not settings.CELERY_TASK_ALWAYS_EAGER:
        # Eager mode (the embedded run) would run a countdown task at once: the ticker's sweep
        # judges it when it is due instead.
        publish(judge_deploy_task, deploy_id, countdown=delay)


def due_watch_deploy_ids(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    now = now or timezone.now()
    return list(
        DeployWatch.objects.filter(status=DeployWatch.Status.WATCHING, due_at__lte=now)
        .order_by("due_at")
        .values_list("deploy_id", flat=True)[:limit]
    )


def watched_series_for(deploy: Deploy) -> list[MetricSeries]:
    """Company-wide watched series, and the deploy's service's own."""
    return list(
        MetricSeries.objects.filter(watched=True)
        .filter(Q(service__isnull=True) | Q(service_id=deploy.service_id))
        .order_by("name")
    )


def stored_windows(
    series_ids: list[int], start: datetime, end: datetime, *, after: bool
) -> dict[int, list[float]]:
    """{series id: values in time order} of every series in one window, in ONE query."""
    if not series_ids or end <= start:
        return {}
    qs = MetricPoint.objects.filter(series_id__in=series_ids)
    qs = qs.filter(ts__gt=start, ts__lte=end) if after else qs.filter(ts__gte=start, ts__lt=end)
    values: dict[int, list[float]] = {}
    for series_id, value in qs.order_by("series_id", "ts").values_list("series_id", "value"):
        values.setdefault(series_id, []).append(value)
    return values


# (window name, after side?) in the order MetricInput takes them.
WINDOWS = (("after", True), ("before", False), ("week_ago", True))


def metric_inputs(
    series_list: list[MetricSeries], windows: judgement.Windows
) -> list[judgement.MetricInput]:
    """The judge's inputs: stored series read from the database in one query per window for all
    of them, PromQL series from Prometheus (one `query_range` per window each)."""
    stored = [s for s in series_list if not reads_from_prometheus(s)]
    values: dict[str, dict[int, list[float]]] = {}
    for name, after in WINDOWS:
        window = getattr(windows, name)
        values[name] = stored_windows([s.pk for s in stored], *window, after=after)
        for series in series_list:
            if reads_from_prometheus(series):
                values[name][series.pk] = query_values(series.promql, *window)
    return [
        judgement.MetricInput(
            name=series.name,
            label=str(series),
            after=values["after"].get(series.pk, []),
            before=values["before"].get(series.pk, []),
            week_ago=values["week_ago"].get(series.pk, []),
            bad_direction=series.bad_direction,  # type: ignore[arg-type]
            critical=series.critical,
            min_change=series.min_change,
        )
        for series in series_list
    ]


def _production_successes(service_id: int) -> QuerySet[Deploy]:
    return Deploy.objects.filter(
        service_id=service_id,
        environment__in=settings.PRODUCTION_ENVIRONMENTS,
        status=Deploy.Status.SUCCESS,
    )


def _neighbour_ends(deploy: Deploy) -> tuple[datetime | None, datetime | None]:
    """The finish times of the same service's production deploys just before and after it."""
    others = _production_successes(deploy.service_id).exclude(pk=deploy.pk)
    previous = (
        others.filter(finished_at__lt=deploy.finished_at)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    following = (
        others.filter(finished_at__gt=deploy.finished_at)
        .order_by("finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return previous, following


def _verdict(
    deploy: Deploy,
    series_list: list[MetricSeries],
    previous: datetime | None,
    following: datetime | None,
) -> tuple[judgement.Verdict, judgement.Windows]:
    windows = judgement.plan_windows(
        deploy.finished_at, window_seconds(), previous_end=previous, next_end=following
    )
    notes = list(windows.notes)
    if previous is None:
        notes.append("First production deploy of this service: nothing to roll back to.")
    inputs = metric_inputs(series_list, windows)
    verdict = judgement.judge(inputs, alpha=settings.DEPLOY_WATCH_ALPHA, notes=notes)
    return verdict, windows


def verdict_for(deploy: Deploy) -> tuple[judgement.Verdict, judgement.Windows]:
    """Read the watched series around `deploy` and judge them (no writes)."""
    previous, following = _neighbour_ends(deploy)
    return _verdict(deploy, watched_series_for(deploy), previous, following)


def judge_deploy(deploy_id: int, *, now: datetime | None = None) -> DeployWatch | None:
    """Decide the watch of `deploy_id` if it is due and undecided; otherwise change nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        watch = (
            DeployWatch.objects.select_for_update()
            .select_related("deploy__service")
            .filter(deploy_id=deploy_id)
            .first()
        )
        if watch is None or watch.decided or watch.due_at > now:
            return watch
        verdict, windows = verdict_for(watch.deploy)
        _decide(watch, verdict, windows=windows, now=now)
    return watch


def _fill(
    watch: DeployWatch,
    verdict: judgement.Verdict,
    *,
    windows: judgement.Windows | None,
    now: datetime,
) -> None:
    watch.status = verdict.status
    watch.score = verdict.score
    watch.results = [r.as_dict() for r in verdict.metrics]
    watch.notes = "\n".join(verdict.notes)
    watch.windows = (
        {k: [t.isoformat() for t in v] for k, v in asdict(windows).items() if k != "notes"}
        if windows
        else {}
    )
    watch.decided_at = now


def _decide(
    watch: DeployWatch,
    verdict: judgement.Verdict,
    *,
    windows: judgement.Windows | None,
    now: datetime,
) -> None:
    _fill(watch, verdict, windows=windows, now=now)
    watch.save()
    if watch.status == DeployWatch.Status.REGRESSED and settings.DEPLOY_WATCH_HOOK_URL:
        queue_rollback_hook(watch)
    watch_id, status = watch.pk, watch.status
    transaction.on_commit(
        lambda: deploy_judged.send(sender=DeployWatch, watch_id=watch_id, status=status),
        robust=True,
    )


def rollback_target(deploy: Deploy) -> Deploy | None:
    """The latest earlier deploy of the same service and environment judged healthy (or, with
    no watch yet decided healthy, none: we only name a target the metrics vouched for)."""
    return (
        Deploy.objects.filter(
            service_id=deploy.service_id,
            environment=deploy.environment,
            finished_at__lt=deploy.finished_at,
            status=Deploy.Status.SUCCESS,
            watch__status=DeployWatch.Status.HEALTHY,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )


def _deploy_data(deploy: Deploy) -> dict:
    return {
        "id": deploy.pk,
        "service": deploy.service.slug,
        "environment": deploy.environment,
        "version": deploy.version,
        "sha": deploy.sha,
        "finished_at": deploy.finished_at.isoformat(),
        "page_url": absolute_url(deploy.get_absolute_url()),
    }


def hook_body(watch: DeployWatch) -> str:
    deploy = watch.deploy
    target = rollback_target(deploy)
    return json.dumps(
        {
            "event": "deploy.regressed",
            "status": watch.status,
            "score": watch.score,
            "decided_at": watch.decided_at.isoformat() if watch.decided_at else None,
            "deploy": _deploy_data(deploy),
            "rollback_to": _deploy_data(target) if target else None,
            "metrics": watch.results,
            "notes": [line for line in watch.notes.splitlines() if line],
        },
        sort_keys=True,
    )


def signature(body: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def queue_rollback_hook(watch: DeployWatch) -> None:
    """POST the verdict to DEPLOY_WATCH_HOOK_URL through the outbox (retried, capped), signed
    like GitHub's webhooks: `X-Postmortems-Signature: sha256=<hex HMAC-SHA256 of the body>`."""
    body = hook_body(watch)
    headers = {"Content-Type": "application/json"}
    if settings.DEPLOY_WATCH_HOOK_SECRET:
        headers["X-Postmortems-Signature"] = signature(body, settings.DEPLOY_WATCH_HOOK_SECRET)
    queue_message(
        channel=OutboxMessage.Channel.HOOK,
        payload={"url": settings.DEPLOY_WATCH_HOOK_URL, "headers": headers, "body": body},
        dedupe_key=f"deploy-watch-hook:{watch.pk}",
    )


def _duration(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def judge_due(*, now: datetime | None = None) -> list[int]:
    """Judge every due, undecided watch here (the sweep publishes tasks; this is for commands)."""
    ids = due_watch_deploy_ids(now=now)
    for deploy_id in ids:
        judge_deploy(deploy_id, now=now)
    return ids


# --- backfill: recorded deploys judged at once (demo data, imports) -----------------------------


def backfill_verdicts(
    deploys: Iterable[Deploy],
    *,
    decided_at: Callable[[Deploy], datetime],
    now: datetime | None = None,
) -> dict[str, int]:
    """Judge recorded deploys whose window has passed, all at once: the same judge and windows
    as `judge_deploy` (three queries a deploy: one per window for all its series; the other
    deploys' ends read once, for the shortened windows). Writes the watches in bulk
    and sends no `deploy_judged` (nothing reacts to the past); deploys that already have a
    watch, are not watchable, or whose window has not passed yet (`schedule_watch` is their
    path, a skewed clock included) are skipped. Returns {status: count}."""
    now = now or timezone.now()
    span = timedelta(seconds=window_seconds())
    candidates = [d for d in deploys if is_watchable(d) and d.finished_at + span <= now]
    judged = set(
        DeployWatch.objects.filter(deploy__in=[d.pk for d in candidates]).values_list(
            "deploy_id", flat=True
        )
    )
    todo = [d for d in candidates if d.pk not in judged]
    counts: dict[str, int] = {}
    if not todo:
        return counts
    watched = list(MetricSeries.objects.filter(watched=True).order_by("name"))
    ends: dict[int, list[datetime]] = {}
    for service_id, finished in (
        Deploy.objects.filter(
            service_id__in={d.service_id for d in todo},
            environment__in=settings.PRODUCTION_ENVIRONMENTS,
            status=Deploy.Status.SUCCESS,
        )
        .order_by("finished_at")
        .values_list("service_id", "finished_at")
    ):
        ends.setdefault(service_id, []).append(finished)
    rows = []
    for deploy in todo:
        service_ends = ends.get(deploy.service_id, [])
        i, j = (
            bisect_left(service_ends, deploy.finished_at),
            bisect_right(service_ends, deploy.finished_at),
        )
        previous = service_ends[i - 1] if i > 0 else None
        following = service_ends[j] if j < len(service_ends) else None
        series_list = [s for s in watched if s.service_id in (None, deploy.service_id)]
        verdict, windows = _verdict(deploy, series_list, previous, following)
        watch = DeployWatch(deploy=deploy, due_at=deploy.finished_at + span)
        _fill(watch, verdict, windows=windows, now=decided_at(deploy))
        rows.append(watch)
        counts[watch.status] = counts.get(watch.status, 0) + 1
    DeployWatch.objects.bulk_create(rows, batch_size=500)
    return counts
