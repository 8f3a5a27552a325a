"""The reference sync service (extra ``server``: FastAPI, uvicorn, psycopg).

``create_app`` builds the FastAPI app, ``start_local_service`` runs it in-process on a
loopback port, ``bts-sync-server`` (``cli.main``) runs it as a process. The desk never imports
this package: it talks to the service over HTTP with ``bts_desk.sync.wire``.
"""

from bts_desk.service.app import create_app
from bts_desk.service.local import LocalService, start_demo_service, start_local_service

__all__ = ["LocalService", "create_app", "start_demo_service", "start_local_service"]
