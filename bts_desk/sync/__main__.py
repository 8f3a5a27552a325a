"""The desk's sync from the command line (IT, the kill -9 test): ``python -m bts_desk.sync``.

    python -m bts_desk.sync sync-once --db URL --url URL --key FILE \\
        --officer-key KEY.pem --officer-cert CERT.pem      # one pass: upload, then pull
    python -m bts_desk.sync run ... [--interval S]          # keep syncing until SIGTERM/Ctrl-C
    python -m bts_desk.sync status --db URL                 # queue counts as one JSON line

Without ``--db``/``--url``/``--key`` the desk's settings apply (``load_settings``). The
officer's key and certificate stand in for the card (``PemSigner``): for IT tools and tests,
never for an officer's daily work.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from bts_desk.config import Settings, load_settings
from bts_desk.errors import DeskError
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.store.desk_store import open_desk_store
from bts_desk.store.enrollments import outbox_counts
from bts_desk.sync.auth import PemSigner, TokenBroker
from bts_desk.sync.client import SyncClient, default_retry
from bts_desk.sync.outbox import Backoff, SyncWorker

log = logging.getLogger("bts_desk.sync")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bts_desk.sync", description=__doc__)
    p.add_argument("action", choices=["sync-once", "run", "status"])
    p.add_argument("--db", help="SQLAlchemy URL of the desk store (default: settings)")
    p.add_argument("--url", help="base URL of the sync service (default: settings)")
    p.add_argument("--ca-cert", help="PEM of the CA of the service's TLS certificate")
    p.add_argument("--key", type=Path, help="desk key file (default: settings)")
    p.add_argument("--desk-id", help="desk id (default: settings)")
    p.add_argument("--officer-key", type=Path, help="PEM private key of the officer")
    p.add_argument("--officer-cert", type=Path, help="PEM/DER certificate of the officer")
    p.add_argument("--batch-size", type=int, default=25)
    p.add_argument("--no-batch", action="store_true", help="one PUT per enrollment")
    p.add_argument("--parallel", type=int, default=2, help="upload requests in flight")
    p.add_argument("--no-pull", action="store_true", help="uploads only")
    p.add_argument("--interval", type=float, help="seconds between passes (run)")
    p.add_argument("--timeout", type=float, help="seconds per request")
    p.add_argument("--backoff", type=float, default=30.0, help="first retry delay, seconds")
    p.add_argument("--log-level", default="WARNING")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings()
    try:
        if args.db:
            settings = settings.replace("database", url=args.db)
        if args.key:
            settings = settings.replace("security", key_file=str(args.key))
        db, key = open_desk_store(settings)
        if args.action == "status":
            counts = outbox_counts(db)
            print(json.dumps(counts.__dict__))
            return 0
        worker = _worker(args, settings, db, key)
        if args.action == "sync-once":
            result = worker.run_once(force=True)
            print(json.dumps(result.__dict__))
            return 0 if result.ok else 1
        return _run(worker)
    except DeskError as exc:
        log.error("%s", exc.detail)
        print(f"bts_desk.sync: {exc.user_message}", file=sys.stderr)
        return 1


def _worker(args: argparse.Namespace, settings: Settings, db: Database, key: DeskKey) -> SyncWorker:
    client = SyncClient(
        args.url or settings.sync.url,
        desk_id=args.desk_id or settings.desk.id,
        timeout_s=args.timeout or settings.sync.timeout_s,
        ca_cert=args.ca_cert or settings.sync.ca_cert,
        retry=default_retry(total=3, backoff_factor=0.2, backoff_jitter=0.2),
    )
    tokens = TokenBroker(client)
    if args.officer_key and args.officer_cert:
        tokens.set_signer(PemSigner.from_files(args.officer_key, args.officer_cert))
    return SyncWorker(
        db,
        client,
        tokens,
        key,
        interval_s=args.interval or settings.sync.interval_s,
        backoff=Backoff(base_s=args.backoff),
        batch_size=args.batch_size,
        use_batch=not args.no_batch,
        pull=not args.no_pull,
        parallel=args.parallel,
    )


def _run(worker: SyncWorker) -> int:
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    worker.add_listener(lambda s: log.info("sync status: %s", s))
    worker.start()
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
