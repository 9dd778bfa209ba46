"""GitLab webhooks: ``X-Gitlab-Token`` check, ``Deployment Hook`` and ``Push Hook`` parsing.

GitLab does not sign bodies: ``X-Gitlab-Token`` echoes the shared secret as plain text, so
:func:`verify` is a constant-time string comparison. ``X-Gitlab-Event-UUID`` identifies a
delivery (see :func:`delivery_key`).

Deployment payloads carry only an 8-character ``short_sha``; the full sha appears only inside
``commit_url`` (``.../-/commit/<sha>``) and is parsed out of it. **Fallback:** when the URL has no
full sha (a self-managed instance with a rewritten URL, a missing field), ``DeployEvent.sha`` is
the lower-cased ``short_sha`` instead. Callers matching deploys to commits must therefore accept
a prefix match when ``len(event.sha) < 40``; refusing the deploy outright would lose it for good,
while a short sha still identifies the commit in practice. A URL sha that contradicts
``short_sha`` is a :class:`PayloadError`.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any

from .types import (
    SHORT_SHA_LENGTH,
    DeployEvent,
    PayloadError,
    PushEvent,
    body_digest,
    get_dict,
    get_str,
    parse_commits,
    parse_timestamp,
    require_dict,
    require_id,
    require_sha,
    require_str,
)

PROVIDER = "gitlab"
TOKEN_HEADER = "X-Gitlab-Token"  # noqa: S105 - a header name, not a secret
UUID_HEADER = "X-Gitlab-Event-UUID"

# Deployment status -> DeployEvent.status. Every other status ("canceled", spelt with one "l",
# "running", "created", "blocked", anything GitLab adds later) is not a finished deploy of that
# sha: parse_deployment returns None and the delivery is stored but ignored.
_STATUSES = {"success": "success", "failed": "failed"}

_COMMIT_URL_SHA_RE = re.compile(r"/(?:-/)?commit/([0-9a-fA-F]{64}|[0-9a-fA-F]{40})(?=[/?#]|$)")
_SHORT_SHA_RE = re.compile(r"^[0-9a-f]{7,64}$")


def verify(token_header: str | None, expected: str) -> bool:
    """True when the ``X-Gitlab-Token`` value equals the configured token (constant time).

    False when either side is empty or missing.
    """
    if not expected or not token_header or not isinstance(token_header, str):
        return False
    return hmac.compare_digest(token_header.encode("utf-8"), expected.encode("utf-8"))


def delivery_key(headers_uuid: str | None, body: bytes) -> str:
    """The ``X-Gitlab-Event-UUID`` when present, else ``"sha256:" + hex`` of the raw body."""
    if headers_uuid and headers_uuid.strip():
        return headers_uuid.strip()
    return body_digest(body)


def parse_deployment(payload: Any) -> DeployEvent | None:
    """Turn a ``Deployment Hook`` payload into a :class:`DeployEvent`, or None to ignore it.

    ``status_changed_at`` uses GitLab's own ``"2025-05-02 11:55:16 +0000"`` format and becomes
    ``finished_at``; the hook carries no start time, so ``started_at`` is None.
    """
    payload = require_dict(payload, "payload")
    _expect_kind(payload, {"deployment"})
    raw_status = require_str(payload, "status", "status").strip().lower()
    status = _STATUSES.get(raw_status)
    if status is None:
        return None

    project = get_dict(payload, "project", "project")
    sha = _deployment_sha(payload)
    if payload.get("status_changed_at") is None:
        raise PayloadError("status_changed_at: missing required timestamp")
    finished_at = parse_timestamp(payload["status_changed_at"], "status_changed_at")
    user = get_dict(payload, "user", "user", required=False)
    deployer = (
        get_str(user, "username", "user.username").strip()
        or get_str(user, "name", "user.name").strip()
    )
    url = get_str(payload, "deployable_url", "deployable_url") or get_str(
        payload, "environment_external_url", "environment_external_url"
    )
    return DeployEvent(
        provider=PROVIDER,
        external_id=require_id(payload, "deployment_id", "deployment_id"),
        repository=require_str(project, "path_with_namespace", "project.path_with_namespace"),
        sha=sha,
        environment=require_str(payload, "environment", "environment").strip(),
        status=status,
        version=get_str(payload, "ref", "ref").strip() or sha[:SHORT_SHA_LENGTH],
        started_at=None,
        finished_at=finished_at,
        deployer=deployer,
        url=url,
    )


def parse_push(payload: Any) -> PushEvent:
    """Turn a ``Push Hook`` (or ``Tag Push Hook``) payload into a :class:`PushEvent`.

    GitLab truncates ``commits`` on large pushes, so ``total_commits`` is
    ``total_commits_count`` (never less than the commits actually listed).
    """
    payload = require_dict(payload, "payload")
    _expect_kind(payload, {"push", "tag_push"})
    project = get_dict(payload, "project", "project")
    commits = parse_commits(payload)
    total = payload.get("total_commits_count")
    if total is None:
        total = len(commits)
    elif isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise PayloadError("total_commits_count: expected a non-negative integer")
    return PushEvent(
        provider=PROVIDER,
        repository=require_str(project, "path_with_namespace", "project.path_with_namespace"),
        ref=require_str(payload, "ref", "ref"),
        before=require_sha(payload, "before", "before"),
        after=require_sha(payload, "after", "after"),
        commits=commits,
        total_commits=max(total, len(commits)),
    )


def _deployment_sha(payload: Mapping[str, Any]) -> str:
    short = get_str(payload, "short_sha", "short_sha").strip().lower()
    if short and not _SHORT_SHA_RE.match(short):
        raise PayloadError(f"short_sha: {short[:80]!r} is not a commit sha")
    match = _COMMIT_URL_SHA_RE.search(get_str(payload, "commit_url", "commit_url"))
    if match is not None:
        full = match[1].lower()
        if short and not full.startswith(short):
            raise PayloadError(
                f"commit_url: sha {full} does not match short_sha {short}",
            )
        return full
    if short:
        return short  # documented fallback: see the module docstring
    raise PayloadError("commit_url: no full commit sha in commit_url and no short_sha")


def _expect_kind(payload: Mapping[str, Any], kinds: set[str]) -> None:
    kind = payload.get("object_kind")
    if kind is not None and kind not in kinds:
        expected = " or ".join(sorted(kinds))
        raise PayloadError(f"object_kind: expected {expected}, got {kind!r}")
