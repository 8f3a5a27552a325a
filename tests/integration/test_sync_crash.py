"""kill -9 of the desk's sync process at random moments: nothing lost, nothing duplicated; and
the desk store never holds readable biometric bytes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sync_support import (
    OFFICER_A,
    count_stored,
    make_desk,
    make_pki,
    start_service,
    stored_enrollments,
)

from bts_desk.domain import EnrollmentDraft, OutboxState
from bts_desk.service.models import ServerFinger
from bts_desk.store.db import Database
from bts_desk.store.enrollments import outbox_counts, save_enrollment
from bts_desk.store.models import EnrollmentRow, OutboxRow
from bts_desk.sync.samples import sample_draft


def _sync_cmd(desk_dir: Path, url: str, key: Path, cert: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bts_desk.sync",
        "sync-once",
        "--db",
        f"sqlite:///{desk_dir / 'desk.db'}",
        "--url",
        url,
        "--key",
        str(desk_dir / "desk.key"),
        "--officer-key",
        str(key),
        "--officer-cert",
        str(cert),
        "--backoff",
        "0.05",
        "--timeout",
        "5",
        *extra,
    ]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BTS_DESK_")}
    env["BTS_DESK_CONFIG"] = str(tmp_path / "no-user-config.toml")
    env["BTS_DESK_PATHS_DATA_DIR"] = str(tmp_path / "cli-data")
    return env


@pytest.mark.slow
def test_kill_9_at_random_points_gives_exactly_once(tmp_path: Path) -> None:
    pki = make_pki()
    rng = random.Random(int.from_bytes(os.urandom(4)))
    trials, per_trial = 24, 12
    with start_service(tmp_path, pki, records=per_trial * trials) as service:
        desk_dir = tmp_path / "desk"
        desk = make_desk(desk_dir, service.url)
        desk.tokens.set_signer(pki.signer(OFFICER_A))
        desk.worker.run_once()  # the records arrive
        key, cert = pki.write(OFFICER_A, tmp_path)
        env = _env(tmp_path)
        made: list[str] = []
        killed = 0
        for trial in range(trials):
            for n in range(per_trial):
                draft = sample_draft(trial * per_trial + n + 1, OFFICER_A, with_face=n % 2 == 0)
                save_enrollment(desk.db, draft, desk.key)
                made.append(draft.uuid)
            extra = ["--batch-size", str(rng.choice([1, 2, 4]))]
            if trial % 2:
                extra.append("--no-batch")
            proc = subprocess.Popen(
                _sync_cmd(desk_dir, service.url, key, cert, *extra),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if trial % 3 == 0:
                time.sleep(rng.uniform(0.3, 1.5))  # anywhere: start-up, login, upload, pull
            else:  # in the middle of the uploads: as soon as one is sending or acknowledged
                _wait_for_progress(desk.db, proc)
                time.sleep(rng.uniform(0.0, 0.08))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait(30)
        # After the last crash, a normal run finishes the job.
        final = subprocess.run(
            _sync_cmd(desk_dir, service.url, key, cert),
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert final.returncode == 0, final.stderr.decode()
        assert killed >= trials // 2, f"only {killed} of {trials} runs were killed"
        counts = outbox_counts(desk.db)
        assert (counts.pending, counts.refused, counts.acknowledged) == (0, 0, len(made))
        assert sorted(stored_enrollments(service)) == sorted(made)  # exactly once each
        assert count_stored(service) == len(made)
        with service.app.state.db.read() as conn:
            fingers = conn.execute(select(func.count()).select_from(ServerFinger)).scalar_one()
        assert fingers == 2 * len(made)
        with desk.db.session() as s:
            assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            left = s.execute(
                select(func.count()).where(EnrollmentRow.payload.is_not(None))
            ).scalar_one()
            assert left == 0  # every acknowledged payload deleted
        # A kill in the middle of sending a body is a 400 "disconnected", not an internal error.
        assert service.internal_errors == 0
        desk.close()


def _wait_for_progress(db: Database, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Until an entry of the pending batch is sending or acknowledged (or the run ended)."""
    with db.session() as s:
        start = s.execute(
            select(func.count()).where(OutboxRow.state != str(OutboxState.PENDING))
        ).scalar_one()
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        with db.session() as s:
            moved = s.execute(
                select(func.count()).where(OutboxRow.state != str(OutboxState.PENDING))
            ).scalar_one()
        if moved > start:
            return
        time.sleep(0.005)


def _needles(draft: EnrollmentDraft) -> list[bytes]:
    assert draft.face is not None
    out = [draft.face.jpeg[:64], draft.face.jpeg[-64:]]
    for finger in draft.fingers:
        out += [finger.template[1:33], finger.template[-32:], finger.image_png[16:80]]
    return out


def _files(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.glob("desk.db*")))


def test_store_holds_no_readable_biometric_bytes(tmp_path: Path) -> None:
    pki = make_pki()
    with start_service(tmp_path, pki) as service:
        desk = make_desk(tmp_path / "desk", service.url)
        desk.tokens.set_signer(pki.signer(OFFICER_A))
        desk.worker.run_once()
        drafts = [sample_draft(n, OFFICER_A) for n in (1, 2, 3)]
        for draft in drafts:
            save_enrollment(desk.db, draft, desk.key)
        raw = _files(tmp_path / "desk")
        assert b"\x89PNG\r\n\x1a\n" not in raw
        assert b"\xff\xd8\xff" not in raw
        for draft in drafts:
            assert not any(needle in raw for needle in _needles(draft))
        desk.worker.run_once()
        assert outbox_counts(desk.db).acknowledged == 3
        with desk.db.engine.connect() as conn:  # fold the WAL back into the file
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        raw = _files(tmp_path / "desk")
        for draft in drafts:
            assert not any(needle in raw for needle in _needles(draft))
        desk.close()
