"""The fleet side of the sync service, mounted on its app with one call: ``install_fleet``.

It adds the desks' status-report endpoint, IT's console under ``/console`` and ``/metrics``,
and the request-metrics middleware. ``FleetSettings`` are read from the environment (the same
in every worker process):

- ``BTS_SYNC_STALE_AFTER_S``: a desk silent longer than this is marked stale (default 900);
- ``BTS_SYNC_METRICS_ALLOW``: comma-separated address ranges that may scrape ``/metrics``
  without a console login (e.g. ``127.0.0.1/32,10.20.0.0/16``; default none);
- ``BTS_SYNC_SECURE_COOKIES``: ``1`` forces the Secure flag on the console cookie (behind a
  TLS-terminating proxy that does not pass the scheme on); otherwise it is set when the
  request came over TLS.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from bts_desk.service import fleet_models  # noqa: F401  (tables on the service metadata)
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.reports import Clock, report_router

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class FleetSettings:
    stale_after_s: float = 900.0
    metrics_allow: tuple[Network, ...] = field(default_factory=tuple)
    secure_cookies: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> FleetSettings:
        env = dict(os.environ) if env is None else env
        allow = tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in env.get("BTS_SYNC_METRICS_ALLOW", "").split(",")
            if part.strip()
        )
        return cls(
            stale_after_s=float(env.get("BTS_SYNC_STALE_AFTER_S", "900")),
            metrics_allow=allow,
            secure_cookies=env.get("BTS_SYNC_SECURE_COOKIES", "") == "1",
        )

    def may_scrape(self, host: str | None) -> bool:
        if not host:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.metrics_allow)


def install_fleet(
    app: FastAPI,
    db: ServiceDatabase,
    clock: Clock,
    officer_dependency: Callable[..., Any],
    settings: FleetSettings | None = None,
) -> None:
    """Mount reports, console and metrics on ``app`` (call once, in ``create_app``)."""
    from bts_desk.service.console.pages import console_router
    from bts_desk.service.metrics import MetricsMiddleware, metrics_router

    settings = settings or FleetSettings.from_env()
    app.state.fleet = settings
    app.include_router(report_router(db, clock, officer_dependency))
    app.include_router(console_router(db, clock, settings))
    app.include_router(metrics_router(db, clock, settings))
    app.add_middleware(MetricsMiddleware)
