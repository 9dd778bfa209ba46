"""Demo data step "verdicts" (see seed_demo): the immune system judges every seeded deploy.

Runs after the deploys and the metrics: every successful production deploy since the immune
system was turned on (`immune_system_since`: a week after the one-minute points begin, so each
verdict has its week-old baseline) gets its verdict from the real judge over the seeded points
(`metrics_link.services.watch.backfill_verdicts`), decided when the sweep would have decided it
(one watch window after the deploy, plus the sweep's delay). Older deploys have no watch. The login outage's culprit is judged `regressed`: its verdict is the
machine entry that opened the incident (origin "immune system", detected at the verdict, before
the first alert), as `postmortems.services.immune` writes it. Idempotent.
"""

from __future__ import annotations

from collections.abc import Callable

from metrics_link.demo.story import (
    CULPRIT_SERVICE,
    CULPRIT_VERSION,
    LOGIN_OUTAGE_TITLE,
    DemoContext,
    immune_system_since,
    verdict_at,
)
from metrics_link.models import Deploy, DeployWatch
from metrics_link.services.watch import backfill_verdicts

from ..models import Incident, TimelineEntry
from ..services.immune import verdict_body
from ..services.incidents import add_timeline_entry
from .deploys import MARKER


def _open_the_story(watch: DeployWatch) -> bool:
    """The culprit's verdict is the login outage's opening entry (once)."""
    login = Incident.objects.filter(title=LOGIN_OUTAGE_TITLE).first()
    if login is None or watch.status != DeployWatch.Status.REGRESSED:
        return False
    add_timeline_entry(
        incident=login,
        kind=TimelineEntry.Kind.DEPLOY,
        body=verdict_body(watch),
        at=watch.decided_at,
        source=TimelineEntry.Source.MACHINE,
        deploy=watch.deploy,
        dedupe_key=f"watch:{watch.pk}",
        starred=True,
    )
    return True


def run(ctx: DemoContext, progress: Callable[[str], object]) -> None:
    deploys = list(
        Deploy.objects.filter(
            external_id__startswith=MARKER,
            finished_at__gte=immune_system_since(ctx.now),
            finished_at__lte=ctx.now,
        )
        .select_related("service")
        .order_by("finished_at")
    )
    counts = backfill_verdicts(deploys, decided_at=lambda d: verdict_at(d.finished_at))
    culprit = (
        DeployWatch.objects.select_related("deploy__service")
        .filter(deploy__service__slug=CULPRIT_SERVICE, deploy__version=CULPRIT_VERSION)
        .first()
    )
    opened = (
        culprit is not None
        and not TimelineEntry.objects.filter(dedupe_key=f"watch:{culprit.pk}").exists()
        and _open_the_story(culprit)
    )
    if not counts:
        progress("already judged")
        return
    summary = ", ".join(f"{counts[s]} {s}" for s in sorted(counts))
    progress(
        f"{sum(counts.values())} deploys judged ({summary})"
        + (
            f"; the culprit {CULPRIT_SERVICE} {CULPRIT_VERSION} opened the login outage"
            if opened
            else ""
        )
    )
