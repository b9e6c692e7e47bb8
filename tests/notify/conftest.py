"""Fixtures for notifications: loopback receivers and the trigger-path pipeline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.receivers import JsonReceiver, SmtpReceiver
from tests.pipeline.conftest import pipeline_factory  # noqa: F401 - the trigger-path fixture


@pytest.fixture
def json_receiver() -> Iterator[JsonReceiver]:
    receiver = JsonReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver().start()
    yield receiver
    receiver.stop()
