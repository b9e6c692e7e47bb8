"""Notifications: tell people what autoclock did (layer 5, a room of its own).

* :mod:`~worker.notify.policy` — pure: which recipients an outcome notifies;
* :mod:`~worker.notify.messages` — the message texts (Jinja2 templates);
* :mod:`~worker.notify.evidence` — the last badge before an outcome, from the outcome log;
* :mod:`~worker.notify.channels` — the one module that imports Apprise;
* :mod:`~worker.notify.log` — the notifications' own outcomes (``autoclock history
  --notifications``) and the dedupe keys;
* :mod:`~worker.notify.consumer` — reads the outcome stream, enqueues one Dramatiq message per
  notification;
* :mod:`~worker.notify.actor` — delivers one notification, retried with a bound;
* :mod:`~worker.notify.runtime` — the consumer thread and the notifications' own Dramatiq
  worker in a role's process.

The pipeline never imports this package: a notification that fails cannot change a clock
action's outcome, and a channel that is down cannot delay one.
"""
