"""Home page panels contributed by features ("my action items", "latest published", ...).

Each panel function takes the user and returns {"title", "template", ...context} or None; this
list orders them on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User

from .actions import my_actions_panel
from .documents import latest_published_panel, waiting_for_review_panel
from .reviews import latest_review_panel

# Home is for signed-in people only (the view requires it).
Panel = Callable[[User], dict[str, Any] | None]

HOME_PANELS: list[Panel] = [
    my_actions_panel,
    waiting_for_review_panel,
    latest_published_panel,
    latest_review_panel,
]


def home_panels(user: User) -> list[dict[str, Any]]:
    return [ctx for panel in HOME_PANELS if (ctx := panel(user)) is not None]
