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

import bisect
import html
import json
import math
import random
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from metrics_link.models import (
    Alert,
    Commit,
    Deploy,
    DeployCommit,
    MetricPoint,
    MetricSeries,
    Service,
    Team,
    WebhookDelivery,
)

from ..models import (
    ActionItem,
    FeedToken,
    Incident,
    IncidentAlert,
    Profile,
    ReminderSent,
    RetroItem,
    Retrospective,
    SuspectVerdict,
    TimelineEntry,
    WhyNode,
)
from ..models.documents import Postmortem, PostmortemEvent, PostmortemVersion

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

FIRST = [
    "Ada",
    "Alan",
    "Anna",
    "Ben",
    "Carla",
    "Chen",
    "Dana",
    "Diego",
    "Elena",
    "Emil",
    "Fatima",
    "Felix",
    "Grace",
    "Hana",
    "Ivan",
    "Jade",
    "Jonas",
    "Kai",
    "Lara",
    "Leo",
    "Maya",
    "Mina",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Paula",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sam",
    "Sofia",
    "Tariq",
    "Uma",
    "Vera",
    "Wei",
    "Xenia",
    "Yara",
    "Yusuf",
    "Zoe",
]
LAST = [
    "Abe",
    "Berg",
    "Costa",
    "Dahl",
    "Eze",
    "Fox",
    "Garcia",
    "Hale",
    "Ito",
    "Jensen",
    "Kim",
    "Lund",
    "Moreau",
    "Novak",
    "Okafor",
    "Park",
    "Quist",
    "Rossi",
    "Silva",
    "Tan",
    "Ueda",
    "Vogel",
    "Weber",
    "Xu",
    "Young",
    "Zhou",
]
TEAM_WORDS = [
    "payments",
    "checkout",
    "identity",
    "search",
    "catalog",
    "growth",
    "mobile",
    "platform",
    "data",
    "infra",
    "messaging",
    "billing",
    "fraud",
    "logistics",
    "pricing",
    "ads",
    "storage",
    "network",
    "security",
    "support",
    "insights",
    "media",
    "partners",
    "ledger",
    "notifications",
]
SERVICE_WORDS = [
    "api",
    "web",
    "worker",
    "gateway",
    "db",
    "cache",
    "queue",
    "scheduler",
    "indexer",
    "auth",
    "cdn",
    "sync",
    "export",
    "importer",
    "ledger",
    "notifier",
]
SYMPTOMS = (
    "5xx spike",
    "latency above SLO",
    "login failures",
    "queue backlog",
    "timeouts to the database",
    "elevated error rate",
    "partial outage",
    "stale data shown",
    "checkout failures",
    "memory leak after deploy",
    "certificate expired",
    "disk full",
    "DNS resolution failures",
    "rate limit misconfigured",
)
CAUSES = (
    "a connection pool too small for the new traffic",
    "a migration that locked a hot table",
    "a feature flag enabled for every customer at once",
    "a retry storm against a slow dependency",
    "a cache key that changed format",
    "an index dropped by mistake",
    "a config value copied from staging",
    "a timeout longer than the load balancer's",
    "an unbounded query on a growing table",
    "a dependency upgrade with a changed default",
)
WORDS = [
    "deploy",
    "rollback",
    "canary",
    "alert",
    "dashboard",
    "runbook",
    "pager",
    "latency",
    "throughput",
    "saturation",
    "retry",
    "backoff",
    "circuit",
    "breaker",
    "replica",
    "failover",
    "quota",
    "budget",
    "capacity",
    "migration",
    "schema",
    "index",
    "cache",
    "eviction",
    "queue",
    "consumer",
    "producer",
    "partition",
    "leader",
    "election",
    "certificate",
    "rotation",
    "token",
    "session",
    "cookie",
    "gateway",
    "ingress",
    "egress",
    "autoscaler",
    "node",
    "pod",
    "container",
    "image",
    "registry",
    "probe",
    "readiness",
    "liveness",
    "threshold",
    "regression",
    "baseline",
    "experiment",
    "customer",
    "revenue",
    "signup",
]
CATEGORIES = [c for c, _ in WhyNode.Category.choices]
ENVIRONMENTS = ("production", "staging")
PROVIDERS = (("github", 50), ("gitlab", 30), ("api", 20))


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


# --- writing -----------------------------------------------------------------------------------


class Progress:
    """Per-table progress: rows, rows/s and ETA, at most every `every` seconds."""

    def __init__(self, write: Callable[[str], None], every: float = 5.0):
        self.write = write
        self.every = every
        self.report: list[tuple[str, int, float]] = []

    def track(self, label: str, rows: Iterable, expected: int) -> Iterator:
        started = last = time.monotonic()
        n = 0
        for n, row in enumerate(rows, 1):
            yield row
            if n % 20_000 == 0:
                now = time.monotonic()
                if now - last >= self.every:
                    last = now
                    rate = n / (now - started)
                    eta = max(0.0, (expected - n) / rate) if rate else 0.0
                    self.write(
                        f"  {label:<22} {n:>11,}/{expected:,} ({100 * n / max(expected, 1):3.0f}%)"
                        f"  {rate:>9,.0f} rows/s  ETA {eta:5.0f}s"
                    )
        took = time.monotonic() - started
        self.report.append((label, n, took))
        self.write(
            f"  {label:<22} {n:>11,} rows in {took:6.1f}s  ({n / took if took else 0:>9,.0f} rows/s)"
        )


def _with_defaults(table: str, columns: list[str], rows: Iterable[tuple]):
    """Columns the generator does not set get their model field's default, so a field added to a
    model later (NOT NULL with a default) never breaks the COPY."""
    from django.apps import apps
    from django.db.models import NOT_PROVIDED

    model = next((m for m in apps.get_models() if m._meta.db_table == table), None)
    if model is None:
        return columns, rows
    extra = [
        f
        for f in model._meta.concrete_fields
        if f.column not in columns
        and not f.null
        and (f.default is not NOT_PROVIDED or f.empty_strings_allowed)  # "" for text fields
    ]
    if not extra:
        return columns, rows
    values = tuple(f.get_default() for f in extra)
    values = tuple(json.dumps(v) if isinstance(v, dict | list) else v for v in values)
    return [*columns, *(f.column for f in extra)], ((*row, *values) for row in rows)


