from . import alerts, documents, reviews  # noqa: F401  (feature models register themselves)
from .accounts import FeedToken, Profile
from .actions import ActionItem, ReminderSent
from .alerts import IncidentAlert
from .incidents import Incident, IncidentQuerySet, SuspectVerdict, TimelineEntry
from .whys import WhyNode

__all__ = [
    "ActionItem",
    "FeedToken",
    "Incident",
    "IncidentAlert",
    "IncidentQuerySet",
    "Profile",
    "ReminderSent",
    "SuspectVerdict",
    "TimelineEntry",
    "WhyNode",
]
