"""Test-only email backend: appends one line per message to $ACTIONS_SEND_LOG (the proof a
message went out), then sleeps $ACTIONS_SEND_SLEEP seconds, so a test can kill the worker after
the message was handed over but before the task finished (the at-least-once worst case)."""

from __future__ import annotations

import os
import time

from django.core.mail.backends.base import BaseEmailBackend


class RecordingSlowBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        path = os.environ["ACTIONS_SEND_LOG"]
        for message in email_messages:
            with open(path, "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()}\t{message.to[0]}\t{message.subject}\n")
                log.flush()
                os.fsync(log.fileno())
        time.sleep(float(os.environ.get("ACTIONS_SEND_SLEEP", "0")))
        return len(email_messages)
