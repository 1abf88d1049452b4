"""Retention: a database aged through a year, purged by a clock we pass in (no sleeps)."""

from __future__ import annotations

import threading
from datetime import timedelta

from apscheduler.triggers.cron import CronTrigger
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Retention
from monitor import alerts, audit, removals
from monitor.daemon import Daemon
from monitor.db import transaction
from monitor.models import (
    Alert,
    AlertItem,
    AlertNote,
    AuditEvent,
    AuditHead,
    Channel,
    Evidence,
    Item,
    QuarantinedItem,
    Redaction,
    RemovalContact,
    RemovalRequest,
    utcnow,
)
from monitor.people.roles import Role
from monitor.records import holds, job, redact, reviews
from monitor.records.purge import PURGE_ACTION, PurgeReport, purge
from monitor.records.rights import redactions_of
from monitor.runtime import Runtime
from monitor.web import create_app
from tests.records.conftest import seed_item
from tests.web.conftest import login

RETENTION = Retention(clean=timedelta(days=30), flagged=timedelta(days=120),
                      safeguarding=timedelta(days=180), notes=timedelta(days=90),
                      audit_details=timedelta(days=365))


def _text(runtime: Runtime, item_id: int) -> str:
    with runtime.factory() as session:
        return session.get_one(Item, item_id).text


def _snapshot(runtime: Runtime, item_id: int) -> str:
    with runtime.factory() as session:
        return session.execute(select(Evidence.snapshot).where(Evidence.item_id == item_id)
                               ).scalar_one()


