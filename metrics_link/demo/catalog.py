"""Teams with managers, users, and a dozen services with repositories."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from ..models import Service, Team

PEOPLE = [
    # username, first, last, team slug, is manager
    ("maria", "Maria", "Lopez", "platform", True),
    ("ned", "Ned", "Okafor", "platform", False),
    ("alice", "Alice", "Chen", "platform", False),
    ("priya", "Priya", "Natarajan", "identity", True),
    ("bob", "Bob", "Schmidt", "identity", False),
    ("kenji", "Kenji", "Watanabe", "identity", False),
    ("sara", "Sara", "Haddad", "payments", True),
    ("tom", "Tom", "Becker", "payments", False),
    ("lena", "Lena", "Novak", "payments", False),
    ("omar", "Omar", "Farouk", "growth", True),
    ("julia", "Julia", "Rossi", "growth", False),
    ("dev", "Dev", "Patel", "growth", False),
]

TEAMS = [
    ("platform", "Platform"),
    ("identity", "Identity"),
    ("payments", "Payments"),
    ("growth", "Growth"),
]

SERVICES = [
    # slug, name, team, repositories
    ("accounts", "Accounts & login", "identity", ["acme/accounts"]),
    ("sessions", "Session store", "identity", ["acme/sessions"]),
    ("profile-web", "Profile pages", "growth", ["acme/profile-web"]),
    ("search", "Search", "growth", ["acme/search"]),
    ("feed", "Home feed", "growth", ["acme/feed"]),
    ("checkout", "Checkout", "payments", ["acme/checkout"]),
    ("billing", "Billing", "payments", ["acme/billing"]),
    ("payments-gateway", "Payments gateway", "payments", ["acme/payments-gateway"]),
    ("db-master", "Primary database", "platform", ["acme/db-ops"]),
    ("edge", "Edge & CDN", "platform", ["acme/edge"]),
    ("queue", "Job queue", "platform", ["acme/queue"]),
    ("notifications", "Notifications", "platform", ["acme/notifications"]),
]


@transaction.atomic
def run(ctx, progress) -> None:
    User = get_user_model()
    demo, created = User.objects.get_or_create(
        username="demo",
        defaults={"first_name": "Demo", "last_name": "User", "email": "demo@example.com"},
    )
    if created or not demo.has_usable_password():
        demo.set_password("demo")
    demo.is_staff = True
    demo.is_superuser = True
    demo.save()
    users = {}
    for username, first, last, _team, _mgr in PEOPLE:
        user, made = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if made:
            user.set_password("demo")
            user.save()
        users[username] = user
    teams = {}
    for slug, name in TEAMS:
        team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": name})
        teams[slug] = team
    for username, _f, _l, team_slug, is_manager in PEOPLE:
        team = teams[team_slug]
        team.members.add(users[username])
        if is_manager and team.manager_id != users[username].pk:
            team.manager = users[username]
            team.save(update_fields=["manager"])
    teams["platform"].members.add(demo)
    teams["identity"].members.add(demo)
    for slug, name, team_slug, repos in SERVICES:
        Service.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "team": teams[team_slug],
                "repositories": repos,
                "claimed": True,
            },
        )
    # One service first seen in an alert: unclaimed, waiting for a team.
    Service.objects.get_or_create(
        slug="legacy-cron", defaults={"name": "legacy-cron", "claimed": False}
    )
    progress(f"{len(PEOPLE) + 1} users, {len(TEAMS)} teams, {len(SERVICES) + 1} services")
