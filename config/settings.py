"""Inverto settings: one module, read from the environment.

`INVERTO_ENV=production` switches on the production profile: secrets and hosts
become required and every transport-security setting is on. Development keeps
working defaults for this machine's local PostgreSQL and Redis. Nothing here
has a per-environment copy.
"""

import os
from pathlib import Path

from celery.schedules import crontab

from clinic.environment import SettingsError, StrictEnv

BASE_DIR = Path(__file__).resolve().parent.parent
env = StrictEnv(os.environ)

INVERTO_ENV = env.choice("INVERTO_ENV", "development", ("development", "production"))
PRODUCTION = INVERTO_ENV == "production"

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = (
    env.str("SECRET_KEY")
    if PRODUCTION
    else env.str("SECRET_KEY", "development-only-insecure-key-never-use-in-production")
)
ALLOWED_HOSTS = (
    env.list("ALLOWED_HOSTS")
    if PRODUCTION
    else env.list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # The layers, bottom up: each app imports only those above it in this list
    # (the import-linter contract in pyproject.toml holds them to it).
    "clinic",
    "patients",
    "programmes",
    "portal",
    "reports",
    "privacy",
    "demo",
    "bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "clinic.security.SecurityHeadersMiddleware",
    # Each request's channel and address, for audit rows its services write.
    "clinic.audit_context.AuditContextMiddleware",
    "clinic.security.NoStoreMiddleware",
    "clinic.security.NulBytesMiddleware",
    "clinic.security.AdminChangelistQueryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clinic.signin.SessionLifetimeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "clinic.otp.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout after repeated failed logins (django-axes), per username and address; our
# handler adds a limit per address across accounts and one across the whole service
# (password spraying, clinic/signin.py). Every failure and sign-in is kept.
AXES_HANDLER = "clinic.signin.SignInLimitsHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 1  # hour
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Failures from one address, whatever the user names, within the cool-off hour.
SIGNIN_ADDRESS_FAILURE_LIMIT = env.int("SIGNIN_ADDRESS_FAILURE_LIMIT", 20)
# Failures across every account and address within the window: then every sign-in waits.
SIGNIN_GLOBAL_FAILURE_LIMIT = env.int("SIGNIN_GLOBAL_FAILURE_LIMIT", 100)
SIGNIN_GLOBAL_WINDOW_MINUTES = env.int("SIGNIN_GLOBAL_WINDOW_MINUTES", 10)
# Password-reset requests per address, and reset e-mails per account, within the window.
PASSWORD_RESET_ADDRESS_LIMIT = env.int("PASSWORD_RESET_ADDRESS_LIMIT", 10)
PASSWORD_RESET_ACCOUNT_LIMIT = env.int("PASSWORD_RESET_ACCOUNT_LIMIT", 3)
PASSWORD_RESET_WINDOW_MINUTES = env.int("PASSWORD_RESET_WINDOW_MINUTES", 60)
# Sessions end after this long without a request, and this long after sign-in at most:
# staff-side accounts (administrators, clinicians, staff) and patients apart.
SESSION_IDLE_MINUTES_STAFF = env.int("SESSION_IDLE_MINUTES_STAFF", 15)
SESSION_IDLE_MINUTES_PATIENT = env.int("SESSION_IDLE_MINUTES_PATIENT", 60)
SESSION_MAX_HOURS_STAFF = env.int("SESSION_MAX_HOURS_STAFF", 12)
SESSION_MAX_HOURS_PATIENT = env.int("SESSION_MAX_HOURS_PATIENT", 12)
SESSION_COOKIE_AGE = 3600 * max(SESSION_MAX_HOURS_STAFF, SESSION_MAX_HOURS_PATIENT)
# API tokens: refused after this many days unused, and this many days after sign-in.
API_TOKEN_IDLE_DAYS = env.int("API_TOKEN_IDLE_DAYS", 30)
API_TOKEN_MAX_AGE_DAYS = env.int("API_TOKEN_MAX_AGE_DAYS", 90)
# Failures are forgotten only when the whole sign-in succeeds, second factor included
# (clinic/otp.py), so a password alone can't reset the count of wrong codes.
AXES_RESET_ON_SUCCESS = False
OTP_TOTP_ISSUER = "Inverto"
INVITATION_VALID_DAYS = 7
# Callers from these networks (e.g. the monitoring host's) see /healthz's details.
HEALTHZ_DETAIL_NETWORKS = env.networks("HEALTHZ_DETAIL_NETWORKS", [])

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "clinic" / "templates"],
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

