"""Read models shared by the pages and the JSON API: queue, item view, audit, health, dashboard."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import ColumnElement, Date, Select, String, and_, cast, func, or_, select
from sqlalchemy.orm import Session, aliased

from classifiers.base import Label, Severity
from connectors.base import Capability
from monitor import quarantine
from monitor.alerts import policy
from monitor.alerts.queries import StateFilter, label_clause, state_clause
from monitor.models import (
    Alert,
    AlertNote,
    AuditEvent,
    Channel,
    ChannelHealth,
    ChannelState,
    Item,
    TakedownStatus,
    User,
    Verdict,
    utcnow,
)
from monitor.runtime import Runtime
from monitor.web.deps import CurrentUser, Text

PAGE_SIZE = 50
PREVIEW_CHARS = 280


def _blank_is_none(data: Any) -> Any:
    # An HTML form sends every field; an empty one means "no filter".
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if v != ""}
    return data


class QueueParams(BaseModel):
    """The queue's filters and search, as query parameters."""

    model_config = {"extra": "forbid"}
    _blank = model_validator(mode="before")(_blank_is_none)

    state: StateFilter = StateFilter.OPEN
    label: Label | None = None
    channel: Text | None = Field(default=None, max_length=64)
    platform: Text | None = Field(default=None, max_length=32)
    severity: Severity | None = None
    overdue: bool = False
    takedown_failed: bool = False
    assigned: Literal["me", "nobody"] | None = None
    queue: Text | None = Field(default=None, max_length=32)
    q: Text | None = Field(default=None, max_length=200, description="text contains")
    author: Text | None = Field(default=None, max_length=200, description="author name contains")
    page: int = Field(default=1, ge=1, le=10_000)

    @field_validator("severity")
    @classmethod
    def _an_alert_severity(cls, value: Severity | None) -> Severity | None:
        if value is not None and value not in policy.SEVERITY_ORDER:
            raise ValueError("an alert's severity is one of "
                             + ", ".join(s.value for s in policy.SEVERITY_ORDER))
        return value


class AuditParams(BaseModel):
    """The audit log's filters."""

    model_config = {"extra": "forbid"}
    _blank = model_validator(mode="before")(_blank_is_none)

    actor: Text | None = Field(default=None, max_length=64)
    action: Text | None = Field(default=None, max_length=64, description="exact or prefix.*")
    target: Text | None = Field(default=None, max_length=64, description="e.g. alert:12")
    date_from: date | None = None
    date_to: date | None = None
    q: Text | None = Field(default=None, max_length=200)
    page: int = Field(default=1, ge=1, le=100_000)


