"""Configuration: development runs on embedded defaults; production reads the environment."""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))
DEFAULT_SECRET_KEY = "dev-insecure-change-me"


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def database_url(default: str) -> str:
    """DATABASE_URL, with the psycopg 3 driver for PostgreSQL URLs."""
    url = os.environ.get("DATABASE_URL", default)
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def vars_of(cls: type) -> dict:
    """A configuration class's settings (upper-case names, inherited ones included)."""
    return {name: getattr(cls, name) for name in dir(cls) if name.isupper()}


def settings_problems(settings) -> list[str]:
    """Settings that every environment must get right: the default language and the timezone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    problems = []
    languages = settings.get("LANGUAGES", ())
    if settings.get("DEFAULT_LANGUAGE") not in languages:
        problems.append(f"DEFAULT_LANGUAGE must be one of {', '.join(languages)}.")
    try:
        ZoneInfo(str(settings.get("TIMEZONE")))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append("TIMEZONE is not a known timezone name (e.g. Europe/Copenhagen).")
    for part in str(settings.get("JWT_SIGNING_KEYS") or "").split(","):
        kid, sep, secret = part.strip().partition(":")
        if part.strip() and (not sep or not kid or len(secret) < 32):
            problems.append(
                "JWT_SIGNING_KEYS must look like 'kid:secret,kid2:secret2' with secrets of"
                " 32 characters or more."
            )
            break
    return problems


class Config:
    """Settings shared by every environment; each reads the environment with an embedded default."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = database_url(f"sqlite:///{INSTANCE_DIR / 'felag.db'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Unset, it follows the host and port `flask run` serves on (FLASK_RUN_HOST, FLASK_RUN_PORT,
    # which `make run` sets from HOST and PORT): links in e-mails and ticket QR codes then point
    # at the running development server. Production sets it.
    BASE_URL = os.environ.get(
        "BASE_URL",
        "http://{}:{}".format(
            os.environ.get("FLASK_RUN_HOST", "127.0.0.1"), os.environ.get("FLASK_RUN_PORT", "5000")
        ),
    ).rstrip("/")

    # The organisation: its name, the country its members live in (default country of addresses
    # and national ID numbers), its language and its timezone. One group, set together.
    ORGANISATION_NAME = os.environ.get("ORGANISATION_NAME", "Félag")
    DEFAULT_COUNTRY = (
        os.environ.get("DEFAULT_COUNTRY") or os.environ.get("MEMBERSHIP_DEFAULT_COUNTRY") or "DK"
    ).upper()
    DEFAULT_LANGUAGE = os.environ.get("DEFAULT_LANGUAGE", "da").strip().lower()
    TIMEZONE = os.environ.get("TIMEZONE", "Europe/Copenhagen")
    TRUSTED_HOSTS = env_list("TRUSTED_HOSTS") or None
    PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))

    # Encryption of personal identifiers and secrets in the database (see app/core/crypto.py)
    FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", "")
    FIELD_HASH_KEY = os.environ.get("FIELD_HASH_KEY", "")

    # Membership (app/members): approve applications at once; require a national ID when applying.
    # Applications start with DEFAULT_COUNTRY's national ID format and address.
    MEMBERSHIP_AUTO_APPROVE = env_bool("MEMBERSHIP_AUTO_APPROVE", False)
    MEMBERSHIP_NATIONAL_ID_REQUIRED = env_bool("MEMBERSHIP_NATIONAL_ID_REQUIRED", False)
    MEMBERSHIP_DEFAULT_COUNTRY = DEFAULT_COUNTRY  # the older name of DEFAULT_COUNTRY

    # Languages: DEFAULT_LANGUAGE (above) is the fallback locale and the language of users
    # created without one (command line, imports).
    LANGUAGES = ("da", "en", "is")
    BABEL_DEFAULT_LOCALE = DEFAULT_LANGUAGE
    BABEL_DEFAULT_TIMEZONE = "UTC"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")

    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
    # Sign-in sessions are rows (app/auth/sessions.py): the cookie holds only a random key.
    # Idle timeout, absolute limit, and the "keep me logged in" key's lifetime.
    SESSION_IDLE_MINUTES = int(
        os.environ.get("SESSION_IDLE_MINUTES", os.environ.get("IDLE_TIMEOUT_MINUTES", "60"))
    )
    SESSION_ABSOLUTE_HOURS = int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12"))
    REMEMBER_DAYS = int(os.environ.get("REMEMBER_DAYS", "30"))
    REMEMBER_KEY_COOKIE = "felag_remember"
    # argon2id's cost (app/auth/passwords.py): passes, memory in KiB, lanes. The default is
    # RFC 9106's second recommendation; production refuses less than OWASP's minimum (2 passes
    # over 19 MiB). Stored hashes made with other costs are made again at the next sign-in.
    PASSWORD_HASH_TIME_COST = int(os.environ.get("PASSWORD_HASH_TIME_COST", "3"))
    PASSWORD_HASH_MEMORY_KIB = int(os.environ.get("PASSWORD_HASH_MEMORY_KIB", "65536"))
    PASSWORD_HASH_PARALLELISM = int(os.environ.get("PASSWORD_HASH_PARALLELISM", "4"))
    # Sensitive actions ask for the password or a second factor again after this long.
    REAUTH_MINUTES = int(os.environ.get("REAUTH_MINUTES", "10"))
    # Staff roles need a second factor (on in production; the development demo leaves it off).
    REQUIRE_2FA_FOR_STAFF = env_bool("REQUIRE_2FA_FOR_STAFF", False)
    # The cookie lives as long as the idle timeout and is sent again when the session row's
    # last-seen time moves (at most once a minute: app/auth/sessions.py), not re-signed and sent
    # with every page.
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=SESSION_IDLE_MINUTES)
    SESSION_REFRESH_EACH_REQUEST = False
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Jobs (app/core/jobs.py): a row in `jobs` per piece of deferred work, handed to RQ on
    # REDIS_URL after the commit and by the relay in `flask jobs worker`. Without REDIS_URL jobs
    # run in-process right after the commit (development; production needs JOBS_INLINE=1 for it).
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # How long a request waits on Redis (to connect, then for an answer) before it goes on
    # without it; a `socket_timeout=` or `socket_connect_timeout=` in REDIS_URL wins.
    REDIS_TIMEOUT_SECONDS = float(os.environ.get("REDIS_TIMEOUT_SECONDS", "2"))
    RQ_QUEUES = ["mail", "tickets", "default"]
    JOBS_INLINE = env_bool("JOBS_INLINE", False)  # forced on when REDIS_URL is empty
    JOBS_MAX_ATTEMPTS = int(os.environ.get("JOBS_MAX_ATTEMPTS", "10"))
    JOBS_BACKOFF_SECONDS = float(os.environ.get("JOBS_BACKOFF_SECONDS", "10"))
    JOBS_BACKOFF_MAX_SECONDS = float(os.environ.get("JOBS_BACKOFF_MAX_SECONDS", "3600"))
    # A row handed to RQ is handed again after this long if nobody ran it (Redis lost it).
    JOBS_LEASE_SECONDS = float(os.environ.get("JOBS_LEASE_SECONDS", "120"))
    # A running row whose worker died is run again after this long; longer than any job's timeout.
    JOBS_STALE_SECONDS = float(os.environ.get("JOBS_STALE_SECONDS", "600"))
    JOBS_TIMEOUT_SECONDS = int(os.environ.get("JOBS_TIMEOUT_SECONDS", "300"))
    # Rows committed together (or due together at the relay) go to RQ as one RQ job of at most
    # this many, each row with its own claim, context and timeout (app/core/jobs.py).
    JOBS_BATCH_SIZE = int(os.environ.get("JOBS_BATCH_SIZE", "10"))
    JOBS_RELAY_INTERVAL = float(os.environ.get("JOBS_RELAY_INTERVAL", "2"))
    # Without Redis (development) the web process relays after a request at most this often.
    JOBS_INLINE_RELAY_SECONDS = float(os.environ.get("JOBS_INLINE_RELAY_SECONDS", "30"))
    # /health says "degraded" when the oldest pending job is older than this.
    JOBS_HEALTH_MAX_AGE = float(os.environ.get("JOBS_HEALTH_MAX_AGE", "900"))

    # Rate limits
    RATELIMIT_STRATEGY = "moving-window"
    LOGIN_LOCKOUT = "5 per 15 minutes"
    AUTH_POST_LIMIT = os.environ.get("AUTH_POST_LIMIT", "30 per minute")
    # Scans per API token (or per door user): 20 a second sustained covers several devices on
    # one token and an offline backlog syncing at once; a runaway client gets 429 + Retry-After.
    CHECKIN_RATE_LIMIT = os.environ.get("CHECKIN_RATE_LIMIT", "1200 per minute")
    # Every other API request, per token (or per address without one).
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
    # How long a worker trusts a token it has read (app/api/services.token_user); 0: never.
    API_TOKEN_CACHE_SECONDS = float(os.environ.get("API_TOKEN_CACHE_SECONDS", "10"))
    # How long a process serves a visitor's public page again without rendering it
    # (app/core/page_cache.py); 0: never.
    PUBLIC_PAGE_CACHE_SECONDS = float(os.environ.get("PUBLIC_PAGE_CACHE_SECONDS", "10"))
    # App tokens (app/api/app_tokens.py): JWT access tokens signed with JWT_SIGNING_KEYS
    # ("kid:secret,kid2:secret2": the first signs, all verify, so a key is rotated by putting a
    # new one first and dropping the old one after APP_ACCESS_TOKEN_SECONDS). Unset: one key
    # derived from SECRET_KEY under its own label. Refresh tokens rotate on every use.
    JWT_SIGNING_KEYS = os.environ.get("JWT_SIGNING_KEYS", "")
    APP_ACCESS_TOKEN_SECONDS = int(os.environ.get("APP_ACCESS_TOKEN_SECONDS", "900"))
    APP_REFRESH_TOKEN_DAYS = int(os.environ.get("APP_REFRESH_TOKEN_DAYS", "30"))
    # Sign-in, refresh and revoke requests per client address.
    APP_TOKEN_RATE_LIMIT = os.environ.get("APP_TOKEN_RATE_LIMIT", "60 per minute")
    # Webhooks (app/webhooks): https only and never to private, loopback, link-local, multicast
    # or reserved addresses; WEBHOOK_ALLOW_PRIVATE=1 lifts both (development and tests).
    WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
    WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))

    # Storage: local disk unless S3_BUCKET is set
    STORAGE_DIR = os.environ.get("STORAGE_DIR", str(INSTANCE_DIR / "storage"))
    S3_BUCKET = os.environ.get("S3_BUCKET", "")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
    S3_REGION = os.environ.get("S3_REGION", "us-east-1")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID") or None
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY") or None
    S3_PUBLIC_URL = os.environ.get("S3_PUBLIC_URL", "")

    # Mail: SMTP when MAIL_SERVER is set, else .eml files in instance/outbox/
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Félag <noreply@felag.local>")
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))

    # Single sign-on (app/auth/sso.py): OAUTH_PROVIDERS lists the providers to offer (github,
    # google, discord, oidc); each needs OAUTH_<NAME>_CLIENT_ID and OAUTH_<NAME>_CLIENT_SECRET,
    # and the generic OpenID Connect issuer its discovery document's address (and a button name).
    OAUTH_PROVIDERS = [name.lower() for name in env_list("OAUTH_PROVIDERS")]
    OAUTH_GITHUB_CLIENT_ID = os.environ.get("OAUTH_GITHUB_CLIENT_ID", "")
    OAUTH_GITHUB_CLIENT_SECRET = os.environ.get("OAUTH_GITHUB_CLIENT_SECRET", "")
    OAUTH_GOOGLE_CLIENT_ID = os.environ.get("OAUTH_GOOGLE_CLIENT_ID", "")
    OAUTH_GOOGLE_CLIENT_SECRET = os.environ.get("OAUTH_GOOGLE_CLIENT_SECRET", "")
    OAUTH_DISCORD_CLIENT_ID = os.environ.get("OAUTH_DISCORD_CLIENT_ID", "")
    OAUTH_DISCORD_CLIENT_SECRET = os.environ.get("OAUTH_DISCORD_CLIENT_SECRET", "")
    OAUTH_OIDC_CLIENT_ID = os.environ.get("OAUTH_OIDC_CLIENT_ID", "")
    OAUTH_OIDC_CLIENT_SECRET = os.environ.get("OAUTH_OIDC_CLIENT_SECRET", "")
    OAUTH_OIDC_METADATA_URL = os.environ.get("OAUTH_OIDC_METADATA_URL", "")
    OAUTH_OIDC_NAME = os.environ.get("OAUTH_OIDC_NAME", "")

    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BOOTSWATCH_THEME = None

    @classmethod
    def check(cls) -> list[str]:
        """Problems that must stop the application from starting."""
        return settings_problems(vars_of(cls))


