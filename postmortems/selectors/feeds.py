"""The one door for feed readers: a token in the URL stands for its user, or 404."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import Http404

from ..models import FeedToken


def user_for_feed_token(token: str) -> User:
    feed = (
        FeedToken.objects.select_related("user").filter(token=token, user__is_active=True).first()
    )
    if feed is None:
        raise Http404("Unknown feed token.")
    return feed.user
