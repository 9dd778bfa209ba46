"""The permission matrix: every URL pattern, five roles and their methods, with an expected outcome.

`ROWS` below is the one table. Each row is one URL pattern (as `get_resolver()` spells it) and one
five-letter string per method, a letter per role in `ROLES` order:

    o  allowed: 2xx, or a redirect that is not to a login page
    r  answered like a read (2xx or a redirect) and nothing changed: e.g. POST to a page
    L  sign-in required: a redirect to the login page (pages) or 401/403 (API)
    x  refused: 403 with a reason
    h  hidden: 404
    b  refused as bad input or a rule of the domain: 400, 409, 412, 422 or 428
    m  405: the pattern does not take this method
    a  its own authentication refused it (webhook secrets): 401 or 403

Every outcome but `o` (for writes) must leave the database exactly as it was: every row of every table of both
apps (and API tokens) is fingerprinted before and after. GET and POST are tried on every pattern;
PUT, PATCH and DELETE on /api/. A new URL pattern fails `test_every_url_pattern_has_a_row` until it
gets a row here: add one line, e.g.
    "incidents/<int:pk>/subscribe/": R(get="Lmmmm", post="Loooo"),

The data is built once for the module inside one transaction (rolled back at the end); each case
runs in a savepoint that is rolled back, so allowed writes never leak into the next case.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from metrics_link.models import DeployWatch
from postmortems.models import FeedToken, WeeklyReview
from postmortems.services import documents as document_services
from postmortems.services.sso_accounts import ProviderAccount, sign_in_external_account
from tests.factories import (
    ActionItemFactory,
    DeployFactory,
    ExperimentFactory,
    IncidentFactory,
    MetricSeriesFactory,
    RetroItemFactory,
    RetrospectiveFactory,
    ServiceFactory,
    TeamFactory,
    TimelineEntryFactory,
    UserFactory,
    WhyNodeFactory,
    publish_postmortem,
)

ROLES = ("anonymous", "employee", "person", "manager", "superuser")
API_WRITES = ("put", "patch", "delete")


@dataclass(frozen=True)
class R:
    get: str
    post: str
    put: str = "Lmmmm"
    patch: str = "Lmmmm"
    delete: str = "Lmmmm"
    data: Any = None  # dict, or a callable(world) -> dict/list, sent with POST/PUT/PATCH
    kw: dict = field(default_factory=dict)  # URL kwargs overriding the defaults (callables ok)
    headers: Any = None  # callable(world) -> extra request headers (e.g. If-Match)


def _version(w):
    return {"HTTP_IF_MATCH": f'"{w.node.pk}-{w.node.version}"'}


def _pm_version(w):
    w.pm.refresh_from_db()
    return w.pm.version


NOW = timezone.now
ACTION = {"title": "Cache it", "owner": "", "due_on": "", "type": "prevent", "priority": "p2"}

# fmt: off
ROWS: dict[str, R] = {
    # own authentication: health checks, login, webhooks (secrets), feeds (token in the URL)
    "healthz": R(get="ooooo", post="rrrrr"),
    "accounts/login/": R(get="ooooo", post="rrrrr"),
    # company sign-in: 404 while OIDC_ISSUER is unset (tests/test_oidc_sign_in.py covers it configured)
    "oidc/authenticate/": R(get="hhhhh", post="hhhhh"),
    "oidc/callback/": R(get="hhhhh", post="hhhhh"),
    "accounts/logout/": R(get="Lmmmm", post="LLLLL"),  # signed out: back to the login page
    "hooks/github/": R(get="mmmmm", post="aaaaa"),
    "hooks/gitlab/": R(get="mmmmm", post="aaaaa"),
    "hooks/alertmanager/": R(get="mmmmm", post="aaaaa"),
    "hooks/pagerduty/": R(get="mmmmm", post="aaaaa"),
    "feeds/<str:token>/actions.ics": R(get="ooooo", post="rrrrr"),
    "feeds/<str:token>/postmortems.atom": R(get="ooooo", post="rrrrr"),
    "feeds/<str:token>/reviews.atom": R(get="ooooo", post="rrrrr"),
    "admin/": R(get="LLLLo", post="LLLLo"),  # every admin/ pattern: staff only (Django admin)
    # API
    # the schema and its docs pages need sign-in like every other page (the contract)
    "api/schema/": R(get="Loooo", post="Lmmmm", put="Lmmmm", patch="Lmmmm", delete="Lmmmm"),
    "api/docs/": R(get="Loooo", post="Lmmmm", put="Lmmmm", patch="Lmmmm", delete="Lmmmm"),
    "api/redoc/": R(get="Loooo", post="Lmmmm", put="Lmmmm", patch="Lmmmm", delete="Lmmmm"),
    "api/^.*$": R(get="Lhhhh", post="Lhhhh", put="Lhhhh", patch="Lhhhh", delete="Lhhhh"),  # any other address under /api/: a JSON 404
    "api/incidents/": R(get="Loooo", post="Loooo", data=lambda w: {"title": "Cart down", "severity": "sev3", "services": [w.service.slug]}),
    "api/incidents/<int:pk>/": R(get="Loooo", post="Lmmmm", patch="Lxooo", data={"title": "Renamed"}),
    "api/incidents/<int:pk>/timeline/": R(get="Loooo", post="Loooo", data={"body": "Seen from EU too"}),
    "api/incidents/<int:pk>/suspects/": R(get="Loooo", post="Lmmmm"),
    "api/incidents/<int:pk>/suspects/<int:deploy_id>/": R(get="Lmmmm", post="Lmmmm", put="Lxooo", data={"verdict": "ruled_out"}),
    "api/incidents/<int:pk>/whys/": R(get="Loooo", post="Lxooo", data={"answer": "The pool was too small"}),
    "api/whys/<int:node_id>/": R(get="Loooo", post="Lmmmm", patch="Lxooo", delete="Lxooo", data={"answer": "Better"}, headers=_version),
    "api/action-items/": R(get="Loooo", post="Loooo", data=lambda w: {"title": "Add an alert", "team": w.team.slug}),
    "api/action-items/<int:pk>/": R(get="Loooo", post="Lmmmm", patch="Lxooo", data={"title": "Renamed"}),
    "api/action-items/<int:pk>/start/": R(get="Lmmmm", post="Lxooo"),
    "api/action-items/<int:pk>/complete/": R(get="Lmmmm", post="Lxooo", data={"verification_note": "Drill passed"}),
    "api/action-items/<int:pk>/wont-do/": R(get="Lmmmm", post="Lxooo", data={"reason": "Obsolete"}),
    "api/action-items/<int:pk>/reopen/": R(get="Lmmmm", post="Lxbbb"),
    "api/postmortems/": R(get="Loooo", post="Lmmmm"),
    "api/postmortems/<int:incident_id>/": R(get="Loooo", post="Lmmmm", kw={"incident_id": lambda w: w.published.pk}),
    "api/postmortems/<int:incident_id>/draft/": R(get="Loooo", post="Lmmmm", patch="Lxbbb", data={"sections": {"lessons": "Mine"}}, headers=lambda w: {"HTTP_IF_MATCH": f'"{w.incident.pk}-{_pm_version(w)}"'}),
    "api/postmortems/<int:incident_id>/submit/": R(get="Lmmmm", post="Lxbbb"),
    "api/postmortems/<int:incident_id>/approve/": R(get="Lmmmm", post="Lxoxx"),
    "api/postmortems/<int:incident_id>/request-changes/": R(get="Lmmmm", post="Lxoxx", data={"comment": "Say more about the pool"}),
    "api/postmortems/<int:incident_id>/publish/": R(get="Lmmmm", post="Lxbbb"),
    "api/reviews/": R(get="Loooo", post="Lmmmm"),
    "api/reviews/<str:week>/": R(get="Loooo", post="Lmmmm"),
    "api/retros/": R(get="Loooo", post="Lmmmm"),
    "api/retros/<int:pk>/": R(get="Lhooo", post="Lmmmm"),  # a draft: its team only
    "api/experiments/": R(get="Loooo", post="Loooo", data={"name": "Green button", "hypothesis": "Converts", "control_trials": 10, "control_conversions": 1, "experiment_trials": 10, "experiment_conversions": 2}),
    "api/experiments/<int:pk>/": R(get="Loooo", post="Lmmmm", patch="Loooo", data={"name": "Bigger button"}),  # no rule yet
    "api/services/": R(get="Loooo", post="Loooo", data={"slug": "brand-new", "name": "Brand new"}),
    "api/services/<slug:slug>/": R(get="Loooo", post="Lmmmm", put="Lxooo", patch="Lxooo", data=lambda w: {"slug": w.service.slug, "name": "Shop", "repositories": ["acme/other"]}),
    "api/deploys/": R(get="Loooo", post="Loooo", data=lambda w: {"service": w.service.slug, "environment": "staging", "version": "v9", "status": "success", "finished_at": NOW().isoformat()}),
    "api/metrics/<str:name>/points/": R(get="Lmmmm", post="Loooo", data=lambda w: [{"ts": NOW().isoformat(), "value": 3}]),
    "api/metrics/<str:name>/increment/": R(get="Lmmmm", post="Loooo", data={}),
    "api/metrics/<str:name>/": R(get="Loooo", post="Lmmmm", patch="Lxooo", data={"watched": True}),  # the service's team
    "api/deploys/<int:pk>/watch/": R(get="Loooo", post="Lmmmm", kw={"pk": lambda w: w.deploy.pk}),
    # catalog, deploys, alerts
    "services/": R(get="Loooo", post="Lrrrr"),
    "services/<slug:slug>/": R(get="Loooo", post="Lrrrr"),
    "services/<slug:slug>/claim/": R(get="Lmmmm", post="Lxooo", data=lambda w: {"team": w.team.slug}, kw={"slug": lambda w: w.orphan.slug}),
    "teams/<slug:slug>/": R(get="Loooo", post="Lrrrr"),
    "deploys/": R(get="Loooo", post="Lrrrr"),
    "deploys/<int:pk>/": R(get="Loooo", post="Lrrrr"),
    "alerts/": R(get="Loooo", post="Lrrrr"),
    # incidents
    "": R(get="Loooo", post="Lrrrr"),
    "incidents/": R(get="Loooo", post="Lrrrr"),
    "incidents/new/": R(get="Loooo", post="Loooo", data={}),
    "incidents/<int:pk>/": R(get="Loooo", post="Lrrrr"),
    "incidents/<int:pk>/edit/": R(get="Loooo", post="Lxooo", data=lambda w: {"title": "Renamed"}),
    "incidents/<int:pk>/history/": R(get="Loooo", post="Lrrrr"),
    "incidents/<int:pk>/suspects/": R(get="Loooo", post="Lrrrr"),
    "incidents/<int:pk>/status/": R(get="Lmmmm", post="Lxooo", data={"to": "mitigated"}),
    "incidents/<int:pk>/notes/": R(get="Lmmmm", post="Loooo", data={"body": "Seen from EU too"}),
    "incidents/<int:pk>/join/": R(get="Lmmmm", post="Loooo"),
    "incidents/<int:pk>/timeline/entries/": R(get="Loooo", post="Lrrrr"),
    "incidents/<int:pk>/timeline/<int:entry_id>/star/": R(get="Lmmmm", post="Lxooo", data={"starred": "1"}),
    "incidents/<int:pk>/suspects/<int:deploy_id>/verdict/": R(get="Lmmmm", post="Lxooo", data={"verdict": "ruled_out"}),
    "incidents/<int:pk>/suspects/no-deploy/": R(get="Lmmmm", post="Lxooo", data={"value": "1"}),
    "incidents/<int:pk>/deploys/<int:deploy_id>/mitigation/": R(get="Lmmmm", post="Lxooo"),
    "incidents/<int:pk>/recurrences/": R(get="Lmmmm", post="Lxooo", data=lambda w: {"earlier": w.published.pk, "decision": "dismiss", "reason": "Other pool"}),
    # why tree
    "incidents/<int:pk>/whys/": R(get="Loooo", post="Lrrrr"),
    "incidents/<int:pk>/whys/level/": R(get="Lmmmm", post="Lxooo", data=lambda w: {"node": w.node.pk, "version": w.node.version, "answer": "Better", "category": "code"}),
    "incidents/<int:pk>/whys/add/": R(get="Lmmmm", post="Lxooo", data={"answer": "The pool was too small"}),
    "incidents/<int:pk>/whys/hints/": R(get="Lmmmm", post="Loooo", data={"answer": "Bob forgot"}),
    "incidents/<int:pk>/whys/<int:node_id>/": R(get="Lmmmm", post="Lxooo", data=lambda w: {"answer": "Better", "version": w.node.version}),
    "incidents/<int:pk>/whys/<int:node_id>/action/": R(get="Lmmmm", post="Lxooo", data=lambda w: {**ACTION, "owner": w.person.pk, "due_on": (NOW() + timedelta(days=9)).date()}),
    "incidents/<int:pk>/whys/<int:node_id>/risk/": R(get="Lmmmm", post="Lxooo", data=lambda w: {"reason": "Rare", "version": w.node.version}),
    "incidents/<int:pk>/whys/<int:node_id>/stop/": R(get="Lmmmm", post="Lxooo", data=lambda w: {"reason": "Vendor", "version": w.node.version}),
    "incidents/<int:pk>/whys/<int:node_id>/delete/": R(get="Lmmmm", post="Lxooo", data=lambda w: {"version": w.node.version}),
    # action items
    "actions/": R(get="Loooo", post="Lrrrr"),
    "actions/new/": R(get="Loooo", post="Loooo", data={}),
    "actions/reassign/": R(get="Lmmmm", post="Lxxoo", data=lambda w: {"items": [w.item.pk], "owner": w.employee.pk}),
    "actions/teams/": R(get="Loooo", post="Lrrrr"),
    "actions/teams/<slug:slug>/": R(get="Loooo", post="Lrrrr"),
    "actions/<int:pk>/": R(get="Loooo", post="Lrrrr"),
    "actions/<int:pk>/edit/": R(get="Loooo", post="Lxooo", data={"title": "Renamed"}),
    "actions/<int:pk>/history/": R(get="Loooo", post="Lrrrr"),
    "actions/<int:pk>/<str:move>/": R(get="Lmmmm", post="Lxooo", kw={"move": "delete"}),
    # postmortems (the incident's postmortem is in review; `person` is its named reviewer)
    "incidents/<int:pk>/postmortem/": R(get="Loooo", post="Lrrrr"),
    "incidents/<int:pk>/postmortem/start/": R(get="Lmmmm", post="Loooo"),
    "incidents/<int:pk>/postmortem/save/": R(get="Lmmmm", post="Lxbbb", data=lambda w: {"version": _pm_version(w), "lessons": "Mine"}),  # in review: edits wait for "request changes"
    "incidents/<int:pk>/postmortem/submit/": R(get="Lmmmm", post="Lxbbb", data=lambda w: {"version": _pm_version(w)}),  # already in review
    "incidents/<int:pk>/postmortem/approve/": R(get="Lmmmm", post="Lxoxx"),
    "incidents/<int:pk>/postmortem/request-changes/": R(get="Lmmmm", post="Lxoxx", data={"comment": "Say more"}),
    "incidents/<int:pk>/postmortem/publish/": R(get="Lmmmm", post="Lxooo"),
    "postmortems/": R(get="Loooo", post="Lrrrr"),
    "postmortems/<int:pk>/": R(get="Loooo", post="Lrrrr", kw={"pk": lambda w: w.published.pk}),
    "postmortems/<int:pk>/v<int:number>/": R(get="Loooo", post="Lrrrr", kw={"pk": lambda w: w.published.pk}),
    "postmortems/<int:pk>/download.md": R(get="Loooo", post="Lrrrr", kw={"pk": lambda w: w.published.pk}),
    # reviews, retros
    "reviews/": R(get="Loooo", post="Loooo"),  # a read: makes the reader's feed token once
    "reviews/<str:week>/": R(get="Loooo", post="Lrrrr"),
    "retros/": R(get="Loooo", post="Lrrrr"),
    "retros/new/": R(get="Loooo", post="Loooo", data={}),
    # the retro is a draft: only its team (members, manager) and superusers see it
    "retros/<int:pk>/": R(get="Lhooo", post="Lhrrr"),
    "retros/<int:pk>/edit/": R(get="Lhooo", post="Lhooo", data={"name": "Renamed"}),
    "retros/<int:pk>/items/": R(get="Lmmmm", post="Lhooo", data={"column": "stop", "text": "Deploying on Fridays"}),
    "retros/<int:pk>/items/<int:item_id>/vote/": R(get="Lmmmm", post="Lhooo"),
    "retros/<int:pk>/actions/": R(get="Lmmmm", post="Lhooo", data=lambda w: {**ACTION, "owner": w.person.pk, "due_on": (NOW() + timedelta(days=9)).date()}),
    "retros/<int:pk>/publish/": R(get="Lmmmm", post="Lhooo"),
    # the person's own settings
    "subscribe/": R(get="Loooo", post="Loooo"),  # like me/: makes the reader's feed token once
    "me/": R(get="Loooo", post="Loooo"),  # a read: makes the reader's token and profile once
    "me/reset-feed-token/": R(get="Lmmmm", post="Loooo"),
    "me/preferences/": R(get="Lmmmm", post="Loooo", data={}),
}
# fmt: on


# --------------------------------------------------------------------------- the URL patterns


def _patterns(resolvers=None, prefix: str = ""):
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _row_for(route: str) -> str | None:
    if route in ROWS:
        return route
    if route.startswith("admin/"):
        return "admin/"  # the admin's own patterns, one row (staff only)
    return None


def test_every_url_pattern_has_a_row():
    missing = sorted({r for r in _patterns() if _row_for(r) is None})
    assert not missing, (
        "These URL patterns have no row in tests/test_permission_matrix.py ROWS; classify each "
        '(one line, e.g. \'"<pattern>": R(get="Loooo", post="Lxooo"),\'):\n  '
        + "\n  ".join(repr(m) for m in missing)
    )


def test_every_row_is_a_url_pattern_and_complete():
    routes = set(_patterns())
    stale = sorted(r for r in ROWS if r != "admin/" and r not in routes)
    assert not stale, f"Rows without a URL pattern (remove them): {stale}"
    for route, row in ROWS.items():
        for method in ("get", "post", *API_WRITES):
            codes = getattr(row, method)
            assert len(codes) == len(ROLES) and set(codes) <= set("orLxhbma"), (route, method)


# --------------------------------------------------------------------------- the data


@pytest.fixture(scope="module")
def world(_module_settings, django_db_setup, django_db_blocker):
    """One set of data for the whole module, in a transaction rolled back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield _build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _build_world() -> SimpleNamespace:
    person, manager, employee = UserFactory(), UserFactory(), UserFactory()
    superuser = UserFactory(is_staff=True, is_superuser=True)
    team = TeamFactory(manager=manager, members=[person])
    service = ServiceFactory(team=team, repositories=["acme/shop"])
    orphan = ServiceFactory(team=None, claimed=False)
    incident = IncidentFactory(
        services=[service],
        commander=person,
        started_at=timezone.now() - timedelta(hours=2),
    )
    deploy = DeployFactory(service=service, finished_at=incident.started_at - timedelta(minutes=10))
    DeployWatch.objects.create(deploy=deploy, due_at=deploy.finished_at + timedelta(minutes=10))
    MetricSeriesFactory(name="signups", service=service)
    node = WhyNodeFactory(incident=incident, author=person)
    item = ActionItemFactory(incident=incident, owner=person, team=team)
    entry = TimelineEntryFactory(incident=incident)
    earlier = IncidentFactory(services=[service], commander=person, resolved=True)
    earlier.started_at = timezone.now() - timedelta(days=20)
    earlier.save()
    publish_postmortem(earlier, by=person)
    pm = document_services.generate_draft(incident=incident, by=person)
    document_services.edit_section(
        postmortem=pm, key="summary", text="The pool ran dry.", by=person
    )
    document_services.set_reviewers(postmortem=pm, reviewers=[person], by=person)
    document_services.submit_for_review(postmortem=pm, by=person, override_reason="test")
    retro = RetrospectiveFactory(team=team, published=False, published_at=None)
    retro_item = RetroItemFactory(retrospective=retro, author=person)
    experiment = ExperimentFactory(owner=person)
    week = (timezone.localdate() - timedelta(days=7)).strftime("%G-W%V")
    WeeklyReview.objects.create(
        iso_week=week,
        week_start=timezone.localdate(),
        generated_at=timezone.now(),
        published=True,
        published_at=timezone.now(),
    )
    token, _ = FeedToken.objects.get_or_create(user=person)
    # A restricted incident of the same service: the employee and the manager are not its people.
    hidden = IncidentFactory(services=[service], commander=person, restricted=True)
    # An employee who signed in through the company's identity provider (issue 14): a sixth
    # column in every case, expected to get exactly what the local employee gets.
    sso = sign_in_external_account(
        account=ProviderAccount.from_claims(
            issuer="https://idp.example.com",
            claims={
                "sub": "sso-1",
                "email": "sam.sso@example.com",
                "name": "Sam Sso",
                "groups": ["staff"],
            },
            teams_claim="groups",
        ),
        team_map={},
        admin_groups=[],
    )
    users = {
        "anonymous": None,
        "employee": employee,
        "person": person,
        "manager": manager,
        "superuser": superuser,
        "sso": sso,
    }
    clients = {}
    for role, user in users.items():
        clients[role] = Client()
        if user is not None:
            clients[role].force_login(user)  # sessions live as long as the module's data
    return SimpleNamespace(
        users=users,
        clients=clients,
        hidden=SimpleNamespace(
            incident=hidden,
            node=WhyNodeFactory(incident=hidden, author=person),
            entry=TimelineEntryFactory(incident=hidden),
        ),
        person=person,
        employee=employee,
        team=team,
        service=service,
        orphan=orphan,
        incident=incident,
        deploy=deploy,
        node=node,
        item=item,
        entry=entry,
        published=earlier,
        pm=pm,
        retro=retro,
        retro_item=retro_item,
        experiment=experiment,
        week=week,
        token=token.token,
    )


