"""Making virtual officer cards: a CA, an officer certificate and key on a PIV applet.

Used by the demo (``start_demo_card``), the tests and the CLI. The CA is a throw-away test CA
made with ``cryptography`` (``pki.py``); its PEM is written where ``settings.card.ca_cert`` can
point so the desk trusts the virtual cards it issues. Any thread.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .applet import PivApplet
from .pcscd import ensure_pcscd, stop_pcscd
from .pki import OfficerCredentials, TestCa, issue_officer, make_ca
from .vpcd import VPCD_HOST, VPCD_PORT, VirtualPivCard

log = logging.getLogger(__name__)

DEMO_PIN = "123456"
DEMO_OFFICER_NAME = "李海关"
DEMO_OFFICER_ID = "GY860901"
DEMO_CUSTOMS_CODE = "8609"


def make_card(
    credentials: OfficerCredentials | None,
    pin: str,
    *,
    tries: int = 3,
    max_tries: int = 3,
    has_piv: bool = True,
    failing: bool = False,
    port: int = VPCD_PORT,
    host: str = VPCD_HOST,
    label: str = "virtual PIV card",
) -> VirtualPivCard:
    """A virtual card (not inserted yet). ``credentials=None``: a card with no certificate/key;
    ``tries=0``: a blocked PIN; ``has_piv=False``: a card without the PIV application;
    ``failing=True``: a card that answers garbage (one byte) to every command."""
    applet = PivApplet(
        pin=pin,
        certificate_der=credentials.der if credentials else b"",
        key=credentials.key if credentials else None,
        max_tries=max_tries,
        tries_left=tries,
        has_piv=has_piv,
        failing=failing,
    )
    return VirtualPivCard(applet, host=host, port=port, label=label)


def load_or_make_ca(directory: Path) -> TestCa:
    """The test CA kept in ``directory`` (``ca.pem`` + ``ca-key.pem``), made on first use, so
    several virtual cards (demo, CLI) are trusted by the same desk. Test material only."""
    cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
    if cert_path.is_file() and key_path.is_file():
        from cryptography import x509

        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return TestCa(
                key=key, certificate=x509.load_pem_x509_certificate(cert_path.read_bytes())
            )
        log.warning("%s is not an EC key; making a new test CA", key_path)
    ca = make_ca("BTS Demo Officer CA")
    directory.mkdir(parents=True, exist_ok=True)
    key_pem = ca.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_path.write_bytes(key_pem)
    key_path.chmod(0o600)
    cert_path.write_bytes(ca.pem)
    return ca


def start_demo_card(
    data_dir: Path, *, port: int = VPCD_PORT, insert: bool = True
) -> tuple[VirtualPivCard, Path]:
    """The demo officer's card (李海关, GY860901, 关区 8609, PIN 123456), inserted into vpcd.

    Returns the card and the CA PEM path to put into ``settings.card.ca_cert``. The CA lives
    in ``data_dir/demo-card/``; a fresh officer certificate is issued on every start."""
    ca = load_or_make_ca(data_dir / "demo-card")
    credentials = issue_officer(ca, DEMO_OFFICER_NAME, DEMO_OFFICER_ID, DEMO_CUSTOMS_CODE)
    card = make_card(credentials, DEMO_PIN, port=port, label="demo officer card")
    if insert:
        card.insert()
    return card, data_dir / "demo-card" / "ca.pem"


@dataclass
class DemoCardStack:
    """What the demo runs for the card: pcscd (if it had to be started), the inserted demo
    card and the CA PEM for ``settings.card.ca_cert``. ``close()`` at exit."""

    card: VirtualPivCard
    ca_pem: Path
    pcscd: subprocess.Popen[bytes] | None = None

    def close(self) -> None:
        self.card.remove()
        stop_pcscd(self.pcscd)


def start_demo_stack(data_dir: Path, log_dir: Path | None = None) -> DemoCardStack:
    """pcscd (started if none runs; its output in ``log_dir/pcscd.log``) + the demo card.
    Blocks up to ~15 s while pcscd comes up: call it on a worker thread. CardError if the
    PC/SC stack cannot be had (not root, packages missing)."""
    process = ensure_pcscd(log_dir / "pcscd.log" if log_dir else None)
    try:
        card, ca_pem = start_demo_card(data_dir)
    except BaseException:
        stop_pcscd(process)
        raise
    return DemoCardStack(card=card, ca_pem=ca_pem, pcscd=process)
