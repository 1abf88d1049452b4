"""Notifications against a real SMTP server on loopback and a local chat endpoint."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from config.settings import Role
from monitor import alerts, outbox
from monitor.db import transaction
from monitor.ingest import NOTIFY_KIND
from monitor.models import AuditEvent, OutboxStatus, utcnow
from monitor.notify import make_handler
from monitor.runtime import Runtime
from tests.backoffice.conftest import (
    AUTHOR,
    SECRET_TEXT,
    ChatReceiver,
    SmtpServer,
    add_users,
    entries,
    make_due,
    notify_settings,
    seed_alerts,
)


def _work(rt: Runtime, handler: outbox.Handler) -> outbox.RunStats:
    return outbox.run_once(rt.factory, {NOTIFY_KIND: handler}, owner="test", max_attempts=5,
                           limit=500)


def test_one_critical_alert_mails_its_role_without_the_comment(
        runtime: Runtime, smtp_server: SmtpServer) -> None:
    add_users(runtime)
    [alert_id] = seed_alerts(runtime, 1)
    settings = notify_settings(runtime.settings, smtp_port=smtp_server.port)
    stats = _work(runtime, make_handler(settings))
    assert stats.done == 1
    assert len(smtp_server.received) == 1
    mail = smtp_server.received[0]
    # Configured DSL address plus the enabled DSL user with an address; not the disabled
    # one, not the moderator, not the manager.
    assert sorted(mail.rcpt_tos) == ["deputy@school.example", "dsl@school.example"]
    assert mail.message["Subject"] == (
        "[socmon] Critical alert waiting: safeguarding in safeguarding")
    assert f"https://socmon.school.example/alerts/{alert_id}" in mail.text
    assert "Deadline: " in mail.text
    assert " UTC (in " in mail.text
    raw = mail.message.as_string()
    assert SECRET_TEXT not in raw
    assert "Amelia" not in raw
    assert AUTHOR not in raw
    with runtime.factory() as session:
        sent = session.execute(select(AuditEvent).where(
            AuditEvent.action == "notification.email")).scalar_one()
        assert sent.details["alert_ids"] == [alert_id]
        assert sent.details["recipients"] == 2


def test_spam_wave_of_fifty_sends_one_mail(runtime: Runtime, smtp_server: SmtpServer) -> None:
    ids = seed_alerts(runtime, 50, label="threat", queue="urgent", roles=(Role.MANAGER,))
    settings = notify_settings(runtime.settings, smtp_port=smtp_server.port)
    stats = _work(runtime, make_handler(settings))
    assert stats.done == 50
    assert stats.retried == stats.dead == 0
    assert len(smtp_server.received) == 1
    mail = smtp_server.received[0]
    assert mail.rcpt_tos == ["head@school.example"]
    assert mail.message["Subject"] == "[socmon] 50 new critical alerts in urgent (threat)"
    assert "... and 30 more: https://socmon.school.example/alerts" in mail.text
    assert all(e.status == OutboxStatus.DONE for e in entries(runtime))
    # A second pass (or a restarted daemon) finds nothing left to send.
    assert _work(runtime, make_handler(settings)).done == 0
    assert len(smtp_server.received) == 1
    with runtime.factory() as session:
        sent = session.execute(select(AuditEvent).where(
            AuditEvent.action == "notification.email")).scalar_one()
        assert sorted(sent.details["alert_ids"]) == sorted(ids)


def test_rate_limit_holds_later_alerts_and_survives_restart(
        runtime: Runtime, smtp_server: SmtpServer) -> None:
    settings = notify_settings(runtime.settings, smtp_port=smtp_server.port,
                               window=timedelta(minutes=15))
    seed_alerts(runtime, 3)
    _work(runtime, make_handler(settings))
    assert len(smtp_server.received) == 1
    # The wave goes on: more alerts a moment later, handled by a freshly started daemon.
    later = seed_alerts(runtime, 4)
    other_group = seed_alerts(runtime, 1, label="hate", queue="moderation",
                              roles=(Role.MANAGER,))
    _work(runtime, make_handler(settings))
    # The other group is not held back; the safeguarding group is, in one carrier entry.
    assert len(smtp_server.received) == 2
    assert "hate" in smtp_server.received[1].message["Subject"]
    pending = [e for e in entries(runtime) if e.status == OutboxStatus.PENDING]
    assert len(pending) == 1
    assert sorted(pending[0].payload["alert_ids"]) == sorted(later)
    assert pending[0].next_attempt_at > utcnow() + timedelta(minutes=14)
    # A handled alert drops out of the held message.
    with transaction(runtime.factory) as session:
        alerts.dismiss(session, alert_id=later[0], actor="mod",
                       reason=alerts.DismissReason.FALSE_POSITIVE)
    # The window ends.
    assert make_due(runtime) == 1
    clock = lambda: utcnow() + timedelta(minutes=16)  # noqa: E731
    _work(runtime, make_handler(settings, clock=clock))
    assert len(smtp_server.received) == 3
    last = smtp_server.received[2]
    assert last.message["Subject"] == (
        "[socmon] 3 new critical alerts in safeguarding (safeguarding)")
    links = {line for line in last.text.splitlines() if "/alerts/" in line}
    assert links == {f"https://socmon.school.example/alerts/{i}" for i in later[1:]}
    assert other_group[0] not in later


def test_smtp_down_then_up_delivers_once(runtime: Runtime, smtp_down: SmtpServer) -> None:
    seed_alerts(runtime, 2)
    settings = notify_settings(runtime.settings, smtp_port=smtp_down.port)
    handler = make_handler(settings)
    stats = _work(runtime, handler)
    assert stats.retried == 1
    assert stats.done == 1
    [carrier] = [e for e in entries(runtime) if e.status == OutboxStatus.PENDING]
    assert carrier.last_error
    assert "unreachable" in carrier.last_error
    smtp_down.start()
    make_due(runtime)
    assert _work(runtime, handler).done == 1
    make_due(runtime)
    assert _work(runtime, handler).done == 0
    assert len(smtp_down.received) == 1
    assert "2 new critical alerts" in smtp_down.received[0].message["Subject"]


def test_chat_through_apprise_and_partial_failure_repeats_nothing(
        runtime: Runtime, smtp_down: SmtpServer, chat: ChatReceiver) -> None:
    [alert_id] = seed_alerts(runtime, 1)
    settings = notify_settings(runtime.settings, smtp_port=smtp_down.port,
                               apprise_urls=[chat.url.replace("http://", "json://")])
    handler = make_handler(settings)
    # Mail is down, chat is up: chat goes out, the entry is retried for the mail only.
    assert _work(runtime, handler).retried == 1
    assert len(chat.bodies) == 1
    body = chat.bodies[0]
    assert body["title"] == "Critical alert waiting: safeguarding in safeguarding"
    assert f"https://socmon.school.example/alerts/{alert_id}" in body["message"]
    assert SECRET_TEXT not in body["message"]
    assert AUTHOR not in body["message"]
    smtp_down.start()
    make_due(runtime)
    assert _work(runtime, handler).done == 1
    assert len(smtp_down.received) == 1
    assert len(chat.bodies) == 1


def test_handled_alert_is_not_announced(runtime: Runtime, smtp_server: SmtpServer) -> None:
    [alert_id] = seed_alerts(runtime, 1)
    with transaction(runtime.factory) as session:
        alerts.dismiss(session, alert_id=alert_id, actor="mod",
                       reason=alerts.DismissReason.NOT_A_BREACH)
    settings = notify_settings(runtime.settings, smtp_port=smtp_server.port)
    assert _work(runtime, make_handler(settings)).done == 1
    assert smtp_server.received == []


def test_malformed_payload_is_dead_with_a_reason(runtime: Runtime,
                                                 smtp_server: SmtpServer) -> None:
    with transaction(runtime.factory) as session:
        outbox.enqueue(session, kind=NOTIFY_KIND, payload={"alert_id": "x", "roles": ["king"]})
        outbox.enqueue(session, kind=NOTIFY_KIND, payload={"roles": ["manager"]})
    settings = notify_settings(runtime.settings, smtp_port=smtp_server.port)
    stats = _work(runtime, make_handler(settings))
    assert stats.dead == 2
    errors = sorted(e.last_error or "" for e in entries(runtime))
    assert errors[0].startswith("malformed notify payload")
    assert errors[1] == "notify payload names no alert"
    assert smtp_server.received == []


def test_nobody_to_notify_is_done_quietly(runtime: Runtime, smtp_server: SmtpServer,
                                          caplog: pytest.LogCaptureFixture) -> None:
    # two groups (queue, label), so two messages that each have nobody to go to
    seed_alerts(runtime, 1, roles=(Role.ADMIN,), queue="urgent", label="threat")
    seed_alerts(runtime, 1, roles=(Role.ADMIN,), queue="general", label="abuse")
    settings = notify_settings(runtime.settings, smtp_port=smtp_server.port)
    with caplog.at_level(logging.DEBUG, logger="monitor.notify"):
        assert _work(runtime, make_handler(settings)).done >= 1
    assert smtp_server.received == []
    said = [r for r in caplog.records if "nobody to go to" in r.getMessage()]
    assert len(said) == 2
    assert [r.levelno for r in said] == [logging.WARNING, logging.DEBUG]  # said once
