"""Connects each feature's receivers once, at app ready: the metrics_link signals (deploy_recorded,
alert_received, deploy_judged), this app's incident signals, and the sections metrics_link pages
show from this layer (its registries: metrics_link never imports postmortems)."""

from __future__ import annotations

from .services import alerts, immune, suspects


def connect() -> None:
    suspects.connect()
    alerts.connect()
    immune.connect()
