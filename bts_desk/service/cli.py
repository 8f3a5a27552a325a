"""``bts-sync-server``: run the reference sync service, optionally loading demo records first.

    bts-sync-server --db sqlite:///sync.db --ca officer-ca.pem [--host 127.0.0.1] [--port 8765]
    bts-sync-server --db URL --ca FILE --load-demo 10000          # load, then serve
    bts-sync-server --db URL --load-demo 10000 --no-serve         # load only (no --ca needed)
    bts-sync-server export --since 2026-12-01 DIR --db URL        # stored envelopes as files

    bts-sync-server grant --db URL GY0001 7218 --by it-zhang   # more districts for an officer
    bts-sync-server revoke --db URL GY0001 7218 --by it-zhang  # take one back (ends sessions)
    bts-sync-server grants --db URL [GY0001]                   # list grants and their history
    bts-sync-server rotate-key --db URL --key-file F [--retire]  # service key rotation
    bts-sync-server admin add NAME                             # console administrators
    bts-sync-server audit-clear --db URL DESK --by it-zhang    # a desk's audit mark, checked

Sessions live in the database (revocable, shared by every worker process).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bts_desk.errors import DeskError

DEFAULT_DB = "sqlite:///bts-sync-server.db"
log = logging.getLogger("bts_desk.service")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bts-sync-server", description="Reference sync service of bts-desk."
    )
    p.add_argument("--db", default=DEFAULT_DB, help=f"SQLAlchemy URL (default {DEFAULT_DB})")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="TCP port (8765)")
    p.add_argument("--ca", type=Path, help="PEM file of the CA(s) that issue officer cards")
    p.add_argument("--load-demo", type=int, default=0, metavar="N", help="add N demo records")
    p.add_argument("--seed", type=int, default=20260, help="seed of the demo generator")
    p.add_argument("--no-serve", action="store_true", help="exit after loading")
    p.add_argument("--docs", action="store_true", help="serve /docs and /openapi.json")
    p.add_argument(
        "--key-file",
        type=Path,
        help="service key file sealing biometrics at rest, made (mode 0600) if missing "
        "(default: beside a SQLite database, else ./bts-sync-server.key)",
    )
    p.add_argument("--crl", type=Path, help="the officer CA's CRL to publish at /api/v1/crl")
    p.add_argument("--certfile", type=Path, help="PEM certificate (chain) to serve HTTPS")
    p.add_argument("--keyfile", type=Path, help="PEM private key of --certfile")
    p.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    p.add_argument("--log-level", default="INFO")
    return p


def _progress(done: int, total: int) -> None:
    print(f"\rloaded {done}/{total}", end="" if done < total else "\n", file=sys.stderr)


def key_file_of(args: argparse.Namespace) -> Path:
    from bts_desk.service.export import default_key_file

    return Path(args.key_file) if args.key_file is not None else default_key_file(args.db)


def run(args: argparse.Namespace) -> int:
    from bts_desk.service.database import ServiceDatabase
    from bts_desk.service.demo import load_demo

    if args.load_demo:
        db = ServiceDatabase(args.db)
        db.create_schema()
        added = load_demo(db, args.load_demo, seed=args.seed, progress=_progress)
        db.dispose()
        log.info("loaded %d demo records into %s", added, db.url)
    if args.no_serve:
        return 0
    if args.ca is None:
        print("bts-sync-server: --ca FILE is required to serve", file=sys.stderr)
        return 2
    if (args.certfile is None) != (args.keyfile is None):
        print("bts-sync-server: --certfile and --keyfile go together", file=sys.stderr)
        return 2
    if args.certfile is None and args.host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("serving plain HTTP on %s: desks refuse it (use --certfile/--keyfile "
                    "or a TLS reverse proxy)", args.host)  # fmt: skip
    if args.workers > 1:
        from bts_desk.service.workers import serve_workers

        serve_workers(
            args.db,
            args.ca,
            host=args.host,
            port=args.port,
            workers=args.workers,
            certfile=args.certfile,
            keyfile=args.keyfile,
            key_file=key_file_of(args),
            crl_file=args.crl,
            log_level=args.log_level.lower(),
        )
        return 0
    import uvicorn

    from bts_desk.service.app import create_app
    from bts_desk.service.vault import Vault

    vault = Vault.load(key_file_of(args), create=True)
    app = create_app(args.db, args.ca.read_bytes(), docs=args.docs, vault=vault, crl_file=args.crl)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        ssl_certfile=str(args.certfile) if args.certfile else None,
        ssl_keyfile=str(args.keyfile) if args.keyfile else None,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["admin"]:  # bts-sync-server admin add NAME: console administrators
        from bts_desk.service.console.admin_cli import main as admin_main

        return admin_main(argv[1:])
    if argv[:1] == ["export"]:  # bts-sync-server export --since DATE DIR: CBEFF envelopes
        from bts_desk.service.export import main as export_main

        return export_main(argv[1:])
    if argv[:1] in (["grant"], ["revoke"], ["grants"], ["rotate-key"], ["audit-clear"]):
        from bts_desk.service.grants_cli import main as grants_main

        return grants_main(argv)
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return run(args)
    except DeskError as exc:
        log.error("%s", exc.detail)
        print(f"bts-sync-server: {exc.user_message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"bts-sync-server: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
