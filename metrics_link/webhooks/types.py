"""Shared value types and small payload helpers for the inbound webhook providers.

Nothing here touches Django, the database or HTTP: provider modules turn a decoded JSON
payload into these frozen dataclasses, and the views decide what to store.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ..times import time_error

__all__ = [
    "AlertData",
    "CommitData",
    "DeployEvent",
    "PayloadError",
    "PushEvent",
    "body_digest",
    "get_dict",
    "get_list",
    "get_str",
    "is_full_sha",
    "parse_commits",
    "parse_timestamp",
    "require_dict",
    "require_id",
    "require_sha",
    "require_str",
    "sha256_hex",
]


class PayloadError(ValueError):
    """Malformed or unusable payload; message is shown to the sender in a 400."""


@dataclass(frozen=True)
class CommitData:
    sha: str
    message: str
    author: str
    committed_at: datetime | None
    url: str


@dataclass(frozen=True)
class DeployEvent:
    provider: str  # "github" | "gitlab"
    # provider's deployment id as str (GitHub: deployment.id; GitLab: deployment_id)
    external_id: str
    repository: str  # "owner/name" (GitLab: project path_with_namespace)
    sha: str  # full 40-char sha (GitLab: short_sha only if commit_url carries none)
    environment: str
    status: str  # "success" | "failed" | "rolled_back"
    version: str  # tag/ref or short sha if nothing better
    started_at: datetime | None
    finished_at: datetime  # aware UTC
    deployer: str
    url: str


@dataclass(frozen=True)
class PushEvent:
    provider: str
    repository: str
    ref: str
    before: str
    after: str
    commits: tuple[CommitData, ...]  # in push order, de-duplicated by sha keeping first occurrence
    total_commits: int  # GitLab total_commits_count (may exceed len(commits)); GitHub len


@dataclass(frozen=True)
class AlertData:
    source: str  # "alertmanager" | "pagerduty"
    dedupe_key: str  # sha256 hex; see each provider module for its recipe
    service: str  # raw service name (caller slugifies)
    name: str
    severity: str  # PagerDuty: "critical" | "warning"; Alertmanager: its `severity` label as sent
    status: str  # "firing" | "resolved"
    labels: dict[str, str]
    summary: str
    starts_at: datetime  # aware UTC
    ends_at: datetime | None  # None while firing / zero time
    url: str


# --------------------------------------------------------------------------------------
# Helpers shared by the provider modules.
# --------------------------------------------------------------------------------------

SHORT_SHA_LENGTH = 7

_TIMESTAMP_RE = re.compile(
    r"""
    ^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    [Tt\ ]
    (?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})
    (?:[.,](?P<fraction>\d+))?
    \ ?
    (?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)$
    """,
    re.VERBOSE,
)


def sha256_hex(data: str | bytes) -> str:
    """Lower-case hex SHA-256 of ``data`` (str is encoded as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def body_digest(body: bytes) -> str:
    """``"sha256:" + hex`` of a raw request body, used as a delivery key of last resort."""
    return "sha256:" + hashlib.sha256(bytes(body)).hexdigest()


def parse_timestamp(value: Any, field: str) -> datetime:
    """Parse a provider timestamp into an aware UTC datetime.

    Accepts ISO 8601 with ``T`` or a space between date and time, ``Z`` or a numeric offset
    (``+01:00``, ``+0100``, ``+01``), an optional space before the offset (GitLab's
    ``2025-05-02 11:55:16 +0000``) and any number of fractional digits (Alertmanager sends
    nanoseconds; anything beyond microseconds is truncated, never rounded). Integers are Unix
    seconds (GitHub's push ``repository.created_at``). A timestamp without a zone is rejected:
    guessing one would silently shift incident timelines. Times outside 1970 .. now + 1 day are
    a PayloadError (see :mod:`metrics_link.times`).
    """
    if isinstance(value, bool):
        raise PayloadError(f"{field}: expected a timestamp, got a boolean")
    if isinstance(value, int | float):
        try:
            parsed = datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise PayloadError(f"{field}: Unix timestamp {value!r} is out of range") from exc
        return _in_range(parsed, field)
    if not isinstance(value, str):
        raise PayloadError(f"{field}: expected a timestamp string, got {_type_name(value)}")
    match = _TIMESTAMP_RE.match(value.strip())
    if match is None:
        raise PayloadError(f"{field}: {value!r} is not an ISO 8601 timestamp with a time zone")
    tz = _parse_zone(match["tz"], field, value)
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    try:
        parsed = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            int(fraction),
            tzinfo=tz,
        ).astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise PayloadError(f"{field}: {value!r} is not a valid date and time") from exc
    return _in_range(parsed, field)


