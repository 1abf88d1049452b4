"""The daily purge in the daemon: an APScheduler cron job at `retention.time` (UTC)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from config.settings import Retention
from monitor.db import transaction
from monitor.models import utcnow
from monitor.records.purge import PurgeReport, purge
from monitor.runtime import Runtime

log = logging.getLogger(__name__)
JOB_ID = "records-purge"


def trigger(cfg: Retention) -> CronTrigger:
    """Every day at the configured time, UTC."""
    hour, minute = (int(part) for part in cfg.time.split(":"))
    return CronTrigger(hour=hour, minute=minute, timezone="UTC")


def run(runtime: Runtime, *, now: datetime | None = None) -> PurgeReport:
    """One purge run, committed; logs counts only (never content)."""
    with transaction(runtime.factory) as session:
        report = purge(session, runtime.settings.retention, now=now or utcnow())
    log.info("purge run %s: %s; %d safeguarding record(s) newly due for review; "
             "audit event %s", report.run, report.counts(), len(report.due_for_review),
             report.audit_seq)
    return report


def _guarded(runtime: Runtime, stop: threading.Event) -> None:
    if stop.is_set():
        return
    try:
        run(runtime)
    except Exception:
        # A bug or a database hiccup must not unschedule the job; tomorrow's run retries,
        # and catches up everything overdue since (the purge works from cut-offs, not days).
        log.exception("the daily purge failed")


def register(scheduler: BaseScheduler, runtime: Runtime, stop: threading.Event) -> None:
    """Add the daily purge to the daemon's scheduler."""
    scheduler.add_job(_guarded, trigger(runtime.settings.retention), args=[runtime, stop],
                      id=JOB_ID, replace_existing=True, misfire_grace_time=6 * 3600)
