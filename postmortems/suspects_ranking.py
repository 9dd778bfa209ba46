"""How suspect deploys are ranked: one pure function, every weight in `WEIGHTS`.

No database, no Django: `score_deploy` takes plain values and returns the score (0..100), the
reasons people read ("deployed 38 min before the start") and the points each reason earned, so the
incident page and the API can show the breakdown and tests can generate scenarios freely.

The signals, strongest first:
- time proximity to the incident's start, decaying with age (halving every `half_life_minutes`);
  a deploy a few minutes after the start (clocks skew) still counts, at a discount;
- same service as the incident, or a repository of one of its services;
- the deploy failed or was rolled back (trouble was seen around it);
- size, the number of commits (more change, more risk), on a log scale;
- the immune system judged the deploy `regressed` (its watched metrics fell right after it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Weights:
    proximity: float = 50.0  # points for a deploy finishing right at the start
    half_life_minutes: float = 120.0  # proximity points halve every two hours before the start
    after_start_factor: float = 0.5  # a deploy after the start (clock skew) earns half
    same_service: float = 25.0
    same_repository: float = 20.0  # another service built from a repository of the incident's
    failed: float = 10.0
    rolled_back: float = 8.0
    size: float = 10.0  # full points at `size_saturation` commits, log-scaled below
    size_saturation: int = 30
    immune_regressed: float = 40.0  # the watched metrics fell right after this deploy


WEIGHTS = Weights()


@dataclass(frozen=True)
class Candidate:
    """What the ranking needs to know about one deploy."""

    finished_at: datetime
    service_id: int
    repository: str
    status: str  # success | failed | rolled_back
    commit_count: int
    # "Logins -34%" when the immune system judged the deploy regressed; "" otherwise.
    regressed: str = ""


@dataclass(frozen=True)
class Score:
    score: float
    reasons: list[str] = field(default_factory=list)
    breakdown: list[tuple[str, float]] = field(default_factory=list)  # (reason, points)


def _ago(minutes: float) -> str:
    minutes = abs(minutes)
    if minutes < 1:
        return "less than a minute"
    if minutes < 90:
        return f"{round(minutes)} min"
    hours = minutes / 60
    return f"{hours:.1f} h".replace(".0 h", " h")


def score_deploy(
    candidate: Candidate,
    *,
    started_at: datetime,
    service_ids: set[int],
    repositories: set[str],
    weights: Weights = WEIGHTS,
) -> Score:
    """Score one deploy against an incident's start time and services. Pure and deterministic."""
    parts: list[tuple[str, float]] = []
    minutes_before = (started_at - candidate.finished_at).total_seconds() / 60
    if minutes_before >= 0:
        points = weights.proximity * 0.5 ** (minutes_before / weights.half_life_minutes)
        parts.append((f"deployed {_ago(minutes_before)} before the start", points))
    else:
        points = weights.proximity * weights.after_start_factor
        parts.append((f"deployed {_ago(minutes_before)} after the start (clocks skew)", points))

    repo = (candidate.repository or "").lower()
    if candidate.service_id in service_ids:
        parts.append(("same service as the incident", weights.same_service))
    elif repo and repo in repositories:
        parts.append(
            (
                f"built from {candidate.repository}, a repository of the incident's service",
                weights.same_repository,
            )
        )

    if candidate.status == "failed":
        parts.append(("the deploy failed", weights.failed))
    elif candidate.status == "rolled_back":
        parts.append(("the deploy was rolled back", weights.rolled_back))

    if candidate.regressed:
        parts.append(
            (f"immune system: regressed ({candidate.regressed})", weights.immune_regressed)
        )

    if candidate.commit_count > 0:
        share = min(1.0, math.log1p(candidate.commit_count) / math.log1p(weights.size_saturation))
        noun = "commit" if candidate.commit_count == 1 else "commits"
        parts.append((f"{candidate.commit_count} {noun}", weights.size * share))

    total = min(100.0, sum(p for _, p in parts))
    parts = [(reason, round(points, 1)) for reason, points in parts]
    return Score(
        score=round(total, 1),
        reasons=[reason for reason, _ in parts],
        breakdown=parts,
    )


def rank(scored: list[tuple[object, Score, datetime]]) -> list[tuple[object, Score]]:
    """Best first; ties go to the later deploy (closer to the start)."""
    ordered = sorted(scored, key=lambda item: (-item[1].score, -item[2].timestamp()))
    return [(item, score) for item, score, _ in ordered]
