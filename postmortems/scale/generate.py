"""Generate a company's worth of history, fast: `manage.py generate_scale`.

Shape (defaults, issue 15): 2,000 users in teams with managers, services with repositories,
1M deploys listing 3M commits, 100k incidents placed after their services' deploys (a share
restricted, with commander/reporter/responders), 400k timeline entries, 150k alerts, 300k webhook
deliveries, 50k why nodes in chains, 500k action items across statuses with due dates past and
future (and the reminders a running product would already have recorded), 20k published
postmortems with their versions, events and reviewers, retrospectives, 1.6M metric points, and
the last weekly review built by the product's own service.

Rows are written straight into the tables with PostgreSQL COPY (psycopg 3 `cursor.copy`), or
batched INSERTs on SQLite (tiny sizes, tests). Ids are assigned here, so rows can point at each
other without reading back; sequences are reset at the end. Deterministic for a `seed` and an
`anchor` (the "now" of the data). History tables (django-simple-history) are not filled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db import transaction

from metrics_link.models import (
    Deploy,
)

from ..models import (
    Incident,
)
from ..services.reviews import build_weekly_review
from .catalog import step_deploys, step_metrics, step_people
from .documents import step_postmortems
from .incidents import step_alerts, step_incidents, step_timeline, step_webhooks
from .learning import step_actions, step_retros, step_whys
from .plan import Plan
from .writer import Progress, Writer

DEFAULT_SIZES: dict[str, int] = {
    "users": 2_000,
    "incidents": 100_000,
    "timeline": 400_000,
    "deploys": 1_000_000,
    "commits": 3_000_000,
    "metric_points": 1_600_000,
    "alerts": 150_000,
    "webhook_deliveries": 300_000,
    "why_nodes": 50_000,
    "action_items": 500_000,
    "postmortems": 20_000,
}


class Refused(Exception):
    """The generator will not run here (wrong database, data already present)."""


def scaled_sizes(scale: float = 1.0, **overrides: int | None) -> dict[str, int]:
    sizes = {k: max(1, round(v * scale)) for k, v in DEFAULT_SIZES.items()}
    sizes["users"] = max(20, sizes["users"])
    sizes["incidents"] = max(20, sizes["incidents"])
    for key, value in overrides.items():
        if value is not None:
            sizes[key] = value
    return sizes


# --- entry point -------------------------------------------------------------------------------


def _atomic(step, plan: Plan, w: Writer) -> None:
    # Postmortems and their versions point at each other: one transaction (deferred FKs).
    with transaction.atomic():
        step(plan, w)


def check_empty() -> None:
    if Incident.objects.exists() or Deploy.objects.exists():
        raise Refused(
            "This database already holds incidents or deploys; generate into a fresh one "
            "(createdb, migrate, then generate_scale)."
        )


def generate(
    *,
    sizes: dict[str, int],
    seed: int = 15,
    anchor: datetime | None = None,
    years: float = 3.0,
    password: str = "scale",  # noqa: S107 (a measuring database's shared password)
    reviews: int = 1,
    write: Callable[[str], None] = print,
    every: float = 5.0,
) -> Plan:
    """Write the whole dataset. Returns the plan (ids and shape) for callers and tests."""
    check_empty()
    anchor = anchor or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    plan = Plan(
        rng_seed=seed, anchor=anchor, start=anchor - timedelta(days=365 * years), sizes=sizes
    )
    progress = Progress(write, every=every)
    w = Writer(progress)
    started = time.monotonic()
    steps: list[tuple[str, Callable[[], object]]] = [
        ("people, teams, services", lambda: step_people(plan, w, password)),
        ("deploys and commits", lambda: step_deploys(plan, w)),
        ("incidents", lambda: step_incidents(plan, w)),
        ("timeline", lambda: step_timeline(plan, w)),
        ("alerts", lambda: step_alerts(plan, w)),
        ("webhook deliveries", lambda: step_webhooks(plan, w)),
        ("why chains", lambda: step_whys(plan, w)),
    ]
    retros: list = []
    steps.append(("retrospectives", lambda: retros.extend(step_retros(plan, w))))
    steps.append(("action items and reminders", lambda: step_actions(plan, w, retros)))
    steps.append(("postmortems", lambda: _atomic(step_postmortems, plan, w)))
    steps.append(("metric series", lambda: step_metrics(plan, w)))
    for k, (label, run) in enumerate(steps, 1):
        write(f"[{k}/{len(steps)}] {label}")
        run()
    w.finish(write)
    if reviews:
        monday = anchor.date() - timedelta(days=anchor.date().weekday())
        for back in range(reviews, 0, -1):
            week = monday - timedelta(days=7 * back)
            t0 = time.monotonic()
            iso = f"{week.isocalendar()[0]}-W{week.isocalendar()[1]:02d}"
            try:
                build_weekly_review(week=iso, publish=True, mail=False)
                write(f"  weekly review {iso} built in {time.monotonic() - t0:.1f}s")
            except Exception as exc:
                write(f"  weekly review {iso} not built: {exc}")
    rows = sum(n for _, n, _ in progress.report)
    took = time.monotonic() - started
    write(f"Generated {rows:,} rows in {took:.0f}s ({rows / took:,.0f} rows/s overall).")
    return plan
