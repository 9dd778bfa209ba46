"""Settings for the Celery worker started by the worker tests (never used in production).

The project's settings plus: an email backend that records each send to a file and can block
(to kill the worker mid-send), and fast redelivery of unacknowledged messages.
"""

import os

from postmortems.config.settings import *  # noqa: F403
from postmortems.config.settings import CELERY_BROKER_TRANSPORT_OPTIONS

EMAIL_BACKEND = "tests.support.slow_email.RecordingSlowBackend"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    # Sweep for abandoned (unacked, past the visibility timeout) messages every second.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
SEND_LOG = os.environ.get("ACTIONS_SEND_LOG", "")
