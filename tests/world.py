"""A small demo-like world for the crawler and the browser journeys (the real demo seed takes a
minute here; this takes about a second): two teams, services, public and restricted incidents with
suspects, verdicts, whys, enough action items and incidents to page, a published postmortem, a
retrospective, a weekly review and alerts. One user per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from postmortems.models import SuspectVerdict
from tests.factories import (
    ActionItemFactory,
    AlertFactory,
    DeployFactory,
    IncidentFactory,
    RetroItemFactory,
    RetrospectiveFactory,
    ServiceFactory,
    TeamFactory,
    TimelineEntryFactory,
    UserFactory,
    WhyNodeFactory,
    publish_postmortem,
)


@dataclass
class World:
    employee: object
    responder: object
    manager: object
    admin: object
    colleague: object
    team: object
    other_team: object
    service: object
    login_outage: object
    secret: object
    culprit: object
    version: object
    retro: object


def build_world(*, incidents: int = 30, actions: int = 60) -> World:
    now = timezone.now()
    employee = UserFactory(username="erin", first_name="Erin", last_name="Employee")
    responder = UserFactory(username="ravi", first_name="Ravi", last_name="Responder")
    manager = UserFactory(username="mona", first_name="Mona", last_name="Manager")
    colleague = UserFactory(username="carl", first_name="Carl", last_name="Colleague")
    admin = UserFactory(username="root", first_name="Ada", last_name="Admin")
    admin.is_superuser = admin.is_staff = True
    admin.save()
    team = TeamFactory(
        name="Identity", slug="identity", manager=manager, members=[manager, colleague, responder]
    )
    other_team = TeamFactory(name="Payments", slug="payments", manager=admin, members=[admin])
    service = ServiceFactory(slug="accounts", name="Accounts", team=team)
    checkout = ServiceFactory(slug="checkout", name="Checkout", team=other_team)

    login_outage = IncidentFactory(
        title="Logins failing: database out of connections",
        severity="sev1",
        impact="Logins failed for 35% of users",
        services=[service],
        commander=responder,
        responders=[colleague],
        started_at=now - timedelta(days=2),
        detected_at=now - timedelta(days=2) + timedelta(minutes=4),
        resolved=True,
    )
    culprit = DeployFactory(
        service=service,
        version="v2.41.0",
        finished_at=login_outage.started_at - timedelta(minutes=40),
        status="rolled_back",
    )
    DeployFactory(
        service=service, version="v2.40.9", finished_at=login_outage.started_at - timedelta(hours=5)
    )
    SuspectVerdict.objects.create(
        incident=login_outage,
        deploy=culprit,
        verdict="culprit",
        note="The recently viewed query ran on the master.",
        by=responder,
        at=now - timedelta(days=2),
    )
    TimelineEntryFactory(incident=login_outage, body="Rolled back v2.41.0", starred=True)
    root = WhyNodeFactory(
        incident=login_outage, answer="The master ran out of connections", category="infrastructure"
    )
    WhyNodeFactory(
        incident=login_outage, parent=root, answer="A new panel queried the master", category="code"
    )
    version = publish_postmortem(
        login_outage,
        by=responder,
        sections={"lessons": "Read [the service page](/services/accounts/) before deploying."},
    )
    secret = IncidentFactory(
        title="Secret key rotation leaked",
        severity="sev2",
        services=[checkout],
        commander=admin,
        responders=[responder],
        restricted=True,
    )
    for i in range(incidents):
        IncidentFactory(
            title=f"Checkout slow #{i:02}",
            severity=("sev2", "sev3", "sev4")[i % 3],
            services=[checkout if i % 2 else service],
            commander=colleague,
            started_at=now - timedelta(days=3 + i),
            resolved=bool(i % 4),
        )
    for i in range(actions):
        ActionItemFactory(
            title=f"Action {i:02}",
            owner=(colleague, responder, manager)[i % 3],
            team=team,
            incident=login_outage if i % 5 == 0 else None,
            due_on=(now + timedelta(days=i - 30)).date(),
            priority=("p1", "p2", "p3")[i % 3],
        )
    ActionItemFactory(title="Rotate the keys", owner=responder, team=other_team, incident=secret)
    retro = RetrospectiveFactory(team=team, name="Sprint 48", facilitator=manager)
    RetroItemFactory(retrospective=retro, text="Pairing on deploys")
    ActionItemFactory(
        title="Write the deploy checklist", owner=manager, team=team, retrospective=retro
    )
    for i in range(3):
        AlertFactory(service=service, name=f"LoginErrors{i}", starts_at=now - timedelta(hours=i))

    from postmortems.services.reviews import build_weekly_review

    build_weekly_review(mail=False)
    return World(
        employee=employee,
        responder=responder,
        manager=manager,
        admin=admin,
        colleague=colleague,
        team=team,
        other_team=other_team,
        service=service,
        login_outage=login_outage,
        secret=secret,
        culprit=culprit,
        version=version,
        retro=retro,
    )
