"""The refusal the service answers with: an HTTP status, a wire error code and a Chinese reason.

Raised anywhere in the service; the app's exception handler turns it into
``{"detail": {"code", "message"}}`` (``bts_desk.sync.wire.error_body``). ``detail`` is the
English account for the service log.
"""

from __future__ import annotations

from bts_desk.sync import wire


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str = "",
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail or message
        self.headers = headers

    @classmethod
    def from_wire(cls, exc: wire.WireError) -> ApiError:
        return cls(exc.status, exc.code, exc.user_message, exc.detail)
