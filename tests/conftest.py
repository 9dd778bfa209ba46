"""Shared fixtures: few, easy to find. Service markers skip with a reason (fail when CI=true)."""

from __future__ import annotations

import os
import shutil

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import IncidentFactory, ServiceFactory, TeamFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(reason: str):
    if IN_CI:
        pytest.fail(
            f"{reason} (CI=true: a missing service is a failure, not a skip)", pytrace=False
        )
    pytest.skip(reason)


def pytest_collection_modifyitems(config, items):
    """Attach the marker's precondition to every marked test."""
    for item in items:
        if item.get_closest_marker("postgres"):
            item.fixturenames.insert(0, "_require_postgres")
        if item.get_closest_marker("worker"):
            item.fixturenames.insert(0, "_require_redis")
        if item.get_closest_marker("browser"):
            item.fixturenames.insert(0, "_require_chromium")
        if item.get_closest_marker("prometheus"):
            item.fixturenames.insert(0, "_require_prometheus")


@pytest.fixture
def _require_postgres():
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        _missing("needs PostgreSQL: set DATABASE_URL=postgres://…")


@pytest.fixture
def _require_redis():
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        _missing("needs Redis and a Celery worker: set CELERY_BROKER_URL=redis://…")
    try:
        redis.Redis.from_url(url).ping()
    except Exception as exc:
        _missing(f"Redis at {url} is not answering: {exc}")


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture
def _require_chromium():
    if not os.path.exists(CHROMIUM):
        _missing(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture
def _require_prometheus():
    if not shutil.which("prometheus"):
        _missing("needs Debian's prometheus binary (apt-get install prometheus)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Playwright drives Debian's Chromium; no browser is ever downloaded."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    }


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.GITHUB_WEBHOOK_SECRET = "gh-test-secret"
    settings.GITLAB_WEBHOOK_TOKEN = "gl-test-token"
    settings.ALERTMANAGER_WEBHOOK_TOKEN = "am-test-token"
    settings.PAGERDUTY_WEBHOOK_SECRET = "pd-test-secret"
    settings.SLACK_WEBHOOK_URL = ""


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def team(db, user):
    return TeamFactory(manager=user, members=[user])


@pytest.fixture
def service(db, team):
    return ServiceFactory(team=team)


@pytest.fixture
def incident(db, service, user):
    return IncidentFactory(services=[service], commander=user, reporter=user)


@pytest.fixture
def client_for(client):
    """client_for(user) → a test client signed in as that user."""

    def make(u):
        client.force_login(u)
        return client

    return make


@pytest.fixture
def api_client_for(db):
    def make(u):
        c = APIClient()
        c.force_authenticate(u)
        return c

    return make
