"""Sign-in page (company sign-in and the password form), the OIDC round trip, and sign-out."""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.utils.crypto import get_random_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from mozilla_django_oidc.utils import (
    add_state_and_verifier_and_nonce_to_session,
    generate_code_challenge,
)

from ..services.sso_accounts import ProviderAccount, sign_in_external_account
from . import provider
from .provider import SignInFailed

logger = logging.getLogger(__name__)

SESSION_ID_TOKEN = "oidc_id_token"  # noqa: S105 (a session key name)


def refuse_unless_superuser(user) -> None:
    if not user.is_superuser:
        raise forms.ValidationError(
            f"Password sign-in is for administrators only: sign in with "
            f"{settings.OIDC_PROVIDER_NAME}.",
            code="local_login_off",
        )


class SuperuserOnlyAuthenticationForm(AuthenticationForm):
    """With LOCAL_LOGIN off, the password form is the superusers' break-glass door only."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        refuse_unless_superuser(user)


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's own password form follows the same rule when LOCAL_LOGIN is off."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not settings.LOCAL_LOGIN:
            refuse_unless_superuser(user)


class SignInView(LoginView):
    redirect_authenticated_user = True

    def get_form_class(self):
        return AuthenticationForm if settings.LOCAL_LOGIN else SuperuserOnlyAuthenticationForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        oidc = provider.enabled()
        context["oidc_enabled"] = oidc
        context["oidc_provider_name"] = settings.OIDC_PROVIDER_NAME
        context["show_password_form"] = (
            settings.LOCAL_LOGIN or not oidc or self.request.GET.get("local") == "1"
        )
        return context


def _safe_next(request: HttpRequest) -> str:
    url = request.GET.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def _refused(request: HttpRequest, exc: SignInFailed) -> HttpResponse:
    logger.warning("OIDC sign-in refused: %s", exc.reason)
    return render(
        request,
        "registration/oidc_error.html",
        {"message": exc.message, "oidc_provider_name": settings.OIDC_PROVIDER_NAME},
        status=exc.status,
    )


@never_cache
@login_not_required
def start(request: HttpRequest) -> HttpResponse:
    """Send the browser to the provider: code flow, state, nonce and a PKCE S256 challenge."""
    if not provider.enabled():
        return _refused(request, SignInFailed("OIDC is not configured", status=404))
    try:
        config = provider.provider_config()
    except SignInFailed as exc:
        return _refused(request, exc)
    state = get_random_string(32)
    verifier = get_random_string(64)
    params = {
        "response_type": "code",
        "scope": settings.OIDC_SCOPES,
        "client_id": settings.OIDC_CLIENT_ID,
        "redirect_uri": provider.redirect_uri(),
        "state": state,
        "nonce": get_random_string(32),
        "code_challenge": generate_code_challenge(verifier, "S256"),
        "code_challenge_method": "S256",
    }
    add_state_and_verifier_and_nonce_to_session(request, state, params, verifier)
    request.session["oidc_states"][state]["next"] = _safe_next(request)
    request.session.modified = True
    return HttpResponseRedirect(provider.authorization_url(config, params))


def _complete(request: HttpRequest):
    if not provider.enabled():
        raise SignInFailed("OIDC is not configured", status=404)
    states = request.session.get("oidc_states") or {}
    state = request.GET.get("state", "")
    entry = states.pop(state, None) if state else None
    request.session.modified = True  # a state is used once, whatever happens next
    if request.GET.get("error"):
        raise SignInFailed(
            f"provider answered error={request.GET['error']!r}: "
            f"{request.GET.get('error_description', '')}",
            f"{settings.OIDC_PROVIDER_NAME} did not sign you in (it answered "
            f"“{request.GET['error']}”).",
        )
    if entry is None:
        raise SignInFailed(
            "state missing or not issued to this session",
            "This sign-in was not started from this browser, or it was already used. "
            "Please start again.",
        )
    code = request.GET.get("code")
    if not code:
        raise SignInFailed("callback without a code")
    config = provider.provider_config()
    id_token, claims = provider.ProviderClient(config).exchange(
        code=code, nonce=entry["nonce"], code_verifier=entry["code_verifier"]
    )
    account = ProviderAccount.from_claims(
        issuer=config["issuer"], claims=claims, teams_claim=settings.OIDC_TEAMS_CLAIM
    )
    try:
        user = sign_in_external_account(account=account)
    except IntegrityError:  # the same person's first sign-in in another tab won: now it matches
        user = sign_in_external_account(account=account)
    if not user.is_active:
        raise SignInFailed(
            f"user {user.username} is inactive",
            "This account is disabled here. Ask an administrator to reactivate it.",
            status=403,
        )
    return user, id_token, entry.get("next") or ""


@never_cache
@login_not_required
def callback(request: HttpRequest) -> HttpResponse:
    """The redirect URI: <SITE_URL>/oidc/callback/."""
    try:
        user, id_token, next_url = _complete(request)
    except SignInFailed as exc:
        return _refused(request, exc)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_ID_TOKEN] = id_token
    return HttpResponseRedirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


class SignOutView(LogoutView):
    """Ends the local session, then the provider's when it offers end_session_endpoint."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get(SESSION_ID_TOKEN)
        response = super().post(request, *args, **kwargs)
        if not (id_token and provider.enabled()):
            return response
        try:
            url = provider.end_session_url(provider.provider_config(), id_token)
        except SignInFailed as exc:
            logger.warning("OIDC sign-out at the provider skipped: %s", exc.reason)
            return response
        return HttpResponseRedirect(url) if url else response
