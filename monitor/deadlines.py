"""Deadlines: open alerts past their due time escalate to the manager role, once, with an audit."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor import audit, outbox
from monitor.alerts import policy
from monitor.db import transaction
from monitor.ingest import NOTIFY_KIND
from monitor.models import Alert, Evidence, utcnow
from monitor.runtime import Runtime

log = logging.getLogger(__name__)

#: the notification payload's `reason` for a missed deadline (ingest's are "critical")
OVERDUE_REASON = "overdue"
BATCH = 200
JOB_ID = "deadlines"


def _latest_evidence(session: Session, item_ids: list[int]) -> dict[int, str]:
    rows = session.execute(
        select(Evidence.item_id, Evidence.sha256).where(Evidence.item_id.in_(item_ids))
        .order_by(Evidence.id)
    ).all()
    # Later rows overwrite earlier ones: the newest snapshot per item wins.
    return {item_id: digest for item_id, digest in rows}


def _escalate_batch(session: Session, *, now: datetime, limit: int) -> int:
    alerts = session.execute(
        select(Alert)
        .where(policy.overdue_sql(now), Alert.overdue_escalated_at.is_(None))
        .order_by(Alert.due_at, Alert.id)
        .limit(limit)
        # Two replicas running the job at once take disjoint batches on PostgreSQL.
        .with_for_update(skip_locked=True)
    ).scalars().all()
    if not alerts:
        return 0
    evidence = _latest_evidence(session, [a.item_id for a in alerts])
    roles = [role.value for role in policy.OVERDUE_NOTIFIES]
    for alert in alerts:
        alert.overdue_escalated_at = now
        alert.updated_at = now
        overdue_by = int((now - alert.due_at).total_seconds())
        details: dict[str, Any] = {
            "due_at": alert.due_at.isoformat(), "overdue_seconds": overdue_by,
            "state": str(alert.state), "severity": alert.severity, "queue": alert.queue,
            "notify": roles,
        }
        audit.record(session, actor="system", action="alert.overdue", target_type="alert",
                     target_id=alert.id, details=details,
                     evidence_sha256=evidence.get(alert.item_id), at=now)
        outbox.enqueue(
            session, kind=NOTIFY_KIND,
            payload={"alert_id": alert.id, "roles": roles, "queue": alert.queue,
                     "label": alert.primary_label, "reason": OVERDUE_REASON},
            dedupe_key=f"notify:overdue:{alert.id}",
        )
    return len(alerts)


def escalate_overdue(
    factory: sessionmaker[Session],
    *,
    now: datetime | None = None,
    batch: int = BATCH,
    stop: threading.Event | None = None,
) -> int:
    """Mark open alerts past their deadline, audit it and notify the manager; return how many."""
    when = now or utcnow()
    if when.tzinfo is None:
        raise ValueError("escalate_overdue needs a timezone-aware `now`")
    total = 0
    while stop is None or not stop.is_set():
        # One transaction per batch: a long backlog never holds the write lock for long.
        with transaction(factory) as session:
            done = _escalate_batch(session, now=when, limit=batch)
        total += done
        if done < batch:
            break
    if total:
        log.info("%d alert(s) passed their deadline; escalated to %s", total,
                 ",".join(r.value for r in policy.OVERDUE_NOTIFIES))
    return total


def register(scheduler: Any, runtime: Runtime, stop: threading.Event) -> None:
    """Add the every-minute deadline job to the daemon's scheduler."""

    def job() -> None:
        if stop.is_set():
            return
        try:
            escalate_overdue(runtime.factory, stop=stop)
        except Exception:
            # A bug or a database hiccup must not unschedule the job; the next minute retries.
            log.exception("deadline escalation failed")

    scheduler.add_job(job, "interval", id=JOB_ID, minutes=1, next_run_time=utcnow(),
                      replace_existing=True)