# --------------------------------------------------------------------------- one case


def _default_kwargs(route: str, w) -> dict:
    by_prefix = [
        ("api/action-items/", w.item.pk),
        ("actions/", w.item.pk),
        ("api/retros/", w.retro.pk),
        ("retros/", w.retro.pk),
        ("api/experiments/", w.experiment.pk),
        ("deploys/", w.deploy.pk),
    ]
    pk = next((value for prefix, value in by_prefix if route.startswith(prefix)), w.incident.pk)
    values = {
        "pk": pk,
        "incident_id": w.incident.pk,
        "node_id": w.node.pk,
        "deploy_id": w.deploy.pk,
        "entry_id": w.entry.pk,
        "item_id": w.retro_item.pk,
        "slug": w.team.slug if "teams/" in route else w.service.slug,
        "key": "summary",
        "move": "delete",
        "token": w.token,
        "week": w.week,
        "name": "signups",
        "number": 1,
    }
    return values


def _path(route: str, row: R, w) -> str:
    if route == "admin/":
        return "/admin/"
    kwargs = _default_kwargs(route, w)
    for name, value in row.kw.items():
        kwargs[name] = value(w) if callable(value) else value

    def fill(match: re.Match) -> str:
        return str(kwargs[match.group(1)])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", fill, route)


