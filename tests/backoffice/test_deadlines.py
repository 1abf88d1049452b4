"""Deadline escalation: overdue open alerts are marked once, audited and sent to the manager."""

from __future__ import annotations

import threading
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from monitor import alerts, audit, outbox
from monitor.alerts.policy import is_overdue
from monitor.db import transaction
from monitor.deadlines import escalate_overdue, register
from monitor.ingest import NOTIFY_KIND
from monitor.models import Alert, AuditEvent, utcnow
from monitor.notify import make_handler
from monitor.runtime import Runtime
from tests.backoffice.conftest import SmtpServer, entries, notify_settings, seed_alerts


def _alert(rt: Runtime, alert_id: int) -> Alert:
    with rt.factory() as session:
        return session.get_one(Alert, alert_id)


def test_overdue_open_alerts_escalate_once(runtime: Runtime) -> None:
    overdue = seed_alerts(runtime, 3, severity="high", label="abuse", queue="moderation",
                          due_in=timedelta(minutes=-5), notify=False)
    not_yet = seed_alerts(runtime, 1, due_in=timedelta(hours=1), notify=False)
    handled = seed_alerts(runtime, 1, due_in=timedelta(minutes=-5), notify=False)
    claimed = seed_alerts(runtime, 1, due_in=timedelta(minutes=-5), notify=False)
    with transaction(runtime.factory) as session:
        alerts.dismiss(session, alert_id=handled[0], actor="mod",
                       reason=alerts.DismissReason.FALSE_POSITIVE)
        alerts.claim(session, alert_id=claimed[0], actor="mod")
    now = utcnow()
    assert escalate_overdue(runtime.factory, now=now, batch=2) == 4  # batches of 2 and 2
    assert escalate_overdue(runtime.factory, now=now + timedelta(minutes=1)) == 0
    for alert_id in [*overdue, *claimed]:
        alert = _alert(runtime, alert_id)
        assert alert.overdue_escalated_at == now
        assert alert.state in {"new", "in_review"}  # the moderator keeps working on it
    assert _alert(runtime, not_yet[0]).overdue_escalated_at is None
    assert _alert(runtime, handled[0]).overdue_escalated_at is None
    queued = entries(runtime)
    assert sorted(e.payload["alert_id"] for e in queued) == sorted([*overdue, *claimed])
    assert all(e.payload["roles"] == ["manager"] and e.payload["reason"] == "overdue"
               for e in queued)
    with runtime.factory() as session:
        events = session.execute(select(AuditEvent).where(
            AuditEvent.action == "alert.overdue").order_by(AuditEvent.seq)).scalars().all()
        assert sorted(int(e.target_id) for e in events) == sorted([*overdue, *claimed])
        assert {e.actor for e in events} == {"system"}
        assert all(e.evidence_sha256 for e in events)
        assert audit.verify(session).ok
    # Later, the one that was not yet due passes its deadline too.
    assert escalate_overdue(runtime.factory, now=now + timedelta(hours=2)) == 1


def test_is_overdue_for_the_web_ui(runtime: Runtime) -> None:
    [alert_id] = seed_alerts(runtime, 1, due_in=timedelta(hours=1), notify=False)
    alert = _alert(runtime, alert_id)
    assert not is_overdue(alert.state, alert.due_at, utcnow())
    assert is_overdue(alert.state, alert.due_at, alert.due_at + timedelta(seconds=1))
    with transaction(runtime.factory) as session:
        alerts.dismiss(session, alert_id=alert_id, actor="mod",
                       reason=alerts.DismissReason.NOT_A_BREACH)
    dismissed = _alert(runtime, alert_id)
    assert not is_overdue(dismissed.state, dismissed.due_at, alert.due_at + timedelta(hours=1))


def test_overdue_notification_reaches_the_manager(runtime: Runtime,
                                                  smtp_server: SmtpServer) -> None:
    ids = seed_alerts(runtime, 2, due_in=timedelta(minutes=-1), notify=False)
    escalate_overdue(runtime.factory)
    settings = notify_settings(runtime.settings, smtp_port=smtp_server.port)
    stats = outbox.run_once(runtime.factory, {NOTIFY_KIND: make_handler(settings)},
                            owner="test", max_attempts=3)
    assert stats.done == 2
    [mail] = smtp_server.received
    assert mail.rcpt_tos == ["head@school.example"]
    assert mail.message["Subject"] == "[socmon] 2 alerts overdue in safeguarding (safeguarding)"
    assert "Was due: " in mail.text
    assert "(overdue by " in mail.text
    assert {f"https://socmon.school.example/alerts/{i}" for i in ids} <= set(
        mail.text.splitlines())


def test_register_adds_a_minute_job_that_respects_stop(runtime: Runtime) -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    stop = threading.Event()
    register(scheduler, runtime, stop)
    job = scheduler.get_job("deadlines")
    assert job is not None
    assert job.trigger.interval == timedelta(minutes=1)
    seed_alerts(runtime, 1, due_in=timedelta(minutes=-1), notify=False)
    stop.set()
    job.func()  # asked to stop: does nothing
    assert entries(runtime) == []
    stop.clear()
    job.func()
    assert len(entries(runtime)) == 1
