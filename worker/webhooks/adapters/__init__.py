"""One module per vendor; each exposes ``receive(delivery) -> Scan | Ignored | TrackerChange``.

An adapter verifies the delivery's signature on the raw body (constant-time compare, the
replay window where its scheme signs a timestamp), then parses the payload. It raises
:class:`~worker.webhooks.events.Reject` for anything it refuses.
"""

from __future__ import annotations

from collections.abc import Callable

from worker.webhooks.adapters import (
    genea,
    kisi,
    mapped,
    shared_secret,
    standard,
    unifi,
    verkada,
    webwork,
)
from worker.webhooks.events import Delivery, Parsed

__all__ = ["ADAPTERS", "Adapter"]

Adapter = Callable[[Delivery], Parsed]

#: vendor name (as in ``sources.yaml``) → adapter
ADAPTERS: dict[str, Adapter] = {
    "standard": standard.receive,
    "kisi": kisi.receive,
    "verkada": verkada.receive,
    "unifi": unifi.receive,
    "genea": genea.receive,
    "shared_secret": shared_secret.receive,
    "webwork": webwork.receive,
    "mapped": mapped.receive,
}
