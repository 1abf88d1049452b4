"""Removing content while keeping the rows the audit trail and the figures need.

An item keeps its ids, channel, platform, kind and timestamps (the digest counts them, the
alert and the audit trail point at them); its text, author, address and raw payload go.
An evidence snapshot becomes a marker while its SHA-256 stays, so the audit events that
carry that hash still verify. Every redaction is a `Redaction` row naming the purge run or
erasure that did it, which is how the audit event of that run accounts for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, insert, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from monitor import audit
from monitor.models import (
    Alert,
    AlertNote,
    AuditEvent,
    Evidence,
    Item,
    QuarantinedItem,
    Redaction,
    RemovalContact,
    RemovalRequest,
    Verdict,
)

ITEM = "item"
EVIDENCE = "evidence"
NOTE = "note"
#: an alert's dismissal note (kept on the alert row)
ALERT_NOTE = "alert_note"
AUDIT_DETAILS = "audit_details"
#: the payload of an item set aside because it could not be read, stored or classified
QUARANTINE = "quarantine"
#: a removal request's free text: who asked, what, why, and the page's address
REMOVAL = "removal"
#: what was sent to or said by the host of a page, about a removal request
REMOVAL_CONTACT = "removal_contact"
#: every kind of redaction, in the order reports list them
KINDS: tuple[str, ...] = (ITEM, EVIDENCE, NOTE, ALERT_NOTE, AUDIT_DETAILS, QUARANTINE,
                          REMOVAL, REMOVAL_CONTACT)
#: each kind as reports for people word it (the annual review); a test ties it to KINDS
KIND_TITLES: dict[str, str] = {
    ITEM: "comments: text, author, address and payload",
    EVIDENCE: "evidence snapshots",
    NOTE: "moderators' notes",
    ALERT_NOTE: "dismissal notes",
    AUDIT_DETAILS: "details of audit events",
    QUARANTINE: "payloads of quarantined items",
    REMOVAL: "removal requests: who asked, what and why",
    REMOVAL_CONTACT: "notes of contacts with hosts",
}

RETENTION = "retention"
ERASURE = "erasure"
_CHUNK = 500


def not_redacted(kind: str, column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """SQL: the row `column` identifies has not had its content removed as `kind`."""
    return ~exists().where(Redaction.kind == kind, Redaction.row_id == column)


def ids_digest(ids: Iterable[int]) -> str:
    """The SHA-256 of a sorted id list ("1,2,3"), as purge and erasure events carry it."""
    return audit.sha256_hex(",".join(str(i) for i in sorted(ids)))


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start:start + _CHUNK])


def _mark(session: Session, kind: str, ids: Sequence[int], *, cause: str, run: str,
          now: datetime) -> None:
    if ids:
        session.execute(insert(Redaction), [
            {"kind": kind, "row_id": i, "cause": cause, "run": run, "at": now} for i in ids])


def _fresh(session: Session, kind: str, column: InstrumentedAttribute[Any],
           where: ColumnElement[bool]) -> list[int]:
    return sorted(session.execute(select(column).where(where, not_redacted(kind, column)))
                  .scalars())


def redact_items(session: Session, item_ids: Sequence[int], *, cause: str, run: str,
                 now: datetime, with_audit: bool = False) -> dict[str, list[int]]:
    """Remove the content of these items, their evidence, and their alerts' notes.

    `with_audit` (an erasure) also redacts the details of audit events about their alerts.
    Returns the ids redacted, by kind (rows already redacted are skipped and not counted).
    """
    done: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for chunk in _chunks(sorted(set(item_ids))):
        items = _fresh(session, ITEM, Item.id, Item.id.in_(chunk))
        if items:
            session.execute(update(Item).where(Item.id.in_(items)).values(
                text="", raw={}, author_name=None, author_id=None, url=None))
            # Reasons and spans describe the text (a matched phrase, where it sits).
            session.execute(update(Verdict).where(Verdict.item_id.in_(items))
                            .values(reasons=[], spans=[]))
            _mark(session, ITEM, items, cause=cause, run=run, now=now)
            done[ITEM] += items
        evidence = _fresh(session, EVIDENCE, Evidence.id, Evidence.item_id.in_(chunk))
        if evidence:
            marker = audit.canonical_json({"redacted": cause, "at": now.isoformat()})
            session.execute(update(Evidence).where(Evidence.id.in_(evidence))
                            .values(snapshot=marker))
            _mark(session, EVIDENCE, evidence, cause=cause, run=run, now=now)
            done[EVIDENCE] += evidence
        done[QUARANTINE] += redact_quarantined(session, _fresh(
            session, QUARANTINE, QuarantinedItem.id, QuarantinedItem.item_id.in_(chunk)),
            cause=cause, run=run, now=now)
        alert_ids = list(session.execute(select(Alert.id).where(Alert.item_id.in_(chunk)))
                         .scalars())
        for kind, found in redact_alert_notes(session, alert_ids, cause=cause, run=run,
                                              now=now).items():
            done[kind] += found
        if with_audit and alert_ids:
            seqs = _fresh(session, AUDIT_DETAILS, AuditEvent.seq, (
                (AuditEvent.target_type == "alert")
                & AuditEvent.target_id.in_([str(a) for a in alert_ids])
                & AuditEvent.details_sha256.is_not(None)))
            done[AUDIT_DETAILS] += redact_audit_details(session, seqs, cause=cause, run=run,
                                                        now=now)
    return done


def redact_alert_notes(session: Session, alert_ids: Sequence[int], *, cause: str, run: str,
                       now: datetime, before: datetime | None = None) -> dict[str, list[int]]:
    """Remove the notes on these alerts (written before `before`, if given), and their
    dismissal notes (if resolved before `before`)."""
    out: dict[str, list[int]] = {NOTE: [], ALERT_NOTE: []}
    if not alert_ids:
        return out
    where: ColumnElement[bool] = AlertNote.alert_id.in_(list(alert_ids))
    if before is not None:
        where = where & (AlertNote.created_at < before)
    notes = _fresh(session, NOTE, AlertNote.id, where)
    if notes:
        session.execute(update(AlertNote).where(AlertNote.id.in_(notes)).values(body=""))
        _mark(session, NOTE, notes, cause=cause, run=run, now=now)
        out[NOTE] = notes
    closing: ColumnElement[bool] = (Alert.id.in_(list(alert_ids))
                                    & Alert.resolution_note.is_not(None))
    if before is not None:
        closing = closing & (Alert.resolved_at < before)
    resolved = _fresh(session, ALERT_NOTE, Alert.id, closing)
    if resolved:
        session.execute(update(Alert).where(Alert.id.in_(resolved))
                        .values(resolution_note=None))
        _mark(session, ALERT_NOTE, resolved, cause=cause, run=run, now=now)
        out[ALERT_NOTE] = resolved
    return out


def redact_audit_details(session: Session, seqs: Sequence[int], *, cause: str, run: str,
                         now: datetime) -> list[int]:
    """Replace these events' details by the redaction marker (only events whose chain covers
    a details hash: the caller selects them)."""
    for chunk in _chunks(list(seqs)):
        session.execute(update(AuditEvent).where(AuditEvent.seq.in_(chunk))
                        .values(details=audit.REDACTED_DETAILS))
    _mark(session, AUDIT_DETAILS, seqs, cause=cause, run=run, now=now)
    return list(seqs)


def redact_quarantined(session: Session, ids: Sequence[int], *, cause: str, run: str,
                       now: datetime) -> list[int]:
    """Empty the payloads of these quarantined items (the reason and ids stay)."""
    for chunk in _chunks(list(ids)):
        session.execute(update(QuarantinedItem).where(QuarantinedItem.id.in_(chunk))
                        .values(payload=""))
    _mark(session, QUARANTINE, ids, cause=cause, run=run, now=now)
    return list(ids)


def redact_removals(session: Session, request_ids: Sequence[int], *, cause: str, run: str,
                    now: datetime) -> dict[str, list[int]]:
    """Remove the free text of these removal requests and of their contacts with the host.

    The status, target, host, deadline and times stay: the annual review counts them.
    """
    out: dict[str, list[int]] = {REMOVAL: [], REMOVAL_CONTACT: []}
    for chunk in _chunks(sorted(set(request_ids))):
        requests = _fresh(session, REMOVAL, RemovalRequest.id, RemovalRequest.id.in_(chunk))
        if requests:
            session.execute(update(RemovalRequest).where(RemovalRequest.id.in_(requests))
                            .values(requester_name="", requester_role="", what="", reason="",
                                    url=None))
            _mark(session, REMOVAL, requests, cause=cause, run=run, now=now)
            out[REMOVAL] += requests
        contacts = _fresh(session, REMOVAL_CONTACT, RemovalContact.id,
                          RemovalContact.request_id.in_(chunk))
        if contacts:
            session.execute(update(RemovalContact).where(RemovalContact.id.in_(contacts))
                            .values(note=""))
            _mark(session, REMOVAL_CONTACT, contacts, cause=cause, run=run, now=now)
            out[REMOVAL_CONTACT] += contacts
    return out
