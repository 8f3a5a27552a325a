"""A save killed at any moment leaves all of it or none of it (issue 6, "Save")."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from bts_desk.store.audit import AuditAction
from bts_desk.store.borderers import upsert_records
from bts_desk.store.db import open_database
from bts_desk.store.demo_data import MANUAL_ROWS
from bts_desk.store.models import AuditRow, BordererRow, EnrollmentRow, OutboxRow

SAVER = """
import sys
from pathlib import Path
from bts_desk.domain import Officer
from bts_desk.store.crypto import load_or_create_key
from bts_desk.store.db import open_database
from bts_desk.store.enrollments import save_enrollment
from bts_desk.sync.samples import sample_draft

db = open_database(sys.argv[1])
key = load_or_create_key(Path(sys.argv[2]))
ids = [int(x) for x in sys.argv[3].split(",")]
officer = Officer("GZ1001", "李明", "5301")
print("ready", flush=True)
n = 0
while True:
    save_enrollment(db, sample_draft(ids[n % len(ids)], officer), key)
    n += 1
"""


def test_killed_saves_leave_all_or_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    db = open_database(url)
    upsert_records(db, MANUAL_ROWS)
    ids = ",".join(str(r.id) for r in MANUAL_ROWS)
    rng = random.Random(int.from_bytes(os.urandom(4)))
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVER, url, str(tmp_path / "desk.key"), ids],
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.01, 0.4))  # a few saves in, then mid-transaction
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    with db.session() as s:
        enrollments = s.execute(select(func.count()).select_from(EnrollmentRow)).scalar_one()
        outbox = s.execute(select(func.count()).select_from(OutboxRow)).scalar_one()
        audits = s.execute(
            select(func.count()).where(AuditRow.action == str(AuditAction.ENROLL))
        ).scalar_one()
        orphans = s.execute(
            select(func.count())
            .select_from(EnrollmentRow)
            .outerjoin(OutboxRow, OutboxRow.enrollment_uuid == EnrollmentRow.uuid)
            .where(OutboxRow.id.is_(None))
        ).scalar_one()
        unflagged = s.execute(
            select(func.count())
            .select_from(EnrollmentRow)
            .join(BordererRow, BordererRow.id == EnrollmentRow.borderer_id)
            .where(BordererRow.has_finger.is_(False) | BordererRow.last_op_date.is_(None))
        ).scalar_one()
    assert enrollments > 0
    assert enrollments == outbox == audits and orphans == 0
    assert unflagged == 0  # every enrolled record shows its fingerprints and 最近操作日期
    db.dispose()
