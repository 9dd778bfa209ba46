"""record_deploy / record_push: upserts on natural keys, the commit rule, deploy_recorded on commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from metrics_link.models import Commit, Deploy, Service
from metrics_link.services.deploys import record_deploy, record_push
from metrics_link.signals import deploy_recorded
from metrics_link.webhooks.types import CommitData
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

REPO = "acme/web"


def sha(n: int) -> str:
    return f"{n:040x}"


def commit(n: int, message: str = "") -> CommitData:
    return CommitData(
        sha=sha(n), message=message or f"change {n}", author="Ada", committed_at=None, url=""
    )


@pytest.fixture
def web(db):
    return ServiceFactory(slug="web", repositories=[REPO])


@pytest.fixture
def received():
    events = []

    def receiver(sender, deploy_id, **kwargs):
        events.append(deploy_id)

    deploy_recorded.connect(receiver, dispatch_uid="test-received")
    yield events
    deploy_recorded.disconnect(dispatch_uid="test-received")


def commit_shas(deploy: Deploy) -> list[str]:
    return [dc.commit.sha for dc in deploy.deploy_commits.order_by("position")]


def test_it_upserts_a_deploy_on_provider_and_external_id(web):
    first = record_deploy(
        service=web, sha=sha(1), version="v1", external_id="42", provider="github"
    )
    again = record_deploy(
        service=web, sha=sha(1), version="v1", external_id="42", provider="github"
    )
    assert first.created
    assert not again.created
    assert not again.changed
    assert again.deploy.pk == first.deploy.pk
    assert Deploy.objects.count() == 1


def test_the_same_external_id_from_another_provider_is_another_deploy(web):
    record_deploy(service=web, sha=sha(1), external_id="42", provider="github")
    record_deploy(service=web, sha=sha(1), external_id="42", provider="gitlab")
    assert Deploy.objects.count() == 2


def test_a_later_status_of_the_same_deployment_updates_it_and_is_announced(
    web, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = record_deploy(service=web, sha=sha(1), external_id="7", status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        record_deploy(service=web, sha=sha(1), external_id="7", status="success")
    with django_capture_on_commit_callbacks(execute=True):
        record_deploy(service=web, sha=sha(1), external_id="7", status="success")
    first.deploy.refresh_from_db()
    assert first.deploy.status == "success"
    assert received == [first.deploy.pk, first.deploy.pk]  # created, changed; the replay is silent


def test_deploy_recorded_is_sent_only_after_commit(
    web, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = record_deploy(service=web, sha=sha(1))
    assert received == []
    for callback in callbacks:
        callback()
    assert received == [result.deploy.pk]


def test_listed_commits_are_the_deploys_commits_in_order(web):
    result = record_deploy(service=web, sha=sha(3), commits=[commit(3), commit(1), commit(2)])
    assert commit_shas(result.deploy) == [sha(3), sha(1), sha(2)]


def test_api_style_commit_dicts_are_accepted(web):
    result = record_deploy(
        service=web, sha=sha(9), commits=[{"sha": sha(9).upper(), "message": "m", "author": "a"}]
    )
    assert commit_shas(result.deploy) == [sha(9)]


def test_without_a_list_it_takes_commits_pushed_since_the_previous_deploy(web):
    now = timezone.now()
    record_push(repository=REPO, commits=[commit(1), commit(2)])
    record_deploy(service=web, sha=sha(2), finished_at=now - timedelta(hours=2))
    record_push(repository=REPO, commits=[commit(3), commit(4)])
    record_push(repository=REPO, commits=[commit(5)])
    second = record_deploy(service=web, sha=sha(4), finished_at=now - timedelta(hours=1))
    assert commit_shas(second.deploy) == [sha(3), sha(4)]  # not 5: pushed after the deployed sha


def test_a_deploy_to_another_environment_is_not_the_previous_one(web):
    now = timezone.now()
    record_push(repository=REPO, commits=[commit(1), commit(2), commit(3)])
    record_deploy(service=web, sha=sha(1), finished_at=now - timedelta(hours=3))
    record_deploy(
        service=web, sha=sha(2), environment="staging", finished_at=now - timedelta(hours=2)
    )
    prod = record_deploy(service=web, sha=sha(3), finished_at=now - timedelta(hours=1))
    assert commit_shas(prod.deploy) == [sha(2), sha(3)]


def test_a_first_deploy_takes_everything_pushed_up_to_its_sha(web):
    record_push(repository=REPO, commits=[commit(1), commit(2), commit(3)])
    result = record_deploy(service=web, sha=sha(2))
    assert commit_shas(result.deploy) == [sha(1), sha(2)]


def test_a_rollback_to_an_older_sha_gets_only_that_commit(web):
    now = timezone.now()
    record_push(repository=REPO, commits=[commit(1), commit(2)])
    record_deploy(service=web, sha=sha(2), finished_at=now - timedelta(hours=2))
    rollback = record_deploy(service=web, sha=sha(1), finished_at=now - timedelta(hours=1))
    assert commit_shas(rollback.deploy) == [sha(1)]


def test_a_short_sha_matches_its_commit_by_prefix(web):
    record_push(repository=REPO, commits=[commit(1), commit(2)])
    result = record_deploy(service=web, sha=sha(2)[:8], provider="gitlab", external_id="5")
    assert commit_shas(result.deploy) == [sha(1), sha(2)]


def test_a_push_arriving_after_its_deploy_fills_the_deploys_commits(web):
    result = record_deploy(service=web, sha=sha(2))
    assert commit_shas(result.deploy) == []
    record_push(repository=REPO, commits=[commit(1), commit(2)])
    assert commit_shas(result.deploy) == [sha(1), sha(2)]


def test_pushes_are_numbered_in_push_order_and_replays_change_nothing(web):
    record_push(repository=REPO, commits=[commit(5), commit(3)])
    record_push(repository=REPO, commits=[commit(5), commit(3), commit(4)])
    seqs = dict(Commit.objects.values_list("sha", "push_seq"))
    assert seqs[sha(5)] < seqs[sha(3)] < seqs[sha(4)]
    assert Commit.objects.count() == 3


def test_a_push_with_no_commits_is_fine(web):
    assert record_push(repository=REPO, commits=[]) == []


def test_an_unknown_repository_creates_an_unclaimed_service():
    result = record_deploy(repository="Codertocat/Hello-World", sha=sha(1))
    service = result.deploy.service
    assert service.slug == "hello-world"
    assert not service.claimed
    assert service.repositories == ["Codertocat/Hello-World"]


def test_the_repository_defaults_to_the_services_first(web):
    assert record_deploy(service="web", sha=sha(1)).deploy.repository == REPO


def test_it_refuses_an_unknown_status(web):
    with pytest.raises(ValidationError) as exc:
        record_deploy(service=web, sha=sha(1), status="exploded")
    assert "status" in exc.value.message_dict
    assert Deploy.objects.count() == 0


def test_it_needs_a_service_or_a_repository():
    with pytest.raises(ValidationError):
        record_deploy(sha=sha(1))
    assert Service.objects.count() == 0
