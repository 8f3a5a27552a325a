"""The R30x driver against the emulated module, through pyserial on a real pty: every command,
every wire fault, unplug and replug."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

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
from bts_desk.drivers.r30x.emulator import Fault, R30xEmulator
from bts_desk.drivers.r30x.protocol import BadChecksumError, Cmd, TruncatedFrameError
from bts_desk.errors import ScannerError


def _press(scanner: R30xScanner, slot: int) -> None:
    assert scanner.capture()
    scanner.extract(slot)


def test_open_reads_the_system_parameters(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    info = r30x_scanner.check()
    assert info.port == str(r30x_emulator.path)
    assert (info.capacity, info.packet_size, info.baudrate) == (300, 128, 57600)
    assert info.security_level == 3
    assert (info.model, info.serial) == ("BTS-R30X-EMU (EF01)", "EMU00001")  # ReadProdInfo
    assert r30x_emulator.commands[:4] == [
        Cmd.HANDSHAKE,
        Cmd.VFY_PWD,
        Cmd.READ_SYS_PARA,
        Cmd.READ_PROD_INFO,
    ]


def test_a_module_without_product_info_is_named_by_its_address() -> None:
    with R30xEmulator(product_info=False, address=0x0000ABCD) as emulator:
        scanner = R30xScanner(str(emulator.path), address=0x0000ABCD, retries=0)
        info = scanner.open()
        assert (info.model, info.serial) == ("R30x/AS608 (EF01)", "0000ABCD")
        assert scanner.capture() is False  # talks to the module at its own address
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
    assert len(template) == 512 and r30x_scanner.read_template(2) == template
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
    r30x_scanner.write_template(2, bytes(512))  # not a char file: no match, no crash
    assert not r30x_scanner.compare().matched
    with pytest.raises(ValueError):
        r30x_scanner.write_template(2, b"short")


@pytest.mark.parametrize("packet_size", [32, 128, 256])
def test_up_image_in_the_module_packet_size(packet_size: int) -> None:
    with R30xEmulator(packet_size=packet_size) as emulator:
        scanner = R30xScanner(str(emulator.path), retries=0)
        assert scanner.open().packet_size == packet_size
        emulator.place(2, gap=0)
        assert scanner.capture()
        image = scanner.read_image()
        expected = fingerimage.press_image(2, 1)
        assert image.shape == (288, 256) and image.dtype == np.uint8
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
        assert right.open().capacity == 300
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
    assert r30x_scanner.check().capacity == 300


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
    scanner = R30xScanner(str(r30x_emulator.path), timeout=1.0, retries=1)
    scanner.open()
    r30x_emulator.place(6, gap=0)
    assert scanner.capture()
    r30x_emulator.inject(Fault.BAD_CHECKSUM)  # the ACK of the upload; its data streams on
    assert scanner.read_image().shape == (288, 256)
    r30x_emulator.inject(Fault.STUCK)
    assert scanner.check().capacity == 300
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
    assert r30x_scanner.check().capacity == 300
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
        assert len(finger2.template) == 512 and "retry" not in events
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
    assert r30x_scanner.check().capacity == 300  # the owner is not disturbed


def test_unplug_in_the_middle_of_an_image_upload() -> None:
    with R30xEmulator(pace=True) as emulator:  # the upload takes 7 s at 57,600 baud
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
