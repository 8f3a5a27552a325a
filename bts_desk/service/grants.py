"""District grants: which 关区 an officer may serve (upload to and pull from).

Every officer may serve their own district (the certificate's OU) without a grant; IT grants
more with ``bts-sync-server grant`` and takes them back with ``revoke``. Each change is
recorded in ``grant_log`` (who, when, what), and a revocation also ends the officer's open
sessions, so it takes effect at the desk's next request rather than at the next login.
Blocking (SQL): worker threads or the CLI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from bts_desk.service.database import ServiceDatabase
from bts_desk.service.models import DistrictGrant, GrantLog, OfficerSession


@dataclass(frozen=True)
class Grant:
    officer_id: str
    district: str
    granted_at: dt.datetime
    granted_by: str


def districts_of(db: ServiceDatabase, officer_id: str, own_district: str) -> frozenset[str]:
    """The officer's own district and every district granted to them."""
    with db.read() as conn:
        return districts_in(conn, officer_id, own_district)


def districts_in(conn: Connection, officer_id: str, own_district: str) -> frozenset[str]:
    """``districts_of`` inside an open transaction (the login's)."""
    granted = conn.execute(
        select(DistrictGrant.district).where(DistrictGrant.officer_id == officer_id)
    ).scalars()
    return frozenset({own_district, *granted})


def grant(
    db: ServiceDatabase,
    officer_id: str,
    district: str,
    *,
    by: str,
    now: dt.datetime,
    note: str = "",
) -> bool:
    """Grant ``district`` to ``officer_id``; False if it was already granted."""
    with db.write() as conn:
        exists = conn.execute(
            select(DistrictGrant.district).where(
                DistrictGrant.officer_id == officer_id, DistrictGrant.district == district
            )
        ).first()
        if exists is not None:
            return False
        conn.execute(
            insert(DistrictGrant).values(
                officer_id=officer_id, district=district, granted_at=now, granted_by=by
            )
        )
        _log(conn, now, "grant", officer_id, district, by=by, note=note)
    return True


def revoke(
    db: ServiceDatabase,
    officer_id: str,
    district: str,
    *,
    by: str,
    now: dt.datetime,
    note: str = "",
) -> bool:
    """Take ``district`` back from ``officer_id`` and end their open sessions; False if it
    was not granted."""
    with db.write() as conn:
        gone = conn.execute(
            delete(DistrictGrant).where(
                DistrictGrant.officer_id == officer_id, DistrictGrant.district == district
            )
        )
        if gone.rowcount == 0:
            return False
        conn.execute(
            update(OfficerSession)
            .where(OfficerSession.officer_id == officer_id)
            .values(revoked=True)
        )
        _log(conn, now, "revoke", officer_id, district, by=by, note=note)
    return True


def list_grants(db: ServiceDatabase, officer_id: str | None = None) -> list[Grant]:
    query = select(DistrictGrant).order_by(DistrictGrant.officer_id, DistrictGrant.district)
    if officer_id is not None:
        query = query.where(DistrictGrant.officer_id == officer_id)
    with db.read() as conn:
        return [
            Grant(r.officer_id, r.district, r.granted_at, r.granted_by) for r in conn.execute(query)
        ]


def grant_history(db: ServiceDatabase) -> list[tuple[dt.datetime, str, str, str, str]]:
    """(at, action, officer, district, by) of every change, oldest first."""
    with db.read() as conn:
        rows = conn.execute(
            select(
                GrantLog.at, GrantLog.action, GrantLog.officer_id, GrantLog.district, GrantLog.by
            ).order_by(GrantLog.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _log(
    conn: Connection,
    now: dt.datetime,
    action: str,
    officer_id: str,
    district: str,
    *,
    by: str,
    note: str,
) -> None:
    conn.execute(
        insert(GrantLog).values(
            at=now, action=action, officer_id=officer_id, district=district, by=by, note=note
        )
    )
