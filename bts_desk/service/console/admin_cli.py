"""``bts-sync-server admin``: the console's administrator accounts.

    bts-sync-server admin add NAME --db URL      # asks for the password twice (or stdin)
    bts-sync-server admin list --db URL

``--password-stdin`` reads the password from the first line of standard input (scripts,
tests); otherwise it is asked for without echo. The schema is created if missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys

from bts_desk.errors import DeskError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bts-sync-server admin", description="Console administrators.")
    sub = p.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an administrator")
    add.add_argument("username")
    add.add_argument("--db", required=True, help="SQLAlchemy URL of the service database")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    lst = sub.add_parser("list", help="list the administrators")
    lst.add_argument("--db", required=True)
    return p


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码: ")
    if getpass.getpass("再次输入密码: ") != first:
        raise SystemExit("bts-sync-server admin: 两次输入的密码不一致")
    return first


def main(argv: list[str]) -> int:
    from sqlalchemy import select

    from bts_desk.service.console.auth import add_admin
    from bts_desk.service.database import ServiceDatabase
    from bts_desk.service.fleet_models import ConsoleAdmin

    args = _parser().parse_args(argv)
    db = ServiceDatabase(args.db)
    try:
        db.create_schema()
        if args.command == "add":
            add_admin(db, args.username, _password(args.password_stdin), dt.datetime.now(dt.UTC))
            print(f"administrator {args.username} added")
        else:
            with db.read() as conn:
                for name in conn.execute(
                    select(ConsoleAdmin.username).order_by(ConsoleAdmin.username)
                ).scalars():
                    print(name)
    except DeskError as exc:
        print(f"bts-sync-server admin: {exc.user_message}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0
