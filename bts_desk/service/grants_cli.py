"""``bts-sync-server grant|revoke|grants|rotate-key|audit-clear``: IT's service administration.

    bts-sync-server grant  --db URL OFFICER DISTRICT --by WHO [--note TEXT]
    bts-sync-server revoke --db URL OFFICER DISTRICT --by WHO [--note TEXT]
    bts-sync-server grants --db URL [OFFICER]        # current grants, then the change log
    bts-sync-server rotate-key --db URL --key-file F            # 1. new key, data keys rewrapped
    (restart the service: it seals new uploads with the new key)
    bts-sync-server rotate-key --db URL --key-file F --retire   # 2. rewrap the rest, drop old
    bts-sync-server audit-clear --db URL DESK --by WHO   # a desk's audit mark, once looked into

Every officer serves their own district (their card's 关区) without a grant. Each change is
recorded with who made it; a revocation also ends the officer's open sessions.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from bts_desk.service.database import ServiceDatabase
from bts_desk.service.desk_audit import clear_problem
from bts_desk.service.grants import grant, grant_history, list_grants, revoke
from bts_desk.service.payloads import retire_old_keys, rotate_key
from bts_desk.service.tokens import utc_now

DEFAULT_DB = "sqlite:///bts-sync-server.db"
_DISTRICT = re.compile(r"^[0-9A-Za-z]{1,8}$")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bts-sync-server", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="action", required=True)
    for action in ("grant", "revoke"):
        one = sub.add_parser(action)
        one.add_argument("--db", default=DEFAULT_DB)
        one.add_argument("officer", help="officer number (the card's serialNumber)")
        one.add_argument("district", help="关区代码, e.g. 7218")
        one.add_argument("--by", required=True, help="who makes the change (recorded)")
        one.add_argument("--note", default="", help="why (recorded)")
    listing = sub.add_parser("grants")
    listing.add_argument("--db", default=DEFAULT_DB)
    listing.add_argument("officer", nargs="?")
    rotate = sub.add_parser("rotate-key", help="new service key; every data key rewrapped")
    rotate.add_argument("--db", default=DEFAULT_DB)
    rotate.add_argument("--key-file", type=Path, required=True)
    rotate.add_argument(
        "--retire",
        action="store_true",
        help="no new key: rewrap what is left onto the current key, then drop the old keys",
    )
    clear = sub.add_parser("audit-clear", help="clear a desk's audit mark (service.desk_audit)")
    clear.add_argument("--db", default=DEFAULT_DB)
    clear.add_argument("desk", help="the desk id (设备编号)")
    clear.add_argument("--by", required=True, help="who looked into it (logged)")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    db = ServiceDatabase(args.db)
    try:
        db.create_schema()
        if args.action == "rotate-key":
            vault, count = rotate_key(db, args.key_file, new_key=not args.retire)
            print(f"key {vault.current} is current; {count} blobs rewrapped")
            if args.retire:
                print(f"{retire_old_keys(args.key_file)} old keys removed from {args.key_file}")
            return 0
        if args.action == "audit-clear":
            done = clear_problem(db, args.desk, by=args.by)
            print(f"audit-clear {args.desk}: {'done' if done else 'no mark'}")
            return 0
        if args.action == "grants":
            for g in list_grants(db, args.officer):
                print(f"{g.officer_id}\t{g.district}\t{g.granted_at.isoformat()}\t{g.granted_by}")
            for at, action, officer, district, by in grant_history(db):
                if args.officer in (None, officer):
                    print(f"# {at.isoformat()} {action} {officer} {district} by {by}")
            return 0
        if not _DISTRICT.match(args.district):
            print(f"bts-sync-server: not a district code: {args.district!r}", file=sys.stderr)
            return 2
        change = grant if args.action == "grant" else revoke
        done = change(db, args.officer, args.district, by=args.by, now=utc_now(), note=args.note)
        print(f"{args.action} {args.officer} {args.district}: {'done' if done else 'no change'}")
        return 0
    finally:
        db.dispose()
