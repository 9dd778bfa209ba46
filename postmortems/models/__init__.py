from . import alerts, documents, reviews  # noqa: F401  (feature models register themselves)
from .accounts import FeedToken, Profile
from .actions import ActionItem, ReminderSent
from .alerts import IncidentAlert
from .incidents import Incident, IncidentQuerySet, SuspectVerdict, TimelineEntry
from .reviews import Experiment, Recurrence, RetroItem, Retrospective, RetroVote, WeeklyReview
from .sso import ExternalIdentity
from .whys import WhyNode

__all__ = [
    "ActionItem",
    "Experiment",
    "ExternalIdentity",
    "FeedToken",
    "Incident",
    "IncidentAlert",
    "IncidentQuerySet",
    "Profile",
    "Recurrence",
    "ReminderSent",
    "RetroItem",
    "RetroVote",
    "Retrospective",
    "SuspectVerdict",
    "TimelineEntry",
    "WeeklyReview",
    "WhyNode",
]
