"""GitHub webhooks: ``X-Hub-Signature-256`` check, ``deployment_status`` and ``push`` parsing.

The event name comes from the ``X-GitHub-Event`` header (the body has no event-type field) and
redeliveries are recognised by ``X-GitHub-Delivery``; both are the view's business. This module
only verifies the raw body and turns a decoded payload into :mod:`.types` values.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from .types import (
    SHORT_SHA_LENGTH,
    DeployEvent,
    PayloadError,
    PushEvent,
    get_dict,
    get_str,
    parse_commits,
    parse_timestamp,
    require_dict,
    require_id,
    require_sha,
    require_str,
)

PROVIDER = "github"
SIGNATURE_HEADER = "X-Hub-Signature-256"

_SIGNATURE_RE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")

# deployment_status.state -> DeployEvent.status; every other state (pending, in_progress,
# queued, waiting, inactive, anything GitHub adds later) is not a finished deploy: ignore it.
_STATES = {"success": "success", "failure": "failed", "error": "failed"}


def verify(body: bytes, signature_header: str | None, secret: str) -> bool:
    """True when ``signature_header`` is ``sha256=<hex HMAC-SHA256 of body keyed with secret>``.

    ``body`` must be the raw request bytes, before any JSON decoding. A missing or malformed
    header, or an empty secret, never verifies. The comparison is constant time.
    """
    if not secret or not signature_header or not isinstance(signature_header, str):
        return False
    match = _SIGNATURE_RE.match(signature_header.strip())
    if match is None:
        return False
    expected = hmac.new(secret.encode("utf-8"), bytes(body), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match[1].lower())


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body`` (tests, local tools)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), bytes(body), hashlib.sha256).hexdigest()


def parse_deployment_status(payload: Any) -> DeployEvent | None:
    """Turn a ``deployment_status`` event into a :class:`DeployEvent`, or None to ignore it.

    ``success`` gives "success", ``failure`` and ``error`` give "failed"; every other state
    (pending, in_progress, queued, inactive, ...) returns None. The environment, sha and ref are
    read from the embedded ``deployment`` object: old payloads have no
    ``deployment_status.environment`` and no top-level ``action``.
    """
    payload = require_dict(payload, "payload")
    status_obj = get_dict(payload, "deployment_status", "deployment_status")
    state = require_str(status_obj, "state", "deployment_status.state").strip().lower()
    status = _STATES.get(state)
    if status is None:
        return None

    deployment = get_dict(payload, "deployment", "deployment")
    repository = get_dict(payload, "repository", "repository")

    environment = get_str(deployment, "environment", "deployment.environment").strip()
    if not environment:
        environment = get_str(status_obj, "environment", "deployment_status.environment").strip()
    if not environment:
        raise PayloadError("deployment.environment: missing required string")

    sha = require_sha(deployment, "sha", "deployment.sha")
    version = get_str(deployment, "ref", "deployment.ref").strip() or sha[:SHORT_SHA_LENGTH]

    finished_raw = status_obj.get("updated_at") or status_obj.get("created_at")
    if finished_raw is None:
        raise PayloadError("deployment_status.updated_at: missing (and no created_at either)")
    finished_at = parse_timestamp(finished_raw, "deployment_status.updated_at")
    started_raw = deployment.get("created_at")
    started_at = (
        parse_timestamp(started_raw, "deployment.created_at") if started_raw is not None else None
    )

    deployer = _login(status_obj, "deployment_status.creator") or _login(
        deployment, "deployment.creator"
    )
    url = (
        get_str(status_obj, "target_url", "deployment_status.target_url")
        or get_str(status_obj, "log_url", "deployment_status.log_url")
        or get_str(status_obj, "environment_url", "deployment_status.environment_url")
    )

    return DeployEvent(
        provider=PROVIDER,
        external_id=require_id(deployment, "id", "deployment.id"),
        repository=require_str(repository, "full_name", "repository.full_name"),
        sha=sha,
        environment=environment,
        status=status,
        version=version,
        started_at=started_at,
        finished_at=finished_at,
        deployer=deployer,
        url=url,
    )


def parse_push(payload: Any) -> PushEvent:
    """Turn a ``push`` event into a :class:`PushEvent`.

    Commits keep push order and are de-duplicated by sha, first occurrence wins (real payloads
    have been seen with the same commit repeated). A branch or tag deletion (``after`` all
    zeros, ``commits: []``, ``head_commit: null``) gives an event with no commits.
    ``total_commits`` is the number of distinct commits.
    """
    payload = require_dict(payload, "payload")
    repository = get_dict(payload, "repository", "repository")
    commits = parse_commits(payload)
    return PushEvent(
        provider=PROVIDER,
        repository=require_str(repository, "full_name", "repository.full_name"),
        ref=require_str(payload, "ref", "ref"),
        before=require_sha(payload, "before", "before"),
        after=require_sha(payload, "after", "after"),
        commits=commits,
        total_commits=len(commits),
    )


def _login(obj: Mapping[str, Any], field: str) -> str:
    creator = get_dict(obj, "creator", field, required=False)
    return get_str(creator, "login", f"{field}.login").strip()
