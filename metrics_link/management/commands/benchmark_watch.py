"""The immune system judge's quality: detection per regression size, false positives, speed.

Generator (fixed so figures compare from run to run): 1,000 production deploys at random
minutes over four weeks of a series at one-minute resolution with level 1,000, daily seasonality
of amplitude 40%, weekly 15%, Gaussian noise 3% of the level; a 10-minute window before, after,
and a week earlier. A known tenth of the deploys (every tenth) carries a regression of 5, 10, 20
or 50% in the window after (25 deploys each); the other 900 are healthy. One watched series per
deploy (bad direction: drop, min_change 5%, alpha DEPLOY_WATCH_ALPHA). Speed: the pure judge's
time for 10 watched series (10 points per window each), p50/p95 over the 1,000 deploys; the
database reads are not included.
"""

from __future__ import annotations

import math
import random
import time
from statistics import median

from django.conf import settings
from django.core.management.base import BaseCommand

from metrics_link import judge as judgement

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

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=13)

    def handle(self, *args, seed: int, **options):
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