@functools.cache
def _models() -> list:
    return [
        *apps.get_app_config("postmortems").get_models(include_auto_created=True),
        *apps.get_app_config("metrics_link").get_models(include_auto_created=True),
        apps.get_model("authtoken", "Token"),
    ]


def _fingerprint() -> dict[str, str]:
    """Every row of every table of both apps (and API tokens), hashed per table. Plain SQL on
    one cursor: it runs twice for each of ~1,000 refused writes."""
    quote = connection.ops.quote_name
    prints = {}
    with connection.cursor() as cursor:
        for model in _models():
            cursor.execute(f"SELECT * FROM {quote(model._meta.db_table)} ORDER BY 1")  # noqa: S608
            rows = repr(cursor.fetchall()).encode()
            prints[model._meta.label] = hashlib.sha256(rows).hexdigest()
    return prints


def _matches(code: str, response, route: str) -> bool:
    status = response.status_code
    location = response.get("Location", "") if status in (301, 302, 303) else ""
    to_login = "/login/" in location
    api = route.startswith("api/")
    if code in "or":
        return 200 <= status < 300 or (300 <= status < 400 and not to_login)
    if code == "L":
        return to_login or (api and status in (401, 403))
    if code == "x":
        return status == 403
    if code == "h":
        return status == 404
    if code == "b":
        return status in (400, 409, 412, 422, 428)
    if code == "m":
        return status == 405
    if code == "a":
        return status in (401, 403)
    raise AssertionError(code)


