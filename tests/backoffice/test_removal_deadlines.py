"""Removal requests elsewhere: tracked to a moderator's confirmation, reminded half-way, and
escalated when overdue, through the notifier and a real SMTP server (the clock passed in)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from config.settings import Role
from monitor import audit, outbox, removals
from monitor.daemon import Daemon
from monitor.db import transaction
from monitor.ingest import NOTIFY_KIND
from monitor.models import AuditEvent, RemovalContact, RemovalRequest, RemovalStatus, utcnow
from monitor.notify import make_handler
from monitor.removals import deadlines as removal_deadlines
from monitor.removals import policy
from monitor.removals.deadlines import sweep
from monitor.runtime import Runtime
from tests.backoffice.conftest import SmtpServer, entries, make_due, notify_settings

URL = "https://forum.example.org/t/sports-day/123#post-4"
ASKER = removals.Requester(name="Kim Staffmember", role="teaching assistant",
                           what="a forum post quoting a pupil's full name",
                           reason="names Sam Pupilname, a looked-after child")
SECRETS = ("Staffmember", "Pupilname", "forum post quoting", "looked-after")


def _add(rt: Runtime, *, now: object = None) -> int:
    with transaction(rt.factory) as session:
        request = removals.add(session, config=rt.settings.removals, actor="cli:mod",
                               requester=ASKER, url=URL, now=now)  # type: ignore[arg-type]
        return request.id


def _request(rt: Runtime, request_id: int) -> RemovalRequest:
    with rt.factory() as session:
        return session.get_one(RemovalRequest, request_id)


def _audit(rt: Runtime) -> list[AuditEvent]:
    with rt.factory() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.target_type == "removal")
                                    .order_by(AuditEvent.seq)).scalars())


def test_outside_url_is_tracked_to_manual_confirmation(runtime: Runtime) -> None:
    request_id = _add(runtime)
    request = _request(runtime, request_id)
    assert request.target == "outside"
    assert request.host == "forum.example.org"
    assert request.alert_id is None  # nothing to take down through a connector
    with transaction(runtime.factory) as session:
        removals.contact(session, request_id=request_id, actor="web:mod",
                         method=removals.ContactMethod.FORM,
                         note="reported via the forum's report button")
        removals.contact(session, request_id=request_id, actor="web:mod",
                         method=removals.ContactMethod.EMAIL,
                         note="emailed abuse@forum.example.org asking for removal")
    with transaction(runtime.factory) as session, pytest.raises(removals.RemovalError):
        removals.confirm(session, request_id=request_id, actor="web:mod", note="   ")
    assert _request(runtime, request_id).status == RemovalStatus.OPEN
    with transaction(runtime.factory) as session:
        removals.confirm(session, request_id=request_id, actor="web:dsl",
                         note="checked the page logged out: 404")
    done = _request(runtime, request_id)
    assert done.status == RemovalStatus.DONE
    assert done.resolution == "confirmed"
    assert done.resolved_by == "web:dsl"
    assert done.resolved_at is not None
    with runtime.factory() as session:
        notes = session.execute(select(RemovalContact.method).where(
            RemovalContact.request_id == request_id).order_by(RemovalContact.id)).scalars().all()
        assert notes == ["form", "email", "checked"]
        assert audit.verify(session).ok
    events = _audit(runtime)
    assert [e.action for e in events] == ["removal.add", "removal.contact", "removal.contact",
                                          "removal.confirmed"]
    assert events[-1].details["in_time"] is True
    dumped = json.dumps([e.details for e in events])
    assert not [s for s in SECRETS if s in dumped]
    assert "abuse@forum" not in dumped  # contact notes are hashed too
    # Closed: no more contacts, no second confirmation.
    with transaction(runtime.factory) as session, pytest.raises(removals.RemovalError):
        removals.confirm(session, request_id=request_id, actor="web:mod", note="again")


def test_overdue_request_is_reminded_then_escalates_once(runtime: Runtime,
                                                         smtp_server: SmtpServer) -> None:
    t0 = utcnow()
    request_id = _add(runtime, now=t0)
    cfg = runtime.settings.removals
    due = _request(runtime, request_id).due_at
    assert due == t0 + timedelta(hours=24)

    assert sweep(runtime.factory, config=cfg, now=t0 + timedelta(hours=11)) == (0, 0)
    half = policy.remind_at(cfg, t0, due)
    assert half == t0 + timedelta(hours=12)
    assert sweep(runtime.factory, config=cfg, now=half) == (1, 0)  # the reminder, once
    assert sweep(runtime.factory, config=cfg, now=half + timedelta(hours=1)) == (0, 0)
    # At the deadline's own instant it is still in time; one second later it is overdue.
    assert sweep(runtime.factory, config=cfg, now=due) == (0, 0)
    assert not policy.is_overdue("open", due, due)
    assert sweep(runtime.factory, config=cfg, now=due + timedelta(seconds=1)) == (0, 1)
    assert sweep(runtime.factory, config=cfg, now=due + timedelta(hours=3)) == (0, 0)

    request = _request(runtime, request_id)
    assert request.reminded_at == half
    assert request.overdue_escalated_at == due + timedelta(seconds=1)
    queued = entries(runtime, NOTIFY_KIND)
    assert [(e.payload["reason"], e.payload["removal_ids"], e.payload["roles"]) for e in queued] \
        == [("removal_reminder", [request_id], ["moderator"]),
            ("removal_overdue", [request_id], ["manager"])]
    assert [e.action for e in _audit(runtime)] == ["removal.add", "removal.remind",
                                                   "removal.overdue"]

    # The notifier sends both through real SMTP: a link, never who asked or why.
    settings = notify_settings(runtime.settings, smtp_port=smtp_server.port)
    settings.notifications.email[Role.MODERATOR] = ["mods@school.example"]
    make_due(runtime)
    stats = outbox.run_once(runtime.factory, {NOTIFY_KIND: make_handler(settings)},
                            owner="test", max_attempts=3)
    assert stats.done == 2
    received = {m.message["Subject"]: m for m in smtp_server.received}
    overdue = received[f"[socmon] Overdue: removal request #{request_id} missed its deadline"]
    assert overdue.rcpt_tos == ["head@school.example"]
    assert f"/removals#removal-{request_id}" in overdue.text
    reminder = next(m for s, m in received.items() if s.startswith("[socmon] Reminder"))
    assert reminder.rcpt_tos == ["mods@school.example"]
    for message in smtp_server.received:
        assert not [s for s in SECRETS if s in message.text]
        assert "forum.example.org" not in message.text


def test_a_request_met_in_time_never_escalates(runtime: Runtime) -> None:
    t0 = utcnow()
    request_id = _add(runtime, now=t0)
    with transaction(runtime.factory) as session:
        removals.confirm(session, request_id=request_id, actor="web:mod", note="gone",
                         now=t0 + timedelta(hours=2))
    assert sweep(runtime.factory, config=runtime.settings.removals,
                 now=t0 + timedelta(days=3)) == (0, 0)
    assert entries(runtime, NOTIFY_KIND) == []


def test_policy_predicates_agree_with_their_sql(runtime: Runtime) -> None:
    t0 = utcnow()
    ids = [_add(runtime, now=t0) for _ in range(2)]
    with transaction(runtime.factory) as session:
        removals.confirm(session, request_id=ids[1], actor="web:mod", note="gone", now=t0)
    due = t0 + runtime.settings.removals.deadline
    for at in (t0, due - timedelta(seconds=1), due, due + timedelta(microseconds=1),
               due + timedelta(days=1)):
        with runtime.factory() as session:
            by_sql = set(session.execute(
                select(RemovalRequest.id).where(policy.overdue_sql(at))).scalars())
            rows = session.execute(select(RemovalRequest)).scalars().all()
            by_python = {r.id for r in rows if policy.is_overdue(r.status, r.due_at, at)}
            open_sql = set(session.execute(
                select(RemovalRequest.id).where(policy.open_sql())).scalars())
        assert by_sql == by_python, at
        assert open_sql == {r.id for r in rows if policy.is_open(r.status)}
    assert by_python == {ids[0]}


@pytest.mark.parametrize("url", ["ftp://example.org/x", "not a url", "https://", ""])
def test_a_bad_address_is_refused(runtime: Runtime, url: str) -> None:
    with transaction(runtime.factory) as session, pytest.raises(removals.RemovalError):
        removals.add(session, config=runtime.settings.removals, actor="cli:mod",
                     requester=ASKER, url=url)
    with runtime.factory() as session:
        assert session.execute(select(RemovalRequest)).first() is None


def test_the_daemon_runs_the_sweep_every_minute(runtime: Runtime) -> None:
    daemon = Daemon(runtime)
    assert removal_deadlines.register in daemon.extra_jobs
    scheduler = BackgroundScheduler(timezone="UTC")
    stop = threading.Event()
    removal_deadlines.register(scheduler, runtime, stop)
    job = scheduler.get_job(removal_deadlines.JOB_ID)
    assert job is not None
    assert job.trigger.interval == timedelta(minutes=1)
    _add(runtime, now=utcnow() - timedelta(days=2))  # long overdue
    stop.set()
    job.func()  # asked to stop: does nothing
    assert entries(runtime, NOTIFY_KIND) == []
    stop.clear()
    job.func()
    assert [e.payload["reason"] for e in entries(runtime, NOTIFY_KIND)] == ["removal_overdue"]
