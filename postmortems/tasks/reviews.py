"""Celery tasks of the reviews feature (thin: ids in, service call)."""

from __future__ import annotations

from celery import shared_task

__all__ = ["build_weekly_review_task", "mail_weekly_review_task"]


@shared_task
def build_weekly_review_task(week: str | None = None) -> str:
    """Beat: Mondays 06:00, the week that just ended. Safe to run twice."""
    from ..services.reviews import build_weekly_review  # services enqueue tasks: import at call

    review, built = build_weekly_review(week=week)
    return f"{review.iso_week}: {'built' if built else 'already built'}"


@shared_task
def mail_weekly_review_task(review_id: int) -> bool:
    """Compatibility: publishing queues the mail in the outbox itself; this does the same."""
    from ..services.reviews import mail_weekly_review  # services enqueue tasks: import at call

    return mail_weekly_review(review_id=review_id)
