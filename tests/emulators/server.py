"""A small threaded HTTP server on 127.0.0.1 that platform emulators build on.

Each emulator registers routes (method + regex) and keeps its own state. The server counts
requests and can be told to answer the next matching requests with a scripted fault
(429 with headers, 5xx, malformed JSON, a hang past the client's timeout), or to damage the
answer the route gave (cut it short, change its JSON's shape), so tests drive the cases no
recording covers. A tap sees each request as it is received, once its route has
run (the platform's state changed) and once its answer was written; a tap may block, which is
how a test holds a request at a chosen point (to kill the client there, or add latency).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """What a handler sees of one request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str]

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """The body parsed as a URL-encoded form."""
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}

    def params(self) -> dict[str, str]:
        """Query and form parameters together (form wins)."""
        merged = dict(self.query)
        ctype = self.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" in ctype:
            merged.update(self.form())
        return merged


@dataclass
class Response:
    """What a handler answers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def encode(self) -> bytes:
        """The body as bytes (JSON unless `raw` is given)."""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Response]

#: where a request is when a tap sees it: read, routed (state changed, no answer yet), answered
Phase = Literal["received", "handled", "sent"]
#: called as tap(phase, method, path) on the request's own server thread
Tap = Callable[[Phase, str, str], None]


#: rewrites the body of a route's real answer
Mangle = Callable[[bytes], bytes]


@dataclass
class Fault:
    """A scripted answer for the next `times` requests whose path matches `path_pattern`:
    `response` instead of the route's, a hang, or the route's own answer passed through
    `mangle` (its status and headers kept)."""

    path_pattern: str
    response: Response | None = None
    times: int = 1
    hang_seconds: float = 0.0
    mangle: Mangle | None = None


def truncated(body: bytes) -> bytes:
    """The first half of a body: JSON cut short, as by a dropped connection or a proxy."""
    return body[: len(body) // 2]


def reshaped(change: Callable[[Any], Any]) -> Mangle:
    """A mangle that parses the JSON body, lets `change` alter it (or return a replacement)
    and serialises the result."""

    def mangle(body: bytes) -> bytes:
        document = json.loads(body)
        changed = change(document)
        return json.dumps(document if changed is None else changed).encode()

    return mangle


class Emulator:
    """Base of every platform emulator: routes, request log, scripted faults."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._release = threading.Event()
        self.tap: Tap | None = None

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Register `handler` for `method` and a full-match regex on the path."""
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def inject(self, fault: Fault) -> None:
        """Answer the next matching requests with a fault instead of the route."""
        with self._lock:
            self._faults.append(fault)

    def count(self, method: str | None = None, path_contains: str = "") -> int:
        """How many requests arrived, optionally filtered."""
        with self._lock:
            return sum(
                1
                for m, p in self.requests
                if (method is None or m == method) and path_contains in p
            )

    def reset_count(self) -> None:
        """Forget the request log."""
        with self._lock:
            self.requests.clear()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321."""
        assert self._server is not None, "emulator not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, port: int = 0) -> Emulator:
        """Serve on 127.0.0.1 in a daemon thread."""
        emulator = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def handle(self) -> None:
                try:
                    super().handle()
                except ConnectionError:
                    return  # the client died mid-connection (a crash test killed it)

            def _serve(self) -> None:
                emulator._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        # A short poll interval: stop() returns in ~50 ms instead of the default 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release any hanging request."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if re.search(fault.path_pattern, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append((h.command, parts.path))
        self._tap("received", h.command, parts.path)
        fault = self._take_fault(parts.path)
        if fault is not None and fault.hang_seconds:
            # Wait for the client to give up; the release event ends it early at stop().
            self._release.wait(fault.hang_seconds)
            return
        response = fault.response if fault is not None and fault.response else None
        if response is None:
            response = self._route(h, parts.path, parts.query, body)
            if fault is not None and fault.mangle is not None:
                response = Response(response.status, headers=response.headers,
                                    raw=fault.mangle(response.encode()))
        self._tap("handled", h.command, parts.path)
        payload = response.encode()
        h.send_response(response.status)
        headers = {"Content-Type": "application/json", **response.headers}
        if h.headers.get("Connection", "").lower() == "close":
            # Say so when we will close: otherwise urllib3 reuses the dead connection.
            headers["Connection"] = "close"
            h.close_connection = True
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(payload)))
        try:
            h.end_headers()
            h.wfile.write(payload)
        except OSError:
            # The client is gone (a test killed it mid-request): the platform acted anyway.
            h.close_connection = True
            return
        self._tap("sent", h.command, parts.path)

    def _tap(self, phase: Phase, method: str, path: str) -> None:
        tap = self.tap
        if tap is not None:
            tap(phase, method, path)

    def _route(self, h: BaseHTTPRequestHandler, path: str, query: str, body: bytes) -> Response:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if method == h.command and match:
                request = Request(
                    method=h.command,
                    path=path,
                    query={k: v[-1] for k, v in parse_qs(query).items()},
                    headers={k.lower(): v for k, v in h.headers.items()},
                    body=body,
                    match=match,
                )
                return handler(request)
        return Response(404, {"error": f"no route for {h.command} {path}"})
