"""The FastAPI application of the reference sync service: ``create_app(db_url, ca_pem, …)``.

Every body is declared with the wire models (``bts_desk.sync.wire``): FastAPI validates
requests with them and generates the OpenAPI document from them. Bodies are capped per route
before they are read (``bodies.BodyLimit``); blocking work (SQL, image decoding, signature
checks) runs in Starlette's worker threads (plain ``def`` endpoints), never on the event
loop. Every refusal is ``{"detail": {"code", "message"}}``; anything unexpected becomes a
logged 500 and is counted in ``app.state.internal_errors`` (tests assert it stays 0).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

import bts_desk
from bts_desk.card.identity import load_ca_certificates
from bts_desk.errors import CardError
from bts_desk.heap import settle_heap
from bts_desk.service.bodies import BodyLimit, BodyRefused
from bts_desk.service.borderers import portrait, pull_page
from bts_desk.service.database import WORKER_THREADS, ServiceDatabase
from bts_desk.service.enrollment_view import enrollment_answer
from bts_desk.service.enrollments import EnrollmentService
from bts_desk.service.errors import ApiError
from bts_desk.service.ratelimit import ChallengeLimit
from bts_desk.service.sessions import SessionService
from bts_desk.service.tokens import Clock, SessionStore, TokenClaims, utc_now
from bts_desk.service.vault import Vault
from bts_desk.sync import wire
from bts_desk.sync.wire.types import UUID_PATTERN

log = logging.getLogger(__name__)

_HTTP_MESSAGES = {
    400: "请求内容不是有效的 JSON",
    404: "接口不存在",
    405: "不支持的请求方法",
    413: "请求内容过大",
}
_HTTP_CODES = {400: wire.E_BAD_JSON, 413: wire.E_TOO_LARGE}


def _error(status: int, code: str, message: str, headers: Any = None) -> JSONResponse:
    return JSONResponse(wire.error_body(code, message), status_code=status, headers=headers)


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry documenting the error body for the given statuses."""
    return {status: {"model": wire.ErrorBody} for status in statuses}


def body_limit(path: str) -> int:
    if path == wire.PATH_ENROLLMENT_BATCH:
        return wire.MAX_BATCH_BODY
    if path.startswith(wire.PATH_ENROLLMENT.removesuffix("{uuid}")):
        return wire.MAX_ENROLLMENT_BODY
    return wire.MAX_SESSION_BODY


_bearer = HTTPBearer(auto_error=False)


def current_officer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenClaims:
    """The session of the request's bearer token; ApiError 401 without a live one.
    A plain ``def``: FastAPI runs it in a worker thread (it reads the database)."""
    if credentials is None:
        raise ApiError(401, wire.E_NO_TOKEN, "请先登录", "no bearer token")
    store: SessionStore = request.app.state.sessions
    return store.check(credentials.credentials)