def restricted_for(viewer: CurrentUser, alert: Alert) -> bool:
    """True when the viewer may know the alert exists but not read its content."""
    return policy.is_safeguarding(alert) and not viewer.sees_safeguarding


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One audit event as the viewer may read it: no details when it is about a restricted alert."""

    seq: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    evidence_sha256: str | None
    prev_hash: str
    hash: str
    redacted: bool

    @classmethod
    def of(cls, event: AuditEvent, *, redact: bool) -> AuditLine:
        """The line for `event`; `redact` drops its details (channel, external id, notes...)."""
        return cls(seq=event.seq, at=event.at, actor=event.actor, action=event.action,
                   target_type=event.target_type, target_id=event.target_id,
                   details={} if redact else dict(event.details or {}),
                   evidence_sha256=event.evidence_sha256, prev_hash=event.prev_hash,
                   hash=event.hash, redacted=redact)


def _about_safeguarding_alert() -> ColumnElement[bool]:
    """SQL: the audit event is about a safeguarding alert."""
    return and_(AuditEvent.target_type == "alert", AuditEvent.target_id.in_(
        select(cast(Alert.id, String)).where(policy.lane_sql())))


def audit_lines(session: Session, events: Sequence[AuditEvent],
                viewer: CurrentUser) -> list[AuditLine]:
    """`events` as `viewer` may read them: safeguarding alerts' details only for the DSL."""
    if viewer.sees_safeguarding:
        return [AuditLine.of(e, redact=False) for e in events]
    alert_ids = {int(e.target_id) for e in events
                 if e.target_type == "alert" and e.target_id.isdigit()}
    restricted = {str(i) for i in session.execute(select(Alert.id).where(
        Alert.id.in_(alert_ids), policy.lane_sql())).scalars()} if alert_ids else set()
    return [AuditLine.of(e, redact=e.target_type == "alert" and e.target_id in restricted)
            for e in events]


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One line of the queue; text and author are None when the viewer may not read them."""

    id: int
    state: str
    queue: str
    severity: str
    labels: list[str]
    primary_label: str
    channel: str
    platform: str
    due_at: datetime
    created_at: datetime
    overdue: bool
    assignee: str | None
    takedown_status: str
    acknowledged: bool
    restricted: bool
    text: str | None
    author: str | None

    def as_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "id": self.id, "state": self.state, "queue": self.queue, "severity": self.severity,
            "labels": self.labels, "primary_label": self.primary_label, "channel": self.channel,
            "platform": self.platform, "due_at": self.due_at.isoformat(),
            "created_at": self.created_at.isoformat(), "overdue": self.overdue,
            "assignee": self.assignee, "takedown_status": self.takedown_status,
            "acknowledged": self.acknowledged, "restricted": self.restricted,
            "text": self.text, "author": self.author,
        }


@dataclass(frozen=True, slots=True)
class QueuePage:
    """A page of the queue."""

    rows: list[QueueRow]
    page: int
    has_next: bool


def _queue_select() -> Select[Any]:
    assignee = aliased(User)
    return (
        select(Alert.id, Alert.state, Alert.queue, Alert.severity, Alert.labels,
               Alert.primary_label, Alert.due_at, Alert.created_at, Alert.takedown_status,
               Alert.acknowledged_at, Channel.name, Channel.platform,
               assignee.username, func.substr(Item.text, 1, PREVIEW_CHARS), Item.author_name)
        .join(Item, Alert.item_id == Item.id)
        .join(Channel, Alert.channel_id == Channel.id)
        .outerjoin(assignee, Alert.assignee_id == assignee.id)
    )


def queue_page(session: Session, params: QueueParams, *, viewer: CurrentUser,
               now: datetime | None = None, page_size: int = PAGE_SIZE,
               only_safeguarding: bool = False,
               unacknowledged_first: bool = False) -> QueuePage:
    """The queue: filtered, most severe first, then the nearest deadline."""
    now = now or utcnow()
    # Two steps: find the page's alert ids using the alerts table (joined only when a filter
    # needs it), then load those few rows with their item text. The sort index then serves
    # the common case without touching 100,000 items.
    stmt: Select[Any] = select(Alert.id)
    if params.channel or params.platform:
        stmt = stmt.join(Channel, Alert.channel_id == Channel.id)
    if params.q or params.author:
        stmt = stmt.join(Item, Alert.item_id == Item.id)
    wanted = state_clause(params.state)
    if wanted is not None:
        stmt = stmt.where(wanted)
    if params.label:
        stmt = stmt.where(label_clause(params.label))
    if params.channel:
        stmt = stmt.where(Channel.name == params.channel)
    if params.platform:
        stmt = stmt.where(Channel.platform == params.platform)
    if params.severity:
        stmt = stmt.where(Alert.severity == params.severity)
    if params.overdue:
        stmt = stmt.where(policy.overdue_sql(now))
    if params.takedown_failed:
        stmt = stmt.where(Alert.takedown_status == TakedownStatus.FAILED.value)
    if params.assigned == "me":
        stmt = stmt.where(Alert.assignee_id == viewer.id)
    elif params.assigned == "nobody":
        stmt = stmt.where(Alert.assignee_id.is_(None))
    if params.queue:
        stmt = stmt.where(Alert.queue == params.queue)
    if only_safeguarding:
        stmt = stmt.where(policy.lane_sql())
    searching = bool(params.q or params.author)
    if params.q:
        stmt = stmt.where(Item.text.icontains(params.q, autoescape=True))
    if params.author:
        stmt = stmt.where(Item.author_name.icontains(params.author, autoescape=True))
    if searching and not viewer.sees_safeguarding:
        # A text search must not reveal what a restricted item says, even by matching it.
        stmt = stmt.where(~policy.lane_sql())
    if unacknowledged_first:
        stmt = stmt.order_by(Alert.acknowledged_at.is_not(None))
    stmt = (stmt.order_by(Alert.severity_rank.desc(), Alert.due_at, Alert.id)
            .offset((params.page - 1) * page_size).limit(page_size + 1))
    ids = list(session.execute(stmt).scalars())
    position = {aid: i for i, aid in enumerate(ids)}
    found = sorted(session.execute(_queue_select().where(Alert.id.in_(ids))).all(),
                   key=lambda row: position[row[0]])
    rows: list[QueueRow] = []
    for (aid, state, queue, severity, labels, primary, due_at, created_at, takedown, acked,
         channel, platform, assignee, text, author) in found:
        sg = policy.in_lane(primary_label=primary, queue=queue, labels=labels)
        restricted = sg and not viewer.sees_safeguarding
        rows.append(QueueRow(
            id=aid, state=state, queue=queue, severity=severity, labels=list(labels or []),
            primary_label=primary, channel=channel, platform=platform, due_at=due_at,
            created_at=created_at,
            overdue=policy.is_overdue(state, due_at, now),
            assignee=assignee, takedown_status=takedown, acknowledged=acked is not None,
            restricted=restricted, text=None if restricted else text,
            author=None if restricted else author,
        ))
    return QueuePage(rows=rows[:page_size], page=params.page, has_next=len(rows) > page_size)


def failed_takedowns(session: Session) -> int:
    """How many takedowns failed and are not yet resolved (shown as a banner)."""
    return int(session.execute(select(func.count()).select_from(Alert).where(
        Alert.takedown_status == TakedownStatus.FAILED.value)).scalar_one())


def filter_choices(session: Session) -> dict[str, list[str]]:
    """Values for the queue's filter menus."""
    channels = session.execute(select(Channel.name, Channel.platform).order_by(Channel.name)).all()
    return {"channels": [c for c, _p in channels],
            "platforms": sorted({p for _c, p in channels}),
            "labels": [label.value for label in Label],
            "severities": [s.value for s in policy.SEVERITY_ORDER],
            "states": [s.value for s in StateFilter]}


