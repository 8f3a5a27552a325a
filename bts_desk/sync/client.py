"""The desk's one HTTP client of the sync service.

One ``requests.Session`` per desk process (connection pooling, keep-alive) with urllib3's
``Retry`` mounted on it: jittered exponential backoff on connect errors, dropped connections
and 429/502/503/504 (honouring ``Retry-After``), for GET, POST and PUT alike: enrollment
uploads are idempotent by UUID, a repeated challenge request is harmless, and a repeated
session login fails cleanly (its challenge is single-use) and is redone by ``sync.auth``.
Every request has a timeout (``settings.sync.timeout_s``).

Every failure leaves as ``SyncError``:

- ``retryable=True``: network down, timeouts, dropped connections, 5xx, 429, a body that is not
  the agreed JSON (a misbehaving service): the outbox tries again later;
- ``retryable=False``: a 4xx refusal; ``user_message`` is the service's Chinese reason;
- ``SyncAuthError`` (a retryable ``SyncError``): 401, the token or session was refused;
- ``SyncOfflineError`` (a retryable ``SyncError``): the service could not be reached.

Blocking I/O: call from worker threads, never the GUI thread. A ``SyncClient`` may be shared
by threads (requests' Session is safe for concurrent requests in practice, and the desk makes
at most a couple at a time).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bts_desk import __version__
from bts_desk.biometrics.errors import RecordError
from bts_desk.domain import EnrollmentDraft, Officer
from bts_desk.errors import SyncError
from bts_desk.sync import wire
from bts_desk.sync.wire.report import PATH_DESK_REPORT, DeskReport, DeskReportAck

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 502, 503, 504)
A = TypeVar("A", bound=BaseModel)


class SyncAuthError(SyncError):
    """401 from the service: the token expired or the officer session was refused."""

    def __init__(self, user_message: str, detail: str = "", *, code: str = "") -> None:
        super().__init__(user_message, detail, retryable=True)
        self.code = code


class SyncOfflineError(SyncError):
    """The service could not be reached at all (connection refused, DNS, timeout)."""


@dataclass(frozen=True)
class SessionGrant:
    """A token the service issued to one officer."""

    token: str
    expires_at: float  # time.monotonic() deadline
    officer: Officer
    districts: tuple[str, ...] = ()  # the 关区 this session may pull and upload for


def default_retry(
    total: int = 4, backoff_factor: float = 0.5, backoff_jitter: float = 0.5
) -> Retry:
    """The desk's retry policy of a single call (the outbox adds backoff across calls)."""
    return Retry(
        total=total,
        connect=total,
        read=2,
        status=total,
        other=0,
        backoff_factor=backoff_factor,
        backoff_jitter=backoff_jitter,
        backoff_max=20.0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "PUT", "POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # the last 503 comes back as a response: mapped below
    )


