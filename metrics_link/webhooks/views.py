"""Webhook endpoints: verify on the raw body, store under the delivery key, answer at once.

Order matters: size (413) → authenticity (401/403, nothing stored) → JSON (400) → store (2xx).
Processing happens after commit in a task; a repeated delivery answers 200 and changes nothing.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..guards import BadInput, loads_checked
from ..services.webhooks import DeliveryKeyError, receive_delivery
from . import alertmanager, github, gitlab, pagerduty

KEPT_HEADERS = (
    "Content-Type",
    "User-Agent",
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "X-GitHub-Hook-ID",
    "X-Gitlab-Event",
    "X-Gitlab-Event-UUID",
    "X-Gitlab-Instance",
    "X-Webhook-Id",
)


def body_hash(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


@method_decorator([csrf_exempt, login_not_required], name="dispatch")
class WebhookView(View):
    provider = ""
    http_method_names = ["post"]
    # Secrets are never in our stored headers.

    def authenticate(self, request: HttpRequest, body: bytes) -> JsonResponse | None:
        raise NotImplementedError

    def delivery_key(self, request: HttpRequest, body: bytes, payload: dict) -> str:
        return body_hash(body)

    def event_name(self, request: HttpRequest, payload: dict) -> str:
        return ""

    def post(self, request: HttpRequest) -> JsonResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.WEBHOOK_MAX_BYTES:
            return JsonResponse({"detail": "Payload too large (limit 25 MB)."}, status=413)
        body = request.read(settings.WEBHOOK_MAX_BYTES + 1)
        if len(body) > settings.WEBHOOK_MAX_BYTES:
            return JsonResponse({"detail": "Payload too large (limit 25 MB)."}, status=413)
        denied = self.authenticate(request, body)
        if denied is not None:
            return denied
        try:
            payload = loads_checked(body)
        except BadInput as exc:  # NUL strings, nesting too deep: signed, but unusable
            return JsonResponse({"detail": str(exc)}, status=400)
        except (ValueError, UnicodeDecodeError) as exc:
            return JsonResponse({"detail": f"Malformed JSON: {exc}"}, status=400)
        if not isinstance(payload, dict):
            return JsonResponse(
                {"detail": "Malformed payload: expected a JSON object."}, status=400
            )
        headers = {h: request.headers[h] for h in KEPT_HEADERS if h in request.headers}
        try:
            delivery, created = receive_delivery(
                provider=self.provider,
                key=self.delivery_key(request, body, payload),
                event=self.event_name(request, payload),
                headers=headers,
                body=body,
            )
        except DeliveryKeyError as exc:
            return JsonResponse({"detail": str(exc)}, status=400)
        return JsonResponse(
            {"delivery": delivery.pk, "status": delivery.status, "duplicate": not created},
            status=202 if created else 200,
        )


def _unauthorized(message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=401)


def _forbidden(message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=403)


class GitHubWebhook(WebhookView):
    provider = "github"

    def authenticate(self, request, body):
        signature = request.headers.get("X-Hub-Signature-256")
        if not signature:
            return _unauthorized("Missing X-Hub-Signature-256.")
        if not github.verify(body, signature, settings.GITHUB_WEBHOOK_SECRET):
            return _forbidden("Signature does not match.")
        if not request.headers.get("X-GitHub-Delivery"):
            return JsonResponse({"detail": "Missing X-GitHub-Delivery."}, status=400)
        return None

    def delivery_key(self, request, body, payload):
        return request.headers["X-GitHub-Delivery"]

    def event_name(self, request, payload):
        return request.headers.get("X-GitHub-Event", "")


class GitLabWebhook(WebhookView):
    provider = "gitlab"

    def authenticate(self, request, body):
        token = request.headers.get("X-Gitlab-Token")
        if not token:
            return _unauthorized("Missing X-Gitlab-Token.")
        if not gitlab.verify(token, settings.GITLAB_WEBHOOK_TOKEN):
            return _forbidden("Token does not match.")
        return None

    def delivery_key(self, request, body, payload):
        return gitlab.delivery_key(request.headers.get("X-Gitlab-Event-UUID"), body)

    def event_name(self, request, payload):
        return request.headers.get("X-Gitlab-Event", "")


class AlertmanagerWebhook(WebhookView):
    provider = "alertmanager"

    def authenticate(self, request, body):
        header = request.headers.get("Authorization")
        if not header:
            return _unauthorized("Missing Authorization: Bearer <token>.")
        if not alertmanager.verify(header, settings.ALERTMANAGER_WEBHOOK_TOKEN):
            return _forbidden("Token does not match.")
        return None

    def delivery_key(self, request, body, payload):
        return alertmanager.delivery_key(body)

    def event_name(self, request, payload):
        return str(payload.get("status", ""))


class PagerDutyWebhook(WebhookView):
    provider = "pagerduty"

    def authenticate(self, request, body):
        header = request.headers.get("X-PagerDuty-Signature")
        if not header:
            return _unauthorized("Missing X-PagerDuty-Signature.")
        secrets = [s.strip() for s in settings.PAGERDUTY_WEBHOOK_SECRET.split(",") if s.strip()]
        if not pagerduty.verify(body, header, secrets):
            return _forbidden("Signature does not match.")
        return None

    def delivery_key(self, request, body, payload):
        event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
        return str(event.get("id") or body_hash(body))

    def event_name(self, request, payload):
        event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
        return str(event.get("event_type", ""))
