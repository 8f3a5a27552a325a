"""pytest plugin: PKCS#11 test beds for the card profile ``pkcs11``.

- ``OPENSC_MODULE``: OpenSC's own module (Debian ``opensc-pkcs11``), which reaches the virtual
  PIV card through pcscd + vpcd exactly as it would a real card (tests using it need ``pcscd``
  and the ``/work/pcsc.lock`` discipline of the other card tests).
- ``softhsm_tokens``: SoftHSM2 (Debian ``softhsm2``) with its own ``SOFTHSM2_CONF`` and token
  directory in the test's temp dir; ``add(credentials, label, pin)`` initialises a token with
  ``softhsm2-util``, imports the officer's key (``--import``, PKCS#8) and writes the certificate
  object with the same CKA_ID with OpenSC's ``pkcs11-tool``. No PC/SC involved.

Registered from ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bts_desk.drivers.piv_card.pki import OfficerCredentials

OPENSC_MODULE = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
SO_PIN = "12345678"
CKA_ID = b"\x01"

SoftHsmFactory = Callable[..., str]


@pytest.fixture
def softhsm_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SoftHsmFactory]:
    """``add(credentials, label="officer", pin="123456") -> module path``."""
    if not Path(SOFTHSM_MODULE).is_file():
        pytest.fail(f"SoftHSM2 is not installed ({SOFTHSM_MODULE}): ./dev.sh setup")
    tokens = tmp_path / "softhsm-tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}

    def add(credentials: OfficerCredentials, label: str = "officer", pin: str = "123456") -> str:
        key_pem = tmp_path / f"{label}-key.pem"
        key_pem.write_bytes(
            credentials.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        util = ["softhsm2-util"]
        subprocess.run(
            [*util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", SO_PIN],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [*util, "--import", str(key_pem), "--token", label, "--pin", pin, "--id", CKA_ID.hex(),
             "--label", "officer key"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        key_pem.unlink()
        cert_der = tmp_path / f"{label}-cert.der"
        cert_der.write_bytes(credentials.der)
        subprocess.run(
            ["pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", label, "--login",
             "--pin", pin, "--write-object", str(cert_der), "--type", "cert", "--id", CKA_ID.hex(),
             "--label", "officer certificate"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        return SOFTHSM_MODULE

    yield add
