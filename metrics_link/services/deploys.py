"""Deploys and commits: upserts on natural keys, the commit rule, and the deploy webhook processors.

- `record_deploy` upserts a `Deploy` on (provider, external_id) when there is one; a retry or a
  replayed webhook changes nothing, a later status (failure → success) updates the row.
- `record_push` upserts `Commit` rows on (repository, sha), numbering them in push order.
- A deploy's commits are those it lists itself, else the commits pushed to its repository after the
  previous deploy's sha (same service and environment) up to and including its own sha.
- `deploy_recorded(deploy_id=...)` is sent on commit when a deploy is created or changes status.

`process_github` and `process_gitlab` are the deploy providers' processors (dispatched by
services/webhooks.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from ..models import Commit, Deploy, DeployCommit, IdempotencyKey, Service, WebhookDelivery
from ..signals import deploy_recorded
from ..times import time_error
from ..webhooks import github, gitlab
from ..webhooks.types import CommitData, DeployEvent, PushEvent
from .catalog import get_or_create_service, resolve_service_for_repository
from .watch import schedule_watch

# With no previous deploy to start from, a first deploy takes at most this many pushed commits.
MAX_INFERRED_COMMITS = 250
STATUSES = set(Deploy.Status.values)

UNKNOWN_STATUS = "Status must be one of: success, failed, rolled_back."
SERVICE_OR_REPOSITORY = "Name the service or the repository that was deployed."
NO_REPOSITORY = "The service {slug} lists no repository; pass the repository."


class DeployError(ValidationError):
    """A deploy that cannot be recorded (a ValidationError: the API answers 400 with it)."""

    def __init__(self, message: str, field: str):
        super().__init__({field: [message]})


@dataclass(frozen=True)
class RecordedDeploy:
    deploy: Deploy
    created: bool
    changed: bool


def _commit_data(item: CommitData | Mapping[str, Any]) -> CommitData:
    if isinstance(item, CommitData):
        return item
    return CommitData(
        sha=str(item.get("sha", "")).strip().lower(),
        message=str(item.get("message") or ""),
        author=str(item.get("author") or ""),
        committed_at=item.get("committed_at"),
        url=str(item.get("url") or ""),
    )


def _upsert_commits(repository: str, commits: Iterable[CommitData]) -> list[Commit]:
    """Upsert commits in the given order; new ones get the next push_seq numbers of the repository.

    Two pushes to one repository processed at the same moment may number their commits with the
    same push_seq; the order between those two pushes is then arbitrary, which is as much as we
    know anyway (each push's internal order is kept).
    """
    commits = [c for c in commits if c.sha]
    if not commits:
        return []
    existing = {
        c.sha: c
        for c in Commit.objects.filter(repository=repository, sha__in=[c.sha for c in commits])
    }
    seq = Commit.objects.filter(repository=repository).aggregate(m=Max("push_seq"))["m"] or 0
    result = []
    for data in commits:
        commit = existing.get(data.sha)
        if commit is None:
            seq += 1
            try:
                with transaction.atomic():
                    commit = Commit.objects.create(
                        repository=repository,
                        sha=data.sha,
                        author=data.author[:200],
                        message=data.message,
                        committed_at=data.committed_at,
                        url=data.url[:500],
                        push_seq=seq,
                    )
            except IntegrityError:  # the same push processed concurrently: the other one won
                commit = Commit.objects.get(repository=repository, sha=data.sha)
            existing[data.sha] = commit
        result.append(commit)
    return result


def _find_commit(repository: str, sha: str) -> Commit | None:
    """The commit for a full sha, or for a short one (GitLab's fallback) by prefix."""
    if not sha:
        return None
    qs = Commit.objects.filter(repository=repository)
    if len(sha) >= 40:
        return qs.filter(sha=sha).first()
    return qs.filter(sha__startswith=sha).order_by("-push_seq").first()


def _previous_deploy(deploy: Deploy) -> Deploy | None:
    return (
        Deploy.objects.filter(
            service_id=deploy.service_id,
            environment=deploy.environment,
            finished_at__lt=deploy.finished_at,
        )
        .exclude(pk=deploy.pk)
        .exclude(sha="")
        .order_by("-finished_at", "-pk")
        .first()
    )


def infer_commits(deploy: Deploy) -> list[Commit]:
    """The commits pushed after the previous deploy's sha up to and including this deploy's sha."""
    own = _find_commit(deploy.repository, deploy.sha)
    if own is None:
        return []
    qs = Commit.objects.filter(repository=deploy.repository, push_seq__lte=own.push_seq)
    previous = _previous_deploy(deploy)
    base = _find_commit(previous.repository, previous.sha) if previous else None
    if previous is not None and base is not None and previous.repository == deploy.repository:
        if base.push_seq >= own.push_seq:
            return [own]  # a rollback or redeploy of an older sha: only its own commit
        return list(qs.filter(push_seq__gt=base.push_seq).order_by("push_seq"))
    return list(reversed(qs.order_by("-push_seq")[:MAX_INFERRED_COMMITS]))


def _set_commits(deploy: Deploy, commits: list[Commit]) -> None:
    DeployCommit.objects.filter(deploy=deploy).delete()
    DeployCommit.objects.bulk_create(
        [DeployCommit(deploy=deploy, commit=c, position=i) for i, c in enumerate(commits)]
    )


def _resolve_service(service: Service | str | None, repository: str) -> Service:
    if isinstance(service, Service):
        return service
    if service:
        return get_or_create_service(slug=str(service))
    if repository:
        return resolve_service_for_repository(repository)
    raise DeployError(SERVICE_OR_REPOSITORY, "service")


def _check_times(**times: datetime | None) -> None:
    for field, value in times.items():
        message = time_error(value, field)
        if message:
            raise DeployError(message, field)


@transaction.atomic
def record_deploy(
    *,
    service: Service | str | None = None,
    repository: str = "",
    environment: str = "production",
    sha: str = "",
    version: str = "",
    status: str = Deploy.Status.SUCCESS,
    finished_at: datetime | None = None,
    started_at: datetime | None = None,
    status_at: datetime | None = None,
    deployer: str = "",
    url: str = "",
    provider: str = Deploy.Provider.API,
    external_id: str = "",
    commits: Iterable[CommitData | Mapping[str, Any]] | None = None,
) -> RecordedDeploy:
    """Create or update a deploy and link its commits. Safe to repeat with the same input.

    Statuses of one deployment arrive in any order, so each carries its own time:
    - `status_at` is when the sender says the status was reached (webhooks pass the provider's
      timestamp; API and CLI leave it None: the moment we record it). A status older than the
      stored one changes nothing (a failure dated before the recorded success is history).
    - `finished_at` is set when the deploy is created (the first terminal status) and moves only
      when a caller passes it explicitly *without* a `status_at`, i.e. over the API or CLI.
      A webhook's second `success` never moves it: past incidents' suspects would change.
    """
    if status not in STATUSES:
        raise DeployError(UNKNOWN_STATUS, "status")
    _check_times(finished_at=finished_at, started_at=started_at, status_at=status_at)
    explicit_finish = finished_at is not None and status_at is None
    now = timezone.now()
    status_at = status_at or now
    repository = (repository or "").strip()
    svc = _resolve_service(service, repository)
    if not repository:
        repository = (svc.repositories or [""])[0]
    sha = (sha or "").strip().lower()
    environment = (environment or "production").strip()
    external_id = (external_id or "").strip()[:200]
    fields = {
        "service": svc,
        "environment": environment[:100],
        "repository": repository[:200],
        "sha": sha[:64],
        "version": (version or sha[:7])[:200],
        "status": status,
        "status_at": status_at,
        "started_at": started_at,
        "finished_at": finished_at or now,
        "deployer": (deployer or "")[:200],
        "url": (url or "")[:500],
    }
    deploy = None
    created = changed = False
    if external_id:
        deploy = (
            Deploy.objects.select_for_update()
            .filter(provider=provider, external_id=external_id)
            .first()
        )
    if deploy is None:
        try:
            # Two deliveries of one deployment race here; the unique (provider, external_id)
            # constraint lets one insert win and the other falls back to updating that row.
            with transaction.atomic():
                deploy = Deploy.objects.create(provider=provider, external_id=external_id, **fields)
            created = changed = True
        except IntegrityError:
            deploy = Deploy.objects.select_for_update().get(
                provider=provider, external_id=external_id
            )
    if not created:
        updates = _later_status_updates(deploy, fields, explicit_finish=explicit_finish)
        if updates:
            changed = "status" in updates
            for k, v in updates.items():
                setattr(deploy, k, v)
            deploy.save(update_fields=[*updates, "updated_at"])
    listed = [_commit_data(c) for c in commits or []]
    if listed:
        _set_commits(deploy, _upsert_commits(deploy.repository, listed))
    elif created:
        _set_commits(deploy, infer_commits(deploy))
    if changed:
        schedule_watch(deploy)
        deploy_id = deploy.pk
        transaction.on_commit(
            lambda: deploy_recorded.send(sender=Deploy, deploy_id=deploy_id), robust=True
        )
    return RecordedDeploy(deploy=deploy, created=created, changed=changed)


def _later_status_updates(
    deploy: Deploy, fields: dict[str, Any], *, explicit_finish: bool
) -> dict[str, Any]:
    """What a later event of the same deployment changes (a failure, then a successful retry).

    Only a status at least as new as the stored one is taken (with its url and deployer); an
    older one arrived late and is ignored. `finished_at` moves only when given explicitly.
    """
    wanted: dict[str, Any] = {}
    if deploy.status_at is None or fields["status_at"] >= deploy.status_at:
        wanted = {k: fields[k] for k in ("status", "status_at", "url", "deployer")}
    if explicit_finish:
        wanted["finished_at"] = fields["finished_at"]
    updates = {k: v for k, v in wanted.items() if v and getattr(deploy, k) != v}
    if set(updates) == {"status_at"}:
        return {}  # the same status again: nothing worth a write
    return updates


@transaction.atomic
def record_push(
    *, repository: str, commits: Iterable[CommitData | Mapping[str, Any]]
) -> list[Commit]:
    """Store pushed commits in push order. Deploys of these shas recorded before their push
    arrived (webhooks come in any order) get their commits now."""
    repository = repository.strip()
    saved = _upsert_commits(repository, [_commit_data(c) for c in commits])
    if saved:
        shas = [c.sha for c in saved]
        short = Q()
        for s in {c.sha[:8] for c in saved}:
            short |= Q(sha=s)
        waiting = (
            Deploy.objects.filter(repository=repository)
            .filter(Q(sha__in=shas) | short)
            .filter(deploy_commits__isnull=True)
            .order_by("finished_at")
        )
        for deploy in waiting:
            _set_commits(deploy, infer_commits(deploy))
    return saved


# --- webhook processors -------------------------------------------------------------------------


def _record_event(event: DeployEvent) -> str:
    record_deploy(
        repository=event.repository,
        environment=event.environment,
        sha=event.sha,
        version=event.version,
        status=event.status,
        finished_at=event.finished_at,
        started_at=event.started_at,
        status_at=event.finished_at,  # the provider's own time for this status
        deployer=event.deployer,
        url=event.url,
        provider=event.provider,
        external_id=event.external_id,
    )
    return WebhookDelivery.Status.PROCESSED


def _record_push_event(event: PushEvent) -> str:
    record_push(repository=event.repository, commits=event.commits)
    return WebhookDelivery.Status.PROCESSED


def _payload(delivery: WebhookDelivery) -> Any:
    return json.loads(bytes(delivery.body))


def process_github(delivery: WebhookDelivery) -> str:
    event = delivery.event
    if event == "deployment_status":
        parsed = github.parse_deployment_status(_payload(delivery))
        return _record_event(parsed) if parsed else WebhookDelivery.Status.IGNORED
    if event == "push":
        return _record_push_event(github.parse_push(_payload(delivery)))
    return WebhookDelivery.Status.IGNORED  # ping and every other event: stored, nothing to do


def process_gitlab(delivery: WebhookDelivery) -> str:
    event = delivery.event
    if event == "Deployment Hook":
        parsed = gitlab.parse_deployment(_payload(delivery))
        return _record_event(parsed) if parsed else WebhookDelivery.Status.IGNORED
    if event in ("Push Hook", "Tag Push Hook"):
        return _record_push_event(gitlab.parse_push(_payload(delivery)))
    return WebhookDelivery.Status.IGNORED


# --- idempotent API writes ----------------------------------------------------------------------

IDEMPOTENCY_CONFLICT = (
    "This Idempotency-Key (or external_id) was already used with a different request body. "
    "Use a new key for a new deploy."
)


class IdempotencyConflict(Exception):
    """Same key, different body: the caller is confused; the API answers 422."""


@transaction.atomic
def record_deploy_once(*, key: str, request_hash: str, **fields: Any) -> RecordedDeploy:
    """`record_deploy` guarded by an idempotency key: a retry returns the first result.

    Two concurrent requests with one key race to insert the key; the unique (scope, key)
    constraint makes the loser wait for the winner's commit, then it reads the winner's deploy.
    """
    key = key[:200]
    try:
        with transaction.atomic():
            claim = IdempotencyKey.objects.create(
                scope="deploys", key=key, request_hash=request_hash
            )
    except IntegrityError:
        first = IdempotencyKey.objects.select_related("deploy__service").get(
            scope="deploys", key=key
        )
        if first.request_hash != request_hash:
            raise IdempotencyConflict(IDEMPOTENCY_CONFLICT) from None
        assert first.deploy is not None  # noqa: S101 (set in the winner's transaction, committed)
        return RecordedDeploy(deploy=first.deploy, created=False, changed=False)
    result = record_deploy(**fields)
    claim.deploy = result.deploy
    claim.save(update_fields=["deploy"])
    return result