def make_session(retry: Retry | None = None, pool_size: int = 4) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(
        max_retries=retry or default_retry(), pool_connections=2, pool_maxsize=pool_size
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"bts-desk/{__version__}"
    return session


def check_service_url(url: str) -> str:
    """``url`` without its trailing slash, if the desk may send to it: ``https://`` anywhere,
    ``http://`` only to a loopback address (the demo, tests). SyncError otherwise."""
    if not url:
        raise SyncError("未配置同步服务器地址", "sync.url is empty")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return url.rstrip("/")
    if parts.scheme == "http" and _is_loopback(host):
        return url.rstrip("/")
    raise SyncError(
        "同步服务器地址必须以 https:// 开头",
        f"sync.url {url!r} refused: only https, or http to a loopback address",
        retryable=False,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SyncClient:
    """Typed calls of the sync API over the desk's one Session: requests are encoded and
    answers decoded with the wire models (``bts_desk.sync.wire``), the service's own."""

    def __init__(
        self,
        base_url: str,
        *,
        desk_id: str,
        timeout_s: float = 10.0,
        retry: Retry | None = None,
        session: requests.Session | None = None,
        ca_cert: str = "",
    ) -> None:
        """``ca_cert``: PEM file of the CA(s) the service's certificate must chain to (the
        system's store when empty). Raises SyncError for a URL the desk will not use:
        ``http://`` to anything but this machine's loopback (biometrics never travel in clear
        over a network), or another scheme; nothing is sent then."""
        self.base_url = check_service_url(base_url)
        self.desk_id = desk_id
        self.timeout_s = timeout_s
        self.session = session or make_session(retry)
        # The environment must not redirect the desk (proxies) or swap its trust anchors
        # (REQUESTS_CA_BUNDLE beats a session's own ``verify`` in requests).
        self.session.trust_env = False
        if ca_cert and not Path(ca_cert).is_file():
            raise SyncError("同步服务器的 CA 证书文件不存在", f"sync.ca_cert {ca_cert} not found")
        self.verify: str | bool = ca_cert or True

    def close(self) -> None:
        self.session.close()

    # --- calls ------------------------------------------------------------------------------

    def health(self) -> str:
        """The service version; raises SyncError when it cannot be reached."""
        return self._call("GET", wire.PATH_HEALTH, wire.HealthAnswer).version

    def challenge(self) -> bytes:
        return self._call("POST", wire.PATH_CHALLENGE, wire.ChallengeAnswer).challenge

    def open_session(
        self, certificate_der: bytes, challenge: bytes, signature: bytes
    ) -> SessionGrant:
        started = time.monotonic()
        body = wire.SessionBody(
            certificate=certificate_der,
            challenge=challenge,
            signature=signature,
            desk_id=self.desk_id,
        )
        answer = self._call("POST", wire.PATH_SESSION, wire.SessionAnswer, payload=body)
        who = answer.officer
        return SessionGrant(
            token=answer.token,
            expires_at=started + answer.expires_in,
            officer=Officer(who.officer_id, who.name, who.customs_code),
            districts=tuple(answer.districts),
        )

    def fetch_crl(self) -> bytes:
        """The officer CA's CRL the service publishes (DER; no login needed), for the card's
        revocation store (``RevocationStore.update_from_der`` checks it). SyncError when the
        service publishes none or cannot be reached."""
        url = self.base_url + wire.PATH_CRL
        try:
            response = self.session.get(url, timeout=self.timeout_s, verify=self.verify)
        except requests.RequestException as exc:
            raise SyncOfflineError("无法连接同步服务器", f"GET {url}: {exc}") from exc
        with response:
            if response.status_code == 200:
                return response.content
            _judge("GET", wire.PATH_CRL, response, _NoBody)
        raise _malformed("GET", wire.PATH_CRL, f"HTTP {response.status_code}")

    def close_session(self, token: str) -> None:
        """End the session on the service (logout, card pulled): the token is refused from
        now on. An already-ended session is not an error."""
        with contextlib.suppress(SyncAuthError):
            self._call("DELETE", wire.PATH_SESSION, _NoBody, token=token)

    def put_enrollment(self, token: str, draft: EnrollmentDraft) -> str:
        """Upload one enrollment; returns ``stored`` or ``already_stored``."""
        path = wire.PATH_ENROLLMENT.format(uuid=draft.uuid)
        body = _enrollment(draft)
        return self._call("PUT", path, wire.PutAnswer, token=token, payload=body).status

    def get_enrollment(self, token: str, uuid: str) -> wire.EnrollmentAnswer:
        """What the service holds of an uploaded enrollment (no biometric records): the
        fingers captured and the exception entries as stored."""
        path = wire.PATH_ENROLLMENT.format(uuid=uuid)
        return self._call("GET", path, wire.EnrollmentAnswer, token=token)

    def put_batch(self, token: str, drafts: Sequence[EnrollmentDraft]) -> list[wire.BatchResult]:
        """Upload several enrollments in one request; one result per UUID."""
        payload = wire.BatchBody(
            items=[wire.BatchItem(uuid=d.uuid, enrollment=_enrollment(d)) for d in drafts]
        )
        path = wire.PATH_ENROLLMENT_BATCH
        results = self._call("POST", path, wire.BatchAnswer, token=token, payload=payload).results
        if {r.uuid for r in results} != {d.uuid for d in drafts}:
            raise _malformed("POST", path, "results do not match items")
        return results

    def pull_page(self, token: str, cursor: int, limit: int = wire.MAX_PULL_LIMIT) -> wire.PullPage:
        """One page of records above ``cursor``, decoded (the items are ``BordererItem``
        dicts with dates as ``datetime.date``, ready for the store)."""
        return self._call(
            "GET",
            wire.PATH_BORDERERS,
            wire.PullPage,
            token=token,
            params={"cursor": cursor, "limit": limit},
        )

    def portrait(self, token: str, record_id: int) -> wire.PortraitAnswer:
        """The enrolled face of one record (边民核验); SyncError 404 when it has none."""
        path = wire.PATH_PORTRAIT.format(record_id=record_id)
        return self._call("GET", path, wire.PortraitAnswer, token=token)

    def post_report(self, token: str, report: DeskReport) -> DeskReportAck:
        """Send a desk status report (``bts_desk.sync.reporter``); the service's receipt."""
        return self._call("POST", PATH_DESK_REPORT, DeskReportAck, token=token, payload=report)

    # --- one request, every failure mapped ---------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        answer: type[A],
        *,
        token: str | None = None,
        payload: BaseModel | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> A:
        headers = {"Accept": "application/json"}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if payload is not None:
            headers["Content-Type"] = "application/json"
            data = payload.model_dump_json().encode()
        url = self.base_url + path
        try:
            response = self.session.request(
                method,
                url,
                data=data,
                params=params,
                headers=headers,
                timeout=self.timeout_s,
                verify=self.verify,
            )
        except requests.Timeout as exc:
            raise SyncOfflineError("同步服务器响应超时", f"{method} {url}: timeout: {exc}") from exc
        except requests.exceptions.SSLError as exc:
            raise SyncOfflineError(
                "同步服务器证书校验失败，请联系信息科", f"{method} {url}: TLS: {exc}"
            ) from exc
        except requests.RequestException as exc:
            raise SyncOfflineError("无法连接同步服务器", f"{method} {url}: {exc}") from exc
        try:
            return _judge(method, path, response, answer)
        finally:
            response.close()


class _NoBody(BaseModel):
    """The empty answer of a 204."""


def _enrollment(draft: EnrollmentDraft) -> wire.EnrollmentBody:
    try:
        return wire.EnrollmentBody.from_draft(draft)
    except ValidationError as exc:  # the desk's own data does not fit: sending won't help
        error = wire.wire_error(exc.errors(include_url=False, include_input=False))
        raise SyncError(error.user_message, f"enrollment {draft.uuid}: {error.detail}") from None
    except RecordError as exc:  # a capture no standard record can hold: sending won't help
        raise SyncError(
            exc.user_message, f"enrollment {draft.uuid}: {exc.detail}", retryable=False
        ) from None


def _judge(method: str, path: str, response: requests.Response, answer: type[A]) -> A:
    status = response.status_code
    if 200 <= status < 300:
        try:
            return answer.model_validate_json(response.content or b"{}")
        except ValidationError as exc:
            raise _malformed(method, path, f"HTTP {status}: {exc}"[:500]) from None
    try:
        error = wire.decode_error(response.json())
    except ValueError:
        error = None
    where = f"{method} {path}: HTTP {status}"
    if status == 401:
        raise SyncAuthError(
            error.message if error else "同步服务器拒绝了登录凭证",
            f"{where} {error.code if error else response.text[:200]!r}",
            code=error.code if error else "",
        )
    if status == 429 or status >= 500:
        raise SyncError(
            f"同步服务器暂时不可用（HTTP {status}）", f"{where} {response.text[:200]!r}"
        )
    if error is not None:
        raise SyncError(error.message, f"{where} {error.code}: {error.message}", retryable=False)
    raise SyncError(
        f"同步服务器拒绝了请求（HTTP {status}）",
        f"{where} {response.text[:200]!r}",
        retryable=False,
    )


def _malformed(method: str, path: str, what: str) -> SyncError:
    return SyncError("同步服务器应答格式错误，稍后重试", f"{method} {path}: {what}")
