"""Revocation of officer certificates: the desk's certificate revocation lists (CRLs).

Two sources, the newest CRL of each issuing CA wins:

- the CRL file IT configures machine-wide (``[card] crl``, DER or PEM), re-read when it changes;
- the CRL the sync service publishes (``GET /api/v1/crl``), handed to ``update_from_der`` by the
  sync worker when online and kept in the data directory (``card-crl.der``) for offline starts.

A CRL is accepted only when signed by one of the trusted CAs named as its issuer, and (when it
comes from the network) fresh: issued no later than now + the clock skew and with a
``nextUpdate`` not yet passed. A stale CRL already held stays in force (an offline desk keeps
refusing what it knew to be revoked). ``check`` raises CertificateRevokedError for a revoked
certificate; listeners are told after every change so an open session can be re-checked.

Thread-safe: the sync worker updates, the card workers and the monitor thread read.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bts_desk.errors import CardError

log = logging.getLogger(__name__)

CACHE_NAME = "card-crl.der"


class CertificateRevokedError(CardError):
    """The officer certificate is on a CRL of its CA."""

    def __init__(self, detail: str) -> None:
        super().__init__("此卡证书已被吊销，不能登录，请联系发卡单位", detail)


class CrlError(CardError):
    """A CRL that cannot be used (unreadable, not from a trusted CA, stale)."""


def _parse(data: bytes) -> x509.CertificateRevocationList:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise CrlError("证书吊销列表（CRL）无法读取，请联系系统管理员", f"bad CRL: {exc}") from exc


class RevocationStore:
    """The CRLs in force on this desk (see the module docstring)."""

    def __init__(
        self,
        cas: list[x509.Certificate],
        *,
        crl_file: Path | None = None,
        cache_file: Path | None = None,
        clock_skew: dt.timedelta = dt.timedelta(minutes=5),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._cas = cas
        self._crl_file = crl_file
        self._cache_file = cache_file
        self._skew = clock_skew
        self._clock = clock
        self._lock = threading.Lock()
        self._crls: dict[x509.Name, x509.CertificateRevocationList] = {}
        self._file_stamp: tuple[int, int] | None = None
        self._listeners: list[Callable[[], None]] = []

    def load(self) -> None:
        """Read the configured file (CrlError if it is unusable: IT must fix it) and the cached
        network CRL (ignored with a warning if unusable). Worker thread or start-up."""
        if self._cache_file is not None and self._cache_file.is_file():
            try:
                self._accept(_parse(self._cache_file.read_bytes()), fresh_only=False)
            except (OSError, CrlError) as exc:
                log.warning("cached CRL %s ignored: %s", self._cache_file, exc)
        self.refresh_file(force=True)

    @property
    def configured(self) -> bool:
        return self._crl_file is not None or bool(self._crls)

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def refresh_file(self, *, force: bool = False) -> bool:
        """Re-read the configured CRL file if it changed (cheap ``stat`` otherwise). True when
        the CRLs in force changed. Any thread."""
        path = self._crl_file
        if path is None:
            return False
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            if stamp == self._file_stamp and not force:
                return False
            data = path.read_bytes()
        except OSError as exc:
            raise CrlError(
                "无法读取证书吊销列表（CRL）文件，请联系系统管理员", f"card.crl {path}: {exc}"
            ) from exc
        self._file_stamp = stamp
        changed = self._accept(_parse(data), fresh_only=False)
        if changed:
            self._notify()
        return changed

    def update_from_der(self, der: bytes) -> bool:
        """A CRL fetched from the sync service: validated (trusted issuer, signature, fresh),
        kept if newer than the one held, cached on disk. True when it replaced one; CrlError
        when refused. Sync worker thread."""
        crl = _parse(der)
        changed = self._accept(crl, fresh_only=True)
        if changed:
            if self._cache_file is not None:
                self._write_cache(der)
            self._notify()
        return changed

    def check(self, cert: x509.Certificate) -> None:
        """CertificateRevokedError if ``cert`` is on the CRL of its issuer. Any thread."""
        with self._lock:
            crl = self._crls.get(cert.issuer)
        if crl is None:
            return
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            raise CertificateRevokedError(
                f"certificate {cert.subject.rfc4514_string()} serial {cert.serial_number:x} "
                f"revoked on {entry.revocation_date_utc} (CRL of {crl.issuer.rfc4514_string()})"
            )

    # --- internals ----------------------------------------------------------------------------

    def _issuer_of(self, crl: x509.CertificateRevocationList) -> x509.Certificate:
        for ca in self._cas:
            if ca.subject != crl.issuer:
                continue
            key = ca.public_key()
            if not isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
                continue
            try:
                usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
                if not usage.crl_sign:
                    continue
            except x509.ExtensionNotFound:
                pass
            try:
                if crl.is_signature_valid(key):
                    return ca
            except UnsupportedAlgorithm:
                continue
        raise CrlError(
            "证书吊销列表（CRL）不是本系统认可的机构签发的，未采用",
            f"CRL of {crl.issuer.rfc4514_string()}: no trusted CA with a matching signature",
        )

    def _accept(self, crl: x509.CertificateRevocationList, *, fresh_only: bool) -> bool:
        self._issuer_of(crl)
        now = self._clock()
        if crl.last_update_utc > now + self._skew:
            raise CrlError(
                "证书吊销列表（CRL）的签发时间在未来，未采用（请检查本机时钟）",
                f"CRL thisUpdate {crl.last_update_utc} > now {now}",
            )
        next_update = crl.next_update_utc
        stale = next_update is not None and next_update + self._skew < now
        if stale and fresh_only:
            raise CrlError(
                "证书吊销列表（CRL）已过期，未采用",
                f"CRL of {crl.issuer.rfc4514_string()} nextUpdate {next_update} < now {now}",
            )
        if stale:
            log.warning("CRL of %s is past its nextUpdate %s", crl.issuer, next_update)
        with self._lock:
            held = self._crls.get(crl.issuer)
            if held is not None and held.last_update_utc >= crl.last_update_utc:
                return False
            self._crls[crl.issuer] = crl
        log.info(
            "CRL of %s in force: %d revoked, issued %s",
            crl.issuer.rfc4514_string(),
            len(crl),
            crl.last_update_utc,
        )
        return True

    def _write_cache(self, der: bytes) -> None:
        assert self._cache_file is not None
        tmp = self._cache_file.with_suffix(".tmp")
        try:
            self._cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(der)
            os.replace(tmp, self._cache_file)
        except OSError as exc:
            log.warning("cannot cache the CRL in %s: %s", self._cache_file, exc)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("revocation listener failed")
