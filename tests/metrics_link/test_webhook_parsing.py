"""Provider webhook modules: authenticity checks and payload parsing (no Django, no DB)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from metrics_link.webhooks import alertmanager, github, gitlab, pagerduty
from metrics_link.webhooks.types import (
    AlertData,
    CommitData,
    DeployEvent,
    PayloadError,
    PushEvent,
    parse_timestamp,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
ZERO_SHA = "0" * 40


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def load(name: str) -> dict[str, Any]:
    return json.loads(raw(name))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ======================================================================================
# Timestamps shared by every provider
# ======================================================================================


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-14T09:26:47Z", utc(2024, 3, 14, 9, 26, 47)),
        ("2025-01-21 08:14:09 +0000", utc(2025, 1, 21, 8, 14, 9)),
        ("2025-01-21 10:14:09 +0200", utc(2025, 1, 21, 8, 14, 9)),
        ("2016-02-09T13:01:47-04:00", utc(2016, 2, 9, 17, 1, 47)),
        ("2024-11-06T10:00:00+05:30", utc(2024, 11, 6, 4, 30)),
        ("2024-07-19T03:41:12.118204993Z", utc(2024, 7, 19, 3, 41, 12, 118204)),
        ("2024-07-19T03:41:12.999999999Z", utc(2024, 7, 19, 3, 41, 12, 999999)),
        ("2024-08-02T18:44:10.402Z", utc(2024, 8, 2, 18, 44, 10, 402000)),
        (1693656031, utc(2023, 9, 2, 12, 0, 31)),
    ],
)
def test_timestamps_become_aware_utc_with_offsets_honoured_and_nanoseconds_truncated(
    value: Any, expected: datetime
) -> None:
    parsed = parse_timestamp(value, "t")
    assert parsed == expected
    assert parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "value", ["2024-03-14T09:26:47", "yesterday", "2024-13-40T00:00:00Z", "", None, True, {}]
)
def test_timestamps_without_zone_or_malformed_raise_payload_error(value: Any) -> None:
    with pytest.raises(PayloadError, match=r"^t: "):
        parse_timestamp(value, "t")


def test_parsed_values_are_frozen_dataclasses() -> None:
    event = github.parse_deployment_status(load("github/deployment_status.success.json"))
    assert event is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.status = "failed"  # type: ignore[misc]


# ======================================================================================
# GitHub
# ======================================================================================

GITHUB_VECTOR_SECRET = "It's a Secret to Everybody"
GITHUB_VECTOR_BODY = b"Hello, World!"
GITHUB_VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_github_signature_matches_published_vector() -> None:
    assert github.verify(GITHUB_VECTOR_BODY, GITHUB_VECTOR_SIGNATURE, GITHUB_VECTOR_SECRET)
    assert github.sign(GITHUB_VECTOR_BODY, GITHUB_VECTOR_SECRET) == GITHUB_VECTOR_SIGNATURE


def test_github_signature_with_wrong_secret_is_rejected() -> None:
    assert not github.verify(
        GITHUB_VECTOR_BODY, GITHUB_VECTOR_SIGNATURE, "It's a secret to everybody"
    )


def test_github_signature_of_a_tampered_body_is_rejected() -> None:
    assert not github.verify(b"Hello, World?", GITHUB_VECTOR_SIGNATURE, GITHUB_VECTOR_SECRET)


@pytest.mark.parametrize("header", [None, ""])
def test_github_signature_missing_header_is_rejected(header: str | None) -> None:
    assert not github.verify(GITHUB_VECTOR_BODY, header, GITHUB_VECTOR_SECRET)


@pytest.mark.parametrize(
    "header",
    [
        "sha256=",
        "sha256=not-hex",
        GITHUB_VECTOR_SIGNATURE[:-1],
        GITHUB_VECTOR_SIGNATURE + "0",
        GITHUB_VECTOR_SIGNATURE.removeprefix("sha256="),
        "sha256 =" + GITHUB_VECTOR_SIGNATURE.removeprefix("sha256="),
        GITHUB_VECTOR_SIGNATURE + "," + GITHUB_VECTOR_SIGNATURE,
    ],
)
def test_github_signature_malformed_header_is_rejected(header: str) -> None:
    assert not github.verify(GITHUB_VECTOR_BODY, header, GITHUB_VECTOR_SECRET)


@pytest.mark.parametrize("prefix", ["sha1=", "sha512=", "v1=", "SHA256="])
def test_github_signature_with_wrong_prefix_is_rejected(prefix: str) -> None:
    header = prefix + GITHUB_VECTOR_SIGNATURE.removeprefix("sha256=")
    assert not github.verify(GITHUB_VECTOR_BODY, header, GITHUB_VECTOR_SECRET)


def test_github_signature_hex_digits_are_case_insensitive() -> None:
    header = "sha256=" + GITHUB_VECTOR_SIGNATURE.removeprefix("sha256=").upper()
    assert github.verify(GITHUB_VECTOR_BODY, header, GITHUB_VECTOR_SECRET)


def test_github_signature_with_empty_secret_never_verifies() -> None:
    header = "sha256=" + hmac.new(b"", GITHUB_VECTOR_BODY, hashlib.sha256).hexdigest()
    assert not github.verify(GITHUB_VECTOR_BODY, header, "")


def test_github_signature_covers_the_raw_body_not_reserialised_json() -> None:
    body = raw("github/ping.json")
    header = github.sign(body, "hook-secret")
    assert github.verify(body, header, "hook-secret")
    reserialised = json.dumps(json.loads(body)).encode()
    assert not github.verify(reserialised, header, "hook-secret")


def test_github_successful_deployment_status_parses_to_exact_event() -> None:
    event = github.parse_deployment_status(load("github/deployment_status.success.json"))
    assert event == DeployEvent(
        provider="github",
        external_id="1304455667",
        repository="acme-ops/checkout-api",
        sha="5e2f4c565c8e343c2c15e1ac4bb7569ca8eeb7b5",
        environment="production",
        status="success",
        version="v2.14.0",
        started_at=utc(2024, 3, 14, 9, 21, 5),
        finished_at=utc(2024, 3, 14, 9, 26, 47),
        deployer="mira-devops",
        url="https://github.com/acme-ops/checkout-api/actions/runs/8812345670/job/24187700001",
    )


def test_github_old_failure_without_action_or_status_environment_reads_the_deployment() -> None:
    payload = load("github/deployment_status.failure.json")
    assert "action" not in payload
    assert "environment" not in payload["deployment_status"]
    event = github.parse_deployment_status(payload)
    assert event == DeployEvent(
        provider="github",
        external_id="802214",
        repository="northwind-labs/ledger",
        sha="df283996cbaab49bc9d9fafbf5ee74ad124305b7",
        environment="production",
        status="failed",
        version="main",
        started_at=utc(2016, 2, 9, 17, 2, 58),
        finished_at=utc(2016, 2, 9, 17, 3, 12),
        deployer="tobias-k",
        url="",
    )


def test_github_error_state_counts_as_a_failed_deploy() -> None:
    payload = load("github/deployment_status.success.json")
    payload["deployment_status"]["state"] = "error"
    event = github.parse_deployment_status(payload)
    assert event is not None
    assert event.status == "failed"


@pytest.mark.parametrize("state", ["pending", "in_progress", "queued", "inactive", "waiting"])
def test_github_unfinished_deployment_states_are_ignored(state: str) -> None:
    payload = load("github/deployment_status.success.json")
    payload["deployment_status"]["state"] = state
    assert github.parse_deployment_status(payload) is None


def test_github_deploy_url_prefers_target_then_log_then_environment_url() -> None:
    payload = load("github/deployment_status.success.json")
    status = payload["deployment_status"]
    status["target_url"] = "https://ci.acme.example/run/1"
    assert github.parse_deployment_status(payload).url == "https://ci.acme.example/run/1"
    status["target_url"] = None
    status["log_url"] = ""
    assert github.parse_deployment_status(payload).url == "https://checkout.acme.example"
    del status["environment_url"]
    assert github.parse_deployment_status(payload).url == ""


def test_github_deployer_falls_back_to_the_deployment_creator() -> None:
    payload = load("github/deployment_status.success.json")
    payload["deployment_status"]["creator"] = None
    assert github.parse_deployment_status(payload).deployer == "release-bot"


def test_github_finished_at_falls_back_to_status_created_at() -> None:
    payload = load("github/deployment_status.success.json")
    del payload["deployment_status"]["updated_at"]
    assert github.parse_deployment_status(payload).finished_at == utc(2024, 3, 14, 9, 26, 44)


def test_github_missing_ref_uses_the_short_sha_as_version() -> None:
    payload = load("github/deployment_status.success.json")
    payload["deployment"]["ref"] = ""
    assert github.parse_deployment_status(payload).version == "5e2f4c5"


def test_github_deployment_event_is_not_a_deployment_status() -> None:
    with pytest.raises(PayloadError, match="deployment_status"):
        github.parse_deployment_status(load("github/deployment.created.json"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["deployment"].pop("sha"), "deployment.sha"),
        (lambda p: p["deployment"].update(sha="5e2f4c5"), "deployment.sha"),
        (lambda p: p["deployment"].update(id=True), "deployment.id"),
        (lambda p: p["deployment"].pop("id"), "deployment.id"),
        (lambda p: p.pop("deployment"), "deployment"),
        (lambda p: p["repository"].pop("full_name"), "repository.full_name"),
        (lambda p: p["deployment_status"].update(state=7), "deployment_status.state"),
        (lambda p: p["deployment_status"].update(updated_at="soon"), "updated_at"),
        (lambda p: p["deployment_status"].update(target_url=["x"]), "target_url"),
    ],
)
def test_github_malformed_deployment_status_raises_payload_error(mutate: Any, message: str) -> None:
    payload = load("github/deployment_status.success.json")
    mutate(payload)
    with pytest.raises(PayloadError, match=message):
        github.parse_deployment_status(payload)


@pytest.mark.parametrize("payload", [None, [], "push", 3])
def test_github_non_object_payload_raises_payload_error(payload: Any) -> None:
    with pytest.raises(PayloadError, match="expected an object"):
        github.parse_deployment_status(payload)
    with pytest.raises(PayloadError, match="expected an object"):
        github.parse_push(payload)


def test_github_new_branch_push_parses_to_exact_event() -> None:
    payload = load("github/push.new_branch.json")
    assert isinstance(payload["repository"]["created_at"], int)  # the Unix-integer trap
    sha = "3207c87de6d64e7d5bf0866eeb529cbfc8a7eab6"
    assert github.parse_push(payload) == PushEvent(
        provider="github",
        repository="acme-ops/checkout-api",
        ref="refs/heads/release/2.14",
        before=ZERO_SHA,
        after=sha,
        commits=(
            CommitData(
                sha=sha,
                message="Bootstrap service skeleton",
                author="Mira Olsen",
                committed_at=utc(2024, 3, 14, 9, 20, 41),
                url=f"https://github.com/acme-ops/checkout-api/commit/{sha}",
            ),
        ),
        total_commits=1,
    )


def test_github_push_with_committer_lacking_username_parses() -> None:
    payload = load("github/push.no_username_committer.json")
    assert "username" not in payload["commits"][0]["committer"]
    event = github.parse_push(payload)
    assert [c.author for c in event.commits] == ["Mira Olsen"]


def test_github_commit_author_falls_back_to_username_when_name_is_missing() -> None:
    payload = load("github/push.new_branch.json")
    del payload["commits"][0]["author"]["name"]
    assert github.parse_push(payload).commits[0].author == "mira-devops"


def test_github_push_with_fifty_identical_commit_ids_keeps_one_commit() -> None:
    payload = load("github/push.many_commits.json")
    assert len(payload["commits"]) == 50
    event = github.parse_push(payload)
    assert event.total_commits == 1
    assert event.commits == (
        CommitData(
            sha="109d76e6d6dca5d949d9a82afe8c500ef1776d9c",
            message="Tighten ledger rounding",
            author="Tobias Keller",
            committed_at=utc(2016, 2, 9, 17, 1, 47),  # "-04:00" honoured
            url="https://github.com/northwind-labs/ledger/commit/109d76e6d6dca5d949d9a82afe8c500ef1776d9c",
        ),
    )


def test_github_duplicate_commit_ids_keep_push_order_and_first_occurrence() -> None:
    payload = load("github/push.many_commits.json")
    first, second, third = ("a" * 40, "b" * 40, "c" * 40)
    commits = []
    for sha, message in [(first, "one"), (second, "two"), (first, "one again"), (third, "three")]:
        commit = copy.deepcopy(payload["commits"][0])
        commit.update(id=sha, message=message)
        commits.append(commit)
    payload["commits"] = commits
    event = github.parse_push(payload)
    assert [(c.sha, c.message) for c in event.commits] == [
        (first, "one"),
        (second, "two"),
        (third, "three"),
    ]
    assert event.total_commits == 3


def test_github_branch_deletion_is_a_push_without_commits() -> None:
    event = github.parse_push(load("github/push.branch_deleted.json"))
    assert event == PushEvent(
        provider="github",
        repository="acme-ops/checkout-api",
        ref="refs/heads/spike/retry-budget",
        before="6960fee15b143db0ff1ee3e4ade6fb8a4cd7dda8",
        after=ZERO_SHA,
        commits=(),
        total_commits=0,
    )


def test_github_commit_without_timestamp_has_no_committed_at() -> None:
    payload = load("github/push.new_branch.json")
    payload["commits"][0]["timestamp"] = None
    assert github.parse_push(payload).commits[0].committed_at is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.pop("ref"), "ref"),
        (lambda p: p.update(after=None), "after"),
        (lambda p: p.update(before="HEAD"), "before"),
        (lambda p: p.update(commits={"id": "x"}), "commits"),
        (lambda p: p["commits"].append("abc"), r"commits\[1\]"),
        (lambda p: p["commits"][0].pop("id"), r"commits\[0\]\.id"),
        (lambda p: p["commits"][0].update(message=42), r"commits\[0\]\.message"),
        (lambda p: p.pop("repository"), "repository"),
    ],
)
def test_github_malformed_push_raises_payload_error(mutate: Any, message: str) -> None:
    payload = load("github/push.new_branch.json")
    mutate(payload)
    with pytest.raises(PayloadError, match=message):
        github.parse_push(payload)


# ======================================================================================
# GitLab
# ======================================================================================


def test_gitlab_token_matches_when_equal() -> None:
    assert gitlab.verify("s3cr3t-token", "s3cr3t-token")


@pytest.mark.parametrize("header", ["s3cr3t-tokeN", "s3cr3t-token ", "s3cr3t", "", None])
def test_gitlab_wrong_or_missing_token_is_rejected(header: str | None) -> None:
    assert not gitlab.verify(header, "s3cr3t-token")


def test_gitlab_empty_expected_token_never_verifies() -> None:
    assert not gitlab.verify("", "")
    assert not gitlab.verify("anything", "")


def test_gitlab_delivery_key_is_the_event_uuid_else_a_body_hash() -> None:
    body = raw("gitlab/push.json")
    uuid = "6b1f2f7e-3c51-4d2a-9f0e-4a5c7d1e2b90"
    assert gitlab.delivery_key(uuid, body) == uuid
    expected = "sha256:" + hashlib.sha256(body).hexdigest()
    assert gitlab.delivery_key(None, body) == expected
    assert gitlab.delivery_key("  ", body) == expected


def test_gitlab_successful_deployment_parses_to_exact_event_with_full_sha_from_commit_url() -> None:
    payload = load("gitlab/deployment.success.json")
    assert payload["short_sha"] == "3db065dd"
    event = gitlab.parse_deployment(payload)
    assert event == DeployEvent(
        provider="gitlab",
        external_id="712330981",
        repository="platform-team/billing-service",
        sha="3db065ddb48b6b9e326ee6caa6ea8f9c7640ef6a",
        environment="production",
        status="success",
        version="main",
        started_at=None,
        finished_at=utc(2025, 1, 21, 8, 14, 9),
        deployer="ana.souza",
        url="https://gitlab.com/platform-team/billing-service/-/jobs/8840021175",
    )


def test_gitlab_failed_deployment_parses_to_exact_event() -> None:
    event = gitlab.parse_deployment(load("gitlab/deployment.failed.json"))
    assert event == DeployEvent(
        provider="gitlab",
        external_id="712336420",
        repository="platform-team/billing-service",
        sha="10965a51b1a083541334147d644fe3b403de6717",
        environment="production",
        status="failed",
        version="main",
        started_at=None,
        finished_at=utc(2025, 1, 21, 9, 2, 47),
        deployer="ana.souza",
        url="https://gitlab.com/platform-team/billing-service/-/jobs/8840107730",
    )


def test_gitlab_canceled_deployment_is_ignored() -> None:
    assert gitlab.parse_deployment(load("gitlab/deployment.canceled.json")) is None


@pytest.mark.parametrize("status", ["running", "created", "blocked"])
def test_gitlab_unfinished_deployment_statuses_are_ignored(status: str) -> None:
    payload = load("gitlab/deployment.success.json")
    payload["status"] = status
    assert gitlab.parse_deployment(payload) is None


def test_gitlab_status_changed_at_offset_is_honoured() -> None:
    payload = load("gitlab/deployment.success.json")
    payload["status_changed_at"] = "2025-01-21 10:14:09 +0200"
    assert gitlab.parse_deployment(payload).finished_at == utc(2025, 1, 21, 8, 14, 9)


def test_gitlab_deploy_url_falls_back_to_environment_external_url() -> None:
    payload = load("gitlab/deployment.success.json")
    payload["deployable_url"] = None
    payload["environment_external_url"] = "https://billing.example"
    assert gitlab.parse_deployment(payload).url == "https://billing.example"
    payload["environment_external_url"] = None
    assert gitlab.parse_deployment(payload).url == ""


@pytest.mark.parametrize(
    "commit_url",
    [
        None,
        "https://gitlab.com/platform-team/billing-service/-/commit/3db065dd",
        "https://gitlab.com/platform-team/billing-service/-/pipelines/1234",
    ],
)
def test_gitlab_deploy_without_full_sha_in_commit_url_falls_back_to_short_sha(
    commit_url: str | None,
) -> None:
    payload = load("gitlab/deployment.success.json")
    payload["commit_url"] = commit_url
    assert gitlab.parse_deployment(payload).sha == "3db065dd"


def test_gitlab_commit_url_contradicting_short_sha_raises_payload_error() -> None:
    payload = load("gitlab/deployment.success.json")
    payload["short_sha"] = "deadbeef"
    with pytest.raises(PayloadError, match="does not match short_sha"):
        gitlab.parse_deployment(payload)


def test_gitlab_deploy_without_any_sha_raises_payload_error() -> None:
    payload = load("gitlab/deployment.success.json")
    del payload["commit_url"]
    del payload["short_sha"]
    with pytest.raises(PayloadError, match="commit_url"):
        gitlab.parse_deployment(payload)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.update(object_kind="push"), "object_kind"),
        (lambda p: p.pop("deployment_id"), "deployment_id"),
        (lambda p: p.pop("status_changed_at"), "status_changed_at"),
        (lambda p: p.update(status_changed_at="02/05/2025 11:55"), "status_changed_at"),
        (lambda p: p.pop("project"), "project"),
        (lambda p: p["project"].pop("path_with_namespace"), "path_with_namespace"),
        (lambda p: p.pop("status"), "status"),
        (lambda p: p.update(environment=""), "environment"),
        (lambda p: p.update(short_sha="not a sha"), "short_sha"),
    ],
)
def test_gitlab_malformed_deployment_raises_payload_error(mutate: Any, message: str) -> None:
    payload = load("gitlab/deployment.success.json")
    mutate(payload)
    with pytest.raises(PayloadError, match=message):
        gitlab.parse_deployment(payload)


def test_gitlab_push_parses_to_exact_event_with_offsets_and_trailing_newlines() -> None:
    payload = load("gitlab/push.json")
    assert payload["user_avatar"].endswith("?s=80&d=identicon")  # the \u0026 escape decoded
    first = "a396c80e2c85be7becbbdded6c85eacad68db717"
    second = "26b6fd907598d714a8e9ab4181404e93df1af8b8"
    base = "https://gitlab.com/platform-team/billing-service/commit/"
    assert gitlab.parse_push(payload) == PushEvent(
        provider="gitlab",
        repository="platform-team/billing-service",
        ref="refs/heads/feature/invoice-retry",
        before="f49de81d68684cd98ce6506fb4a6be6590507834",
        after=second,
        commits=(
            CommitData(
                sha=first,
                message="Retry invoice export on 503",
                author="Ana Souza",
                committed_at=utc(2024, 11, 5, 19, 17, 54),
                url=base + first,
            ),
            CommitData(
                sha=second,
                message=(
                    "Cap retry budget at five attempts\n\n"
                    "The exporter hammered the API during the outage."
                ),
                author="Ana Souza",
                committed_at=utc(2024, 11, 5, 19, 18, 6),
                url=base + second,
            ),
        ),
        total_commits=2,
    )


def test_gitlab_truncated_push_reports_total_commits_count_beyond_listed_commits() -> None:
    event = gitlab.parse_push(load("gitlab/push.truncated.json"))
    assert len(event.commits) == 3
    assert event.total_commits == 27
    assert event.commits[0].committed_at == utc(2024, 11, 6, 4, 30)  # +05:30 honoured


def test_gitlab_total_commits_never_below_the_listed_commits() -> None:
    payload = load("gitlab/push.truncated.json")
    payload["total_commits_count"] = 1
    assert gitlab.parse_push(payload).total_commits == 3
    del payload["total_commits_count"]
    assert gitlab.parse_push(payload).total_commits == 3


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.update(total_commits_count="27"), "total_commits_count"),
        (lambda p: p.update(total_commits_count=True), "total_commits_count"),
        (lambda p: p.update(object_kind="deployment"), "object_kind"),
        (lambda p: p.pop("project"), "project"),
        (
            lambda p: p["commits"][1].update(timestamp="2024-11-05 21:18"),
            r"commits\[1\]\.timestamp",
        ),
    ],
)
def test_gitlab_malformed_push_raises_payload_error(mutate: Any, message: str) -> None:
    payload = load("gitlab/push.truncated.json")
    mutate(payload)
    with pytest.raises(PayloadError, match=message):
        gitlab.parse_push(payload)


def test_gitlab_non_object_payload_raises_payload_error() -> None:
    with pytest.raises(PayloadError, match="expected an object"):
        gitlab.parse_deployment([])
    with pytest.raises(PayloadError, match="expected an object"):
        gitlab.parse_push("push")


# ======================================================================================
# Alertmanager
# ======================================================================================


def test_alertmanager_bearer_token_matches() -> None:
    assert alertmanager.verify("Bearer am-token-123", "am-token-123")
    assert alertmanager.verify("bearer am-token-123", "am-token-123")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer am-token-124",
        "am-token-123",
        "Basic am-token-123",
        "Token am-token-123",
    ],
)
def test_alertmanager_wrong_missing_or_malformed_authorization_is_rejected(
    header: str | None,
) -> None:
    assert not alertmanager.verify(header, "am-token-123")


def test_alertmanager_empty_token_never_verifies() -> None:
    assert not alertmanager.verify("Bearer ", "")
    assert not alertmanager.verify("Bearer anything", "")


def test_alertmanager_delivery_key_is_a_body_hash() -> None:
    body = raw("alertmanager/resolved.json")
    assert alertmanager.delivery_key(body) == "sha256:" + hashlib.sha256(body).hexdigest()


def test_alertmanager_two_alerts_with_identical_labels_are_keyed_on_fingerprint() -> None:
    alerts = alertmanager.parse(load("alertmanager/firing.two_alerts.json"))
    labels = {
        "alertname": "Disk Almost Full",
        "instance": "db-eu1-03:9100",
        "job": "node",
        "severity": "warning",
    }
    common = {
        "source": "alertmanager",
        "service": "node",
        "name": "Disk Almost Full",
        "severity": "warning",
        "status": "firing",
        "labels": labels,
        "summary": "Disk almost full on db-eu1-03",
        "starts_at": utc(2024, 7, 19, 3, 41, 12, 118204),
        "ends_at": None,
        "url": (
            "http://prom-eu1:9090/graph?g0.expr=node_filesystem_avail_bytes%7Bmountpoint%3D"
            "%22%2Fvar%22%7D+%2F+node_filesystem_size_bytes+%3C+0.1&g0.tab=1"
        ),
    }
    assert alerts == [
        AlertData(
            dedupe_key=sha256("5d0c1e7aa8b3f412|2024-07-19T03:41:12.118204+00:00|firing"),
            **common,
        ),
        AlertData(
            dedupe_key=sha256("e97a40b2c6d15f08|2024-07-19T03:41:12.118204+00:00|firing"),
            **common,
        ),
    ]
    assert alerts[0].dedupe_key != alerts[1].dedupe_key


def test_alertmanager_alert_without_generator_url_has_empty_url() -> None:
    [alert] = alertmanager.parse(load("alertmanager/firing.no_url.json"))
    assert alert == AlertData(
        source="alertmanager",
        dedupe_key=sha256("0b7f3c9d21e6a584|2024-07-20T14:05:31.907120+00:00|firing"),
        service="checkout-api",
        name="Checkout Latency High",
        severity="critical",
        status="firing",
        labels={
            "alertname": "Checkout Latency High",
            "service": "checkout-api",
            "severity": "critical",
            "team": "payments",
        },
        summary="Checkout p99 latency above 2s",
        starts_at=utc(2024, 7, 20, 14, 5, 31, 907120),
        ends_at=None,
        url="",
    )


def test_alertmanager_resolved_status_wins_over_zero_ends_at() -> None:
    payload = load("alertmanager/resolved.single.json")
    assert payload["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    [alert] = alertmanager.parse(payload)
    assert alert.status == "resolved"
    assert alert.ends_at is None
    assert alert.service == "unknown"
    assert alert.severity == "info"
    assert alert.summary == "Invoice queue backlog"
    assert alert.dedupe_key == sha256("9a44d0e1b7c3f26e|2024-07-21T22:10:05.000781+00:00|resolved")


def test_alertmanager_old_resolved_alert_without_fingerprint_is_keyed_on_its_labels() -> None:
    body = raw("alertmanager/resolved.json")
    assert not body.endswith(b"\n")
    [alert] = alertmanager.parse(json.loads(body))
    labels_hash = sha256('{"alertname":"Smoke","app":"toaster","severity":"critical"}')
    assert alert == AlertData(
        source="alertmanager",
        dedupe_key=sha256(f"{labels_hash}|2019-03-10T06:12:44.521903+00:00|resolved"),
        service="toaster",
        name="Smoke",
        severity="critical",
        status="resolved",
        labels={"alertname": "Smoke", "app": "toaster", "severity": "critical"},
        summary="Something is smoking",
        starts_at=utc(2019, 3, 10, 6, 12, 44, 521903),
        ends_at=utc(2019, 3, 10, 6, 19, 2, 521903),
        url="http://localhost:9090/graph?g0.expr=vector%28451%29&g0.tab=1",
    )


def test_alertmanager_labels_hash_ignores_label_order() -> None:
    assert alertmanager.labels_hash({"b": "2", "a": "1"}) == alertmanager.labels_hash(
        {"a": "1", "b": "2"}
    )


def test_alertmanager_each_alert_status_wins_over_the_group_status() -> None:
    payload = load("alertmanager/firing.two_alerts.json")
    payload["alerts"][1]["status"] = "resolved"
    payload["alerts"][1]["endsAt"] = "2024-07-19T04:02:00.5Z"
    first, second = alertmanager.parse(payload)
    assert (first.status, first.ends_at) == ("firing", None)
    assert (second.status, second.ends_at) == ("resolved", utc(2024, 7, 19, 4, 2, 0, 500000))


def test_alertmanager_firing_alert_with_a_future_ends_at_stays_open() -> None:
    payload = load("alertmanager/firing.no_url.json")
    payload["alerts"][0]["endsAt"] = "2024-07-20T14:10:31.907120556Z"  # old resolve_timeout
    [alert] = alertmanager.parse(payload)
    assert alert.status == "firing"
    assert alert.ends_at is None


def test_alertmanager_redelivery_gives_the_same_keys_and_resolution_a_new_one() -> None:
    payload = load("alertmanager/firing.no_url.json")
    [first] = alertmanager.parse(payload)
    [again] = alertmanager.parse(copy.deepcopy(payload))
    payload["alerts"][0]["status"] = "resolved"
    [resolved] = alertmanager.parse(payload)
    payload["alerts"][0]["startsAt"] = "2024-07-20T18:00:00Z"
    payload["alerts"][0]["status"] = "firing"
    [refired] = alertmanager.parse(payload)
    assert first.dedupe_key == again.dedupe_key
    assert len({first.dedupe_key, resolved.dedupe_key, refired.dedupe_key}) == 3


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("critical", "critical"), ("P1", "P1"), (" high ", "high"), (None, "")],
)
def test_alertmanager_severity_is_passed_on_as_sent_for_the_store_to_map(
    severity: str | None, expected: str
) -> None:
    """The mapping is a setting (ALERT_SEVERITY_MAP), applied where the alert is stored."""
    payload = load("alertmanager/firing.no_url.json")
    labels = payload["alerts"][0]["labels"]
    labels.pop("severity")
    if severity is not None:
        labels["severity"] = severity
    [alert] = alertmanager.parse(payload)
    assert alert.severity == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"service": "svc", "job": "job", "app": "app"}, "svc"),
        ({"job": "job", "app": "app"}, "job"),
        ({"app": "app"}, "app"),
        ({}, "unknown"),
    ],
)
def test_alertmanager_service_comes_from_service_then_job_then_app_label(
    labels: dict[str, str], expected: str
) -> None:
    payload = load("alertmanager/firing.no_url.json")
    payload["alerts"][0]["labels"] = {"alertname": "X", **labels}
    [alert] = alertmanager.parse(payload)
    assert alert.service == expected


def test_alertmanager_summary_falls_back_to_description_then_alert_name() -> None:
    payload = load("alertmanager/firing.no_url.json")
    annotations = payload["alerts"][0]["annotations"]
    del annotations["summary"]
    assert alertmanager.parse(payload)[0].summary == "p99 latency is 2.31s"
    payload["alerts"][0]["annotations"] = None
    assert alertmanager.parse(payload)[0].summary == "Checkout Latency High"


@pytest.mark.parametrize("version", ["3", 4, None, "4.0"])
def test_alertmanager_unsupported_version_raises_payload_error(version: Any) -> None:
    payload = load("alertmanager/firing.no_url.json")
    payload["version"] = version
    with pytest.raises(PayloadError, match="version"):
        alertmanager.parse(payload)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.pop("alerts"), "alerts"),
        (lambda p: p.update(alerts={"status": "firing"}), "alerts"),
        (lambda p: p["alerts"].append(None), r"alerts\[2\]"),
        (lambda p: p["alerts"][0].pop("startsAt"), r"alerts\[0\]\.startsAt"),
        (lambda p: p["alerts"][0].update(startsAt="2024-07-20"), r"alerts\[0\]\.startsAt"),
        (lambda p: p["alerts"][0].update(status="pending"), r"alerts\[0\]\.status"),
        (lambda p: p["alerts"][0].pop("status"), r"alerts\[0\]\.status"),
        (lambda p: p["alerts"][0]["labels"].pop("alertname"), "alertname"),
        (lambda p: p["alerts"][0].pop("labels"), "labels"),
        (lambda p: p["alerts"][0]["labels"].update(replica=2), "label values must be strings"),
        (lambda p: p["alerts"][0].update(fingerprint=123), "fingerprint"),
    ],
)
def test_alertmanager_malformed_alert_raises_payload_error(mutate: Any, message: str) -> None:
    payload = load("alertmanager/firing.two_alerts.json")
    mutate(payload)
    with pytest.raises(PayloadError, match=message):
        alertmanager.parse(payload)


def test_alertmanager_non_object_payload_raises_payload_error() -> None:
    with pytest.raises(PayloadError, match="expected an object"):
        alertmanager.parse([{"version": "4"}])


def test_alertmanager_group_without_alerts_parses_to_an_empty_list() -> None:
    payload = load("alertmanager/firing.no_url.json")
    payload["alerts"] = []
    assert alertmanager.parse(payload) == []


# ======================================================================================
# PagerDuty
# ======================================================================================

PD_BODY = raw("pagerduty/incident.triggered.json")
PD_OLD, PD_NEW = "old-subscription-secret", "new-subscription-secret"


def test_pagerduty_signature_matches_a_single_secret() -> None:
    assert pagerduty.verify(PD_BODY, pagerduty.sign(PD_BODY, PD_NEW), [PD_NEW])


def test_pagerduty_signature_matches_our_own_hmac_of_the_raw_body() -> None:
    digest = hmac.new(PD_NEW.encode(), PD_BODY, hashlib.sha256).hexdigest()
    assert pagerduty.verify(PD_BODY, f"v1={digest}", [PD_NEW])


@pytest.mark.parametrize("order", ["valid_first", "valid_last"])
@pytest.mark.parametrize("secrets", [[PD_OLD, PD_NEW], [PD_NEW, PD_OLD]])
def test_pagerduty_rotated_signatures_accept_if_any_matches_any_secret(
    order: str, secrets: list[str]
) -> None:
    valid = pagerduty.sign(PD_BODY, PD_NEW)
    invalid = pagerduty.sign(PD_BODY, "retired-secret")
    parts = [valid, invalid] if order == "valid_first" else [invalid, valid]
    assert pagerduty.verify(PD_BODY, ",".join(parts), secrets)
    assert pagerduty.verify(PD_BODY, ", ".join(parts), secrets)


def test_pagerduty_signatures_all_invalid_are_rejected() -> None:
    header = ",".join(pagerduty.sign(PD_BODY, s) for s in ("retired-1", "retired-2"))
    assert not pagerduty.verify(PD_BODY, header, [PD_OLD, PD_NEW])


def test_pagerduty_signature_of_a_tampered_body_is_rejected() -> None:
    header = pagerduty.sign(PD_BODY, PD_NEW)
    assert not pagerduty.verify(PD_BODY.replace(b"high", b"low!"), header, [PD_NEW])


@pytest.mark.parametrize("header", [None, ""])
def test_pagerduty_missing_signature_header_is_rejected(header: str | None) -> None:
    assert not pagerduty.verify(PD_BODY, header, [PD_NEW])


@pytest.mark.parametrize(
    "transform",
    [
        lambda v: v.removeprefix("v1="),
        lambda v: "v2=" + v.removeprefix("v1="),
        lambda v: "sha256=" + v.removeprefix("v1="),
        lambda v: v[:-2],
        lambda v: v + "ab",
        lambda v: "v1=" + "z" * 64,
        lambda v: "v1=",
        lambda v: ",,,",
    ],
)
def test_pagerduty_malformed_or_wrong_prefix_signature_is_rejected(transform: Any) -> None:
    header = transform(pagerduty.sign(PD_BODY, PD_NEW))
    assert not pagerduty.verify(PD_BODY, header, [PD_NEW])


def test_pagerduty_malformed_entries_do_not_hide_a_valid_one() -> None:
    header = "v0=abc, garbage ," + pagerduty.sign(PD_BODY, PD_NEW)
    assert pagerduty.verify(PD_BODY, header, [PD_NEW])


def test_pagerduty_empty_secret_never_verifies() -> None:
    header = "v1=" + hmac.new(b"", PD_BODY, hashlib.sha256).hexdigest()
    assert not pagerduty.verify(PD_BODY, header, [""])
    assert not pagerduty.verify(PD_BODY, header, [])
    assert not pagerduty.verify(PD_BODY, header, ["", "", PD_NEW])


def test_pagerduty_a_lone_secret_string_is_not_split_into_characters() -> None:
    header = pagerduty.sign(PD_BODY, PD_NEW)
    assert pagerduty.verify(PD_BODY, header, PD_NEW)
    single_char = pagerduty.sign(PD_BODY, "n")
    assert not pagerduty.verify(PD_BODY, single_char, PD_NEW)


def test_pagerduty_triggered_incident_parses_to_exact_alert() -> None:
    event_id, alert = pagerduty.parse(load("pagerduty/incident.triggered.json"))
    assert event_id == "01DVX3Q8ZP5M2R7K4T9WB6HCNE"
    assert alert == AlertData(
        source="pagerduty",
        dedupe_key=sha256("pagerduty|Q2KW7TRX9ABCD1|firing"),
        service="Checkout API",
        name="Checkout error rate above 5%",
        severity="critical",
        status="firing",
        labels={
            "incident_id": "Q2KW7TRX9ABCD1",
            "incident_number": "412",
            "service_id": "PSV3N8D",
            "urgency": "high",
        },
        summary="Checkout error rate above 5%",
        starts_at=utc(2024, 8, 2, 18, 44, 10, 402000),  # no data.created_at: occurred_at
        ends_at=None,
        url="https://acme-oncall.pagerduty.com/incidents/Q2KW7TRX9ABCD1",
    )


def test_pagerduty_acknowledged_incident_is_still_firing_and_collapses_onto_triggered() -> None:
    _, triggered = pagerduty.parse(load("pagerduty/incident.triggered.json"))
    event_id, acknowledged = pagerduty.parse(load("pagerduty/incident.acknowledged.json"))
    assert event_id == "01DVX3TQ4M8N1B6V2C5X7Z9LKJ"
    assert acknowledged is not None
    assert acknowledged.status == "firing"
    assert acknowledged.ends_at is None
    assert acknowledged.starts_at == utc(2024, 8, 2, 18, 44, 10)  # data.created_at wins
    assert acknowledged.dedupe_key == triggered.dedupe_key


def test_pagerduty_resolved_incident_with_empty_assignees_and_nulls_parses_to_exact_alert() -> None:
    payload = load("pagerduty/incident.resolved.json")
    assert payload["event"]["data"]["assignees"] == []
    assert payload["event"]["client"] is None
    event_id, alert = pagerduty.parse(payload)
    assert event_id == "01DVW0A1B2C3D4E5F6G7H8J9KM"
    assert alert == AlertData(
        source="pagerduty",
        dedupe_key=sha256("pagerduty|Q0ZLM4PRS5TUV6|resolved"),
        service="Checkout API",
        name="Nightly ledger export failed",
        severity="warning",
        status="resolved",
        labels={
            "incident_id": "Q0ZLM4PRS5TUV6",
            "incident_number": "398",
            "service_id": "PSV3N8D",
            "urgency": "low",
        },
        summary="Nightly ledger export failed",
        starts_at=utc(2024, 8, 1, 6, 30, 27, 907000),
        ends_at=utc(2024, 8, 1, 6, 30, 27, 907000),
        url="https://acme-oncall.pagerduty.com/incidents/Q0ZLM4PRS5TUV6",
    )


def test_pagerduty_triggered_and_resolved_of_one_incident_are_two_keys_redelivery_is_one() -> None:
    triggered_payload = load("pagerduty/incident.triggered.json")
    resolved_payload = copy.deepcopy(triggered_payload)
    resolved_payload["event"].update(
        id="01DVX4ZZ9Y8X7W6V5T4S3R2Q1P",
        event_type="incident.resolved",
        occurred_at="2024-08-02T19:12:00.000Z",
    )
    _, triggered = pagerduty.parse(triggered_payload)
    _, redelivered = pagerduty.parse(copy.deepcopy(triggered_payload))
    _, resolved = pagerduty.parse(resolved_payload)
    assert triggered.dedupe_key == redelivered.dedupe_key
    assert resolved.dedupe_key != triggered.dedupe_key
    assert resolved.ends_at == utc(2024, 8, 2, 19, 12)


def test_pagerduty_priority_summary_becomes_a_label_when_present() -> None:
    payload = load("pagerduty/incident.triggered.json")
    payload["event"]["data"]["priority"] = {"id": "PPRIO1", "summary": "P1", "type": "priority"}
    _, alert = pagerduty.parse(payload)
    assert alert.labels["priority"] == "P1"


def test_pagerduty_ping_is_stored_and_ignored() -> None:
    assert pagerduty.parse(load("pagerduty/pagey.ping.json")) == (
        "01DVX0PING0000000000000000",
        None,
    )


@pytest.mark.parametrize(
    "event_type", ["incident.annotated", "incident.priority_updated", "service.updated"]
)
def test_pagerduty_other_event_types_are_stored_and_ignored(event_type: str) -> None:
    payload = load("pagerduty/incident.triggered.json")
    payload["event"]["event_type"] = event_type
    assert pagerduty.parse(payload) == ("01DVX3Q8ZP5M2R7K4T9WB6HCNE", None)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.pop("event"), "event"),
        (lambda p: p.update(event=[]), "event"),
        (lambda p: p["event"].pop("id"), "event.id"),
        (lambda p: p["event"].pop("event_type"), "event.event_type"),
        (lambda p: p["event"].pop("data"), "event.data"),
        (lambda p: p["event"].pop("occurred_at"), "event.occurred_at"),
        (lambda p: p["event"].update(occurred_at="2024-08-02T18:44:10"), "event.occurred_at"),
        (lambda p: p["event"]["data"].pop("id"), "event.data.id"),
        (lambda p: p["event"]["data"].pop("title"), "event.data.title"),
        (lambda p: p["event"]["data"].pop("service"), "event.data.service"),
        (lambda p: p["event"]["data"]["service"].pop("summary"), "event.data.service.summary"),
        (lambda p: p["event"]["data"].update(html_url=5), "event.data.html_url"),
    ],
)
def test_pagerduty_malformed_incident_event_raises_payload_error(mutate: Any, message: str) -> None:
    payload = load("pagerduty/incident.triggered.json")
    mutate(payload)
    with pytest.raises(PayloadError, match=message):
        pagerduty.parse(payload)


def test_pagerduty_non_object_payload_raises_payload_error() -> None:
    with pytest.raises(PayloadError, match="expected an object"):
        pagerduty.parse("incident.triggered")