# --- item view -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text, highlighted when the classifier flagged it."""

    text: str
    label: str | None = None


def highlight(text: str, spans: Sequence[Any]) -> list[Segment]:
    """Split text into plain and flagged runs; bad or overlapping spans are skipped."""
    clean: list[tuple[int, int, str]] = []
    for span in spans or []:
        if not isinstance(span, dict):
            continue
        start, end = span.get("start"), span.get("end")
        if not isinstance(start, int) or not isinstance(end, int):
            continue
        start, end = max(0, start), min(len(text), end)
        if start < end:
            clean.append((start, end, str(span.get("label") or "flagged")))
    clean.sort()
    segments: list[Segment] = []
    pos = 0
    for start, end, label in clean:
        if start < pos:
            continue
        if start > pos:
            segments.append(Segment(text[pos:start]))
        segments.append(Segment(text[start:end], label))
        pos = end
    if pos < len(text) or not segments:
        segments.append(Segment(text[pos:]))
    return segments


@dataclass(frozen=True, slots=True)
class Neighbour:
    """An item near the one under review (same thread, or the same author)."""

    id: int
    kind: str
    author: str | None
    text: str | None
    created_at: datetime
    url: str | None
    alert_id: int | None
    alert_state: str | None
    restricted: bool
    is_self: bool = False

    def as_json(self) -> dict[str, Any]:
        """The API form."""
        return {"id": self.id, "kind": self.kind, "author": self.author, "text": self.text,
                "created_at": self.created_at.isoformat(), "url": self.url,
                "alert_id": self.alert_id, "alert_state": self.alert_state,
                "restricted": self.restricted, "is_self": self.is_self}


