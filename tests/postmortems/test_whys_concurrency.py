"""Several laptops on one tree, for real: threads against PostgreSQL through the API."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from postmortems.models import WhyNode
from postmortems.services import whys as svc
from tests.factories import IncidentFactory, ServiceFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20
WRITES = 50


def _run(threads: int, work) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def target(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # reported by the test, not swallowed
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=target, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors


@pytest.fixture
def setup(transactional_db):
    user = UserFactory()
    incident = IncidentFactory(
        services=[ServiceFactory(team=TeamFactory(manager=user))], commander=user, reporter=user
    )
    node = svc.add_why(incident=incident, author=user, answer="start")
    return user, incident, node


def test_concurrent_read_modify_writes_are_applied_or_refused_never_lost(setup):
    user, _incident, node = setup
    applied: list[str] = []
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def work(n: int) -> None:
        client = APIClient()
        client.force_authenticate(user)
        for i in range(WRITES):
            tag = client.get(f"/api/whys/{node.pk}/")["ETag"]
            value = f"thread {n} write {i}"
            reply = client.patch(
                f"/api/whys/{node.pk}/", {"answer": value}, format="json", HTTP_IF_MATCH=tag
            )
            with lock:
                outcomes[reply.status_code] += 1
                if reply.status_code == 200:
                    applied.append(value)

    assert _run(THREADS, work) == []
    assert set(outcomes) <= {200, 412}
    assert sum(outcomes.values()) == THREADS * WRITES
    assert outcomes[200] == len(applied) > 0
    node.refresh_from_db()
    assert node.version == len(applied) + 1
    history = set(node.history.values_list("answer", flat=True))
    assert set(applied) <= history
    assert node.answer in applied


def test_concurrent_children_of_one_node_are_all_added(setup):
    user, incident, node = setup
    codes: list[int] = []

    def work(n: int) -> None:
        client = APIClient()
        client.force_authenticate(user)
        reply = client.post(
            f"/api/incidents/{incident.pk}/whys/",
            {"parent": node.pk, "answer": f"cause {n}", "category": "code"},
            format="json",
        )
        codes.append(reply.status_code)

    assert _run(THREADS, work) == []
    assert codes == [201] * THREADS
    assert WhyNode.objects.filter(parent=node, is_deleted=False).count() == THREADS
    node.refresh_from_db()
    assert node.version == 1