def _request(client, method: str, route: str, path: str, data, headers: dict):
    if method == "get":
        return client.get(path, **headers)
    if route.startswith("api/"):
        body = data if data is not None else {}
        return getattr(client, method)(path, body, content_type="application/json", **headers)
    return client.post(path, data or {}, **headers)


def _check(world, route: str, method: str, role: str, code: str, path: str, row: R) -> str:
    """One cell, in a savepoint rolled back afterwards. Returns what went wrong, or ""."""
    data = row.data(world) if callable(row.data) else row.data
    headers = row.headers(world) if row.headers else {}
    client = world.clients[role]
    cookies = {key: morsel.value for key, morsel in client.cookies.items()}
    # A GET never needs the fingerprint (reads are checked elsewhere); every refused or
    # read-like write does: the database must be exactly as it was.
    watch = method != "get" and code != "o"
    problem = ""
    with transaction.atomic():
        before = _fingerprint() if watch else None
        response = _request(client, method, route, path, data, headers)
        if not _matches(code, response, route):
            problem = (
                f"{method.upper()} {path} as {role}: expected {code!r}, got {response.status_code} "
                f"{response.get('Location', '')} {response.content[:200]!r}"
            )
        elif watch:
            after = _fingerprint()
            changed = [label for label in before if before[label] != after[label]]
            if changed:
                problem = f"{method.upper()} {path} as {role} ({code}) changed {changed}"
        transaction.set_rollback(True)
    client.cookies.clear()  # signing out (or in) must not leak into the next cell
    for key, value in cookies.items():
        client.cookies[key] = value
    return problem