@dataclass
class AlertView:
    """Everything the item page shows; content fields are empty when restricted."""

    alert: Alert
    channel: Channel
    restricted: bool
    assignee: str | None
    acknowledged_by: str | None
    item: Item | None = None
    verdict: Verdict | None = None
    segments: list[Segment] = field(default_factory=list)
    parent: Neighbour | None = None
    thread: list[Neighbour] = field(default_factory=list)
    history: list[Neighbour] = field(default_factory=list)
    notes: list[AlertNote] = field(default_factory=list)
    audit: list[AuditLine] = field(default_factory=list)
    capabilities: list[Capability] = field(default_factory=list)
    connector_missing: bool = False
    safeguarding: bool = False

    def as_json(self) -> dict[str, Any]:
        """The API form (no content when restricted)."""
        a = self.alert
        data: dict[str, Any] = {
            "id": a.id, "state": a.state, "queue": a.queue, "severity": a.severity,
            "labels": a.labels, "primary_label": a.primary_label, "channel": self.channel.name,
            "platform": self.channel.platform, "due_at": a.due_at.isoformat(),
            "created_at": a.created_at.isoformat(), "assignee": self.assignee,
            "resolution": a.resolution, "escalated_to": a.escalated_to,
            "takedown": {"action": a.takedown_action, "status": a.takedown_status,
                         "error": a.takedown_error,
                         "verified_at": a.verified_at.isoformat() if a.verified_at else None},
            "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
            "acknowledged_by": self.acknowledged_by, "restricted": self.restricted,
            "safeguarding": self.safeguarding,
            "audit": [{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor,
                       "action": e.action, "details": e.details, "redacted": e.redacted}
                      for e in self.audit],
            "capabilities": [{"action": c.action.value, "effect": c.effect}
                             for c in self.capabilities],
        }
        if self.restricted or self.item is None:
            return data
        item = self.item
        data.update({
            "item": {"id": item.id, "external_id": item.external_id, "kind": item.kind,
                     "author": item.author_name, "author_id": item.author_id, "text": item.text,
                     "url": safe_url(item.url), "created_at": item.created_at.isoformat()},
            "spans": [{"text": s.text, "label": s.label} for s in self.segments if s.label],
            "reasons": list(self.verdict.reasons) if self.verdict else [],
            "scores": dict(self.verdict.scores) if self.verdict else {},
            "model_version": self.verdict.model_version if self.verdict else None,
            "parent": self.parent.as_json() if self.parent else None,
            "thread": [n.as_json() for n in self.thread],
            "author_history": [n.as_json() for n in self.history],
            "notes": [{"author": n.author, "body": n.body, "created_at": n.created_at.isoformat()}
                      for n in self.notes],
        })
        return data


def safe_url(url: str | None) -> str | None:
    """Only http(s) links are rendered (never javascript: or data:)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _neighbours(session: Session, where: ColumnElement[bool], *, viewer: CurrentUser,
                order: Any, limit: int, self_id: int | None = None) -> list[Neighbour]:
    stmt = (select(Item.id, Item.kind, Item.author_name, func.substr(Item.text, 1, 500),
                   Item.created_at, Item.url, Alert.id, Alert.state, Alert.primary_label,
                   Alert.queue, Alert.labels)
            .outerjoin(Alert, Alert.item_id == Item.id).where(where).order_by(order).limit(limit))
    out = []
    for (iid, kind, author, text, created, url, aid, astate, primary, queue,
         labels) in session.execute(stmt):
        sg = policy.in_lane(primary_label=primary, queue=queue, labels=labels)
        restricted = sg and not viewer.sees_safeguarding
        out.append(Neighbour(id=iid, kind=kind, author=None if restricted else author,
                             text=None if restricted else text, created_at=created,
                             url=safe_url(url), alert_id=aid, alert_state=astate,
                             restricted=restricted, is_self=iid == self_id))
    return out


def alert_view(session: Session, runtime: Runtime, *, alert_id: int,
               viewer: CurrentUser) -> AlertView:
    """The item page's data; raises monitor.alerts.NotFound."""
    from monitor.alerts import get

    alert = get(session, alert_id)
    channel = session.get_one(Channel, alert.channel_id)
    names = dict(session.execute(select(User.id, User.username).where(
        User.id.in_([i for i in (alert.assignee_id, alert.acknowledged_by) if i]))).all())
    view = AlertView(alert=alert, channel=channel, restricted=restricted_for(viewer, alert),
                     assignee=names.get(alert.assignee_id) if alert.assignee_id else None,
                     acknowledged_by=(names.get(alert.acknowledged_by)
                                      if alert.acknowledged_by else None),
                     safeguarding=policy.is_safeguarding(alert))
    # A restricted alert's events keep who and when, not their details: those name the
    # platform item (external id), the channel and what was noted.
    view.audit = [AuditLine.of(e, redact=view.restricted) for e in session.execute(
        select(AuditEvent).where(AuditEvent.target_type == "alert",
                                 AuditEvent.target_id == str(alert.id))
        .order_by(AuditEvent.seq)).scalars()]
    connector = runtime.connectors.get(channel.name)
    if connector is None:
        view.connector_missing = True
    else:
        view.capabilities = list(connector.capabilities())
    if view.restricted:
        return view
    item = session.get_one(Item, alert.item_id)
    view.item = item
    view.verdict = session.get(Verdict, alert.verdict_id)
    view.segments = highlight(item.text, view.verdict.spans if view.verdict else [])
    if item.parent_id:
        parents = _neighbours(session, and_(Item.platform == item.platform,
                                            Item.external_id == item.parent_id),
                              viewer=viewer, order=Item.id, limit=1)
        view.parent = parents[0] if parents else None
    if item.thread_id:
        same_thread = and_(Item.platform == item.platform, Item.thread_id == item.thread_id,
                           Item.external_id != (item.parent_id or ""))
        before = _neighbours(session, and_(same_thread, Item.created_at <= item.created_at,
                                           Item.id != item.id),
                             viewer=viewer, order=Item.created_at.desc(), limit=4)
        after = _neighbours(session, and_(same_thread, Item.created_at > item.created_at),
                            viewer=viewer, order=Item.created_at, limit=4)
        me = Neighbour(id=item.id, kind=item.kind, author=item.author_name, text=item.text,
                       created_at=item.created_at, url=safe_url(item.url), alert_id=alert.id,
                       alert_state=alert.state, restricted=False, is_self=True)
        view.thread = [*reversed(before), me, *after]
    if item.author_id:
        view.history = _neighbours(
            session, and_(Item.platform == item.platform, Item.author_id == item.author_id,
                          Item.id != item.id, Item.created_at <= item.created_at),
            viewer=viewer, order=Item.created_at.desc(), limit=10)
    view.notes = list(session.execute(select(AlertNote).where(AlertNote.alert_id == alert.id)
                                      .order_by(AlertNote.id)).scalars())
    return view


