"""Company sign-in with OpenID Connect (authorization code flow with PKCE), on mozilla-django-oidc.

`provider.py` speaks the protocol (discovery, token exchange, ID token checks); `views.py` holds the
sign-in, callback and sign-out pages; accounts are written by `services/sso_accounts.py`.
"""
