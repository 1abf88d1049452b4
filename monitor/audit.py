"""The audit trail: append-only and hash-chained, written inside the caller's transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from monitor.models import AuditEvent, AuditHead, utcnow
from monitor.sqlutil import insert_ignoring_conflicts

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept, for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(text: str) -> str:
    """SHA-256 of a string's UTF-8 bytes, as hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: what an event's details become when their retention period is over (the chain still holds
#: their hash, so the event verifies; the details themselves are gone)
REDACTED_DETAILS: dict[str, Any] = {"redacted": "retention"}


def details_digest(details: dict[str, Any]) -> str:
    """The SHA-256 of an event's details, which the chain covers instead of the details."""
    return sha256_hex(canonical_json(details))


def event_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    details: dict[str, Any],
    evidence_sha256: str | None,
    prev_hash: str,
    details_sha256: str | None = None,
) -> str:
    """The hash that chains one event to the previous one.

    Events written since migration 0006 carry `details_sha256`, and the chain covers that
    hash, not the details, so the details can be redacted when their time is up. Older
    events (no `details_sha256`) were hashed with their details and are recomputed so.
    """
    body: dict[str, Any] = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "target": [target_type, target_id],
        "evidence": evidence_sha256,
        "prev": prev_hash,
    }
    if details_sha256 is None:
        body["details"] = details
    else:
        body["details_sha256"] = details_sha256
    return sha256_hex(canonical_json(body))


def details_intact(details: dict[str, Any], details_sha256: str | None) -> bool:
    """Whether stored details still match the hash the chain covers (or were redacted)."""
    if details_sha256 is None:
        return True  # an older event: its details are in its hash, checked there
    return details == REDACTED_DETAILS or details_digest(details) == details_sha256


def _lock_head(session: Session) -> AuditHead:
    # The head row normally exists (migration 0004); creating it "if absent" must not race
    # when the first writers of a fresh database start together, hence ON CONFLICT DO NOTHING.
    # FOR UPDATE then serialises appenders on PostgreSQL; on SQLite the writer already holds
    # the database lock (BEGIN IMMEDIATE), so the chain cannot fork either way.
    session.execute(
        insert_ignoring_conflicts(session, AuditHead, ["id"]).values(id=1, seq=0, hash=GENESIS)
    )
    return session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event to append with `record_many`."""

    actor: str
    action: str
    target_type: str
    target_id: str | int
    details: dict[str, Any] = field(default_factory=dict)
    evidence_sha256: str | None = None


def record_many(session: Session, events: Sequence[NewEvent], *,
                at: datetime | None = None) -> list[int]:
    """Append events in order, locking the chain's head once (never commits); their seqs."""
    if not events:
        return []
    head = _lock_head(session)
    when = at or utcnow()
    seq, prev = head.seq, head.hash
    rows: list[dict[str, Any]] = []
    for new in events:
        seq += 1
        # Round-trip through JSON so what is hashed is exactly what the database returns.
        details: dict[str, Any] = json.loads(canonical_json(new.details))
        covered = details_digest(details)
        digest = event_hash(
            seq=seq, at=when, actor=new.actor, action=new.action,
            target_type=new.target_type, target_id=str(new.target_id), details=details,
            evidence_sha256=new.evidence_sha256, prev_hash=prev, details_sha256=covered,
        )
        rows.append({
            "seq": seq, "at": when, "actor": new.actor, "action": new.action,
            "target_type": new.target_type, "target_id": str(new.target_id),
            "details": details, "evidence_sha256": new.evidence_sha256,
            "prev_hash": prev, "hash": digest, "details_sha256": covered,
        })
        prev = digest
    session.execute(insert(AuditEvent), rows)
    head.seq, head.hash = seq, prev
    session.flush()
    return [row["seq"] for row in rows]


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    details: dict[str, Any] | None = None,
    evidence_sha256: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction (never commits)."""
    (seq,) = record_many(
        session,
        [NewEvent(actor, action, target_type, target_id, details or {}, evidence_sha256)],
        at=at,
    )
    return session.get_one(AuditEvent, seq)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of walking the chain: ok, or the first bad event and why."""

    ok: bool
    checked: int
    bad_seq: int | None = None
    problem: str = ""


def _events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = (
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.seq > last)
                .order_by(AuditEvent.seq)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify(session: Session) -> VerifyResult:
    """Recompute the chain; name the first event that was edited, removed or reordered."""
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    for event in _events(session):
        if event.seq != expected_seq:
            return VerifyResult(
                False,
                checked,
                expected_seq,
                f"event {expected_seq} is missing (next present is {event.seq})",
            )
        if event.prev_hash != prev_hash:
            return VerifyResult(
                False,
                checked,
                event.seq,
                "does not follow the event before it (deleted or reordered)",
            )
        digest = event_hash(
            seq=event.seq,
            at=event.at,
            actor=event.actor,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            details=event.details,
            evidence_sha256=event.evidence_sha256,
            prev_hash=event.prev_hash,
            details_sha256=event.details_sha256,
        )
        if digest != event.hash or not details_intact(event.details, event.details_sha256):
            return VerifyResult(False, checked, event.seq, "content was altered after writing")
        prev_hash = event.hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditHead, 1)
    last_seq = expected_seq - 1
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        return VerifyResult(
            False,
            checked,
            head.seq if head.seq > last_seq else last_seq,
            f"the chain ends at event {last_seq} but its head says {head.seq}"
            " (events were deleted from the end)",
        )
    return VerifyResult(True, checked)
