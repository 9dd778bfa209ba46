"""A stale save of a postmortem draft: what the writer's text and the newer saved text become.

`save_draft` (services/documents.py) raises StaleDraft when the draft moved on since the version
the writer read; the text at that version (from simple-history) tells who changed which section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import timezone

from ..display import display_name
from ..models.documents import SECTION_TITLES, SECTIONS, Postmortem, PostmortemEvent
from .errors import ServiceError

STALE_DRAFT = (
    "{who} saved this postmortem at {when} while you were editing. Nothing was overwritten: "
    "compare their text with yours below, merge, and save again."
)


def clean_text(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


@dataclass(frozen=True)
class Conflict:
    """One section both sides changed: their newer saved text, and the writer's unsaved text."""

    key: str
    title: str
    theirs: str
    yours: str


class StaleDraft(ServiceError):
    """The draft changed since the version the writer read. Nothing was saved.

    `merged` is what the editor should show now ({key: text}: yours where only you changed a
    section, theirs where only they did, yours where both did); `conflicts` lists the sections both
    changed, with both texts, so the person merges by hand. `current_version` is the version to
    name in the next save."""

    def __init__(
        self, postmortem: Postmortem, *, merged: dict[str, str], conflicts: list[Conflict]
    ) -> None:
        self.postmortem = postmortem
        self.current_version = postmortem.version
        self.merged = merged
        self.conflicts = conflicts
        last = (
            postmortem.events.filter(kind=PostmortemEvent.Kind.EDITED)
            .select_related("by")
            .order_by("-at", "-id")
            .first()
        )
        self.changed_by = display_name(last.by) if last and last.by else "Someone"
        when = timezone.localtime(last.at if last else postmortem.updated_at).strftime("%H:%M")
        super().__init__(STALE_DRAFT.format(who=self.changed_by, when=when), code="stale")


def sections_at(pm: Postmortem, version: int) -> dict[str, str] | None:
    """The text of the draft at `version` (from its history), or None when unknown."""
    record = pm.history.filter(version=version).order_by("-history_date", "-history_id").first()
    return dict(record.sections or {}) if record is not None else None


def merge(
    pm: Postmortem, mine: Mapping[str, str], base: Mapping[str, str] | None
) -> tuple[dict[str, str], list[Conflict]]:
    """Per section: theirs where only they changed it, yours where only you did, yours (and a
    Conflict) where both did."""
    merged: dict[str, str] = {}
    conflicts: list[Conflict] = []
    for key, _title in SECTIONS:
        if key not in mine:
            continue
        yours = mine[key]
        theirs = clean_text(pm.sections.get(key))
        before = clean_text(base.get(key)) if base is not None else None
        if yours == theirs:
            merged[key] = theirs
        elif before is not None and yours == before:
            merged[key] = theirs  # only they changed it
        elif before is not None and theirs == before:
            merged[key] = yours  # only you changed it
        else:
            merged[key] = yours
            conflicts.append(Conflict(key, SECTION_TITLES[key], theirs, yours))
    return merged, conflicts


# ---------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------
