"""The daily purge: what is past its retention period loses its content; one audit event says
what went, by kind, with the ids' hash.

The clock is a parameter (`now`), so a test can age a database through a year without
waiting. Safeguarding records are never purged on time alone: at the end of their period
they are marked due for review, and only go at the first run after a DSL signs them off.
Nothing a legal hold covers is touched. Removal requests lose their free text (who asked,
what, why, the address, the contacts with the host) on the flagged period from when they
closed: an open one still needs it, and one about a held alert or item is kept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from config.settings import Retention
from monitor import audit
from monitor.alerts import policy
from monitor.models import (
    Alert,
    AlertItem,
    AlertNote,
    AuditEvent,
    AuditHead,
    Item,
    QuarantinedItem,
    RemovalRequest,
    SafeguardingReview,
)
from monitor.records import redact
from monitor.records.holds import Held
from monitor.removals import policy as removal_policy

#: audit actions whose details are the records' own accounts (ids and hashes only): kept
ACCOUNT_ACTIONS = ("records.", "people.")
PURGE_ACTION = "records.purge"


@dataclass
class PurgeReport:
    """What one run removed (ids by kind), marked due for review, and left for holds."""

    run: str
    now: datetime
    dry_run: bool
    removed: dict[str, list[int]] = field(default_factory=dict)
    #: safeguarding alerts newly due for the DSL's review
    due_for_review: list[int] = field(default_factory=list)
    #: signed-off safeguarding alerts whose records went in this run
    signed_off_purged: list[int] = field(default_factory=list)
    #: items past their time that a legal hold kept
    kept_by_hold: int = 0
    audit_seq: int | None = None

    def counts(self) -> dict[str, int]:
        """How many of each kind went."""
        return {kind: len(self.removed.get(kind, [])) for kind in redact.KINDS}

    def summary(self) -> dict[str, Any]:
        """The report as the CLI and the audit event show it (ids of content only as a hash)."""
        return {
            "run": self.run, "at": self.now.isoformat(), "dry_run": self.dry_run,
            "counts": self.counts(),
            "ids_sha256": {k: redact.ids_digest(v) for k, v in self.removed.items() if v},
            "due_for_review": self.due_for_review,
            "signed_off_purged": self.signed_off_purged,
            "kept_by_hold": self.kept_by_hold,
        }


def _no_alert() -> ColumnElement[bool]:
    # A comment linked to a series alert is part of that alert's record even though no
    # comment of the series was flagged alone: never purged as a clean comment.
    return and_(~exists().where(Alert.item_id == Item.id),
                ~exists().where(AlertItem.item_id == Item.id))


def _clean_items(session: Session, cutoff: datetime, held: Held) -> tuple[list[int], int]:
    base = and_(Item.fetched_at < cutoff, Item.is_own.is_(False), _no_alert(),
                redact.not_redacted(redact.ITEM, Item.id))
    ids = list(session.execute(select(Item.id).where(base, not_(held.items_sql()))).scalars())
    kept = session.execute(select(func.count()).select_from(Item)
                           .where(base, held.items_sql())).scalar_one()
    return ids, kept


def _quarantined(session: Session, cutoff: datetime, held: Held) -> list[int]:
    """Quarantined payloads past the flagged period (they may hold a flagged comment)."""
    stmt = (select(QuarantinedItem.id).outerjoin(Item, Item.id == QuarantinedItem.item_id)
            .where(QuarantinedItem.created_at < cutoff,
                   redact.not_redacted(redact.QUARANTINE, QuarantinedItem.id),
                   QuarantinedItem.channel_id.not_in(sorted(held.channels)),
                   or_(QuarantinedItem.item_id.is_(None), not_(held.items_sql()))))
    return sorted(session.execute(stmt).scalars())


def _closed_removals(session: Session, cutoff: datetime, held: Held) -> list[int]:
    """Removal requests closed before `cutoff`, not about a held alert or item."""
    held_alerts = sorted(held.alerts)
    held_items = select(Item.id).where(held.items_sql())
    return sorted(session.execute(
        select(RemovalRequest.id).where(
            not_(removal_policy.open_sql()), RemovalRequest.resolved_at < cutoff,
            redact.not_redacted(redact.REMOVAL, RemovalRequest.id),
            or_(RemovalRequest.alert_id.is_(None), RemovalRequest.alert_id.not_in(held_alerts)),
            or_(RemovalRequest.item_id.is_(None), RemovalRequest.item_id.not_in(held_items)))
    ).scalars())


def _closed_flagged(cutoff: datetime) -> ColumnElement[bool]:
    # Open alerts wait: nobody has decided about them yet, and their deadline machinery
    # still points at the item.
    return and_(Alert.created_at < cutoff, not_(policy.lane_sql()),
                not_(policy.awaiting_action_sql()))


def _flagged_items(session: Session, cutoff: datetime, held: Held) -> tuple[list[int], int]:
    base = and_(_closed_flagged(cutoff), redact.not_redacted(redact.ITEM, Item.id))
    stmt = select(Item.id).join(Alert, Alert.item_id == Item.id).where(base)
    ids = list(session.execute(stmt.where(not_(held.items_sql()))).scalars())
    kept = session.execute(select(func.count()).select_from(
        stmt.where(held.items_sql()).subquery())).scalar_one()
    return ids, kept


def _signed_off_items(session: Session, held: Held) -> tuple[list[int], list[int]]:
    rows = session.execute(
        select(Alert.id, Item.id).join(Item, Alert.item_id == Item.id)
        .join(SafeguardingReview, SafeguardingReview.alert_id == Alert.id)
        .where(SafeguardingReview.signed_off_at.is_not(None),
               redact.not_redacted(redact.ITEM, Item.id), not_(held.items_sql()))
    ).all()
    return [a for a, _ in rows], [i for _, i in rows]


def _newly_due(session: Session, cutoff: datetime) -> list[int]:
    return list(session.execute(
        select(Alert.id).where(policy.lane_sql(), Alert.created_at < cutoff,
                               ~exists().where(SafeguardingReview.alert_id == Alert.id))
        .order_by(Alert.id)).scalars())


def _notes_alerts(session: Session, cutoff: datetime, held: Held) -> list[int]:
    """Alerts outside the lane, not held, with a note or a dismissal note older than cutoff."""
    has_old = or_(exists().where(AlertNote.alert_id == Alert.id, AlertNote.created_at < cutoff),
                  and_(Alert.resolution_note.is_not(None), Alert.resolved_at < cutoff))
    return list(session.execute(
        select(Alert.id).join(Item, Alert.item_id == Item.id)
        .where(not_(policy.lane_sql()), has_old, not_(held.items_sql()))).scalars())


def _protected_alert_ids(session: Session, held: Held) -> set[str]:
    """Alerts whose audit details stay: held ones, and safeguarding ones not signed off."""
    held_ids = session.execute(select(Alert.id).join(Item, Alert.item_id == Item.id)
                               .where(held.items_sql())).scalars()
    lane = session.execute(select(Alert.id).where(
        policy.lane_sql(), ~exists().where(SafeguardingReview.alert_id == Alert.id,
                                           SafeguardingReview.signed_off_at.is_not(None))
    )).scalars()
    return {str(a) for a in (*held_ids, *lane)}


def _audit_seqs(session: Session, cutoff: datetime, protected: set[str]) -> list[int]:
    rows = session.execute(
        select(AuditEvent.seq, AuditEvent.target_type, AuditEvent.target_id).where(
            AuditEvent.at < cutoff, AuditEvent.details_sha256.is_not(None),
            *[not_(AuditEvent.action.startswith(prefix)) for prefix in ACCOUNT_ACTIONS],
            redact.not_redacted(redact.AUDIT_DETAILS, AuditEvent.seq))
        .order_by(AuditEvent.seq)).all()
    return [seq for seq, ttype, tid in rows if not (ttype == "alert" and tid in protected)]


def purge(session: Session, retention: Retention, *, now: datetime, dry_run: bool = False,
          actor: str = "system") -> PurgeReport:
    """Remove or redact what is past its time, in the caller's transaction (never commits).

    `dry_run`: work out and return the same report, change nothing and audit nothing.
    """
    if now.tzinfo is None:
        raise ValueError("purge needs a timezone-aware `now`")
    report = PurgeReport(run=uuid.uuid4().hex, now=now, dry_run=dry_run)
    if not dry_run:
        # Replicas each run the daily job: the first to lock the audit chain's head purges,
        # the others wait and then find nothing left (every query skips redacted rows), where
        # two at once would both redact the same rows and one would fail on the unique key.
        session.execute(select(AuditHead.id).where(AuditHead.id == 1).with_for_update())
    held = Held.load(session)
    clean, kept_clean = _clean_items(session, now - retention.clean, held)
    flagged, kept_flagged = _flagged_items(session, now - retention.flagged, held)
    signed_alerts, signed_items = _signed_off_items(session, held)
    report.kept_by_hold = kept_clean + kept_flagged
    report.due_for_review = _newly_due(session, now - retention.safeguarding)
    report.signed_off_purged = signed_alerts
    notes_alerts = _notes_alerts(session, now - retention.notes, held)
    audit_seqs = _audit_seqs(session, now - retention.audit_details,
                             _protected_alert_ids(session, held))
    # A dry run does the same work in a savepoint and rolls it back: its counts are exact.
    savepoint = session.begin_nested() if dry_run else None
    removed = redact.redact_items(session, [*clean, *flagged, *signed_items],
                                  cause=redact.RETENTION, run=report.run, now=now)
    notes = redact.redact_alert_notes(session, notes_alerts, cause=redact.RETENTION,
                                      run=report.run, now=now, before=now - retention.notes)
    for kind, ids in notes.items():
        removed[kind] += ids
    removed[redact.AUDIT_DETAILS] += redact.redact_audit_details(
        session, audit_seqs, cause=redact.RETENTION, run=report.run, now=now)
    removed[redact.QUARANTINE] += redact.redact_quarantined(
        session, _quarantined(session, now - retention.flagged, held),
        cause=redact.RETENTION, run=report.run, now=now)
    for kind, ids in redact.redact_removals(
            session, _closed_removals(session, now - retention.flagged, held),
            cause=redact.RETENTION, run=report.run, now=now).items():
        removed[kind] += ids
    report.removed = {kind: sorted(ids) for kind, ids in removed.items()}
    if savepoint is not None:
        savepoint.rollback()
        return report
    for alert_id in report.due_for_review:
        session.add(SafeguardingReview(alert_id=alert_id, due_since=now))
    cutoffs = {name: (now - getattr(retention, name)).isoformat()
               for name in ("clean", "flagged", "safeguarding", "notes", "audit_details")}
    event = audit.record(session, actor=actor, action=PURGE_ACTION, target_type="records",
                         target_id=report.run, details={**report.summary(), "cutoffs": cutoffs},
                         at=now)
    report.audit_seq = event.seq
    return report