def test_a_year_of_purges(runtime: Runtime) -> None:
    t0 = utcnow()
    clean, _ = seed_item(runtime, external_id="c1", text="Lovely sports day", at=t0)
    later, _ = seed_item(runtime, external_id="c2", text="Well done all", at=t0 + timedelta(60))
    by_held_author, _ = seed_item(runtime, external_id="c3", text="Held author's words", at=t0,
                                  author_id="held")
    in_held_channel, _ = seed_item(runtime, external_id="c4", text="Other channel", at=t0,
                                   channel="other")
    flagged, a_flagged = seed_item(runtime, external_id="f1", text="You useless idiot", at=t0,
                                   labels=["abuse"])
    held_flag, a_held = seed_item(runtime, external_id="f2", text="Held insult", at=t0,
                                  labels=["abuse"])
    open_flag, _ = seed_item(runtime, external_id="f3", text="Nobody looked yet", at=t0,
                             labels=["abuse"])
    sg, a_sg = seed_item(runtime, external_id="s1", text="I am scared at home", at=t0,
                         labels=["safeguarding"], queue="safeguarding")
    assert a_flagged is not None
    assert a_held is not None
    assert a_sg is not None
    with transaction(runtime.factory) as session:
        quarantined = {}
        for name in ("demo", "other"):
            chan = session.execute(select(Channel).where(Channel.name == name)).scalar_one()
            row = QuarantinedItem(channel_id=chan.id, platform="demo", external_id=f"q-{name}",
                                  stage="read", reason="malformed", created_at=t0,
                                  payload='{"message": "garbled insult"}')
            session.add(row)
            session.flush()
            quarantined[name] = row.id
        alerts.add_note(session, alert_id=a_flagged, actor="mo", body="Parent rang about it")
        alerts.dismiss(session, alert_id=a_flagged, actor="mo",
                       reason=alerts.DismissReason.NOT_A_BREACH, note="banter between pupils")
        alerts.dismiss(session, alert_id=a_held, actor="mo",
                       reason=alerts.DismissReason.NOT_A_BREACH)
        alerts.acknowledge(session, alert_id=a_sg, actor="dee", user_id=None,
                           handover="Rang the family, referral made")
        holds.set_hold(session, actor="dee", role=Role.SAFEGUARDING_LEAD, reason="police",
                       alert_id=a_held, now=t0)
        author_hold = holds.set_hold(session, actor="ada", role=Role.ADMIN, reason="claim",
                                     platform="demo", author_id="held", now=t0).id
        holds.set_hold(session, actor="ada", role=Role.ADMIN, reason="inquiry",
                       channel="other", now=t0)
    with runtime.factory() as session:
        open_event = session.execute(select(AuditEvent.seq).where(
            AuditEvent.action == "alert.open", AuditEvent.target_id == str(a_flagged))
        ).scalar_one()

    days = sorted({*range(0, 372, 7), 30, 31, 90, 91, 120, 121, 180, 181, 365, 366})
    signed_off_at: int | None = None
    released_at: int | None = None
    for day in days:
        now = t0 + timedelta(days=day)
        if signed_off_at is None and day > 200:
            with transaction(runtime.factory) as session:
                assert [r.alert_id for r in reviews.due(session)] == [a_sg]
                reviews.sign_off(session, alert_id=a_sg, actor="dee",
                                 role=Role.SAFEGUARDING_LEAD, reason="case closed", now=now)
            signed_off_at = day
        if released_at is None and day > 250:
            with transaction(runtime.factory) as session:
                holds.release_hold(session, hold_id=author_hold, actor="ada", role=Role.ADMIN,
                                   reason="claim settled", now=now)
            released_at = day
        with transaction(runtime.factory) as session:
            report = purge(session, RETENTION, now=now)
        with runtime.factory() as session:
            verified = audit.verify(session)
        assert verified.ok, (day, verified)
        assert report.audit_seq == verified.checked  # the run's event is the last one

        # Clean comments go 30 days after they were read; the later one on its own time.
        assert (_text(runtime, clean) == "") is (day > 30), day
        assert (_text(runtime, later) == "") is (day > 90), day
        # Flagged comments and their evidence go at 120 days; notes at 90.
        assert (_text(runtime, flagged) == "") is (day > 120), day
        assert ("useless" in _snapshot(runtime, flagged)) is (day <= 120), day
        with runtime.factory() as session:
            note = session.execute(select(AlertNote.body).where(
                AlertNote.alert_id == a_flagged)).scalar_one()
            closing = session.get_one(Alert, a_flagged).resolution_note
            details = session.get_one(AuditEvent, open_event).details
        assert (note == "") is (day > 90), day
        assert (closing is None) is (day > 90), day
        assert (details == audit.REDACTED_DETAILS) is (day > 365), day
        with runtime.factory() as session:
            payloads = {name: session.get_one(QuarantinedItem, row_id).payload
                        for name, row_id in quarantined.items()}
        assert (payloads["demo"] == "") is (day > 120), day
        assert "garbled" in payloads["other"]  # its channel is held
        # Held items stay whatever their age; the author's hold is lifted on day 252.
        assert _text(runtime, held_flag) == "Held insult"
        assert "Held insult" in _snapshot(runtime, held_flag)
        assert _text(runtime, in_held_channel) == "Other channel"
        assert (_text(runtime, by_held_author) == "") is (released_at is not None), day
        # An alert nobody closed keeps its item.
        assert _text(runtime, open_flag) == "Nobody looked yet"
        # Safeguarding: due for review after 180 days, kept until the DSL signs it off.
        assert (report.due_for_review == [a_sg]) is (day == 181), day
        gone = signed_off_at is not None
        assert (_text(runtime, sg) == "") is gone, day
        assert ("scared" in _snapshot(runtime, sg)) is not gone, day
    assert signed_off_at is not None
    assert released_at is not None

    # The purge events account for every removal: per run, counts and the ids' hash.
    with runtime.factory() as session:
        events = session.execute(select(AuditEvent).where(AuditEvent.action == PURGE_ACTION)
                                 .order_by(AuditEvent.seq)).scalars().all()
        assert len(events) == len(days)
        runs = set()
        for event in events:
            run = event.details["run"]
            runs.add(run)
            made = redactions_of(session, run)
            assert event.details["counts"] == {k: len(made.get(k, [])) for k in redact.KINDS}
            assert event.details["ids_sha256"] == {k: redact.ids_digest(v)
                                                   for k, v in made.items()}
            assert "useless" not in str(event.details)
        all_runs = set(session.execute(select(Redaction.run)).scalars())
        assert all_runs == runs - {e.details["run"] for e in events
                                   if not any(e.details["counts"].values())}
        # Every emptied item is accounted for by exactly one redaction.
        emptied = set(session.execute(select(Item.id).where(Item.text == "")).scalars())
        redacted_items = set(session.execute(select(Redaction.row_id).where(
            Redaction.kind == redact.ITEM)).scalars())
        assert emptied == redacted_items == {clean, later, flagged, by_held_author, sg}
        # Ids, labels, timestamps and the evidence hash survive the redaction.
        item = session.get_one(Item, flagged)
        assert (item.external_id, item.author_id, item.raw) == ("f1", None, {})
        assert session.get_one(Alert, a_flagged).labels == ["abuse"]
        ev = session.execute(select(Evidence).where(Evidence.item_id == flagged)).scalar_one()
        assert ev.sha256 != audit.sha256_hex(ev.snapshot)
        assert len(ev.sha256) == 64


def test_a_dry_run_reports_without_removing(runtime: Runtime) -> None:
    t0 = utcnow()
    clean, _ = seed_item(runtime, external_id="c1", text="Lovely sports day", at=t0)
    with runtime.factory() as session:
        before = session.execute(select(AuditEvent.seq)).scalars().all()
    with transaction(runtime.factory) as session:
        report = purge(session, RETENTION, now=t0 + timedelta(days=31), dry_run=True)
    assert report.removed[redact.ITEM] == [clean]
    assert report.audit_seq is None
    assert _text(runtime, clean) == "Lovely sports day"
    with runtime.factory() as session:
        assert session.execute(select(AuditEvent.seq)).scalars().all() == before
        assert session.execute(select(Redaction)).first() is None


