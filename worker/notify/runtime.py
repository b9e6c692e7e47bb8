"""Notifications in a role's process: the outcome consumer thread and the notifications' own
Dramatiq worker (its own queue and threads: a slow channel never takes a pipeline thread)."""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from worker.errors import ConfigError
from worker.logs import register_secrets
from worker.notify import channels
from worker.notify.actor import NOTIFY_QUEUE, Deliverer, declare_notify_actor, notice_message
from worker.notify.consumer import OutcomeConsumer
from worker.notify.log import NotificationLog
from worker.notify.model import Notice
from worker.notify.policy import OPTIONAL_CHANNELS, channels_named
from worker.pipeline.broker import make_broker
from worker.pipeline.outcomes import OutcomeLog
from worker.rules.ruleset import Ruleset
from worker.settings import Settings, notify_channel_env
from worker.store import Keys

__all__ = ["Notifier", "build_notifier", "channel_problems"]


def channel_problems(settings: Settings, ruleset: Ruleset) -> list[str]:
    """Every channel the rules name that is not set or not a URL Apprise understands, as
    ``VARIABLE: problem`` (never the URL). Registers the URLs as secrets for the logs."""
    problems = []
    for name in sorted(channels_named(ruleset)):
        url = settings.notify_channel(name)
        env = notify_channel_env(name)
        if url is None:
            if name not in OPTIONAL_CHANNELS:
                problems.append(f"{env}: not set (channel {name!r} is named in the rules)")
            continue
        register_secrets([url.get_secret_value()])
        if not channels.check_url(url):
            problems.append(f"{env}: not a URL Apprise understands (channel {name!r})")
    return problems


@dataclass
class Notifier:
    broker: RedisBroker
    consumer: OutcomeConsumer
    log: NotificationLog
    worker: dramatiq.Worker | None = None
    thread: threading.Thread | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)

    @property
    def ruleset(self) -> Ruleset:
        return self.consumer.ruleset

    @ruleset.setter
    def ruleset(self, value: Ruleset) -> None:
        self.consumer.ruleset = value

    def start(self, threads: int) -> None:
        """Start the notifications' worker threads and the consumer thread."""
        self.consumer.ensure_group()
        self.worker = dramatiq.Worker(
            self.broker, queues={NOTIFY_QUEUE}, worker_threads=threads, worker_timeout=250
        )
        self.worker.start()
        self.thread = threading.Thread(
            target=self.consumer.run, args=(self.stop_event,), name="notify-consumer", daemon=True
        )
        self.thread.start()

    def problems(self) -> list[str]:
        """Why notifications are not alive (empty: alive)."""
        problems = []
        if self.thread is None or not self.thread.is_alive():
            problems.append("the notification consumer is not running")
        if self.worker is not None:
            threads = [*self.worker.consumers.values(), *self.worker.workers]
            if not all(t.is_alive() for t in threads):
                problems.append("a notification worker thread stopped")
        return problems

    def stop(self, timeout_ms: int = 10_000) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=timeout_ms / 1000)
        if self.worker is not None:
            self.worker.stop(timeout=timeout_ms)
            self.worker = None
        self.broker.close()


def build_notifier(settings: Settings, client: redis.Redis, ruleset: Ruleset) -> Notifier:
    """The notifier for this process; :class:`ConfigError` when a named channel cannot work."""
    problems = channel_problems(settings, ruleset)
    if problems:
        raise ConfigError("invalid notification channels: " + "; ".join(problems), problems)
    keys = Keys(settings.namespace)
    broker = make_broker(client, keys)
    broker.declare_queue(NOTIFY_QUEUE)
    notices = NotificationLog(client, keys, maxlen=settings.history_maxlen)
    declare_notify_actor(broker, Deliverer(settings, notices))
    outcomes = OutcomeLog(client, keys, maxlen=settings.history_maxlen)

    def enqueue(notice: Notice) -> None:
        broker.enqueue(notice_message(notice))

    consumer = OutcomeConsumer(
        settings,
        outcomes,
        notices,
        ruleset,
        enqueue,
        name=f"{socket.gethostname()}-{os.getpid()}-{id(broker):x}",
    )
    return Notifier(broker=broker, consumer=consumer, log=notices)