CurrentOfficer = Annotated[TokenClaims, Depends(current_officer)]


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    methods: set[str] = set()
    for route in app.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        log.info("refused %s %s: %s", exc.status, exc.code, exc.detail)
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        refusal = wire.wire_error(exc.errors())
        log.info("refused %s %s: %s", refusal.status, refusal.code, refusal.detail)
        return _error(refusal.status, refusal.code, refusal.user_message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, BodyRefused):
            return _error(exc.status_code, exc.code, exc.message)
        status = exc.status_code
        message = _HTTP_MESSAGES.get(status, "请求无法处理")
        code = _HTTP_CODES.get(status, f"http_{status}")
        headers = dict(exc.headers or {})
        if status == 405:  # every method of the path, not only the first route's
            headers["Allow"] = ", ".join(_allowed_methods(app, request.url.path))
        return _error(status, code, message, headers)

    @app.exception_handler(SQLAlchemyError)
    async def database_down(_request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error("database error: %s", exc, exc_info=exc)
        return _error(503, wire.E_UNAVAILABLE, "同步服务数据库暂时不可用，请稍后重试")

    @app.exception_handler(Exception)
    async def internal(_request: Request, exc: Exception) -> JSONResponse:
        app.state.internal_errors += 1
        log.error("internal error: %r", exc, exc_info=exc)
        return _error(500, wire.E_INTERNAL, "同步服务内部错误")


def create_app(
    db_url: str,
    ca_pem: bytes,
    *,
    clock: Clock = utc_now,
    create_schema: bool = True,
    docs: bool = False,
    challenge_limit: ChallengeLimit | None = None,
    vault: Vault | None = None,
    crl_file: Path | None = None,
) -> FastAPI:
    """The service app on ``db_url`` trusting the officer CAs of ``ca_pem``.

    Sessions live in the database, so every worker process on it honours them and their
    revocation. ``clock`` is for tests of expiry; ``docs`` serves ``/docs`` and
    ``/openapi.json`` (off in production unless asked for); ``challenge_limit`` the limit of
    anonymous challenge requests per client address (30 a minute by default, shared by every
    process on the database); ``vault`` the
    service key that seals biometrics at rest (a key for this process only when None: the
    stored biometrics are then unreadable after a restart, so real services give one);
    ``crl_file`` the officer CA's CRL (DER or PEM) published at ``GET /api/v1/crl``.
    Raises CardError for an unusable CA bundle, StoreError if the schema cannot be created."""
    cas = load_ca_certificates(ca_pem)
    if not cas:
        raise CardError("未配置可信的关员证书颁发机构", "CA bundle holds no certificate")
    from bts_desk.service import fleet_models  # noqa: F401  (its tables join the schema)

    db = ServiceDatabase(db_url)
    if create_schema:
        db.create_schema()
    store = SessionStore(db, clock)
    sessions = SessionService(db, cas, store, clock, challenge_limit)
    if vault is None:
        log.warning("no service key file: biometrics are sealed with a key of this process only")
        vault = Vault.ephemeral()
    enrollments = EnrollmentService(db, clock, vault)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = WORKER_THREADS
        settle_heap(collect_first=True)  # the app is built: see bts_desk.heap
        yield
        db.dispose()

    app = FastAPI(
        title="bts-desk reference sync service",
        version=bts_desk.__version__,
        description="边民互市贸易服务: borderer records and enrollments for the desks.",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.db = db
    app.state.vault = vault
    app.state.internal_errors = 0
    app.state.sessions = store
    _install_error_handlers(app)
    app.add_middleware(BodyLimit, limit_for=body_limit)
    _add_session_routes(app, db, sessions, store)
    _add_record_routes(app, db, enrollments, vault)
    _add_crl_route(app, crl_file)
    from bts_desk.service.fleet import install_fleet

    install_fleet(app, db, clock, current_officer)  # desk reports, console, /metrics
    return app


def _add_session_routes(
    app: FastAPI, db: ServiceDatabase, sessions: SessionService, store: SessionStore
) -> None:
    """Health, challenge, officer login (no token needed) and logout."""

    @app.get(wire.PATH_HEALTH, responses=refusals(503))
    def health() -> wire.HealthAnswer:
        with db.lookup() as conn:
            conn.execute(text("SELECT 1"))
        return wire.HealthAnswer(status="ok", version=bts_desk.__version__)

    @app.post(wire.PATH_CHALLENGE, responses=refusals(429, 503))
    def challenge(request: Request) -> wire.ChallengeAnswer:
        address = request.client.host if request.client else ""
        raw = sessions.new_challenge(address)
        return wire.ChallengeAnswer(challenge=raw, expires_in=wire.CHALLENGE_TTL_S)

    @app.post(wire.PATH_SESSION, responses=refusals(400, 401, 413, 422, 503))
    def session(body: wire.SessionBody) -> wire.SessionAnswer:
        token, who = sessions.open_session(body)
        return wire.SessionAnswer(
            token=token,
            expires_in=store.ttl_s,
            officer=wire.OfficerAnswer(
                officer_id=who.officer_id, name=who.name, customs_code=who.customs_code
            ),
            desk_id=who.desk_id,
            districts=sorted(who.districts),
        )

    @app.delete(wire.PATH_SESSION, status_code=204, responses=refusals(401, 503))
    def logout(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Response:
        """End the session of the bearer token (the desk's logout, its card pulled)."""
        if credentials is None:
            raise ApiError(401, wire.E_NO_TOKEN, "请先登录", "no bearer token")
        if not store.revoke(credentials.credentials):
            raise ApiError(401, wire.E_BAD_TOKEN, "登录凭证无效", "logout of an unknown token")
        return Response(status_code=204)


def _add_crl_route(app: FastAPI, crl_file: Path | None) -> None:
    """``GET /api/v1/crl``: the CRL IT configured (``--crl``), as DER, re-read on every
    request (IT replaces the file; it is small). No login: a CRL is public and signed."""

    @app.get(
        wire.PATH_CRL,
        response_class=Response,
        responses={
            200: {
                "content": {
                    wire.CRL_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}
                },
                "description": "the CRL, DER",
            },
            **refusals(404, 503),
        },
    )
    def crl() -> Response:
        if crl_file is None:
            raise ApiError(404, wire.E_NO_CRL, "同步服务未发布证书吊销列表", "no --crl configured")
        try:
            data = crl_file.read_bytes()
            if data.lstrip().startswith(b"-----BEGIN"):
                data = x509.load_pem_x509_crl(data).public_bytes(serialization.Encoding.DER)
            else:
                x509.load_der_x509_crl(data)  # refuse to serve a broken file
        except (OSError, ValueError) as exc:
            log.error("CRL file %s unusable: %s", crl_file, exc)
            raise ApiError(
                503, wire.E_UNAVAILABLE, "证书吊销列表暂时不可用", f"CRL file {crl_file}: {exc}"
            ) from exc
        return Response(data, media_type=wire.CRL_MEDIA_TYPE)


UuidPath = Annotated[str, PathParam(pattern=UUID_PATTERN, description="the desk's UUID (uuid4)")]


def _add_record_routes(
    app: FastAPI, db: ServiceDatabase, enrollments: EnrollmentService, vault: Vault
) -> None:
    """The pull of records and the enrollment uploads (bearer token needed)."""

    @app.get(
        wire.PATH_BORDERERS,
        response_class=Response,
        responses={200: {"model": wire.PullPage}, **refusals(401, 422, 503)},
    )
    def borderers(
        who: CurrentOfficer,
        cursor: Annotated[int, Query(ge=0, le=wire.MAX_CURSOR)] = 0,
        limit: Annotated[int, Query(ge=1, le=wire.MAX_PULL_LIMIT)] = wire.DEFAULT_PULL_LIMIT,
    ) -> Response:
        # Built with json.dumps, not the model: a desk pulls up to a million records.
        page = pull_page(db, cursor, limit, who.districts, vault)
        return Response(page, media_type="application/json")

    @app.get(wire.PATH_PORTRAIT, responses=refusals(401, 403, 404, 422, 503))
    def borderer_portrait(
        record_id: Annotated[int, PathParam(ge=1, le=wire.MAX_RECORD_ID)], who: CurrentOfficer
    ) -> wire.PortraitAnswer:
        """The enrolled face for 边民核验 (never pulled: asked for one record at a time)."""
        return portrait(db, vault, record_id, who.districts)

    @app.put(
        wire.PATH_ENROLLMENT,
        status_code=201,
        responses={
            200: {"model": wire.PutAnswer},
            **refusals(400, 401, 403, 404, 409, 413, 422, 503),
        },
    )
    def put_enrollment(
        uuid: UuidPath, body: wire.EnrollmentBody, who: CurrentOfficer, response: Response
    ) -> wire.PutAnswer:
        result = enrollments.put(uuid.lower(), body, who)
        response.status_code = result.http_status
        return wire.PutAnswer(uuid=uuid.lower(), status=result.status)  # type: ignore[arg-type]

    @app.get(wire.PATH_ENROLLMENT, responses=refusals(400, 401, 403, 404, 422, 503))
    def get_enrollment(uuid: UuidPath, who: CurrentOfficer) -> wire.EnrollmentAnswer:
        """What the service holds of an enrollment: no biometric records, the exception
        entries as stored."""
        return enrollment_answer(db, uuid.lower(), who)

    @app.post(wire.PATH_ENROLLMENT_BATCH, responses=refusals(400, 401, 413, 422, 503))
    def batch(body: wire.BatchBody, who: CurrentOfficer) -> wire.BatchAnswer:
        """Each item as its own PUT would answer it; one refused item does not stop the rest."""
        pairs = [(item.uuid.lower(), item.enrollment) for item in body.items]
        results = []
        for (uuid, _body), outcome in zip(pairs, enrollments.put_many(pairs, who), strict=True):
            if isinstance(outcome, ApiError):
                result = wire.BatchResult(
                    uuid=uuid,
                    http_status=outcome.status,
                    status=wire.STATUS_REFUSED,  # type: ignore[arg-type]
                    code=outcome.code,
                    message=outcome.message,
                )
            else:
                result = wire.BatchResult(
                    uuid=uuid,
                    http_status=outcome.http_status,
                    status=outcome.status,  # type: ignore[arg-type]
                )
            results.append(result)
        return wire.BatchAnswer(results=results)
