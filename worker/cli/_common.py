"""Helpers shared by the CLI modules: settings and logging set up once, errors mapped to exit codes."""

from __future__ import annotations

import click

from worker.errors import ConfigError
from worker.logs import configure_logging, register_secrets
from worker.settings import Settings, load_settings

__all__ = ["settings_or_exit"]


def settings_or_exit(**overrides: object) -> Settings:
    """Load settings and configure logging; on invalid settings print why and exit 3."""
    from worker.cli import EXIT_CONFIG

    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        click.echo(f"autoclock: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    configure_logging(settings.log_format, settings.log_level)
    token = settings.webwork_token.get_secret_value() if settings.webwork_token else None
    register_secrets([token])
    return settings
