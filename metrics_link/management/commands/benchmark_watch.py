"""The immune system judge's quality: detection per regression size, false positives, speed.

Generator (fixed so figures compare from run to run): 1,000 production deploys at random
minutes over four weeks of a series at one-minute resolution with level 1,000, daily seasonality
of amplitude 40%, weekly 15%, Gaussian noise 3% of the level; a 10-minute window before, after,
and a week earlier. A known tenth of the deploys (every tenth) carries a regression of 5, 10, 20
or 50% in the window after (25 deploys each); the other 900 are healthy. One watched series per
deploy (bad direction: drop, min_change 5%, alpha DEPLOY_WATCH_ALPHA). Speed: the pure judge's
time for 10 watched series (10 points per window each), p50/p95 over the 1,000 deploys.

End to end (--end-to-end N, default 200; 0 to skip): `judge a deploy` through the service, as the
sweep runs it: lock the watch, read 10 watched company-wide series at one-minute resolution from
the database (windows before, after and a week earlier), judge, write the DeployWatch. N deploys
of 8 services, 14 minutes apart, over points of the same generator (two days, and the same two
days a week earlier). Runs in a transaction rolled back at the end: the database is left as it
was (other watched series are switched off inside it). Goal: p95 ≤ 200 ms.
"""

from __future__ import annotations

import math
import random
import time
from datetime import timedelta
from statistics import median

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from metrics_link import judge as judgement
from metrics_link.models import MetricPoint, MetricSeries
from metrics_link.services.deploys import record_deploy
from metrics_link.services.watch import judge_deploy

LEVEL = 1000.0
NOISE = 0.03
DAILY = 0.40
WEEKLY = 0.15
WINDOW_MINUTES = 10
DEPLOYS = 1000
SIZES = (0.05, 0.10, 0.20, 0.50)
MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
SPAN_MINUTES = 4 * MINUTES_PER_WEEK


def level_at(minute: int) -> float:
    daily = 1 + DAILY * math.sin(2 * math.pi * minute / MINUTES_PER_DAY)
    weekly = 1 + WEEKLY * math.sin(2 * math.pi * minute / MINUTES_PER_WEEK)
    return LEVEL * daily * weekly


def window(rng: random.Random, start: int, factor: float = 1.0) -> list[float]:
    return [
        max(0.0, level_at(m) * factor * (1 + rng.gauss(0, NOISE)))
        for m in range(start, start + WINDOW_MINUTES)
    ]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=13)
        parser.add_argument(
            "--end-to-end",
            type=int,
            default=200,
            metavar="N",
            help="Deploys judged through the service with database reads (0: skip).",
        )

    def handle(self, *args: object, seed: int, end_to_end: int, **options: object) -> None:
        rng = random.Random(seed)  # noqa: S311 (a reproducible generator, not a secret)
        alpha = settings.DEPLOY_WATCH_ALPHA
        caught = dict.fromkeys(SIZES, 0)
        planted = dict.fromkeys(SIZES, 0)
        false_positives = healthy = 0
        timings = []
        for i in range(DEPLOYS):
            end = rng.randrange(MINUTES_PER_WEEK + WINDOW_MINUTES, SPAN_MINUTES - WINDOW_MINUTES)
            size = SIZES[(i // 10) % len(SIZES)] if i % 10 == 0 else 0.0
            metric = judgement.MetricInput(
                name="logins",
                before=window(rng, end - WINDOW_MINUTES),
                after=window(rng, end + 1, 1 - size),
                week_ago=window(rng, end + 1 - MINUTES_PER_WEEK),
                bad_direction="drop",
                min_change=0.05,
            )
            verdict = judgement.judge([metric], alpha=alpha)
            flagged = verdict.status in (judgement.REGRESSED, judgement.MARGINAL)
            if size:
                planted[size] += 1
                caught[size] += flagged
            else:
                healthy += 1
                false_positives += flagged
            ten = [metric] * 10
            started = time.perf_counter()
            judgement.judge(ten, alpha=alpha)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        out = self.stdout.write
        out(
            f"benchmark_watch: {DEPLOYS} deploys, noise {NOISE:.0%}, daily {DAILY:.0%}, "
            f"weekly {WEEKLY:.0%}, window {WINDOW_MINUTES} min, alpha {alpha:g}, seed {seed}"
        )
        for size in SIZES:
            rate = caught[size] / planted[size] if planted[size] else 0.0
            out(f"  regression {size:.0%}: caught {caught[size]}/{planted[size]} ({rate:.0%})")
        out(
            f"  healthy deploys flagged: {false_positives}/{healthy} "
            f"({false_positives / healthy:.2%})"
        )
        out(
            f"  verdict for 10 series (pure judge): p50 {median(timings):.2f} ms, "
            f"p95 {timings[int(0.95 * len(timings)) - 1]:.2f} ms"
        )
        if end_to_end > 0:
            p50, p95, statuses = end_to_end_timings(end_to_end, random.Random(seed))  # noqa: S311
            out(
                f"  verdict end to end ({end_to_end} deploys, 10 series at one minute read from "
                f"the database, judged, DeployWatch written): p50 {p50:.1f} ms, p95 {p95:.1f} ms "
                f"(goal ≤ 200 ms); {statuses}"
            )


SERIES = 10
SERVICES = 8
SPACING_MINUTES = 14


class _Rollback(Exception):
    pass


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def end_to_end_timings(deploys: int, rng: random.Random) -> tuple[float, float, str]:
    """(p50 ms, p95 ms, statuses) of `judge_deploy` over `deploys` fresh deploys."""
    timings: list[float] = []
    statuses: dict[str, int] = {}
    try:
        with transaction.atomic():
            MetricSeries.objects.filter(watched=True).update(watched=False)
            minute = timezone.now().replace(second=0, microsecond=0)
            span = deploys * SPACING_MINUTES + 4 * WINDOW_MINUTES
            first = minute - timedelta(minutes=span)
            week = timedelta(days=7)
            for k in range(SERIES):
                series = MetricSeries.objects.create(
                    name=f"benchmark-watch-{k}",
                    label=f"Benchmark {k}",
                    kind=MetricSeries.Kind.BUSINESS,
                    watched=True,
                    critical=k == 0,
                )
                points = []
                for m in range(span):
                    for shift in (timedelta(0), week):
                        ts = first + timedelta(minutes=m) - shift
                        value = level_at(m) * (1 + rng.gauss(0, NOISE))
                        points.append(MetricPoint(series=series, ts=ts, value=value))
                MetricPoint.objects.bulk_create(points, batch_size=5000)
            ids = []
            for i in range(deploys):
                finished = first + timedelta(minutes=2 * WINDOW_MINUTES + i * SPACING_MINUTES)
                recorded = record_deploy(
                    service=f"benchmark-watch-{i % SERVICES}",
                    version=f"v{i}",
                    finished_at=finished,
                )
                ids.append(recorded.deploy.pk)
            for deploy_id in ids:
                started = time.perf_counter()
                watch = judge_deploy(deploy_id)
                timings.append((time.perf_counter() - started) * 1000)
                status = watch.status if watch else "none"
                statuses[status] = statuses.get(status, 0) + 1
            raise _Rollback
    except _Rollback:
        pass
    timings.sort()
    summary = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    return median(timings), percentile(timings, 0.95), summary


__all__ = ["Command", "end_to_end_timings"]
