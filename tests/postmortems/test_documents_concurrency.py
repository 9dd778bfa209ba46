"""Two people publishing the same postmortem at once: the row lock makes exactly one version."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from postmortems.models.documents import PostmortemVersion
from postmortems.services import documents as svc
from postmortems.services.draft_conflicts import StaleDraft
from postmortems.services.errors import ServiceError
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_publishing_twice_at_once_makes_one_version():
    author, reviewer = UserFactory(), UserFactory()
    incident = IncidentFactory(severity="sev3", commander=author)
    pm = svc.generate_draft(incident=incident, by=author)
    svc.set_reviewers(postmortem=pm, reviewers=[reviewer], by=author)
    pm = svc.submit_for_review(postmortem=pm, by=author)
    svc.approve(postmortem=pm, by=reviewer)

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def publish():
        try:
            barrier.wait()
            svc.publish(postmortem=pm, by=author, notify=False)
            outcomes.append("published")
        except ServiceError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["published", "refused"]
    assert PostmortemVersion.objects.filter(postmortem=pm).count() == 1


def test_two_saves_of_the_same_version_at_once_keep_the_first_and_refuse_the_second():
    first, second = UserFactory(), UserFactory()
    incident = IncidentFactory(commander=first, responders=[second])
    pm = svc.generate_draft(incident=incident, by=first)

    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}
    kept: dict[str, list[str]] = {}  # the refused writer's text, handed back to them

    def save(who, text):
        try:
            barrier.wait()
            svc.save_draft(postmortem=pm, sections={"lessons": text}, expected_version=1, by=who)
            outcomes[text] = "saved"
        except StaleDraft as exc:
            outcomes[text] = "stale"
            kept[text] = [c.yours for c in exc.conflicts]
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(first, "First.")),
        threading.Thread(target=save, args=(second, "Second.")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes.values()) == ["saved", "stale"]
    winner = next(text for text, outcome in outcomes.items() if outcome == "saved")
    loser = next(text for text, outcome in outcomes.items() if outcome == "stale")
    assert kept == {loser: [loser]}
    pm.refresh_from_db()
    assert (pm.sections["lessons"], pm.version) == (winner, 2)
