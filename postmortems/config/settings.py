"""Settings for the whole project, read from the environment (names are part of the public contract).

Every setting has a default for the embedded run: SQLite file, tasks in-process, console email.
Production sets DEBUG=off, SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL and ALLOWED_HOSTS.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from postmortems.config.security import https_settings

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
    "axes",
    "metrics_link",
    "postmortems",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL characters in paths, query strings and forms: 400 before anything reads them.
    "metrics_link.guards.RequestGuardMiddleware",
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
    "axes.middleware.AxesMiddleware",  # last: turns a paused sign-in into the lockout page
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
    # JIT off (issue 15): the visibility rule's inflated cost estimates switch PostgreSQL's JIT on
    # for page queries, which then spend most of their time compiling (the team dashboard's overdue
    # query: 1,266 ms with JIT, 214 ms without); an OLTP page never gains from it.
    pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    pg_options["options"] = f"{pg_options.get('options', '')} -c jit=off".strip()
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
# An alert's severity as sent (Alertmanager's `severity` label, lower-cased) -> critical|warning|info.
# Anything else, or no label, is stored as a warning and the alert says why. The env variable adds
# to or overrides these defaults: ALERT_SEVERITY_MAP="p2=warning,sev0=critical".
ALERT_SEVERITY_LEVELS = ("critical", "warning", "info")
_CRITICAL_WORDS = "critical crit page error err fatal emergency emerg alert disaster high major"
_WARNING_WORDS = "warning warn medium moderate average minor"
_INFO_WORDS = "info informational information notice low debug none"
ALERT_SEVERITY_MAP = {
    **dict.fromkeys(f"{_CRITICAL_WORDS} p1 p2 sev1 sev2".split(), "critical"),
    **dict.fromkeys(f"{_WARNING_WORDS} p3 sev3".split(), "warning"),
    **dict.fromkeys(f"{_INFO_WORDS} p4 p5 sev4".split(), "info"),
}


def with_severity_pairs(defaults: dict[str, str], pairs: list[str]) -> dict[str, str]:
    """`defaults` plus `label=level` pairs (labels lower-cased); a bad pair refuses to start."""
    mapping = dict(defaults)
    for pair in pairs:
        label, _, level = pair.partition("=")
        if level.strip().lower() not in ALERT_SEVERITY_LEVELS or not label.strip():
            raise ImproperlyConfigured(
                f"ALERT_SEVERITY_MAP: {pair!r} must be label=critical|warning|info."
            )
        mapping[label.strip().lower()] = level.strip().lower()
    return mapping


ALERT_SEVERITY_MAP = with_severity_pairs(
    ALERT_SEVERITY_MAP, env.list("ALERT_SEVERITY_MAP", default=[])
)
# A signal of a service joins its incident that is investigating, or mitigated less than this ago
# (a flapping alert reopens it); later, it opens a new incident.
ALERT_REJOIN_MINUTES = env.int("ALERT_REJOIN_MINUTES", default=30)
WHY_DEPTH_REQUIRED = {"sev1": 5, "sev2": 5, "sev3": 3, "sev4": 0}
# Proportional investment (why chain): engineer-hours expected per level (index 0 = level 1) by
# severity. Deeper causes deserve more: they are where recurrence is prevented.
WHY_EFFORT_TARGET_HOURS = {
    "sev1": [8, 16, 24, 32, 40],
    "sev2": [4, 8, 12, 16, 20],
    "sev3": [2, 4, 6],
    "sev4": [1],
}
# A corrective action added with its cause in the why session (one form per level) starts with
# these, changeable later on the action: days until due and engineer-hours, by severity and type.
WHY_ACTION_DEFAULTS = {
    "sev1": {
        "due_days": {"mitigate": 3, "detect": 7, "prevent": 14, "process": 21},
        "hours": {"mitigate": 4, "detect": 8, "prevent": 16, "process": 4},
    },
    "sev2": {
        "due_days": {"mitigate": 7, "detect": 14, "prevent": 21, "process": 30},
        "hours": {"mitigate": 2, "detect": 4, "prevent": 8, "process": 2},
    },
    "sev3": {
        "due_days": {"mitigate": 14, "detect": 30, "prevent": 30, "process": 45},
        "hours": {"mitigate": 1, "detect": 2, "prevent": 4, "process": 1},
    },
    "sev4": {
        "due_days": {"mitigate": 30, "detect": 60, "prevent": 60, "process": 60},
        "hours": {"mitigate": 1, "detect": 1, "prevent": 2, "process": 1},
    },
}
SUSPECT_WINDOW_HOURS = env.int("SUSPECT_WINDOW_HOURS", default=24)
SUSPECT_SKEW_MINUTES = env.int("SUSPECT_SKEW_MINUTES", default=10)
# Reminders: items overdue more than this at their first scan are recorded without a message.
REMINDER_CATCH_UP_DAYS = env.int("REMINDER_CATCH_UP_DAYS", default=28)

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
# The immune system (metrics_link/judge.py): every successful production deploy is judged this
# many seconds after it finished, against the watched metric series, at significance DEPLOY_WATCH_ALPHA.
DEPLOY_WATCH_SECONDS = env.int("DEPLOY_WATCH_SECONDS", default=600)
DEPLOY_WATCH_ALPHA = env.float("DEPLOY_WATCH_ALPHA", default=0.01)
# When set, a regressed verdict is POSTed there (signed with DEPLOY_WATCH_HOOK_SECRET) through the
# outbox, so a pipeline can roll back.
DEPLOY_WATCH_HOOK_URL = env.str("DEPLOY_WATCH_HOOK_URL", default="")
DEPLOY_WATCH_HOOK_SECRET = env.str("DEPLOY_WATCH_HOOK_SECRET", default="")
# A Prometheus to read series that have a PromQL query (query_range over HTTP, this timeout);
# empty: every series is read from the points pushed to the API.
PROMETHEUS_URL = env.str("PROMETHEUS_URL", default="")
PROMETHEUS_TIMEOUT_SECONDS = env.float("PROMETHEUS_TIMEOUT_SECONDS", default=5.0)
PROMETHEUS_STEP_SECONDS = env.float("PROMETHEUS_STEP_SECONDS", default=60.0)
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
    # The API takes JSON only (a form cannot carry the nested lists and nulls the schema
    # documents): another content type is 415. NUL strings and too-deep nesting are a 400
    # (metrics_link/guards.py).
    "DEFAULT_PARSER_CLASSES": ["metrics_link.guards.GuardedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "metrics_link.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "postmortems.api.errors.exception_handler",
}
API_DESCRIPTION = """Incidents, suspect deploys, why chains, action items, postmortems and reviews.

