"""generate_scale steps of the production layer: people, teams and services; deploys and
commits; metric series."""

from __future__ import annotations

import json
import math
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from metrics_link.models import (
    Commit,
    Deploy,
    DeployCommit,
    MetricPoint,
    MetricSeries,
    Service,
    Team,
)

from ..models import FeedToken, Profile
from .plan import FIRST, LAST, SERVICE_WORDS, TEAM_WORDS, Plan, random_sha, random_words, spread
from .writer import Writer, m2m_table, table


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
                random_sha(r),
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
                    random_sha(r),
                    author,
                    f"{r.choice(('Fix', 'Add', 'Refactor', 'Bump', 'Tune'))} {random_words(r, 4)}",
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
            m = spread(total, len(series), k)
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
