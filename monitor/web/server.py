"""Serve the web app with uvicorn in the calling thread until a stop event is set."""

from __future__ import annotations

import errno
import logging
import socket
import threading

import uvicorn

from monitor.runtime import Runtime
from monitor.web.app import create_app

log = logging.getLogger(__name__)

#: how to choose another port, in every message about a busy one
CHANGE_PORT = "set SOCMON_WEB__PORT (or web.port in the config) to a free port"


class WebServerError(RuntimeError):
    """The web server could not start."""


class PortInUse(WebServerError):
    """Another program already listens on the web UI's address."""


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on the web UI's address, taken now so a busy port is found first.

    Started before the database, the passwords and the first poll, so a second socmon (or any
    program on the port) stops this one at once with a message saying what to change.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {host} is already in use (is another socmon "
                            f"running?): {CHANGE_PORT}, e.g. SOCMON_WEB__PORT={port + 1}"
                            ) from None
        raise WebServerError(f"the web UI cannot listen on {host}:{port} "
                             f"({exc.strerror or exc}): {CHANGE_PORT}") from None
    return sock


class _DropQueryString(logging.Filter):
    """Access log lines keep the path but not the query: searches may quote comment text."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


class _Server(uvicorn.Server):
    """uvicorn's server, telling `started` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, started: threading.Event) -> None:
        super().__init__(config)
        self.started_event = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.started_event.set()


def serve(runtime: Runtime, *, stop: threading.Event, host: str, port: int,
          sock: socket.socket | None = None, started: threading.Event | None = None) -> None:
    """Run the web UI until `stop` is set; raises WebServerError if it cannot start.

    `sock`: a socket from `listen` (else one is taken here); `started` is set once the web UI
    accepts connections. The access log is on only with the `log_verbose` setting.
    """
    listener = sock if sock is not None else listen(host, port)
    app = create_app(runtime)
    logging.getLogger("uvicorn.access").addFilter(_DropQueryString())
    config = uvicorn.Config(app, host=host, port=port, log_config=None,
                            access_log=runtime.settings.log_verbose, proxy_headers=False,
                            server_header=False, lifespan="off")
    server = _Server(config, started or threading.Event())

    def _watch() -> None:
        stop.wait()
        server.should_exit = True

    threading.Thread(target=_watch, name="web-stop", daemon=True).start()
    log.info("web UI on http://%s:%d", host, listener.getsockname()[1])  # port 0: the real one
    try:
        server.run(sockets=[listener])
    except SystemExit as exc:  # uvicorn exits the process when it cannot start
        raise WebServerError(f"the web UI could not start on {host}:{port}") from exc
    finally:
        listener.close()
    if not server.started and not stop.is_set():
        raise WebServerError(f"the web UI could not start on {host}:{port}")