DATABASES = {
    "default": env.db_url("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinic")
    if not PRODUCTION
    else env.db_url("DATABASE_URL")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# JIT off for every connection: a clinic-wide report's estimates reach millions of rows,
# so JIT compiled for seconds (5 of 8 s of the staff overview at 10,000 patients, with
# the former day grid) to save milliseconds. Short OLTP queries never gain.
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
# A clinic-wide report hashes one row per patient and week: 32 MB keeps that in memory
# (PostgreSQL's 4 MB default spills it to disk at a few thousand patients).
_db_options["options"] = f"{_db_options.get('options', '')} -c jit=off -c work_mem=32MB".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The application's role (DATABASE_URL) owns nothing; `migrate` connects as the owner
# named here, then grants the application its privileges (clinic/db_roles.py).
MIGRATION_DATABASE = (
    env.db_url("MIGRATION_DATABASE_URL") if env.str("MIGRATION_DATABASE_URL", "") else None
)
if MIGRATION_DATABASE and MIGRATION_DATABASE["NAME"] != DATABASES["default"]["NAME"]:
    raise SettingsError(
        "setting MIGRATION_DATABASE_URL is malformed: it must name DATABASE_URL's database"
        f" ({DATABASES['default']['NAME']}), with the owner's credentials"
    )
# A superuser for `ensure_database` to create the roles and the database with (optional).
DATABASE_ADMIN = env.db_url("DATABASE_ADMIN_URL") if env.str("DATABASE_ADMIN_URL", "") else None

REDIS_URL = (
    env.redis_url("REDIS_URL")
    if PRODUCTION
    else env.redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")
)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}

_email = env.email_url("EMAIL_URL") if PRODUCTION else env.email_url("EMAIL_URL", "consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "Inverto <no-reply@inverto.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: its `password_changed` hook revokes the account's API tokens.
    {"NAME": "clinic.tokens.RevokeApiTokensOnPasswordChange"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.time_zone("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    # Token first: an anonymous request answers 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clinic.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["clinic.permissions.RoleAccess"],
    # DRF's three, with JSON nesting bounded (a deep body answers 400, not 500).
    "DEFAULT_PARSER_CLASSES": [
        "clinic.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "clinic.api_schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "clinic.api.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "clinic.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Inverto API",
    "DESCRIPTION": "Patients, intake screening, programmes, check-ins and adherence.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Bodies are documented as JSON. The API still parses form-encoded and multipart bodies
    # (DEFAULT_PARSER_CLASSES), so a form-posted check-in is never refused and lost, but
    # their rules differ (an empty form field counts as left out), so the schema, which
    # promises what is refused, speaks for JSON only.
    "PARSER_WHITELIST": ["clinic.api.JSONParser"],
    # A finding's tier and a screening's outcome are the same choice set: one enum.
    "ENUM_NAME_OVERRIDES": {"OutcomeEnum": "patients.models.Outcome"},
    # Swagger UI from our own static files (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: Redis broker, database beat schedule; reliability settings from day one.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# Longer than any task's hard limit, so a slow task is never redelivered while it runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TRACK_STARTED = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True

# Security: on everywhere; transport security only where there is HTTPS.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# Periodic work: a few sweeps, never one entry per patient. The database
# scheduler copies these into django-celery-beat's tables at start.
CELERY_BEAT_SCHEDULE = {
    "screening-expiry-sweep": {
        "task": "patients.screening_expiry_sweep",
        "schedule": 3600.0,
    },
}

CELERY_BEAT_SCHEDULE["reminder-sweep"] = {
    "task": "programmes.reminder_sweep",
    "schedule": float(env.int("REMINDER_SWEEP_SECONDS", 300)),
}
CELERY_BEAT_SCHEDULE["alert-sweep"] = {
    "task": "programmes.alert_sweep",
    "schedule": float(env.int("ALERT_SWEEP_SECONDS", 900)),
}
# Nightly (03:30 UTC): the kept adherence recomputed from its sources, any difference
# logged and repaired.
CELERY_BEAT_SCHEDULE["adherence-reconcile"] = {
    "task": "programmes.adherence_reconcile",
    "schedule": crontab(hour=3, minute=30),
}
# Reminders: pending rows not sent this long after enqueueing are enqueued again
# (their task was lost with a broker restart, or its worker was killed).
REMINDER_REQUEUE_AFTER_SECONDS = env.int("REMINDER_REQUEUE_AFTER_SECONDS", 600)
REMINDER_BATCH_SIZE = env.int("REMINDER_BATCH_SIZE", 500)
REMINDER_MAX_ATTEMPTS = env.int("REMINDER_MAX_ATTEMPTS", 5)
# "console" prints every reminder instead of using the patient's channels (demo, benchmark).
REMINDER_CHANNEL_OVERRIDE = env.str("REMINDER_CHANNEL_OVERRIDE", "")
SMS_PROVIDER = env.choice("SMS_PROVIDER", "console", ("console", "http"))
SMS_HTTP_URL = env.str("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env.str("SMS_HTTP_TOKEN", "")
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", "http://127.0.0.1:8000")
