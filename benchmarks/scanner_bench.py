"""Seconds on the wire per finger enrollment, at 57600 and at 115200 baud, per module profile,
and bytes moved against the minimum the protocol needs.

Runs the real driver and enrollment logic against the emulated module of each profile on a
pty, the emulator sending at the baud rate (``pace``; 10 bits per byte on an 8N1 line) and
the person instant (no GenImg delay), so ``paced_s`` is the real time of one finger on that
line. At 115200 the driver was told to switch the module with SetSysPara (``switch_baudrate``)
as IT would configure it. One JSON line:

- ``profiles.<model>.<baud>``: bytes to and from the module, GenImg polls, ``wire_s`` (bytes
  at the baud rate), ``paced_s`` (measured), ``minimum_total`` and ``over_minimum``;
- ``minimum``: three GenImg, three Img2Tz, two Match, one RegModel, one UpChar (the profile's
  template) and one UpImage (the profile's image), each framed as on the wire (data in packets
  of the module's packet size); the measured run adds the GenImg polls that see the finger
  lifted between presses;
- ``wire_ratio_115200_vs_57600``: seconds on the wire at 115200 over those at 57600 (target
  ≤ 0.55); ``paced_ratio_…`` the same of the measured times, which also hold the emulator's
  image synthesis and matching (CPU time of this machine, not of a module).

    .venv/bin/python benchmarks/scanner_bench.py [--models as608,r503] [--packet-size 128]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from bts_desk.capture.finger import FingerEnroller
from bts_desk.drivers.r30x.driver import R30xScanner
from bts_desk.drivers.r30x.emulator import EMULATED_MODELS, R30xEmulator
from bts_desk.drivers.r30x.profiles import DEFAULT_BAUDRATE, FAST_BAUDRATE, ModuleProfile

FRAME = 11  # header 2 + address 4 + PID 1 + length 2 + checksum 2
BITS_PER_BYTE = 10  # 8N1


def _command(params: int) -> int:
    return FRAME + 1 + params


def _ack(extra: int = 0) -> int:
    return FRAME + 1 + extra


def _data(size: int, packet: int) -> int:
    return size + FRAME * -(-size // packet)


def minimum_bytes(profile: ModuleProfile, packet: int) -> int:
    """Both directions of the shortest successful enrollment of finger 1."""
    to_module = 3 * _command(0) + 3 * _command(1) + 2 * _command(0) + _command(0)
    from_module = 3 * _ack() + 3 * _ack() + 2 * _ack(2) + _ack()
    to_module += _command(1) + _command(0)  # UpChar(1), UpImage
    from_module += _ack() + _data(profile.template_bytes, packet)
    from_module += _ack() + _data(profile.image_bytes, packet)
    return to_module + from_module


def run_one(model: str, baud: int, packet: int) -> dict[str, Any]:
    """One finger on a module of ``model``, the line at ``baud`` (switched by SetSysPara)."""
    with R30xEmulator(model=model, packet_size=packet, pace=True) as emulator:
        scanner = R30xScanner(str(emulator.path), switch_baudrate=baud)
        info = scanner.open()
        assert info.baudrate == baud, (model, info.baudrate)
        emulator.place(1, 3)
        emulator.reset_counters()
        started = time.perf_counter()
        FingerEnroller(scanner, 1, lambda _: None, poll_interval=0.0).run()
        elapsed = time.perf_counter() - started
        scanner.close()
        total = emulator.bytes_in + emulator.bytes_out
        minimum = minimum_bytes(emulator.profile, packet)
        return {
            "to_module": emulator.bytes_in,
            "from_module": emulator.bytes_out,
            "gen_img_polls": emulator.commands.count(0x01),
            "wire_s": round(total * BITS_PER_BYTE / baud, 2),
            "paced_s": round(elapsed, 2),
            "minimum_total": minimum,
            "over_minimum": round(total / minimum, 3),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default=",".join(sorted(EMULATED_MODELS)))
    parser.add_argument("--packet-size", type=int, default=128, choices=(32, 64, 128, 256))
    args = parser.parse_args()
    profiles: dict[str, dict[str, Any]] = {}
    for model in args.models.split(","):
        slow = run_one(model, DEFAULT_BAUDRATE, args.packet_size)
        fast = run_one(model, FAST_BAUDRATE, args.packet_size)
        profiles[model] = {
            str(DEFAULT_BAUDRATE): slow,
            str(FAST_BAUDRATE): fast,
            "wire_ratio_115200_vs_57600": round(fast["wire_s"] / slow["wire_s"], 3),
            "paced_ratio_115200_vs_57600": round(fast["paced_s"] / slow["paced_s"], 3),
        }
    worst = max(p["wire_ratio_115200_vs_57600"] for p in profiles.values())
    worst_paced = max(p["paced_ratio_115200_vs_57600"] for p in profiles.values())
    print(
        json.dumps(
            {
                "benchmark": "scanner_enrollment_wire",
                "packet_size": args.packet_size,
                "profiles": profiles,
                "worst_wire_ratio_115200_vs_57600": worst,
                "worst_paced_ratio_115200_vs_57600": worst_paced,
                "target_ratio": 0.55,
            },
            separators=(",", ":"),
        )
    )


if __name__ == "__main__":
    main()
