"""Demo data step: alerts (see seed_demo). Idempotent."""

from __future__ import annotations


def run(ctx, progress) -> None:
    progress("nothing yet")