def test_a_comment_linked_to_a_series_alert_is_not_purged_as_clean(runtime: Runtime) -> None:
    t0 = utcnow()
    linked, _ = seed_item(runtime, external_id="s1", text="how old are you now?", at=t0)
    _, series_alert = seed_item(runtime, external_id="s2", text="add me on snap", at=t0,
                                labels=["safeguarding"], queue="safeguarding")
    clean, _ = seed_item(runtime, external_id="c1", text="Lovely sports day", at=t0)
    assert series_alert is not None
    with transaction(runtime.factory) as session:
        session.add(AlertItem(alert_id=series_alert, item_id=linked))
    with transaction(runtime.factory) as session:
        report = purge(session, RETENTION, now=t0 + timedelta(days=31))
    assert report.removed[redact.ITEM] == [clean]
    assert _text(runtime, linked) == "how old are you now?"


def test_events_written_before_the_change_still_verify(runtime: Runtime) -> None:
    """An event hashed the old way (details inside the hash) verifies; editing it is caught."""
    with transaction(runtime.factory) as session:
        audit.record(session, actor="t", action="x.new", target_type="t", target_id=1)
        head = session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc())).scalars(
            ).first()
        assert head is not None
        at = utcnow()
        details = {"legacy": True}
        digest = audit.event_hash(seq=head.seq + 1, at=at, actor="t", action="x.old",
                                  target_type="t", target_id="2", details=details,
                                  evidence_sha256=None, prev_hash=head.hash)
        session.add(AuditEvent(seq=head.seq + 1, at=at, actor="t", action="x.old",
                               target_type="t", target_id="2", details=details,
                               prev_hash=head.hash, hash=digest))
        row = session.get_one(AuditHead, 1)
        row.seq, row.hash = head.seq + 1, digest
    with runtime.factory() as session:
        assert audit.verify(session).ok
    with transaction(runtime.factory) as session:
        session.get_one(AuditEvent, head.seq + 1).details = {"legacy": False}
    with runtime.factory() as session:
        assert audit.verify(session).bad_seq == head.seq + 1


def test_the_daemon_purges_daily_at_the_configured_time(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={"retention": Retention(time="04:15")})
    runtime.settings = settings
    daemon = Daemon(runtime)
    daemon.schedule()
    scheduled = daemon.scheduler.get_job(job.JOB_ID)
    assert scheduled is not None
    assert isinstance(scheduled.trigger, CronTrigger)
    assert str(scheduled.trigger) == str(job.trigger(settings.retention))
    assert "hour='4', minute='15'" in str(scheduled.trigger)
    old, _ = seed_item(runtime, external_id="c1", text="Lovely sports day",
                       at=utcnow() - timedelta(days=31))
    scheduled.func(*scheduled.args)
    assert _text(runtime, old) == ""
    runtime.settings = settings.model_copy(update={"retention": Retention(enabled=False)})
    off = Daemon(runtime)
    off.schedule()
    assert off.scheduler.get_job(job.JOB_ID) is None


def test_two_replicas_purging_at_once_remove_each_row_once(runtime: Runtime) -> None:
    t0 = utcnow() - timedelta(days=40)
    ids = [seed_item(runtime, external_id=f"c{i}", text=f"Comment {i}", at=t0)[0]
           for i in range(20)]
    barrier = threading.Barrier(2)
    reports: list[PurgeReport] = []
    errors: list[BaseException] = []

    def replica() -> None:
        barrier.wait()
        try:
            reports.append(job.run(runtime))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(r.removed[redact.ITEM]) for r in reports) == [0, 20]
    assert all(_text(runtime, i) == "" for i in ids)
    with runtime.factory() as session:
        assert audit.verify(session).ok


ASKER = removals.Requester(name="Pat Parentname", role="parent",
                           what="the photo of my daughter on the sports day post",
                           reason="we withdrew photo consent for Mia Childname")
REQUEST_TEXT = ("Parentname", "my daughter", "Childname", "abuse@host.example")


def _removal(runtime: Runtime, request_id: int) -> RemovalRequest:
    with runtime.factory() as session:
        return session.get_one(RemovalRequest, request_id)


def _contact_notes(runtime: Runtime, request_id: int) -> list[str]:
    with runtime.factory() as session:
        return list(session.execute(select(RemovalContact.note).where(
            RemovalContact.request_id == request_id).order_by(RemovalContact.id)).scalars())


