"""The FastAPI application of the reference sync service: ``create_app(db_url, ca_pem, …)``.

Routes and wire format: ``bts_desk.sync.wire``. Bodies are read raw with a size cap (413
before parsing), decoded and checked by ``wire``, and the blocking work (SQL, image decoding,
signature checks) runs in Starlette's worker threads, never on the event loop. Every refusal
is ``{"detail": {"code", "message"}}``; anything unexpected becomes a logged 500 and is
counted in ``app.state.internal_errors`` (tests assert it stays 0).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

import bts_desk
from bts_desk.card.identity import load_ca_certificates
from bts_desk.errors import CardError
from bts_desk.service import openapi as doc
from bts_desk.service.borderers import pull_page
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.enrollments import EnrollmentService
from bts_desk.service.errors import ApiError
from bts_desk.service.sessions import (
    Clock,
    SessionService,
    TokenClaims,
    TokenSigner,
    utc_now,
)
from bts_desk.sync import wire

log = logging.getLogger(__name__)

_HTTP_MESSAGES = {404: "接口不存在", 405: "不支持的请求方法", 413: "请求内容过大"}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(wire.error_body(code, message), status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    too_large = ApiError(413, wire.E_TOO_LARGE, "上传内容过大", f"body over {limit} bytes")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        # A desk killed or cut off while sending: nothing was stored, and its retry (same
        # UUID) is idempotent. An ordinary event at border posts, not an internal error.
        raise ApiError(
            400, wire.E_DISCONNECTED, "上传中断", f"client disconnected after {size} bytes"
        ) from None
    return b"".join(chunks)


_bearer = HTTPBearer(auto_error=False)


async def current_officer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenClaims:
    """The officer of the request's bearer token; ApiError 401 without a valid one."""
    if credentials is None:
        raise ApiError(401, wire.E_NO_TOKEN, "请先登录", "no bearer token")
    signer: TokenSigner = request.app.state.signer
    return signer.check(credentials.credentials)


CurrentOfficer = Annotated[TokenClaims, Depends(current_officer)]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        log.info("refused %s %s: %s", exc.status, exc.code, exc.detail)
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        log.info("refused 422 request parameters: %s", exc.errors())
        return _error(422, wire.E_BAD_FIELD, "请求参数错误")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = _HTTP_MESSAGES.get(exc.status_code, "请求无法处理")
        return _error(exc.status_code, f"http_{exc.status_code}", message)

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
    token_secret: bytes | None = None,
    *,
    clock: Clock = utc_now,
    create_schema: bool = True,
) -> FastAPI:
    """The service app on ``db_url`` trusting the officer CAs of ``ca_pem``.

    ``token_secret``: HMAC key of the session tokens (random per process when None: tokens
    then end with the process, and the desks log in again). ``clock`` is for tests of expiry.
    Raises CardError for an unusable CA bundle, StoreError if the schema cannot be created."""
    cas = load_ca_certificates(ca_pem)
    if not cas:
        raise CardError("未配置可信的关员证书颁发机构", "CA bundle holds no certificate")
    from bts_desk.service import fleet_models  # noqa: F401  (its tables join the schema)

    db = ServiceDatabase(db_url)
    if create_schema:
        db.create_schema()
    signer = TokenSigner(token_secret or secrets.token_bytes(32), clock)
    sessions = SessionService(db, cas, signer, clock)
    enrollments = EnrollmentService(db, clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        db.dispose()

    app = FastAPI(
        title="bts-desk reference sync service",
        version=bts_desk.__version__,
        description="边民互市贸易服务: borderer records and enrollments for the desks.",
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.internal_errors = 0
    _install_error_handlers(app)
    app.state.signer = signer

    _add_session_routes(app, db, sessions, signer)
    _add_record_routes(app, db, enrollments)
    from bts_desk.service.fleet import install_fleet

    install_fleet(app, db, clock, current_officer)  # desk reports, console, /metrics
    return app


def _judge_batch(enrollments: EnrollmentService, raw: bytes, who: TokenClaims) -> dict[str, Any]:
    """Each item as its own PUT would answer it; one refused item does not stop the rest."""
    try:
        body = wire.parse_json(raw)
    except wire.WireError as exc:
        raise ApiError.from_wire(exc) from exc
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) > wire.MAX_BATCH_ITEMS:
        raise ApiError(
            422,
            wire.E_BAD_FIELD,
            f"批量上传应为不超过 {wire.MAX_BATCH_ITEMS} 条的列表",
            "batch: items missing, not a list or too long",
        )
    pairs: list[tuple[str, object]] = []
    for item in items:
        uuid = item.get("uuid") if isinstance(item, dict) else None
        enrollment = item.get("enrollment") if isinstance(item, dict) else None
        pairs.append((uuid if isinstance(uuid, str) else "", enrollment))
    results = []
    for (uuid, _body), outcome in zip(pairs, enrollments.put_many(pairs, who), strict=True):
        if isinstance(outcome, ApiError):
            result = wire.BatchResult(
                uuid, outcome.status, wire.STATUS_REFUSED, outcome.code, outcome.message
            )
        else:
            result = wire.BatchResult(uuid, outcome.http_status, outcome.status)
        results.append(result.to_json())
    return {"results": results}


def _add_session_routes(
    app: FastAPI, db: ServiceDatabase, sessions: SessionService, signer: TokenSigner
) -> None:
    """Health, challenge and officer login (no token needed)."""

    @app.get(wire.PATH_HEALTH, response_model=doc.HealthOut, responses=doc.refusals(503))
    def health() -> dict[str, str]:
        with db.read() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "version": bts_desk.__version__}

    @app.post(wire.PATH_CHALLENGE, response_model=doc.ChallengeOut)
    def challenge() -> dict[str, Any]:
        raw = sessions.new_challenge()
        return {"challenge": wire.b64encode(raw), "expires_in": wire.CHALLENGE_TTL_S}

    @app.post(
        wire.PATH_SESSION,
        response_model=doc.SessionOut,
        responses=doc.refusals(400, 401, 413, 422),
        openapi_extra=doc.request_body(doc.SESSION_SCHEMA),
    )
    async def session(request: Request) -> dict[str, Any]:
        raw = await read_body(request, 64 * 1024)
        try:
            body = wire.decode_session_request(wire.parse_json(raw))
        except wire.WireError as exc:
            raise ApiError.from_wire(exc) from exc
        token, who = await run_in_threadpool(sessions.open_session, body)
        return {
            "token": token,
            "expires_in": signer.ttl_s,
            "officer": {
                "officer_id": who.officer_id,
                "name": who.name,
                "customs_code": who.customs_code,
            },
        }


