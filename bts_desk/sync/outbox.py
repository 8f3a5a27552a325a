"""The outbox worker: uploads queued enrollments and pulls records, in the background.

One plain thread per desk (Qt-free; the UI listens through ``add_listener`` callbacks, wrapped
with ``gui_poster().wrap``). Each pass:

1. ``GET /health``: online or offline (offline: nothing else is tried; back off, try again);
2. uploads: pending entries of the logged-in officer, oldest first, in batches. For each batch
   the state ``sending`` is committed *before* the request and ``acknowledged``/``refused``
   *after* the answer, so a kill -9 anywhere leaves entries in ``sending`` at worst; on start
   they go back to ``pending`` and are sent again — the service answers ``already_stored`` for
   a UUID it holds, so it ends with exactly one copy;
3. a final refusal (4xx with a reason) marks that one entry ``refused`` and the pass goes on; a
   retryable failure (network, 5xx, 429, malformed answer) puts the batch back to ``pending``
   with ``next_attempt_at`` growing exponentially with its attempts (with jitter) and ends the
   upload phase;
4. the incremental pull (``sync.pull``).

Within a single request, urllib3's ``Retry`` (``sync.client``) already retries with jittered
backoff; the per-entry backoff here spans passes and restarts (it is stored in the outbox).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import TypeVar

from bts_desk.domain import EnrollmentDraft
from bts_desk.errors import CardError, DeskError, StoreError, SyncError
from bts_desk.store import enrollments as store
from bts_desk.store import sync_state
from bts_desk.store.audit import AuditAction, record
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.store.models import utcnow
from bts_desk.sync import wire
from bts_desk.sync.auth import OfficerAuth, TokenBroker
from bts_desk.sync.client import SyncAuthError, SyncClient, SyncOfflineError
from bts_desk.sync.districts import reconcile
from bts_desk.sync.pull import Puller

log = logging.getLogger(__name__)
CRL_INTERVAL_S = 3600.0  # how often the service's CRL is fetched

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Delay before the n-th retry of an entry: base·2^(n-1), capped, ±jitter."""

    base_s: float = 30.0
    max_s: float = 3600.0
    jitter: float = 0.5  # fraction of the delay, drawn uniformly in [-jitter, +jitter]

    def delay(self, attempts: int) -> float:
        raw = min(self.max_s, self.base_s * 2.0 ** max(0, attempts - 1))
        return max(0.0, raw * (1 + random.uniform(-self.jitter, self.jitter)))


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar shows; sent to listeners after every change."""

    online: bool | None = None  # None: not known yet / no service configured
    pending: int = 0  # 待上传 (pending + sending)
    refused: int = 0
    last_sync: dt.datetime | None = None  # end of the last pass without failures
    busy: bool = False
    phase: str = ""  # "upload" / "pull" / ""
    done: int = 0
    total: int = 0  # 0 while busy: progress unknown (pull)
    message: str = ""  # Chinese, the last problem (safe to show), "" when all went well


@dataclass
class PassResult:
    uploaded: int = 0
    refused: int = 0
    postponed: int = 0
    pulled: int = 0
    pull_done: bool = False  # the pull ran to the end (it needs a logged-in officer)
    ok: bool = True


Listener = Callable[[SyncStatus], None]


class SyncWorker:
    """Owns the sync thread. ``start``/``stop`` with the app; ``sync_now`` for 立即同步."""

    def __init__(
        self,
        db: Database,
        client: SyncClient,
        tokens: TokenBroker,
        key: DeskKey,
        *,
        interval_s: float = 300.0,
        backoff: Backoff | None = None,
        batch_size: int = 25,
        use_batch: bool = True,
        pull: bool = True,
        parallel: int = 2,
    ) -> None:
        self._db = db
        self._client = client
        self._tokens = tokens
        self._key = key
        self.interval_s = interval_s
        self.backoff = backoff or Backoff()
        self.batch_size = max(1, min(batch_size, wire.MAX_BATCH_ITEMS))
        self.use_batch = use_batch
        self.parallel = max(1, parallel)
        self._pool: ThreadPoolExecutor | None = None
        self._puller = Puller(db, client, key=key) if pull else None
        self._listeners: list[Listener] = []
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one pass at a time (thread and run_once callers)
        self._status = SyncStatus()
        self._recovered = False
        self.crl_sink: Callable[[bytes], object] | None = None  # the card's revocation store
        self._crl_fetched = -CRL_INTERVAL_S

    # --- control (any thread) ---------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """``listener(status)`` is called on the worker thread: wrap GUI callbacks with
        ``gui_poster().wrap``. It gets the current status at once."""
        self._listeners.append(listener)
        listener(self._status)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener`` (a widget that goes away)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def status(self) -> SyncStatus:
        return self._status

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="bts-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish after the current request; wait up to ``timeout``."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def sync_now(self) -> None:
        """立即同步: run a pass now (retries postponed entries at once too)."""
        self._force = True
        self._wake.set()

    def wake(self) -> None:
        """Something new to send (a 补录 was saved, an officer logged in): run a pass soon,
        without skipping the backoff of postponed entries."""
        self._wake.set()

    def refresh_counts(self) -> None:
        """Re-read the queue counts (after a save or a 重试) and tell the listeners."""
        counts = store.outbox_counts(self._db)
        self._publish(pending=counts.pending, refused=counts.refused)

    # --- the thread -------------------------------------------------------------------------

    _force = False

    def _loop(self) -> None:
        offline_wait = 5.0
        while not self._stopping.is_set():
            try:
                result = self.run_once(force=self._take_force())
            except Exception:  # the thread must survive anything; the next pass tries again
                log.exception("sync pass failed")
                result = PassResult(ok=False)
                self._publish(busy=False, phase="", message="同步出错，稍后自动重试")
            if self._status.online is False:  # try again soon, then less and less often
                delay, offline_wait = offline_wait, min(self.interval_s, 60.0, offline_wait * 2)
            else:
                offline_wait = 5.0
                delay = self._until_next_due()
            self._wake.wait(delay)
            self._wake.clear()
            log.debug("sync pass: %s", result)

    def _take_force(self) -> bool:
        force, self._force = self._force, False
        return force

    def _until_next_due(self) -> float:
        wait = self.interval_s
        due = store.next_due_at(self._db, self._tokens.officers())
        if due is not None:
            wait = min(wait, max(0.5, (due - utcnow()).total_seconds()))
        return wait

    def run_once(self, *, force: bool = False) -> PassResult:
        """One full pass (health, uploads, pull). Blocking; also used by the CLI and tests."""
        with self._lock:
            if not self._recovered:
                reset = store.recover_interrupted(self._db)
                if reset:
                    log.info("%d uploads interrupted by a crash go out again", reset)
                self._recovered = True
            return self._pass(force)

    def _pass(self, force: bool) -> PassResult:
        result = PassResult()
        counts = store.outbox_counts(self._db)
        self._publish(busy=True, phase="", pending=counts.pending, refused=counts.refused)
        try:
            self._client.health()
        except SyncError as exc:
            log.info("sync service unreachable: %s", exc.detail)
            self._publish(online=False, busy=False, message=exc.user_message)
            result.ok = False
            return result
        self._publish(online=True, message="")
        message = ""
        try:
            self._upload_all(result, force, counts.pending)
            if result.uploaded or result.refused:  # 待上传 drops now, not after the pull
                counts = store.outbox_counts(self._db)
                self._publish(pending=counts.pending, refused=counts.refused)
            if self._puller is not None and not self._stopping.is_set():
                self._pull(result)
            self._refresh_crl()
        except DeskError as exc:
            log.warning("sync pass stopped: %s", exc.detail)
            message, result.ok = exc.user_message, False
            if isinstance(exc, SyncOfflineError):  # 离线 never without its reason
                self._publish(online=False, message=message)
        synced = result.pull_done or self._puller is None
        if result.ok and result.postponed == 0 and synced:
            sync_state.set_time(self._db, sync_state.LAST_SYNC_AT, utcnow())
        counts = store.outbox_counts(self._db)
        self._publish(
            busy=False,
            phase="",
            done=0,
            total=0,
            pending=counts.pending,
            refused=counts.refused,
            last_sync=sync_state.get_time(self._db, sync_state.LAST_SYNC_AT),
            message=message,
        )
        return result

    # --- uploads ------------------------------------------------------------------------------

    def _upload_all(self, result: PassResult, force: bool, total: int) -> None:
        """Keep up to ``parallel`` batches in flight until nothing is due: as soon as one
        answer is in, the next batch is read, decrypted, encoded and sent (on a pool thread)
        while the other is still on the wire or being judged by the service, so the desk's
        work and the service's overlap on the two cores without a wait for the slowest batch
        of a round. A retryable failure (or an exception) stops new sends; the batches in
        flight finish, then the phase ends."""
        present = self._tokens.officers()
        store.mark_waiting_for_officers(self._db, present)
        # A forced pass (立即同步) does not wait for postponed entries.
        horizon = utcnow() + (dt.timedelta(days=3650) if force else dt.timedelta())
        self._publish(phase="upload", done=0, total=total)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.parallel, thread_name_prefix="bts-upload")
        flying: dict[Future[bool], tuple[frozenset[str], PassResult]] = {}
        failure: BaseException | None = None
        sending, done = True, 0
        while True:
            while sending and len(flying) < self.parallel and not self._stopping.is_set():
                taken = frozenset().union(*(uuids for uuids, _ in flying.values()))
                batch = self._next_batch(horizon, present, taken)
                if batch is None:
                    sending = False
                    break
                auth, entries = batch
                part = PassResult()
                future = self._pool.submit(self._upload_batch, auth, entries, part)
                flying[future] = (frozenset(e.uuid for e in entries), part)
            if not flying:
                break
            finished, _ = wait(flying, return_when=FIRST_COMPLETED)
            for future in finished:
                uuids, part = flying.pop(future)
                result.uploaded += part.uploaded
                result.refused += part.refused
                result.postponed += part.postponed
                done += len(uuids)
                if future.exception() is not None:
                    failure, sending = failure or future.exception(), False
                elif not future.result():
                    result.ok, sending = False, False
            self._publish(done=done, total=max(total, done))
        if failure is not None:
            raise failure

    def _next_batch(
        self, horizon: dt.datetime, present: Collection[str], taken: frozenset[str]
    ) -> tuple[OfficerAuth, list[store.OutboxEntry]] | None:
        """The next due entries of one officer not already in flight (None: nothing left, or
        the officer logged out meanwhile)."""
        limit = self.batch_size + len(taken)
        due = store.due_entries(self._db, horizon, present, limit)
        due = [e for e in due if e.uuid not in taken]
        if not due:
            return None
        officer_id = due[0].officer_id
        auth = self._tokens.auth_for(officer_id)
        if auth is None:  # the officer logged out meanwhile
            store.mark_waiting_for_officers(self._db, self._tokens.officers())
            return None
        return auth, [e for e in due if e.officer_id == officer_id][: self.batch_size]

    def _upload_batch(
        self, auth: OfficerAuth, batch: Sequence[store.OutboxEntry], result: PassResult
    ) -> bool:
        """Send one batch; False when a retryable failure ends the upload phase."""
        drafts: list[EnrollmentDraft] = []
        for uuid, loaded in store.load_drafts(self._db, [e.uuid for e in batch], self._key):
            if isinstance(loaded, StoreError):  # unreadable locally: sending again won't help
                log.error("enrollment %s cannot be read: %s", uuid, loaded.detail)
                store.mark_refused(self._db, uuid, loaded.user_message)
                result.refused += 1
            else:
                drafts.append(loaded)
        if not drafts:
            return True
        uuids = [d.uuid for d in drafts]
        store.mark_sending(self._db, uuids)  # committed before anything goes out
        attempts = {e.uuid: e.attempts + 1 for e in batch}
        try:
            answers = self._send(auth, drafts)
        except (SyncError, CardError) as exc:
            retryable = not isinstance(exc, SyncError) or exc.retryable
            if retryable:
                self._postpone(uuids, attempts, exc, result)
                raise
            # A final refusal of the whole request: judge the items one by one.
            answers = self._send_each(auth, drafts)
        self._record_answers(answers, attempts, result)
        return not any(isinstance(a, SyncError) and a.retryable for a in answers.values())

    def _send(
        self, auth: OfficerAuth, drafts: Sequence[EnrollmentDraft]
    ) -> dict[str, str | SyncError]:
        if len(drafts) == 1 or not self.use_batch:
            return self._send_each(auth, drafts)
        try:
            results = self._with_token(auth, lambda token: self._client.put_batch(token, drafts))
        except SyncError as exc:
            if not exc.retryable and ("HTTP 404" in exc.detail or "HTTP 405" in exc.detail):
                log.info("service has no batch upload; sending one by one")
                self.use_batch = False
                return self._send_each(auth, drafts)
            raise
        answers: dict[str, str | SyncError] = {}
        for r in results:
            if r.status in (wire.STATUS_STORED, wire.STATUS_ALREADY_STORED):
                answers[r.uuid] = r.status
            else:
                retryable = r.http_status in (401, 429) or r.http_status >= 500
                answers[r.uuid] = SyncError(
                    r.message or f"同步服务器拒绝了上传（HTTP {r.http_status}）",
                    f"batch item {r.uuid}: HTTP {r.http_status} {r.code}: {r.message}",
                    retryable=retryable,
                )
        return answers

    def _send_each(
        self, auth: OfficerAuth, drafts: Sequence[EnrollmentDraft]
    ) -> dict[str, str | SyncError]:
        """One PUT per draft; after a retryable failure the rest wait for the next pass."""
        answers: dict[str, str | SyncError] = {}
        failure: SyncError | None = None
        for draft in drafts:
            if failure is None and not self._stopping.is_set():
                answer = self._send_one(auth, draft)
                if isinstance(answer, SyncError) and answer.retryable:
                    failure = answer
                answers[draft.uuid] = answer
            else:
                answers[draft.uuid] = failure or SyncError("同步已停止", "worker stopping")
        return answers

    def _send_one(self, auth: OfficerAuth, draft: EnrollmentDraft) -> str | SyncError:
        try:
            return self._with_token(auth, lambda token: self._client.put_enrollment(token, draft))
        except SyncError as exc:
            return exc

    def _with_token(self, auth: OfficerAuth, call: Callable[[str], T]) -> T:
        """``call(token)``, logging in again once if the token was refused (expired)."""
        try:
            return call(auth.token())
        except SyncAuthError:
            auth.invalidate()
            return call(auth.token())

    def _record_answers(
        self, answers: dict[str, str | SyncError], attempts: dict[str, int], result: PassResult
    ) -> None:
        acked = [u for u, a in answers.items() if isinstance(a, str)]
        if acked:
            store.mark_acknowledged(self._db, acked)
            result.uploaded += len(acked)
        for uuid, answer in answers.items():
            if not isinstance(answer, SyncError):
                continue
            if answer.retryable:
                self._postpone([uuid], attempts, answer, result)
            else:
                log.warning("upload %s refused: %s", uuid, answer.detail)
                store.mark_refused(self._db, uuid, answer.user_message)
                result.refused += 1

    def _postpone(
        self, uuids: Sequence[str], attempts: dict[str, int], exc: DeskError, result: PassResult
    ) -> None:
        now = utcnow()
        for uuid in uuids:
            at = now + dt.timedelta(seconds=self.backoff.delay(attempts.get(uuid, 1)))
            store.mark_retry_later(self._db, [uuid], exc.user_message, at)
        result.postponed += len(uuids)

    # --- pull -----------------------------------------------------------------------------------

    def _refresh_crl(self) -> None:
        """Hand the service's CRL to the card's revocation store, at most hourly. A refused or
        missing CRL is logged: the store keeps the one it holds."""
        now = time.monotonic()
        if self.crl_sink is None or now - self._crl_fetched < CRL_INTERVAL_S:
            return
        self._crl_fetched = now  # once an hour, whatever the answer
        try:
            self.crl_sink(self._client.fetch_crl())
        except DeskError as exc:  # SyncError (none published, offline) or CrlError
            log.warning("CRL from the sync service not taken: %s", exc.detail)

    def _pull(self, result: PassResult) -> None:
        auth = self._tokens.any_auth()
        if auth is None or self._puller is None:
            return  # every call but health needs an officer's token
        self._publish(phase="pull", done=0, total=0)
        puller = self._puller

        def pull(token: str) -> int:
            # the grant of the session that holds ``token`` (a re-login may have changed it)
            reconcile(self._db, auth.districts, auth.officer, self._client.desk_id)
            return puller.pull(token, lambda n: self._publish(done=n), self._stopping.is_set)

        result.pulled = self._with_token(auth, pull)
        result.pull_done = not self._stopping.is_set()
        if result.pulled:
            record(
                self._db,
                auth.officer,
                AuditAction.PULL,
                None,
                f"同步拉取 {result.pulled} 条边民记录",
                desk_id=self._client.desk_id,
            )
        if auth.districts:  # shown on the query page: which districts this desk holds
            sync_state.set_value(self._db, sync_state.GRANTED_DISTRICTS, ",".join(auth.districts))

    # --- listeners ------------------------------------------------------------------------------

    def _publish(self, **changes: object) -> None:
        self._status = replace(self._status, **changes)  # type: ignore[arg-type]
        for listener in list(self._listeners):
            try:
                listener(self._status)
            except Exception:
                log.exception("sync status listener failed")
