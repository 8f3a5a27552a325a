"""Fixtures shared by the desk ↔ sync service tests (``sync_support`` holds the helpers).

- ``pki``: a test officer CA with OFFICER_A and OFFICER_B (one per module: key generation is
  slow);
- ``service``: the in-process service on 127.0.0.1 seeded with ``sync_support``'s records; the
  test fails if any request reached the unexpected-error handler;
- ``desk``: a desk (encrypted store, client, token broker, worker) on ``service`` with
  OFFICER_A's signer.

A module that needs another service or desk (more records, a console administrator, no
officer) defines its own fixture of the same name, which takes precedence here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_support import OFFICER_A, Desk, Pki, make_desk, make_pki, start_service

from bts_desk.service.local import LocalService


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def service(tmp_path: Path, pki: Pki) -> Iterator[LocalService]:
    with start_service(tmp_path, pki) as running:
        yield running
        assert running.internal_errors == 0


@pytest.fixture
def desk(tmp_path: Path, service: LocalService, pki: Pki) -> Iterator[Desk]:
    made = make_desk(tmp_path / "desk", service.url)
    made.tokens.set_signer(pki.signer(OFFICER_A))
    yield made
    made.close()
