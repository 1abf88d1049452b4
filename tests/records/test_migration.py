"""An existing database upgraded to 0006: its old audit events still verify and are kept whole."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import text

from config.settings import Retention
from monitor import audit, db
from monitor.models import AuditEvent, utcnow
from monitor.records import redact
from monitor.records.purge import purge


def test_old_events_verify_after_the_upgrade_and_keep_their_details(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        db.upgrade(engine, "0005_quarantine")
        at = utcnow() - timedelta(days=30)
        prev = audit.GENESIS
        with engine.begin() as conn:
            for seq in (1, 2):
                details = {"n": seq, "who": "before the upgrade"}
                digest = audit.event_hash(seq=seq, at=at, actor="old", action="x.old",
                                          target_type="t", target_id=str(seq), details=details,
                                          evidence_sha256=None, prev_hash=prev)
                conn.execute(text(
                    "INSERT INTO audit_events (seq, at, actor, action, target_type, target_id,"
                    " details, prev_hash, hash) VALUES (:seq, :at, 'old', 'x.old', 't', :tid,"
                    " :details, :prev, :hash)"),
                    {"seq": seq, "at": at, "tid": str(seq), "details": json.dumps(details),
                     "prev": prev, "hash": digest})
                prev = digest
            conn.execute(text("UPDATE audit_head SET seq = 2, hash = :h WHERE id = 1"),
                         {"h": prev})
        db.upgrade(engine)
        factory = db.session_factory(engine)
        with db.transaction(factory) as session:
            assert audit.verify(session).ok
            audit.record(session, actor="new", action="x.new", target_type="t", target_id=3,
                         details={"n": 3}, at=at)
            assert session.get_one(AuditEvent, 1).details_sha256 is None
            assert session.get_one(AuditEvent, 3).details_sha256 == audit.details_digest(
                {"n": 3})
            assert audit.verify(session).ok
            report = purge(session, Retention(audit_details=timedelta(days=1)), now=utcnow())
            # Only the event whose chain covers a details hash can lose its details.
            assert report.removed[redact.AUDIT_DETAILS] == [3]
        with factory() as session:
            assert session.get_one(AuditEvent, 1).details == {"n": 1, "who": "before the upgrade"}
            assert session.get_one(AuditEvent, 3).details == audit.REDACTED_DETAILS
            assert audit.verify(session).ok
    finally:
        engine.dispose()
