"""The admin listener every long-running role serves: ``/healthz``, ``/readyz``, ``/metrics``.

It binds ``AUTOCLOCK_ADMIN_HOST:AUTOCLOCK_ADMIN_PORT`` (loopback by default), apart from the
public webhook listener, which serves only ``/hooks/…``. More routes (the console) are
mounted with ``extra_routes``; see :func:`create_admin_app`.
"""

from __future__ import annotations

from worker.admin.app import Check, Health, create_admin_app
from worker.admin.server import AdminServer

__all__ = ["AdminServer", "Check", "Health", "create_admin_app"]
