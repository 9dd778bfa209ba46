"""Thin Celery adapters: take ids, call a service, own retries."""

from __future__ import annotations

from celery import shared_task

from .services.webhooks import TransientError, process_delivery


@shared_task(
    acks_late=True,
    autoretry_for=(TransientError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def process_delivery_task(delivery_id: int) -> None:
    process_delivery(delivery_id=delivery_id)
