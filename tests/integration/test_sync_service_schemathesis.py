"""schemathesis against the live sync service on 127.0.0.1, from its generated OpenAPI.

All four phases (examples, coverage, fuzzing, stateful) and every check, authenticated with a
real officer token (challenge → signature with the test officer's key → session). One run
with a fixed seed (reproducible) and one with a fresh seed, printed so a failure can be
replayed with ``schemathesis run --seed N``. 0 failures expected; the ``svc`` fixture also
asserts that no request reached the unexpected-error handler. SQLite only: this is about the
HTTP and validation layers (the PostgreSQL paths are covered by the other service tests).

The one allowance (``schemathesis.toml`` below): an enrollment that fits the schema may still
be refused with 422, because what decides it cannot be said in JSON Schema — whether the
base64 holds a decodable PNG/JPEG, and whether the record is 正常 and 已同步海关.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sync_service_stack import ApiClient, SvcPki

from bts_desk.service.local import LocalService
from bts_desk.sync import wire

FIXED_SEED = 20261201
FRESH_SEED = secrets.randbelow(2**31)  # in the test id: replay a failure with that seed
MAX_EXAMPLES = 25
SQLITE_ONLY = pytest.mark.parametrize("svc_db_url", ["sqlite"], indirect=True)

CONFIG = f"""
[checks.negative_data_rejection]  # the defaults, and 413 for a field over its size limit
expected-statuses = [
  "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"
]

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "429"]

[[operations]]
include-path-regex = "^{wire.API_PREFIX}/enrollments"

[operations.checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]
"""


def run_schemathesis(svc: LocalService, token: str, tmp_path: Path, seed: int) -> str:
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(svc.app.openapi()), encoding="utf-8")
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        str(schema),
        "--url",
        svc.url,
        "--header",
        f"Authorization: Bearer {token}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--seed",
        str(seed),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    started = time.monotonic()
    done = subprocess.run(  # cwd: its .schemathesis cache stays out of the work tree
        command, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path
    )
    print(f"schemathesis seed {seed}: exit {done.returncode} in {time.monotonic() - started:.0f} s")
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-3000:]
    return done.stdout


@SQLITE_ONLY
@pytest.mark.parametrize(
    "seed", [FIXED_SEED, FRESH_SEED], ids=[f"fixed-seed-{FIXED_SEED}", f"fresh-seed-{FRESH_SEED}"]
)
def test_schemathesis_finds_nothing(
    svc: LocalService, api: ApiClient, svc_pki: SvcPki, tmp_path: Path, seed: int
) -> None:
    token = api.login(svc_pki.officer_a)
    out = run_schemathesis(svc, token, tmp_path, seed)
    assert "No issues found" in out or " passed" in out, out[-3000:]