class DevelopmentConfig(Config):
    """Embedded defaults: SQLite, in-process jobs, local files, e-mail to instance/outbox/."""

    DEBUG = env_bool("FLASK_DEBUG", False)


class TestingConfig(Config):
    """Used by the test suite; the fixtures override the service URLs."""

    TESTING = True
    SECRET_KEY = "testing-secret-key"
    # The tests' members carry Icelandic national ID numbers (kennitala) without a country.
    DEFAULT_COUNTRY = MEMBERSHIP_DEFAULT_COUNTRY = "IS"
    WTF_CSRF_ENABLED = True
    RATELIMIT_ENABLED = True
    SERVER_NAME = None
    PUBLIC_PAGE_CACHE_SECONDS = 0  # tests/test_core_page_cache.py turns it on
    # The cheapest argon2id: the tests make and check thousands of passwords, each taking most of
    # a second at the production cost on a small machine (still argon2id, still salted).
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_KIB = 1024
    PASSWORD_HASH_PARALLELISM = 1


class ProductionConfig(Config):
    """Production: every service comes from the environment, cookies are secure."""

    DEBUG = False
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    # __Host- cookies are sent only over HTTPS, to this host, for every path (no Domain).
    SESSION_COOKIE_NAME = "__Host-session" if SESSION_COOKIE_SECURE else "session"
    REMEMBER_KEY_COOKIE = "__Host-remember" if SESSION_COOKIE_SECURE else "felag_remember"
    REQUIRE_2FA_FOR_STAFF = env_bool("REQUIRE_2FA_FOR_STAFF", True)
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def check(cls) -> list[str]:
        problems = super().check()
        if not os.environ.get("SECRET_KEY") or cls.SECRET_KEY == DEFAULT_SECRET_KEY:
            problems.append("SECRET_KEY is not set or is the default; set a long random value.")
        elif len(cls.SECRET_KEY) < 32:
            problems.append("SECRET_KEY is shorter than 32 characters.")
        if env_bool("FLASK_DEBUG") or cls.DEBUG:
            problems.append("DEBUG is on; production must run with FLASK_DEBUG unset.")
        if not os.environ.get("FIELD_ENCRYPTION_KEY") or not os.environ.get("FIELD_HASH_KEY"):
            problems.append(
                "FIELD_ENCRYPTION_KEY and FIELD_HASH_KEY must be set (national IDs are encrypted)."
            )
        if not os.environ.get("REDIS_URL") and not env_bool("JOBS_INLINE"):
            problems.append(
                "REDIS_URL is not set; set it (jobs run on RQ), or JOBS_INLINE=1 to run jobs"
                " in the web process on purpose."
            )
        if not env_list("TRUSTED_HOSTS"):
            problems.append("TRUSTED_HOSTS is empty; list the host names the site answers to.")
        if cls.PASSWORD_HASH_TIME_COST < 2 or cls.PASSWORD_HASH_MEMORY_KIB < 19456:
            problems.append(
                "PASSWORD_HASH_TIME_COST and PASSWORD_HASH_MEMORY_KIB are below the minimum for"
                " argon2id (2 passes over 19456 KiB)."
            )
        return problems


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The configuration class named by FELAG_ENV (development by default)."""
    return CONFIGS[os.environ.get("FELAG_ENV", "development")]
