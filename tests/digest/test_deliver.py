"""Delivery against a real SMTP server on loopback: exactly one message, whatever happens."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from config.settings import Digest, Settings
from monitor import outbox
from monitor.cli.digest_cmds import app
from monitor.db import transaction
from monitor.digest import job
from monitor.digest.deliver import (
    DIGEST_KIND,
    DigestSender,
    RunStatus,
    failed_runs,
    message_id,
    recipients_key,
    reserve,
)
from monitor.digest.stats import IsoWeek
from monitor.models import DigestRun, OutboxEntry, OutboxStatus, utcnow
from monitor.runtime import Runtime, build_runtime
from tests.digest.conftest import RECIPIENTS, MailServer
from tests.digest.seed import SECRET_TEXT, WEEK

#: Monday after WEEK, 08:00 in London (GMT): the slot that sends WEEK's digest
SLOT = datetime(2025, 11, 17, 8, 0, tzinfo=UTC)


def _work(runtime: Runtime, owner: str = "worker-1") -> outbox.RunStats:
    sender = DigestSender(runtime.settings, retry_base=timedelta(0))
    return outbox.run_once(runtime.factory, sender.as_mapping(), owner=owner, max_attempts=8)


def _run(runtime: Runtime) -> DigestRun:
    with runtime.factory() as session:
        return session.execute(select(DigestRun)).scalar_one()


def _parts(message: EmailMessage) -> dict[str, Any]:
    return {part.get_content_type(): part for part in message.walk()}


def test_job_sends_one_digest_whose_figures_match(runtime: Runtime, seeded: dict[str, Any],
                                                  mail_server: MailServer) -> None:
    reservation = job.fire(runtime, now=SLOT)
    assert reservation is not None
    assert reservation.created
    assert reservation.week == str(WEEK)
    assert _work(runtime).done == 1
    assert len(mail_server.inbox.messages) == 1
    message = mail_server.inbox.messages[0]
    envelope = mail_server.inbox.envelopes[0]
    assert sorted(envelope.rcpt_tos) == sorted(RECIPIENTS)
    assert message["Message-ID"] == message_id(WEEK, recipients_key(RECIPIENTS),
                                               "socmon@school.example")
    assert "2025-W46: 5 flags, 50% of deadlines met, 2 open" in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    parts = _parts(message)
    assert set(parts) >= {"text/plain", "multipart/related", "text/html", "image/png"}
    text = parts["text/plain"].get_content()
    html = parts["text/html"].get_content()
    for figure in ("Items scanned: 11", "Flags raised: 5", "Actions taken: 5",
                   "Deadlines met: 50% of 4 due", "Median time to action: 3 h",
                   "of which overdue: 1", "Safeguarding referrals: 1",
                   "- Takedowns verified on the platform: 1", "- Takedowns that failed: 1"):
        assert figure in text, figure
    image = parts["image/png"]
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert image.get_content()[:4] == b"\x89PNG"
    assert SECRET_TEXT not in text
    assert SECRET_TEXT not in html
    run = _run(runtime)
    assert (run.status, run.attempts, run.last_error) == (RunStatus.SENT, 1, None)
    assert run.sent_at is not None


def test_job_firing_twice_and_two_replicas_send_once(runtime: Runtime, seeded: dict[str, Any],
                                                     mail_server: MailServer) -> None:
    replica = build_runtime(runtime.settings, env={})
    try:
        first = job.fire(runtime, now=SLOT)
        again = job.fire(runtime, now=SLOT + timedelta(minutes=1))
        other = job.fire(replica, now=SLOT)
        assert first is not None
        assert first.created
        assert again is not None
        assert not again.created
        assert other is not None
        assert not other.created
        _work(runtime, "worker-1")
        _work(replica, "worker-2")
        job.fire(replica, now=SLOT + timedelta(hours=3))  # a restart's catch-up, after sending
        _work(replica, "worker-2")
    finally:
        replica.close()
    assert len(mail_server.inbox.messages) == 1
    with runtime.factory() as session:
        assert session.execute(select(func.count()).select_from(DigestRun)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(OutboxEntry)
                               .where(OutboxEntry.kind == DIGEST_KIND)).scalar_one() == 1


def test_restart_in_the_middle_of_sending_sends_once(runtime: Runtime, seeded: dict[str, Any],
                                                     mail_server: MailServer) -> None:
    job.fire(runtime, now=SLOT)
    # What a process killed during the SMTP conversation leaves behind: its attempt marked
    # "sending" and the outbox entry still leased to it (the lease has since run out).
    with transaction(runtime.factory) as session:
        session.execute(update(DigestRun).values(status=RunStatus.SENDING, attempts=1))
        session.execute(update(OutboxEntry).values(
            locked_by="killed-process", attempts=1,
            locked_until=utcnow() - timedelta(seconds=1)))
    assert _work(runtime).done == 1
    assert _work(runtime).done == 0
    assert len(mail_server.inbox.messages) == 1
    run = _run(runtime)
    assert (run.status, run.attempts) == (RunStatus.SENT, 2)


def test_live_lease_is_not_taken_over(runtime: Runtime, seeded: dict[str, Any],
                                      mail_server: MailServer) -> None:
    job.fire(runtime, now=SLOT)
    with transaction(runtime.factory) as session:
        session.execute(update(DigestRun).values(status=RunStatus.SENDING, attempts=1))
        session.execute(update(OutboxEntry).values(
            locked_by="busy-replica", attempts=1, locked_until=utcnow() + timedelta(minutes=5)))
    assert _work(runtime).done == 0
    assert mail_server.inbox.messages == []


def test_killed_after_the_server_accepted_does_not_resend(
        runtime: Runtime, seeded: dict[str, Any], mail_server: MailServer) -> None:
    job.fire(runtime, now=SLOT)
    assert _work(runtime).done == 1
    # Killed after "sent" was committed but before the outbox entry was closed.
    with transaction(runtime.factory) as session:
        session.execute(update(OutboxEntry).values(
            status=OutboxStatus.PENDING, locked_by="killed-process",
            locked_until=utcnow() - timedelta(seconds=1)))
    assert _work(runtime).done == 1
    assert len(mail_server.inbox.messages) == 1


def test_server_down_then_up_sends_once_and_shows_failure(
        runtime: Runtime, seeded: dict[str, Any], mail_server: MailServer,
        caplog: pytest.LogCaptureFixture) -> None:
    mail_server.stop()
    job.fire(runtime, now=SLOT)
    with caplog.at_level(logging.WARNING, logger="monitor.digest.deliver"):
        _work(runtime)
        _work(runtime)
    assert "digest 2025-W46 not sent (attempt 2)" in caplog.text
    with runtime.factory() as session:
        failing = failed_runs(session)
    assert [(r.week, r.status, r.attempts) for r in failing] == \
        [("2025-W46", RunStatus.RETRYING, 2)]
    assert "unreachable" in (failing[0].last_error or "")
    mail_server.start()
    assert _work(runtime).done == 1
    _work(runtime)
    assert len(mail_server.inbox.messages) == 1
    with runtime.factory() as session:
        assert failed_runs(session) == []
    assert _run(runtime).status == RunStatus.SENT


def test_backoff_grows_and_is_capped(runtime: Runtime, seeded: dict[str, Any],
                                     mail_server: MailServer) -> None:
    mail_server.stop()
    job.fire(runtime, now=SLOT)
    sender = DigestSender(runtime.settings)
    before = utcnow()
    outbox.run_once(runtime.factory, sender.as_mapping(), owner="w", max_attempts=8)
    with runtime.factory() as session:
        waiting = session.execute(select(OutboxEntry).where(
            OutboxEntry.status == OutboxStatus.PENDING)).scalar_one()
    assert waiting.next_attempt_at >= before + timedelta(minutes=1)
    assert outbox.run_once(runtime.factory, sender.as_mapping(), owner="w",
                           max_attempts=8).done == 0  # not due yet
    assert outbox.backoff(20, base=timedelta(minutes=1), cap=timedelta(minutes=30)) == \
        timedelta(minutes=30)


def test_refused_message_fails_visibly_without_retrying(
        runtime: Runtime, seeded: dict[str, Any], mail_server: MailServer,
        caplog: pytest.LogCaptureFixture) -> None:
    mail_server.inbox.refuse = "550 5.7.1 relaying denied"
    job.fire(runtime, now=SLOT)
    with caplog.at_level(logging.ERROR, logger="monitor.digest.deliver"):
        stats = _work(runtime)
    assert stats.dead == 1
    assert "failed and will not be retried" in caplog.text
    with runtime.factory() as session:
        failing = failed_runs(session)
    assert [(r.status, r.last_error) for r in failing] == [(RunStatus.FAILED, "SMTP error 550")]


def test_no_recipients_sends_nothing(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    runtime.settings = runtime.settings.model_copy(
        update={"digest": Digest(recipients=[])})
    with caplog.at_level(logging.WARNING):
        assert job.fire(runtime, now=SLOT) is None
    assert "digest.recipients is empty" in caplog.text


def test_schedule_is_monday_eight_in_london_across_dst(runtime: Runtime) -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    job.register(scheduler, runtime, __import__("threading").Event())
    weekly = scheduler.get_job(job.JOB_ID)
    assert weekly is not None
    assert scheduler.get_job(job.CATCH_UP_ID) is not None
    summer = weekly.trigger.get_next_fire_time(None, datetime(2026, 7, 1, tzinfo=UTC))
    winter = weekly.trigger.get_next_fire_time(None, datetime(2026, 12, 1, tzinfo=UTC))
    assert summer.astimezone(UTC) == datetime(2026, 7, 6, 7, 0, tzinfo=UTC)  # 08:00 BST
    assert winter.astimezone(UTC) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 08:00 GMT
    cfg = Digest()
    assert job.due_week(cfg, SLOT - timedelta(minutes=1)) is None
    assert job.due_week(cfg, SLOT) == WEEK
    assert job.due_week(cfg, datetime(2025, 11, 23, 23, 0, tzinfo=UTC)) == WEEK
    tokyo = Digest(weekday="fri", time="17:30", timezone="Asia/Tokyo")
    assert job.due_week(tokyo, datetime(2025, 11, 21, 8, 29, tzinfo=UTC)) is None
    assert job.due_week(tokyo, datetime(2025, 11, 21, 8, 30, tzinfo=UTC)) == WEEK
    assert ZoneInfo("Europe/London") == weekly.trigger.timezone


def _config(tmp_path: Path, settings: Settings) -> Path:
    path = tmp_path / "socmon.yaml"
    path.write_text(yaml.safe_dump({
        "data_dir": str(settings.data_dir), "database_url": settings.database_url,
        "channels": [{"name": "demo", "platform": "demo"}],
        "smtp": {"host": settings.smtp.host, "port": settings.smtp.port,
                 "from_address": settings.smtp.from_address},
        "digest": {"recipients": list(settings.digest.recipients)},
    }), encoding="utf-8")
    return path


def test_cli_preview_and_send_once(runtime: Runtime, seeded: dict[str, Any],
                                   mail_server: MailServer, tmp_path: Path) -> None:
    config = _config(tmp_path, runtime.settings)
    cli = CliRunner()
    page = tmp_path / "digest.html"
    shown = cli.invoke(app, ["preview", "--week", "2025-W46", "--out", str(page),
                             "--config", str(config)])
    assert shown.exit_code == 0, shown.output
    assert "data:image/png;base64," in page.read_text(encoding="utf-8")
    text = cli.invoke(app, ["preview", "--week", "2025-W46", "--config", str(config)])
    assert "Flags raised: 5" in text.output
    assert mail_server.inbox.messages == []  # preview never sends
    sent = cli.invoke(app, ["send", "--week", "2025-W46", "--config", str(config)])
    assert sent.exit_code == 0, sent.output
    again = cli.invoke(app, ["send", "--week", "2025-W46", "--config", str(config)])
    assert again.exit_code == 0
    assert "already sent" in again.output
    assert len(mail_server.inbox.messages) == 1
    other = cli.invoke(app, ["send", "--week", "2025-W46", "--to", "clerk@school.example",
                             "--config", str(config)])
    assert other.exit_code == 0, other.output
    assert len(mail_server.inbox.messages) == 2  # another list is another digest
    early = cli.invoke(app, ["send", "--week", "2099-W01", "--config", str(config)])
    assert early.exit_code == 1
    assert "has not ended yet" in str(early.exception)
    bad = cli.invoke(app, ["send", "--week", "2025-W99", "--config", str(config)])
    assert bad.exit_code == 2
    assert "no week 99" in bad.output


def test_cli_send_reports_a_down_server(runtime: Runtime, seeded: dict[str, Any],
                                        mail_server: MailServer, tmp_path: Path) -> None:
    config = _config(tmp_path, runtime.settings)
    mail_server.stop()
    result = CliRunner().invoke(app, ["send", "--week", "2025-W46", "--config", str(config)])
    assert result.exit_code == 1
    assert "not sent" in str(result.exception)
    assert "daemon will retry" in str(result.exception)
    mail_server.start()
    result = CliRunner().invoke(app, ["send", "--week", "2025-W46", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert len(mail_server.inbox.messages) == 1
    with runtime.factory() as session:
        assert reserve(session, week=IsoWeek(2025, 46), recipients=RECIPIENTS,
                       from_address="x@y").status == RunStatus.SENT
