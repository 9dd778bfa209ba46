"""Home page panels contributed by features ("my action items", "latest published", ...).

Each panel function takes the user and returns {"title", "template", ...context} or None.
"""

from __future__ import annotations

from collections.abc import Callable

HOME_PANELS: list[Callable] = []


def home_panels(user) -> list[dict]:
    panels = []
    for panel in HOME_PANELS:
        ctx = panel(user)
        if ctx is not None:
            panels.append(ctx)
    return panels
