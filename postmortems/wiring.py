"""Connects each feature's hooks once, at app ready: signal receivers (deploy_recorded,
alert_received), close gates, home panels, service-page sections, incident-opened hooks."""

from __future__ import annotations


def connect() -> None:
    from .services import actions, alerts, documents, immune, reviews, suspects, whys

    suspects.connect()
    alerts.connect()
    immune.connect()
    whys.connect()
    actions.connect()
    documents.connect()
    reviews.connect()