# --- oversight ---------------------------------------------------------------------------------


AUDIT_PAGE = 100


def _audit_select(params: AuditParams, viewer: CurrentUser) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if params.actor:
        stmt = stmt.where(AuditEvent.actor == params.actor)
    if params.action:
        if params.action.endswith("*"):
            stmt = stmt.where(AuditEvent.action.startswith(params.action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == params.action)
    if params.target:
        kind, _, ident = params.target.partition(":")
        stmt = stmt.where(AuditEvent.target_type == kind)
        if ident:
            stmt = stmt.where(AuditEvent.target_id == ident)
    if params.date_from:
        stmt = stmt.where(AuditEvent.at >= _day_start(params.date_from))
    if params.date_to:
        stmt = stmt.where(AuditEvent.at < _day_start(params.date_to) + timedelta(days=1))
    if params.q:
        in_details: ColumnElement[bool] = cast(AuditEvent.details, String).icontains(
            params.q, autoescape=True)
        if not viewer.sees_safeguarding:
            # Searching details the viewer may not read would reveal them by matching.
            in_details = and_(in_details, ~_about_safeguarding_alert())
        stmt = stmt.where(or_(AuditEvent.action.icontains(params.q, autoescape=True),
                              AuditEvent.actor.icontains(params.q, autoescape=True),
                              AuditEvent.target_id == params.q, in_details))
    return stmt


def _day_start(day: date) -> datetime:
    from datetime import UTC

    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def audit_page(session: Session, params: AuditParams,
               viewer: CurrentUser) -> tuple[list[AuditLine], bool]:
    """A page of audit events as `viewer` may read them, newest first."""
    rows = list(session.execute(
        _audit_select(params, viewer).order_by(AuditEvent.seq.desc())
        .offset((params.page - 1) * AUDIT_PAGE).limit(AUDIT_PAGE + 1)).scalars())
    return audit_lines(session, rows[:AUDIT_PAGE], viewer), len(rows) > AUDIT_PAGE


def audit_batches(session: Session, params: AuditParams, viewer: CurrentUser,
                  batch: int = 2000) -> Iterator[list[AuditLine]]:
    """Every matching event in seq order, a batch at a time (for the CSV export)."""
    last = 0
    while True:
        rows = list(session.execute(
            _audit_select(params, viewer).where(AuditEvent.seq > last)
            .order_by(AuditEvent.seq).limit(batch)).scalars())
        if not rows:
            return
        yield audit_lines(session, rows, viewer)
        last = rows[-1].seq


def audit_json(event: AuditLine) -> dict[str, Any]:
    """The API form of one event."""
    return {"seq": event.seq, "at": event.at.isoformat(), "actor": event.actor,
            "action": event.action, "target_type": event.target_type,
            "target_id": event.target_id, "details": event.details,
            "redacted": event.redacted, "evidence_sha256": event.evidence_sha256,
            "hash": event.hash}


def channel_health(session: Session, runtime: Runtime) -> list[dict[str, Any]]:
    """Each channel's last poll, last error, rate-limit state and whether it needs re-auth."""
    rows = session.execute(select(Channel, ChannelState)
                           .outerjoin(ChannelState, ChannelState.channel_id == Channel.id)
                           .order_by(Channel.name)).all()
    quarantined = quarantine.counts_by_channel(session)
    out = []
    for channel, state in rows:
        health = state.health if state else ChannelHealth.NEW
        out.append({
            "name": channel.name, "platform": channel.platform, "enabled": channel.enabled,
            "configured": channel.name in runtime.connectors,
            "health": str(health),
            "needs_reauth": health == ChannelHealth.NEEDS_REAUTH,
            "rate_limited": health == ChannelHealth.RATE_LIMITED,
            "last_poll_at": _iso(state.last_poll_at if state else None),
            "last_success_at": _iso(state.last_success_at if state else None),
            "last_error": state.last_error if state else None,
            "last_error_at": _iso(state.last_error_at if state else None),
            "next_poll_at": _iso(state.next_poll_at if state else None),
            "consecutive_failures": state.consecutive_failures if state else 0,
            "items_total": state.items_total if state else 0,
            "quarantined": quarantined.get(channel.id, 0),
        })
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _day(session: Session, column: Any) -> Any:
    # SQLite's CAST(... AS DATE) yields a number; its date() gives the ISO day.
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column)
    return cast(column, Date)


