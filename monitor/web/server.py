"""Serve the web app with uvicorn in the calling thread until a stop event is set."""

from __future__ import annotations

import logging
import threading

import uvicorn

from monitor.runtime import Runtime
from monitor.web.app import create_app

log = logging.getLogger(__name__)


class WebServerError(RuntimeError):
    """The web server could not start (e.g. the address is in use)."""


class _DropQueryString(logging.Filter):
    """Access log lines keep the path but not the query: searches may quote comment text."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def serve(runtime: Runtime, *, stop: threading.Event, host: str, port: int) -> None:
    """Run the web UI until `stop` is set; raises WebServerError if it cannot start."""
    app = create_app(runtime)
    logging.getLogger("uvicorn.access").addFilter(_DropQueryString())
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=True,
                            proxy_headers=False, server_header=False, lifespan="off")
    server = uvicorn.Server(config)

    def _watch() -> None:
        stop.wait()
        server.should_exit = True

    threading.Thread(target=_watch, name="web-stop", daemon=True).start()
    log.info("web UI on http://%s:%d", host, port)
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits the process when it cannot bind
        raise WebServerError(f"the web UI could not listen on {host}:{port}") from exc
    if not server.started and not stop.is_set():
        raise WebServerError(f"the web UI could not listen on {host}:{port}")
