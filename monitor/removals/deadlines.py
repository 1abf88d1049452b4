"""The removal requests' deadline job: a reminder half-way, an escalation once overdue.

The pattern of `monitor.deadlines` (alerts): each request is marked once, audited, and a
notification is queued in the same transaction for the notifier to send after commit.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Removals
from monitor import audit, outbox
from monitor.db import transaction
from monitor.ingest import NOTIFY_KIND
from monitor.models import RemovalRequest, utcnow
from monitor.removals import policy
from monitor.runtime import Runtime

log = logging.getLogger(__name__)

#: the notification payload's `reason` for each step (the notifier words them)
REMINDER_REASON = "removal_reminder"
OVERDUE_REASON = "removal_overdue"
#: the queue and label the notifier groups removal messages under
QUEUE = LABEL = "removals"
JOB_ID = "removal-deadlines"


class Sweep(NamedTuple):
    """What one run did: requests reminded, requests escalated."""

    reminded: int
    escalated: int


def _notify(session: Session, request: RemovalRequest, *, reason: str,
            roles: tuple[Any, ...]) -> None:
    outbox.enqueue(
        session, kind=NOTIFY_KIND,
        payload={"removal_ids": [request.id], "roles": [r.value for r in roles],
                 "queue": QUEUE, "label": LABEL, "reason": reason},
        dedupe_key=f"notify:{reason}:{request.id}",
    )


def _escalate(session: Session, *, now: datetime) -> int:
    requests = session.execute(
        select(RemovalRequest)
        .where(policy.overdue_sql(now), RemovalRequest.overdue_escalated_at.is_(None))
        .order_by(RemovalRequest.due_at, RemovalRequest.id)
        .with_for_update(skip_locked=True)
    ).scalars().all()
    roles = [role.value for role in policy.OVERDUE_NOTIFIES]
    for request in requests:
        request.overdue_escalated_at = now
        audit.record(session, actor="system", action="removal.overdue", target_type="removal",
                     target_id=request.id,
                     details={"due_at": request.due_at.isoformat(), "target": str(request.target),
                              "overdue_seconds": int((now - request.due_at).total_seconds()),
                              "notify": roles}, at=now)
        _notify(session, request, reason=OVERDUE_REASON, roles=policy.OVERDUE_NOTIFIES)
    return len(requests)


def _remind(session: Session, *, config: Removals, now: datetime) -> int:
    # Open requests are few (a handful a term), so the reminder's moment is worked out here
    # by `policy.remind_at` rather than a second time in SQL.
    waiting = session.execute(
        select(RemovalRequest)
        .where(policy.open_sql(), RemovalRequest.reminded_at.is_(None),
               RemovalRequest.overdue_escalated_at.is_(None))
        .order_by(RemovalRequest.due_at, RemovalRequest.id)
        .with_for_update(skip_locked=True)
    ).scalars().all()
    reminded = 0
    for request in waiting:
        moment = policy.remind_at(config, request.created_at, request.due_at)
        if moment > now or policy.is_overdue(request.status, request.due_at, now):
            continue
        request.reminded_at = now
        audit.record(session, actor="system", action="removal.remind", target_type="removal",
                     target_id=request.id,
                     details={"due_at": request.due_at.isoformat(),
                              "notify": [r.value for r in policy.REMINDER_NOTIFIES]}, at=now)
        _notify(session, request, reason=REMINDER_REASON, roles=policy.REMINDER_NOTIFIES)
        reminded += 1
    return reminded


def sweep(factory: sessionmaker[Session], *, config: Removals, now: datetime | None = None
          ) -> Sweep:
    """Remind of requests half-way to their deadline and escalate the overdue ones."""
    when = now or utcnow()
    if when.tzinfo is None:
        raise ValueError("sweep needs a timezone-aware `now`")
    with transaction(factory) as session:
        escalated = _escalate(session, now=when)
        reminded = _remind(session, config=config, now=when)
    if escalated:
        log.info("%d removal request(s) passed their deadline; escalated to %s", escalated,
                 ",".join(r.value for r in policy.OVERDUE_NOTIFIES))
    return Sweep(reminded=reminded, escalated=escalated)


def register(scheduler: Any, runtime: Runtime, stop: threading.Event) -> None:
    """Add the every-minute removal deadline job to the daemon's scheduler."""

    def job() -> None:
        if stop.is_set():
            return
        try:
            sweep(runtime.factory, config=runtime.settings.removals)
        except Exception:
            # A bug or a database hiccup must not unschedule the job; the next minute retries.
            log.exception("removal deadline sweep failed")

    scheduler.add_job(job, "interval", id=JOB_ID, minutes=1, next_run_time=utcnow(),
                      replace_existing=True)
