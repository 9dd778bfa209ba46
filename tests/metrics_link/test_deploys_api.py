"""`/api/deploys/` (idempotency, filters, validation), the record_deploy command, the pages."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from metrics_link.models import Deploy
from tests.factories import CommitFactory, DeployFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client_for):
    return api_client_for(UserFactory())


@pytest.fixture
def web():
    return ServiceFactory(slug="web", repositories=["acme/web", "acme/web-assets"])


BODY = {
    "service": "web",
    "environment": "production",
    "version": "v1.2.3",
    "status": "success",
    "finished_at": "2026-01-02T10:00:00Z",
    "commits": [
        {"sha": "a" * 40, "message": "Add the thing", "author": "Ada"},
        {"sha": "b" * 40, "message": "Fix the thing", "author": "Bo", "url": "https://x.test/b"},
    ],
}


def test_it_records_a_deploy_with_its_listed_commits(api, web):
    r = api.post("/api/deploys/", BODY, format="json")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert data["service"] == "web"
    assert data["repository"] == "acme/web"  # the service's first repository
    assert [c["sha"] for c in data["commits"]] == ["a" * 40, "b" * 40]
    assert data["page_url"].endswith(f"/deploys/{data['id']}/")


def test_a_retry_with_the_same_idempotency_key_returns_the_first_deploy(api, web):
    first = api.post("/api/deploys/", BODY, format="json", headers={"Idempotency-Key": "k1"})
    again = api.post("/api/deploys/", BODY, format="json", headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Deploy.objects.count() == 1


def test_the_same_idempotency_key_with_a_different_body_is_422(api, web):
    api.post("/api/deploys/", BODY, format="json", headers={"Idempotency-Key": "k2"})
    r = api.post(
        "/api/deploys/", {**BODY, "version": "v9"}, format="json", headers={"Idempotency-Key": "k2"}
    )
    assert r.status_code == 422
    assert "different request body" in r.json()["detail"]
    assert Deploy.objects.count() == 1


def test_external_id_alone_makes_a_retry_return_the_first_result(api, web):
    body = {**BODY, "external_id": "ci-run-77"}
    first = api.post("/api/deploys/", body, format="json")
    again = api.post("/api/deploys/", body, format="json")
    conflict = api.post("/api/deploys/", {**body, "status": "failed"}, format="json")
    assert (first.status_code, again.status_code, conflict.status_code) == (201, 200, 422)
    assert Deploy.objects.count() == 1


def test_without_a_key_each_post_is_a_new_deploy(api, web):
    api.post("/api/deploys/", BODY, format="json")
    api.post("/api/deploys/", BODY, format="json")
    assert Deploy.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "exploded"}, "status"),
        ({"service": None, "repository": None}, "service"),
        ({"repository": "not a repo"}, "repository"),
        ({"finished_at": "yesterday"}, "finished_at"),
        ({"commits": [{"sha": "xyz"}]}, "commits"),
        ({"started_at": "2026-01-02T11:00:00Z"}, "started_at"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, web, change, field):
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    r = api.post("/api/deploys/", body, format="json")
    assert r.status_code == 400
    assert field in r.json()
    assert Deploy.objects.count() == 0


def test_it_needs_authentication(client, web):
    assert client.post("/api/deploys/", BODY, content_type="application/json").status_code in (
        401,
        403,
    )


def test_the_list_filters_by_service_environment_status_and_since(api, web):
    now = timezone.now()
    other = ServiceFactory(slug="api")
    keep = DeployFactory(service=web, status="failed", finished_at=now - timedelta(hours=1))
    DeployFactory(service=web, status="success", finished_at=now - timedelta(hours=1))
    DeployFactory(service=web, status="failed", environment="staging")
    DeployFactory(service=web, status="failed", finished_at=now - timedelta(days=3))
    DeployFactory(service=other, status="failed", finished_at=now - timedelta(hours=1))
    since = (now - timedelta(days=1)).isoformat()
    r = api.get(
        "/api/deploys/",
        {"service": "web", "environment": "production", "status": "failed", "since": since},
    )
    assert r.status_code == 200
    assert [d["id"] for d in r.json()["results"]] == [keep.pk]
    assert api.get("/api/deploys/", {"status": "nope"}).status_code == 400


def test_the_list_query_count_does_not_grow_with_deploys_or_commits(
    api, web, django_assert_max_num_queries
):
    def build(n):
        for _ in range(n):
            d = DeployFactory(service=web)
            for c in CommitFactory.create_batch(3, repository="acme/web"):
                d.deploy_commits.create(commit=c)

    build(1)
    with django_assert_max_num_queries(8) as one:
        api.get("/api/deploys/")
    build(49)
    with django_assert_max_num_queries(8) as fifty:
        api.get("/api/deploys/")
    assert len(one.captured_queries) == len(fifty.captured_queries)


# --- the command --------------------------------------------------------------------------------


def test_the_command_records_a_deploy_with_the_commits_pushed_since_the_last_one(web):
    CommitFactory(repository="acme/web", sha="1" * 40, push_seq=1)
    CommitFactory(repository="acme/web", sha="2" * 40, push_seq=2)
    out = StringIO()
    call_command(
        "record_deploy",
        "--service=web",
        "--version=v7",
        "--sha=" + "2" * 40,
        "--status=rolled_back",
        "--deployer=ci",
        stdout=out,
    )
    deploy = Deploy.objects.get()
    assert (deploy.version, deploy.status, deploy.provider) == ("v7", "rolled_back", "cli")
    assert deploy.commits.count() == 2
    assert f"Recorded deploy {deploy.pk}" in out.getvalue()
    assert f"/deploys/{deploy.pk}/" in out.getvalue()


def test_the_command_with_an_external_id_is_safe_to_retry(web):
    for _ in range(2):
        call_command(
            "record_deploy",
            "--service=web",
            "--version=v1",
            "--sha=abc1234",
            "--external-id=r1",
            stdout=StringIO(),
        )
    assert Deploy.objects.count() == 1


def test_the_command_refuses_a_time_without_a_zone(web):
    with pytest.raises(CommandError, match="time zone"):
        call_command(
            "record_deploy",
            "--service=web",
            "--version=v1",
            "--sha=abc1234",
            "--finished-at=2026-01-01T10:00:00",
            stdout=StringIO(),
        )


# --- pages --------------------------------------------------------------------------------------


def test_the_deploys_page_lists_and_filters_deploys(client_for, web):
    shown = DeployFactory(service=web, version="v-shown", status="failed")
    DeployFactory(service=web, version="v-hidden", status="success")
    page = client_for(UserFactory()).get("/deploys/", {"status": "failed", "period": "7d"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "v-shown" in html
    assert "v-hidden" not in html
    detail = client_for(UserFactory()).get(shown.get_absolute_url())
    assert detail.status_code == 200
    assert "v-shown" in detail.content.decode()


def test_the_deploys_page_paginates(client_for, web):
    DeployFactory.create_batch(35, service=web)
    page = client_for(UserFactory()).get("/deploys/", {"page": 2})
    assert page.status_code == 200
    assert "Page 2 of 2" in page.content.decode()


def test_a_missing_deploy_page_is_404(client_for):
    assert client_for(UserFactory()).get("/deploys/999999/").status_code == 404
