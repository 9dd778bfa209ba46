"""Project plumbing that integrations and operators rely on."""

import pytest
from django.conf import settings

from postmortems.config.celery import app


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULE
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


def test_worker_settings_make_delivery_at_least_once():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert (
        settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
        > settings.CELERY_TASK_TIME_LIMIT
    )


@pytest.mark.parametrize(
    "name",
    [
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "SITE_URL",
        "TIME_ZONE",
        "DEFAULT_FROM_EMAIL",
        "ALL_STAFF_EMAIL",
        "SLACK_WEBHOOK_URL",
        "GITHUB_WEBHOOK_SECRET",
        "GITLAB_WEBHOOK_TOKEN",
        "ALERTMANAGER_WEBHOOK_TOKEN",
        "PAGERDUTY_WEBHOOK_SECRET",
        "CELERY_BROKER_URL",
    ],
)
def test_contract_settings_exist(name):
    assert hasattr(settings, name)