def test_removal_requests_lose_their_free_text_on_the_flagged_period_after_closing(
        runtime: Runtime, people: dict[str, str]) -> None:
    t0 = utcnow()
    config = runtime.settings.removals
    _, a_done = seed_item(runtime, external_id="r1", text="Sports day photo", at=t0,
                          labels=["identifying"])
    _, a_held = seed_item(runtime, external_id="r2", text="Another photo", at=t0,
                          labels=["identifying"])
    assert a_done is not None
    assert a_held is not None
    with transaction(runtime.factory) as session:
        outside = removals.add(session, config=config, actor="mo", requester=ASKER,
                               url="https://host.example/page/7", now=t0)
        removals.contact(session, request_id=outside.id, actor="mo",
                         method=removals.ContactMethod.EMAIL,
                         note="wrote to abuse@host.example about my daughter", now=t0)
        removals.confirm(session, request_id=outside.id, actor="mo",
                         note="page gone: Parentname told", now=t0 + timedelta(hours=3))
        still_open = removals.add(session, config=config, actor="mo", requester=ASKER,
                                  url="https://elsewhere.example/x", now=t0)
        on_channel = removals.add(session, config=config, actor="mo", requester=ASKER,
                                  alert_id=a_done, now=t0)
        held = removals.add(session, config=config, actor="mo", requester=ASKER,
                            alert_id=a_held, now=t0)
        for alert_id in (a_done, a_held):
            removals.takedown_verified(session, alert_id=alert_id, now=t0 + timedelta(hours=1))
        hold = holds.set_hold(session, actor="dee", role=Role.SAFEGUARDING_LEAD,
                              reason="police", alert_id=a_held, now=t0).id
        ids = {"outside": outside.id, "open": still_open.id, "channel": on_channel.id,
               "held": held.id}
    assert _removal(runtime, ids["held"]).status == "done"

    def purge_on(day: float) -> PurgeReport:
        with transaction(runtime.factory) as session:
            return purge(session, RETENTION, now=t0 + timedelta(days=day))

    # Closed within hours of t0: the free text stays through the flagged period (120 days).
    early = purge_on(120)
    assert early.counts()[redact.REMOVAL] == 0
    assert _removal(runtime, ids["outside"]).requester_name == "Pat Parentname"
    late = purge_on(121)
    assert late.removed[redact.REMOVAL] == sorted([ids["outside"], ids["channel"]])
    assert len(late.removed[redact.REMOVAL_CONTACT]) == 2  # the e-mail and the check
    for key in ("outside", "channel"):
        gone = _removal(runtime, ids[key])
        assert (gone.requester_name, gone.requester_role, gone.what, gone.reason, gone.url) \
            == ("", "", "", "", None)
        # what the review counts stays
        assert gone.status == "done"
        assert gone.resolved_at is not None
        assert gone.due_at is not None
    assert _removal(runtime, ids["outside"]).host == "host.example"
    assert _contact_notes(runtime, ids["outside"]) == ["", ""]
    # never an open request, never one whose alert is held
    assert _removal(runtime, ids["open"]).what == ASKER.what
    assert _removal(runtime, ids["held"]).reason == ASKER.reason
    # a second run finds nothing new; once the hold is lifted the held one goes
    assert purge_on(122).counts()[redact.REMOVAL] == 0
    with transaction(runtime.factory) as session:
        holds.release_hold(session, hold_id=hold, actor="dee", role=Role.SAFEGUARDING_LEAD,
                           reason="case closed", now=t0 + timedelta(days=123))
    assert purge_on(124).removed[redact.REMOVAL] == [ids["held"]]
    assert _removal(runtime, ids["open"]).requester_name == "Pat Parentname"

    with runtime.factory() as session:
        assert audit.verify(session).ok
        events = session.execute(select(AuditEvent).where(
            AuditEvent.action == PURGE_ACTION).order_by(AuditEvent.seq)).scalars().all()
        for event in events:
            made = redactions_of(session, event.details["run"])
            assert event.details["counts"] == {k: len(made.get(k, [])) for k in redact.KINDS}
            assert event.details["ids_sha256"] == {k: redact.ids_digest(v)
                                                   for k, v in made.items()}
        assert [e.details["counts"][redact.REMOVAL] for e in events] == [0, 2, 0, 1]
        trail = " ".join(str(e.details) for e in session.execute(select(AuditEvent)).scalars())
    assert not any(secret in trail for secret in REQUEST_TEXT)
    # the removals page says what went, and still shows the open request's requester
    with TestClient(create_app(runtime)) as client:
        login(client, "mo", people["mo"])
        page = client.get("/removals?status=all")
    assert page.status_code == 200
    assert page.text.count("removed at the end of the retention period") == 3
    assert page.text.count("Pat Parentname") == 1
