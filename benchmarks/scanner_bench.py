"""Bytes on the wire per finger enrollment (both directions) against the minimum needed.

Runs the real driver and enrollment logic against the emulated module on a pty (unpaced; the
wire time is computed at the configured baud rate, 10 bits per byte on an 8N1 line) and prints
one JSON line:

- ``fingers``: per finger, bytes to and from the module, GenImg polls and the wire time;
- ``minimum``: the least a finger can cost with this protocol: three GenImg, three Img2Tz,
  two Match, one RegModel, one UpChar (512-byte template) and one UpImage (36,864 bytes), each
  framed as on the wire (data in packets of the module's packet size); finger 2 adds one
  DownChar + Match to compare its first press with finger 1; the measured run adds the
  GenImg polls that see the finger lifted between presses;
- ``every_press_image``: what uploading the image of every press would cost instead.

    .venv/bin/python benchmarks/scanner_bench.py [--baud 57600] [--packet-size 128] [--pace]

With ``--pace`` the emulator sends at the baud rate, so ``emulated_run_s`` is the real time
of an enrollment with an instant person.
"""

from __future__ import annotations

import argparse
import json
import time

from bts_desk.capture.finger import FingerEnroller
from bts_desk.drivers.r30x.driver import R30xScanner
from bts_desk.drivers.r30x.emulator import R30xEmulator
from bts_desk.drivers.r30x.protocol import IMAGE_BYTES, TEMPLATE_BYTES

FRAME = 11  # header 2 + address 4 + PID 1 + length 2 + checksum 2
BITS_PER_BYTE = 10  # 8N1


def _command(params: int) -> int:
    return FRAME + 1 + params


def _ack(extra: int = 0) -> int:
    return FRAME + 1 + extra


def _data(size: int, packet: int) -> int:
    return size + FRAME * -(-size // packet)


def minimum_bytes(packet: int, second_finger: bool) -> dict[str, int]:
    """(to module, from module) of the shortest successful enrollment of one finger."""
    to_module = 3 * _command(0) + 3 * _command(1) + 2 * _command(0) + _command(0)
    from_module = 3 * _ack() + 3 * _ack() + 2 * _ack(2) + _ack()
    to_module += _command(1) + _command(0)  # UpChar(1), UpImage
    from_module += _ack() + _data(TEMPLATE_BYTES, packet) + _ack() + _data(IMAGE_BYTES, packet)
    if second_finger:  # DownChar(2) + finger 1's template + Match, at press 1
        to_module += _command(1) + _data(TEMPLATE_BYTES, packet) + _command(0)
        from_module += _ack() + _ack(2)
    return {"to_module": to_module, "from_module": from_module}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baud", type=int, default=57600)
    parser.add_argument("--packet-size", type=int, default=128, choices=(32, 64, 128, 256))
    parser.add_argument(
        "--pace", action="store_true", help="emulate the real line speed (~7 s per finger)"
    )
    args = parser.parse_args()
    fingers = []
    with R30xEmulator(packet_size=args.packet_size, baudrate=args.baud, pace=args.pace) as emulator:
        scanner = R30xScanner(str(emulator.path), baudrate=args.baud)
        scanner.open()
        template: bytes | None = None
        for finger_no in (1, 2):
            emulator.place(finger_no, 3)
            emulator.reset_counters()
            started = time.perf_counter()
            capture = FingerEnroller(
                scanner, finger_no, lambda _: None, other_template=template, poll_interval=0.0
            ).run()
            elapsed = time.perf_counter() - started
            template = capture.template
            total = emulator.bytes_in + emulator.bytes_out
            minimum = minimum_bytes(args.packet_size, finger_no == 2)
            min_total = minimum["to_module"] + minimum["from_module"]
            fingers.append(
                {
                    "finger": finger_no,
                    "to_module": emulator.bytes_in,
                    "from_module": emulator.bytes_out,
                    "total": total,
                    "gen_img_polls": emulator.commands.count(0x01),
                    "wire_s": round(total * BITS_PER_BYTE / args.baud, 2),
                    "minimum_total": min_total,
                    "minimum_wire_s": round(min_total * BITS_PER_BYTE / args.baud, 2),
                    "over_minimum": round(total / min_total, 3),
                    "emulated_run_s": round(elapsed, 2),
                }
            )
        scanner.close()
    image_frame = _command(0) + _ack() + _data(IMAGE_BYTES, args.packet_size)
    print(
        json.dumps(
            {
                "benchmark": "scanner_enrollment_wire",
                "baud": args.baud,
                "packet_size": args.packet_size,
                "paced": args.pace,
                "payload_minimum_per_finger": TEMPLATE_BYTES + IMAGE_BYTES,
                "fingers": fingers,
                "every_press_image_extra_bytes": 2 * image_frame,
                "every_press_image_extra_s": round(2 * image_frame * BITS_PER_BYTE / args.baud, 2),
            },
            separators=(",", ":"),
        )
    )


if __name__ == "__main__":
    main()
