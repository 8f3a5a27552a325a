"""The demo environment: ``bts-desk --demo`` runs the real desk over generated local data.

Demo state lives apart from a real desk's (``<data dir>/demo``): its own SQLite store, filled
on the first start with ``DEMO_ROWS`` generated border residents plus the manual's five sample
rows, and the emulators at the far end of the real stacks: the virtual officer card behind
pcscd + vpcd (PIN 123456), the R30x scanner emulator on a pty, the camera stand-in video, and a
local sync service on 127.0.0.1 holding the same people. Qt-free: ``DemoEnvironment.start``
runs on a worker thread (pcscd and the first fill take seconds).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bts_desk.config import Settings

if TYPE_CHECKING:
    from bts_desk.store.db import Database

OPENSC_PKCS11_MODULE = (
    "opensc-pkcs11.dll" if sys.platform == "win32" else "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
)
log = logging.getLogger(__name__)

DEMO_ROWS = 20_000


def demo_settings(settings: Settings) -> Settings:
    """``settings`` redirected to the demo directory and its local SQLite store."""
    demo_dir = settings.data_dir / "demo"
    settings = settings.replace("paths", data_dir=str(demo_dir))
    if not settings.desk.customs_code:  # the demo card's 关区 (its status reports name it)
        settings = settings.replace("desk", customs_code="8609")
    return settings.replace("database", url=f"sqlite:///{demo_dir / 'desk.db'}")


def open_demo_database(settings: Settings, rows: int = DEMO_ROWS) -> Database:
    """Open (migrate) the demo store and fill it on first use. Worker thread: a few seconds.

    SQLAlchemy and numpy are imported here, after the window is shown."""
    from sqlalchemy import func, select

    from bts_desk.store import demo_data
    from bts_desk.store.borderers import BORDERER
    from bts_desk.store.desk_store import open_desk_store

    db, _key = open_desk_store(settings)
    with db.session() as session:
        present = session.execute(select(func.count()).select_from(BORDERER)).scalar_one()
    if present == 0:
        log.info("generating %d demo border residents in %s", rows, db.url)
        demo_data.populate(db, rows)
    return db


@dataclass
class DemoEnvironment:
    """The running emulators of the demo; ``close()`` stops what ``start`` started."""

    settings: Settings
    db: Database
    card: Any = None  # bts_desk.drivers.piv_card.vpcd.VirtualPivCard (a RemovableCard)
    scanner: Any = None  # bts_desk.drivers.r30x.emulator.R30xEmulator (the tour's person)
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def start(cls, settings: Settings) -> DemoEnvironment:
        """Start every emulator and open the demo store (worker thread, a few seconds).

        Drivers are imported here by name only: the demo is the one place that wires them."""
        closers: list[Callable[[], None]] = []
        try:
            demo_camera_source = _driver("camera_standin", "demo_camera_source")
            start_demo_stack = _driver("piv_card.officer_card", "start_demo_stack")
            start_demo_emulator = _driver("r30x.emulator", "start_demo_emulator")
            stack = start_demo_stack(settings.data_dir, settings.log_dir)
            closers.append(stack.close)
            settings = settings.replace("card", ca_cert=str(stack.ca_pem), reader="")
            if settings.card.profile == "pkcs11" and not settings.card.pkcs11_module:
                # The demo card through OpenSC's own PKCS#11 module, as a vendor's would be.
                settings = settings.replace("card", pkcs11_module=OPENSC_PKCS11_MODULE)
            scanner = start_demo_emulator(settings.data_dir / "ttyR30x")
            closers.append(scanner.stop)
            settings = settings.replace("scanner", driver="r30x", port=str(scanner.path))
            source = demo_camera_source(settings.data_dir)
            settings = settings.replace("camera", driver="opencv", source=source, loop=True)
            service_url = _start_service(settings, stack.ca_pem.read_bytes(), closers)
            settings = settings.replace("sync", url=service_url, interval_s=30)
            db = open_demo_database(settings)
            closers.append(db.dispose)
        except BaseException:
            for close in reversed(closers):
                with contextlib.suppress(Exception):
                    close()
            raise
        log.info("demo environment ready: sync %r, scanner %s", service_url, scanner.path)
        return cls(settings=settings, db=db, card=stack.card, scanner=scanner, _closers=closers)

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                log.exception("stopping a demo part failed")
        self._closers.clear()


def _driver(module: str, name: str) -> Any:
    """A function of a driver package. Like the device registry, the core names drivers as
    strings (``bts_desk.drivers`` is mapped from drivers/ and imported only when used)."""
    return getattr(importlib.import_module(f"bts_desk.drivers.{module}"), name)


def _start_service(settings: Settings, ca_pem: bytes, closers: list[Callable[[], None]]) -> str:
    """The local sync service, when the ``server`` extra is installed (a desk bundle has no
    FastAPI: its demo then runs offline and the outbox simply keeps everything)."""
    try:
        from bts_desk.service import start_demo_service
    except ImportError as exc:
        log.warning("no local sync service in this installation (%s): demo runs offline", exc)
        return ""
    service = start_demo_service(
        settings.data_dir / "sync-service.db",
        ca_pem,
        records=DEMO_ROWS,
        grant_all_to=[_driver("piv_card.officer_card", "DEMO_OFFICER_ID")],
    )
    closers.append(service.stop)
    return service.url
