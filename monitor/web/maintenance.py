"""Keep SQLite's query planner informed: fresh statistics so the queue uses its sort index."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine

from monitor.runtime import Runtime

log = logging.getLogger(__name__)


def analyze_sqlite(engine: Engine) -> None:
    """Refresh planner statistics on SQLite (bounded sampling, well under a second)."""
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL's autovacuum keeps its own statistics
    with engine.begin() as conn:
        # analysis_limit samples each index instead of reading it whole.
        conn.exec_driver_sql("PRAGMA analysis_limit=2000")
        conn.exec_driver_sql("ANALYZE")
    log.debug("sqlite statistics refreshed")


def register(scheduler: Any, runtime: Runtime, stop_event: threading.Event) -> None:
    """Daemon hook: refresh SQLite statistics hourly while the data grows."""

    def job() -> None:
        if not stop_event.is_set():
            analyze_sqlite(runtime.engine)

    scheduler.add_job(job, "interval", id="web:sqlite-analyze", hours=1)
