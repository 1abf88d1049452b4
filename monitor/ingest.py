"""Ingest: store a page of new items, classify them, open alerts and save the cursor, atomically."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from classifiers.base import Classifier, Verdict, make_verdict
from classifiers.org_rules import classify_authored
from config.settings import Routing
from connectors.base import Item as FetchedItem
from connectors.base import Unreadable
from monitor import audit, consent, evidence, outbox
from monitor.models import (
    SEVERITY_RANK,
    Alert,
    Channel,
    ChannelState,
    Item,
    QuarantineStage,
)
from monitor.models import Verdict as VerdictRow
from monitor.quarantine import quarantine, set_aside_unreadable
from monitor.routing import Route, route
from monitor.sqlutil import insert_ignoring_conflicts
from monitor.storable import MAX_TEXT, storable_item

log = logging.getLogger(__name__)

NOTIFY_KIND = "notify"


@dataclass
class PageResult:
    """What one page added."""

    fetched: int = 0
    new_items: int = 0
    alerts: int = 0
    quarantined: int = 0
    by_label: Counter[str] = field(default_factory=Counter)

    def add(self, other: PageResult) -> None:
        """Accumulate another page's figures."""
        self.fetched += other.fetched
        self.new_items += other.new_items
        self.alerts += other.alerts
        self.quarantined += other.quarantined
        self.by_label.update(other.by_label)


@dataclass(frozen=True)
class Classified:
    """A batch's verdicts, and which of them stand for a failure of the classifier."""

    verdicts: list[Verdict]
    failed: dict[int, str] = field(default_factory=dict)


def classify_safely(classifier: Classifier, texts: Sequence[str],
                    authors: Sequence[tuple[str, str] | None] | None = None) -> Classified:
    """Classify a batch; a text the classifier chokes on gets an error verdict, never a loss.

    `authors` ((platform, author id) per text) lets the organisation's author rules apply.
    """
    try:
        if authors is not None:
            return Classified(classify_authored(classifier, texts, authors))
        return Classified(classifier.classify(texts))
    except Exception:
        log.exception("classifier failed on a batch of %d; retrying one by one", len(texts))
    verdicts: list[Verdict] = []
    failed: dict[int, str] = {}
    try:
        version = classifier.version
    except Exception:
        version = "unknown"
    for i, text in enumerate(texts):
        try:
            verdicts.extend(classifier.classify([text]))
        except Exception as exc:
            failed[i] = f"classifier error: {type(exc).__name__}"
            verdicts.append(
                make_verdict(
                    [], {}, reasons=[failed[i]], model_version=f"{version}+error"
                )
            )
    return Classified(verdicts, failed)


def _item_row(channel_id: int, item: FetchedItem, now: datetime) -> dict[str, Any]:
    return {
        "channel_id": channel_id,
        "platform": item.platform,
        "external_id": item.external_id[:255],
        "kind": item.kind.value,
        "parent_id": (item.parent_id or None) and item.parent_id[:255],
        "thread_id": (item.thread_id or None) and item.thread_id[:255],
        "author_id": (item.author_id or None) and item.author_id[:255],
        "author_name": (item.author_name or None) and item.author_name[:255],
        "text": item.text[:MAX_TEXT],
        "url": item.url,
        "is_own": item.is_own,
        "created_at": item.created_at,
        "fetched_at": now,
        "raw": dict(item.raw),
    }


def store_items(
    session: Session, *, channel_id: int, items: Sequence[FetchedItem], now: datetime
) -> tuple[dict[str, int], int]:
    """Insert items not seen before: external id -> row id of the new ones, and how many
    could not be stored and were quarantined instead (see `quarantine`)."""
    unique: dict[tuple[str, str], FetchedItem] = {}
    for item in items:
        unique.setdefault((item.platform, item.external_id), item)
    if not unique:
        return {}, 0
    stmt = insert_ignoring_conflicts(session, Item, ["platform", "external_id"]).returning(
        Item.id, Item.external_id
    )
    rows = [_item_row(channel_id, item, now) for item in unique.values()]
    try:
        with session.begin_nested():
            return {
                external_id: item_id for item_id, external_id in session.execute(stmt, rows)
            }, 0
    except (SQLAlchemyError, ValueError) as exc:
        # One bad item must not cost the page: find it, set it aside, store the rest.
        log.warning(
            "channel %d: a page of %d items failed to store together (%s); storing one by one",
            channel_id, len(rows), type(exc).__name__,
        )
    stored: dict[str, int] = {}
    set_aside = 0
    for item, row in zip(unique.values(), rows, strict=True):
        try:
            with session.begin_nested():
                stored.update(
                    (external_id, item_id)
                    for item_id, external_id in session.execute(stmt, [row])
                )
        except (SQLAlchemyError, ValueError) as exc:
            quarantine(session, channel_id=channel_id, item=item, stage=QuarantineStage.STORE,
                       reason=f"could not be stored: {failure_kind(exc)}", now=now)
            set_aside += 1
    return stored, set_aside


def failure_kind(exc: BaseException) -> str:
    """The kind of a failure, without its message (which may quote a comment or an author)."""
    cause = getattr(exc, "orig", None) or exc.__cause__
    return type(exc).__name__ + (f" ({type(cause).__name__})" if cause is not None else "")


