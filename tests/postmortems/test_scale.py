"""The measuring tools of issue 15 at a tiny size: `generate_scale` makes a consistent graph, and
every page the scale benchmark loads answers 200 for its employee (in-process)."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.test import Client, override_settings

from metrics_link.models import Commit, Deploy, DeployCommit, Service, Team
from postmortems.models import ActionItem, Incident, ReminderSent, SuspectVerdict, TimelineEntry
from postmortems.models.documents import Postmortem, PostmortemVersion
from postmortems.scale import bench
from postmortems.scale.generate import generate, scaled_sizes
from postmortems.scale.writer import Writer

ANCHOR = "2026-11-25T12:00:00+00:00"
TINY = ["--scale", "0.002", "--allow-sqlite", "--anchor", ANCHOR, "--seed", "7"]
FORCE = ["--force"]  # tests run with DEBUG off, as Django's test runner sets it


def _generate(*extra: str) -> None:
    call_command("generate_scale", *TINY, *FORCE, *extra, stdout=_Sink())


class _Sink:
    def write(self, *_a, **_k) -> None:
        pass

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _dangling_foreign_keys() -> list[str]:
    """Every FK column of every table, checked by a query: the generator writes ids itself."""
    bad = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label not in ("postmortems", "metrics_link", "auth"):
            continue
        if model._meta.db_table.startswith(("postmortems_historical", "metrics_link_historical")):
            continue
        for f in model._meta.concrete_fields:
            if not isinstance(f, models.ForeignKey):
                continue
            target = f.related_model._meta.db_table
            with connection.cursor() as cur:
                cur.execute(
                    f'SELECT COUNT(*) FROM {model._meta.db_table} t WHERE t."{f.column}" IS NOT NULL '  # noqa: S608
                    f'AND NOT EXISTS (SELECT 1 FROM {target} r WHERE r.id = t."{f.column}")'
                )
                if cur.fetchone()[0]:
                    bad.append(f"{model._meta.db_table}.{f.column}")
    return bad


@pytest.mark.django_db
def test_a_tiny_generated_company_is_a_consistent_graph():
    _generate()
    sizes = scaled_sizes(0.002)

    assert Incident.objects.count() == sizes["incidents"]
    assert Deploy.objects.count() == sizes["deploys"]
    assert Commit.objects.count() == DeployCommit.objects.count() == sizes["commits"]
    assert ActionItem.objects.count() == sizes["action_items"]
    assert TimelineEntry.objects.count() == sizes["timeline"]
    assert _dangling_foreign_keys() == []

    # Every incident has a service, people, and the restricted ones exist with their people.
    assert not Incident.objects.filter(services__isnull=True).exists()
    restricted = Incident.objects.filter(visibility="restricted")
    assert restricted.exists()
    assert not restricted.filter(commander__isnull=True).exists()
    # A deploy lists commits of its own repository only, committed before it finished.
    for link in DeployCommit.objects.select_related("deploy", "commit")[:500]:
        assert link.commit.repository == link.deploy.repository
        assert link.commit.committed_at <= link.deploy.finished_at
    # Suspects: verdicts are about deploys of the incident's service that finished before it.
    verdicts = SuspectVerdict.objects.select_related("deploy", "incident")
    assert verdicts.exists()
    for v in verdicts:
        assert v.deploy.finished_at < v.incident.started_at
        assert v.deploy.service_id in set(v.incident.services.values_list("pk", flat=True))
    # Action items across statuses, due dates past and future, each team with a manager.
    assert set(ActionItem.objects.values_list("status", flat=True)) == {
        "open",
        "in_progress",
        "done",
        "wont_do",
    }
    anchor_day = datetime.fromisoformat(ANCHOR).date()
    assert ActionItem.objects.filter(due_on__lt=anchor_day, status="open").exists()
    assert ActionItem.objects.filter(due_on__gt=anchor_day).exists()
    assert not Team.objects.filter(manager__isnull=True).exists()
    # Published postmortems point at their own latest version.
    published = Postmortem.objects.filter(status="published")
    assert published.count() == sizes["postmortems"]
    for pm in published.select_related("latest_version"):
        assert pm.latest_version.postmortem_id == pm.pk
        assert pm.latest_version.number == pm.versions.count()
    assert PostmortemVersion.objects.count() >= sizes["postmortems"]
    # Services have repositories; unclaimed ones exist without a team.
    assert not Service.objects.filter(repositories=[]).exists()
    assert Service.objects.filter(claimed=False, team__isnull=True).exists()
    # The reminders a running product would have recorded are there: nothing new to record.
    assert ReminderSent.objects.exists()


@pytest.mark.django_db
def test_the_same_seed_and_anchor_give_the_same_rows(monkeypatch):
    digests = []

    def fingerprint(seed: int) -> str:
        digest = hashlib.sha256()

        def write(self, table, columns, rows, expected):
            n = 0
            for row in rows:
                digest.update(repr((table, row)).encode())
                n += 1
            return n

        monkeypatch.setattr(Writer, "write", write)
        generate(
            sizes=scaled_sizes(0.001),
            seed=seed,
            anchor=datetime.fromisoformat(ANCHOR),
            reviews=0,
            write=lambda _line: None,
        )
        return digest.hexdigest()

    digests = [fingerprint(7), fingerprint(7), fingerprint(8)]
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]
    assert not Incident.objects.exists()  # the recorder wrote nothing


@pytest.mark.django_db
def test_generate_scale_refuses_sqlite_without_the_flag_and_writes_nothing():
    if connection.vendor != "sqlite":
        pytest.skip("about the SQLite guard")
    with pytest.raises(CommandError, match="allow-sqlite"):
        call_command("generate_scale", "--scale", "0.002", *FORCE, stdout=_Sink())
    with pytest.raises(CommandError, match="tiny sizes"):
        call_command("generate_scale", "--allow-sqlite", *FORCE, stdout=_Sink())
    assert not Incident.objects.exists()
    assert not Deploy.objects.exists()


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_generate_scale_refuses_a_debug_off_database_without_force():
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("generate_scale", *TINY, stdout=_Sink())
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_generate_scale_refuses_a_database_that_already_holds_incidents(incident):
    with pytest.raises(CommandError, match="already holds"):
        _generate()
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_every_page_of_the_scale_benchmark_answers_200_for_its_reader():
    _generate()
    employee, manager, team = bench.choose_people()
    assert not employee.is_superuser and not manager.is_superuser
    assert not employee.managed_teams.exists()
    pages = bench.choose_pages(employee, manager, team)
    labels = " ".join(p.label for p in pages)
    for wanted in ("incident page (big)", "home", "team's action items", "search", "Atom feed"):
        assert wanted in labels
    clients = {}
    for role, user in (("employee", employee), ("manager", manager)):
        clients[role] = Client()
        clients[role].force_login(user)
    for page in pages:
        response = clients[page.role].get(page.path)
        assert response.status_code == 200, (page.label, page.path, response.status_code)
    with override_settings(ROOT_URLCONF="postmortems.scale.floor_urls"):
        response = clients["employee"].get("/__floor__/")
        assert response.status_code == 200
        assert employee.username in response.content.decode()


@pytest.mark.django_db
def test_the_floor_view_exists_only_in_the_benchmark_servers_urls(client, django_user_model):
    user = django_user_model.objects.create_user("reader", password="x")
    client.force_login(user)
    assert client.get("/__floor__/").status_code == 404
