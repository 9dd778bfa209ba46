"""Company sign-in against a real OpenID provider: oidc-provider 9 (npm) run by tests/oidc/server.js.

The test starts the provider on a free loopback port (installing tests/oidc/node_modules with
`npm ci` when missing), then Playwright signs in through the provider's own login page.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.cache import cache

from postmortems.models import ExternalIdentity
from tests.factories import TeamFactory

pytestmark = pytest.mark.browser

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def _node_modules():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        reason = "needs Node.js and npm (apt-get install nodejs npm)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason} (CI=true: a missing service is a failure)", pytrace=False)
        pytest.skip(reason)
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(  # noqa: S603 (our own npm, fixed arguments)
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(OIDC_DIR)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return node


@pytest.fixture
def oidc_provider(_node_modules, live_server, tmp_path, settings):
    """A running provider with alice and bob; returns a function that sets a person's groups."""
    accounts_file = tmp_path / "accounts.json"
    accounts = {
        "alice": {
            "email": "alice.anders@example.com",
            "name": "Alice Anders",
            "groups": ["okta-payments", "okta-everyone"],
        },
        "bob": {"email": "bob@example.com", "name": "Bob Berg", "groups": ["okta-sre"]},
    }
    accounts_file.write_text(json.dumps(accounts))
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    log = tmp_path / "provider.log"
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603 (our own node, fixed arguments)
            [_node_modules, str(OIDC_DIR / "server.js")],
            cwd=OIDC_DIR,
            env={
                "PATH": "/usr/bin:/bin",
                "PORT": str(port),
                "REDIRECT_URI": f"{live_server.url}/oidc/callback/",
                "POST_LOGOUT_REDIRECT_URI": f"{live_server.url}/accounts/login/",
                "ACCOUNTS_FILE": str(accounts_file),
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"oidc-provider did not start: {log.read_text()}")
                time.sleep(0.1)
        settings.SITE_URL = live_server.url
        settings.OIDC_ISSUER = issuer
        settings.OIDC_CLIENT_ID = "test-client"
        settings.OIDC_CLIENT_SECRET = "test-secret"
        settings.OIDC_PROVIDER_NAME = "Test IdP"
        settings.OIDC_SCOPES = "openid email profile groups"
        settings.OIDC_TEAM_MAP = {"okta-payments": "payments", "okta-sre": "sre"}
        cache.clear()

        def set_groups(name: str, groups: list[str]) -> None:
            accounts[name]["groups"] = groups
            accounts_file.write_text(json.dumps(accounts))

        yield set_groups
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        cache.clear()


def _sign_in_at_provider(page, live_server, login: str):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    if not page.url.startswith(live_server.url):
        page.locator("button[type=submit]").click()  # the provider's consent page: Continue
    page.wait_for_url(f"{live_server.url}/")


def test_company_sign_in_creates_updates_and_signs_out(
    transactional_db, page, live_server, oidc_provider, shot
):
    payments = TeamFactory(slug="payments", name="Payments")
    sre = TeamFactory(slug="sre", name="SRE")
    platform = TeamFactory(slug="platform", name="Platform")

    page.goto(f"{live_server.url}/accounts/login/")
    shot("oidc-login-page")
    _sign_in_at_provider(page, live_server, "alice")
    alice = get_user_model().objects.get(external_identities__subject="alice")
    assert (alice.username, alice.email, alice.first_name, alice.last_name) == (
        "alice.anders",
        "alice.anders@example.com",
        "Alice",
        "Anders",
    )
    assert set(alice.teams.values_list("slug", flat=True)) == {"payments"}
    assert not alice.has_usable_password()
    shot("oidc-signed-in")

    platform.members.add(alice)  # set by hand: sign-in never touches an unmapped team
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/session/end**")  # RP-initiated logout at the provider
    assert "id_token_hint=" in page.url and "post_logout_redirect_uri=" in page.url
    page.locator("button[autofocus], button[type=submit]").first.click()  # "Yes, sign me out"
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")  # the local session is over

    oidc_provider("alice", ["okta-sre"])
    # The provider asks for the password again (its session ended too), then updates the teams.
    _sign_in_at_provider(page, live_server, "alice")
    assert set(alice.teams.values_list("slug", flat=True)) == {"sre", "platform"}
    assert not payments.members.filter(pk=alice.pk).exists()
    assert sre.members.filter(pk=alice.pk).exists()
    assert get_user_model().objects.filter(external_identities__isnull=False).count() == 1
    assert ExternalIdentity.objects.get(subject="alice").last_sign_in_at is not None
