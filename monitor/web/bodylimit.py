"""A request body size limit on every route, enforced as the body arrives (pure ASGI)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_TOO_LARGE = b"Request body too large."


async def _refuse(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(_TOO_LARGE)).encode()),
                            # The rest of the body is never read, so the connection cannot
                            # carry another request.
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": _TOO_LARGE})


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server's HTTP parser rejects these before we see them
    return None


class BodySizeLimit:
    """Answer 413 when a body is larger than `max_bytes`.

    A declared Content-Length over the limit is refused before any of the body is read; a
    chunked body is read only until it crosses the limit, then refused, and the app sees the
    client as gone.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a counting `receive`."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send)
            return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if not started:
                        await _refuse(send)
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the app's answer to a body it never got whole
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            # Readers that do not expect a disconnect mid-body (asgi-csrf asserts) fail here;
            # the client already has its 413, so that failure is not a server error.
            if not refused:
                raise


__all__ = ["BodySizeLimit"]
