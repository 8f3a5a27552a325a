"""The R30x driver's contract, against every emulated module (``MODELS``: AS608 that ignores
HandShake and ReadProdInfo, R307 that refuses them, R503 with both and its 192×192 sensor,
a generic one with HandShake but no ReadProdInfo), through pyserial on a real pty: every
command, every wire fault, unplug and replug, baud rates."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from scanner_stack import MODELS

from bts_desk.capture.finger import FingerEnroller
from bts_desk.devices.fingerprint import (
    MergeFailedError,
    PressRejectedError,
    ScannerDisconnectedError,
    ScannerRefusedError,
    ScannerTimeoutError,
)
from bts_desk.devices.ports import AUTO, list_serial_ports, resolve_port
from bts_desk.drivers.r30x import fingerimage
from bts_desk.drivers.r30x.driver import R30xScanner
from bts_desk.drivers.r30x.emulator import EMULATED_MODELS, Fault, R30xEmulator
from bts_desk.drivers.r30x.protocol import (
    BadChecksumError,
    BadImageError,
    Cmd,
    TruncatedFrameError,
)
from bts_desk.errors import ScannerError


@pytest.fixture(params=MODELS)
def emulator_model(request: pytest.FixtureRequest) -> str:
    model: str = request.param
    return model


def _press(scanner: R30xScanner, slot: int) -> None:
    assert scanner.capture()
    scanner.extract(slot)


def test_open_reads_the_system_parameters_and_learns_the_model(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    info = r30x_scanner.check()
    profile = r30x_emulator.profile
    assert info.port == str(r30x_emulator.path)
    assert (info.capacity, info.packet_size, info.baudrate) == (r30x_emulator.capacity, 128, 57600)
    assert info.security_level == 3
    assert (info.width, info.height, info.dpi) == (profile.width, profile.height, profile.dpi)
    assert info.template_bytes == profile.template_bytes
    assert info.template_format == profile.template_format
    # opened as every module of the family is: VfyPwd, ReadSysPara; ReadProdInfo asked once
    assert r30x_emulator.commands[:3] == [Cmd.VFY_PWD, Cmd.READ_SYS_PARA, Cmd.READ_PROD_INFO]
    if profile.product_info:
        assert (info.model, info.serial) == ("R503", "EMU00001")
    else:
        assert (info.model, info.serial) == ("R30x/AS608 (EF01)", "FFFFFFFF")
    # the idle check: HandShake only where the model has it, else ReadSysPara
    assert r30x_emulator.commands[-1] == (
        Cmd.HANDSHAKE if r30x_scanner.profile.handshake else Cmd.READ_SYS_PARA
    )
    if not profile.handshake:
        assert Cmd.HANDSHAKE not in r30x_emulator.commands


def test_a_configured_model_is_not_asked_what_it_has_not(emulator_model: str) -> None:
    with R30xEmulator(model=emulator_model, address=0x0000ABCD) as emulator:
        scanner = R30xScanner(
            str(emulator.path), address=0x0000ABCD, retries=0, profile=emulator_model
        )
        info = scanner.open()
        assert info.template_bytes == emulator.profile.template_bytes
        assert scanner.check() == info
        if not emulator.profile.product_info:
            assert info.serial == "0000ABCD"  # no serial number: named by its address
            assert Cmd.READ_PROD_INFO not in emulator.commands
        assert scanner.capture() is False  # talks to the module at its own address
        scanner.close()


def test_a_module_that_ignores_handshake_opens_quickly() -> None:
    """An AS608 that never answers 0x40 or 0x3C opens (the old driver timed out after 4 s)
    and stays green."""
    with R30xEmulator(model="as608") as emulator:
        scanner = R30xScanner(str(emulator.path), retries=0)
        started = time.monotonic()
        info = scanner.open()
        assert time.monotonic() - started < 2.0
        assert (info.width, info.height, info.template_bytes) == (256, 288, 512)
        for _ in range(3):
            assert scanner.check() == info
        assert Cmd.HANDSHAKE not in emulator.commands
        scanner.close()


def test_gen_img_reports_no_finger_then_a_finger(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.no_finger(3)
    r30x_emulator.place(4, gap=0)
    assert [r30x_scanner.capture() for _ in range(4)] == [False, False, False, True]
    assert r30x_scanner.capture() is False  # lifted once nothing more is scripted


def test_same_finger_matches_and_merges_other_finger_does_not(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.place(7, 2, gap=0)
    r30x_emulator.place(8, 1, gap=0)
    _press(r30x_scanner, 1)
    _press(r30x_scanner, 2)
    same = r30x_scanner.compare()
    assert same.matched and same.score >= fingerimage.MATCH_THRESHOLD
    assert 50 <= same.quality <= 100
    r30x_scanner.merge()
    template = r30x_scanner.read_template(1)
    assert len(template) == r30x_emulator.profile.template_bytes
    assert r30x_scanner.read_template(2) == template
    _press(r30x_scanner, 2)
    other = r30x_scanner.compare()
    assert not other.matched and other.score < fingerimage.MATCH_THRESHOLD
    with pytest.raises(MergeFailedError) as info:
        r30x_scanner.merge()
    assert info.value.code == 0x0A and "同一手指" in info.value.user_message


def test_down_char_then_match(r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner) -> None:
    r30x_emulator.place(3, 2, gap=0)
    _press(r30x_scanner, 1)
    template = r30x_scanner.read_template(1)
    _press(r30x_scanner, 1)
    r30x_scanner.write_template(2, template)
    assert r30x_scanner.compare().matched
    blank = bytes(r30x_emulator.profile.template_bytes)
    r30x_scanner.write_template(2, blank)  # not a char file: no match, no crash
    assert not r30x_scanner.compare().matched
    with pytest.raises(ValueError):
        r30x_scanner.write_template(2, b"")


@pytest.mark.parametrize("packet_size", [32, 128, 256])
def test_up_image_in_the_module_packet_size(packet_size: int, emulator_model: str) -> None:
    with R30xEmulator(packet_size=packet_size, model=emulator_model) as emulator:
        scanner = R30xScanner(str(emulator.path), retries=0)
        assert scanner.open().packet_size == packet_size
        emulator.place(2, gap=0)
        assert scanner.capture()
        image = scanner.read_image()
        size = (emulator.profile.width, emulator.profile.height)
        expected = fingerimage.press_image(2, 1, size=size)
        assert image.shape == (size[1], size[0]) and image.dtype == np.uint8
        assert scanner.image_bits == 4
        assert np.abs(image.astype(int) - expected.astype(int)).max() <= 17  # 4-bit levels
        scanner.close()


def test_store_search_and_count(r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner) -> None:
    r30x_emulator.place(5, 2, gap=0)
    _press(r30x_scanner, 1)
    r30x_scanner.store(1, 17)
    assert r30x_scanner.template_count() == 1
    _press(r30x_scanner, 2)
    found = r30x_scanner.search(2)
    assert found is not None and found[0] == 17
    with pytest.raises(ScannerRefusedError) as info:
        r30x_scanner.store(1, 5000)
    assert info.value.code == 0x0B


def test_messy_and_small_presses_are_rejected_with_the_reason(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.place(1, kind=fingerimage.PressKind.MESSY)
    r30x_emulator.place(1, kind=fingerimage.PressKind.SMALL)
    assert r30x_scanner.capture() is False
    assert r30x_scanner.capture()
    with pytest.raises(PressRejectedError) as messy:
        r30x_scanner.extract(1)
    assert messy.value.code == 0x06 and "太乱" in messy.value.user_message
    assert r30x_scanner.capture() is False
    assert r30x_scanner.capture()
    with pytest.raises(PressRejectedError) as small:
        r30x_scanner.extract(1)
    assert small.value.code == 0x07 and "特征点太少" in small.value.user_message


def test_wrong_password_is_refused_and_right_one_opens() -> None:
    with R30xEmulator(password=0x1234) as emulator:
        wrong = R30xScanner(str(emulator.path), password=0, retries=0)
        with pytest.raises(ScannerRefusedError) as info:
            wrong.open()
        assert info.value.code == 0x13 and "口令" in info.value.user_message
        right = R30xScanner(str(emulator.path), password=0x1234, retries=0)
        assert right.open().capacity == emulator.capacity
        right.close()


def test_garbage_before_the_reply_is_skipped(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.inject(Fault.GARBAGE)
    assert r30x_scanner.capture() is False


def test_bad_checksum_is_an_error_then_the_driver_recovers(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.inject(Fault.BAD_CHECKSUM)
    with pytest.raises(BadChecksumError) as info:
        r30x_scanner.capture()
    assert isinstance(info.value, ScannerError) and info.value.user_message
    assert r30x_scanner.capture() is False


def test_truncated_reply_is_an_error_then_the_driver_recovers(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.inject(Fault.TRUNCATED)
    with pytest.raises(TruncatedFrameError):
        r30x_scanner.check()
    assert r30x_scanner.check().capacity == r30x_emulator.capacity


def test_stuck_module_times_out_then_answers_again(r30x_emulator: R30xEmulator) -> None:
    scanner = R30xScanner(str(r30x_emulator.path), timeout=0.5, retries=0)
    scanner.open()
    r30x_emulator.inject(Fault.STUCK)
    started = time.monotonic()
    with pytest.raises(ScannerTimeoutError) as info:
        scanner.capture()
    assert time.monotonic() - started >= 0.5  # it did wait for the reply
    assert "无响应" in info.value.user_message
    assert scanner.capture() is False
    scanner.close()


def test_idempotent_commands_are_sent_again_after_a_garbled_reply(
    r30x_emulator: R30xEmulator,
) -> None:
    scanner = R30xScanner(str(r30x_emulator.path), timeout=2.0, retries=1)
    scanner.open()
    r30x_emulator.place(6, gap=0)
    assert scanner.capture()
    r30x_emulator.inject(Fault.BAD_CHECKSUM)  # the ACK of the upload; its data streams on
    profile = r30x_emulator.profile
    assert scanner.read_image().shape == (profile.height, profile.width)
    r30x_emulator.inject(Fault.STUCK)
    assert scanner.check().capacity == r30x_emulator.capacity
    r30x_emulator.inject(Fault.TRUNCATED, 2)  # more faults than retries: the error shows
    with pytest.raises(TruncatedFrameError):
        scanner.check()
    scanner.close()


def test_unplug_gives_a_clear_error_and_replug_recovers(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.unplug()
    with pytest.raises(ScannerDisconnectedError) as info:
        r30x_scanner.capture()
    assert "USB" in info.value.user_message
    with pytest.raises(ScannerDisconnectedError):
        r30x_scanner.check()  # the port has vanished: reopening fails cleanly
    r30x_emulator.replug()
    assert r30x_scanner.check().capacity == r30x_emulator.capacity
    r30x_emulator.place(1, gap=0)
    assert r30x_scanner.capture()


def test_port_discovery_and_override() -> None:
    assert resolve_port("/dev/ttyFINGER") == "/dev/ttyFINGER"
    ports = list_serial_ports()
    if any(p.bridge for p in ports):
        assert resolve_port(AUTO) == next(p.device for p in ports if p.bridge)
    else:
        with pytest.raises(ScannerError) as info:
            resolve_port(AUTO)
        assert "外接设备状态" in info.value.user_message


def test_standalone_emulator_process_with_a_patient_person(tmp_path: Path) -> None:
    """``python -m bts_desk.drivers.r30x.emulator --auto`` as the demo runs it: prints its pty
    path; a person keeps pressing and offers another finger once a template is taken."""
    link = tmp_path / "ttyDEMO"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bts_desk.drivers.r30x.emulator",
            "--auto",
            "--genimg-delay",
            "0",
            "--link",
            str(link),
            "--model",
            "r307",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == str(link)
        scanner = R30xScanner(str(link), timeout=2.0)
        scanner.open()
        events: list[str] = []
        finger1 = FingerEnroller(scanner, 1, lambda e: events.append(e.kind.value)).run()
        finger2 = FingerEnroller(
            scanner, 2, lambda e: events.append(e.kind.value), other_template=finger1.template
        ).run()
        assert len(finger2.template) == 512 and "retry" not in events  # the R307's size
        assert finger2.template_format == "synochip-r30x-char"
        scanner.close()
    finally:
        process.terminate()
        assert process.wait(10) == 0
    assert not link.exists()


def test_paced_emulator_sends_at_the_baud_rate() -> None:
    """``pace=True`` makes the wire as slow as the real line (10 bits per byte)."""
    with R30xEmulator(pace=True, baudrate=9600) as emulator:
        scanner = R30xScanner(str(emulator.path), baudrate=9600, retries=0)
        scanner.open()
        emulator.place(1, gap=0)
        assert scanner.capture()
        scanner.extract(1)
        started = time.monotonic()
        scanner.read_template(1)  # 12 + 512 + 4 x 11 bytes = 0.59 s at 9600 baud
        assert time.monotonic() - started >= 568 * 10 / 9600 * 0.9
        scanner.close()


def test_a_port_held_by_another_program_is_named_as_such(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    other = R30xScanner(str(r30x_emulator.path), retries=0)
    with pytest.raises(ScannerDisconnectedError) as info:
        other.open()
    assert "占用" in info.value.user_message
    assert r30x_scanner.check().capacity == r30x_emulator.capacity  # the owner is not disturbed


def test_unplug_in_the_middle_of_an_image_upload() -> None:
    with R30xEmulator(pace=True, model="as608") as emulator:  # 7 s upload at 57,600 baud
        scanner = R30xScanner(str(emulator.path), retries=0)
        scanner.open()
        emulator.place(3, gap=0)
        assert scanner.capture()
        timer = threading.Timer(0.5, emulator.unplug)
        timer.start()
        started = time.monotonic()
        with pytest.raises(ScannerDisconnectedError):
            scanner.read_image()
        assert time.monotonic() - started < 4.0  # noticed at once, not after the transfer
        timer.join()
        emulator.replug()
        emulator.place(3, gap=0)
        assert scanner.capture()  # reopened behind the same path
        scanner.close()


def test_a_garbled_or_missing_reply_to_gen_img_is_sent_again(
    r30x_emulator: R30xEmulator,
) -> None:
    scanner = R30xScanner(str(r30x_emulator.path), timeout=1.5, retries=1)
    scanner.open()
    for fault in (Fault.BAD_CHECKSUM, Fault.STUCK, Fault.TRUNCATED, Fault.GARBAGE):
        r30x_emulator.place(2, hold=2, gap=0)
        r30x_emulator.inject(fault)
        assert scanner.capture(), fault  # the press is not lost to one glitch
        scanner.extract(1)
        assert [scanner.capture() for _ in range(2)][-1] is False  # lifted after its hold
    scanner.close()


@pytest.mark.parametrize("rate", [115200, 9600, 19200, 38400])
def test_a_module_left_at_another_rate_is_found(rate: int, emulator_model: str) -> None:
    with R30xEmulator(model=emulator_model, baudrate=rate) as emulator:
        scanner = R30xScanner(str(emulator.path), retries=0)
        info = scanner.open()
        assert info.baudrate == rate == scanner.link_rate
        assert scanner.rates_tried[0] == 57600  # the factory rate first
        assert emulator.ignored_bytes > 0  # the probes at other rates went unanswered
        emulator.place(1, gap=0)
        assert scanner.capture()
        scanner.close()


def test_no_answer_at_any_rate_names_the_rates_tried() -> None:
    with R30xEmulator(model="as608", baudrate=14400) as emulator:  # no 9600×N rate
        scanner = R30xScanner(str(emulator.path), retries=0)
        with pytest.raises(ScannerTimeoutError) as info:
            scanner.open()
        assert "57600、115200、9600" in info.value.user_message
        assert scanner.rates_tried[:3] == [57600, 115200, 9600]


def test_switch_to_115200_with_set_sys_para(emulator_model: str) -> None:
    with R30xEmulator(model=emulator_model) as emulator:
        scanner = R30xScanner(str(emulator.path), retries=0, switch_baudrate=115200)
        info = scanner.open()
        assert info.baudrate == 115200 == emulator.baudrate
        assert Cmd.SET_SYS_PARA in emulator.commands
        emulator.place(4, gap=0)
        assert scanner.capture()
        scanner.close()
        again = R30xScanner(str(emulator.path), retries=0)  # the module keeps its new rate
        assert again.open().baudrate == 115200
        again.close()


def test_a_link_that_does_not_come_back_falls_back_to_the_old_rate() -> None:
    with R30xEmulator(model="r307") as emulator:
        emulator.switch_lands_at = 57600  # acknowledges, but stays where it was
        scanner = R30xScanner(str(emulator.path), retries=0, switch_baudrate=115200)
        info = scanner.open()
        assert info.baudrate == 57600 == scanner.link_rate
        assert scanner.check() == info
        scanner.close()
    with R30xEmulator(model="r503") as emulator:  # 9600×3 is not an R50x rate: refused
        scanner = R30xScanner(str(emulator.path), retries=0, switch_baudrate=28800)
        assert scanner.open().baudrate == 57600
        assert Cmd.SET_SYS_PARA not in emulator.commands
        scanner.close()


def test_an_image_of_the_wrong_size_stays_a_scanner_error() -> None:
    """A module configured as an R307 that is really an R503 sends a 192×192 image."""
    with R30xEmulator(model="r503") as emulator:
        scanner = R30xScanner(str(emulator.path), retries=0, profile="r307")
        scanner.open()
        emulator.place(1, gap=0)
        assert scanner.capture()
        with pytest.raises(BadImageError) as info:
            scanner.read_image()
        assert isinstance(info.value, ScannerError) and info.value.user_message
        assert scanner.check().width == 256  # and the driver carries on
        scanner.close()


def test_library_commands_like_a_real_module(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.place(5, 2, gap=0)
    _press(r30x_scanner, 1)
    last = r30x_emulator.capacity - 1  # 199 on an R503, 299 or 999 on the others
    r30x_scanner.store(1, 3)
    r30x_scanner.store(1, last)
    assert r30x_scanner.template_count() == 2
    tables = [n for page in range(4) for n in r30x_scanner.index_table(page)]
    assert tables == [3, last]
    _press(r30x_scanner, 2)
    found = r30x_scanner.high_speed_search(2)
    assert found is not None and found[0] in (3, last)
    r30x_scanner.load(2, last)
    assert r30x_scanner.read_template(2) == r30x_scanner.read_template(1)
    with pytest.raises(ScannerRefusedError) as info:
        r30x_scanner.load(2, 77)
    assert info.value.code == 0x0C
    r30x_scanner.delete(3)
    assert 3 not in r30x_scanner.index_table(0)
    r30x_scanner.empty()
    assert r30x_scanner.template_count() == 0
    assert r30x_scanner.search(2) is None
    codes = {r30x_scanner.random_code() for _ in range(3)}
    assert len(codes) > 1


def test_every_model_is_emulated() -> None:
    assert set(EMULATED_MODELS) == {"as608", "r307", "r503", "generic"}


def test_a_late_reply_is_taken_and_never_shifts_the_answers() -> None:
    """A busy module answering GenImg after the driver's timeout: the late reply is that
    command's, not the answer to a second GenImg (which would put every later answer one
    command behind: "IMG2TZ answered 0x02")."""
    fingerimage.master_print(3)  # drawn once beforehand: the delay below is all there is
    with R30xEmulator(genimg_delay=1.3) as emulator:
        scanner = R30xScanner(str(emulator.path), timeout=1.0, retries=1)
        scanner.open()
        emulator.place(3, gap=0)
        assert scanner.capture()
        scanner.extract(1)  # its own answer, not GenImg's
        assert emulator.commands.count(Cmd.GEN_IMG) == 1
        assert scanner.capture() is False
        scanner.close()
