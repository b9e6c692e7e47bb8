"""Badge and door webhooks: a signed, deduplicating receiver (``POST /hooks/<source>``).

- :func:`create_app` — the Starlette app factory (``autoclock webhooks``, ``autoclock run``);
- :mod:`.adapters` — one module per vendor: signature, replay window, payload → :class:`Scan`;
- :mod:`.direction` — door direction, first scan of the day, debounce (state in Redis);
- :mod:`.dedupe` — claim / commit / release of vendor event ids;
- :mod:`.ingress` — the capped ingress log of every decision.
"""

from __future__ import annotations

from worker.webhooks.app import create_app
from worker.webhooks.ingress import IngressEntry, IngressLog
from worker.webhooks.receiver import Receiver

__all__ = ["IngressEntry", "IngressLog", "Receiver", "create_app"]
