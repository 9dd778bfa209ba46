"""Settings for the whole project, read from the environment (names are part of the public contract).

Every setting has a default for the embedded run: SQLite file, tasks in-process, console email.
Production sets DEBUG=off, SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL and ALLOWED_HOSTS.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    # The embedded run keeps a generated key in a git-ignored file, so sessions survive restarts.
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"] if DEBUG else ["localhost"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "simple_history",
    "django_celery_beat",
    "template_partials",
    "csp",
    "metrics_link",
    "postmortems",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "postmortems.config.urls"
WSGI_APPLICATION = "postmortems.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "postmortems.context_processors.product",
            ],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Measured here: CONN_MAX_AGE=0 drops a 50-row DRF list to ~130 req/s (STACK.md).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    # WAL + a busy timeout let the embedded run's web process and in-process tasks share the file.
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "postmortems:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "postmortems" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Email: console by default; EMAIL_URL=smtp://user:pass@host:587 in production.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="postmortems@localhost")
ALL_STAFF_EMAIL = env.str("ALL_STAFF_EMAIL", default="all-staff@localhost")
SLACK_WEBHOOK_URL = env.str("SLACK_WEBHOOK_URL", default="")
# Approvals a postmortem needs before publishing, per incident severity.
POSTMORTEM_APPROVALS_REQUIRED = {"sev1": 2, "sev2": 1, "sev3": 1, "sev4": 0}

# Webhook secrets. Empty means the endpoint refuses everything (401/403): nothing is ever stored unsigned.
GITHUB_WEBHOOK_SECRET = env.str("GITHUB_WEBHOOK_SECRET", default="")
GITLAB_WEBHOOK_TOKEN = env.str("GITLAB_WEBHOOK_TOKEN", default="")
ALERTMANAGER_WEBHOOK_TOKEN = env.str("ALERTMANAGER_WEBHOOK_TOKEN", default="")
# Comma-separated during a secret rotation: a signature matching any of them is accepted.
PAGERDUTY_WEBHOOK_SECRET = env.str("PAGERDUTY_WEBHOOK_SECRET", default="")
WEBHOOK_MAX_BYTES = 25 * 1024 * 1024

# Product rules (ARCHITECTURE: "Rules every surface shares").
PRODUCTION_ENVIRONMENTS = env.list("PRODUCTION_ENVIRONMENTS", default=["production", "prod"])
ALERT_INCIDENT_THRESHOLD = env.str("ALERT_INCIDENT_THRESHOLD", default="critical")
ALERT_SEVERITY_TO_INCIDENT = {"critical": "sev2", "warning": "sev3", "info": "sev4"}
WHY_DEPTH_REQUIRED = {"sev1": 5, "sev2": 5, "sev3": 3, "sev4": 0}
# Proportional investment (why chain): engineer-hours expected per level (index 0 = level 1) by
# severity. Deeper causes deserve more: they are where recurrence is prevented.
WHY_EFFORT_TARGET_HOURS = {
    "sev1": [8, 16, 24, 32, 40],
    "sev2": [4, 8, 12, 16, 20],
    "sev3": [2, 4, 6],
    "sev4": [1],
}
SUSPECT_WINDOW_HOURS = env.int("SUSPECT_WINDOW_HOURS", default=24)
SUSPECT_SKEW_MINUTES = env.int("SUSPECT_SKEW_MINUTES", default=10)

# Celery. With no broker the embedded run executes tasks in-process (eager); tests do not rely on it.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
# Redis redelivers an unacked task after the visibility timeout; it must exceed the longest task.
# A broker outage must not hold a request: connect fast, publish once, never retry in the request
# (metrics_link/queue.py logs the failure; the row stays pending and the sweep publishes it later).
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=0.5)
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True  # the worker itself waits for the broker
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5.0),
    "max_retries": 0,  # kombu's ensure_connection: one try when publishing
}
# Work a request committed but could not hand to the broker (webhook deliveries, outbox messages)
# is published again by the sweep once it is this old (beat every minute, worker start-up).
PENDING_SWEEP_SECONDS = env.int("PENDING_SWEEP_SECONDS", default=60)
# The outbox (metrics_link/services/outbox.py): attempts per message before it is marked failed,
# and the longest wait between two attempts (exponential backoff from 30 s).
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
OUTBOX_MAX_BACKOFF_SECONDS = env.int("OUTBOX_MAX_BACKOFF_SECONDS", default=3600)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Publish again what a broker outage left pending: webhook deliveries, outbox messages.
    "sweep-pending": {"task": "metrics_link.tasks.sweep_pending_task", "schedule": 60.0},
    # Action-item reminders, escalations and flags (idempotent scan; see ReminderSent).
    "send-reminders": {"task": "postmortems.tasks.actions.send_reminders_task", "schedule": 300.0},
    # The weekly business review for the week before, every Monday morning.
    "build-weekly-review": {
        "task": "postmortems.tasks.reviews.build_weekly_review_task",
        "schedule": crontab(minute=0, hour=6, day_of_week="mon"),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "postmortems.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Postmortems API",
    "DESCRIPTION": "Incidents, suspect deploys, why chains, action items, postmortems and reviews.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ProvenanceEnum": "postmortems.models.incidents.Provenance",
        "DeployStatusEnum": "metrics_link.models.deploys.Deploy.Status",
        "ActionItemStatusEnum": "postmortems.models.actions.ActionItem.Status",
        "IncidentStatusEnum": "postmortems.models.incidents.Incident.Status",
    },
}

# Content Security Policy: everything is served from here; no CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6 behaviour now: "example.com" means https
FORM_RENDERER = "postmortems.forms.renderer.FormRenderer"
