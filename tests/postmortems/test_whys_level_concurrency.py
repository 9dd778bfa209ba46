"""Several people save the same why level at once, for real (threads against PostgreSQL): one
level wins with its action; every other is refused whole, its action never added."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from postmortems.models import ActionItem
from postmortems.services import whys as svc
from tests.factories import IncidentFactory, ServiceFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 12


def test_one_concurrent_level_save_wins_and_the_others_add_no_action(transactional_db):
    user = UserFactory()
    incident = IncidentFactory(
        services=[ServiceFactory(team=TeamFactory(manager=user))], commander=user, reporter=user
    )
    node = svc.add_why(incident=incident, author=user, answer="start")
    start = threading.Barrier(THREADS)
    won: list[int] = []
    stale: list[int] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            # Half rewrite the answer, half keep it and only add their action.
            svc.answer_why(
                incident=incident,
                by=user,
                node=node,
                expected_version=1,
                answer=f"answer {n}" if n % 2 else "start",
                action_title=f"fix {n}",
            )
            won.append(n)
        except svc.StaleVersion:
            stale.append(n)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()

    assert errors == []
    assert len(won) + len(stale) == THREADS
    titles = set(ActionItem.objects.values_list("title", flat=True))
    # Every winner's action exists; no refused level left one behind.
    assert titles == {f"fix {n}" for n in won}
    assert len(won) >= 1
    # At most one rewrite of the answer can win at version 1.
    node.refresh_from_db()
    assert node.version <= 2
