"""The Celery app. Workers: `celery -A postmortems.config worker`; beat: `celery -A postmortems.config beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postmortems.config.settings")

app = Celery("postmortems")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
