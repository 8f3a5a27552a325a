"""The desk after its window is shown: parts started, wired together, and stopped again.

Order matters for the officer's data: the card session and its lock are wired before any page
is registered, so no record is visible until an officer has logged in with the card. Slow work
(the store and its migrations, the desk key, the demo's emulators) runs on a worker; the rest
happens here on the GUI thread. Each part keeps its own threads (card monitor, scanner worker,
camera worker, sync worker); this class only owns their lifetimes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from bts_desk.config import Settings
from bts_desk.domain import Borderer, EnrollmentDraft, FingerPosition, Officer
from bts_desk.errors import DeskError
from bts_desk.heap import settle_heap
from bts_desk.ui.main_window import OPENING_STORE, MainWindow
from bts_desk.ui.tasks import run_in_background

if TYPE_CHECKING:
    from bts_desk.demo import DemoEnvironment
    from bts_desk.devices.camera import CameraMonitor
    from bts_desk.devices.fingerprint import ScannerMonitor
    from bts_desk.domain import BordererFilter
    from bts_desk.store.crypto import DeskKey
    from bts_desk.store.db import Database
    from bts_desk.sync.desk import DeskSync
    from bts_desk.ui.audit_feed import AuditFeed
    from bts_desk.ui.card_session import CardSessionBridge
    from bts_desk.ui.login_dialog import LoginDialog
    from bts_desk.ui.query_page import QueryPage
    from bts_desk.ui.session_lock import SessionLock
    from bts_desk.ui.verify_page import VerifyPage

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """What the start-up worker hands to the GUI thread."""

    settings: Settings
    db: Database
    key: DeskKey
    env: DemoEnvironment | None = None


def prepare(settings: Settings, demo: bool) -> Prepared:
    """Worker thread: the demo's emulators (if asked), the store, the desk key."""
    from bts_desk.store.crypto import load_key
    from bts_desk.store.desk_store import open_desk_store

    env = None
    if demo:
        from bts_desk.demo import DemoEnvironment

        env = DemoEnvironment.start(settings)  # opens (and fills) the encrypted demo store
        settings, db = env.settings, env.db
        return Prepared(settings, db, load_key(settings.key_file), env)
    db, key = open_desk_store(settings)  # refuses a missing or foreign desk key
    return Prepared(settings, db, key, env)


