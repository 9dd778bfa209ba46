from . import documents, reviews  # noqa: F401  (feature models register themselves)
from .accounts import FeedToken, Profile
from .actions import ActionItem, ReminderSent
from .incidents import Incident, IncidentQuerySet, SuspectVerdict, TimelineEntry
from .whys import WhyNode

__all__ = [
    "ActionItem",
    "FeedToken",
    "Incident",
    "IncidentQuerySet",
    "Profile",
    "ReminderSent",
    "SuspectVerdict",
    "TimelineEntry",
    "WhyNode",
]
