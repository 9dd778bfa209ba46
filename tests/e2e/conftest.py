"""Browser tests: Playwright drives Debian's Chromium against a live server.

Use the `signed_in` fixture for a page already logged in; screenshots go to $SCREENSHOT_DIR
(default /tmp/screenshots) so people can look at what the product shows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factories import UserFactory

# Playwright's sync API runs an event loop in the test thread, where Django's ORM would refuse to
# run; only the browser tests (this package, the OIDC one included) need the escape hatch.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/screenshots"))


@pytest.fixture
def shot(page):
    """shot("name") saves a full-page PNG of the current page."""

    def take(name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(page, live_server):
    """login(user, password="pw") signs in through the real login form."""

    def do(user, password: str = "pw"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    return do


@pytest.fixture
def signed_in(transactional_db, login):
    user = UserFactory(username="oncall", first_name="Olive", last_name="Oncall")
    return login(user)
