"""The virtual officer card as a vsmartcard ``vpcd`` client: a PIV card behind the real pcscd.

vpcd (Debian ``vsmartcard-vpcd``) is a PC/SC reader driver loaded by pcscd. Each of its slots
("Virtual PCD 00 00", "… 00 01", …) listens on a TCP port (35963, 35964, … on 127.0.0.1, see
``/etc/reader.conf.d/vpcd``); a virtual card connects to it. Every message is framed by a
2-byte big-endian length. A 1-byte message is a control: ``00`` power off, ``01`` power on,
``02`` reset (no answer to those), ``04`` get ATR (answer: the ATR). Anything longer is a
command APDU and is answered with the response APDU.

Inserting the card = connecting; removing it = closing the socket (vpcd then reports the slot
empty at pcscd's next presence poll). ``insert()``/``remove()`` are thread-safe and return at
once; a background thread connects (retrying while vpcd is not listening yet, e.g. before
pcscd started) and serves the reader.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Callable

from .applet import ATR, PivApplet

log = logging.getLogger(__name__)

VPCD_HOST = "127.0.0.1"
VPCD_PORT = 35963

CTRL_OFF = 0x00
CTRL_ON = 0x01
CTRL_RESET = 0x02
CTRL_ATR = 0x04


class VirtualPivCard:
    """One virtual card that can be put into (and pulled out of) one vpcd slot.

    Thread-safe. The applet's state (PIN, tries, blocked…) may be changed between commands
    through ``with card.locked() as applet:``."""

    def __init__(
        self,
        applet: PivApplet,
        *,
        host: str = VPCD_HOST,
        port: int = VPCD_PORT,
        label: str = "virtual PIV card",
        retry_interval_s: float = 0.1,
    ) -> None:
        self.applet = applet
        self.host = host
        self.port = port
        self.label = label
        self._retry_interval_s = retry_interval_s
        self._lock = threading.RLock()
        self._wanted = False
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self._stop = threading.Event()
        self.on_change: Callable[[bool], None] | None = None  # called with inserted/removed

    # --- public, any thread ------------------------------------------------------------------

    @property
    def inserted(self) -> bool:
        """True while the card is meant to be in the reader (connected or connecting)."""
        return self._wanted

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def insert(self) -> None:
        """Put the card into the reader: connect to vpcd in the background. Idempotent."""
        with self._lock:
            if self._wanted:
                return
            self._wanted = True
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._serve, args=(self._stop,), name=f"vpcd:{self.port}", daemon=True
            )
            self._thread.start()
        log.info("%s inserted into vpcd port %d", self.label, self.port)
        self._notify(True)

    def remove(self) -> None:
        """Pull the card out: close the socket, lose power (security status). Idempotent."""
        with self._lock:
            if not self._wanted:
                return
            self._wanted = False
            self._stop.set()
            thread, self._thread = self._thread, None
            self._close_socket()
            self.applet.power_off()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        log.info("%s removed from vpcd port %d", self.label, self.port)
        self._notify(False)

    def wait_connected(self, timeout: float) -> bool:
        """Block until vpcd accepted the connection (the reader may still be polling)."""
        return self._connected.wait(timeout)

    def locked(self) -> _AppletAccess:
        """Context manager giving the applet while no command is being processed."""
        return _AppletAccess(self)

    # --- background thread -------------------------------------------------------------------

    def _serve(self, stop: threading.Event) -> None:
        while not stop.is_set():
            sock = self._connect(stop)
            if sock is None:
                return
            try:
                self._run_link(sock, stop)
            except OSError as exc:
                if not stop.is_set():
                    log.info("vpcd link on port %d lost: %s", self.port, exc)
            finally:
                self._connected.clear()
                with self._lock:
                    if self._sock is sock:
                        self._close_socket()
                    if not stop.is_set():
                        self.applet.power_off()  # the reader went away: the card lost power

    def _connect(self, stop: threading.Event) -> socket.socket | None:
        while not stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError:
                stop.wait(self._retry_interval_s)
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if stop.is_set():
                    sock.close()
                    return None
                self._sock = sock
            self._connected.set()
            return sock
        return None

    def _run_link(self, sock: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            message = _recv_message(sock)
            if message is None:
                return
            with self._lock:
                if stop.is_set():
                    return
                reply = self._handle(message)
            if reply is not None:
                sock.sendall(struct.pack(">H", len(reply)) + reply)

    def _handle(self, message: bytes) -> bytes | None:
        if len(message) == 1:
            control = message[0]
            if control == CTRL_ATR:
                return ATR
            if control in (CTRL_OFF, CTRL_RESET):
                self.applet.power_off()
            elif control != CTRL_ON:
                log.warning("vpcd sent unknown control byte %02X", control)
            return None
        return self.applet.process(message)

    def _close_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        with contextlib.suppress(OSError):  # already reset by the peer
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def _notify(self, inserted: bool) -> None:
        callback = self.on_change
        if callback is not None:
            callback(inserted)


class _AppletAccess:
    def __init__(self, card: VirtualPivCard) -> None:
        self._card = card

    def __enter__(self) -> PivApplet:
        self._card._lock.acquire()
        return self._card.applet

    def __exit__(self, *exc: object) -> None:
        self._card._lock.release()


def _recv_exact(sock: socket.socket, count: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < count:
        # vpcd writes a message's length and its body separately without TCP_NODELAY: with our
        # ACK delayed (Linux, ~40 ms) Nagle holds the body back. Acknowledge at once instead.
        if hasattr(socket, "TCP_QUICKACK"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(count - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _recv_message(sock: socket.socket) -> bytes | None:
    header = _recv_exact(sock, 2)
    if header is None:
        return None
    (length,) = struct.unpack(">H", header)
    return _recv_exact(sock, length) if length else b""
