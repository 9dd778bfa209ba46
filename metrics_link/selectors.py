"""Reads of the production layer shared by pages, the API and the learning layer.

Service page sections: each feature adds a function (service, user) → {"template", ...} or None.
The learning layer adds the "incidents" section through `SERVICE_PAGE_SECTIONS` at app ready,
since this layer cannot import it.
"""

from __future__ import annotations

from collections.abc import Callable

SERVICE_PAGE_SECTIONS: list[Callable] = []


def service_page_sections(service, user) -> list[dict]:
    sections = []
    for section in SERVICE_PAGE_SECTIONS:
        ctx = section(service, user)
        if ctx is not None:
            sections.append(ctx)
    return sections