ROW_CASES = [
    pytest.param(route, method, id=f"{route or '/'}-{method}")
    for route in ROWS
    for method in ("get", "post", *(API_WRITES if route.startswith("api/") else ()))
]


@pytest.mark.parametrize(("route", "method"), ROW_CASES)
def test_the_matrix(world, db, route, method):
    """One pattern and method, all five roles and an SSO employee (every failing role is listed)."""
    row = ROWS[route]
    path = _path(route, row, world)
    codes = getattr(row, method)
    problems = [
        _check(world, route, method, role, codes[index], path, row)
        for index, role in enumerate(ROLES)
    ]
    # The SSO employee's row is the local employee's.
    problems.append(_check(world, route, method, "sso", codes[ROLES.index("employee")], path, row))
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)


HIDDEN_PREFIXES = (
    "incidents/<int:pk>/",
    "api/incidents/<int:pk>/",
    "api/whys/",
    "api/postmortems/<int:incident_id>/",
)
HIDDEN_CASES = [
    pytest.param(route, method, id=f"{route}-{method}")
    for route in ROWS
    if route.startswith(HIDDEN_PREFIXES)
    for method in ("get", "post", *(API_WRITES if route.startswith("api/") else ()))
]


@pytest.mark.parametrize(("route", "method"), HIDDEN_CASES)
def test_a_restricted_incident_is_404_and_unchanged_for_those_outside_it(world, db, route, method):
    """Every incident-scoped pattern on a restricted incident, for an employee and the manager of
    its service's team (neither is one of its people): 404 (405 where the method is not taken),
    nothing changed."""
    row = ROWS[route]
    hidden = world.hidden
    swapped = SimpleNamespace(
        **{**vars(world), "incident": hidden.incident, "node": hidden.node, "entry": hidden.entry}
    )
    path = _path(route, R(get=row.get, post=row.post), swapped)  # no overrides: its own ids
    problems = []
    for role in ("employee", "manager", "sso"):
        code = (
            "m"
            if getattr(row, method)[ROLES.index(role if role != "sso" else "employee")] == "m"
            else "h"
        )
        problems.append(_check(swapped, route, method, role, code, path, row))
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)


@pytest.fixture(autouse=True)
def _test_settings():
    """The suite's per-test settings fixture, replaced here by the module-wide one below (the
    matrix makes ~2,000 requests; a tmp dir and a settings copy per cell would dominate)."""


@pytest.fixture(scope="module", autouse=True)
def _module_settings():
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        GITHUB_WEBHOOK_SECRET="gh-test-secret",
        GITLAB_WEBHOOK_TOKEN="gl-test-token",
        ALERTMANAGER_WEBHOOK_TOKEN="am-test-token",
        PAGERDUTY_WEBHOOK_SECRET="pd-test-secret",
        SLACK_WEBHOOK_URL="",
    ):
        yield
