"""`manage.py benchmark --scale`: the product served for real, measured against its floor.

1. Picks who and what: an employee (not a superuser, not a manager; the person of the most
   incidents, so restricted ones count) and a manager (of the team with the most open action
   items), and the pages of issue 15's table.
2. In-process pass: each page once as its user with every query captured: the status, the
   queries per request, and EXPLAIN (ANALYZE, BUFFERS) of the slowest query (PostgreSQL).
3. Serves the product with gunicorn (2 sync workers, DEBUG off, a SECRET_KEY, collected static
   files, CONN_MAX_AGE as settings say) in a subprocess on loopback, with `server_settings`,
   which adds only the floor view: a trivial signed-in page through the same middleware.
4. Loads each page from this process with a fixed small concurrency, in bursts interleaved with
   bursts of the floor, bounded by a request count and a time budget per page: rps, p50/p95 and
   the ratio to the floor measured alongside.
5. Background work: the steady reminder scan and `build_weekly_review`, timed in-process inside
   a transaction that is rolled back.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Q
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from metrics_link.models import Commit, Deploy, Team

from ..models import ActionItem, Incident, WeeklyReview
from ..services.accounts import get_feed_token
from ..services.reminders import scan_reminders
from ..services.reviews import build_weekly_review, default_week

SEARCHES = ("database timeout", "deploy rollback", "login")


@dataclass
class Page:
    label: str
    role: str  # "employee" | "manager"
    path: str
    # filled by the in-process pass
    status: int = 0
    queries: int = 0
    bytes: int = 0
    slowest_ms: float = 0.0
    slowest_sql: str = ""
    explain: str = ""
    inprocess_ms: float = 0.0
    # filled by the load
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    floor_latencies: list[float] = field(default_factory=list)
    floor_wall: float = 0.0
    errors: int = 0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    @property
    def floor_rps(self) -> float:
        return len(self.floor_latencies) / self.floor_wall if self.floor_wall else 0.0

    @property
    def ratio(self) -> float:
        return self.rps / self.floor_rps if self.floor_rps else 0.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * q))]


def choose_people():
    User = get_user_model()
    base = User.objects.filter(is_active=True, is_superuser=False)
    employee = (
        base.filter(managed_teams__isnull=True)
        .annotate(n=Count("responded_incidents", distinct=True))
        .order_by("-n", "pk")
        .first()
    )
    team = (
        Team.objects.filter(manager__is_superuser=False, manager__is_active=True)
        .annotate(
            n=Count(
                "action_items",
                filter=Q(action_items__status__in=("open", "in_progress")),
            )
        )
        .order_by("-n", "pk")
        .first()
    )
    if employee is None or team is None:
        raise LookupError("No non-superuser employee or managed team: load data first.")
    return employee, team.manager, team


def choose_pages(employee, manager, team) -> list[Page]:
    visible = Incident.objects.visible_to(employee)
    public = visible.filter(visibility=Incident.Visibility.PUBLIC)
    big = public.annotate(n=Count("timeline")).order_by("-n", "pk").values_list("pk", flat=True)[:1]
    big_pk = big[0] if big else None
    closed = public.filter(status__in=("resolved", "closed"), postmortem__status="published")
    n_closed = closed.count()
    typical_pk = (
        closed.order_by("pk").values_list("pk", flat=True)[n_closed // 2] if n_closed else big_pk
    )
    published = (
        public.filter(postmortem__status="published")
        .order_by("-postmortem__latest_version__published_at")
        .values_list("pk", flat=True)
        .first()
    )
    n_visible = visible.count()
    last_page = max(1, (n_visible + 24) // 25)
    review = WeeklyReview.objects.filter(published=True).order_by("-week_start").first()
    token = get_feed_token(user=employee).token
    pages = [
        Page("incident page (big)", "employee", f"/incidents/{big_pk}/"),
        Page("incident page (typical)", "employee", f"/incidents/{typical_pk}/"),
        Page("home", "employee", "/"),
        Page("home (manager)", "manager", "/"),
        Page("team's action items (manager)", "manager", f"/actions/teams/{team.slug}/"),
        Page("GET /api/action-items/", "employee", "/api/action-items/"),
        Page("GET /api/action-items/ (manager)", "manager", "/api/action-items/"),
        Page("postmortem library", "employee", "/postmortems/"),
        Page("published postmortem", "employee", f"/postmortems/{published}/"),
    ]
    for q in SEARCHES:
        pages.append(Page(f"search '{q}'", "employee", f"/postmortems/?q={q.replace(' ', '+')}"))
    pages += [
        Page("Atom feed", "employee", f"/feeds/{token}/postmortems.atom"),
        Page("incident list page 1", "employee", "/incidents/"),
        # the oldest page as its "Oldest »" link reaches it (keyset; ?page=N reads an OFFSET)
        Page(f"incident list page {last_page} (last)", "employee", "/incidents/?last=1"),
        Page("GET /api/deploys/", "employee", "/api/deploys/"),
        Page(
            "GET /api/incidents/{id}/suspects/",
            "employee",
            f"/api/incidents/{typical_pk}/suspects/",
        ),
    ]
    if review:
        pages.append(Page("weekly review page", "employee", f"/reviews/{review.iso_week}/"))
    return pages


def inprocess_pass(
    pages: list[Page], users: dict, write: Callable[[str], None], explain: bool
) -> None:
    """Each page once, in-process, every query captured; EXPLAIN ANALYZE the slowest."""
    clients = {}
    for role, user in users.items():
        c = Client()
        c.force_login(user)
        clients[role] = c
    with override_settings(ALLOWED_HOSTS=["*"]):
        for page in pages:
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = clients[page.role].get(page.path)
                page.inprocess_ms = (time.perf_counter() - started) * 1000
            page.status = response.status_code
            page.bytes = len(response.content)
            page.queries = len(ctx.captured_queries)
            if ctx.captured_queries:
                slowest = max(ctx.captured_queries, key=lambda q: float(q["time"]))
                page.slowest_ms = float(slowest["time"]) * 1000
                page.slowest_sql = slowest["sql"]
                if (
                    explain
                    and connection.vendor == "postgresql"
                    and slowest["sql"].lstrip().upper().startswith("SELECT")
                ):
                    with connection.cursor() as cur:
                        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
                        page.explain = "\n".join(row[0] for row in cur.fetchall())
            write(
                f"  in-process  {page.label:<40} {page.status}  {page.queries:>3} queries  "
                f"{page.inprocess_ms:8.1f} ms  slowest query {page.slowest_ms:8.1f} ms  {page.bytes:>9,} bytes"
            )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn, 2 sync workers, DEBUG off, on loopback, with the floor view added."""

    def __init__(self, write: Callable[[str], None], workers: int = 2):
        self.write = write
        self.workers = workers
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives as long as the server)
            prefix="bench-gunicorn-", suffix=".log", delete=False
        )

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="postmortems.scale.server_settings",
            DEBUG="off",
            # The same key as this process: the sessions signed in here must hold there.
            SECRET_KEY=settings.SECRET_KEY,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            LOG_LEVEL="WARNING",
            # Plain HTTP on loopback: without it DEBUG off answers every request with a 301 to
            # https (SECURE_SSL_REDIRECT) and the benchmark would time redirects.
            INSECURE_HTTP="on",
        )
        env.pop("CELERY_BROKER_URL", None)  # pages only read; nothing to enqueue
        return env

    def __enter__(self) -> Server:
        root = Path(settings.BASE_DIR)
        t0 = time.monotonic()
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=root,
            env=self.env(),
            check=True,
        )
        self.write(f"  collectstatic in {time.monotonic() - t0:.1f}s")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.proc = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
            [
                str(gunicorn),
                "postmortems.config.wsgi",
                "-w",
                str(self.workers),
                "-k",
                "sync",
                "-b",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=root,
            env=self.env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _, _ = request(self.port, "/healthz", "")
                if status in (200, 503):
                    self.write(
                        f"  gunicorn up on 127.0.0.1:{self.port} ({self.workers} sync workers, DEBUG off)"
                    )
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gunicorn did not start; see {self.log.name}")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def request(port: int, path: str, cookie: str) -> tuple[int, int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = {"Host": "127.0.0.1", "Cookie": cookie} if cookie else {"Host": "127.0.0.1"}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        return response.status, len(body), (time.perf_counter() - started) * 1000
    finally:
        conn.close()


def session_cookie(user) -> str:
    c = Client()
    c.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={c.cookies[settings.SESSION_COOKIE_NAME].value}"


def load(
    port: int,
    pages: list[Page],
    cookies: dict[str, str],
    *,
    requests: int,
    concurrency: int,
    budget: float,
    write: Callable[[str], None],
) -> None:
    """Bursts of `concurrency * 2` requests: page, floor, page, floor… until `requests` page
    requests or `budget` seconds (at least one burst) per page. Loopback only, bounded."""
    burst = concurrency * 2
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:

        def run(path: str, cookie: str, n: int) -> tuple[list[float], float, int]:
            started = time.perf_counter()
            results = list(pool.map(lambda _: request(port, path, cookie), range(n)))
            wall = time.perf_counter() - started
            errors = sum(1 for status, _, _ in results if status != 200)
            return [ms for _, _, ms in results], wall, errors

        for page in pages:
            cookie = cookies[page.role]
            # warm-up: one of each (worker start-up, first connection); a page that does not
            # answer 200 is said so, not measured silently as if it did
            for path in (page.path, "/__floor__/"):
                status, _, _ = request(port, path, cookie)
                if status != 200:
                    write(f"  WARNING     {path} answered {status} when served, not 200")
            started = time.monotonic()
            while len(page.latencies) < requests:
                lat, wall, err = run(page.path, cookie, min(burst, requests - len(page.latencies)))
                with lock:
                    page.latencies += lat
                    page.wall += wall
                    page.errors += err
                lat, wall, err = run("/__floor__/", cookie, burst)
                page.floor_latencies += lat
                page.floor_wall += wall
                page.errors += err
                if time.monotonic() - started > budget:
                    break
            write(
                f"  served      {page.label:<40} {len(page.latencies):>4} req  {page.rps:8.1f} rps  "
                f"p50 {_pct(page.latencies, 0.5):8.1f} ms  p95 {_pct(page.latencies, 0.95):8.1f} ms  "
                f"floor {page.floor_rps:7.1f} rps  ratio {page.ratio:6.3f}"
                + (f"  ERRORS {page.errors}" if page.errors else "")
            )


class _Rollback(Exception):
    pass


def background(write: Callable[[str], None]) -> dict[str, float]:
    """The reminder scan (first and steady) and the weekly review rebuild, rolled back."""
    timings: dict[str, float] = {}
    try:
        with transaction.atomic():
            t0 = time.perf_counter()
            first = scan_reminders(enqueue=False)
            timings["reminder scan (first in this run)"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            steady = scan_reminders(enqueue=False)
            timings["reminder scan (steady state)"] = time.perf_counter() - t0
            write(f"  reminder scan: first {first.summary()}; steady {steady.summary()}")
            t0 = time.perf_counter()
            build_weekly_review(week=default_week(), rebuild=True, publish=False, mail=False)
            timings["build_weekly_review (rebuild)"] = time.perf_counter() - t0
            raise _Rollback
    except _Rollback:
        pass
    for label, seconds in timings.items():
        write(f"  background  {label:<40} {seconds:8.3f} s")
    return timings


def database_size() -> str:
    parts = [
        f"incidents {Incident.objects.count():,}",
        f"action items {ActionItem.objects.count():,}",
    ]
    parts += [f"deploys {Deploy.objects.count():,}", f"commits {Commit.objects.count():,}"]
    return ", ".join(parts)


def run(
    *,
    requests: int,
    concurrency: int,
    budget: float,
    explain: bool,
    only: list[str] | None,
    write: Callable[[str], None],
) -> list[Page]:
    started = time.monotonic()
    write(
        f"Database: {connection.vendor} {connection.settings_dict.get('NAME')}: {database_size()}"
    )
    employee, manager, team = choose_people()
    write(
        f"Employee: {employee.username} (not a superuser, not a manager); manager: {manager.username} of {team.slug}"
    )
    pages = choose_pages(employee, manager, team)
    if only:
        pages = [p for p in pages if any(o.lower() in p.label.lower() for o in only)]
    pages.insert(0, Page("floor (trivial signed-in view)", "employee", "/__floor__/"))
    users = {"employee": employee, "manager": manager}
    write("[1/4] in-process pass (queries, slowest query, EXPLAIN ANALYZE)")
    with override_settings(ROOT_URLCONF="postmortems.scale.floor_urls"):
        inprocess_pass(pages, users, write, explain)
    write("[2/4] serving with gunicorn")
    cookies = {role: session_cookie(user) for role, user in users.items()}
    with Server(write) as server:
        write(
            f"[3/4] load: up to {requests} requests per page, concurrency {concurrency}, {budget:.0f}s budget per page, interleaved with the floor"
        )
        load(
            server.port,
            pages,
            cookies,
            requests=requests,
            concurrency=concurrency,
            budget=budget,
            write=write,
        )
    write("[4/4] background work (in-process, rolled back)")
    timings = background(write)
    report(pages, timings, write)
    write(f"Benchmark took {timedelta(seconds=round(time.monotonic() - started))}.")
    return pages


def report(pages: list[Page], timings: dict[str, float], write: Callable[[str], None]) -> None:
    floor_all = [p.floor_rps for p in pages if p.floor_rps]
    write("")
    write(
        f"Floor (median over the run): {statistics.median(floor_all) if floor_all else 0:.0f} rps"
    )
    write("")
    write(
        "| page | rps | p50 ms | p95 ms | floor rps | ratio | queries | bytes | slowest query ms |"
    )
    write("|---|---|---|---|---|---|---|---|---|")
    for p in pages:
        write(
            f"| {p.label} | {p.rps:.1f} | {_pct(p.latencies, 0.5):.1f} | {_pct(p.latencies, 0.95):.1f} | "
            f"{p.floor_rps:.0f} | {p.ratio:.3f} | {p.queries} | {p.bytes:,} | {p.slowest_ms:.1f} |"
            + (f" status {p.status}, {p.errors} errors" if p.status != 200 or p.errors else "")
        )
    for label, seconds in timings.items():
        write(f"| {label} | | {seconds * 1000:.0f} | | | | | | |")
    write("")
    write("EXPLAIN (ANALYZE, BUFFERS) of the slowest query of each page")
    for p in pages:
        if not p.explain:
            continue
        write("")
        write(f"--- {p.label}: {p.path} — {p.slowest_ms:.1f} ms of {p.queries} queries")
        write(p.slowest_sql[:4000])
        write(p.explain)