class Writer:
    """COPY on PostgreSQL, batched executemany elsewhere. Rows are tuples in `columns` order."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.is_pg = connection.vendor == "postgresql"
        self.tables: list[str] = []

    def next_id(self, table: str) -> int:
        with connection.cursor() as cur:
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 (our names)
            return int(cur.fetchone()[0]) + 1

    def write(self, table: str, columns: list[str], rows: Iterable[tuple], expected: int) -> int:
        self.tables.append(table)
        columns, rows = _with_defaults(table, columns, rows)
        tracked = self.progress.track(table, rows, expected)
        cols = ", ".join(f'"{c}"' for c in columns)
        count = 0
        if self.is_pg:
            with connection.cursor() as cur:
                self._skip_fk_checks(cur)
                with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in tracked:
                        copy.write_row(row)
                        count += 1
            return count
        sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
        batch: list[tuple] = []
        with connection.cursor() as cur:
            for row in tracked:
                batch.append(tuple(_sqlite_value(v) for v in row))
                count += 1
                if len(batch) >= 2000:
                    cur.executemany(sql, batch)
                    batch = []
            if batch:
                cur.executemany(sql, batch)
        return count

    def _skip_fk_checks(self, cur) -> None:
        """The ids are made consistent here (the tests check the graph), so the per-row foreign
        key triggers (millions of deferred index look-ups at commit) are skipped where the role
        may (superusers: `session_replication_role = replica`, the usual bulk-load switch)."""
        if getattr(self, "_fk_checked", False):
            return
        self._fk_checked = True
        try:
            with transaction.atomic():
                cur.execute("SET session_replication_role = replica")
            self._replica = True
        except Exception:
            self.progress.write("  (foreign key checks stay on: not a superuser; slower)")

    def finish(self, write: Callable[[str], None]) -> None:
        if not self.is_pg:
            return
        with connection.cursor() as cur:
            if getattr(self, "_replica", False):
                cur.execute("SET session_replication_role = DEFAULT")
            for table in dict.fromkeys(self.tables):
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608 (our table names)
                    f"COALESCE((SELECT MAX(id) FROM {table}), 1), "
                    f"(SELECT MAX(id) FROM {table}) IS NOT NULL)",
                    [table],
                )
        # A live database would have been vacuumed and analysed by now (VACUUM also fills the
        # visibility map that index-only scans need); inside a transaction (tests) ANALYZE only.
        started = time.monotonic()
        verb = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        with connection.cursor() as cur:
            for name in dict.fromkeys(self.tables):
                cur.execute(f"{verb} {name}")
        write(f"  {verb} of {len(set(self.tables))} tables in {time.monotonic() - started:.1f}s")


def _sqlite_value(v):
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, bool):
        return int(v)
    return v


def table(model) -> str:
    return model._meta.db_table


def m2m_table(model, name: str) -> str:
    return model._meta.get_field(name).remote_field.through._meta.db_table


# --- the plan ----------------------------------------------------------------------------------


@dataclass
class Plan:
    """What the steps share: ids, people, per-incident facts (compact)."""

    rng_seed: int
    anchor: datetime
    start: datetime
    sizes: dict[str, int]
    users: list[int] = field(default_factory=list)
    user_names: dict[int, str] = field(default_factory=dict)
    teams: list[int] = field(default_factory=list)
    team_members: list[list[int]] = field(default_factory=list)
    team_manager: list[int] = field(default_factory=list)
    services: list[int] = field(default_factory=list)
    service_team: list[int] = field(default_factory=list)  # team index or -1
    service_slug: list[str] = field(default_factory=list)
    service_repo: list[str] = field(default_factory=list)
    service_weight: list[float] = field(default_factory=list)
    # deploys (global order), per service contiguous
    deploy_first: int = 0
    deploy_service: array = field(default_factory=lambda: array("H"))
    deploy_time: array = field(default_factory=lambda: array("d"))
    deploy_commits: array = field(default_factory=lambda: array("B"))
    deploy_prod: bytearray = field(default_factory=bytearray)
    prod_times: list[list[float]] = field(default_factory=list)
    prod_ids: list[list[int]] = field(default_factory=list)
    # incidents
    incident_first: int = 0
    inc: list[tuple] = field(default_factory=list)
    why_ids: dict[int, list[int]] = field(default_factory=dict)
    published: list[int] = field(default_factory=list)

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.rng_seed}:{name}")  # noqa: S311 (test data, not secrets)

    def ts(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)

    @property
    def span(self) -> float:
        return (self.anchor - self.start).total_seconds()


# incident tuple fields
I_T, I_SVC, I_TEAM, I_SEV, I_STATUS, I_RESTRICTED, I_CMD, I_REP, I_RESP, I_SVCS, I_SUSPECT = range(
    11
)
I_RESOLVED, I_REASON, I_BIG = 11, 12, 13


def _words(r: random.Random, n: int) -> str:
    return " ".join(r.choice(WORDS) for _ in range(n))


def _sha(r: random.Random) -> str:
    return f"{r.getrandbits(160):040x}"


def _spread(total: int, parts: int, i: int) -> int:
    """Part i of `total` split as evenly as possible over `parts` (sums exactly)."""
    return (total * (i + 1)) // parts - (total * i) // parts


# --- steps -------------------------------------------------------------------------------------


def step_people(p: Plan, w: Writer, password: str) -> None:
    r = p.rng("people")
    User = get_user_model()
    n = p.sizes["users"]
    first_id = w.next_id(table(User))
    hashed = make_password(password, salt=f"scale{p.rng_seed}")  # deterministic too
    joined = p.start - timedelta(days=30)
    p.users = list(range(first_id, first_id + n))

    def users():
        for i, uid in enumerate(p.users):
            f, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST) + i) % len(LAST)]
            username = f"{f.lower()}.{last.lower()}{i}"
            p.user_names[uid] = username
            yield (
                uid,
                hashed,
                None,
                False,
                username,
                f,
                last,
                f"{username}@example.com",
                False,
                True,
                joined + timedelta(days=r.randint(0, 300)),
            )

    w.write(
        table(User),
        [
            "id",
            "password",
            "last_login",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
        ],
        users(),
        n,
    )
    tok = w.next_id(table(FeedToken))
    w.write(
        table(FeedToken),
        ["id", "token", "created_at", "user_id"],
        (
            (tok + i, f"scale-{p.rng_seed}-{r.getrandbits(96):024x}", p.anchor, uid)
            for i, uid in enumerate(p.users)
        ),
        n,
    )
    prof = w.next_id(table(Profile))
    w.write(
        table(Profile),
        ["id", "daily_digest", "user_id"],
        ((prof + i, r.random() < 0.05, uid) for i, uid in enumerate(p.users)),
        n,
    )

    # Teams: ~80 people each, a manager each; some people belong to two teams.
    n_teams = max(2, round(n / 80))
    team_first = w.next_id(table(Team))
    p.teams = list(range(team_first, team_first + n_teams))
    p.team_members = [[] for _ in p.teams]
    for i, uid in enumerate(p.users):
        p.team_members[i % n_teams].append(uid)
        if r.random() < 0.1:
            p.team_members[r.randrange(n_teams)].append(uid)
    p.team_members = [list(dict.fromkeys(m)) for m in p.team_members]
    p.team_manager = [m[0] for m in p.team_members]

    def team_name(i):
        word = TEAM_WORDS[i % len(TEAM_WORDS)]
        return word if i < len(TEAM_WORDS) else f"{word}-{i // len(TEAM_WORDS) + 1}"

    w.write(
        table(Team),
        ["id", "name", "slug", "created_at", "manager_id"],
        (
            (tid, team_name(i).replace("-", " ").title(), team_name(i), p.start, p.team_manager[i])
            for i, tid in enumerate(p.teams)
        ),
        n_teams,
    )
    mem = w.next_id(m2m_table(Team, "members"))
    rows = [(t, uid) for i, t in enumerate(p.teams) for uid in p.team_members[i]]
    w.write(
        m2m_table(Team, "members"),
        ["id", "team_id", "user_id"],
        ((mem + k, t, uid) for k, (t, uid) in enumerate(rows)),
        len(rows),
    )

    # Services: 8 per team with one or two repositories, plus a few unclaimed ones.
    per_team = 8
    svc_first = w.next_id(table(Service))
    specs = []
    for ti in range(n_teams):
        for j in range(per_team):
            specs.append((ti, f"{team_name(ti)}-{SERVICE_WORDS[j % len(SERVICE_WORDS)]}"))
    for j in range(max(2, n_teams // 3)):
        specs.append((-1, f"unclaimed-{SERVICE_WORDS[j % len(SERVICE_WORDS)]}-{j}"))
    p.services = list(range(svc_first, svc_first + len(specs)))
    p.service_team = [ti for ti, _ in specs]
    p.service_slug = [slug for _, slug in specs]
    p.service_repo = [f"acme/{slug}" for _, slug in specs]
    # Zipf-like deploy activity: some services deploy all day, others weekly.
    p.service_weight = [
        (0.2 if ti < 0 else 1.0) / (1 + (k % per_team)) ** 0.8 * (1 + 0.5 * r.random())
        for k, (ti, _) in enumerate(specs)
    ]

    def services():
        for k, (ti, slug) in enumerate(specs):
            repos = [p.service_repo[k]] + ([f"acme/{slug}-lib"] if r.random() < 0.2 else [])
            yield (
                p.services[k],
                slug,
                slug.replace("-", " ").title(),
                json.dumps(repos),
                f"The {slug} service.",
                ti >= 0,
                p.start,
                p.teams[ti] if ti >= 0 else None,
            )

    w.write(
        table(Service),
        ["id", "slug", "name", "repositories", "description", "claimed", "created_at", "team_id"],
        services(),
        len(specs),
    )


def step_deploys(p: Plan, w: Writer) -> None:
    r = p.rng("deploys")
    n = p.sizes["deploys"]
    n_commits = p.sizes["commits"]
    total_w = sum(p.service_weight)
    counts = [int(n * wt / total_w) for wt in p.service_weight]
    counts[0] += n - sum(counts)
    p.deploy_first = w.next_id(table(Deploy))
    p.prod_times = [[] for _ in p.services]
    p.prod_ids = [[] for _ in p.services]
    g = 0
    for s, c in enumerate(counts):
        times = sorted(r.random() * p.span for _ in range(c))
        for t in times:
            p.deploy_service.append(s)
            p.deploy_time.append(t)
            k = (n_commits * (g + 1)) // n - (n_commits * g) // n
            p.deploy_commits.append(min(255, k))
            prod = r.random() < 0.55
            p.deploy_prod.append(prod)
            if prod:
                p.prod_times[s].append(t)
                p.prod_ids[s].append(p.deploy_first + g)
            g += 1

    def deploys():
        per_service_n = [0] * len(p.services)
        for gi in range(n):
            s = p.deploy_service[gi]
            per_service_n[s] += 1
            did = p.deploy_first + gi
            finished = p.ts(p.deploy_time[gi])
            roll = r.random()
            status = "success" if roll < 0.92 else ("failed" if roll < 0.97 else "rolled_back")
            provider = (
                "github" if roll * 7 % 1 < 0.5 else ("gitlab" if roll * 7 % 1 < 0.8 else "api")
            )
            ti = p.service_team[s]
            team = p.team_members[ti] if ti >= 0 else p.users
            slug = p.service_slug[s]
            yield (
                did,
                "production" if p.deploy_prod[gi] else "staging",
                p.service_repo[s],
                _sha(r),
                f"v{finished:%Y.%m}.{per_service_n[s]}",
                status,
                finished - timedelta(seconds=60 + r.randrange(900)),
                finished,
                p.user_names[team[r.randrange(len(team))]],
                f"https://ci.example.com/{slug}/{per_service_n[s]}",
                provider,
                f"{provider}-{did}",
                finished,
                finished,
                p.services[s],
            )

    w.write(
        table(Deploy),
        [
            "id",
            "environment",
            "repository",
            "sha",
            "version",
            "status",
            "started_at",
            "finished_at",
            "deployer",
            "url",
            "provider",
            "external_id",
            "created_at",
            "updated_at",
            "service_id",
        ],
        deploys(),
        n,
    )

    commit_first = w.next_id(table(Commit))

    def commits():
        cid = commit_first
        seq = 0
        for gi in range(n):
            s = p.deploy_service[gi]
            t = p.deploy_time[gi]
            for j in range(p.deploy_commits[gi]):
                seq += 1
                at = p.ts(t - 600 * (j + 1) - r.randrange(3600))
                author = FIRST[r.randrange(len(FIRST))] + " " + LAST[r.randrange(len(LAST))]
                yield (
                    cid,
                    p.service_repo[s],
                    _sha(r),
                    author,
                    f"{r.choice(('Fix', 'Add', 'Refactor', 'Bump', 'Tune'))} {_words(r, 4)}",
                    at,
                    "",
                    seq,
                    at,
                )
                cid += 1

    total_commits = sum(p.deploy_commits)
    w.write(
        table(Commit),
        [
            "id",
            "repository",
            "sha",
            "author",
            "message",
            "committed_at",
            "url",
            "push_seq",
            "received_at",
        ],
        commits(),
        total_commits,
    )
    link_first = w.next_id(table(DeployCommit))

    def links():
        cid = commit_first
        lid = link_first
        for gi in range(n):
            for j in range(p.deploy_commits[gi]):
                yield (lid, j, cid, p.deploy_first + gi)
                lid += 1
                cid += 1

    w.write(
        table(DeployCommit), ["id", "position", "commit_id", "deploy_id"], links(), total_commits
    )


def step_incidents(p: Plan, w: Writer) -> None:
    r = p.rng("incidents")
    n = p.sizes["incidents"]
    p.incident_first = w.next_id(table(Incident))
    weights = p.service_weight
    cum = []
    acc = 0.0
    for wt in weights:
        acc += wt
        cum.append(acc)
    times = sorted(r.random() * (p.span - 3600) for _ in range(n))
    recent = p.span - 36 * 3600  # the last day and a half are still open
    for i, t in enumerate(times):
        s = bisect.bisect(cum, r.random() * acc)
        s = min(s, len(p.services) - 1)
        suspect = None
        pt = p.prod_times[s]
        if pt and r.random() < 0.6:
            k = bisect.bisect(pt, t) - 1
            if k >= 0:
                t = pt[k] + 300 + r.random() * 10_000
                suspect = p.prod_ids[s][k]
        t = min(t, p.span - 600)
        big = i % 1000 == 7
        svcs = [s]
        extra = 2 if big else (1 if r.random() < 0.15 else 0)
        for _ in range(extra):
            o = r.randrange(len(p.services))
            if o not in svcs:
                svcs.append(o)
        ti = p.service_team[s]
        if ti < 0:
            ti = r.randrange(len(p.teams))
        members = p.team_members[ti]
        cmd = members[r.randrange(len(members))]
        rep = members[r.randrange(len(members))]
        n_resp = 8 if big else r.choice((0, 1, 1, 2, 2, 3, 4))
        resp = tuple(dict.fromkeys(members[r.randrange(len(members))] for _ in range(n_resp)))
        roll = r.random()
        sev = "sev1" if roll < 0.03 else "sev2" if roll < 0.15 else "sev3" if roll < 0.6 else "sev4"
        if big:
            sev = "sev1"
        if t > recent or r.random() < 0.0005:
            status = "investigating" if r.random() < 0.6 else "mitigated"
            reason = ""
        else:
            status = "closed" if r.random() < 0.7 else "resolved"
            reason = "resolved"
            if status == "closed":
                x = r.random()
                reason = "false_alarm" if x < 0.07 else "duplicate" if x < 0.1 else "resolved"
        resolved = t + 600 + r.random() * 20_000 if status in ("resolved", "closed") else None
        restricted = r.random() < 0.05 and not big
        p.inc.append(
            (
                t,
                s,
                ti,
                sev,
                status,
                restricted,
                cmd,
                rep,
                resp,
                tuple(svcs),
                suspect,
                resolved,
                reason,
                big,
            )
        )

    def incidents():
        for i, x in enumerate(p.inc):
            iid = p.incident_first + i
            t = x[I_T]
            started = p.ts(t)
            svc = p.service_slug[x[I_SVC]]
            symptom = SYMPTOMS[r.randrange(len(SYMPTOMS))]
            detected = started + timedelta(seconds=60 + r.randrange(1200))
            status = x[I_STATUS]
            mitigated = resolved = closed = None
            if status != "investigating":
                mitigated = detected + timedelta(seconds=300 + r.randrange(5000))
            if x[I_RESOLVED] is not None:
                resolved = max(p.ts(x[I_RESOLVED]), mitigated)
                mitigated = min(mitigated, resolved)
            if status == "closed":
                closed = resolved + timedelta(hours=1 + r.randrange(72))
            reason = x[I_REASON] if status == "closed" else ""
            dup = None
            if reason == "duplicate" and i > 0:
                dup = iid - 1 - r.randrange(min(i, 5))
            origin = r.choice(("alert", "alert", "web", "web", "api", "cli"))
            yield (
                iid,
                f"{svc}: {symptom}" + (" (major)" if x[I_BIG] else ""),
                f"{svc} showed {symptom} for customers; {_words(r, 12)}.",
                f"Customers saw {symptom} on {svc}; about {r.randrange(1, 40)}% of requests failed.",
                x[I_SEV],
                status,
                "restricted" if x[I_RESTRICTED] else "public",
                origin,
                started,
                "alert" if origin == "alert" else "human",
                detected,
                "alert" if origin == "alert" else "human",
                mitigated,
                "human",
                resolved,
                "human",
                closed,
                reason,
                x[I_SUSPECT] is None and r.random() < 0.3,
                False,
                None,
                started,
                closed or resolved or started,
                x[I_CMD],
                dup,
                None,
                x[I_REP],
            )

    w.write(
        table(Incident),
        [
            "id",
            "title",
            "summary",
            "impact",
            "severity",
            "status",
            "visibility",
            "origin",
            "started_at",
            "started_at_source",
            "detected_at",
            "detected_at_source",
            "mitigated_at",
            "mitigated_at_source",
            "resolved_at",
            "resolved_at_source",
            "closed_at",
            "close_reason",
            "no_deploy_involved",
            "is_deleted",
            "deleted_at",
            "created_at",
            "updated_at",
            "commander_id",
            "duplicate_of_id",
            "mitigated_by_deploy_id",
            "reporter_id",
        ],
        incidents(),
        n,
    )
    sv = w.next_id(m2m_table(Incident, "services"))
    rows = [(p.incident_first + i, p.services[s]) for i, x in enumerate(p.inc) for s in x[I_SVCS]]
    w.write(
        m2m_table(Incident, "services"),
        ["id", "incident_id", "service_id"],
        ((sv + k, a, b) for k, (a, b) in enumerate(rows)),
        len(rows),
    )
    rs = w.next_id(m2m_table(Incident, "responders"))
    rows = [(p.incident_first + i, u) for i, x in enumerate(p.inc) for u in x[I_RESP]]
    w.write(
        m2m_table(Incident, "responders"),
        ["id", "incident_id", "user_id"],
        ((rs + k, a, b) for k, (a, b) in enumerate(rows)),
        len(rows),
    )


def step_timeline(p: Plan, w: Writer) -> None:
    r = p.rng("timeline")
    total = p.sizes["timeline"]
    n = len(p.inc)
    bigs = [i for i, x in enumerate(p.inc) if x[I_BIG]]
    big_each = min(150, total // max(1, 4 * len(bigs))) if bigs else 0
    rest = total - big_each * len(bigs)
    normal = n - len(bigs)
    first = w.next_id(table(TimelineEntry))

    def rows():
        eid = first
        k = 0
        for i, x in enumerate(p.inc):
            if x[I_BIG]:
                m = big_each
            else:
                m = _spread(rest, normal, k)
                k += 1
            iid = p.incident_first + i
            t0 = x[I_T]
            t1 = x[I_RESOLVED] or (t0 + 7200)
            people = (x[I_CMD], x[I_REP], *x[I_RESP])
            for j in range(m):
                at = p.ts(t0 + (t1 - t0) * (j + r.random()) / max(m, 1))
                if j == 0:
                    kind, source, body, key = "status", "machine", "Incident opened.", f"gen:{j}"
                elif j % 5 == 3 and x[I_SUSPECT]:
                    kind, source = "deploy", "machine"
                    body, key = f"Deploy to {p.service_slug[x[I_SVC]]}.", f"gen:{j}"
                elif j % 7 == 5:
                    kind, source, body, key = (
                        "alert",
                        "machine",
                        f"Alert: {_words(r, 3)}",
                        f"gen:{j}",
                    )
                else:
                    kind, source, key = "note", "human", ""
                    body = f"{_words(r, 10)}."
                yield (
                    eid,
                    at,
                    kind,
                    body,
                    source,
                    j % 11 == 1,
                    key,
                    False,
                    at,
                    None,
                    people[j % len(people)] if source == "human" else None,
                    x[I_SUSPECT] if kind == "deploy" else None,
                    iid,
                )
                eid += 1

    w.write(
        table(TimelineEntry),
        [
            "id",
            "at",
            "kind",
            "body",
            "source",
            "starred",
            "dedupe_key",
            "is_deleted",
            "created_at",
            "alert_id",
            "author_id",
            "deploy_id",
            "incident_id",
        ],
        rows(),
        total,
    )


def step_alerts(p: Plan, w: Writer) -> None:
    r = p.rng("alerts")
    total = p.sizes["alerts"]
    first = w.next_id(table(Alert))
    link_first = w.next_id(table(IncidentAlert))
    links: list[tuple[int, int, int, datetime]] = []  # (id, alert, incident, at)

    def rows():
        aid = first
        # Half the incidents were opened by an alert (one or two alerts each)...
        for i, x in enumerate(p.inc):
            if aid - first >= total * 0.6:
                break
            if i % 2:
                continue
            for j in range(1 + (r.random() < 0.5)):
                at = p.ts(x[I_T] + 30 * j)
                links.append((link_first + len(links), aid, p.incident_first + i, at))
                ends = p.ts(x[I_RESOLVED]) if x[I_RESOLVED] else None
                yield _alert(r, aid, p.services[x[I_SVC]], at, ends, "critical", f"i{i}")
                aid += 1
        # ...the rest is noise: warnings that opened nothing.
        while aid - first < total:
            s = r.randrange(len(p.services))
            at = p.ts(r.random() * p.span)
            yield _alert(r, aid, p.services[s], at, at + timedelta(minutes=5), "warning", "n")
            aid += 1

    w.write(
        table(Alert),
        [
            "id",
            "source",
            "name",
            "severity",
            "status",
            "labels",
            "summary",
            "url",
            "starts_at",
            "ends_at",
            "dedupe_key",
            "group_key",
            "received_at",
            "service_id",
            "delivery_id",
            "severity_note",
            "outcome",
        ],
        ((*row, "", "") for row in rows()),
        total,
    )
    w.write(
        table(IncidentAlert),
        ["id", "opened", "linked_at", "alert_id", "incident_id"],
        (
            (lid, k == 0 or links[k - 1][2] != inc, at, a, inc)
            for k, (lid, a, inc, at) in enumerate(links)
        ),
        len(links),
    )


def _alert(r, aid, service_id, at, ends, severity, group):
    name = r.choice(("HighErrorRate", "HighLatency", "QueueBacklog", "DiskFull", "PodCrashLoop"))
    return (
        aid,
        "alertmanager" if aid % 4 else "pagerduty",
        name,
        severity,
        "resolved" if ends else "firing",
        json.dumps({"alertname": name, "severity": severity}),
        f"{name} on service {service_id}",
        "",
        at,
        ends,
        f"gen-{aid}",
        f"{group}-{aid // 2}",
        at,
        service_id,
        None,
    )


def step_webhooks(p: Plan, w: Writer) -> None:
    r = p.rng("webhooks")
    total = p.sizes["webhook_deliveries"]
    first = w.next_id(table(WebhookDelivery))
    providers = (("github", "push"), ("github", "deployment_status"), ("gitlab", "Deployment Hook"))
    providers += (("alertmanager", "alert"), ("alertmanager", "alert"), ("pagerduty", "incident"))

    def rows():
        for k in range(total):
            provider, event = providers[k % len(providers)]
            at = p.ts(p.span * (k + r.random()) / total)
            x = r.random()
            status = "processed" if x < 0.97 else "failed" if x < 0.99 else "ignored"
            body = json.dumps(
                {"event": event, "service": p.service_slug[r.randrange(len(p.services))], "n": k}
            ).encode()
            yield (
                first + k,
                provider,
                f"gen-{k}",
                event,
                json.dumps({"content-type": "application/json", "user-agent": provider}),
                body,
                status,
                "Timeout while processing" if status == "failed" else "",
                1,
                at,
                at + timedelta(seconds=1) if status != "failed" else None,
            )

    w.write(
        table(WebhookDelivery),
        [
            "id",
            "provider",
            "key",
            "event",
            "headers",
            "body",
            "status",
            "error",
            "attempts",
            "received_at",
            "processed_at",
        ],
        rows(),
        total,
    )


def _eligible(x) -> bool:
    return x[I_STATUS] in ("resolved", "closed") and x[I_REASON] == "resolved"


def step_whys(p: Plan, w: Writer) -> None:
    r = p.rng("whys")
    total = p.sizes["why_nodes"]
    first = w.next_id(table(WhyNode))
    order = [i for i, x in enumerate(p.inc) if _eligible(x) and x[I_SEV] in ("sev1", "sev2")]
    order.reverse()  # the newest incidents have their whys

    def rows():
        nid = first
        for i in order:
            if nid - first >= total:
                return
            x = p.inc[i]
            iid = p.incident_first + i
            at = p.ts(x[I_RESOLVED] or x[I_T])
            ids: list[int] = []
            branches = 4 if x[I_BIG] else (2 if r.random() < 0.2 else 1)
            for b in range(branches):
                parent = None
                for level in range(1, 6):
                    if nid - first >= total:
                        break
                    if b > 0 and level == 1:
                        parent = ids[0]
                        continue
                    cause = CAUSES[r.randrange(len(CAUSES))]
                    yield (
                        nid,
                        level,
                        f"Why did {'the impact' if level == 1 else 'that'} happen?",
                        f"Because of {cause}; {_words(r, 6)}.",
                        CATEGORIES[r.randrange(len(CATEGORIES))],
                        "[]",
                        "",
                        "",
                        1,
                        False,
                        at,
                        at,
                        x[I_CMD],
                        iid,
                        parent,
                        None,
                    )
                    ids.append(nid)
                    parent = nid
                    nid += 1
            p.why_ids[i] = ids

    w.write(
        table(WhyNode),
        [
            "id",
            "level",
            "question",
            "answer",
            "category",
            "evidence_links",
            "accepted_risk_reason",
            "stop_reason",
            "version",
            "is_deleted",
            "created_at",
            "updated_at",
            "author_id",
            "incident_id",
            "parent_id",
            "updated_by_id",
        ],
        rows(),
        total,
    )


def step_retros(p: Plan, w: Writer) -> list[tuple[int, int, date]]:
    """A retrospective per team per month, four items each. Returns (retro id, team idx, end)."""
    r = p.rng("retros")
    first = w.next_id(table(Retrospective))
    months = max(1, int(p.span // (30 * 86400)))
    retros = []
    for ti in range(len(p.teams)):
        for m in range(months):
            end = (p.start + timedelta(days=30 * (m + 1))).date()
            retros.append((first + len(retros), ti, end))
    w.write(
        table(Retrospective),
        [
            "id",
            "name",
            "sprint_start",
            "sprint_end",
            "summary",
            "published",
            "published_at",
            "is_deleted",
            "created_at",
            "updated_at",
            "created_by_id",
            "facilitator_id",
            "team_id",
        ],
        (
            (
                rid,
                f"Sprint {end:%Y-%m}",
                end - timedelta(days=13),
                end,
                f"We learned: {_words(r, 8)}.",
                True,
                datetime.combine(end, datetime.min.time(), UTC),
                False,
                datetime.combine(end, datetime.min.time(), UTC),
                datetime.combine(end, datetime.min.time(), UTC),
                p.team_manager[ti],
                p.team_manager[ti],
                p.teams[ti],
            )
            for rid, ti, end in retros
        ),
        len(retros),
    )
    item_first = w.next_id(table(RetroItem))
    cols = ("start", "stop", "continue", "learned")
    w.write(
        table(RetroItem),
        ["id", "column", "text", "is_deleted", "created_at", "author_id", "retrospective_id"],
        (
            (
                item_first + 4 * k + j,
                cols[j],
                f"{_words(r, 6)}",
                False,
                datetime.combine(end, datetime.min.time(), UTC),
                p.team_members[ti][j % len(p.team_members[ti])],
                rid,
            )
            for k, (rid, ti, end) in enumerate(retros)
            for j in range(4)
        ),
        4 * len(retros),
    )
    return retros


def step_actions(p: Plan, w: Writer, retros: list[tuple[int, int, date]]) -> None:
    r = p.rng("actions")
    total = p.sizes["action_items"]
    first = w.next_id(table(ActionItem))
    today = p.anchor.date()
    reminders: list[tuple] = []
    targets = [
        i
        for i, x in enumerate(p.inc)
        if x[I_REASON] != "false_alarm" and x[I_REASON] != "duplicate"
    ]
    n_retro = min(len(retros), total // 50)
    per_incident = total - n_retro - sum(len(v) for v in p.why_ids.values())
    per_incident = max(0, per_incident)
    prio = {"sev1": "p1", "sev2": "p1", "sev3": "p2", "sev4": "p3"}

    def item(aid, title, incident_id, why_id, retro_id, team_i, owner, created, due, sev, creator):
        late = (today - due).days
        x = r.random()
        if late > 30:
            status = (
                "done"
                if x < 0.88
                else "wont_do"
                if x < 0.94
                else "open"
                if x < 0.98
                else "in_progress"
            )
        elif late > 0:
            status = "done" if x < 0.5 else "open" if x < 0.8 else "in_progress"
        else:
            status = "done" if x < 0.25 else "open" if x < 0.75 else "in_progress"
        closed = None
        if status in ("done", "wont_do"):
            closed = min(
                p.anchor,
                datetime.combine(due, datetime.min.time(), UTC)
                + timedelta(days=r.randint(-10, 20)),
            )
            closed = max(closed, created)
        elif late >= 0:
            manager = p.team_manager[team_i]
            kinds = [("due", owner)]
            if late >= 7:
                kinds.append(("escalated", manager))
            if late >= 14:
                kinds.append(("flagged", owner))
            for kind, recipient in kinds:
                sent = p.anchor - timedelta(
                    days=max(
                        0, late - (7 if kind == "escalated" else 14 if kind == "flagged" else 0)
                    )
                )
                reminders.append((kind, due.isoformat(), sent, sent, 1, aid, recipient))
        est = Decimal(r.choice((2, 4, 8, 16, 24, 40)))
        return (
            aid,
            title,
            f"{_words(r, 15)}.",
            due,
            prio.get(sev, "p2"),
            r.choice(("prevent", "prevent", "detect", "mitigate", "process")),
            est,
            est if status == "done" else None,
            "",
            status,
            "Verified in production." if status == "done" else "",
            "Superseded by a redesign." if status == "wont_do" else "",
            closed,
            False,
            created,
            closed or created,
            owner if closed else None,
            creator,
            owner,
            p.teams[team_i],
            incident_id,
            why_id,
            retro_id,
        )

    def rows():
        aid = first
        for k, i in enumerate(targets):
            x = p.inc[i]
            iid = p.incident_first + i
            members = p.team_members[x[I_TEAM]]
            created = p.ts((x[I_RESOLVED] or x[I_T]) + 3600)
            m = _spread(per_incident, len(targets), k)
            whys = p.why_ids.get(i, [])
            for j in range(m + len(whys)):
                owner = members[r.randrange(len(members))]
                due = (created + timedelta(days=r.randint(5, 60))).date()
                why = whys[j] if j < len(whys) else None
                title = (
                    f"{r.choice(('Add', 'Fix', 'Document', 'Alert on', 'Automate'))} {_words(r, 4)}"
                )
                yield item(
                    aid, title, iid, why, None, x[I_TEAM], owner, created, due, x[I_SEV], x[I_CMD]
                )
                aid += 1
        for rid, ti, end in retros[:n_retro]:
            members = p.team_members[ti]
            created = datetime.combine(end, datetime.min.time(), UTC)
            due = end + timedelta(days=21)
            owner = members[r.randrange(len(members))]
            yield item(
                aid,
                f"Retro: {_words(r, 4)}",
                None,
                None,
                rid,
                ti,
                owner,
                created,
                due,
                "sev3",
                owner,
            )
            aid += 1

    w.write(
        table(ActionItem),
        [
            "id",
            "title",
            "description",
            "due_on",
            "priority",
            "type",
            "estimated_hours",
            "actual_hours",
            "ticket_url",
            "status",
            "verification_note",
            "wont_do_reason",
            "closed_at",
            "is_deleted",
            "created_at",
            "updated_at",
            "closed_by_id",
            "created_by_id",
            "owner_id",
            "team_id",
            "incident_id",
            "why_node_id",
            "retrospective_id",
        ],
        rows(),
        total,
    )
    rem = w.next_id(table(ReminderSent))
    w.write(
        table(ReminderSent),
        [
            "id",
            "kind",
            "period",
            "created_at",
            "sent_at",
            "attempts",
            "action_item_id",
            "recipient_id",
        ],
        ((rem + k, *row) for k, row in enumerate(reminders)),
        len(reminders),
    )


def _markdown(r: random.Random, title: str, x, service: str) -> tuple[str, str, str]:
    cause = CAUSES[r.randrange(len(CAUSES))]
    summary = f"{service} failed for customers because of {cause}. {_words(r, 20)}."
    lessons = f"{_words(r, 25)}."
    parts = [
        ("Summary", summary),
        ("Impact", f"About {r.randrange(1, 40)}% of requests failed. {_words(r, 25)}."),
        ("Timeline", "\n".join(f"- {_words(r, 8)}" for _ in range(6))),
        ("Suspect deploys", f"{_words(r, 15)}."),
        ("Why it happened", "\n".join(f"{k}. Because of {_words(r, 8)}" for k in range(1, 6))),
        ("Action items", "\n".join(f"- [ ] {_words(r, 6)}" for _ in range(4))),
        ("What went well", f"{_words(r, 20)}."),
        ("What went poorly", f"{_words(r, 20)}."),
        ("Lessons", lessons),
    ]
    md = f"# {title}\n\n" + "\n\n".join(f"## {h}\n\n{body}" for h, body in parts)
    body_html = []
    for h, body in parts:
        body_html.append(f"<h2>{html.escape(h)}</h2>")
        lines = body.splitlines()
        if len(lines) > 1:
            body_html.append(
                "<ul>" + "".join(f"<li>{html.escape(ln)}</li>" for ln in lines) + "</ul>"
            )
        else:
            body_html.append(f"<p>{html.escape(body)}</p>")
    return md, "\n".join(body_html), f"{summary}\n\n{lessons}"


def step_postmortems(p: Plan, w: Writer) -> None:
    r = p.rng("postmortems")
    total = p.sizes["postmortems"]
    with_whys = list(p.why_ids)
    others = [i for i, x in enumerate(p.inc) if _eligible(x) and i not in p.why_ids]
    r.shuffle(others)
    chosen = sorted((with_whys + others)[:total])
    p.published = chosen
    drafts = [i for i, x in enumerate(p.inc) if x[I_STATUS] in ("resolved", "mitigated")][
        -max(1, total // 10) :
    ]
    drafts = [i for i in drafts if i not in set(chosen)]
    pm_first = w.next_id(table(Postmortem))
    v_first = w.next_id(table(PostmortemVersion))
    versions: list[int] = []  # how many versions per published postmortem
    for _ in chosen:
        versions.append(2 if r.random() < 0.1 else 1)
    latest = []
    vid = v_first
    for nv in versions:
        vid += nv
        latest.append(vid - 1)
    sections = json.dumps({"summary": "See the published version.", "lessons": ""})

    def pms():
        for k, i in enumerate(chosen):
            x = p.inc[i]
            at = p.ts(x[I_RESOLVED]) + timedelta(days=3)
            yield (
                pm_first + k,
                f"Postmortem: {p.service_slug[x[I_SVC]]} {SYMPTOMS[i % len(SYMPTOMS)]}",
                "published",
                sections,
                "[]",
                versions[k],
                at - timedelta(days=1),
                "",
                p.ts(x[I_RESOLVED]),
                at,
                x[I_CMD],
                p.incident_first + i,
                x[I_CMD],
                latest[k],
            )
        for k, i in enumerate(drafts):
            x = p.inc[i]
            at = p.ts(x[I_RESOLVED] or x[I_T])
            yield (
                pm_first + len(chosen) + k,
                f"Postmortem: {p.service_slug[x[I_SVC]]}",
                "in_review" if k % 3 == 0 else "draft",
                sections,
                "[]",
                1,
                at if k % 3 == 0 else None,
                "",
                at,
                at,
                x[I_CMD],
                p.incident_first + i,
                x[I_CMD] if k % 3 == 0 else None,
                None,
            )

    w.write(
        table(Postmortem),
        [
            "id",
            "title",
            "status",
            "sections",
            "edited_sections",
            "round",
            "submitted_at",
            "blameless_override_reason",
            "created_at",
            "updated_at",
            "created_by_id",
            "incident_id",
            "submitted_by_id",
            "latest_version_id",
            "version",
        ],
        ((*row, 1) for row in pms()),
        len(chosen) + len(drafts),
    )

    def vers():
        vid = v_first
        for k, i in enumerate(chosen):
            x = p.inc[i]
            title = f"Postmortem: {p.service_slug[x[I_SVC]]} {SYMPTOMS[i % len(SYMPTOMS)]}"
            md, body, summary = _markdown(r, title, x, p.service_slug[x[I_SVC]])
            for number in range(1, versions[k] + 1):
                at = p.ts(x[I_RESOLVED]) + timedelta(days=3 * number)
                yield (vid, number, title, md, body, summary, at, None, pm_first + k, x[I_CMD])
                vid += 1

    w.write(
        table(PostmortemVersion),
        [
            "id",
            "number",
            "title",
            "markdown",
            "html",
            "summary_text",
            "published_at",
            "search_vector",
            "postmortem_id",
            "published_by_id",
        ],
        vers(),
        sum(versions),
    )
    ev = w.next_id(table(PostmortemEvent))
    kinds = ("created", "submitted", "approved", "published")

    def events():
        eid = ev
        for k, i in enumerate(chosen):
            x = p.inc[i]
            at = p.ts(x[I_RESOLVED])
            for j, kind in enumerate(kinds):
                yield (eid, kind, 1, at + timedelta(days=j), "", x[I_CMD], pm_first + k)
                eid += 1

    w.write(
        table(PostmortemEvent),
        ["id", "kind", "round", "at", "comment", "by_id", "postmortem_id"],
        events(),
        4 * len(chosen),
    )
    rv = w.next_id(m2m_table(Postmortem, "reviewers"))
    rows = []
    for k, i in enumerate(chosen):
        x = p.inc[i]
        people = list(dict.fromkeys((x[I_REP], *x[I_RESP])))  # reviewers are its people already
        rows.extend((pm_first + k, u) for u in people[:2])
    w.write(
        m2m_table(Postmortem, "reviewers"),
        ["id", "postmortem_id", "user_id"],
        ((rv + k, a, b) for k, (a, b) in enumerate(rows)),
        len(rows),
    )
    sv = w.next_id(table(SuspectVerdict))
    rows = [(i, p.inc[i]) for i in chosen if p.inc[i][I_SUSPECT]]
    w.write(
        table(SuspectVerdict),
        ["id", "verdict", "note", "at", "by_id", "deploy_id", "incident_id"],
        (
            (
                sv + k,
                "culprit" if k % 2 == 0 else "ruled_out",
                "",
                p.ts(x[I_RESOLVED]),
                x[I_CMD],
                x[I_SUSPECT],
                p.incident_first + i,
            )
            for k, (i, x) in enumerate(rows)
        ),
        len(rows),
    )
    if w.is_pg:
        started = time.monotonic()
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {table(PostmortemVersion)} SET search_vector = "  # noqa: S608
                "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || "
                "setweight(to_tsvector('english'::regconfig, COALESCE(summary_text, '')), 'B') || "
                "setweight(to_tsvector('english'::regconfig, COALESCE(markdown, '')), 'C') "
                "WHERE search_vector IS NULL AND id >= %s",
                [v_first],
            )
        w.progress.write(f"  search vectors in {time.monotonic() - started:.1f}s")


def step_metrics(p: Plan, w: Writer) -> None:
    r = p.rng("metrics")
    total = p.sizes["metric_points"]
    first = w.next_id(table(MetricSeries))
    series = [
        ("revenue", "Revenue", "business", "$", "sum", None),
        ("registrations", "Registrations", "business", "sign-ups", "sum", None),
        ("logins", "Logins", "business", "logins", "sum", None),
        ("checkouts", "Checkouts", "business", "orders", "sum", None),
    ]
    for s in range(min(12, len(p.services))):
        slug = p.service_slug[s]
        series.append(
            (f"{slug}-error-rate", f"{slug} error rate", "system", "%", "mean", p.services[s])
        )
    w.write(
        table(MetricSeries),
        ["id", "name", "label", "kind", "unit", "aggregation", "created_at", "service_id"],
        (
            (first + k, name, label, kind, unit, agg, p.start, svc)
            for k, (name, label, kind, unit, agg, svc) in enumerate(series)
        ),
        len(series),
    )
    pt_first = w.next_id(table(MetricPoint))

    def rows():
        pid = pt_first
        for k, (_name, _l, kind, _u, _a, _s) in enumerate(series):
            m = _spread(total, len(series), k)
            step = p.span / max(m, 1)
            base = 1000.0 * (k + 1)
            for j in range(m):
                t = p.span - step * (m - j)
                day = math.sin(2 * math.pi * (t % 86400) / 86400)
                value = (
                    base * (1 + 0.3 * day) * (0.9 + 0.2 * r.random())
                    if kind == "business"
                    else 0.5 + r.random()
                )
                yield (pid, p.ts(t).replace(microsecond=0), round(value, 2), first + k)
                pid += 1

    w.write(table(MetricPoint), ["id", "ts", "value", "series_id"], rows(), total)


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
        from ..services.reviews import build_weekly_review

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
