"""The immune system's scheduling and API: every successful production deploy gets a verdict."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from django.utils import timezone

from metrics_link import tasks
from metrics_link.models import Deploy, DeployWatch, MetricPoint, MetricSeries, OutboxMessage
from metrics_link.services.deploys import record_deploy
from metrics_link.services.sweep import sweep_pending
from metrics_link.services.watch import backfill_verdicts, judge_deploy
from metrics_link.signals import deploy_judged
from tests.factories import MetricSeriesFactory, ServiceFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def minute(moment):
    return moment.replace(second=0, microsecond=0)


def series_around(name, end, *, before=100.0, after=100.0, week=None, service=None, **fields):
    """A watched series with one point a minute for 30 minutes either side of `end`."""
    series = MetricSeriesFactory(name=name, watched=True, service=service, **fields)
    rng = random.Random(name)
    rows = []
    for offset in range(-30, 31):
        ts = minute(end) + timedelta(minutes=offset)
        level = after if ts > end else before
        rows.append(MetricPoint(series=series, ts=ts, value=level * (1 + rng.gauss(0, 0.02))))
        if week is not None:
            rows.append(
                MetricPoint(
                    series=series,
                    ts=ts - timedelta(days=7),
                    value=week * (1 + rng.gauss(0, 0.02)),
                )
            )
    MetricPoint.objects.bulk_create(rows)
    return series


@pytest.fixture
def published(monkeypatch):
    calls: list[tuple[str, tuple, dict]] = []
    for task in (
        tasks.judge_deploy_task,
        tasks.send_outbox_message_task,
        tasks.process_delivery_task,
    ):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda args=(), _n=task.name, **kw: calls.append((_n, tuple(args), kw)),
        )
    return calls


@pytest.fixture
def judged():
    seen = []

    def receiver(sender, watch_id, status, **kwargs):
        seen.append((watch_id, status))

    deploy_judged.connect(receiver)
    yield seen
    deploy_judged.disconnect(receiver)


def test_a_production_deploy_is_watched_for_the_window_after_it(
    settings, published, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.DEPLOY_WATCH_SECONDS = 600
    with django_capture_on_commit_callbacks(execute=True):
        deploy = record_deploy(service="profile-web", version="v2.41.0").deploy
    watch = deploy.watch
    assert watch.status == DeployWatch.Status.WATCHING
    assert watch.due_at == deploy.finished_at + timedelta(seconds=600)
    assert published[0][0] == tasks.judge_deploy_task.name
    assert published[0][2]["countdown"] == pytest.approx(600, abs=5)


def test_staging_and_failed_deploys_are_not_watched():
    staging = record_deploy(service="web", environment="staging").deploy
    failed = record_deploy(service="web", status="failed").deploy
    assert not DeployWatch.objects.filter(deploy__in=[staging, failed]).exists()


def test_a_failed_deploy_that_later_succeeds_is_watched_once():
    record_deploy(service="web", status="failed", external_id="d-1")
    record_deploy(service="web", status="success", external_id="d-1")
    record_deploy(service="web", status="success", external_id="d-1")
    assert DeployWatch.objects.count() == 1


def test_a_watch_is_not_judged_before_its_window_has_passed():
    deploy = record_deploy(service="web").deploy
    assert judge_deploy(deploy.pk).status == DeployWatch.Status.WATCHING


def test_a_backfilled_deploy_is_judged_at_once(
    django_capture_on_commit_callbacks, judged, monkeypatch
):
    # The hint is published at once (no countdown); a worker runs it (here: in-process).
    monkeypatch.setattr(
        tasks.judge_deploy_task,
        "apply_async",
        lambda args=(), **kw: None if kw.get("countdown") else tasks.judge_deploy_task.run(*args),
    )
    end = timezone.now() - timedelta(hours=2)
    series_around("logins", end, before=100, after=60)
    with django_capture_on_commit_callbacks(execute=True):
        deploy = record_deploy(service="web", finished_at=end).deploy
    watch = DeployWatch.objects.get(deploy=deploy)
    assert watch.status == DeployWatch.Status.REGRESSED
    assert watch.decided_at is not None
    assert watch.results[0]["name"] == "logins" and watch.results[0]["passed"] is False
    assert judged == [(watch.pk, "regressed")]


def test_the_sweep_judges_a_due_watch_whose_task_the_broker_lost(settings, published):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    deploy = record_deploy(service="web").deploy  # on_commit hint never ran: a lost publish
    DeployWatch.objects.filter(deploy=deploy).update(due_at=timezone.now() - timedelta(seconds=1))
    result = sweep_pending()
    assert result.watches == [deploy.pk]
    assert (tasks.judge_deploy_task.name, (deploy.pk,), {}) in published


def test_judging_twice_decides_once(judged, django_capture_on_commit_callbacks):
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end)
    deploy = record_deploy(service="web", finished_at=end).deploy
    with django_capture_on_commit_callbacks(execute=True):
        first = judge_deploy(deploy.pk)
    decided_at = first.decided_at
    with django_capture_on_commit_callbacks(execute=True):
        second = judge_deploy(deploy.pk)
    assert first.status == second.status == DeployWatch.Status.HEALTHY
    assert second.decided_at == decided_at
    assert len(judged) == 1


def test_a_service_series_judges_only_that_services_deploys():
    end = timezone.now() - timedelta(hours=1)
    other = ServiceFactory(slug="billing")
    series_around("billing-errors", end, before=10, after=50, service=other, bad_direction="rise")
    deploy = record_deploy(service="web", finished_at=end).deploy
    watch = judge_deploy(deploy.pk)
    assert watch.status == DeployWatch.Status.NO_DATA
    assert "No watched metric applies" in watch.notes


def test_a_metric_without_points_is_no_data_saying_how_many_are_needed():
    MetricSeriesFactory(name="logins", watched=True)
    deploy = record_deploy(service="web", finished_at=timezone.now() - timedelta(hours=1)).deploy
    watch = judge_deploy(deploy.pk)
    assert watch.status == DeployWatch.Status.NO_DATA
    assert "5 needed" in watch.results[0]["reason"]


def test_a_first_deploy_says_there_is_nothing_to_roll_back_to():
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end)
    deploy = record_deploy(service="web", finished_at=end).deploy
    assert "nothing to roll back to" in judge_deploy(deploy.pk).notes


def test_a_deploy_stamped_in_the_future_is_not_judged_and_says_why():
    deploy = record_deploy(service="web", finished_at=timezone.now() + timedelta(hours=3)).deploy
    watch = DeployWatch.objects.get(deploy=deploy)
    assert watch.status == DeployWatch.Status.NO_DATA
    assert "skewed" in watch.notes


def test_an_overlapping_deploy_of_the_same_service_shortens_the_window():
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end)
    record_deploy(service="web", finished_at=end - timedelta(minutes=3))
    deploy = record_deploy(service="web", finished_at=end).deploy
    watch = judge_deploy(deploy.pk)
    assert "window before is shortened" in watch.notes


# --- API ----------------------------------------------------------------------------------------


def test_a_pipeline_polls_the_verdict(api_client_for, user):
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end, before=100, after=60, critical=True)
    deploy = record_deploy(service="web", finished_at=end).deploy
    api = api_client_for(user)
    assert api.get(f"/api/deploys/{deploy.pk}/watch/").json()["status"] == "watching"
    judge_deploy(deploy.pk)
    body = api.get(f"/api/deploys/{deploy.pk}/watch/").json()
    assert body["status"] == "regressed" and body["score"] == 0.0
    metric = body["metrics"][0]
    assert set(metric) == {
        "name",
        "passed",
        "critical",
        "bad_direction",
        "baseline_median",
        "after_median",
        "change",
        "p_value",
        "reason",
    }
    assert metric["passed"] is False and metric["change"] < -0.3


def test_an_unwatched_or_unknown_deploy_is_a_404_with_a_reason(api_client_for, user):
    staging = record_deploy(service="web", environment="staging").deploy
    api = api_client_for(user)
    answer = api.get(f"/api/deploys/{staging.pk}/watch/")
    assert answer.status_code == 404 and "not watched" in answer.json()["detail"]
    assert api.get("/api/deploys/99999/watch/").status_code == 404


def test_the_watch_endpoint_is_in_the_openapi_schema(api_client_for, user):
    schema = api_client_for(user).get("/api/schema/").content.decode()
    assert "/api/deploys/{id}/watch/" in schema
    assert "/api/metrics/{name}/" in schema


def test_the_services_team_watches_its_series(api_client_for, user):
    team = TeamFactory(manager=user, members=[user])
    svc = ServiceFactory(team=team, slug="checkout")
    MetricSeriesFactory(name="checkout-errors", service=svc)
    answer = api_client_for(user).patch(
        "/api/metrics/checkout-errors/",
        {"watched": True, "bad_direction": "rise", "critical": True, "min_change": 0.1},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    series = MetricSeries.objects.get(name="checkout-errors")
    assert (series.watched, series.bad_direction, series.critical, series.min_change) == (
        True,
        "rise",
        True,
        0.1,
    )


def test_another_team_cannot_watch_a_series_and_nothing_changes(api_client_for, user):
    svc = ServiceFactory(slug="checkout")  # another team's
    MetricSeriesFactory(name="checkout-errors", service=svc)
    answer = api_client_for(user).patch(
        "/api/metrics/checkout-errors/", {"watched": True}, format="json"
    )
    assert answer.status_code == 403
    assert "Only the team of checkout" in answer.json()["detail"]
    assert MetricSeries.objects.get(name="checkout-errors").watched is False


def test_only_an_administrator_changes_a_company_wide_series(api_client_for, user):
    MetricSeriesFactory(name="logins")
    answer = api_client_for(user).patch("/api/metrics/logins/", {"watched": True}, format="json")
    assert answer.status_code == 403 and "administrator" in answer.json()["detail"]
    admin = UserFactory(is_superuser=True, is_staff=True)
    answer = api_client_for(admin).patch(
        "/api/metrics/logins/", {"watched": True, "bad_direction": "drop"}, format="json"
    )
    assert answer.status_code == 200
    assert MetricSeries.objects.get(name="logins").watched is True


def test_bad_settings_are_a_400_and_change_nothing(api_client_for):
    admin = UserFactory(is_superuser=True, is_staff=True)
    MetricSeriesFactory(name="logins")
    api = api_client_for(admin)
    answer = api.patch("/api/metrics/logins/", {"bad_direction": "sideways"}, format="json")
    assert answer.status_code == 400 and "bad_direction" in answer.json()
    answer = api.patch("/api/metrics/logins/", {"min_change": -1, "watched": True}, format="json")
    assert answer.status_code == 400 and "min_change" in answer.json()
    # Typed JSON like every input: "" is not null, "yes" is not true.
    for bad in ({"service": "", "watched": True}, {"watched": "yes"}):
        answer = api.patch("/api/metrics/logins/", bad, format="json")
        assert answer.status_code == 400 and set(bad) - {"watched"} <= set(answer.json())
    assert MetricSeries.objects.get(name="logins").watched is False
    assert api.get("/api/metrics/nope/").status_code == 404
    assert api.get("/api/metrics/logins/").json()["min_change"] == 0.05


# --- pages --------------------------------------------------------------------------------------


def test_the_deploy_page_shows_the_verdict_with_a_chart_per_metric(client_for, user):
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end, before=100, after=60, week=100, label="Logins")
    deploy = record_deploy(service="web", version="v7", finished_at=end).deploy
    judge_deploy(deploy.pk)
    page = client_for(user).get(f"/deploys/{deploy.pk}/").content.decode()
    assert "Immune system" in page and "Regressed" in page
    assert "<svg" in page and "after the deploy" in page
    listing = client_for(user).get("/deploys/").content.decode()
    assert "badge-danger" in listing and "Regressed" in listing


def test_a_deploy_being_watched_says_when_the_verdict_comes(client_for, user):
    deploy = record_deploy(service="web").deploy
    page = client_for(user).get(f"/deploys/{deploy.pk}/").content.decode()
    assert "the verdict comes at" in page


# --- bad input: no_data or a clear reason, never a crash ----------------------------------------


def test_a_metric_with_points_after_but_none_before_says_which_window_is_short():
    end = timezone.now() - timedelta(hours=1)
    series = series_around("logins", end)
    MetricPoint.objects.filter(series=series, ts__lte=end).delete()
    deploy = record_deploy(service="web", finished_at=end).deploy
    watch = judge_deploy(deploy.pk)
    assert watch.status == DeployWatch.Status.NO_DATA
    assert "got 0 in the window before" in watch.results[0]["reason"]


def test_a_metric_without_data_beside_one_with_data_is_left_out_and_said_so():
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end)
    MetricSeriesFactory(name="signups", watched=True)  # never received a point
    deploy = record_deploy(service="web", finished_at=end).deploy
    watch = judge_deploy(deploy.pk)
    assert watch.status == DeployWatch.Status.HEALTHY
    assert "1 metric(s) not judged: too few points." in watch.notes
    signups = next(r for r in watch.results if r["name"] == "signups")
    assert signups["passed"] is None and "5 needed" in signups["reason"]


def test_a_first_deploy_that_regressed_has_no_rollback_target_in_its_hook(settings):
    settings.DEPLOY_WATCH_HOOK_URL = "http://127.0.0.1:9/rollback"
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end, before=100, after=50, critical=True)
    deploy = record_deploy(service="web", finished_at=end).deploy
    watch = judge_deploy(deploy.pk)
    assert watch.status == DeployWatch.Status.REGRESSED
    assert "nothing to roll back to" in watch.notes
    body = json.loads(OutboxMessage.objects.get(channel="hook").payload["body"])
    assert body["rollback_to"] is None


def test_a_deploy_stamped_in_the_future_reads_as_no_data_with_its_reason(
    api_client_for, client_for, user
):
    deploy = record_deploy(service="web", finished_at=timezone.now() + timedelta(hours=3)).deploy
    body = api_client_for(user).get(f"/api/deploys/{deploy.pk}/watch/").json()
    assert body["status"] == "no_data" and body["metrics"] == []
    assert any("skewed" in note for note in body["notes"])
    assert judge_deploy(deploy.pk).status == DeployWatch.Status.NO_DATA  # decided: unchanged
    page = client_for(user).get(deploy.get_absolute_url())
    assert page.status_code == 200 and "skewed" in page.content.decode()


def test_a_backfill_judges_past_deploys_and_skips_those_not_due_or_in_the_future():
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end, before=100, after=60, critical=True)
    past = Deploy.objects.create(
        service=ServiceFactory(), environment="production", status="success", finished_at=end
    )
    recent = Deploy.objects.create(
        service=past.service,
        environment="production",
        status="success",
        finished_at=timezone.now() - timedelta(minutes=2),
    )
    ahead = Deploy.objects.create(
        service=past.service,
        environment="production",
        status="success",
        finished_at=timezone.now() + timedelta(days=1),
    )
    counts = backfill_verdicts([past, recent, ahead], decided_at=lambda d: d.finished_at)
    assert counts == {"regressed": 1}
    assert list(DeployWatch.objects.values_list("deploy_id", flat=True)) == [past.pk]
    assert backfill_verdicts([past], decided_at=lambda d: d.finished_at) == {}  # once