class DeskShell:
    """Owns the running parts of one desk window (GUI thread)."""

    def __init__(
        self,
        app: QApplication,
        window: MainWindow,
        settings: Settings,
        *,
        demo: bool,
        user_config: Path | None = None,
    ):
        self.app, self.window, self.settings, self.demo = app, window, settings, demo
        self.user_config = user_config  # --config FILE; None: the platform's per-user file
        self.parts: Prepared | None = None
        self.bridge: CardSessionBridge | None = None
        self.lock: SessionLock | None = None
        self.scanner: ScannerMonitor | None = None
        self.camera: CameraMonitor | None = None
        self.sync: DeskSync | None = None
        self.query_key = ""
        self.verify_key = ""
        self.start_error = ""
        self.audit: AuditFeed | None = None
        self.card_control: Any = None
        self.ready_callbacks: list[Any] = []
        self.device_sources: list[Any] = []  # DeviceMonitor.status of each lamp (status reports)

    def start(self) -> None:
        from bts_desk.allocator import tune_allocator

        tune_allocator()  # before the parts' threads allocate (after the login screen)
        self.window.show_status(self.window.tr(OPENING_STORE))
        settings, demo = self.settings, self.demo
        run_in_background(lambda: prepare(settings, demo), self._ready, self._failed)

    def _failed(self, exc: BaseException) -> None:
        message = exc.user_message if isinstance(exc, DeskError) else str(exc)
        self.start_error = message
        log.error("the desk could not start: %s", getattr(exc, "detail", exc), exc_info=exc)
        self.window.show_status("")
        for callback in self.ready_callbacks:
            callback(False)
        if not self.ready_callbacks:
            QMessageBox.critical(self.window, self.window.windowTitle(), message)

    def show_start_error(self) -> None:
        """Why the desk could not start (e.g. the desk key refused), for the officer and IT."""
        QMessageBox.critical(self.window, self.window.windowTitle(), self.start_error)

    def _ready(self, parts: Prepared) -> None:
        self.parts, self.settings = parts, parts.settings
        self.window.show_status("")
        try:
            self._wire_card(parts)
        except DeskError as exc:  # no session, no data: the pages are not registered at all
            self._failed(exc)
            return
        self._wire_audit(parts)
        self._wire_devices(parts)
        self._wire_pages(parts)
        self._wire_sync(parts)
        settle_heap(collect_first=False)  # start-up is done: see bts_desk.heap
        for callback in self.ready_callbacks:
            callback(True)

    # --- parts ----------------------------------------------------------------------------

    def _wire_card(self, parts: Prepared) -> None:
        from bts_desk.ui.card_session import CardSessionBridge
        from bts_desk.ui.session_lock import attach_session

        self.bridge = CardSessionBridge.from_settings(parts.settings, self.window)
        self.lock = attach_session(self.window, self.bridge)
        if parts.env is not None and parts.env.card is not None:
            from bts_desk.ui.card_demo_control import CardDemoControl

            self.card_control = CardDemoControl.install(self.window, parts.env.card)

    def _wire_audit(self, parts: Prepared) -> None:
        """Login, unlock, lock, logout and failed PINs into the audit log (ui.audit_feed)."""
        from bts_desk.ui.audit_feed import AuditFeed

        assert self.bridge is not None
        self.audit = AuditFeed(parts.db, parts.settings.desk.id, self.window)
        self.bridge.session_changed.connect(self.audit.session_event)
        self.bridge.attempt_failed.connect(self.audit.attempt_failed)

    def _wire_devices(self, parts: Prepared) -> None:
        from bts_desk.card.reader_status import CardReaderMonitor
        from bts_desk.devices.camera import CameraMonitor
        from bts_desk.devices.fingerprint import ScannerMonitor
        from bts_desk.devices.status import DeviceKind
        from bts_desk.ui import device_panel

        assert self.bridge is not None
        self.scanner = ScannerMonitor(parts.settings.scanner)
        self.scanner.start()
        self.camera = CameraMonitor(parts.settings.camera)
        self.camera.restart()
        session = self.bridge.session
        token = session.token_info if session.source.name == "pkcs11" else None
        reader = CardReaderMonitor(self.bridge.monitor, parts.settings.card.profile, token)
        self.device_sources = [reader.status, self.scanner.status, self.camera.status]
        device_panel.register(
            self.window,
            {DeviceKind.CARD_READER: reader, DeviceKind.CAMERA: self.camera},
            scanner=self.scanner,
        )

    def _wire_pages(self, parts: Prepared) -> None:
        from bts_desk.ui import audit_page, query_page, verify_page

        ui_state = QSettings(
            str(parts.settings.data_dir / "ui-state.ini"), QSettings.Format.IniFormat, self.window
        )
        self.query_key = query_page.register(self.window, parts.db, ui_state, self._page_created)
        self.verify_key = verify_page.register(
            self.window, query_page.menu_group(), lambda: self._build_verify_page(parts)
        )
        audit_page.register(self.window, parts.db)
        self.window.open_page(self.query_key)

    def _wire_sync(self, parts: Prepared) -> None:
        from bts_desk.sync.desk import DeskSync
        from bts_desk.ui import outbox_page, sync_status

        assert self.bridge is not None
        self.sync = DeskSync.from_settings(parts.settings, parts.db, parts.key)
        worker = self.sync.worker if self.sync else None
        sync_status.install(self.window, worker)
        outbox_page.register(
            self.window, parts.db, worker, lambda: self.officer, parts.settings.desk.id
        )
        if self.sync is not None:
            bridge, sync = self.bridge, self.sync
            bridge.session_changed.connect(
                lambda event: sync.follow_card_session(event, bridge.session.sign_challenge)
            )
            sync.reporter.watch_devices(*self.device_sources)
            if bridge.session.revocation is not None:  # the service's CRL, fetched hourly
                sync.worker.crl_sink = bridge.session.revocation.update_from_der
            sync.start()

    # --- query page hooks -------------------------------------------------------------------

    @property
    def officer(self) -> Officer | None:
        return self.bridge.officer if self.bridge else None

    def _build_verify_page(self, parts: Prepared) -> VerifyPage:
        from bts_desk.ui.verify_page import VerifyPage

        assert self.scanner is not None
        return VerifyPage(
            parts.db,
            parts.key,
            scanner=self.scanner,
            camera=self.camera,
            officer=lambda: self.officer,
            desk_id=parts.settings.desk.id,
            threshold=parts.settings.scanner.match_threshold,
            portrait_source=self._portrait if self.sync is not None else None,
        )

    def _portrait(self, record_id: int) -> bytes:
        """The enrolled face from the sync service (a worker thread; SyncError offline)."""
        from bts_desk.errors import SyncError

        sync = self.sync
        auth = sync.tokens.any_auth() if sync is not None else None
        if sync is None or auth is None:
            raise SyncError("未登录同步服务", "no sync session for the portrait")
        return sync.client.portrait(auth.token(), record_id).jpeg

    def open_verification(self, borderer_id: int) -> None:
        """核验 from 边民备案查询: the 边民核验 tab with the record."""
        from bts_desk.ui.verify_page import VerifyPage

        page = self.window.open_page(self.verify_key)
        if isinstance(page, VerifyPage):
            page.open_borderer(borderer_id)

    def _page_created(self, page: QueryPage) -> None:
        page.enroll_requested.connect(self.open_enrollment)
        page.verify_requested.connect(self.open_verification)
        page.details_viewed.connect(self._audit_details)
        page.searched.connect(self._audit_search)

    def _audit_details(self, borderer_id: int) -> None:
        if self.audit is not None:
            self.audit.detail(self.officer, borderer_id)

    def _audit_search(self, flt: BordererFilter) -> None:
        if self.audit is not None:
            self.audit.search(self.officer, flt)

    def open_enrollment(self, borderer_id: int) -> None:
        """补录 of one record: read it (worker), then the modal dialog over the window."""
        from bts_desk.store import borderers

        parts = self.parts
        if parts is None or self.officer is None:
            return
        run_in_background(
            lambda: borderers.get(parts.db, borderer_id),
            self._show_enrollment,
            lambda exc: log.error("cannot read record %d: %s", borderer_id, exc),
        )

    def _show_enrollment(self, borderer: Borderer | None) -> None:
        from bts_desk.store.enrollments import save_enrollment
        from bts_desk.ui.enroll_dialog import EnrollDialog

        parts, officer = self.parts, self.officer
        if borderer is None or parts is None or officer is None or not borderer.can_enroll:
            return
        assert self.scanner is not None and self.camera is not None

        def save(draft: EnrollmentDraft) -> None:
            save_enrollment(parts.db, draft, parts.key)

        dialog = EnrollDialog(
            borderer,
            officer=officer,
            desk_id=parts.settings.desk.id,
            scanner=self.scanner,
            camera=self.camera,
            save=save,
            parent=self.window,
            positions=self._finger_positions(),
            remember_fingers=self._remember_fingers,
        )
        dialog.saved.connect(self._enrollment_saved)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _finger_positions(self) -> tuple[FingerPosition, FingerPosition] | None:
        ui = self.settings.ui
        try:
            return (
                FingerPosition.from_code(ui.finger1_position),
                FingerPosition.from_code(ui.finger2_position),
            )
        except ValueError:
            log.warning("ignoring finger positions %r", (ui.finger1_position, ui.finger2_position))
            return None

    def _remember_fingers(self, first: FingerPosition, second: FingerPosition) -> None:
        """The officer's choice of fingers, for the next 补录 and the next start (per-user
        settings file, written on a worker)."""
        from bts_desk.config import save_user_values

        values = {"finger1_position": int(first), "finger2_position": int(second)}
        self.settings = self.settings.replace("ui", **values)
        run_in_background(
            lambda: save_user_values("ui", values, self.user_config),
            lambda _path: None,
            lambda exc: log.warning("cannot save the finger choice: %s", exc),
        )

    def _enrollment_saved(self, _uuid: str) -> None:
        from bts_desk.ui.query_page import QueryPage

        page = self.window.open_page(self.query_key)
        if isinstance(page, QueryPage):
            page.refresh()
        if self.sync is not None:
            self.sync.saved()

    # --- login and shutdown ---------------------------------------------------------------------

    def attach_login(self, login: LoginDialog, ok: bool) -> None:
        """The login screen shown at start-up gets the card session (or closes when the
        desk could not start: the error is shown instead)."""
        if ok and self.bridge is not None:
            login.attach(self.bridge)
            return
        login.reject()
        self.show_start_error()

    def ask_for_login(self) -> None:
        """The login dialog over the locked window (people; the tour logs in by itself)."""
        from bts_desk.ui.login_dialog import run_login

        if self.bridge is not None:
            QTimer.singleShot(0, lambda: run_login(self.bridge, self.window))  # type: ignore[arg-type]

    def close(self) -> None:
        """Stop every part, newest first (application exit)."""
        verify = self.window.page(self.verify_key) if self.verify_key else None
        if verify is not None:
            verify.shutdown()  # type: ignore[attr-defined]
        if self.sync is not None:
            self.sync.stop()
        if self.scanner is not None:
            self.scanner.stop()
        if self.bridge is not None:
            self.bridge.close()
        if self.parts is not None:
            if self.parts.env is not None:
                self.parts.env.close()
            else:
                self.parts.db.dispose()
