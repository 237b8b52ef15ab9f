"""Django settings for Comptoir.

Everything a deployment changes comes from the environment:
COMPTOIR_DATA_DIR (default ./var), DATABASE_URL (SQLite in the data dir when unset),
REDIS_URL (Huey broker and cache when set), COMPTOIR_SECRET_KEY, COMPTOIR_DEBUG,
COMPTOIR_ALLOWED_HOSTS.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("COMPTOIR_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Read the key from the environment, else keep one generated key in the data dir."""
    if key := os.environ.get("COMPTOIR_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        import tempfile

        from django.utils.crypto import get_random_string

        # Several processes may start at once (test workers, web + worker): write a private
        # temp file and link it into place, so exactly one key wins and nobody reads half.
        fd, tmp = tempfile.mkstemp(dir=DATA_DIR, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(get_random_string(64))
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("COMPTOIR_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("COMPTOIR_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(
    ","
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "huey.contrib.djhuey",
    "comptoir.core",
    "comptoir.accounts",
    "comptoir.contacts",
    "comptoir.tickets",
    "comptoir.channels.email",
    "comptoir.channels.webform",
    "comptoir.search",
    "comptoir.dashboard",
    "comptoir.responses",
    "comptoir.administration",
    "comptoir.waiting",
    "comptoir.solicitations",
    "comptoir.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "comptoir.core.middleware.PreferredLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "comptoir.urls"
WSGI_APPLICATION = "comptoir.wsgi.application"
ASGI_APPLICATION = "comptoir.asgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with a faster reader of times (comptoir/core/postgresql).
        DATABASES["default"]["ENGINE"] = "comptoir.core.postgresql"
        # One pool for all the threads of the process (web requests, the worker's threads):
        # a new connection is a new server process (~5 ms, plus its cold catalog caches),
        # and the pool bounds how many the process holds.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        # Statements run this many times on a connection are prepared: PostgreSQL then skips
        # planning them (the ticket page's six-table join planned in ~3 ms, ran in 0.5 ms).
        # Needs server-side binding. 0 turns both off, e.g. behind PgBouncer in transaction
        # mode, which cannot keep a connection's prepared statements.
        prepare_threshold = int(os.environ.get("COMPTOIR_DB_PREPARE_THRESHOLD", "5"))
        if prepare_threshold > 0:
            DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
            DATABASES["default"]["OPTIONS"]["prepare_threshold"] = prepare_threshold
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2,
            "max_size": int(os.environ.get("COMPTOIR_DB_POOL_SIZE", "10")),
            # How long a request waits for a free connection (or for an unreachable server
            # before /healthz answers 503).
            "timeout": 5,
        }
else:
    DATABASES = {
        "default": {
            # Django's SQLite backend with a pool of open connections (core/sqlite_pool).
            "ENGINE": "comptoir.core.sqlite_pool",
            "NAME": str(DATA_DIR / "comptoir.sqlite3"),
            # Tests run on an in-memory database, as on Django's own engine (pytest-django
            # only recognises that one by its name).
            "TEST": {"NAME": ":memory:"},
            "OPTIONS": {
                # WAL lets the web and the worker read while one writes; IMMEDIATE avoids
                # "database is locked" upgrades from read to write inside a transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000; "
                    "PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824; "
                    "PRAGMA temp_store=MEMORY;"
                ),
            },
        }
    }
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "comptoir",
        "url": REDIS_URL,
        "immediate": False,
    }
else:
    # A file cache is shared by every process of one machine (web, worker), which the
    # login rate limit needs; local memory would count per process.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "comptoir",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": False,
    }

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox"
LOGOUT_REDIRECT_URL = "login"

# Login rate limit: attempts allowed per window, counted per IP and per address.
LOGIN_RATE_LIMIT = int(os.environ.get("COMPTOIR_LOGIN_RATE_LIMIT", "10"))
LOGIN_RATE_WINDOW_S = 300

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# WhiteNoise serves from the finders (nothing to collect) but warns when this is missing.
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
# Every page reads the session: from the cache (Redis, or the shared file cache), the
# database only on a miss. Writes go to both, so nothing is lost when the cache is.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INBOX_PAGE_SIZE = 25

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("COMPTOIR_LOG_LEVEL", "WARNING")},
}

# How often an open inbox asks whether its page changed (htmx polling, decision 0005).
INBOX_POLL_SECONDS = int(os.environ.get("COMPTOIR_INBOX_POLL_SECONDS", "10"))

# Where contacts reach this deployment (links in mail: exchange history, portal).
COMPTOIR_PUBLIC_URL = os.environ.get("COMPTOIR_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# Email channel.
COMPTOIR_MAIL_DOMAIN = os.environ.get("COMPTOIR_MAIL_DOMAIN", "comptoir.localhost")
# Hard limit: transports refuse bigger mail (SMTP 552, HTTP 413).
MAIL_MAX_BYTES = int(os.environ.get("COMPTOIR_MAIL_MAX_BYTES", str(25 * 1024 * 1024)))

# Outgoing mail (the outbox delivers through Django's email backend).
# With no relay configured (the demo, a laptop), mail is written as .eml files under the
# data folder instead of failing against a missing localhost:25: every send is visible.
EMAIL_BACKEND = os.environ.get(
    "COMPTOIR_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("COMPTOIR_SMTP_HOST")
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = DATA_DIR / "sent-mail"
EMAIL_HOST = os.environ.get("COMPTOIR_SMTP_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("COMPTOIR_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("COMPTOIR_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("COMPTOIR_SMTP_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("COMPTOIR_SMTP_TLS", "0") == "1"
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("COMPTOIR_FROM_EMAIL", f"support@{COMPTOIR_MAIL_DOMAIN}")
# At most one automatic mail per correspondent within this many seconds (RFC 3834).
COMPTOIR_AUTO_REPLY_WINDOW_S = int(os.environ.get("COMPTOIR_AUTO_REPLY_WINDOW_S", "3600"))
