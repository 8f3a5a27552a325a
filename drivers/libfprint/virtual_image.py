"""The person at libfprint's virtual image device, pressing the emulator's synthetic fingers.

libfprint's ``virtual_image`` driver (enabled when ``FP_VIRTUAL_IMAGE`` names a socket path
at context creation) listens on that unix socket once the device is opened; a client sends
per press two native ``int32`` (width, height) and then width × height bytes of 8-bit grey,
or a pair of negative numbers as a command (-1 retry with a FpDeviceRetry code, -2 a device
error, -3 automatic finger on/off reports, -4 a finger report, -5 unplug). Read from
libfprint's ``libfprint/drivers/virtual-image.c`` and ``tests/virtual-image.py``.

The images are ``drivers/r30x/fingerimage.press_image``: ridge patterns that differ per
finger and per press (position, rotation, pressure), which libfprint's own minutiae
detection and matching (NBIS) tell apart. Plain sockets, any thread.

    python -m bts_desk.drivers.libfprint.virtual_image SOCKET FINGER [PRESSES]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import struct
import time
from pathlib import Path
from types import TracebackType

from ..r30x.fingerimage import DEFAULT_SIZE, press_image

ENV = "FP_VIRTUAL_IMAGE"
_HEADER = struct.Struct("=ii")
CMD_RETRY, CMD_ERROR, CMD_AUTOMATIC, CMD_FINGER, CMD_REMOVE = -1, -2, -3, -4, -5


class VirtualImagePerson:
    """A connection to the device's socket; ``press(finger)`` puts that finger on it."""

    def __init__(self, path: Path | str, size: tuple[int, int] = DEFAULT_SIZE) -> None:
        self.path = Path(path)
        self.size = size
        self.presses = 0
        self._sock: socket.socket | None = None

    def connect(self, timeout: float = 10.0) -> VirtualImagePerson:
        """Wait for the device to listen (it does once opened), then connect."""
        deadline = time.monotonic() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(self.path))
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            self._sock = sock
            return self

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def press(self, finger: int) -> None:
        """One press of ``finger`` (each press differs, as a real one does)."""
        self.presses += 1
        image = press_image(finger, self.presses, size=self.size)
        height, width = image.shape
        self._send(_HEADER.pack(width, height) + image.tobytes())

    def retry(self, code: int) -> None:
        """A press the device cannot use (FpDeviceRetry ``code``): the finger goes on, the
        retry is reported, the finger comes off, as with a real sensor."""
        self._send(
            _HEADER.pack(CMD_FINGER, 1)
            + _HEADER.pack(CMD_RETRY, code)
            + _HEADER.pack(CMD_FINGER, 0)
        )

    def unplug(self) -> None:
        self._send(_HEADER.pack(CMD_REMOVE, 0))

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> VirtualImagePerson:
        return self.connect()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _send(self, data: bytes) -> None:
        if self._sock is None:
            self.connect()
        assert self._sock is not None
        self._sock.sendall(data)


def main(argv: list[str] | None = None) -> int:
    """Press a finger on a running virtual image device (a debugging aid for IT)."""
    parser = argparse.ArgumentParser(description="Press synthetic fingers on FP_VIRTUAL_IMAGE")
    parser.add_argument("socket")
    parser.add_argument("finger", type=int)
    parser.add_argument("presses", type=int, nargs="?", default=1)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    with VirtualImagePerson(args.socket) as person:
        for _ in range(args.presses):
            person.press(args.finger)
            time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
