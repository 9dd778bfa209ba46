"""Demo data step: deploys and commits (see seed_demo). Idempotent.

Tens of deploys a day across the services over the last 90 days and a sparser year before, with
commits, a few failed and rolled-back deploys, and the login outage's culprit: profile-web v2.41.0
shipped the "recently viewed" panel and finished as the outage started; it ranks first. The day
before, checkout's marginal deploy (revenue dips a little) finishes with no other deploy near it.
The immune system judges them all in the "verdicts" step (postmortems/demo/immune.py).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from metrics_link.demo.story import (
    CULPRIT_SERVICE,
    CULPRIT_VERSION,
    LOGIN_OUTAGE_TITLE,
    MARGINAL_QUIET,
    MARGINAL_SERVICE,
    login_outage_window,
    marginal_deploy_at,
)
from metrics_link.models import Commit, Deploy, DeployCommit, Service

from ..models import Incident
from ..selectors.suspects import ranked_suspects
from ..services.suspects import add_window_deploys_to_timeline, mark_no_deploy_involved, set_verdict

MARKER = "demo-"

AUTHORS = [
    "Maria Lopez",
    "Ned Okafor",
    "Alice Chen",
    "Priya Natarajan",
    "Bob Schmidt",
    "Kenji Watanabe",
    "Sara Haddad",
    "Tom Becker",
    "Lena Novak",
    "Omar Farouk",
    "Julia Rossi",
    "Dev Patel",
]
DEPLOYERS = ["ci-bot", "ci-bot", "ci-bot", "maria", "ned", "bob", "tom", "julia", "dev", "kenji"]
VERBS = ["Fix", "Add", "Refactor", "Bump", "Remove", "Improve", "Tune", "Log", "Handle", "Speed up"]
THINGS = [
    "retry on timeout",
    "pagination in list endpoint",
    "metrics for slow requests",
    "feature flag for new layout",
    "null check in serializer",
    "dependency versions",
    "cache headers",
    "error message wording",
    "connection pool size",
    "unused settings",
    "validation of email field",
    "index on created_at",
    "flaky test",
    "structured logging",
    "rate limiter thresholds",
    "translations",
]
CULPRIT_COMMITS = [
    "Add recently viewed panel to the profile page",
    "Query recently viewed items on every profile render",
    "Read recently viewed from the master database (replica lag was visible)",
    "Show up to 20 recently viewed items",
    "Add RecentlyViewed model and migration",
    "Track profile views in middleware",
    "Style recently viewed panel",
    "Add tests for recently viewed ordering",
    "Copy edits on profile header",
    "Bump frontend bundle",
]


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


class _Builder:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.seq: dict[str, int] = {}
        self.commits: list[Commit] = []
        self.deploys: list[Deploy] = []
        self.links: list[tuple[int, list[int]]] = []  # deploy index → commit indexes

    def add(self, *, service, at, messages=None, n=None, **fields) -> int:
        rng = self.rng
        repo = (service.repositories or [f"acme/{service.slug}"])[0]
        messages = messages or [
            f"{rng.choice(VERBS)} {rng.choice(THINGS)}" for _ in range(n or rng.randint(1, 6))
        ]
        indexes = []
        for i, message in enumerate(messages):
            self.seq[repo] = self.seq.get(repo, 0) + 1
            sha = _sha(rng)
            committed = at - timedelta(minutes=30 + 17 * (len(messages) - i) + rng.randint(0, 90))
            self.commits.append(
                Commit(
                    repository=repo,
                    sha=sha,
                    author=rng.choice(AUTHORS),
                    message=message,
                    committed_at=committed,
                    url=f"https://github.com/{repo}/commit/{sha}",
                    push_seq=self.seq[repo],
                )
            )
            indexes.append(len(self.commits) - 1)
        sha = self.commits[indexes[-1]].sha
        index = len(self.deploys)
        fields.setdefault("environment", "production")
        fields.setdefault("status", Deploy.Status.SUCCESS)
        fields.setdefault("deployer", rng.choice(DEPLOYERS))
        fields.setdefault("version", "")
        self.deploys.append(
            Deploy(
                service=service,
                repository=repo,
                sha=sha,
                started_at=at - timedelta(minutes=rng.randint(2, 9)),
                finished_at=at,
                provider=Deploy.Provider.GITHUB,
                external_id=f"{MARKER}{index}",
                url=f"https://github.com/{repo}/actions/runs/{9_000_000 + index}",
                **fields,
            )
        )
        self.links.append((index, indexes))
        return index

    def _number_versions(self, order: list[int]) -> None:
        """Semantic versions per service in time order; profile-web lands on v2.41.0 for the culprit."""
        per_service: dict[int, list[Deploy]] = {}
        for i in order:
            per_service.setdefault(self.deploys[i].service_id, []).append(self.deploys[i])
        for deploys in per_service.values():
            anchor = next((k for k, d in enumerate(deploys) if d.version == CULPRIT_VERSION), None)
            for k, deploy in enumerate(deploys):
                if deploy.version:
                    continue
                if anchor is None:
                    deploy.version = f"v1.{k // 7}.{k % 7}"
                elif k < anchor:  # ... v2.39.3, v2.40.0 … v2.40.3, then the culprit v2.41.0
                    back = anchor - k - 1
                    deploy.version = f"v2.{40 - back // 4}.{3 - back % 4}"
                else:
                    ahead = k - anchor
                    deploy.version = f"v2.{41 + ahead // 6}.{ahead % 6}"

    def save(self) -> None:
        # push_seq must follow time per repository: number commits by deploy time.
        order = sorted(range(len(self.deploys)), key=lambda i: self.deploys[i].finished_at)
        seq: dict[str, int] = {}
        for i in order:
            for c in self.links[i][1]:
                commit = self.commits[c]
                seq[commit.repository] = seq.get(commit.repository, 0) + 1
                commit.push_seq = seq[commit.repository]
        self._number_versions(order)
        Commit.objects.bulk_create(self.commits, batch_size=1000)
        Deploy.objects.bulk_create(self.deploys, batch_size=500)
        DeployCommit.objects.bulk_create(
            [
                DeployCommit(deploy=self.deploys[d], commit=self.commits[c], position=pos)
                for d, cs in self.links
                for pos, c in enumerate(cs)
            ],
            batch_size=2000,
        )


@transaction.atomic
def run(ctx, progress) -> None:
    if Deploy.objects.filter(external_id__startswith=MARKER).exists():
        progress("already seeded")
        return
    rng = random.Random(ctx.seed + 3)
    services = {s.slug: s for s in Service.objects.all()}
    if CULPRIT_SERVICE not in services:
        progress("no catalog: skipped")
        return
    start, _detected, _mitigated, _resolved = login_outage_window(ctx.now)
    login = Incident.objects.filter(title=LOGIN_OUTAGE_TITLE).first()
    login_services = {s.slug for s in login.services.all()} if login else set()
    quiet_from, quiet_to = start - timedelta(hours=3), start + timedelta(minutes=30)
    own_quiet_from = start - timedelta(hours=26)
    marginal_at = marginal_deploy_at(ctx.now)

    b = _Builder(rng)
    slugs = sorted(services)
    weights = [6 if s in ("profile-web", "checkout", "search", "feed") else 3 for s in slugs]
    for day in range(395, -1, -1):
        per_day = rng.randint(18, 34) if day < 90 else rng.randint(1, 5)
        date = ctx.now - timedelta(days=day)
        if date.weekday() >= 5:
            per_day //= 4
        for _ in range(per_day):
            at = date.replace(
                hour=rng.randint(7, 18), minute=rng.randint(0, 59), second=rng.randint(0, 59)
            )
            if at > ctx.now - timedelta(minutes=10):
                continue
            slug = rng.choices(slugs, weights)[0]
            if quiet_from <= at <= quiet_to:
                continue  # the story: nothing else shipped just before the login outage
            if abs(at - marginal_at) <= MARGINAL_QUIET:
                continue
            if slug in login_services and own_quiet_from <= at <= quiet_to:
                continue
            roll = rng.random()
            status = (
                Deploy.Status.FAILED
                if roll < 0.04
                else Deploy.Status.ROLLED_BACK
                if roll < 0.06
                else Deploy.Status.SUCCESS
            )
            env = "staging" if rng.random() < 0.2 else "production"
            b.add(service=services[slug], at=at, status=status, environment=env)

    # The culprit: many commits, finished as the outage started, rolled back (a revert deploy)
    # during it.
    culprit_messages = CULPRIT_COMMITS + [
        f"{rng.choice(VERBS)} {rng.choice(THINGS)}" for _ in range(14)
    ]
    culprit = b.add(
        service=services[CULPRIT_SERVICE],
        at=start,
        messages=culprit_messages,
        version=CULPRIT_VERSION,
        deployer="julia",
    )
    b.add(
        service=services[MARGINAL_SERVICE],
        at=marginal_at,
        messages=["Show the order summary in the new layout", "Move promo-code field below"],
        deployer="tom",
    )
    b.add(
        service=services[CULPRIT_SERVICE],
        at=start + timedelta(minutes=38),
        messages=["Revert: recently viewed panel (roll back to v2.40.3)"],
        version="v2.40.3",
        deployer="bob",
    )
    b.save()
    culprit_deploy = b.deploys[culprit]

    verdicts = 0
    if login:
        add_window_deploys_to_timeline(login.pk)
        demo = get_user_model().objects.filter(username="demo").first()
        bob = get_user_model().objects.filter(username="bob").first()
        set_verdict(
            incident=login,
            deploy=culprit_deploy,
            verdict="culprit",
            by=demo,
            note="The recently viewed query ran on the master with no cache.",
            at=start + timedelta(minutes=27),
        )
        verdicts += 1
        for suspect in ranked_suspects(login)[1:3]:
            set_verdict(
                incident=login,
                deploy=suspect.deploy,
                verdict="ruled_out",
                by=bob,
                note="Unrelated change; no database access.",
                at=start + timedelta(minutes=20),
            )
            verdicts += 1
    # A few past incidents with verdicts, and two where no deploy was involved.
    others = list(
        Incident.objects.exclude(title=LOGIN_OUTAGE_TITLE)
        .alive()
        .filter(visibility="public")
        .order_by("-started_at")[:12]
    )
    for i, incident in enumerate(others):
        suspects = ranked_suspects(incident)
        if i in (2, 7) or not suspects:
            mark_no_deploy_involved(incident=incident, by=incident.commander)
            continue
        if i % 3 == 0:
            set_verdict(
                incident=incident,
                deploy=suspects[0].deploy,
                verdict="contributing" if i % 2 else "culprit",
                by=incident.commander,
                at=incident.detected_at or incident.started_at,
            )
            verdicts += 1
    progress(
        f"{len(b.deploys)} deploys, {len(b.commits)} commits, {verdicts} verdicts "
        f"(culprit {CULPRIT_SERVICE} {CULPRIT_VERSION} is deploy #{culprit_deploy.pk})"
    )
