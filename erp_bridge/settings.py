"""Settings for erp-bridge. Every value comes from the environment: docs/configuration.md lists them.

Variable names follow one scheme (erp_bridge/env.py): DJANGO_ for Django itself, VTEX_ for the
dealings with VTEX, Q_ for the django-q2 cluster, ERP_BRIDGE_ for erp-bridge's own rules, and every
duration in seconds ending in _S. The settings' attribute names (settings.X) keep the unit the code
counts in; a renamed variable is still read under its old name (``old=``) for one release.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

from erp_bridge.env import (
    DAY,
    HOUR,
    MINUTE,
    env_bool,
    env_cache,
    env_choice,
    env_duration,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
)
from erp_bridge.observability import LOG_FORMATS, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
# Local files of a running installation (test database, collected static files).
(BASE_DIR / "var").mkdir(exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", True)

# A development key is only acceptable while DEBUG is on; production must set its own.
_DEV_SECRET_KEY = "dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "integration",
]

MIDDLEWARE = [
    # First: every log line of the request carries its id (X-Request-ID, read or made).
    "erp_bridge.observability.RequestIdMiddleware",
    # /healthz, /readyz and /metrics are answered here, before the host check and the HTTPS
    # redirect: load balancers and Prometheus call by address and over plain HTTP.
    "integration.ops.middleware.OpsEndpointsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions (it reads the language the admin's switch saved), before CommonMiddleware.
    # The language cookie wins, then the browser's Accept-Language, then LANGUAGE_CODE.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with its own page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "erp_bridge.urls"
WSGI_APPLICATION = "erp_bridge.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite (the default, one machine) runs in WAL mode so readers never block the writer, with
# IMMEDIATE transactions so two writers queue on the busy timeout instead of failing with
# "database is locked" when a read transaction tries to upgrade. DATABASE_URL selects PostgreSQL.
SQLITE_PATH = BASE_DIR / "db.sqlite3"
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL and not DATABASE_URL.startswith("sqlite"):
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    if DATABASE_URL:
        SQLITE_PATH = Path(dj_database_url.parse(DATABASE_URL)["NAME"])
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": env_int("DJANGO_SQLITE_BUSY_TIMEOUT_S", 30, minimum=1, old="SQLITE_BUSY_TIMEOUT_S"),
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Tests use a file, not memory: intake runs worker threads and concurrency tests run
            # two processes, which all need to see the same database. One file per test run, so
            # two runs at once (two terminals, an editor's runner) never share it.
            "TEST": {"NAME": str(BASE_DIR / "var" / f"test-db-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language, time -----------------------------------------------------------------------------
# The admin and the API speak the browser's (or client's) language when it is one of LANGUAGES,
# else LANGUAGE_CODE. "en" (not "en-us") so that an unknown language falls back to the same
# English the messages are written in.
LANGUAGE_CODE = env_str("DJANGO_LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("pt-br", "Português (Brasil)")]
# A regional variant of an offered language ("en-us") is accepted, as Django accepts it.
if not {LANGUAGE_CODE.lower(), LANGUAGE_CODE.lower().split("-")[0]} & {code for code, _name in LANGUAGES}:
    raise ImproperlyConfigured(
        f"DJANGO_LANGUAGE_CODE must be one of {', '.join(code for code, _name in LANGUAGES)}; got {LANGUAGE_CODE!r}."
    )
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "America/Sao_Paulo", old="TIME_ZONE")  # the store's zone, for display
USE_I18N = True
USE_TZ = True  # stored times are aware and UTC
STORE_CURRENCY = env_str("ERP_BRIDGE_STORE_CURRENCY", "BRL", old="STORE_CURRENCY")
# NF-e from SEFAZ's test environment (tpAmb 2, no fiscal value) are imported only when this is on
# (the demo and a staging store); the bare NFE_ALLOW_HOMOLOGATION is read as the old name.
NFE_ALLOW_HOMOLOGATION = env_bool("ERP_BRIDGE_NFE_ALLOW_HOMOLOGATION", False, old="NFE_ALLOW_HOMOLOGATION")
# Where shoppers reach this server (https://erp.example.com). When set, an invoice imported from its
# NF-e goes to VTEX with invoiceUrl = a signed link to its DANFE, valid this long (default 180 days).
PUBLIC_BASE_URL = env_str("ERP_BRIDGE_PUBLIC_BASE_URL", "").rstrip("/")
DANFE_LINK_MAX_AGE_S = env_duration("ERP_BRIDGE_DANFE_LINK_MAX_AGE_S", 180 * DAY, unit=1, minimum_s=3600)

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# The container image serves the admin's static files itself (WhiteNoise, collected at build), as
# it has no proxy of its own; behind nginx serving STATIC_ROOT, leave it off.
if env_bool("ERP_BRIDGE_SERVE_STATIC", False):
    try:
        import whitenoise  # noqa: F401
    except ImportError:
        raise ImproperlyConfigured(
            "ERP_BRIDGE_SERVE_STATIC=1 needs the whitenoise package (pip install 'erp-bridge[production]')."
        ) from None
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

# --- Security (production: DJANGO_DEBUG=0) -----------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_S", 0 if DEBUG else 31536000, minimum=0, old="DJANGO_HSTS_SECONDS")
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", not DEBUG)
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Admin login: django-axes locks a username *from one address* after this many failures, for the
# lockout's length, so nobody can lock a real user out from elsewhere, nor everybody behind one
# proxy. Behind the documented proxy the client address is read from X-Forwarded-For (one proxy),
# otherwise from the connection. Staff unlock in the admin (Axes → Access attempts).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "integration.auth.NoPublishedPasswordBackend"]
AXES_FAILURE_LIMIT = env_int("ERP_BRIDGE_LOGIN_MAX_FAILURES", 5, minimum=1, old="LOGIN_MAX_FAILURES_PER_USER")
AXES_COOLOFF_TIME = timedelta(
    minutes=env_duration("ERP_BRIDGE_LOGIN_LOCKOUT_S", 15 * MINUTE, unit=MINUTE, old="LOGIN_THROTTLE_WINDOW_MINUTES")
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "integration.admin.lockout.login_locked"
AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if BEHIND_PROXY else ("REMOTE_ADDR",)
AXES_IPWARE_PROXY_COUNT = 1 if BEHIND_PROXY else None
AXES_VERBOSE = False  # its start-up banner

LOG_LEVEL = env_str("ERP_BRIDGE_LOG_LEVEL", "INFO", old="LOG_LEVEL") or "INFO"
# ERP_BRIDGE_LOG_FORMAT=json writes one JSON object a line (for a log collector); both formats carry
# the request id (erp_bridge/observability.py).
LOG_FORMAT = env_choice("ERP_BRIDGE_LOG_FORMAT", "plain", LOG_FORMATS)
LOGGING = logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT)

# --- VTEX ------------------------------------------------------------------------------------------
VTEX_ACCOUNT_NAME = env_str("VTEX_ACCOUNT_NAME")
VTEX_ENVIRONMENT = env_str("VTEX_ENVIRONMENT", "vtexcommercestable")
VTEX_APP_KEY = env_str("VTEX_APP_KEY")
VTEX_APP_TOKEN = env_str("VTEX_APP_TOKEN")
VTEX_OMS_URL = env_str("VTEX_OMS_URL").rstrip("/") or (
    f"https://{VTEX_ACCOUNT_NAME}.{VTEX_ENVIRONMENT}.com.br" if VTEX_ACCOUNT_NAME else ""
)
VTEX_PAYMENTS_URL = env_str("VTEX_PAYMENTS_URL").rstrip("/") or (
    f"https://{VTEX_ACCOUNT_NAME}.vtexpayments.com.br" if VTEX_ACCOUNT_NAME else ""
)
# VTEX documents 6000 requests/minute per account (Get order); the whole account shares it,
# VTEX's own Admin included, so the default leaves half of it to everything else.
VTEX_RATE_LIMIT_RPM = env_int("VTEX_RATE_LIMIT_RPM", 3000, minimum=1)
VTEX_CONNECT_TIMEOUT_S = env_float("VTEX_CONNECT_TIMEOUT_S", 5.0, minimum=0.1)
VTEX_READ_TIMEOUT_S = env_float("VTEX_READ_TIMEOUT_S", 30.0, minimum=0.1)
VTEX_GET_ATTEMPTS = env_int("VTEX_GET_ATTEMPTS", 4, minimum=1)
# Longest Retry-After honoured as given; VTEX recommends a 1-minute back-off after a 429.
VTEX_MAX_RETRY_AFTER_S = env_float("VTEX_MAX_RETRY_AFTER_S", 120.0, minimum=1)
# VTEX recommends its orders feed for integrations (List orders lags behind a search index).
VTEX_INTAKE = env_choice("VTEX_INTAKE", "feed", ("list", "feed"))
# Feed v3 queue (VTEX-API.md §9): messages hidden this long after a read come back unless
# committed; retention between 4 and 14 days (VTEX deletes an idle feed after it).
VTEX_FEED_VISIBILITY_TIMEOUT_S = env_int("VTEX_FEED_VISIBILITY_TIMEOUT_S", 250, minimum=10)
VTEX_FEED_RETENTION_S = env_int("VTEX_FEED_RETENTION_S", 345600, minimum=345600)
if VTEX_FEED_RETENTION_S > 1209600:
    raise ImproperlyConfigured("VTEX_FEED_RETENTION_S must be at most 1209600 (14 days), VTEX's maximum.")
# The order hook (POST /vtex/hook/): VTEX sends this header with this secret; empty disables the hook.
VTEX_HOOK_SECRET = env_str("VTEX_HOOK_SECRET")
VTEX_HOOK_SECRET_HEADER = env_str("VTEX_HOOK_SECRET_HEADER", "X-ERP-Bridge-Secret")
VTEX_FETCH_PAYMENTS = env_bool("VTEX_FETCH_PAYMENTS", False)
# The seller ids (VTEX's sellers[].id) that are this account: an order another seller fulfils
# (a marketplace order of a franchise seller, say) is stored and shown, and never handled,
# invoiced or canceled from here. VTEX's own account is seller "1".
VTEX_OWN_SELLER_IDS = frozenset(env_list("VTEX_OWN_SELLER_IDS", ["1"]))
if not VTEX_OWN_SELLER_IDS:
    raise ImproperlyConfigured("VTEX_OWN_SELLER_IDS must name at least one seller id (VTEX's own account is 1).")
# django-q2 schedules count whole minutes.
VTEX_PULL_EVERY_MINUTES = env_duration("VTEX_PULL_EVERY_S", 2 * MINUTE, unit=MINUTE, old="VTEX_PULL_EVERY_MINUTES")
# With VTEX_INTAKE=feed, a list sweep over orders created in the last hours catches what the feed
# lost (VTEX-API.md §12.7: List orders lags, so it is only the safety net).
VTEX_SWEEP_EVERY_MINUTES = env_duration("VTEX_SWEEP_EVERY_S", 30 * MINUTE, unit=MINUTE, old="VTEX_SWEEP_EVERY_MINUTES")
VTEX_SWEEP_WINDOW_HOURS = env_duration("VTEX_SWEEP_WINDOW_S", 48 * HOUR, unit=HOUR, old="VTEX_SWEEP_WINDOW_HOURS")
# The daily reconciliation reads back every open order changed in this many days.
VTEX_RECONCILE_DAYS = env_duration("VTEX_RECONCILE_WINDOW_S", 30 * DAY, unit=DAY, old="VTEX_RECONCILE_DAYS")
# The order list's "Stuck" filter: ready and not acknowledged after this many minutes; an invoice
# sent without a tracking number after this many days.
STUCK_READY_MINUTES = env_duration("ERP_BRIDGE_STUCK_READY_S", 30 * MINUTE, unit=MINUTE, old="STUCK_READY_MINUTES")
STUCK_NO_TRACKING_DAYS = env_duration("ERP_BRIDGE_STUCK_NO_TRACKING_S", 3 * DAY, unit=DAY, old="STUCK_NO_TRACKING_DAYS")
# VTEX calls in flight follow the rate budget and the answer times VTEX gives (Little's law,
# integration/vtex/concurrency.py), up to this cap, which bounds threads and connections.
VTEX_MAX_CONCURRENCY = env_int("VTEX_MAX_CONCURRENCY", 64, minimum=1)
# Unset: adaptive (above). Set: exactly this many calls in flight, whatever VTEX's answer times.
VTEX_CONCURRENCY = env_int("VTEX_CONCURRENCY", 0, minimum=0) or None
# VTEX call records (the admin timeline) older than this are deleted by a daily job.
VTEX_CALL_RETENTION_DAYS = env_duration("VTEX_CALL_RETENTION_S", 30 * DAY, unit=DAY, old="VTEX_CALL_RETENTION_DAYS")
VTEX_START_HANDLING = env_choice("VTEX_START_HANDLING", "on_import", ("on_import", "on_erp_ack"))

# --- Background work (django-q2, ORM broker: at-least-once, so every task is idempotent) ---------------
Q_CLUSTER = {
    "name": env_str("Q_CLUSTER_NAME", "erp-bridge"),
    # The admin's name for django-q2's pages ("Django Q" otherwise, in every language).
    "label": gettext_lazy("Background tasks"),
    "orm": "default",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # A task may run this long; retry must be larger, or the broker hands the same task to a
    # second worker while the first is still running it (django-q2 docs, "retry").
    "timeout": env_int("Q_TIMEOUT_S", 600, minimum=10),
    "retry": env_int("Q_RETRY_S", 720, minimum=20),
    "max_attempts": 3,
    "catch_up": False,
    # The ORM broker is polled this often when idle: a hook notification waits for the next poll.
    "poll": env_float("Q_POLL_S", 0.2, minimum=0.05),
    "save_limit": 1000,
    "ack_failures": True,
}
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured("Q_RETRY_S must be larger than Q_TIMEOUT_S (django-q2 would run a task twice).")

# --- REST API for the ERP and carriers (integration/api) ------------------------------------------
# Requests per user; DRF's form "<number>/<s|min|hour|day>". Counted in the default cache
# (DJANGO_CACHE_URL): per process by default, so with several web processes each one counts on its
# own unless the cache is shared (redis:// or db://).
CACHES = {"default": env_cache("DJANGO_CACHE_URL")}
API_THROTTLE_RATE = env_str("ERP_BRIDGE_API_THROTTLE_RATE", "600/min", old="API_THROTTLE_RATE") or "600/min"
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", API_THROTTLE_RATE):
    raise ImproperlyConfigured(
        f"ERP_BRIDGE_API_THROTTLE_RATE must look like 600/min or 20/s; got {API_THROTTLE_RATE!r}."
    )
# Largest request body Django (admin forms) and the API's JSON parser accept; larger ones get 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024, minimum=1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["integration.api.permissions.HasRequiredPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["integration.api.permissions.ApiUserThrottle"],
    # JSON only; the API's views use a subclass that enforces DATA_UPLOAD_MAX_MEMORY_SIZE.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "integration.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "erp-bridge API",
    "VERSION": "1.0.0",
    # The long description (authentication, errors, idempotency, polling) is added by this hook.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "integration.api.schema.postprocess_schema",
    ],
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStateEnum": "integration.models.Order.State",
        "AckStateEnum": "integration.selectors.start_handling.StartHandlingState",
        "SendStateEnum": "integration.models.SendState",
        "CancellationStateEnum": "integration.models.CancellationRequest.State",
        "InvoiceTypeEnum": "integration.models.Invoice.Kind",
        "StartHandlingModeEnum": ["on_import", "on_erp_ack"],
        "VtexStatusEnum": "integration.vtex.statuses.VtexStatus",
        "ErrorCodeEnum": "integration.api.serializers.ERROR_CODES",
    },
    # Swagger UI (/api/docs/) from the drf-spectacular-sidecar package, served as static files: no CDN.
    # Redoc is set likewise but not routed: drf-spectacular's Redoc page loads fonts from Google.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Operations: health checks, metrics, error reports (docs/operations.md) ----------------------------
# /readyz fails when the last successful read of the intake's source (VTEX_INTAKE) is older than
# this: by default three pull intervals, at least 10 minutes.
READY_INTAKE_MAX_AGE_S = env_int(
    "ERP_BRIDGE_READY_INTAKE_MAX_AGE_S", max(600, 3 * VTEX_PULL_EVERY_MINUTES * MINUTE), minimum=60
)
# ... when more sends to VTEX than this are owed (outbox rows pending, sending or failed).
READY_OUTBOX_MAX = env_int("ERP_BRIDGE_READY_OUTBOX_MAX", 1000, minimum=1)
# ... when no cluster showed a sign of life for this long (a heartbeat in a shared cache, or a task
# finished: the outbox schedule runs one every minute).
READY_CLUSTER_MAX_AGE_S = env_int("ERP_BRIDGE_READY_CLUSTER_MAX_AGE_S", 300, minimum=30)
# /metrics answers only with this bearer token and/or from these networks (both must pass when both
# are set); with neither set it does not exist (404).
METRICS_TOKEN = env_str("ERP_BRIDGE_METRICS_TOKEN")
METRICS_ALLOW = env_networks("ERP_BRIDGE_METRICS_ALLOW")
# VTEX calls are counted over this recent window (the call log is shared by every process).
METRICS_WINDOW_S = env_int("ERP_BRIDGE_METRICS_WINDOW_S", 300, minimum=30)

# Sentry (optional): SENTRY_DSN, the name sentry-sdk itself reads. No personal data, and every event
# scrubbed of the secrets below (erp_bridge/observability.py). Task failures of the clusters are
# reported through django-q2's error_reporter.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from erp_bridge.observability import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0, minimum=0.0),
        secrets=[
            VTEX_APP_TOKEN,
            VTEX_APP_KEY,
            VTEX_HOOK_SECRET,
            METRICS_TOKEN,
            SECRET_KEY,
            str(DATABASES["default"].get("PASSWORD") or ""),
        ],
        secret_headers=[VTEX_HOOK_SECRET_HEADER],
    )
    Q_CLUSTER["error_reporter"] = {"erp_bridge_sentry": {}}
