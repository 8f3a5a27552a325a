"""Locust file of ``fleet_bench.py``: each Locust user is one desk of the fleet.

Not run by hand: ``fleet_bench.py`` starts ``python -m locust -f benchmarks/fleet_locust.py``
headless, bounded in users and time, against the service on 127.0.0.1, and passes what the
desks need in the environment:

- ``FLEET_DIR``: the officers' keys and certificates (``officer-N.key`` / ``.crt``) and the
  enrollment body templates (``enrollment-N.json``, with ``__BORDERER__``, ``__OFFICER__``,
  ``__DESK__`` and ``__UUID__`` (the CBEFF envelope's index) in place of those values);
- ``FLEET_RECORDS``: record ids 1..N are 正常 and may be enrolled;
- ``FLEET_CURSORS``: a file of the service's newest revisions when the run starts,
  ascending: as many as the whole fleet makes in one pull period in steady state (one per
  enrollment), and the one below them. A desk whose first pull falls ``phase`` seconds into
  the run last pulled one period before that, so it starts from the revision that leaves
  ``(1 - phase/period)`` of them above its cursor: from its very first pull on it brings as
  many changes as in steady state (a desk that started from the newest revision would pull
  almost nothing during a short run);
- ``FLEET_RATE``: how many times a busy desk's rate. A busy desk sends a status report and
  an enrollment every 10 minutes and pulls every 50 minutes; at ``FLEET_RATE=10`` that is
  the issue's load: a report a minute, an enrollment a minute, a pull every five minutes.
  Every desk, busy or not, renews its token once per token lifetime (15 minutes: challenge,
  card signature, session); at ``FLEET_RATE=10`` every 90 s;
- ``FLEET_ACKED``: file where the UUIDs the service answered "stored" are written at the end,
  and beside it (``.unanswered``) those whose upload got no answer at all (cut off when the
  run stopped, or timed out): the service may have stored those, and a real desk would send
  them again and hear "already stored";
- ``FLEET_BINS``: file where the counted window is written at the end as JSON (``_bins``):
  its length and, per ``BIN_S`` seconds of it, the requests answered, failures and p99. From
  each request's own response time, bucketed and ranked as Locust does for its overall p99,
  so the intervals are honest: Locust 2.47's ``_stats_history.csv`` holds either cumulative
  percentiles (since the reset) or, with ``--csv-full-history``, those of a sliding ~10 s
  window sampled every second — neither says what each interval alone saw.

A desk does what the real one does, over HTTP/1.1 keep-alive: logs in with its officer card
(challenge, signature, session), then each action when it is due, every action starting at a
random phase of its period (steady state: the fleet's actions are spread evenly in time).
Request names in the statistics: challenge, session, report, pull (one per page), enroll.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import os
import random
import re
import time
import uuid as uuidlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import gevent
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from locust import FastHttpUser, events, task
from locust.stats import bucket_response_time, calculate_response_time_percentile

FLEET_DIR = Path(os.environ.get("FLEET_DIR", "."))
RECORDS = int(os.environ.get("FLEET_RECORDS", "1000"))
CURSORS_FILE = os.environ.get("FLEET_CURSORS", "")
CURSORS = [int(n) for n in Path(CURSORS_FILE).read_text().split()] if CURSORS_FILE else [0]
RATE = float(os.environ.get("FLEET_RATE", "10"))
ACKED_FILE = os.environ.get("FLEET_ACKED", "")
WARM_UP_S = float(os.environ.get("FLEET_WARM_UP_S", "5"))
BINS_FILE = os.environ.get("FLEET_BINS", "")
BIN_S = 10

BUSY_PERIODS_S = {"report": 600.0, "enroll": 600.0, "pull": 3000.0, "refresh": 900.0}
PERIODS = {name: period / RATE for name, period in BUSY_PERIODS_S.items()}


def _load_officers() -> list[tuple[Any, bytes, str]]:
    officers = []
    for key_file in sorted(FLEET_DIR.glob("officer-*.key")):
        key = serialization.load_pem_private_key(key_file.read_bytes(), None)
        cert = x509.load_pem_x509_certificate(key_file.with_suffix(".crt").read_bytes())
        officer_id = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value
        officers.append((key, cert.public_bytes(serialization.Encoding.DER), str(officer_id)))
    return officers


_officers = _load_officers()
_templates = [p.read_text() for p in sorted(FLEET_DIR.glob("enrollment-*.json"))]
_desk_numbers = itertools.count(1)
_acked: list[str] = []
_unanswered: set[str] = set()
_logged_in = itertools.count(1)


_counted_from: list[float] = []  # time.time() of the statistics' reset, once it happened
_last_counted = [0.0]  # time.time() when the last counted request was answered
_bins: dict[int, Counter[int]] = defaultdict(Counter)  # bin → {bucketed ms: requests}
_bin_failures: Counter[int] = Counter()


def _reset_later(environment: Any) -> None:
    """Steady state starts WARM_UP_S after the last desk logged in: count from then on."""
    gevent.sleep(WARM_UP_S)
    environment.stats.reset_all()
    _counted_from.append(time.time())  # no switch in between: the same requests as Locust's


@events.request.add_listener
def _bin_request(response_time: float | None, exception: Any, **_kw: Any) -> None:
    """Each counted request in the ``BIN_S`` bin of the moment it was answered (its response
    time bucketed as Locust's statistics do; one without a time counts only as a failure,
    as there)."""
    if not _counted_from:
        return
    now = time.time()
    at = int((now - _counted_from[0]) // BIN_S)
    if exception:  # as Locust counts a failure
        _bin_failures[at] += 1
    if response_time is not None:
        _bins[at][bucket_response_time(response_time)] += 1
        _last_counted[0] = now


@events.quitting.add_listener
def _write_bins(**_kw: Any) -> None:
    if not BINS_FILE:
        return
    counted_s = _last_counted[0] - _counted_from[0] if _counted_from and _bins else 0.0
    bins = []
    for at in range(max(_bins) + 1 if _bins else 0):  # empty bins too: a stall answers nothing
        times = _bins.get(at, Counter())
        requests = sum(times.values())
        bins.append(
            {
                "from_s": at * BIN_S,
                "requests": requests,
                "failures": _bin_failures[at],
                "p99_ms": calculate_response_time_percentile(times, requests, 0.99)
                if requests
                else None,
            }
        )
    Path(BINS_FILE).write_text(json.dumps({"counted_s": round(counted_s, 1), "bins": bins}))


@events.quitting.add_listener
def _write_acked(**_kw: Any) -> None:
    if ACKED_FILE:
        Path(ACKED_FILE).write_text("".join(f"{uuid}\n" for uuid in _acked))
        unanswered = Path(ACKED_FILE).with_suffix(".unanswered")
        unanswered.write_text("".join(f"{uuid}\n" for uuid in sorted(_unanswered)))


def _report_body(desk_id: str, cursor: int, pending: int) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).isoformat()
    ok = {"ok": True, "summary": "已连接", "driver": "", "port": "", "model": "", "last_error": ""}
    return {
        "desk_id": desk_id,
        "district": "8609",
        "app_version": "0.1.0",
        "os": "Windows 10 (AMD64)",
        "sent_at": now,
        "outbox": {"pending": pending, "refused": 0, "waiting_for_officer": 0,
                   "oldest_pending_age_s": None, "refusals": []},
        "devices": [{**ok, "kind": "card_reader"}, {**ok, "kind": "scanner", "model": "R307"},
                    {**ok, "kind": "camera"}],
        "last_pull_at": now,
        "pull_cursor": cursor,
    }  # fmt: skip


_CURSOR = re.compile(rb',"next_cursor":(\d+),"has_more":(true|false),')


def _page_cursor(page: bytes) -> tuple[int, bool]:
    """A page's next_cursor and has_more. The body is read whole (and timed so), but only
    these two fields are decoded: a real desk decodes the whole page on its own CPU, while
    this load generator shares the service's cores (decoding 1,000 records and their
    templates per page was a third of its CPU). The keys cannot occur unescaped inside a
    JSON string, and no other object of the page has them; the whole decode otherwise."""
    found = _CURSOR.search(page)
    if found is None:
        decoded = json.loads(page)
        return int(decoded["next_cursor"]), bool(decoded["has_more"])
    return int(found[1]), found[2] == b"true"


class Desk(FastHttpUser):
    """One desk: login, then reports, enrollments, pulls and token refreshes when due."""

    connection_timeout = 30.0
    network_timeout = 60.0

    def wait_time(self) -> float:
        return max(0.0, min(self.due.values()) - time.monotonic())

    def on_start(self) -> None:
        number = next(_desk_numbers)
        self.desk_id = f"bench-desk-{number:05d}"
        self.key, self.der, self.officer_id = _officers[number % len(_officers)]
        # Each desk has its own address, as behind the production TLS proxy (which sets
        # X-Forwarded-For; uvicorn trusts it from 127.0.0.1): per-address limits apply per desk.
        self.address = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
        self.forwarded = {"X-Forwarded-For": self.address}
        self.token = ""
        now = time.monotonic()
        phase = {name: random.uniform(0, period) for name, period in PERIODS.items()}
        self.due = {name: now + phase[name] for name in PERIODS}
        behind = 1.0 - phase["pull"] / PERIODS["pull"]
        history = len(CURSORS) - 1
        self.cursor = CURSORS[history - round(history * behind)]
        self.login()

    def login(self) -> None:
        with self.client.post(
            "/api/v1/session/challenge", headers=self.forwarded, name="challenge",
            catch_response=True,
        ) as answer:  # fmt: skip
            if answer.status_code != 200:
                answer.failure(f"challenge {answer.status_code}")
                return
            challenge = base64.b64decode(answer.json()["challenge"])
        signature = self.key.sign(challenge, ec.ECDSA(hashes.SHA256()))
        body = {
            "certificate": base64.b64encode(self.der).decode(),
            "challenge": base64.b64encode(challenge).decode(),
            "signature": base64.b64encode(signature).decode(),
            "desk_id": self.desk_id,
        }
        with self.client.post(
            "/api/v1/session", json=body, headers=self.forwarded, name="session",
            catch_response=True,
        ) as answer:  # fmt: skip
            if answer.status_code != 200:
                answer.failure(f"session {answer.status_code}: {answer.text[:200]}")
                return
            first_login = not self.token
            self.token = answer.json()["token"]
        if first_login and next(_logged_in) == self.environment.parsed_options.num_users:
            gevent.spawn(_reset_later, self.environment)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **self.forwarded}

    @task
    def next_due(self) -> None:
        name = min(self.due, key=self.due.__getitem__)
        if self.due[name] > time.monotonic():
            return
        self.due[name] += PERIODS[name]
        getattr(self, f"do_{name}")()

    def do_refresh(self) -> None:
        self.login()

    def do_report(self) -> None:
        body = _report_body(self.desk_id, self.cursor, 0)
        with self.client.post(
            "/api/v1/desk-reports", json=body, headers=self.auth, name="report",
            catch_response=True,
        ) as answer:  # fmt: skip
            if answer.status_code != 200:
                answer.failure(f"report {answer.status_code}: {answer.text[:200]}")

    def do_pull(self) -> None:
        for _page in range(10):  # follow has_more, as the desk's puller does
            with self.client.get(
                f"/api/v1/borderers?cursor={self.cursor}&limit=1000", headers=self.auth,
                name="pull", catch_response=True,
            ) as answer:  # fmt: skip
                if answer.status_code != 200:
                    answer.failure(f"pull {answer.status_code}")
                    return
                cursor, has_more = _page_cursor(answer.content)
            self.cursor = cursor
            if not has_more:
                return

    def do_enroll(self) -> None:
        uuid = str(uuidlib.uuid4())
        body = (
            random.choice(_templates)
            .replace('"__BORDERER__"', str(random.randint(1, RECORDS)))
            .replace("__OFFICER__", self.officer_id)
            .replace("__DESK__", self.desk_id)
            .replace("__UUID__", uuid)
        )
        headers = {**self.auth, "Content-Type": "application/json"}
        _unanswered.add(uuid)  # until an answer comes (a run stopping kills the request)
        with self.client.put(
            f"/api/v1/enrollments/{uuid}", data=body.encode(), headers=headers, name="enroll",
            catch_response=True,
        ) as answer:  # fmt: skip
            if answer.status_code:  # 0: no answer (connection lost, timed out)
                _unanswered.discard(uuid)
            if answer.status_code == 201:
                _acked.append(uuid)
            else:
                answer.failure(f"enroll {answer.status_code}: {answer.text[:200]}")