def _add_record_routes(app: FastAPI, db: ServiceDatabase, enrollments: EnrollmentService) -> None:
    """The pull of records and the enrollment uploads (bearer token needed)."""

    @app.get(
        wire.PATH_BORDERERS,
        response_class=Response,
        responses={200: {"model": doc.PullOut}, **doc.refusals(401, 422)},
    )
    def borderers(
        _officer: CurrentOfficer,
        cursor: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=wire.MAX_PULL_LIMIT)] = wire.DEFAULT_PULL_LIMIT,
    ) -> Response:
        return Response(pull_page(db, cursor, limit), media_type="application/json")

    @app.put(
        wire.PATH_ENROLLMENT,
        response_model=doc.PutOut,
        status_code=201,
        responses={200: {"model": doc.PutOut}, **doc.refusals(400, 401, 403, 404, 409, 413, 422)},
        openapi_extra=doc.request_body(doc.ENROLLMENT_SCHEMA),
    )
    async def put_enrollment(uuid: str, request: Request, who: CurrentOfficer) -> JSONResponse:
        raw = await read_body(request, wire.MAX_ENROLLMENT_BODY)

        def judge() -> JSONResponse:
            try:
                body = wire.parse_json(raw)
            except wire.WireError as exc:
                raise ApiError.from_wire(exc) from exc
            result = enrollments.put(uuid, body, who)
            return JSONResponse({"uuid": uuid.lower(), "status": result.status}, result.http_status)

        return await run_in_threadpool(judge)

    @app.post(
        wire.PATH_ENROLLMENT_BATCH,
        response_model=doc.BatchOut,
        responses=doc.refusals(400, 401, 413, 422),
        openapi_extra=doc.request_body(doc.BATCH_SCHEMA),
    )
    async def batch(request: Request, who: CurrentOfficer) -> dict[str, Any]:
        raw = await read_body(request, wire.MAX_BATCH_BODY)
        return await run_in_threadpool(_judge_batch, enrollments, raw, who)
