"""Fix effectiveness: a recurrence is suggested only when a new incident's why nodes share a
service and a cause category with an earlier incident whose corrective actions were all done;
only a person's confirmation marks those fixes as not having prevented it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from postmortems.models import Incident, Recurrence
from postmortems.selectors import recurrences as rec
from postmortems.selectors.recurrences import recurrence_candidates, recurrence_section
from postmortems.selectors.weekly_followup import fixes_section
from postmortems.services import reviews as svc
from postmortems.services.errors import ServiceError
from tests.factories import (
    ActionItemFactory,
    IncidentFactory,
    ServiceFactory,
    UserFactory,
    WhyNodeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def service():
    return ServiceFactory(slug="payments-api")


@pytest.fixture
def earlier(service):
    incident = IncidentFactory(
        services=[service], started_at=timezone.now() - timedelta(days=60), title="Pool exhausted"
    )
    WhyNodeFactory(incident=incident, category="infrastructure")
    for _ in range(2):
        ActionItemFactory(
            incident=incident,
            team=service.team,
            status="done",
            closed_at=timezone.now() - timedelta(days=40),
        )
    return incident


@pytest.fixture
def new(service):
    incident = IncidentFactory(services=[service], started_at=timezone.now() - timedelta(days=2))
    WhyNodeFactory(incident=incident, category="infrastructure")
    return incident


def test_it_suggests_a_recurrence_when_service_and_category_match_and_fixes_were_done(earlier, new):
    assert [(e, s.slug, c) for e, s, c in recurrence_candidates(new)] == [
        (earlier, "payments-api", "infrastructure")
    ]
    rows = svc.suggest_recurrences(incident=new)
    assert [(r.earlier, r.status) for r in rows] == [(earlier, "suggested")]
    assert svc.suggest_recurrences(incident=new) == []  # once


def test_it_does_not_suggest_when_one_earlier_action_is_not_done(earlier, new):
    ActionItemFactory(incident=earlier, status="open")
    assert recurrence_candidates(new) == []


def test_a_wont_do_action_means_the_fixes_were_not_all_done(earlier, new):
    ActionItemFactory(incident=earlier, status="wont_do")
    assert recurrence_candidates(new) == []


def test_it_does_not_suggest_without_any_corrective_action(service, new):
    bare = IncidentFactory(services=[service], started_at=timezone.now() - timedelta(days=30))
    WhyNodeFactory(incident=bare, category="infrastructure")
    assert recurrence_candidates(new) == []


def test_it_does_not_suggest_for_another_category(earlier, service):
    other = IncidentFactory(services=[service], started_at=timezone.now() - timedelta(days=1))
    WhyNodeFactory(incident=other, category="code")
    assert recurrence_candidates(other) == []


def test_it_does_not_suggest_for_another_service(earlier):
    other = IncidentFactory(
        services=[ServiceFactory()], started_at=timezone.now() - timedelta(days=1)
    )
    WhyNodeFactory(incident=other, category="infrastructure")
    assert recurrence_candidates(other) == []


def test_it_does_not_suggest_when_a_fix_landed_after_the_new_incident(earlier, new):
    ActionItemFactory(incident=earlier, status="done", closed_at=timezone.now())
    assert recurrence_candidates(new) == []


def test_a_later_incident_is_never_the_earlier_one(earlier, new):
    assert recurrence_candidates(earlier) == []


def test_only_a_confirmed_recurrence_marks_the_fixes_as_not_working(earlier, new, service):
    svc.suggest_recurrences(incident=new)
    reader = Incident.objects.visible_to_all_staff()
    start = timezone.now() - timedelta(days=6)
    end = timezone.now() + timedelta(days=1)
    suggested = fixes_section(reader, start, end)
    assert suggested["failed"] == 0
    assert suggested["confirmed"] == []

    svc.decide_recurrence(
        incident=new, earlier=earlier, by=new.commander, confirm=True, reason="Same pool."
    )

    fixes = fixes_section(reader, start, end)
    # Both fixes were closed 40 days ago (inside the 12 weeks); neither prevented recurrence.
    assert fixes["by_team"] == [{"team": service.team.name, "fixes": 2, "failed": 2, "rate": 0.0}]
    assert fixes["confirmed"][0]["earlier_id"] == earlier.pk


def test_dismissing_needs_a_reason_and_is_never_revived(earlier, new):
    with pytest.raises(ServiceError):
        svc.decide_recurrence(
            incident=new, earlier=earlier, by=new.commander, confirm=False, reason=" "
        )
    svc.decide_recurrence(
        incident=new, earlier=earlier, by=new.commander, confirm=False, reason="Different pool."
    )
    assert svc.suggest_recurrences(incident=new) == []
    assert Recurrence.objects.get().status == "dismissed"


def test_a_pair_that_is_no_candidate_cannot_be_confirmed(service, new):
    unrelated = IncidentFactory(services=[ServiceFactory()])
    with pytest.raises(ServiceError, match="not a recurrence candidate"):
        svc.decide_recurrence(
            incident=new, earlier=unrelated, by=new.commander, confirm=True, reason="x"
        )


def test_the_incident_page_offers_the_decision_and_records_it(client_for, earlier, new):
    user = UserFactory()
    new.responders.add(user)  # deciding is the incident's people's call
    client = client_for(user)
    page = client.get(f"/incidents/{new.pk}/").content.decode()
    assert "Possible recurrence" in page
    assert earlier.title in page
    response = client.post(
        f"/incidents/{new.pk}/recurrences/",
        {"earlier": earlier.pk, "decision": "confirm", "reason": "Same pool again."},
    )
    assert response.status_code == 302
    assert Recurrence.objects.get().status == "confirmed"
    earlier_page = client.get(f"/incidents/{earlier.pk}/").content.decode()
    assert "did not prevent recurrence" in earlier_page


def test_a_restricted_earlier_incident_is_not_suggested_to_those_who_cannot_see_it(service, new):
    hidden = IncidentFactory(
        services=[service], restricted=True, started_at=timezone.now() - timedelta(days=50)
    )
    WhyNodeFactory(incident=hidden, category="infrastructure")
    ActionItemFactory(incident=hidden, status="done", closed_at=timezone.now() - timedelta(days=45))
    assert recurrence_section(new, UserFactory()) is None
    assert recurrence_section(new, hidden.commander)["suggestions"]


def test_the_weeks_candidates_in_bulk_are_the_same_as_one_incident_at_a_time(monkeypatch):
    """The weekly review asks for a whole week at once: same lists, a fixed number of queries,
    including the cut at the newest MAX_CANDIDATES of each incident."""
    monkeypatch.setattr(rec, "MAX_CANDIDATES", 3)
    a, b = ServiceFactory(slug="a-api"), ServiceFactory(slug="b-api")
    now = timezone.now()
    for k in range(8):
        old = IncidentFactory(
            services=[a, b] if k % 2 else [a], started_at=now - timedelta(days=60 + k)
        )
        WhyNodeFactory(incident=old, category="infrastructure" if k % 3 else "code")
        ActionItemFactory(
            incident=old,
            team=a.team,
            status="done",
            closed_at=now - timedelta(days=50 if k != 4 else 1),  # k=4: closed too late
        )
    week = []
    for k, (services, category) in enumerate(
        [([a], "infrastructure"), ([b], "code"), ([a, b], "code"), ([b], "process")]
    ):
        incident = IncidentFactory(services=services, started_at=now - timedelta(days=5 - k))
        WhyNodeFactory(incident=incident, category=category)
        week.append(incident)
    WhyNodeFactory(incident=week[3], category="infrastructure")
    many = rec.recurrence_candidates_many(week)
    for incident in week:
        one = [(e.pk, s.pk, c) for e, s, c in rec.recurrence_candidates(incident)]
        assert [(e.pk, s.pk, c) for e, s, c in many[incident.pk]] == one
    assert any(many.values())
    rows = svc.suggest_recurrences_for_many(incidents=week)
    assert len(rows) == sum(len(v) for v in many.values())
    assert svc.suggest_recurrences_for_many(incidents=week) == []
    assert Recurrence.history.count() == len(rows)
