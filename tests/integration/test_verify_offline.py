"""边民核验 offline first, over the real stack: a 补录 made from the emulated scanner is
verifiable on its own desk at once (before upload, and after the upload deleted its bundle),
travels to the service, comes to another desk of the district with the pull (templates and
finger positions only, sealed in the store), and that desk verifies the borderer with the sync
service stopped: the genuine finger passes, another finger fails."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sync_support import OFFICER_A, Pki, make_desk, make_pki, start_service

from bts_desk.capture.finger import FingerEnroller
from bts_desk.capture.verify import TwoSlotVerifier, decide
from bts_desk.domain import FingerCapture, FingerPosition
from bts_desk.drivers.r30x import fingerimage as fi
from bts_desk.drivers.r30x.driver import R30xScanner
from bts_desk.drivers.r30x.emulator import R30xEmulator
from bts_desk.drivers.r30x.fingerimage import MATCH_THRESHOLD
from bts_desk.errors import SyncError
from bts_desk.service.borderers import update_record
from bts_desk.service.local import LocalService
from bts_desk.store.enrollments import save_enrollment
from bts_desk.store.models import FingerTemplateRow
from bts_desk.store.templates import enrolled_fingers
from bts_desk.sync.pull import Puller
from bts_desk.sync.samples import sample_draft

RECORD = 7
FINGERS = (71, 72, 73)


@pytest.fixture(scope="module", autouse=True)
def _prints_made() -> None:
    """The emulator's synthetic prints of this module's fingers, made before the tests (the
    emulator's thread shares the cache): on a loaded machine the first image of a finger can
    take longer than the driver's 3 s reply timeout."""
    for finger in FINGERS:
        fi.master_print(finger)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def service(tmp_path: Path, pki: Pki) -> Iterator[LocalService]:
    with start_service(tmp_path, pki, records=30) as running:
        yield running


def _capture(
    emulator: R30xEmulator, scanner: R30xScanner, finger: int, slot: int, position: FingerPosition
) -> FingerCapture:
    emulator.place(finger, 3)
    capture = FingerEnroller(scanner, slot, lambda _e: None, poll_interval=0.0).run()
    return dataclasses.replace(capture, position=position)


def test_enrolled_here_then_pulled_elsewhere_and_verified_with_the_service_down(
    tmp_path: Path,
    service: LocalService,
    pki: Pki,
    r30x_emulator: R30xEmulator,
    r30x_scanner: R30xScanner,
) -> None:
    right = _capture(r30x_emulator, r30x_scanner, 71, 1, FingerPosition.RIGHT_INDEX)
    left = _capture(r30x_emulator, r30x_scanner, 72, 2, FingerPosition.LEFT_MIDDLE)
    here = make_desk(tmp_path / "here", service.url)
    there = make_desk(tmp_path / "there", service.url)
    try:
        here.tokens.set_signer(pki.signer(OFFICER_A))
        there.tokens.set_signer(pki.signer(OFFICER_A))
        Puller(here.db, here.client, key=here.key).pull(here.tokens.any_auth().token())  # type: ignore[union-attr]
        draft = dataclasses.replace(
            sample_draft(RECORD, OFFICER_A, desk_id="desk-test"),
            fingers=(right, left),
            scanner_model="R503",
        )
        save_enrollment(here.db, draft, here.key)
        # verifiable at once, before any upload
        local = enrolled_fingers(here.db, RECORD, here.key)
        assert [(f.position, f.template_format) for f in local] == [
            (FingerPosition.RIGHT_INDEX, "grow-r50x-char"),
            (FingerPosition.LEFT_MIDDLE, "grow-r50x-char"),
        ]
        assert local[0].template == right.template
        # sealed at rest: the raw template bytes are not in the row
        with here.db.session() as session:
            sealed = session.scalars(select(FingerTemplateRow.sealed)).all()
        assert sealed and all(right.template[:64] not in blob for blob in sealed)

        result = here.worker.run_once(force=True)
        assert result.uploaded == 1, result
        # online, the enrolled face comes from the service (portraits are never pulled)
        token = here.tokens.any_auth().token()  # type: ignore[union-attr]
        face = here.client.portrait(token, RECORD)
        assert draft.face is not None and face.jpeg == draft.face.jpeg
        assert face.enrollment_uuid == draft.uuid
        with pytest.raises(SyncError) as missing:
            here.client.portrait(token, RECORD + 1)  # enrolled nothing
        assert missing.value.user_message == "该边民没有登记照片"
        assert enrolled_fingers(here.db, RECORD, here.key)[0].template == right.template

        Puller(there.db, there.client, key=there.key).pull(there.tokens.any_auth().token())  # type: ignore[union-attr]
        pulled = enrolled_fingers(there.db, RECORD, there.key)
        assert [f.position for f in pulled] == [
            FingerPosition.RIGHT_INDEX,
            FingerPosition.LEFT_MIDDLE,
        ]
        assert [f.template for f in pulled] == [right.template, left.template]
        assert pulled[0].module_family == "R503"
        assert enrolled_fingers(there.db, RECORD + 1, there.key) == []
    finally:
        here.close()
    service.stop()  # the sync service is down from here on

    for finger, genuine in ((71, True), (73, False)):
        r30x_emulator.place(finger, 1)
        result = TwoSlotVerifier(r30x_scanner, pulled[0], lambda _e: None).run()
        outcome = decide(pulled[0], result, MATCH_THRESHOLD)
        assert outcome.passed is genuine, (finger, outcome)
    there.close()


def test_a_record_with_an_unsent_enrollment_keeps_its_local_templates(
    tmp_path: Path, service: LocalService, pki: Pki
) -> None:
    desk = make_desk(tmp_path / "desk", service.url)
    try:
        desk.tokens.set_signer(pki.signer(OFFICER_A))
        token = desk.tokens.any_auth().token()  # type: ignore[union-attr]
        Puller(desk.db, desk.client, key=desk.key).pull(token)
        other = make_desk(tmp_path / "other", service.url)
        other.tokens.set_signer(pki.signer(OFFICER_A))
        older = sample_draft(RECORD, OFFICER_A, seed=1)
        Puller(other.db, other.client, key=other.key).pull(token)
        save_enrollment(other.db, older, other.key)
        assert other.worker.run_once(force=True).uploaded == 1
        other.close()
        newer = sample_draft(RECORD, OFFICER_A, seed=2)
        save_enrollment(desk.db, newer, desk.key)  # not uploaded yet
        update_record(service.app.state.db, RECORD, address="云南省河口县")
        Puller(desk.db, desk.client, key=desk.key).pull(token)
        kept = enrolled_fingers(desk.db, RECORD, desk.key)
        assert [f.template for f in kept] == [f.template for f in newer.fingers]
    finally:
        desk.close()
