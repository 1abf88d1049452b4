"""Serve the web app on an inherited listening socket: a real server process for tests."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from config.settings import Settings
from monitor.runtime import build_runtime
from monitor.web import create_app


def main() -> None:
    """`python -m tests.web.serve_fd FD DATA_DIR DATABASE_URL`: run until killed."""
    fd, data_dir, database_url = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    runtime = build_runtime(Settings(data_dir=data_dir, database_url=database_url), env={},
                            migrate=False)
    uvicorn.run(create_app(runtime), fd=fd, log_level="warning", lifespan="off",
                proxy_headers=False, server_header=False)


if __name__ == "__main__":
    main()
