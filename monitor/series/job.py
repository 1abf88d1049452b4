"""The series job: read newly stored comments for signals, then apply every rule; one
transaction per run, one run at a time across replicas."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from monitor.db import transaction
from monitor.models import Item, Setting, utcnow
from monitor.series import alerting, rules, signals
from monitor.sqlutil import insert_ignoring_conflicts

if TYPE_CHECKING:
    from monitor.runtime import Runtime

log = logging.getLogger(__name__)

JOB_ID = "series:evaluate"
#: the row of settings_kv that holds how far comments were read, locked while a run works
WATERMARK_KEY = "series.scanned_until"
#: comments stored this long before the last run are read again: a page committed late (its
#: transaction began before the run, ended after) is not missed; re-reading adds nothing twice
OVERLAP = timedelta(minutes=10)
#: comments read per batch
BATCH = 2000


@dataclass
class RunResult:
    """What one run did."""

    scanned: int = 0
    signals: int = 0
    opened: list[int] = field(default_factory=list)
    extended: list[int] = field(default_factory=list)
    attached: list[int] = field(default_factory=list)


def _since(session: Session, settings: Settings, now: datetime) -> datetime:
    """Lock the watermark row (one run at a time) and say from when comments are read."""
    session.execute(insert_ignoring_conflicts(session, Setting, ["key"]),
                    [{"key": WATERMARK_KEY, "value": "", "updated_at": now}])
    row = session.get_one(Setting, WATERMARK_KEY, with_for_update=True, populate_existing=True)
    longest = max(rules.thresholds(settings.series, rule).window for rule in rules.RULES)
    floor = now - longest
    if not row.value:
        return floor  # the first run reads every comment any rule can still count
    return max(datetime.fromisoformat(row.value) - OVERLAP, floor)


def run(factory: sessionmaker[Session], settings: Settings, *,
        now: datetime | None = None) -> RunResult:
    """Read the comments stored since the last run for signals and apply every rule."""
    now = now or utcnow()
    result = RunResult()
    with transaction(factory) as session:
        since = _since(session, settings, now)
        last = 0
        while True:
            batch = list(session.execute(
                select(Item).where(Item.fetched_at >= since, Item.id > last)
                .order_by(Item.id).limit(BATCH)).scalars())
            if not batch:
                break
            result.scanned += len(batch)
            result.signals += signals.scan(session, batch)
            last = batch[-1].id
            session.expunge_all()  # a large first run must not keep every comment in memory
        for found, limits in rules.find(session, settings.series, now=now):
            done = alerting.apply(session, found, limits, routing=settings.routing, now=now)
            if done is not None:
                {"opened": result.opened, "extended": result.extended,
                 "attached": result.attached}[done[0]].append(done[1])
        session.get_one(Setting, WATERMARK_KEY).value = now.isoformat()
    if result.opened or result.extended or result.attached:
        log.info("series: %d alert(s) opened, %d extended, %d attached", len(result.opened),
                 len(result.extended), len(result.attached))
    return result


def register(scheduler: Any, runtime: Runtime, stop: threading.Event) -> None:
    """Daemon hook: run the series rules every `series.interval`."""
    settings = runtime.settings
    if not settings.series.enabled:
        log.info("series rules off (series.enabled is false)")
        return

    def job() -> None:
        if stop.is_set():
            return
        try:
            run(runtime.factory, settings)
        except Exception:
            # a failure must not remove the job; the next run reads the same comments again
            log.exception("series rules failed")

    scheduler.add_job(job, "interval", id=JOB_ID, seconds=settings.series.interval.total_seconds(),
                      replace_existing=True, coalesce=True, max_instances=1)
