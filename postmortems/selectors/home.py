"""Home page panels contributed by features ("my action items", "latest published", ...).

Each panel function takes the user and returns {"title", "template", ...context} or None; this
list orders them on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from .actions import my_actions_panel
from .documents import latest_published_panel, waiting_for_review_panel
from .reviews import latest_review_panel

Panel = Callable[[AbstractBaseUser | AnonymousUser], dict[str, Any] | None]

HOME_PANELS: list[Panel] = [
    my_actions_panel,
    waiting_for_review_panel,
    latest_published_panel,
    latest_review_panel,
]


def home_panels(user: AbstractBaseUser | AnonymousUser) -> list[dict[str, Any]]:
    return [ctx for panel in HOME_PANELS if (ctx := panel(user)) is not None]
