"""Escalating to the DSL hands the alert to the safeguarding lane and tells the DSL, once."""

from __future__ import annotations

from sqlalchemy import select

from monitor import alerts, audit, outbox
from monitor.alerts import policy
from monitor.db import transaction
from monitor.ingest import NOTIFY_KIND
from monitor.models import Alert, AuditEvent, User
from monitor.notify import make_handler
from monitor.runtime import Runtime
from tests.backoffice.conftest import (
    AUTHOR,
    SECRET_TEXT,
    SmtpServer,
    add_users,
    entries,
    notify_settings,
    seed_alerts,
)


def _alert(rt: Runtime, alert_id: int) -> Alert:
    with rt.factory() as session:
        return session.get_one(Alert, alert_id)


def test_escalated_to_the_dsl_the_alert_joins_the_lane_and_the_dsl_hears(
        runtime: Runtime, smtp_server: SmtpServer) -> None:
    add_users(runtime)
    [alert_id] = seed_alerts(runtime, 1, label="abuse", queue="moderation", severity="high",
                             notify=False)
    with transaction(runtime.factory) as session:
        mod = session.execute(select(User).where(User.username == "mod")).scalar_one()
        alerts.claim(session, alert_id=alert_id, actor="mod", user_id=mod.id)
        assert not policy.is_safeguarding(session.get_one(Alert, alert_id))
        change = alerts.escalate(session, alert_id=alert_id, actor="mod",
                                 to=alerts.EscalationTarget.SAFEGUARDING_LEAD,
                                 note="the author says this happens at home")
    alert = _alert(runtime, alert_id)
    assert alert.state == "escalated"
    assert alert.queue == policy.SAFEGUARDING_QUEUE
    assert alert.assignee_id is None  # the moderator no longer sees its content
    assert policy.is_safeguarding(alert)
    with runtime.factory() as session:
        assert alert_id in set(session.execute(
            select(Alert.id).where(policy.lane_sql())).scalars())
        event = session.execute(select(AuditEvent).where(
            AuditEvent.seq == change.audit_seq)).scalar_one()
        assert event.action == "alert.escalate"
        assert event.details == {"from": "in_review", "to": "safeguarding_lead",
                                 "from_queue": "moderation", "queue": "safeguarding"}
        assert audit.verify(session).ok
    [entry] = entries(runtime)
    assert entry.payload == {"alert_id": alert_id, "roles": ["safeguarding_lead"],
                             "queue": "safeguarding", "label": "abuse", "reason": "escalated"}

    settings = notify_settings(runtime.settings, smtp_port=smtp_server.port)
    stats = outbox.run_once(runtime.factory, {NOTIFY_KIND: make_handler(settings)},
                            owner="test", max_attempts=3)
    assert stats.done == 1
    [mail] = smtp_server.received
    assert sorted(mail.rcpt_tos) == ["deputy@school.example", "dsl@school.example"]
    assert mail.message["Subject"] == f"[socmon] Alert #{alert_id} (abuse) escalated to you"
    assert f"/alerts/{alert_id}" in mail.text
    raw = mail.message.as_string()
    assert SECRET_TEXT not in raw
    assert AUTHOR not in raw
    assert "at home" not in raw  # nor the note


def test_each_escalation_to_the_dsl_is_news_and_others_notify_nobody(runtime: Runtime) -> None:
    [to_police, twice] = seed_alerts(runtime, 2, label="threat", queue="urgent",
                                     notify=False)
    with transaction(runtime.factory) as session:
        alerts.escalate(session, alert_id=to_police, actor="mod",
                        to=alerts.EscalationTarget.POLICE)
        alerts.escalate(session, alert_id=twice, actor="mod",
                        to=alerts.EscalationTarget.SAFEGUARDING_LEAD)
        alerts.claim(session, alert_id=twice, actor="dsl")
        alerts.escalate(session, alert_id=twice, actor="dsl",
                        to=alerts.EscalationTarget.SAFEGUARDING_LEAD)
    police = _alert(runtime, to_police)
    assert police.queue == "urgent"
    assert not policy.is_safeguarding(police)
    assert [e.payload["alert_id"] for e in entries(runtime)] == [twice, twice]
    with runtime.factory() as session:
        again = session.execute(select(AuditEvent).where(
            AuditEvent.action == "alert.escalate", AuditEvent.target_id == str(twice))
            .order_by(AuditEvent.seq)).scalars().all()
    # Already in the lane the second time: no queue move to record.
    assert "from_queue" in again[0].details
    assert "from_queue" not in again[1].details
