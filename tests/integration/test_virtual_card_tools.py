"""The demo card and the virtual card's command line, over the real pcscd + vpcd."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from pcsc_stack import reader_name, wait_card_state

from bts_desk.card.identity import verify_challenge
from bts_desk.card.piv import PivProfile
from bts_desk.card.session import OfficerSession
from bts_desk.config import Settings
from bts_desk.drivers.piv_card import pki
from bts_desk.drivers.piv_card.officer_card import DEMO_PIN, start_demo_card, start_demo_stack
from bts_desk.drivers.piv_card.vpcd import VPCD_PORT

pytestmark = pytest.mark.pcscd


def test_demo_card_logs_in_with_the_readme_pin(
    pcscd: list[str], settings: Settings, tmp_path: Path
) -> None:
    stack = start_demo_stack(tmp_path / "data", tmp_path / "logs")
    try:
        assert stack.pcscd is None  # the suite's pcscd was running: nothing else started
        wait_card_state(reader_name(0), present=True)
        session = OfficerSession.from_settings(settings.replace("card", ca_cert=str(stack.ca_pem)))
        assert DEMO_PIN == "123456"
        officer = session.login(DEMO_PIN)
        assert (officer.name, officer.officer_id, officer.customs_code) == (
            "李海关",
            "GY860901",
            "8609",
        )
        session.logout()
    finally:
        stack.close()
        wait_card_state(reader_name(0), present=False)
    again, same_ca = start_demo_card(tmp_path / "data", insert=False)
    assert same_ca == stack.ca_pem  # the demo CA is kept, so the configured path stays valid
    assert not again.inserted


def test_command_line_card_on_the_second_slot(
    pcscd: list[str], settings: Settings, tmp_path: Path
) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bts_desk.drivers.piv_card",
            "--pin",
            "24681357",
            "--name",
            "王关员",
            "--officer-id",
            "GY860977",
            "--port",
            str(VPCD_PORT + 1),
            "--ca-dir",
            str(tmp_path / "ca"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_card_state(reader_name(1), present=True, timeout=10)
        configured = settings.replace(
            "card", ca_cert=str(tmp_path / "ca" / "ca.pem"), reader="00 01"
        )
        session = OfficerSession.from_settings(configured)
        assert session.login("24681357").officer_id == "GY860977"
        session.logout()
        assert process.stdin is not None
        process.stdin.write("r\n")
        process.stdin.flush()
        wait_card_state(reader_name(1), present=False)
        process.stdin.write("q\n")
        process.stdin.flush()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stdout is not None
    assert "ca.pem" in process.stdout.read()


def test_command_line_card_with_a_given_certificate_and_key(
    pcscd: list[str],
    test_ca: pki.TestCa,
    officer_credentials: Callable[..., pki.OfficerCredentials],
    tmp_path: Path,
) -> None:
    credentials = officer_credentials("赵关员", "GY860955", "8609")
    cert = tmp_path / "officer.pem"
    key = tmp_path / "officer-key.pem"
    cert.write_bytes(credentials.certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        credentials.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    command = [sys.executable, "-m", "bts_desk.drivers.piv_card", "--pin", "13572468"]
    command += ["--cert", str(cert), "--key", str(key), "--port", str(VPCD_PORT + 1)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, text=True)
    try:
        wait_card_state(reader_name(1), present=True, timeout=10)
        session = OfficerSession(PivProfile(), [test_ca.certificate], reader_filter="00 01")
        officer = session.login("13572468")
        assert officer.officer_id == "GY860955"
        challenge = b"server challenge"
        assert verify_challenge(
            officer.certificate_der, challenge, session.sign_challenge(challenge)
        )
        session.logout()
        assert process.stdin is not None
        process.stdin.write("q\n")
        process.stdin.flush()
        assert process.wait(timeout=10) == 0
        wait_card_state(reader_name(1), present=False)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
