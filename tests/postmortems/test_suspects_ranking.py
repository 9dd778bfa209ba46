"""The ranking is a pure function: each signal moves the score the right way, and on generated
scenarios with a known culprit the culprit comes first."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from postmortems.suspects_ranking import WEIGHTS, Candidate, rank, score_deploy

START = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
SERVICE, OTHER = 1, 2


def score(minutes_before=30, service=OTHER, repo="acme/other", status="success", commits=3):
    return score_deploy(
        Candidate(
            finished_at=START - timedelta(minutes=minutes_before),
            service_id=service,
            repository=repo,
            status=status,
            commit_count=commits,
        ),
        started_at=START,
        service_ids={SERVICE},
        repositories={"acme/app"},
    )


def test_a_closer_deploy_scores_higher():
    assert (
        score(minutes_before=10).score
        > score(minutes_before=60).score
        > score(minutes_before=600).score
    )


def test_proximity_halves_every_half_life():
    near = score(minutes_before=0, commits=0).score
    half = score(minutes_before=WEIGHTS.half_life_minutes, commits=0).score
    assert half == pytest.approx(near / 2, abs=0.1)


def test_a_deploy_after_the_start_counts_at_a_discount():
    after = score(minutes_before=-5)
    assert after.score < score(minutes_before=0).score
    assert "after the start" in after.reasons[0]


def test_same_service_beats_a_repository_of_the_service_beats_neither():
    same = score(service=SERVICE).score
    repo = score(repo="acme/app").score
    neither = score().score
    assert same > repo > neither


def test_failed_and_rolled_back_deploys_score_higher():
    assert score(status="failed").score > score(status="rolled_back").score > score().score


def test_size_adds_points_with_diminishing_returns_up_to_a_cap():
    one, ten, thirty, hundred = (score(commits=n).score for n in (1, 10, 30, 100))
    assert one < ten < thirty
    assert hundred == thirty
    assert (ten - one) > (thirty - ten) / 2


def test_every_point_is_explained():
    result = score(minutes_before=38, service=SERVICE, status="failed", commits=12)
    assert result.reasons == [
        "deployed 38 min before the start",
        "same service as the incident",
        "the deploy failed",
        "12 commits",
    ]
    assert sum(p for _, p in result.breakdown) == pytest.approx(result.score, abs=0.3)
    assert 0 <= result.score <= 100


def test_ties_go_to_the_later_deploy():
    early, late = object(), object()
    s = score()
    ranked = rank([(early, s, START - timedelta(hours=2)), (late, s, START - timedelta(hours=1))])
    assert [item for item, _ in ranked] == [late, early]


def _scenario(seed: int):
    """An incident on SERVICE; the culprit is a deploy of it shortly before the start, among
    15-60 unrelated deploys spread over the day (other services, any size or status) and older
    deploys of the same service."""
    rng = random.Random(seed)
    candidates = []
    culprit = Candidate(
        finished_at=START - timedelta(minutes=rng.randint(3, 90)),
        service_id=SERVICE,
        repository="acme/app",
        status=rng.choice(["success", "success", "failed", "rolled_back"]),
        commit_count=rng.randint(1, 40),
    )
    candidates.append(culprit)
    for _ in range(rng.randint(15, 60)):
        candidates.append(
            Candidate(
                finished_at=START - timedelta(minutes=rng.randint(150, 24 * 60)),
                service_id=rng.randint(3, 20),
                repository=f"acme/svc-{rng.randint(3, 20)}",
                status=rng.choice(["success"] * 8 + ["failed", "rolled_back"]),
                commit_count=rng.randint(1, 80),
            )
        )
    for _ in range(rng.randint(0, 4)):
        candidates.append(
            Candidate(
                finished_at=START - timedelta(minutes=rng.randint(6 * 60, 24 * 60)),
                service_id=SERVICE,
                repository="acme/app",
                status="success",
                commit_count=rng.randint(1, 80),
            )
        )
    rng.shuffle(candidates)
    return culprit, candidates


@pytest.mark.parametrize("seed", range(40))
def test_the_known_culprit_ranks_first_on_generated_scenarios(seed):
    culprit, candidates = _scenario(seed)
    scored = [
        (
            c,
            score_deploy(c, started_at=START, service_ids={SERVICE}, repositories={"acme/app"}),
            c.finished_at,
        )
        for c in candidates
    ]
    ranked = rank(scored)
    assert ranked[0][0] is culprit
    assert ranked[0][1].score > ranked[1][1].score


@pytest.mark.parametrize("seed", range(10))
def test_with_no_deploy_of_the_service_the_only_recent_deploy_ranks_first(seed):
    rng = random.Random(1000 + seed)
    recent = Candidate(
        START - timedelta(minutes=rng.randint(5, 60)),
        OTHER,
        "acme/x",
        "success",
        rng.randint(1, 50),
    )
    others = [
        Candidate(
            START - timedelta(minutes=rng.randint(5 * 60, 24 * 60)),
            rng.randint(3, 9),
            "acme/y",
            rng.choice(["success", "failed", "rolled_back"]),
            rng.randint(1, 100),
        )
        for _ in range(30)
    ]
    scored = [
        (
            c,
            score_deploy(c, started_at=START, service_ids={SERVICE}, repositories=set()),
            c.finished_at,
        )
        for c in [*others, recent]
    ]
    assert rank(scored)[0][0] is recent
