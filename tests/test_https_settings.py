"""Production is HTTPS by default, knows when a TLS proxy is in front, and signs in over plain
HTTP only when the operator says so explicitly (INSECURE_HTTP)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from postmortems.config.security import ONE_YEAR, https_settings
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"


def production(**overrides) -> dict:
    return https_settings(debug=False, insecure_http=False, behind_tls_proxy=False, **overrides)


def apply(settings, values: dict) -> None:
    for name, value in values.items():
        setattr(settings, name, value)


# --- the derived settings ------------------------------------------------------------------------


def test_production_is_https_with_secure_cookies_a_redirect_and_a_year_of_hsts():
    values = production()
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == ONE_YEAR
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] is None


def test_behind_a_tls_proxy_the_forwarded_proto_header_is_trusted():
    values = https_settings(debug=False, insecure_http=False, behind_tls_proxy=True)
    assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert values["SESSION_COOKIE_SECURE"] is True


def test_insecure_http_drops_secure_cookies_the_redirect_and_hsts():
    values = https_settings(debug=False, insecure_http=True, behind_tls_proxy=False)
    assert not values["SESSION_COOKIE_SECURE"] and not values["CSRF_COOKIE_SECURE"]
    assert not values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_hsts_seconds_come_from_the_operator():
    assert production(hsts_seconds=300)["SECURE_HSTS_SECONDS"] == 300


# --- manage.py check --deploy ------------------------------------------------------------------


def deploy_check(**env) -> subprocess.CompletedProcess:
    full_env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "INSECURE", "BEHIND"))
        },
        "DATABASE_URL": "sqlite:///:memory:",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "pm.example.com",
        "SITE_URL": "https://pm.example.com",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_on_production_settings():
    result = deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_is_clean_behind_a_tls_proxy():
    result = deploy_check(BEHIND_TLS_PROXY="on")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_says_plainly_when_insecure_http_is_on():
    result = deploy_check(INSECURE_HTTP="on")
    assert result.returncode != 0
    assert "postmortems.W001" in result.stderr
    assert "INSECURE_HTTP is on" in result.stderr


# --- signing in over plain HTTP ----------------------------------------------------------------


def http_sign_in(base_url: str, username: str, password: str) -> tuple[int, str]:
    """Sign in the way a browser does over http://: cookies marked Secure are never sent back."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base_url}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    body = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    try:
        response = opener.open(f"{base_url}/accounts/login/", data=body)
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    return response.status, response.geturl()


@pytest.fixture
def person(transactional_db):
    person = UserFactory(username="lab")
    person.set_password(PASSWORD)
    person.save()
    return person


def test_with_insecure_http_on_sign_in_over_plain_http_works(live_server, settings, person):
    settings.DEBUG = False
    apply(settings, https_settings(debug=False, insecure_http=True, behind_tls_proxy=False))

    status, landed_on = http_sign_in(live_server.url, "lab", PASSWORD)

    assert status == 200
    assert landed_on == f"{live_server.url}/"  # signed in: the home page, not the login form


def test_without_the_switch_sign_in_over_plain_http_is_refused(live_server, settings, person):
    """Why the switch exists: Secure cookies never come back over http://, so CSRF refuses."""
    settings.DEBUG = False
    apply(settings, {**production(), "SECURE_SSL_REDIRECT": False})

    status, _ = http_sign_in(live_server.url, "lab", PASSWORD)

    assert status == 403


# --- signing in over HTTPS through a TLS proxy -------------------------------------------------


@pytest.mark.django_db
def test_behind_a_tls_proxy_sign_in_over_https_works_with_secure_cookies(settings):
    person = UserFactory(username="prod")
    person.set_password(PASSWORD)
    person.save()
    settings.DEBUG = False
    apply(settings, https_settings(debug=False, insecure_http=False, behind_tls_proxy=True))
    browser = Client(enforce_csrf_checks=True)
    via_proxy = {"X-Forwarded-Proto": "https", "Host": "testserver"}  # as nginx passes them

    form = browser.get("/accounts/login/", headers=via_proxy)
    assert form.status_code == 200
    assert form.cookies["csrftoken"]["secure"]
    assert form["Strict-Transport-Security"].startswith(f"max-age={ONE_YEAR}")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode())[1]

    response = browser.post(
        "/accounts/login/",
        {"username": "prod", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={
            **via_proxy,
            "Referer": "https://testserver/accounts/login/",
            "Origin": "https://testserver",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies["sessionid"]["secure"]


@pytest.mark.django_db
def test_behind_a_tls_proxy_plain_http_is_redirected_to_https(settings):
    settings.DEBUG = False
    apply(settings, https_settings(debug=False, insecure_http=False, behind_tls_proxy=True))
    response = Client().get("/accounts/login/", headers={"X-Forwarded-Proto": "http"})
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"


# --- the API schema and docs need sign-in -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_send_anonymous_readers_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
def test_the_api_schema_refuses_anonymous_readers(client):
    response = client.get("/api/schema/")
    assert response.status_code in (401, 403)
    assert b"openapi" not in response.content


@pytest.mark.django_db
def test_the_api_schema_and_docs_work_when_signed_in(client_for, user):
    client = client_for(user)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
