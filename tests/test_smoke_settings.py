from __future__ import annotations

import pytest

from worker.errors import ConfigError
from worker.settings import load_settings, webhook_secret_env


def test_invalid_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad value is refused with the environment variable's name and the reason."""
    monkeypatch.setenv("WEBWORK_RPM", "lots")
    monkeypatch.setenv("AUTOCLOCK_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError) as info:
        load_settings()
    text = str(info.value)
    assert "WEBWORK_RPM" in text
    assert "AUTOCLOCK_TIMEZONE" in text
    assert "Mars/Olympus" in text


def test_webhook_secret_env_name() -> None:
    assert webhook_secret_env("kisi-hq") == "AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ"


def test_webhook_secrets_support_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOCLOCK_WEBHOOK_SECRET_DOOR", "old-secret, new-secret")
    secrets = load_settings().webhook_secrets("door")
    assert [s.get_secret_value() for s in secrets] == ["old-secret", "new-secret"]
    assert "old-secret" not in repr(secrets)
