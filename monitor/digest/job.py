"""The weekly digest job: an APScheduler cron in the configured time zone, plus a catch-up run."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from config.settings import Digest
from monitor.db import transaction
from monitor.digest.deliver import NoRecipientsError, Reservation, reserve
from monitor.digest.stats import IsoWeek
from monitor.models import utcnow
from monitor.runtime import Runtime

log = logging.getLogger(__name__)

JOB_ID = "digest"
CATCH_UP_ID = "digest:catch-up"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def trigger(cfg: Digest) -> CronTrigger:
    """Weekly at digest.weekday digest.time on the wall clock of digest.timezone."""
    hour, minute = (int(part) for part in cfg.time.split(":"))
    return CronTrigger(day_of_week=cfg.weekday, hour=hour, minute=minute,
                       timezone=ZoneInfo(cfg.timezone))


def due_week(cfg: Digest, now: datetime) -> IsoWeek | None:
    """The week whose digest is due at `now`: the previous one, once this week's slot passed."""
    tz = ZoneInfo(cfg.timezone)
    local = now.astimezone(tz)
    this_week = IsoWeek.containing(now, tz)
    hour, minute = (int(part) for part in cfg.time.split(":"))
    slot_day = this_week.monday() + timedelta(days=WEEKDAYS.index(cfg.weekday))
    slot = datetime.combine(slot_day, time(hour, minute), tzinfo=tz)
    return this_week.shift(-1) if local >= slot else None


def fire(runtime: Runtime, *, now: datetime | None = None) -> Reservation | None:
    """Reserve (and so queue) the due digest; harmless when it is already reserved or sent."""
    cfg = runtime.settings.digest
    week = due_week(cfg, now or utcnow())
    if week is None:
        return None
    try:
        with transaction(runtime.factory) as session:
            reservation = reserve(session, week=week, recipients=cfg.recipients,
                                  from_address=runtime.settings.smtp.from_address)
    except NoRecipientsError:
        log.warning("digest %s not sent: digest.recipients is empty", week)
        return None
    if not reservation.created:
        log.debug("digest %s was already reserved (%s)", week, reservation.status)
    return reservation


def _guarded(runtime: Runtime, stop: threading.Event) -> None:
    if stop.is_set():
        return
    try:
        fire(runtime)
    except Exception:
        # A bug must not remove the weekly job; the next firing (or restart) tries again.
        log.exception("digest job failed unexpectedly")


def register(scheduler: BaseScheduler, runtime: Runtime, stop: threading.Event) -> None:
    """Add the weekly cron job, and a run at start-up that catches a slot missed while down."""
    cfg = runtime.settings.digest
    if not cfg.enabled:
        log.info("weekly digest disabled (digest.enabled is false)")
        return
    scheduler.add_job(_guarded, trigger(cfg), args=[runtime, stop], id=JOB_ID,
                      replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=int(timedelta(hours=12).total_seconds()))
    # APScheduler's memory job store forgets a slot that passed while the daemon was down;
    # reserving is idempotent, so checking once at start-up is safe.
    scheduler.add_job(_guarded, "date", args=[runtime, stop], id=CATCH_UP_ID,
                      replace_existing=True, run_date=utcnow())
