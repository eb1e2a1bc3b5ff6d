"""CellChain settings: SQLite under var/ by default, PostgreSQL by DATABASE_URL; everything else by environment.

Production sets CELLCHAIN_DEBUG=false, SECRET_KEY (or SECRET_KEY_FILE) and CELLCHAIN_ALLOWED_HOSTS; the settings
refuse to start without a secret when DEBUG is off (README "Production").
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from cellchain.project.env import ConfigurationError, envbool, envchoice, envint, envlist, envsecret, envstr

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(envstr("CELLCHAIN_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("CELLCHAIN_DEBUG", True)
SECRET_KEY = envsecret("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigurationError("SECRET_KEY (or SECRET_KEY_FILE) must be set when CELLCHAIN_DEBUG=false")
    # Development only: a per-process key, so nothing secret ever sits in the repository.
    SECRET_KEY = "dev-" + secrets.token_urlsafe(48)

ALLOWED_HOSTS = envlist("CELLCHAIN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CELLCHAIN_CSRF_TRUSTED_ORIGINS", [])

# Contexts in dependency order (DESIGN.md "Layers"); each is one Django app with the same shape.
CELLCHAIN_CONTEXTS = [
    "cellchain.core",
    "cellchain.accounts",
    "cellchain.ledger",
    "cellchain.signatures",
    "cellchain.quality",
    "cellchain.journeys",
    "cellchain.manufacturing",
    "cellchain.environment",
    "cellchain.qc",
    "cellchain.logistics",
    "cellchain.clinic",
    "cellchain.assessment",
    "cellchain.metrics",
    "cellchain.dossiers",
    "cellchain.reviews",
    "cellchain.studies",
    "cellchain.capa",
    "cellchain.exchange",
    "cellchain.records",
    "cellchain.documents",
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    *CELLCHAIN_CONTEXTS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cellchain.core.middleware.PrivateResponseMiddleware",
    "cellchain.core.middleware.UploadSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "cellchain.accounts.middleware.SessionTimeoutMiddleware",
    "cellchain.core.middleware.SiteTimezoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "cellchain.project.urls"
WSGI_APPLICATION = "cellchain.project.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "cellchain" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cellchain.core.context_processors.cellchain",
            ],
        },
    },
]


SQLITE_OPTIONS = {
    # BEGIN IMMEDIATE takes the write lock at the start of every transaction, which is what
    # serialises ledger appends on SQLite (DESIGN.md "Storage"); WAL lets readers go on meanwhile.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
}


def _database() -> dict[str, object]:
    """The default database: DATABASE_URL when set, else SQLite under var/; SQLite always gets SQLITE_OPTIONS.

    A ``sqlite://`` URL used to come without them and so silently lost WAL and BEGIN IMMEDIATE, which the
    ledger's serialised appends rely on (issue 15).
    """
    url = envstr("DATABASE_URL", "")
    if url:
        try:
            config = dict(dj_database_url.parse(url, conn_max_age=envint("CELLCHAIN_DB_CONN_MAX_AGE", 0)))
        except ValueError as exc:
            raise ConfigurationError(f"DATABASE_URL is not a database URL: {exc}") from None
        options = config.setdefault("OPTIONS", {})
        if config.get("ENGINE") == "django.db.backends.sqlite3":
            options.update({key: value for key, value in SQLITE_OPTIONS.items() if key not in options})
        return config
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "cellchain.sqlite3",
        "OPTIONS": dict(SQLITE_OPTIONS),
        "TEST": {"NAME": envstr("CELLCHAIN_SQLITE_TEST_NAME", "") or None},
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# argon2id first (REGULATORY item 31); older hashes are upgraded at the next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": envint("CELLCHAIN_PASSWORD_MIN_LENGTH", 12, minimum=8)},
    },
    {"NAME": "cellchain.accounts.validators.MaximumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions: idle timeout at shared terminals, absolute lifetime (REGULATORY item 28).
CELLCHAIN_IDLE_TIMEOUT_SECONDS = envint("CELLCHAIN_IDLE_TIMEOUT_SECONDS", 15 * 60, minimum=60)
SESSION_COOKIE_AGE = envint("CELLCHAIN_SESSION_ABSOLUTE_SECONDS", 12 * 3600, minimum=300)
# Installations side by side on one host (`make demo-network`, issue 12 item 4) need their own cookie names:
# browsers share cookies between ports of the same host.
SESSION_COOKIE_NAME = envstr("CELLCHAIN_SESSION_COOKIE_NAME", "sessionid")
CSRF_COOKIE_NAME = envstr("CELLCHAIN_CSRF_COOKIE_NAME", "csrftoken")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = envbool("CELLCHAIN_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if envbool("CELLCHAIN_BEHIND_PROXY", False) else None
)
SECURE_HSTS_SECONDS = envint("CELLCHAIN_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (issue 15): scripts and styles only from our own static files (htmx included), no
# inline code, no eval; a page that needs an inline <style> (the printable deviation) uses the nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Upload limits (issue 15): any request body, and logger exports (a 14-day 1-minute logger file is ~1 MB).
CELLCHAIN_MAX_UPLOAD_BYTES = envint("CELLCHAIN_MAX_UPLOAD_BYTES", 200 * 10**6, minimum=10**6)
CELLCHAIN_MAX_LOGGER_FILE_BYTES = envint("CELLCHAIN_MAX_LOGGER_FILE_BYTES", 10 * 10**6, minimum=10**5)
# A self-assessment evidence file (certificate scan, layout drawing) is kept in the database with its hash.
CELLCHAIN_MAX_EVIDENCE_FILE_BYTES = envint("CELLCHAIN_MAX_EVIDENCE_FILE_BYTES", 20 * 10**6, minimum=10**5)

# Lockout after failed logins (issue 2; REGULATORY items 22, 27).
CELLCHAIN_LOCKOUT_THRESHOLD = envint("CELLCHAIN_LOCKOUT_THRESHOLD", 5, minimum=1)
CELLCHAIN_LOCKOUT_SECONDS = envint("CELLCHAIN_LOCKOUT_SECONDS", 15 * 60, minimum=60)
# MFA at login when the user has a confirmed TOTP device; required for everyone when this is on.
CELLCHAIN_REQUIRE_MFA = envbool("CELLCHAIN_REQUIRE_MFA", False)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # stored in UTC; shown in the site's zone (core.middleware.SiteTimezoneMiddleware)
CELLCHAIN_DEFAULT_SITE_TIMEZONE = envstr("CELLCHAIN_DEFAULT_SITE_TIMEZONE", "Asia/Shanghai")

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# What this installation is (issue 12 item 1): a manufacturer's, a hospital's, or "both" for the single-installation
# demo where one database holds the whole journey. Each installation has its own database and ledger.
CELLCHAIN_INSTALLATION_ROLE = envchoice(
    "CELLCHAIN_INSTALLATION_ROLE", "both", ("manufacturer", "hospital", "both")
)
CELLCHAIN_INSTALLATION_NAME = envstr("CELLCHAIN_INSTALLATION_NAME", "CellChain")
# The code of the organisation this installation belongs to (accounts.Organisation.code); partners register us by
# it, so a message names which organisation it comes from. Empty in "both", which holds every organisation.
CELLCHAIN_INSTALLATION_ORGANISATION = envstr("CELLCHAIN_INSTALLATION_ORGANISATION", "")

# The ledger's Ed25519 key for signed tree heads is generated on first use here (issue 3).
CELLCHAIN_LEDGER_KEY_PATH = Path(envstr("CELLCHAIN_LEDGER_KEY_PATH", str(VAR_DIR / "ledger-ed25519.key")))
CELLCHAIN_LEDGER_LOG_ID = envstr("CELLCHAIN_LEDGER_LOG_ID", "cellchain-dev")
# Exchange with partner installations (issue 12; decision 0017; defaults in cellchain/exchange/conf.py).
CELLCHAIN_EXCHANGE_DIR = Path(envstr("CELLCHAIN_EXCHANGE_DIR", str(VAR_DIR / "exchange")))
CELLCHAIN_EXCHANGE_BASE_URL = envstr("CELLCHAIN_EXCHANGE_BASE_URL", "")
CELLCHAIN_EXCHANGE_MAX_ATTEMPTS = envint("CELLCHAIN_EXCHANGE_MAX_ATTEMPTS", 25)
CELLCHAIN_EXCHANGE_RETRY_FIRST_SECONDS = envint("CELLCHAIN_EXCHANGE_RETRY_FIRST_SECONDS", 5)
CELLCHAIN_EXCHANGE_RETRY_MAX_SECONDS = envint("CELLCHAIN_EXCHANGE_RETRY_MAX_SECONDS", 900)
CELLCHAIN_HEAD_EVERY_ENTRIES = envint("CELLCHAIN_HEAD_EVERY_ENTRIES", 256, minimum=1)
CELLCHAIN_HEAD_EVERY_SECONDS = envint("CELLCHAIN_HEAD_EVERY_SECONDS", 3600, minimum=1)

# Inspection dossiers and audit-trail exports (issue 14 item 6): built by a thread after the request, or left
# queued for `cellchain dossier run` ("command"); the finished ZIP files are kept here.
CELLCHAIN_DOSSIER_RUNNER = envstr("CELLCHAIN_DOSSIER_RUNNER", "thread")
if CELLCHAIN_DOSSIER_RUNNER not in ("thread", "command"):
    raise ConfigurationError(
        f"CELLCHAIN_DOSSIER_RUNNER must be thread or command, not {CELLCHAIN_DOSSIER_RUNNER!r}"
    )
CELLCHAIN_EXPORT_DIR = Path(envstr("CELLCHAIN_EXPORT_DIR", str(VAR_DIR / "exports")))

EMAIL_BACKEND = envstr("CELLCHAIN_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = envstr("CELLCHAIN_FROM_EMAIL", "cellchain@localhost")
CELLCHAIN_MQTT_HOST = envstr("CELLCHAIN_MQTT_HOST", "127.0.0.1")
CELLCHAIN_MQTT_PORT = envint("CELLCHAIN_MQTT_PORT", 1883, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "cellchain.core.logging.RedactSecretsFilter"},
        "forbidden": {"()": "cellchain.core.logging.ForbiddenWithoutTracebackFilter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": envstr("CELLCHAIN_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["forbidden"]},
    },
}
CSRF_FAILURE_VIEW = "cellchain.core.views.csrf_failure"
