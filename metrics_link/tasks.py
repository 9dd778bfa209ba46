"""Thin Celery adapters: take ids, call a service, own retries."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready

from .queue import publish
from .services.outbox import send_message
from .services.sweep import sweep_pending
from .services.watch import judge_deploy
from .services.webhooks import TransientError, process_delivery

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(TransientError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def process_delivery_task(delivery_id: int) -> None:
    process_delivery(delivery_id=delivery_id, only_if_pending=True)


# acks_late + reject_on_worker_lost: a worker killed mid-send puts the message back (the row
# lock died with it, the row is still pending), so it is sent again: at least once, never lost.
# Failures are retried by the sweep after the message's backoff, not by Celery.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_outbox_message_task(message_id: int) -> bool:
    return send_message(message_id=message_id)


@shared_task(acks_late=True)
def judge_deploy_task(deploy_id: int) -> str:
    """Judge a deploy's watch when it is due (idempotent: a decided watch is left alone)."""
    watch = judge_deploy(deploy_id)
    return watch.status if watch else "no watch"


@shared_task(acks_late=True)
def sweep_pending_task() -> str:
    """Beat, every minute: publish again the deliveries and messages still pending."""
    return sweep_pending().summary()


@worker_ready.connect
def sweep_when_a_worker_starts(sender=None, **kwargs) -> None:
    """What was left pending while no worker (or no broker) was there goes first."""
    publish(sweep_pending_task)