## Authentication
Every operation needs a signed-in user; without one the answer is 403.

- **Token** (scripts, CI, integrations): send `Authorization: Token <key>`. An administrator creates
  a key in the admin (*Auth Token → Tokens → Add*, pick the user) or with
  `python manage.py drf_create_token <username>`; the key acts as that user, with that user's
  visibility and rights. Keep it secret: anyone holding it is that user.
- **Session** (this page, the browser): sign in at `/accounts/login/`; writes from a browser
  session also need the `X-CSRFToken` header (the `csrftoken` cookie's value).

## Errors
400 `{"field": ["message"]}` or `{"detail": "message"}` (bad input or a broken rule);
403 `{"detail"}` (not signed in, or a change you may not make, with the reason);
404 `{"detail"}` (no such object, one you may not see, or a page past the end); 412/428 where
an operation needs `If-Match`. A refused write changes nothing.

## Lists
Every list is paginated: `?page=N` (from 1; 50 a page) answers `{count, next, previous, results}`
with an exact `count` of what you may see. A malformed page is 400, a page past the end 404.
Deploys, incidents, action items and a timeline also take `?cursor=` (empty to start, then follow
`next`): ordered by id, the same cost at any depth, `{next, previous, results}` without `count`.
"""
SPECTACULAR_SETTINGS = {
    "TITLE": "Postmortems API",
    "DESCRIPTION": API_DESCRIPTION,
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],  # sign-in, as everywhere
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "metrics_link.api.schema.add_error_responses",
    ],
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
SECURE_CONTENT_TYPE_NOSNIFF = True
# HTTPS (README "Running behind a TLS proxy"; the rules live in postmortems/config/security.py).
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
INSECURE_HTTP = env.bool("INSECURE_HTTP", default=False)
_https = https_settings(
    debug=DEBUG,
    insecure_http=INSECURE_HTTP,
    behind_tls_proxy=BEHIND_TLS_PROXY,
    hsts_seconds=env.int("SECURE_HSTS_SECONDS", default=None),
    hsts_include_subdomains=env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=None),
    hsts_preload=env.bool("SECURE_HSTS_PRELOAD", default=False),
    ssl_redirect=env.bool("SECURE_SSL_REDIRECT", default=None),
)
vars().update(
    _https
)  # SESSION/CSRF_COOKIE_SECURE, SECURE_SSL_REDIRECT, SECURE_HSTS_*, proxy header
# Load balancers probe /healthz over plain HTTP inside the network: no redirect for it.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if not _https["SECURE_HSTS_PRELOAD"]:
    # Asking browsers to preload HSTS is a one-way decision for the whole domain (hstspreload.org),
    # the domain owner's to make with SECURE_HSTS_PRELOAD=on; not having it is no deploy warning.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Sign-in throttling (django-axes): LOGIN_FAILURE_LIMIT wrong passwords in a row for one username
# from one address pause sign-in for that pair LOGIN_LOCKOUT_MINUTES after the last counted
# failure. More tries while paused do not extend it; another address is not affected; API tokens
# never go through it. The page says why and when (postmortems/views/login_lockout.py).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "postmortems.views.login_lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# REMOTE_ADDR, or behind a TLS proxy the X-Forwarded-For hop the proxy appended.
AXES_CLIENT_IP_CALLABLE = "postmortems.views.login_lockout.client_ip"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a paused username + address
    "django.contrib.auth.backends.ModelBackend",
]

# Company sign-in with OpenID Connect (postmortems/sso/; README "Company sign-in"). On when
# OIDC_ISSUER and OIDC_CLIENT_ID are set; the endpoints come from the issuer's discovery document.
# The redirect URI to register at the provider is <SITE_URL>/oidc/callback/.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").rstrip("/")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="your company account")
OIDC_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
OIDC_TEAMS_CLAIM = env.str("OIDC_TEAMS_CLAIM", default="groups")
OIDC_ADMIN_GROUPS = env.list("OIDC_ADMIN_GROUPS", default=[])


def team_map_pairs(pairs: list[str]) -> dict[str, str]:
    """`group=team-slug` pairs; a bad pair refuses to start."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        group, _, slug = pair.partition("=")
        if not group.strip() or not slug.strip():
            raise ImproperlyConfigured(f"OIDC_TEAM_MAP: {pair!r} must be group=team-slug.")
        mapping[group.strip()] = slug.strip()
    return mapping


OIDC_TEAM_MAP = team_map_pairs(env.list("OIDC_TEAM_MAP", default=[]))
# Off: the login page offers only company sign-in; the password form stays at
# /accounts/login/?local=1 for superusers (break-glass), throttled like any password sign-in.
LOCAL_LOGIN = env.bool("LOCAL_LOGIN", default=True)
# mozilla-django-oidc's own knobs: PKCE (S256) on every sign-in, bounded calls to the provider.
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_DISCOVERY_CACHE_SECONDS = 3600

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6 behaviour now: "example.com" means https
FORM_RENDERER = "postmortems.forms.renderer.FormRenderer"
