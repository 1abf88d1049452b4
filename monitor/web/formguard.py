"""Form bodies asgi-csrf cannot read get a plain 400 or 415 before it tries (it failed with 500)."""

from __future__ import annotations

from python_multipart.multipart import parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART = b"multipart/form-data"
URLENCODED = b"application/x-www-form-urlencoded"
#: methods asgi-csrf lets through without looking at the body
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


async def plain(send: Send, status: int, text: str) -> None:
    """Answer `status` with `text` as plain text."""
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def bad_request(send: Send, message: str) -> None:
    """A 400 with `message` as plain text."""
    await plain(send, 400, f"Bad request: {message}\n")


class FormGuard:
    """Refuse the form bodies asgi-csrf would fail on, before it reads them.

    asgi-csrf decodes url-encoded bodies as strict UTF-8, finds a multipart boundary by
    splitting on the literal "; boundary=", and reads multipart through a python-multipart
    argument (FileClass) that python-multipart no longer has: each raised on input any client
    can send, before authentication. socmon's forms are url-encoded and no route takes files,
    so multipart bodies are refused (400 without a boundary, else 415) and url-encoded ones
    must be UTF-8. Runs inside the body size limit, so buffering a body is bounded.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 400 or 415 for a body asgi-csrf cannot read; otherwise pass the request on."""
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(b"content-type")
        if raw is None:
            await self.app(scope, receive, send)
            return
        media, options = parse_options_header(raw)
        if media == MULTIPART:
            if not options.get(b"boundary"):
                await bad_request(send, "a multipart/form-data body needs a boundary.")
            else:
                await plain(send, 415, "Unsupported media type: send forms as "
                            "application/x-www-form-urlencoded.\n")
            return
        if media == URLENCODED:
            messages = await _read_all(receive)
            try:
                b"".join(m.get("body", b"") for m in messages).decode("utf-8")
            except UnicodeDecodeError:
                await bad_request(send, "a form body must be UTF-8.")
                return
            receive = _replay(messages, receive)
        await self.app(scope, receive, send)


async def _read_all(receive: Receive) -> list[Message]:
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    queue = list(messages)

    async def replay() -> Message:
        return queue.pop(0) if queue else await receive()

    return replay


__all__ = ["FormGuard", "bad_request", "plain"]
