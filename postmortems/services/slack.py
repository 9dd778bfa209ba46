"""The one Slack sender: POST a message to SLACK_WEBHOOK_URL (an incoming webhook), if set."""

from __future__ import annotations

import json
import urllib.request

from django.conf import settings


def post_to_slack(text: str) -> bool:
    """Send `text`; False when Slack is not configured. Raises on a bad URL or a non-2xx answer,
    so the calling task retries."""
    url = settings.SLACK_WEBHOOK_URL
    if not url:
        return False
    if not url.startswith(("https://", "http://")):
        raise ValueError("SLACK_WEBHOOK_URL must be an http(s) URL.")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above; the URL is a setting)
        url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        if response.status >= 300:
            raise RuntimeError(f"Slack answered {response.status}")
    return True