def ingest_page(
    session: Session,
    *,
    channel: Channel,
    items: Sequence[FetchedItem],
    classifier: Classifier,
    routing: Routing,
    now: datetime,
    unreadable: Sequence[Unreadable] = (),
) -> PageResult:
    """Store, classify and route one page inside the caller's transaction (never commits);
    set aside the page's `unreadable` entries."""
    result = PageResult(fetched=len(items))
    set_aside = sum(
        set_aside_unreadable(session, channel_id=channel.id, platform=channel.platform,
                             entry=entry, now=now)
        for entry in unreadable
    )
    items = [storable_item(item) for item in items]
    new_ids, result.quarantined = store_items(
        session, channel_id=channel.id, items=items, now=now
    )
    result.quarantined += set_aside
    if not new_ids:
        return result
    result.new_items = len(new_ids)
    # A page may repeat an id; keep the first occurrence, as the insert did.
    firsts = {item.external_id: item for item in reversed(items)}
    fresh = [firsts[external_id] for external_id in new_ids]
    classified = classify_safely(
        classifier, [item.text[:MAX_TEXT] for item in fresh],
        [(item.platform, item.author_id) if item.author_id else None for item in fresh])
    # The organisation's own posts naming a child whose photo consent is withdrawn.
    verdicts = consent.flag_own_posts(session, fresh, classified.verdicts)
    for i, reason in classified.failed.items():
        quarantine(session, channel_id=channel.id, item=fresh[i],
                   stage=QuarantineStage.CLASSIFY, reason=reason, now=now,
                   item_id=new_ids[fresh[i].external_id])
    result.quarantined += len(classified.failed)

    verdict_rows = [
        {
            "item_id": new_ids[item.external_id],
            "model_version": verdict.model_version[:64],
            "labels": [label.value for label in verdict.labels],
            "scores": {label.value: float(score) for label, score in verdict.scores.items()},
            "spans": [span.to_dict() for span in verdict.spans],
            "reasons": list(verdict.reasons),
            "severity": verdict.severity.value,
            "created_at": now,
        }
        for item, verdict in zip(fresh, verdicts, strict=True)
    ]
    verdict_ids = list(
        session.execute(
            insert(VerdictRow).returning(VerdictRow.id, sort_by_parameter_order=True), verdict_rows
        ).scalars()
    )

    flagged: list[tuple[FetchedItem, Verdict, int, Route]] = []
    for item, verdict, verdict_id in zip(fresh, verdicts, verdict_ids, strict=True):
        decided = route(routing, verdict, now=now)
        if decided is not None:
            flagged.append((item, verdict, verdict_id, decided))
    if flagged:
        _open_alerts(
            session, channel=channel, flagged=flagged, new_ids=new_ids, now=now, result=result
        )
    return result


def _open_alerts(
    session: Session,
    *,
    channel: Channel,
    flagged: list[tuple[FetchedItem, Verdict, int, Route]],
    new_ids: dict[str, int],
    now: datetime,
    result: PageResult,
) -> None:
    rows = [
        {
            "item_id": new_ids[item.external_id],
            "verdict_id": verdict_id,
            "channel_id": channel.id,
            "queue": decided.queue,
            "labels": [label.value for label in verdict.labels],
            "primary_label": decided.primary_label.value,
            "severity": decided.severity.value,
            "severity_rank": SEVERITY_RANK[decided.severity.value],
            "state": "new",
            "created_at": now,
            "updated_at": now,
            "due_at": decided.due_at,
            "takedown_status": "none",
        }
        for item, verdict, verdict_id, decided in flagged
    ]
    stmt = insert_ignoring_conflicts(session, Alert, ["item_id"]).returning(Alert.id, Alert.item_id)
    opened = {item_id: alert_id for alert_id, item_id in session.execute(stmt, rows)}
    stored = {
        row.id: row
        for row in session.execute(select(Item).where(Item.id.in_(list(opened)))).scalars()
    }
    events: list[audit.NewEvent] = []
    for _item, verdict, _verdict_id, decided in flagged:
        item_id = new_ids[_item.external_id]
        alert_id = opened.get(item_id)
        if alert_id is None:
            continue
        snap = evidence.preserve(
            session, item=stored[item_id], channel_name=channel.name, alert_id=alert_id, now=now
        )
        events.append(
            audit.NewEvent(
                actor="system",
                action="alert.open",
                target_type="alert",
                target_id=alert_id,
                details={
                    "channel": channel.name,
                    "platform": _item.platform,
                    "external_id": _item.external_id,
                    "labels": [label.value for label in verdict.labels],
                    "severity": decided.severity.value,
                    "queue": decided.queue,
                    "model_version": verdict.model_version,
                },
                evidence_sha256=snap.sha256,
            )
        )
        result.alerts += 1
        result.by_label.update(label.value for label in verdict.labels)
        if decided.notify and decided.severity.rank >= 3:
            outbox.enqueue(
                session,
                kind=NOTIFY_KIND,
                payload={
                    "alert_id": alert_id,
                    "roles": [r.value for r in decided.notify],
                    "queue": decided.queue,
                    "label": decided.primary_label.value,
                },
                dedupe_key=f"notify:alert:{alert_id}",
            )
    # One append for the page: the chain's head is locked once, not once per alert.
    audit.record_many(session, events, at=now)


def save_cursor(
    session: Session, *, state: ChannelState, cursor_json: str, now: datetime, new_items: int
) -> None:
    """Record progress in the same transaction as the page it follows."""
    state.cursor = cursor_json
    state.last_poll_at = now
    state.items_total = (state.items_total or 0) + new_items
