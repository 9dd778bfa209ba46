"""Inbound webhook providers: authenticity checks and payload parsing, no Django.

Each provider module (``github``, ``gitlab``, ``alertmanager``, ``pagerduty``) verifies the raw
request and turns a decoded JSON payload into the frozen dataclasses of :mod:`.types`. Views
call these functions and turn :class:`PayloadError` into a 400 carrying its message.
"""

from . import alertmanager, github, gitlab, pagerduty
from .types import AlertData, CommitData, DeployEvent, PayloadError, PushEvent

__all__ = [
    "AlertData",
    "CommitData",
    "DeployEvent",
    "PayloadError",
    "PushEvent",
    "alertmanager",
    "github",
    "gitlab",
    "pagerduty",
]
