"""The protocol side: discovery (cached), the code exchange and every check on the ID token.

mozilla-django-oidc reads its endpoints from settings; here they come from the issuer's discovery
document, so `ProviderClient` fills them in itself. Its ID token check skips the audience and the
issuer; ours requires a signature by the provider's published keys, `iss`, `aud` (and `azp` when
there are several audiences), `exp`, `iat` and the nonce. Every failure raises `SignInFailed`
with a reason for the log and a sentence for the person.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

logger = logging.getLogger(__name__)

ASYMMETRIC_ALGS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
CLOCK_LEEWAY_SECONDS = 60

UNVERIFIED = (
    "The answer from your identity provider could not be verified, so you were not signed in."
)


class SignInFailed(Exception):
    """A refused sign-in: `reason` goes to the log, `message` to the person."""

    def __init__(self, reason: str, message: str = UNVERIFIED, status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.status = status


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID)


def unavailable(reason: str) -> SignInFailed:
    return SignInFailed(
        reason,
        f"{settings.OIDC_PROVIDER_NAME} could not be reached, so you were not signed in. "
        "Try again in a minute.",
        status=502,
    )


def redirect_uri() -> str:
    return settings.SITE_URL + reverse("oidc:callback")


def provider_config() -> dict:
    """The issuer's discovery document, cached for OIDC_DISCOVERY_CACHE_SECONDS."""
    issuer = settings.OIDC_ISSUER
    key = f"oidc-discovery:{issuer}"
    config = cache.get(key)
    if config:
        return config
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        config = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise unavailable(f"discovery at {url} failed: {exc}") from exc
    if not isinstance(config, dict) or str(config.get("issuer", "")).rstrip("/") != issuer:
        raise SignInFailed(f"discovery at {url} names another issuer: {config.get('issuer')!r}")
    missing = [
        k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not config.get(k)
    ]
    if missing:
        raise SignInFailed(f"discovery at {url} lacks {', '.join(missing)}")
    cache.set(key, config, settings.OIDC_DISCOVERY_CACHE_SECONDS)
    return config


def authorization_url(config: dict, params: dict) -> str:
    endpoint = config["authorization_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


def end_session_url(config: dict, id_token: str) -> str | None:
    """RP-initiated logout at the provider, when it offers it."""
    endpoint = config.get("end_session_endpoint")
    if not endpoint:
        return None
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": settings.SITE_URL + reverse("login"),
        "client_id": settings.OIDC_CLIENT_ID,
    }
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


class ProviderClient(OIDCAuthenticationBackend):
    """mozilla-django-oidc's token and userinfo calls, endpoints from discovery, strict checks.

    Not an authentication backend in AUTHENTICATION_BACKENDS: the callback view calls it directly,
    then signs the user in with Django's ModelBackend (sessions, permissions as for anyone).
    """

    def __init__(self, config: dict):  # no super(): the parent reads endpoints from settings
        self.config = config
        self.OIDC_OP_TOKEN_ENDPOINT = config["token_endpoint"]
        self.OIDC_OP_USER_ENDPOINT = config.get("userinfo_endpoint")
        self.OIDC_OP_JWKS_ENDPOINT = config["jwks_uri"]
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None

    def verify_token(self, token, **kwargs) -> dict:
        nonce = kwargs.get("nonce")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise SignInFailed(f"ID token is not a JWT: {exc}") from exc
        alg = header.get("alg")
        supported = set(self.config.get("id_token_signing_alg_values_supported") or ASYMMETRIC_ALGS)
        if alg not in ASYMMETRIC_ALGS & supported:
            raise SignInFailed(f"ID token signed with {alg!r}, not a provider key algorithm")
        try:
            key = self.retrieve_matching_jwk(token)
        except (SuspiciousOperation, KeyError, jwt.PyJWTError) as exc:
            raise SignInFailed(f"ID token key {header.get('kid')!r} not in the JWKS") from exc
        except (requests.RequestException, ValueError) as exc:
            raise unavailable(f"JWKS at {self.OIDC_OP_JWKS_ENDPOINT} failed: {exc}") from exc
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=self.config["issuer"],
                leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise SignInFailed(f"ID token expired: {exc}") from exc
        except jwt.InvalidAudienceError as exc:
            raise SignInFailed(f"ID token for another audience: {exc}") from exc
        except jwt.InvalidIssuerError as exc:
            raise SignInFailed(f"ID token from another issuer: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise SignInFailed(f"ID token signature or claims invalid: {exc}") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SignInFailed(f"ID token has several audiences and azp {claims.get('azp')!r}")
        if nonce is not None and claims.get("nonce") != nonce:
            raise SignInFailed("ID token nonce does not match the one sent")
        return claims

    def exchange(self, *, code: str, nonce: str, code_verifier: str) -> tuple[str, dict]:
        """Code → tokens → verified claims (ID token merged with userinfo)."""
        payload = {
            "client_id": self.OIDC_RP_CLIENT_ID,
            "client_secret": self.OIDC_RP_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri(),
            "code_verifier": code_verifier,
        }
        try:
            tokens = self.get_token(payload)
        except requests.HTTPError as exc:
            raise SignInFailed(f"token endpoint refused the code: {exc}") from exc
        except (requests.RequestException, ValueError) as exc:
            raise unavailable(f"token endpoint failed: {exc}") from exc
        id_token = tokens.get("id_token")
        if not id_token:
            raise SignInFailed("token response has no id_token")
        claims = self.verify_token(id_token, nonce=nonce)
        access_token = tokens.get("access_token")
        if self.OIDC_OP_USER_ENDPOINT and access_token:
            try:
                userinfo = self.get_userinfo(access_token, id_token, claims)
            except (requests.RequestException, ValueError) as exc:
                raise unavailable(f"userinfo endpoint failed: {exc}") from exc
            if str(userinfo.get("sub")) != str(claims["sub"]):
                raise SignInFailed("userinfo is about another subject than the ID token")
            claims = {**userinfo, **claims}  # the signed ID token wins on conflicts
        return id_token, claims
