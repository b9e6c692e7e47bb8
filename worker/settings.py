"""Settings from the environment (and an optional ``.env`` file), read by pydantic-settings.

WebWork settings use the ``WEBWORK_`` prefix, the Redis URL is ``REDIS_URL``, everything
else ``AUTOCLOCK_``. Webhook secrets are not fields: source ``kisi-hq`` reads
``AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ`` (comma-separated for rotation), see
:meth:`Settings.webhook_secrets`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from worker.errors import ConfigError
from worker.models import ZoneName

__all__ = [
    "ALREADY_TRACKING_PATTERNS",
    "CONFLICT_STATUSES",
    "DEFAULT_WEBWORK_BASE_URL",
    "MIN_SECRET_BYTES",
    "NOT_TRACKING_PATTERNS",
    "Settings",
    "load_settings",
    "notify_channel_env",
    "secret_problem",
    "webhook_secret_env",
]

#: WebWork's documented production base URL (REST API V2).
DEFAULT_WEBWORK_BASE_URL = "https://api.webwork-tracker.com/api/v2"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


#: The defaults of WEBWORK_CONFLICT_STATUSES and the two pattern lists: the rejections that
#: may mean "already tracking" / "no active tracker" (see worker.webwork.classify, the one
#: place that reads them).
CONFLICT_STATUSES = (400, 409, 422)
ALREADY_TRACKING_PATTERNS = (
    "already tracking",
    "already has an active tracker",
    "active tracker already",
    "stop the current tracker",
)
NOT_TRACKING_PATTERNS = (
    "no active tracker",
    "not tracking",
    "no tracker is running",
    "no running tracker",
)


class Settings(BaseSettings):
    """Every knob autoclock reads. Field docs name the environment variable."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # WebWork
    webwork_token: SecretStr | None = Field(None, validation_alias=_env("WEBWORK_TOKEN"))
    """WEBWORK_TOKEN: personal access token of an owner or executive manager (secret)."""
    webwork_workspace_id: int | None = Field(None, validation_alias=_env("WEBWORK_WORKSPACE_ID"))
    webwork_base_url: str = Field(
        DEFAULT_WEBWORK_BASE_URL, validation_alias=_env("WEBWORK_BASE_URL")
    )
    webwork_rpm: int = Field(60, ge=1, le=1_000_000, validation_alias=_env("WEBWORK_RPM"))
    """WEBWORK_RPM: requests per minute per token, shared by every worker (WebWork: 60)."""
    webwork_burst: int = Field(1, ge=1, le=100_000, validation_alias=_env("WEBWORK_BURST"))
    """WEBWORK_BURST: calls that may go at once within the per-minute budget (1: evenly spaced)."""
    webwork_timeout_s: float = Field(10.0, gt=0, validation_alias=_env("WEBWORK_TIMEOUT_S"))
    webwork_conflict_statuses: list[int] = Field(
        list(CONFLICT_STATUSES), validation_alias=_env("WEBWORK_CONFLICT_STATUSES")
    )
    webwork_already_tracking_patterns: list[str] = Field(
        list(ALREADY_TRACKING_PATTERNS),
        validation_alias=_env("WEBWORK_ALREADY_TRACKING_PATTERNS"),
    )
    webwork_not_tracking_patterns: list[str] = Field(
        list(NOT_TRACKING_PATTERNS),
        validation_alias=_env("WEBWORK_NOT_TRACKING_PATTERNS"),
    )
    webwork_confirm_with_current_data: bool = Field(
        True, validation_alias=_env("WEBWORK_CONFIRM_WITH_CURRENT_DATA")
    )

    # Redis
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL"))
    """REDIS_URL: unset means an embedded Redis under the data directory."""
    namespace: str = Field(
        "autoclock", pattern=r"^[A-Za-z0-9_.-]+$", validation_alias=_env("AUTOCLOCK_NAMESPACE")
    )
    """AUTOCLOCK_NAMESPACE: prefix of every Redis key, so several sites can share one Redis."""

    # Files and time
    data_dir: Path = Field(Path(".autoclock"), validation_alias=_env("AUTOCLOCK_DATA_DIR"))
    rules_dir: Path = Field(Path("rules"), validation_alias=_env("AUTOCLOCK_RULES_DIR"))
    timezone: ZoneName = Field("UTC", validation_alias=_env("AUTOCLOCK_TIMEZONE"))
    """AUTOCLOCK_TIMEZONE: default IANA zone for people who do not name one."""

    # Logging
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", validation_alias=_env("AUTOCLOCK_LOG_FORMAT")
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", validation_alias=_env("AUTOCLOCK_LOG_LEVEL")
    )

    # Worker and delivery guarantees
    worker_threads: int = Field(8, ge=1, le=256, validation_alias=_env("AUTOCLOCK_WORKER_THREADS"))
    max_attempts: int = Field(6, ge=1, le=50, validation_alias=_env("AUTOCLOCK_MAX_ATTEMPTS"))
    """AUTOCLOCK_MAX_ATTEMPTS: API calls per action without a deadline (a replay with
    --no-deadline) before a transient error fails it; actions with a deadline retry until it."""
    max_backoff_s: float = Field(300.0, gt=0, validation_alias=_env("AUTOCLOCK_MAX_BACKOFF_S"))
    dedupe_ttl_s: int = Field(7 * 86400, ge=60, validation_alias=_env("AUTOCLOCK_DEDUPE_TTL_S"))
    known_state_ttl_s: int = Field(900, ge=0, validation_alias=_env("AUTOCLOCK_KNOWN_STATE_TTL_S"))
    """AUTOCLOCK_KNOWN_STATE_TTL_S: trust a known tracker state this long; 0 always asks the API."""
    history_maxlen: int = Field(200_000, ge=100, validation_alias=_env("AUTOCLOCK_HISTORY_MAXLEN"))

    # Time
    clock_skew_s: int = Field(120, ge=0, le=3600, validation_alias=_env("AUTOCLOCK_CLOCK_SKEW_S"))
    """AUTOCLOCK_CLOCK_SKEW_S: how far in the future a trigger's time may be (a sender's clock
    running fast); a later time is clamped to its receipt time and marked ``clamped_from``."""

    # Webhooks
    webhook_host: str = Field("127.0.0.1", validation_alias=_env("AUTOCLOCK_WEBHOOK_HOST"))
    webhook_port: int = Field(8080, ge=0, le=65535, validation_alias=_env("AUTOCLOCK_WEBHOOK_PORT"))
    webhook_max_body: int = Field(
        256 * 1024, ge=1024, validation_alias=_env("AUTOCLOCK_WEBHOOK_MAX_BODY")
    )
    webhook_tolerance_s: int = Field(
        300, ge=1, validation_alias=_env("AUTOCLOCK_WEBHOOK_TOLERANCE_S")
    )

    # Admin listener (every long-running role): /healthz, /readyz, /metrics
    admin_host: str = Field("127.0.0.1", validation_alias=_env("AUTOCLOCK_ADMIN_HOST"))
    """AUTOCLOCK_ADMIN_HOST: loopback by default; Kubernetes needs 0.0.0.0 for its probes."""
    admin_port: int = Field(0, ge=0, le=65535, validation_alias=_env("AUTOCLOCK_ADMIN_PORT"))
    """AUTOCLOCK_ADMIN_PORT: 0 (default) picks a free port and logs it; the image sets 8081."""

    # Scheduler
    catchup_grace_s: int = Field(900, ge=0, validation_alias=_env("AUTOCLOCK_CATCHUP_GRACE_S"))
    """AUTOCLOCK_CATCHUP_GRACE_S: fires missed by less than this are enqueued late."""
    leader_ttl_s: float = Field(10.0, gt=0, validation_alias=_env("AUTOCLOCK_LEADER_TTL_S"))
    scheduler_tick_s: float = Field(1.0, gt=0, validation_alias=_env("AUTOCLOCK_SCHEDULER_TICK_S"))

    # Console
    console_token: SecretStr | None = Field(None, validation_alias=_env("AUTOCLOCK_CONSOLE_TOKEN"))
    console_user: str | None = Field(None, validation_alias=_env("AUTOCLOCK_CONSOLE_USER"))
    console_password: SecretStr | None = Field(
        None, validation_alias=_env("AUTOCLOCK_CONSOLE_PASSWORD")
    )
    console_actions: bool = Field(False, validation_alias=_env("AUTOCLOCK_CONSOLE_ACTIONS"))
    """AUTOCLOCK_CONSOLE_ACTIONS: allow the console's operator actions (dead-letter replay/drop)."""

    # Notifications (channel URLs are secrets: AUTOCLOCK_NOTIFY_CHANNEL_<NAME>, see notify_channel)
    notify_max_attempts: int = Field(
        5, ge=1, le=50, validation_alias=_env("AUTOCLOCK_NOTIFY_MAX_ATTEMPTS")
    )
    """AUTOCLOCK_NOTIFY_MAX_ATTEMPTS: delivery attempts per notification before it is ``failed``."""
    notify_retry_s: float = Field(
        30.0, gt=0, le=3600, validation_alias=_env("AUTOCLOCK_NOTIFY_RETRY_S")
    )
    """AUTOCLOCK_NOTIFY_RETRY_S: wait before the first retry (doubling, at most 10 minutes)."""
    notify_threads: int = Field(2, ge=1, le=64, validation_alias=_env("AUTOCLOCK_NOTIFY_THREADS"))

    @field_validator("webwork_token")
    @classmethod
    def _clean_token(cls, value: SecretStr | None) -> SecretStr | None:
        """Strip the newline a mounted secret file often ends with; refuse control characters
        (they would break the Authorization header, and the error would quote the token)."""
        if value is None:
            return None
        token = value.get_secret_value().strip()
        if not token:
            return None  # ``WEBWORK_TOKEN=`` (an example file's empty value) means: not set
        if any(ord(c) < 32 or ord(c) == 127 for c in token):
            raise ValueError("the token contains control characters")
        if _PLACEHOLDER.search(token):
            raise ValueError("looks like a placeholder from an example file; set the real token")
        return SecretStr(token)

    @field_validator("webwork_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """http or https with a host, e.g. https://api.webwork-tracker.com/api/v2."""
        value = value.strip().rstrip("/")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValueError(f"not a URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "must be an http:// or https:// URL with a host, e.g. "
                f"{DEFAULT_WEBWORK_BASE_URL} (got {_no_credentials(value)!r})"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        """redis://, rediss:// (TLS) or unix://, parsed as redis-py will (port, db)."""
        if value is None or not value.strip():
            return None
        value = value.strip()
        from redis.connection import parse_url

        shown = _no_credentials(value)
        try:
            parse_url(value)  # type: ignore[no-untyped-call]
        except ValueError as exc:
            reason = str(exc).replace(value, shown)
            if "scheme" in reason:
                reason = f"must start with redis://, rediss:// or unix:// (got {shown!r})"
            raise ValueError(reason) from None
        parts = urlsplit(value)
        if parts.scheme in ("redis", "rediss") and not parts.hostname:
            raise ValueError(f"names no host (got {shown!r})")
        return value

    _dotenv: dict[str, str] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: object) -> None:
        env_file = self.model_config.get("env_file")
        if isinstance(env_file, str | Path) and Path(env_file).is_file():
            try:
                values = dotenv_values(env_file, encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                values = {}
            self._dotenv = {k: v for k, v in values.items() if v is not None}

    def webhook_secrets(self, source: str) -> list[SecretStr]:
        """The secrets of webhook source ``source`` (several during a rotation).

        Read from ``AUTOCLOCK_WEBHOOK_SECRET_<SOURCE>``: the source name upper-cased, every
        character that is not a letter or digit turned into ``_``; comma-separated values.
        The environment wins over ``.env``, as for every other setting.
        """
        name = webhook_secret_env(source)
        value = os.environ.get(name)
        if value is None:
            value = self._dotenv.get(name, "")
        return [SecretStr(part.strip()) for part in value.split(",") if part.strip()]

    def notify_channel(self, name: str) -> SecretStr | None:
        """The Apprise URL of notification channel ``name`` (a secret), or None.

        Read from ``AUTOCLOCK_NOTIFY_CHANNEL_<NAME>`` (named like webhook secrets); the
        environment wins over ``.env``.
        """
        env = notify_channel_env(name)
        value = os.environ.get(env)
        if value is None:
            value = self._dotenv.get(env, "")
        return SecretStr(value.strip()) if value.strip() else None


#: Shortest webhook secret accepted (bytes).
MIN_SECRET_BYTES = 16

_PLACEHOLDER = re.compile(
    r"replace|change.?me|changeit|placeholder|example|your.?secret|^<.*>$|^x+$|^(secret|todo|tbd|"
    r"dummy|test|password|none|null)$",
    re.IGNORECASE,
)


def secret_problem(value: str) -> str | None:
    """Why ``value`` cannot be a real secret (a placeholder, or too short), or None.

    The reason never contains the value.
    """
    if _PLACEHOLDER.search(value.strip()):
        return "looks like a placeholder from an example file; set the real secret"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes; use the secret the vendor generated"
    return None


def _no_credentials(url: str) -> str:
    """``url`` with any user and password replaced by ``***`` (safe to print)."""
    return re.sub(r"(?<=//)[^/@]*@", "***@", url, count=1)


def webhook_secret_env(source: str) -> str:
    """The environment variable that holds the secret(s) of webhook source ``source``."""
    return "AUTOCLOCK_WEBHOOK_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", source).upper()


def notify_channel_env(name: str) -> str:
    """The environment variable that holds notification channel ``name``'s Apprise URL."""
    return "AUTOCLOCK_NOTIFY_CHANNEL_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning every problem into one one-line :class:`ConfigError` that
    names the variable(s)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            env = _ENV_NAMES.get(field, field)
            message = str(err["msg"]).removeprefix("Value error, ")
            parts.append(f"{env}: {message}")
        raise ConfigError("invalid settings: " + "; ".join(parts), parts) from None
    except SettingsError as exc:
        # pydantic-settings could not even parse a value (a list setting that is not JSON)
        found = re.search(r'field "([^"]+)"', str(exc))
        field = found.group(1) if found else "?"
        problem = (
            f'{_ENV_NAMES.get(field, field)}: not a JSON list (write it like ["a", "b"] or '
            "[400, 409])"
        )
        raise ConfigError(f"invalid settings: {problem}", [problem]) from None


def _env_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            first = alias.choices[0]
            names[name] = first if isinstance(first, str) else name
            names[names[name]] = names[name]
    return names


_ENV_NAMES = _env_names()
