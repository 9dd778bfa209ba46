"""Sign-in throttling: wrong passwords pause sign-in for a while, say why and when, then it works."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def person(db):
    person = UserFactory(username="maria")
    person.set_password(PASSWORD)
    person.save()
    return person


def sign_in(client: Client, password: str, username: str = "maria", **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def let_time_pass(minutes: int) -> None:
    """The clock moves on: every recorded failure is now `minutes` older."""
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= timedelta(minutes=minutes)
        attempt.save(update_fields=["attempt_time"])


def test_sixty_wrong_passwords_then_the_right_one_is_refused_with_the_reason(client, person):
    for _ in range(60):
        sign_in(client, "wrong")
    response = sign_in(client, PASSWORD)

    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many wrong passwords" in page
    assert "maria" in page
    assert "Try again after" in page and "15 minutes" in page
    assert int(response["Retry-After"]) == 15 * 60
    assert not signed_in(client)


def test_the_limit_is_the_setting_and_the_pause_starts_there(client, person, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert sign_in(client, "wrong").status_code == 200  # the form again, with its error
    assert sign_in(client, "wrong").status_code == 429
    assert sign_in(client, PASSWORD).status_code == 429


def test_after_the_cool_off_the_right_password_signs_in(client, person, settings):
    for _ in range(60):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 429

    let_time_pass(settings.LOGIN_LOCKOUT_MINUTES + 1)

    response = sign_in(client, PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_more_tries_during_the_pause_do_not_extend_it(client, person, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(client, "wrong")
    let_time_pass(settings.LOGIN_LOCKOUT_MINUTES - 1)
    for _ in range(20):
        assert sign_in(client, "wrong").status_code == 429
    let_time_pass(2)
    assert sign_in(client, PASSWORD).status_code == 302


def test_the_pause_is_per_address_so_the_real_person_elsewhere_still_signs_in(person, settings):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.LOGIN_FAILURE_LIMIT + 5):
        sign_in(attacker, "wrong")
    assert sign_in(attacker, PASSWORD).status_code == 429

    owner = Client(REMOTE_ADDR="198.51.100.7")
    assert sign_in(owner, PASSWORD).status_code == 302


def test_a_success_before_the_limit_starts_the_count_again(client, person, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert sign_in(client, "wrong").status_code == 200
    assert sign_in(client, PASSWORD).status_code == 302


def test_api_tokens_are_not_affected_by_a_paused_sign_in(client, person, settings):
    for _ in range(60):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 429
    token = Token.objects.create(user=person)

    api = Client()
    response = api.get("/api/incidents/", headers={"Authorization": f"Token {token.key}"})
    assert response.status_code == 200


def test_behind_a_tls_proxy_failures_are_counted_per_client_address(person, settings):
    settings.BEHIND_TLS_PROXY = True
    attacker = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(attacker, "wrong")
    assert sign_in(attacker, PASSWORD).status_code == 429
    # Forging an earlier hop does not help: the proxy's own hop is the one counted.
    forged = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert sign_in(forged, PASSWORD).status_code == 429

    owner = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert sign_in(owner, PASSWORD).status_code == 302
