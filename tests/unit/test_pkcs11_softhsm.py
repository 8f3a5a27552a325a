"""The PKCS#11 card profile on SoftHSM2 tokens made by the test set-up (no PC/SC at all):
key kinds, choice of token, module errors. The card suite (``test_card_login.py``) runs its
login, wrong PIN, copied certificate, challenge and logout tests on SoftHSM2 too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pkcs11_stack import SoftHsmFactory

from bts_desk.card.identity import verify_challenge
from bts_desk.card.pkcs11 import Pkcs11ModuleError, Pkcs11TokenSource
from bts_desk.card.profile import KeyMismatchError
from bts_desk.card.session import OfficerSession, SessionState
from bts_desk.drivers.piv_card import pki
from bts_desk.errors import CardError

PIN = "123456"


@pytest.fixture(scope="module")
def ca() -> pki.TestCa:
    return pki.make_ca("SoftHSM Officer CA")


@pytest.fixture
def sources() -> Iterator[list[Pkcs11TokenSource]]:
    made: list[Pkcs11TokenSource] = []
    yield made
    for source in made:
        source.close()


def session_on(
    module: str, ca: pki.TestCa, made: list[Pkcs11TokenSource], token: str = ""
) -> OfficerSession:
    source = Pkcs11TokenSource(module, token)
    made.append(source)
    return OfficerSession(source, [ca.certificate])


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa2048"])
def test_softhsm_token_logs_in_and_signs(
    softhsm_tokens: SoftHsmFactory,
    ca: pki.TestCa,
    sources: list[Pkcs11TokenSource],
    kind: pki.KeyKind,
) -> None:
    credentials = pki.issue_officer(ca, "李海关", "GY860901", "8609", key_kind=kind)
    module = softhsm_tokens(credentials, label=f"officer-{kind}")
    session = session_on(module, ca, sources)
    officer = session.login(PIN)
    assert officer.officer_id == "GY860901"
    assert session.state is SessionState.LOGGED_IN
    assert f"officer-{kind}" in session.token_location
    challenge = b"sync challenge"
    assert verify_challenge(officer.certificate_der, challenge, session.sign_challenge(challenge))


def test_token_chosen_by_label_and_copied_certificate_refused(
    softhsm_tokens: SoftHsmFactory, ca: pki.TestCa, sources: list[Pkcs11TokenSource]
) -> None:
    real = pki.issue_officer(ca, "李海关", "GY860901", "8609")
    thief = pki.OfficerCredentials(key=pki.generate_key(), certificate=real.certificate)
    softhsm_tokens(real, label="real")
    module = softhsm_tokens(thief, label="thief")
    with pytest.raises(KeyMismatchError) as error:
        session_on(module, ca, sources, token="thief").login(PIN)
    assert error.value.user_message.startswith("卡片密钥验证失败")
    assert session_on(module, ca, sources, token="real").login(PIN).officer_id == "GY860901"


def test_module_path_that_does_not_exist(ca: pki.TestCa, tmp_path: Path) -> None:
    with pytest.raises(Pkcs11ModuleError) as error:
        Pkcs11TokenSource(str(tmp_path / "vendor-pkcs11.so"))
    assert "找不到卡介质中间件" in error.value.user_message


def test_a_file_that_is_no_module(ca: pki.TestCa, tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-module.so"
    bogus.write_bytes(b"\x7fELF garbage")
    with pytest.raises(Pkcs11ModuleError) as error:
        Pkcs11TokenSource(str(bogus))
    assert "无法加载" in error.value.user_message


def test_no_token_matching_the_configured_label(
    softhsm_tokens: SoftHsmFactory, ca: pki.TestCa, sources: list[Pkcs11TokenSource]
) -> None:
    module = softhsm_tokens(pki.issue_officer(ca, "李海关", "GY860901", "8609"))
    with pytest.raises(CardError):
        session_on(module, ca, sources, token="no such token").login(PIN)