def _in_range(value: datetime, field: str) -> datetime:
    """Times before 1970 or over a day ahead (Go's zero time, typos) are refused, never stored."""
    message = time_error(value, field)
    if message:
        raise PayloadError(message)
    return value


def _parse_zone(raw: str, field: str, value: str) -> timezone:
    if raw in ("Z", "z"):
        return UTC
    sign = -1 if raw[0] == "-" else 1
    digits = raw[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4] or "0")
    if hours > 23 or minutes > 59:
        raise PayloadError(f"{field}: {value!r} has an invalid UTC offset")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def require_dict(value: Any, field: str) -> Mapping[str, Any]:
    """``value`` itself must be a JSON object."""
    if not isinstance(value, dict):
        raise PayloadError(f"{field}: expected an object, got {_type_name(value)}")
    return value


def get_dict(
    obj: Mapping[str, Any], key: str, field: str, *, required: bool = True
) -> Mapping[str, Any]:
    """``obj[key]`` as an object; missing or null gives ``{}`` unless ``required``."""
    value = obj.get(key)
    if value is None:
        if required:
            raise PayloadError(f"{field}: missing required object")
        return {}
    return require_dict(value, field)


def get_list(obj: Mapping[str, Any], key: str, field: str, *, required: bool = False) -> list[Any]:
    """``obj[key]`` as an array; missing or null gives ``[]`` unless ``required``."""
    value = obj.get(key)
    if value is None:
        if required:
            raise PayloadError(f"{field}: missing required array")
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{field}: expected an array, got {_type_name(value)}")
    return value


def require_str(obj: Mapping[str, Any], key: str, field: str) -> str:
    """``obj[key]`` must be a non-empty string."""
    value = obj.get(key)
    if value is None:
        raise PayloadError(f"{field}: missing required string")
    if not isinstance(value, str):
        raise PayloadError(f"{field}: expected a string, got {_type_name(value)}")
    if not value.strip():
        raise PayloadError(f"{field}: must not be empty")
    return value


def get_str(obj: Mapping[str, Any], key: str, field: str) -> str:
    """Optional string: missing or null gives ``""``; any other non-string is an error."""
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{field}: expected a string, got {_type_name(value)}")
    return value


_FULL_SHA_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def require_sha(obj: Mapping[str, Any], key: str, field: str) -> str:
    """``obj[key]`` must be a full commit sha (40 hex, or 64 for SHA-256 repositories).

    Returned lower-cased so that shas from different providers compare equal.
    """
    value = require_str(obj, key, field).strip().lower()
    if not _FULL_SHA_RE.match(value):
        raise PayloadError(f"{field}: {value[:80]!r} is not a full commit sha")
    return value


def is_full_sha(value: str) -> bool:
    return bool(_FULL_SHA_RE.match(value))


def require_id(obj: Mapping[str, Any], key: str, field: str) -> str:
    """``obj[key]`` as a string id: JSON integers (not booleans) or non-empty strings."""
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if value is None:
        raise PayloadError(f"{field}: missing required id")
    raise PayloadError(f"{field}: expected a number or string id, got {_type_name(value)}")


def parse_commits(payload: Mapping[str, Any]) -> tuple[CommitData, ...]:
    """``payload["commits"]`` (GitHub and GitLab share the shape) as :class:`CommitData`.

    Push order is kept and commits are de-duplicated by sha, first occurrence wins. Messages
    lose trailing whitespace (GitLab ends them in a newline); the author is ``author.name``,
    else ``author.username``, else "".
    """
    commits: dict[str, CommitData] = {}
    for index, raw in enumerate(get_list(payload, "commits", "commits")):
        field = f"commits[{index}]"
        commit = require_dict(raw, field)
        sha = require_sha(commit, "id", f"{field}.id")
        if sha in commits:
            continue
        author = get_dict(commit, "author", f"{field}.author", required=False)
        author_name = get_str(author, "name", f"{field}.author.name").strip() or get_str(
            author, "username", f"{field}.author.username"
        )
        timestamp = commit.get("timestamp")
        commits[sha] = CommitData(
            sha=sha,
            message=get_str(commit, "message", f"{field}.message").rstrip(),
            author=author_name.strip(),
            committed_at=parse_timestamp(timestamp, f"{field}.timestamp") if timestamp else None,
            url=get_str(commit, "url", f"{field}.url"),
        )
    return tuple(commits.values())
