"""generate_scale's shared state (the Plan: ids, people, per-incident facts) and its word
lists."""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..models import WhyNode

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


def random_words(r: random.Random, n: int) -> str:
    return " ".join(r.choice(WORDS) for _ in range(n))


def random_sha(r: random.Random) -> str:
    return f"{r.getrandbits(160):040x}"


def spread(total: int, parts: int, i: int) -> int:
    """Part i of `total` split as evenly as possible over `parts` (sums exactly)."""
    return (total * (i + 1)) // parts - (total * i) // parts


def learned_from(x) -> bool:
    return x[I_STATUS] in ("resolved", "closed") and x[I_REASON] == "resolved"
