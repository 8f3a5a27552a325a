"""IT's fleet console: server-rendered pages (Jinja2) in Chinese, no JavaScript.

- ``/console/login`` (GET form, POST check) and ``/console/logout`` (POST);
- ``/console/`` 设备总览: every desk with district, version, last seen, outbox counts and
  device lamps; desks that are stale, hold refused enrollments or have a red device are marked
  「需关注」 and sorted to the top by default (``?sort=`` picks another column);
- ``/console/desks/{desk_id}``: one desk's latest state, devices and report history;
- ``/console/enrollments`` 补录统计: enrollments per day per district (SVG) and the refusals
  the desks report, with their reasons.

Every page needs an administrator's session (else a redirect to the login page); every POST
checks the session's CSRF token (403 otherwise). Blocking work (argon2, SQL) runs in
Starlette's thread pool, never on the event loop.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bts_desk.service.console import auth
from bts_desk.service.console.stats import CST, bar_chart_svg, enrollments_per_day
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.reports import Clock, DeskView, desk_history, get_desk, list_desks

SESSION_COOKIE = "bts_console"
LOGIN_CSRF_COOKIE = "bts_console_login"
PREFIX = "/console"
DEVICE_NAMES = {"card_reader": "读卡器", "scanner": "指纹识别器", "camera": "摄像头"}
SORTS = {
    "attention": lambda d: (not d.attention, d.last_seen),
    "desk": lambda d: d.desk_id,
    "district": lambda d: (d.district, d.desk_id),
    "last_seen": lambda d: d.last_seen,
    "version": lambda d: (d.app_version, d.desk_id),
    "pending": lambda d: (-d.pending, d.desk_id),
    "refused": lambda d: (-d.refused, d.desk_id),
}

_templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def _local(value: dt.datetime | None) -> str:
    return "—" if value is None else value.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} 秒"
    if seconds < 7200:
        return f"{seconds / 60:.0f} 分钟"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} 小时"
    return f"{seconds / 86400:.1f} 天"


_templates.env.filters["local"] = _local
_templates.env.filters["age"] = _age
_templates.env.globals["device_names"] = DEVICE_NAMES


class LoginForm(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    csrf: str = Field("", max_length=128)


class CsrfForm(BaseModel):
    csrf: str = Field("", max_length=128)


def console_router(db: ServiceDatabase, clock: Clock, settings: Any) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return _templates.TemplateResponse(request, name, context, status_code=status)

    def secure(request: Request) -> bool:
        return bool(settings.secure_cookies) or request.url.scheme == "https"

    async def user_of(request: Request) -> auth.ConsoleUser | None:
        token = request.cookies.get(SESSION_COOKIE)
        return await run_in_threadpool(auth.session_user, db, token, clock().timestamp())

    def to_login() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    def refused(request: Request, message: str) -> HTMLResponse:
        return page(request, "error.html", 403, message=message, user=None)

    @router.get("/login")
    async def login_form(request: Request) -> Response:
        return _login_page(request, page, secure(request))

    @router.post("/login")
    async def login(request: Request, form: Annotated[LoginForm, Form()]) -> Response:
        if not auth.same_token(request.cookies.get(LOGIN_CSRF_COOKIE, ""), form.csrf):
            return refused(request, "表单已失效（CSRF 校验失败），请重新打开登录页")
        ok = await run_in_threadpool(auth.check_password, db, form.username, form.password)
        if not ok:
            return _login_page(request, page, secure(request), "用户名或密码错误", 401)
        token, _user = await run_in_threadpool(
            auth.open_session, db, form.username, clock().timestamp()
        )
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=auth.SESSION_TTL_S,
            path="/",
            httponly=True,
            secure=secure(request),
            samesite="strict",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    @router.post("/logout")
    async def logout(request: Request, form: Annotated[CsrfForm, Form()]) -> Response:
        user = await user_of(request)
        if user is None:
            return to_login()
        if not auth.same_token(user.csrf, form.csrf):
            return refused(request, "表单已失效（CSRF 校验失败），请刷新页面后重试")
        await run_in_threadpool(auth.close_session, db, request.cookies[SESSION_COOKIE])
        response = to_login()
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.get("/")
    async def desks(request: Request, sort: str = "attention", desc: int = 0) -> Response:
        user = await user_of(request)
        if user is None:
            return to_login()
        now = clock()
        rows = await run_in_threadpool(list_desks, db, now, settings.stale_after_s)
        key = sort if sort in SORTS else "attention"
        rows.sort(key=SORTS[key], reverse=bool(desc))
        return page(
            request,
            "desks.html",
            user=user,
            desks=rows,
            sort=key,
            desc=bool(desc),
            now=now,
            stale_after=_age(settings.stale_after_s),
            attention=sum(1 for d in rows if d.attention),
        )

    @router.get("/desks/{desk_id}")
    async def desk(request: Request, desk_id: str) -> Response:
        user = await user_of(request)
        if user is None:
            return to_login()
        now = clock()
        view: DeskView | None = await run_in_threadpool(
            get_desk, db, desk_id, now, settings.stale_after_s
        )
        if view is None:
            return page(request, "error.html", 404, message="没有这台设备的报告", user=user)
        history = await run_in_threadpool(desk_history, db, desk_id)
        return page(request, "desk.html", user=user, desk=view, history=history, now=now)

    @router.get("/enrollments")
    async def enrollments(request: Request, days: int = 14) -> Response:
        user = await user_of(request)
        if user is None:
            return to_login()
        days = min(max(days, 1), 90)
        now = clock()
        data = await run_in_threadpool(enrollments_per_day, db, now, days)
        rows = await run_in_threadpool(list_desks, db, now, settings.stale_after_s)
        reasons: Counter[str] = Counter()
        for d in rows:
            for r in d.refusals:
                reasons[str(r["reason"])] += int(r["count"])
        return page(
            request,
            "enrollments.html",
            user=user,
            data=data,
            days=days,
            chart=bar_chart_svg(data),
            reasons=reasons.most_common(),
            refusing=[d for d in rows if d.refused],
        )

    return router


def _login_page(
    request: Request, page: Any, secure: bool, error: str = "", status: int = 200
) -> Response:
    """The login form with a fresh double-submit CSRF token (cookie + hidden field)."""
    token = secrets.token_urlsafe(32)
    response: Response = page(request, "login.html", status, csrf=token, error=error, user=None)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/",
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    return response
