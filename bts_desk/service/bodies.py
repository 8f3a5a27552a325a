"""Request-body size limits for the service, as a pure ASGI middleware.

FastAPI reads a JSON body completely before validating it; this layer refuses a body over its
route's limit with 413 before it is held in memory: at once when ``Content-Length`` says so,
otherwise as soon as the streamed bytes pass the limit. A desk that disconnects mid-body is
answered ``disconnected`` (400): nothing was stored, its retry with the same UUID is
idempotent, and it is an ordinary event at border posts, not an internal error.
Runs on the event loop; holds no state between requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bts_desk.sync import wire


class BodyRefused(HTTPException):
    """A body refused while it was being received (the app's handler renders it)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, detail=message)
        self.code = code
        self.message = message


def too_large() -> BodyRefused:
    return BodyRefused(413, wire.E_TOO_LARGE, "上传内容过大")


class BodyLimit:
    """Caps request bodies at ``limit_for(path)`` bytes."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, too_large())
            return
        received = 0
        complete = False

        async def limited() -> Message:
            nonlocal received, complete
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    raise too_large()
            elif message["type"] == "http.disconnect" and not complete:
                raise BodyRefused(400, wire.E_DISCONNECTED, "上传中断")
            return message

        await self.app(scope, limited, send)


async def _refuse(send: Send, error: BodyRefused) -> None:
    body = json.dumps(wire.error_body(error.code, error.message), ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
