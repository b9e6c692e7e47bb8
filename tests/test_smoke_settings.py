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


def test_webhook_secrets_come_from_dotenv_and_the_environment_wins(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AUTOCLOCK_WEBHOOK_SECRET_* in .env are read like every other setting."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ", raising=False)
    monkeypatch.delenv("AUTOCLOCK_WEBHOOK_SECRET_DOOR", raising=False)
    (tmp_path / ".env").write_text(
        "AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ=from-dotenv-secret-1\n"
        "AUTOCLOCK_WEBHOOK_SECRET_DOOR=dotenv-door-secret-2\n"
    )
    monkeypatch.setenv("AUTOCLOCK_WEBHOOK_SECRET_DOOR", "environment-door-secret")
    settings = load_settings()
    assert [s.get_secret_value() for s in settings.webhook_secrets("kisi-hq")] == [
        "from-dotenv-secret-1"
    ]
    assert [s.get_secret_value() for s in settings.webhook_secrets("door")] == [
        "environment-door-secret"
    ]
