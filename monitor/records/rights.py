"""People's rights for an author on a platform: export everything socmon holds about them,
and erase it, except what a legal hold or an unsigned safeguarding record keeps. Both audited
with ids and hashes only.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.alerts import policy
from monitor.models import (
    Alert,
    AlertNote,
    AuditEvent,
    Channel,
    Evidence,
    HoldScope,
    Item,
    LegalHold,
    Redaction,
    Verdict,
    utcnow,
)
from monitor.people.roles import Permission, Role, may
from monitor.records import redact, reviews
from monitor.records.errors import NotAllowed, RecordsError
from monitor.records.holds import Held, author_key

ERASED = "erased"
KEPT_SAFEGUARDING = "kept: safeguarding record awaiting DSL sign-off"


def kept_by_hold(hold_id: int) -> str:
    """The outcome of an item a legal hold keeps."""
    return f"kept: legal hold #{hold_id}"


def _subject(role: Role, actor: str, platform: str, author_id: str) -> tuple[str, str]:
    if not may(role, Permission.PEOPLES_RIGHTS):
        raise NotAllowed(f"{actor} ({role.value}) may not export or erase people's data")
    platform, author_id = (platform or "").strip(), (author_id or "").strip()
    if not platform or not author_id:
        raise RecordsError("name the person by platform and author id (both are needed)")
    return platform, author_id


def _items(session: Session, platform: str, author_id: str) -> list[tuple[Item, Alert | None]]:
    rows = session.execute(
        select(Item, Alert).outerjoin(Alert, Alert.item_id == Item.id)
        .where(Item.platform == platform, Item.author_id == author_id).order_by(Item.id)).all()
    return [(item, alert) for item, alert in rows]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _snapshot(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _item_record(session: Session, item: Item, alert: Alert | None,
                 channels: dict[int, str]) -> dict[str, Any]:
    verdicts = session.execute(select(Verdict).where(Verdict.item_id == item.id)
                               .order_by(Verdict.id)).scalars()
    record: dict[str, Any] = {
        "item_id": item.id, "channel": channels.get(item.channel_id),
        "platform": item.platform, "external_id": item.external_id, "kind": item.kind,
        "author_id": item.author_id, "author_name": item.author_name, "text": item.text,
        "url": item.url, "created_at": _iso(item.created_at), "fetched_at": _iso(item.fetched_at),
        "raw": item.raw,
        "verdicts": [{"id": v.id, "model_version": v.model_version, "labels": v.labels,
                      "scores": v.scores, "severity": v.severity, "reasons": v.reasons,
                      "created_at": _iso(v.created_at)} for v in verdicts],
        "evidence": [{"id": e.id, "captured_at": _iso(e.captured_at), "sha256": e.sha256,
                      "snapshot": _snapshot(e.snapshot)}
                     for e in session.execute(select(Evidence).where(Evidence.item_id == item.id)
                                              .order_by(Evidence.id)).scalars()],
        "alert": None,
    }
    if alert is not None:
        notes = session.execute(select(AlertNote).where(AlertNote.alert_id == alert.id)
                                .order_by(AlertNote.id)).scalars()
        record["alert"] = {
            "id": alert.id, "labels": alert.labels, "severity": alert.severity,
            "state": alert.state, "queue": alert.queue,
            "safeguarding": policy.is_safeguarding(alert),
            "created_at": _iso(alert.created_at), "resolved_at": _iso(alert.resolved_at),
            "resolution": alert.resolution, "resolution_note": alert.resolution_note,
            "takedown": alert.takedown_action, "takedown_status": alert.takedown_status,
            "notes": [{"id": n.id, "author": n.author, "body": n.body,
                       "created_at": _iso(n.created_at)} for n in notes],
        }
    return record


def export_author(session: Session, *, platform: str, author_id: str, actor: str, role: Role,
                  now: datetime | None = None) -> dict[str, Any]:
    """Everything socmon holds about the author, as one JSON-ready document (audited)."""
    platform, author_id = _subject(role, actor, platform, author_id)
    when = now or utcnow()
    channels = {cid: name for cid, name in session.execute(select(Channel.id, Channel.name))}
    pairs = _items(session, platform, author_id)
    alert_ids = [str(alert.id) for _, alert in pairs if alert is not None]
    key = author_key(platform, author_id)
    events = session.execute(select(AuditEvent).where(or_(
        (AuditEvent.target_type == "alert") & AuditEvent.target_id.in_(alert_ids),
        (AuditEvent.target_type == "author") & (AuditEvent.target_id == key),
    )).order_by(AuditEvent.seq)).scalars()
    holds = session.execute(select(LegalHold).where(or_(
        (LegalHold.scope == HoldScope.AUTHOR) & (LegalHold.platform == platform)
        & (LegalHold.author_id == author_id),
        LegalHold.alert_id.in_([int(a) for a in alert_ids]),
    )).order_by(LegalHold.id)).scalars()
    document: dict[str, Any] = {
        "subject": {"platform": platform, "author_id": author_id},
        "generated_at": when.isoformat(), "generated_by": actor,
        "note": "Safeguarding records may be exempt from disclosure: the DPO decides what "
                "of this export is sent (docs/records.md).",
        "items": [_item_record(session, item, alert, channels) for item, alert in pairs],
        "legal_holds": [{"id": h.id, "scope": h.scope, "alert_id": h.alert_id,
                         "set_at": _iso(h.set_at), "released_at": _iso(h.released_at)}
                        for h in holds],
        "audit_events": [{"seq": e.seq, "at": _iso(e.at), "actor": e.actor, "action": e.action,
                          "target_type": e.target_type, "target_id": e.target_id,
                          "details": e.details} for e in events],
    }
    audit.record(session, actor=actor, action="people.export", target_type="author",
                 target_id=key, details={
                     "items": len(document["items"]),
                     "export_sha256": audit.sha256_hex(audit.canonical_json(document))},
                 at=when)
    return document


@dataclass
class Erasure:
    """What an erasure did to each of the author's items, and the redactions it made."""

    run: str
    outcomes: dict[int, str] = field(default_factory=dict)
    removed: dict[str, list[int]] = field(default_factory=dict)
    audit_seq: int | None = None

    def erased(self) -> list[int]:
        """The items whose content went."""
        return [i for i, outcome in self.outcomes.items() if outcome == ERASED]

    def kept(self) -> dict[int, str]:
        """The items kept, with why."""
        return {i: o for i, o in self.outcomes.items() if o != ERASED}


