"""The weekly review's figures on small generated data, its idempotent build, its mail, and the
rule that restricted incidents appear as numbers only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from metrics_link.models import DeployCommit, MetricPoint, MetricSeries
from postmortems.models import Incident, ReminderSent, SuspectVerdict, WeeklyReview
from postmortems.reviews_metrics import iso_week_of
from postmortems.selectors import weekly, weekly_followup
from postmortems.services import reviews as svc
from postmortems.services.errors import ServiceError
from postmortems.tasks.reviews import build_weekly_review_task
from tests.factories import (
    ActionItemFactory,
    CommitFactory,
    DeployFactory,
    ExperimentFactory,
    IncidentFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
)
from tests.support.outbox import deliver_outbox

pytestmark = pytest.mark.django_db

WEEK = "2026-W10"
SECRET = "Tenant export leaked to wrong customer"


@pytest.fixture
def bounds():
    return weekly.week_bounds(WEEK)


@pytest.fixture
def start(bounds):
    return bounds[1]


def _verdict(incident, deploy, verdict="culprit"):
    return SuspectVerdict.objects.create(
        incident=incident, deploy=deploy, verdict=verdict, at=incident.started_at
    )


def test_change_failure_rate_counts_confirmed_culprits_of_production_deploys_only(start):
    service = ServiceFactory()
    deploys = [
        DeployFactory(service=service, finished_at=start + timedelta(hours=6 * i + 1))
        for i in range(10)
    ]
    incident = IncidentFactory(services=[service], started_at=start + timedelta(days=3))
    _verdict(incident, deploys[0])
    _verdict(incident, deploys[1])
    _verdict(incident, deploys[2], "contributing")  # not a confirmed culprit
    _verdict(incident, deploys[3], "ruled_out")
    staging = DeployFactory(
        service=service, environment="staging", finished_at=start + timedelta(hours=2)
    )
    _verdict(incident, staging)  # not production
    DeployFactory(service=service, finished_at=start - timedelta(hours=1))  # the week before

    dora = weekly.dora_section(start, start + timedelta(days=7), None)

    assert dora["deploys"] == 10
    assert dora["confirmed_culprits"] == 2
    assert dora["change_failure_rate"] == pytest.approx(0.2)
    assert dora["deploy_frequency"] == pytest.approx(10 / 7)


def test_lead_time_is_the_median_commit_to_production_time(start):
    service = ServiceFactory()
    a = DeployFactory(service=service, finished_at=start + timedelta(days=1))
    b = DeployFactory(service=service, finished_at=start + timedelta(days=2))
    failed = DeployFactory(service=service, finished_at=start + timedelta(days=3), status="failed")
    staging = DeployFactory(
        service=service, environment="staging", finished_at=start + timedelta(days=3)
    )
    for deploy, hours in ((a, [1, 3, 5]), (b, [2, 10]), (failed, [50]), (staging, [100])):
        for position, h in enumerate(hours):
            commit = CommitFactory(committed_at=deploy.finished_at - timedelta(hours=h))
            DeployCommit.objects.create(deploy=deploy, commit=commit, position=position)

    dora = weekly.dora_section(start, start + timedelta(days=7), None)

    assert dora["lead_time"] == 3 * 3600  # median of 1, 2, 3, 5, 10 hours
    assert dora["successful_deploys"] == 2


def test_mttd_and_mttr_of_the_week_and_its_trend(start):
    def incident(offset_days, detect, resolve, **kw):
        t = start + timedelta(days=offset_days)
        return IncidentFactory(
            started_at=t,
            detected_at=t + timedelta(minutes=detect),
            resolved_at=t + timedelta(minutes=resolve) if resolve else None,
            **kw,
        )

    incident(1, 10, 60)
    incident(2, 20, 120)
    incident(3, 30, None, restricted=True)
    incident(4, 600, 600, close_reason=Incident.CloseReason.FALSE_ALARM)  # noise
    incident(-3, 4, 40)  # the week before

    d = weekly.durations_section(start, start + timedelta(days=7))

    assert d["mttd"] == 20 * 60
    assert d["mttr"] == 90 * 60
    assert len(d["trend"]) == 12
    assert d["trend"][-1]["count"] == 3
    assert d["trend"][-2]["mttd"] == 4 * 60
    assert d["trend"][-2]["mttr"] == 40 * 60


def test_business_metrics_compare_with_the_week_before(start):
    series = MetricSeries.objects.create(name="revenue", label="Revenue", unit="$")
    MetricSeries.objects.create(name="cpu", kind="system")
    for i in range(10):
        MetricPoint.objects.create(series=series, ts=start - timedelta(days=3, hours=i), value=10)
        MetricPoint.objects.create(series=series, ts=start + timedelta(days=3, hours=i), value=12)

    b = weekly.business_section(start, start + timedelta(days=7))

    assert [m["name"] for m in b["series"]] == ["revenue"]
    row = b["series"][0]
    assert (row["current"], row["previous"]) == (120, 100)
    assert row["change"] == pytest.approx(0.2)
    assert "<svg" in b["charts"]["revenue"]


def test_action_items_by_team_with_flagged_ones(start):
    team = TeamFactory(name="Payments")
    end = start + timedelta(days=7)
    last_day = (end - timedelta(days=1)).date()
    with time_machine.travel(start - timedelta(days=30), tick=False):  # opened long before
        ActionItemFactory(team=team, due_on=last_day - timedelta(days=3))
        ActionItemFactory(team=team, due_on=last_day - timedelta(days=20), title="Add alert")
        reminded = ActionItemFactory(
            team=team, due_on=last_day - timedelta(days=2), title="Reminded"
        )
        secret = IncidentFactory(restricted=True, title=SECRET)
        ActionItemFactory(
            team=team, incident=secret, due_on=last_day - timedelta(days=30), title="Rotate keys"
        )
    with time_machine.travel(start + timedelta(days=1), tick=False):
        ActionItemFactory(team=team)  # opened this week
    ActionItemFactory(team=team, status="done", closed_at=start + timedelta(days=2))
    with time_machine.travel(start + timedelta(days=2), tick=False):
        ReminderSent.objects.create(action_item=reminded, kind="flagged", period="x")

    a = weekly_followup.actions_section(Incident.objects.visible_to_all_staff(), start, end)

    row = a["by_team"][0]
    assert row["team"] == "Payments"
    assert row["closed"] == 1
    assert row["overdue"] == 4
    assert row["flagged"] == 3
    titles = [f.get("title") for f in a["flagged"]]
    assert "Add alert" in titles
    assert "Reminded" in titles
    assert "Rotate keys" not in titles
    assert any(f["restricted"] for f in a["flagged"])


def test_experiments_running_in_the_week_are_shown_with_their_verdict(bounds):
    monday = bounds[0]
    ExperimentFactory(name="Now", started_on=monday - timedelta(days=3))
    ExperimentFactory(name="Over", started_on=monday - timedelta(days=60), ended_on=monday)
    ExperimentFactory(
        name="Long gone", started_on=monday - timedelta(days=90), ended_on=monday - timedelta(1)
    )
    names = [e["name"] for e in weekly_followup.experiments_section(monday)["experiments"]]
    assert names == ["Now", "Over"]


def test_the_same_week_last_year_lists_incidents_and_whether_actions_stay_closed():
    _, start, _ = weekly.week_bounds("2025-W10")
    old = IncidentFactory(started_at=start + timedelta(days=2), title="Old outage")
    ActionItemFactory(incident=old, status="done")
    ActionItemFactory(incident=old, status="open")  # reopened since
    IncidentFactory(started_at=start + timedelta(days=3), restricted=True, title=SECRET)

    years = weekly_followup.past_years_section(
        Incident.objects.visible_to_all_staff(), weekly.week_bounds(WEEK)[0]
    )["years"]

    assert years[0]["iso_week"] == "2025-W10"
    assert years[0]["count"] == 2
    assert years[0]["restricted"] == 1
    row = years[0]["incidents"][0]
    assert (row["title"], row["actions_closed"], row["actions_total"]) == ("Old outage", 1, 2)
    assert row["still_closed"] is False


def test_building_a_week_twice_gives_one_review_and_keeps_the_first_snapshot(start):
    IncidentFactory(started_at=start + timedelta(days=1), title="First")
    first, built = svc.build_weekly_review(week=WEEK)
    IncidentFactory(started_at=start + timedelta(days=2), title="Second")

    again, built_again = svc.build_weekly_review(week=WEEK)

    assert built
    assert not built_again
    assert WeeklyReview.objects.count() == 1
    assert again.pk == first.pk
    assert again.snapshot["incidents"]["count"] == 1

    rebuilt, _ = svc.build_weekly_review(week=WEEK, rebuild=True)
    assert WeeklyReview.objects.count() == 1
    assert rebuilt.snapshot["incidents"]["count"] == 2


def test_a_week_that_has_not_ended_cannot_be_built():
    with pytest.raises(ServiceError, match="not ended"):
        svc.build_weekly_review(week=iso_week_of(timezone.localdate()))
    with pytest.raises(ServiceError, match="ISO week"):
        svc.build_weekly_review(week="yesterday")


def test_publishing_mails_all_staff_once_after_commit(django_capture_on_commit_callbacks, start):
    IncidentFactory(started_at=start + timedelta(days=1), title="Checkout down")
    with override_settings(ALL_STAFF_EMAIL="everyone@example.com"):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            review, _ = svc.build_weekly_review(week=WEEK)
        assert len(callbacks) == 1  # the outbox row's sending, enqueued on commit
        assert mail.outbox == []
        review.refresh_from_db()
        assert review.mailed_at is not None  # handed to the outbox with the publication
        assert svc.mail_weekly_review(review_id=review.pk) is False  # queued once only
        assert deliver_outbox() == 1
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["everyone@example.com"]
        assert WEEK in message.subject
        assert "Checkout down" in message.body
        html = message.alternatives[0][0]
        assert "Checkout down" in html
        assert "<svg" in html
        assert deliver_outbox() == 0  # already sent
    assert len(mail.outbox) == 1


def test_the_beat_task_builds_last_week_and_is_safe_to_repeat():
    assert build_weekly_review_task(WEEK).endswith("built")
    assert build_weekly_review_task(WEEK).endswith("already built")
    assert WeeklyReview.objects.count() == 1


def test_restricted_incidents_are_counted_but_never_identified(
    django_capture_on_commit_callbacks, client, start
):
    commander = UserFactory(first_name="Zebulon", last_name="Quartermain")
    secret_service = ServiceFactory(slug="vault-secrets")
    restricted = IncidentFactory(
        restricted=True,
        title=SECRET,
        services=[secret_service],
        commander=commander,
        impact="Zebulon saw tenant files",
        started_at=start + timedelta(days=2),
        detected_at=start + timedelta(days=2, minutes=5),
        resolved_at=start + timedelta(days=2, hours=1, minutes=12),
    )
    IncidentFactory(started_at=start + timedelta(days=1), title="Search slow")
    deploy = DeployFactory(service=secret_service, finished_at=start + timedelta(days=1))
    _verdict(restricted, deploy)
    with time_machine.travel(start - timedelta(days=40), tick=False):
        ActionItemFactory(
            incident=restricted, title="Rotate vault keys", due_on=start.date() - timedelta(days=30)
        )

    with django_capture_on_commit_callbacks(execute=False):
        review, _ = svc.build_weekly_review(week=WEEK)
    deliver_outbox()

    snapshot = json.dumps(review.snapshot, ensure_ascii=False)
    assert review.snapshot["incidents"]["count"] == 2
    assert review.snapshot["incidents"]["restricted"] == ["1 restricted incident (sev2, 1h 12m)"]
    assert review.snapshot["dora"]["confirmed_culprits"] == 1  # counted as a number
    client.force_login(UserFactory())
    page = client.get(f"/reviews/{WEEK}/").content.decode()
    token = client.get("/me/").context["feeds"][1][1].split("/feeds/")[1].split("/")[0]
    feed = client.get(f"/feeds/{token}/reviews.atom").content.decode()
    message = mail.outbox[0]
    for text in (snapshot, page, feed, message.body, message.alternatives[0][0]):
        for secret in (SECRET, "vault-secrets", "Quartermain", "Zebulon", "Rotate vault keys"):
            assert secret not in text
    assert "Search slow" in page
    assert "1 restricted incident (sev2, 1h 12m)" in page


def test_the_snapshot_keeps_the_oldest_flagged_items_and_counts_them_all(start, monkeypatch):
    monkeypatch.setattr(weekly_followup, "FLAGGED_SHOWN", 2)
    team = TeamFactory(name="Payments")
    end = start + timedelta(days=7)
    last_day = (end - timedelta(days=1)).date()
    with time_machine.travel(start - timedelta(days=60), tick=False):
        for days in (15, 30, 20, 40):
            ActionItemFactory(team=team, due_on=last_day - timedelta(days=days), title=f"{days}")
    a = weekly_followup.actions_section(Incident.objects.visible_to_all_staff(), start, end)
    assert [f["title"] for f in a["flagged"]] == ["40", "30"]
    assert a["flagged_total"] == a["totals"]["flagged"] == a["by_team"][0]["flagged"] == 4


def test_the_review_page_shows_at_most_100_flagged_items_even_of_an_old_snapshot(client_for, start):
    review, _ = svc.build_weekly_review(week=WEEK, mail=False)
    entry = {"restricted": True, "team": "Payments", "days_overdue": 20}
    review.snapshot["actions"]["flagged"] = [entry] * 250  # an old snapshot stored them all
    review.snapshot["actions"]["totals"]["flagged"] = 250
    review.snapshot["actions"].pop("flagged_total", None)
    review.save(update_fields=["snapshot"])
    page = client_for(UserFactory()).get(f"/reviews/{WEEK}/").content.decode()
    assert page.count("An action item of a restricted incident") == 100
    assert "The oldest 100 of 250 flagged items" in page
    assert "bucket=overdue_gt14" in page
