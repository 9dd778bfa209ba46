from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def _new_token() -> str:
    return secrets.token_urlsafe(24)


class FeedToken(models.Model):
    """Per-user secret in feed URLs (Atom, iCal): feeds readers cannot sign in. Resettable on /me/."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_token"
    )
    token = models.CharField(max_length=64, unique=True, default=_new_token)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"feed token of {self.user_id}"


class Profile(models.Model):
    """Per-user preferences."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    daily_digest = models.BooleanField(
        default=False, help_text="One email a day with all reminders instead of single emails."
    )

    def __str__(self) -> str:
        return f"profile of {self.user_id}"