def plan_erasure(session: Session, platform: str, author_id: str) -> dict[int, str]:
    """What erasing the author would do to each of their items (changes nothing)."""
    held = Held.load(session)
    outcomes: dict[int, str] = {}
    for item, alert in _items(session, platform, author_id):
        hold = held.hold_for(item, alert.id if alert else None)
        if hold is not None:
            outcomes[item.id] = kept_by_hold(hold)
        elif (alert is not None and policy.is_safeguarding(alert)
              and not reviews.is_signed_off(session, alert.id)):
            outcomes[item.id] = KEPT_SAFEGUARDING
        else:
            outcomes[item.id] = ERASED
    return outcomes


def erase_author(session: Session, *, platform: str, author_id: str, actor: str, role: Role,
                 now: datetime | None = None) -> Erasure:
    """Erase the author's items, evidence, notes and the details of audit events about them,
    except items a legal hold or an unsigned safeguarding record keeps (never commits)."""
    platform, author_id = _subject(role, actor, platform, author_id)
    when = now or utcnow()
    result = Erasure(run=uuid.uuid4().hex, outcomes=plan_erasure(session, platform, author_id))
    removed = redact.redact_items(session, result.erased(), cause=redact.ERASURE,
                                  run=result.run, now=when, with_audit=True)
    # Already purged items count as erased but carry no new redaction: say so by kind.
    result.removed = {kind: ids for kind, ids in removed.items() if ids}
    kept = result.kept()
    event = audit.record(session, actor=actor, action="people.erase", target_type="author",
                         target_id=author_key(platform, author_id), details={
                             "run": result.run,
                             "erased_items": result.erased(),
                             "kept_items": {str(i): why for i, why in kept.items()},
                             "counts": {k: len(v) for k, v in result.removed.items()},
                             "ids_sha256": {k: redact.ids_digest(v)
                                            for k, v in result.removed.items()},
                         }, at=when)
    result.audit_seq = event.seq
    return result


def redactions_of(session: Session, run: str) -> dict[str, list[int]]:
    """The redactions one purge run or erasure made, by kind (to check its audit event)."""
    out: dict[str, list[int]] = {}
    for kind, row_id in session.execute(select(Redaction.kind, Redaction.row_id)
                                        .where(Redaction.run == run)):
        out.setdefault(kind, []).append(row_id)
    return {k: sorted(v) for k, v in out.items()}
