"""Authorization headers are dropped: socmon issues no API tokens, so none may skip CSRF."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class DropAuthorization:
    """Remove Authorization headers before asgi-csrf sees them.

    asgi-csrf skips its check for any request with an `Authorization: Bearer` header, valid
    or not, so a session cookie plus a made-up Bearer header passed as a signed-in,
    CSRF-checked request. socmon authenticates by session cookie only: a Bearer token can
    never be a valid API token here, so the header is dropped and the cookie's request is
    CSRF-checked like any other.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on without its Authorization headers."""
        if scope["type"] == "http" and any(k == b"authorization" for k, _v in scope["headers"]):
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"]
                                          if k != b"authorization"]}
        await self.app(scope, receive, send)


__all__ = ["DropAuthorization"]
