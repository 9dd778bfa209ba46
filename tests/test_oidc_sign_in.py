"""Company sign-in (OpenID Connect) without a browser: a fake provider answers over `requests`.

The provider's discovery, JWKS, token and userinfo answers are served from memory with a real RSA
key, so every check on the ID token runs for real. The end-to-end test with a real provider is
tests/e2e/test_oidc_e2e.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token

from postmortems.models import ExternalIdentity, FeedToken
from tests.factories import IncidentFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

ISSUER = "https://idp.example.com"
User = get_user_model()


class FakeProvider:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}
        self.discovery = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "userinfo_endpoint": f"{ISSUER}/userinfo",
            "jwks_uri": f"{ISSUER}/jwks",
            "end_session_endpoint": f"{ISSUER}/logout",
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        self.down = False
        self.claims = {
            "sub": "00u-alice",
            "email": "alice@example.com",
            "name": "Alice Anders",
            "groups": ["okta-payments"],
        }
        self.id_token_overrides: dict = {}
        self.sign_with = self.key
        self.token_requests: list[dict] = []
        self.nonce = ""
        self.tamper_sub = ""

    def id_token(self) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": "the-client",
            "sub": self.claims["sub"],
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce,
            **self.id_token_overrides,
        }
        return jwt.encode(body, self.sign_with, algorithm="RS256", headers={"kid": "k1"})

    def _answer(self, url, body, status=200):
        response = requests.Response()
        response.status_code = status
        response.url = url
        response._content = json.dumps(body).encode()
        response.headers["content-type"] = "application/json"
        return response

    def get(self, url, **kwargs):
        if self.down:
            raise requests.ConnectionError(f"connection refused: {url}")
        if url.endswith("/.well-known/openid-configuration"):
            return self._answer(url, self.discovery)
        if url == self.discovery["jwks_uri"]:
            return self._answer(url, self.jwks)
        if url == self.discovery["userinfo_endpoint"]:
            return self._answer(url, self.claims)
        return self._answer(url, {}, status=404)

    def post(self, url, data=None, **kwargs):
        if self.down:
            raise requests.ConnectionError(f"connection refused: {url}")
        self.token_requests.append(dict(data))
        id_token = self.id_token()
        if (
            self.tamper_sub
        ):  # someone edits the signed body on the way: the signature no longer fits
            head, body, signature = id_token.split(".")
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            claims["sub"] = self.tamper_sub
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            id_token = f"{head}.{body}.{signature}"
        return self._answer(url, {"id_token": id_token, "access_token": "at-1"})


@pytest.fixture
def idp(settings, monkeypatch):
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_CLIENT_ID = "the-client"
    settings.OIDC_CLIENT_SECRET = "s3cret"
    settings.OIDC_PROVIDER_NAME = "Okta"
    settings.OIDC_TEAM_MAP = {"okta-payments": "payments", "okta-sre": "sre"}
    settings.OIDC_ADMIN_GROUPS = ["okta-admins"]
    settings.SITE_URL = "http://testserver"
    provider = FakeProvider()
    monkeypatch.setattr(requests, "get", provider.get)
    monkeypatch.setattr(requests, "post", provider.post)
    cache.clear()
    yield provider
    cache.clear()


def start(client: Client, idp: FakeProvider, next_url: str = "") -> dict:
    response = client.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlparse(response["Location"]).query).items()}
    idp.nonce = query["nonce"]
    return query


def sign_in(client: Client, idp: FakeProvider, next_url: str = ""):
    query = start(client, idp, next_url)
    return client.get("/oidc/callback/", {"code": "the-code", "state": query["state"]})


def refused(response, caplog, reason: str, status: int = 400) -> None:
    assert response.status_code == status
    page = response.content.decode()
    assert "Sign-in failed" in page and 'href="/accounts/login/"' in page
    assert any(reason in r.getMessage() for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]


def teams_of(user) -> set[str]:
    return set(user.teams.values_list("slug", flat=True))


# --- the login page -----------------------------------------------------------------------------


def test_the_login_page_offers_the_company_sign_in_when_configured(client, idp):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Okta" in page
    assert 'name="password"' in page  # LOCAL_LOGIN is on by default


def test_without_a_provider_the_login_page_is_the_password_form_only(client, settings):
    settings.OIDC_ISSUER = ""
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with" not in page and 'name="password"' in page
    assert client.get("/oidc/authenticate/").status_code == 404


# --- the flow -----------------------------------------------------------------------------------


def test_the_first_sign_in_creates_the_user_with_the_mapped_teams_using_pkce(client, idp):
    TeamFactory(slug="payments")
    TeamFactory(slug="sre")
    query = start(client, idp)
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == "http://testserver/oidc/callback/"
    response = client.get("/oidc/callback/", {"code": "the-code", "state": query["state"]})

    assert response.status_code == 302 and response["Location"] == "/"
    verifier = idp.token_requests[0]["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert challenge.decode() == query["code_challenge"]
    user = User.objects.get(
        external_identities__issuer=ISSUER, external_identities__subject="00u-alice"
    )
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "alice",
        "alice@example.com",
        "Alice",
        "Anders",
    )
    assert not user.has_usable_password() and not user.is_superuser
    assert teams_of(user) == {"payments"}
    assert client.get("/").status_code == 200


def test_the_next_page_is_kept_through_the_round_trip(client, idp):
    response = sign_in(client, idp, next_url="/actions/")
    assert response["Location"] == "/actions/"


def test_a_second_sign_in_updates_name_email_and_the_mapped_teams_only(client, idp):
    TeamFactory(slug="payments")
    TeamFactory(slug="sre")
    platform = TeamFactory(slug="platform")
    sign_in(client, idp)
    user = User.objects.get(username="alice")
    platform.members.add(user)  # set by hand: not a mapped team
    idp.claims.update(email="alice.a@example.com", name="Alice Berg", groups=["okta-sre", "x"])

    sign_in(Client(), idp)

    user.refresh_from_db()
    assert (user.email, user.last_name, user.username) == ("alice.a@example.com", "Berg", "alice")
    assert teams_of(user) == {"sre", "platform"}
    assert User.objects.count() == 1 + 3  # alice and the three teams' managers


def test_a_person_is_matched_by_issuer_and_subject_never_by_email(client, idp):
    local = UserFactory(username="alice", email="alice@example.com")
    sign_in(client, idp)
    sso = User.objects.get(external_identities__subject="00u-alice")
    assert sso.pk != local.pk and sso.username == "alice2"
    local.refresh_from_db()
    assert local.has_usable_password() and not local.external_identities.exists()


def test_the_same_subject_at_another_issuer_is_another_person(idp):
    from postmortems.services.sso_accounts import ProviderAccount, sign_in_external_account

    first = sign_in_external_account(
        account=ProviderAccount(issuer=ISSUER, subject="1", email="a@x.com")
    )
    second = sign_in_external_account(
        account=ProviderAccount(issuer="https://other.example.com", subject="1", email="a@x.com")
    )
    assert first.pk != second.pk and second.username == "a2"


def test_admin_groups_make_a_superuser_and_leaving_demotes_only_who_sign_in_made(client, idp):
    idp.claims["groups"] = ["okta-admins"]
    sign_in(client, idp)
    alice = User.objects.get(username="alice")
    assert alice.is_superuser and alice.is_staff
    idp.claims["groups"] = []
    sign_in(Client(), idp)
    alice.refresh_from_db()
    assert not alice.is_superuser and not alice.is_staff

    idp.claims.update(sub="00u-root", email="root@example.com", groups=[])
    sign_in(Client(), idp)
    root = User.objects.get(username="root")
    root.is_superuser = root.is_staff = True  # made by hand
    root.save()
    idp.claims["groups"] = ["okta-admins"]
    sign_in(Client(), idp)
    idp.claims["groups"] = []
    sign_in(Client(), idp)
    root.refresh_from_db()
    assert root.is_superuser


def test_a_deactivated_user_is_refused(client, idp, caplog):
    sign_in(client, idp)
    User.objects.filter(username="alice").update(is_active=False)
    response = sign_in(Client(), idp)
    refused(response, caplog, "inactive", status=403)


# --- errors create nothing ----------------------------------------------------------------------


def test_a_wrong_state_is_refused_and_creates_nothing(client, idp, caplog):
    start(client, idp)
    response = client.get("/oidc/callback/", {"code": "the-code", "state": "forged"})
    refused(response, caplog, "state missing")
    assert not User.objects.exists() and idp.token_requests == []


def test_a_state_is_used_only_once(client, idp, caplog):
    query = start(client, idp)
    client.get("/oidc/callback/", {"code": "the-code", "state": query["state"]})
    response = client.get("/oidc/callback/", {"code": "the-code", "state": query["state"]})
    refused(response, caplog, "state missing")


def test_a_token_for_another_audience_is_refused_and_creates_nothing(client, idp, caplog):
    idp.id_token_overrides = {"aud": "another-client"}
    refused(sign_in(client, idp), caplog, "another audience")
    assert not User.objects.exists() and not ExternalIdentity.objects.exists()


def test_an_expired_id_token_is_refused_and_creates_nothing(client, idp, caplog):
    idp.id_token_overrides = {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}
    refused(sign_in(client, idp), caplog, "expired")
    assert not User.objects.exists()


def test_a_tampered_id_token_is_refused_and_creates_nothing(client, idp, caplog):
    idp.sign_with = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused(sign_in(client, idp), caplog, "signature")
    assert not User.objects.exists()


def test_an_id_token_whose_body_was_edited_is_refused(client, idp, caplog):
    idp.tamper_sub = "00u-the-ceo"
    idp.claims["sub"] = "00u-the-ceo"
    refused(sign_in(client, idp), caplog, "signature")
    assert not User.objects.exists() and not ExternalIdentity.objects.exists()


def test_an_id_token_signed_with_an_unknown_key_is_refused(client, idp, caplog):
    idp.jwks["keys"][0]["kid"] = "rotated-away"
    refused(sign_in(client, idp), caplog, "not in the JWKS")
    assert not User.objects.exists()


def test_an_id_token_from_another_issuer_is_refused(client, idp, caplog):
    idp.id_token_overrides = {"iss": "https://evil.example.com"}
    refused(sign_in(client, idp), caplog, "another issuer")
    assert not User.objects.exists()


def test_a_replayed_id_token_with_another_nonce_is_refused(client, idp, caplog):
    idp.id_token_overrides = {"nonce": "from-another-sign-in"}
    refused(sign_in(client, idp), caplog, "nonce")
    assert not User.objects.exists()


def test_an_issuer_that_is_down_is_said_plainly_and_creates_nothing(client, idp, caplog):
    idp.down = True
    response = client.get("/oidc/authenticate/")
    refused(response, caplog, "discovery", status=502)
    assert "could not be reached" in response.content.decode()
    assert not User.objects.exists()


def test_a_token_endpoint_that_is_down_creates_nothing(client, idp, caplog):
    query = start(client, idp)
    idp.down = True
    response = client.get("/oidc/callback/", {"code": "the-code", "state": query["state"]})
    refused(response, caplog, "token endpoint failed", status=502)
    assert not User.objects.exists()


def test_a_provider_error_answer_is_shown_and_creates_nothing(client, idp, caplog):
    query = start(client, idp)
    response = client.get("/oidc/callback/", {"error": "access_denied", "state": query["state"]})
    refused(response, caplog, "access_denied")
    assert not User.objects.exists()


# --- sign-out -----------------------------------------------------------------------------------


def test_sign_out_ends_the_local_session_and_the_providers(client, idp):
    sign_in(client, idp)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{ISSUER}/logout"
    query = parse_qs(target.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    assert jwt.decode(query["id_token_hint"][0], options={"verify_signature": False})["sub"] == (
        "00u-alice"
    )
    assert client.get("/").status_code == 302  # signed out here


def test_without_an_end_session_endpoint_sign_out_is_local_only(client, idp):
    del idp.discovery["end_session_endpoint"]
    sign_in(client, idp)
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


# --- LOCAL_LOGIN=off ------------------------------------------------------------------------------


def test_local_login_off_hides_the_password_form(client, idp, settings):
    settings.LOCAL_LOGIN = False
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Okta" in page and 'name="password"' not in page
    assert 'name="password"' in client.get("/accounts/login/?local=1").content.decode()


def test_local_login_off_accepts_passwords_of_superusers_only(idp, settings):
    settings.LOCAL_LOGIN = False
    UserFactory(username="emp")
    UserFactory(username="root", is_superuser=True, is_staff=True)

    employee = Client()
    response = employee.post("/accounts/login/?local=1", {"username": "emp", "password": "pw"})
    assert response.status_code == 200 and "administrators only" in response.content.decode()
    assert employee.get("/").status_code == 302

    admin = Client()
    response = admin.post("/accounts/login/?local=1", {"username": "root", "password": "pw"})
    assert response.status_code == 302 and admin.get("/").status_code == 200


def test_the_login_throttle_applies_to_the_break_glass_form(client, idp, settings):
    settings.LOCAL_LOGIN = False
    UserFactory(username="root", is_superuser=True, is_staff=True)
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post("/accounts/login/?local=1", {"username": "root", "password": "wrong"})
    response = client.post("/accounts/login/?local=1", {"username": "root", "password": "pw"})
    assert response.status_code == 429
    assert client.get("/").status_code == 302


# --- tokens and permissions of an SSO user -------------------------------------------------------


def test_api_and_feed_tokens_work_for_an_sso_user(client, idp):
    sign_in(client, idp)
    user = User.objects.get(username="alice")
    token = Token.objects.create(user=user)
    api = Client()
    assert (
        api.get("/api/incidents/", headers={"Authorization": f"Token {token.key}"}).status_code
        == 200
    )
    feed = FeedToken.objects.create(user=user)
    assert Client().get(f"/feeds/{feed.token}/postmortems.atom").status_code == 200


SAMPLE_URLS = [
    ("get", "/"),
    ("get", "/incidents/"),
    ("get", "/incidents/{public}/"),
    ("get", "/incidents/{restricted}/"),
    ("get", "/incidents/{public}/edit/"),
    ("get", "/actions/"),
    ("get", "/api/incidents/"),
    ("get", "/api/incidents/{restricted}/"),
    ("get", "/admin/"),
    ("post", "/incidents/{public}/notes/"),
    ("post", "/incidents/{restricted}/notes/"),
    ("post", "/incidents/{public}/edit/"),
]


def test_an_sso_user_reads_and_writes_exactly_what_a_local_employee_can(idp):
    from postmortems.models import TimelineEntry
    from postmortems.services.sso_accounts import ProviderAccount, sign_in_external_account

    public, restricted = IncidentFactory(), IncidentFactory(restricted=True)
    ids = {"public": public.pk, "restricted": restricted.pk}
    local = UserFactory(username="local-employee")
    sso = sign_in_external_account(
        account=ProviderAccount(issuer=ISSUER, subject="s-1", email="sso@example.com")
    )

    def outcomes(user) -> list[int]:
        client = Client()
        client.force_login(user)
        codes = []
        for method, url in SAMPLE_URLS:
            path = url.format(**ids)
            data = {"body": f"seen by {user.username}"} if method == "post" else None
            codes.append(getattr(client, method)(path, data).status_code)
        return codes

    local_codes = outcomes(local)
    assert local_codes[2] == 200 and local_codes[3] == 404 and local_codes[10] == 404
    assert outcomes(sso) == local_codes
    notes = TimelineEntry.objects.filter(body__startswith="seen by")
    assert set(notes.values_list("incident_id", flat=True)) == {public.pk}
    assert notes.count() == 2


def test_local_login_off_the_admin_password_form_refuses_staff_who_are_not_superusers(settings):
    settings.LOCAL_LOGIN = False
    UserFactory(username="staffer", is_staff=True)
    client = Client()
    response = client.post("/admin/login/", {"username": "staffer", "password": "pw"})
    assert response.status_code == 200 and "administrators only" in response.content.decode()
    assert "_auth_user_id" not in client.session
    settings.LOCAL_LOGIN = True
    response = client.post("/admin/login/", {"username": "staffer", "password": "pw"})
    assert response.status_code == 302 and "_auth_user_id" in client.session