def _percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def dashboard(session: Session, *, days: int = 14, now: datetime | None = None) -> dict[str, Any]:
    """Flags by label and channel per day, time to action and deadlines met."""
    now = now or utcnow()
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day_keys = [(since + timedelta(days=i)).date().isoformat() for i in range(days)]
    day = _day(session, Alert.created_at)
    by_label: dict[str, dict[str, int]] = defaultdict(dict)
    for d, label, n in session.execute(
            select(day, Alert.primary_label, func.count()).where(Alert.created_at >= since)
            .group_by(day, Alert.primary_label)):
        by_label[label][str(d)[:10]] = int(n)
    by_channel: dict[str, dict[str, int]] = defaultdict(dict)
    for d, name, n in session.execute(
            select(day, Channel.name, func.count()).join(Channel, Alert.channel_id == Channel.id)
            .where(Alert.created_at >= since).group_by(day, Channel.name)):
        by_channel[name][str(d)[:10]] = int(n)
    window = now - timedelta(days=30)
    minutes: dict[str, list[float]] = defaultdict(list)
    met: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for severity, created, resolved, due in session.execute(
            select(Alert.severity, Alert.created_at, Alert.resolved_at, Alert.due_at)
            .where(Alert.resolved_at.is_not(None), Alert.resolved_at >= window)):
        if resolved is None:
            continue
        minutes[severity].append((resolved - created).total_seconds() / 60)
        met[severity][0] += int(policy.in_time(due, resolved))
        met[severity][1] += 1
    overdue_open = int(session.execute(select(func.count()).select_from(Alert).where(
        policy.overdue_sql(now))).scalar_one())
    open_total = int(session.execute(select(func.count()).select_from(Alert).where(
        policy.open_sql())).scalar_one())
    severities = [s.value for s in policy.SEVERITY_ORDER]
    return {
        "days": day_keys,
        "by_label": {k: [v.get(d, 0) for d in day_keys] for k, v in sorted(by_label.items())},
        "by_channel": {k: [v.get(d, 0) for d in day_keys] for k, v in sorted(by_channel.items())},
        "time_to_action_minutes": {
            sev: {"count": len(vals), "median": _percentile(vals, 50),
                  "p90": _percentile(vals, 90)}
            for sev in severities if (vals := sorted(minutes.get(sev, [])))},
        "deadlines_met": {sev: {"met": met[sev][0], "total": met[sev][1],
                                "ratio": met[sev][0] / met[sev][1]}
                          for sev in severities if met.get(sev, [0, 0])[1]},
        "open": open_total,
        "overdue_open": overdue_open,
    }
