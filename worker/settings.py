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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.errors import ConfigError

__all__ = ["DEFAULT_WEBWORK_BASE_URL", "Settings", "load_settings"]

#: WebWork's documented production base URL (REST API V2).
DEFAULT_WEBWORK_BASE_URL = "https://api.webwork-tracker.com/api/v2"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


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
    webwork_rpm: int = Field(60, ge=1, le=100_000, validation_alias=_env("WEBWORK_RPM"))
    """WEBWORK_RPM: requests per minute per token, shared by every worker (WebWork: 60)."""
    webwork_timeout_s: float = Field(10.0, gt=0, validation_alias=_env("WEBWORK_TIMEOUT_S"))
    webwork_conflict_statuses: list[int] = Field(
        [400, 409, 422], validation_alias=_env("WEBWORK_CONFLICT_STATUSES")
    )
    webwork_already_tracking_patterns: list[str] = Field(
        [
            "already tracking",
            "already has an active tracker",
            "active tracker already",
            "stop the current tracker",
        ],
        validation_alias=_env("WEBWORK_ALREADY_TRACKING_PATTERNS"),
    )
    webwork_not_tracking_patterns: list[str] = Field(
        ["no active tracker", "not tracking", "no tracker is running", "no running tracker"],
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
    timezone: str = Field("UTC", validation_alias=_env("AUTOCLOCK_TIMEZONE"))
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
    """AUTOCLOCK_MAX_ATTEMPTS: API attempts per action on transient errors before it fails."""
    max_backoff_s: float = Field(300.0, gt=0, validation_alias=_env("AUTOCLOCK_MAX_BACKOFF_S"))
    dedupe_ttl_s: int = Field(7 * 86400, ge=60, validation_alias=_env("AUTOCLOCK_DEDUPE_TTL_S"))
    known_state_ttl_s: int = Field(900, ge=0, validation_alias=_env("AUTOCLOCK_KNOWN_STATE_TTL_S"))
    """AUTOCLOCK_KNOWN_STATE_TTL_S: trust a known tracker state this long; 0 always asks the API."""
    history_maxlen: int = Field(200_000, ge=100, validation_alias=_env("AUTOCLOCK_HISTORY_MAXLEN"))

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

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("webwork_token")
    @classmethod
    def _clean_token(cls, value: SecretStr | None) -> SecretStr | None:
        """Strip the newline a mounted secret file often ends with; refuse control characters
        (they would break the Authorization header, and the error would quote the token)."""
        if value is None:
            return None
        token = value.get_secret_value().strip()
        if not token or any(ord(c) < 32 or ord(c) == 127 for c in token):
            raise ValueError("the token is empty or contains control characters")
        return SecretStr(token)

    @field_validator("webwork_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def webhook_secrets(self, source: str) -> list[SecretStr]:
        """The secrets of webhook source ``source`` (several during a rotation).

        Read from ``AUTOCLOCK_WEBHOOK_SECRET_<SOURCE>``: the source name upper-cased, every
        character that is not a letter or digit turned into ``_``; comma-separated values.
        """
        value = os.environ.get(webhook_secret_env(source), "")
        return [SecretStr(part.strip()) for part in value.split(",") if part.strip()]


def webhook_secret_env(source: str) -> str:
    """The environment variable that holds the secret(s) of webhook source ``source``."""
    return "AUTOCLOCK_WEBHOOK_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", source).upper()


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one clear :class:`ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            env = _ENV_NAMES.get(field, field)
            lines.append(f"{env}: {err['msg']}")
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None


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
