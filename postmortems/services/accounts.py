"""Per-user settings: feed token, digest preference."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from ..models import FeedToken, Profile
from ..models.accounts import _new_token


def get_feed_token(*, user: User) -> FeedToken:
    token, _ = FeedToken.objects.get_or_create(user=user)
    return token


@transaction.atomic
def reset_feed_token(*, user: User) -> FeedToken:
    """A new secret: every feed URL with the old one stops working at once."""
    token = get_feed_token(user=user)
    token.token = _new_token()
    token.save(update_fields=["token", "created_at"])
    return token


def get_profile(*, user: User) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def set_daily_digest(*, user: User, enabled: bool) -> Profile:
    profile = get_profile(user=user)
    profile.daily_digest = enabled
    profile.save(update_fields=["daily_digest"])
    return profile
