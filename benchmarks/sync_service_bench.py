"""The reference sync service on its own: uploads per second and pull pages, over loopback HTTP.

    .venv/bin/python benchmarks/sync_service_bench.py [--db URL] [--uploads 1000] [--batch 50]
                                                      [--records 200000]

Runs the service in-process (``start_local_service``, uvicorn in a thread) on a SQLite file in
a temporary directory unless ``--db`` names another database, and drives it with plain
``requests`` from this process (bodies encoded beforehand, so the figures are the service's
plus HTTP). Realistic bodies from ``bts_desk.sync.samples`` (about 200 KB of JSON each).

- ``single_put_per_s``: one ``PUT /api/v1/enrollments/{uuid}`` after another;
- ``batch_put_per_s``: enrollments per second through ``POST /api/v1/enrollments:batch``;
- ``store_cpu_ms``: CPU milliseconds per enrollment of the service's validate-and-store step
  alone, measured in-process without HTTP (what a faster machine or more workers divide);
- ``pull_page_ms`` / ``pull_records_per_s``: pages of 5,000 over ``--records`` demo records.

The desk side (outbox, encryption, pull into the desk store) is in ``sync_bench.py``.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from bts_desk.domain import Officer
from bts_desk.drivers.piv_card.pki import issue_officer, make_ca
from bts_desk.service.borderers import load_records
from bts_desk.service.demo import load_demo
from bts_desk.service.enrollments import EnrollmentService
from bts_desk.service.local import LocalService, start_local_service
from bts_desk.service.sessions import TokenClaims, utc_now
from bts_desk.sync import wire
from bts_desk.sync.samples import sample_draft

OFFICER = Officer("GY0001", "李海关", "8609")


def _record(record_id: int) -> dict[str, Any]:
    import datetime as dt

    return {
        "id": record_id, "customs_code": "8609", "name": f"边民{record_id:06d}", "gender": "M",
        "id_number": "45010319960127726X", "address": "广西凭祥",
        "id_valid_from": dt.date(2020, 1, 1), "id_valid_to": dt.date(2040, 1, 1),
        "state": "normal", "data_source": "海关",
        "valid_to": dt.date(2030, 1, 1), "has_face": False, "has_finger": False, "enabled": True,
        "synced": True, "last_op_date": None,
    }  # fmt: skip


def _login(service: LocalService, ca: Any) -> requests.Session:
    creds = issue_officer(ca, OFFICER.name, OFFICER.officer_id, OFFICER.customs_code)
    http = requests.Session()
    raw = http.post(service.url + wire.PATH_CHALLENGE, timeout=10).json()["challenge"]
    challenge = base64.b64decode(raw)
    signature = creds.key.sign(challenge, ec.ECDSA(hashes.SHA256()))
    body = wire.SessionBody(
        certificate=creds.der, challenge=challenge, signature=signature, desk_id="bench"
    ).model_dump(mode="json")
    token = http.post(service.url + wire.PATH_SESSION, json=body, timeout=10).json()["token"]
    http.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return http


def _bodies(first_id: int, count: int) -> list[tuple[str, bytes]]:
    drafts = (sample_draft(first_id + i, OFFICER) for i in range(count))
    return [(d.uuid, wire.EnrollmentBody.from_draft(d).model_dump_json().encode()) for d in drafts]


def _single(
    service: LocalService, http: requests.Session, bodies: list[tuple[str, bytes]]
) -> float:
    start = time.perf_counter()
    for uuid, body in bodies:
        response = http.put(service.url + wire.PATH_ENROLLMENT.format(uuid=uuid), data=body)
        assert response.status_code == 201, response.text
    return len(bodies) / (time.perf_counter() - start)


def _batched(
    service: LocalService, http: requests.Session, bodies: list[tuple[str, bytes]], size: int
) -> float:
    start = time.perf_counter()
    for i in range(0, len(bodies), size):
        items = b",".join(
            b'{"uuid":"%s","enrollment":%s}' % (u.encode(), b) for u, b in bodies[i : i + size]
        )
        response = http.post(
            service.url + wire.PATH_ENROLLMENT_BATCH, data=b'{"items":[%s]}' % items
        )
        assert response.status_code == 200, response.text
        assert all(r["http_status"] == 201 for r in response.json()["results"])
    return len(bodies) / (time.perf_counter() - start)


def _store_cpu_ms(service: LocalService, first_id: int, count: int) -> float:
    """Validate and store in-process (no HTTP): CPU per enrollment."""
    enrollments = EnrollmentService(service.app.state.db, utc_now)
    who = TokenClaims(OFFICER.officer_id, OFFICER.name, OFFICER.customs_code, "bench", 0)
    items = [(str(uuidlib.uuid4()), json.loads(b)) for _, b in _bodies(first_id, count)]
    start = time.process_time()
    for i in range(0, count, 50):
        enrollments.put_many(items[i : i + 50], who)
    return (time.process_time() - start) * 1000 / count


def _pull(service: LocalService, http: requests.Session) -> tuple[float, float]:
    times, cursor, total = [], 0, 0
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        response = http.get(
            service.url + wire.PATH_BORDERERS,
            params={"cursor": cursor, "limit": wire.MAX_PULL_LIMIT},
        )
        page = response.json()
        times.append(time.perf_counter() - t0)
        total += len(page["items"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    return statistics.median(times) * 1000, total / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="SQLAlchemy URL (default: SQLite in a temporary directory)")
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sync-service-bench-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'service.db'}"
        ca = make_ca()
        service = start_local_service(url, ca.pem)
        try:
            db = service.app.state.db
            n = args.uploads
            load_records(db, (_record(i) for i in range(1, 3 * n + 1)))
            http = _login(service, ca)
            single = _single(service, http, _bodies(1, n // 4))
            batched = _batched(service, http, _bodies(n // 4 + 1, n), args.batch)
            cpu_ms = _store_cpu_ms(service, 2 * n, min(n, 500))
            load_demo(db, args.records)
            page_ms, per_s = _pull(service, http)
        finally:
            service.stop()
    result = {
        "db": url.split(":", 1)[0],
        "single_put_per_s": round(single, 1),
        "batch_put_per_s": round(batched, 1),
        "batch_size": args.batch,
        "store_cpu_ms": round(cpu_ms, 2),
        "pull_page_ms": round(page_ms, 1),
        "pull_records_per_s": round(per_s),
        "records": args.records + 3 * n,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
