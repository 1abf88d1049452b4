"""SQLAlchemy 2.0 typed models: channels, items, verdicts, alerts, audit, users, outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from classifiers.base import Severity


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite drops the zone; we put UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what SQLite returns naive."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with JSON mapped to the dialect's JSON type."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UTCDateTime,
    }


class ChannelHealth(StrEnum):
    """How a channel's polling is going."""

    NEW = "new"
    OK = "ok"
    DEGRADED = "degraded"
    RATE_LIMITED = "rate_limited"
    NEEDS_REAUTH = "needs_reauth"
    ERROR = "error"


class AlertState(StrEnum):
    """Where an alert is in the moderators' workflow."""

    NEW = "new"
    IN_REVIEW = "in_review"
    ACTIONED = "actioned"
    DISMISSED = "dismissed"
    ESCALATED = "escalated"


class TakedownStatus(StrEnum):
    """Progress of a hide or delete on the platform."""

    NONE = "none"
    PENDING = "pending"
    DONE = "done"
    VERIFIED = "verified"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    """Progress of a side effect queued after commit."""

    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


class Channel(Base):
    """A configured official channel."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    state: Mapped[ChannelState] = relationship(back_populates="channel", uselist=False)


class ChannelState(Base):
    """A channel's cursor, health and polling schedule, and the lease of the replica polling it."""

    __tablename__ = "channel_state"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    health: Mapped[ChannelHealth] = mapped_column(String(20), default=ChannelHealth.NEW)
    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    items_total: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]

    channel: Mapped[Channel] = relationship(back_populates="state")


class Item(Base):
    """A post, comment or reply as fetched; unique on platform + external id."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_items_platform_external_id"),
        Index("ix_items_channel_created", "channel_id", "created_at"),
        Index("ix_items_author", "platform", "author_id"),
        Index("ix_items_thread", "platform", "thread_id"),
        # Covering index for "items scanned per channel in a week" (the digest).
        Index("ix_items_fetched_channel", "fetched_at", "channel_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(String(255))
    thread_id: Mapped[str | None] = mapped_column(String(255))
    author_id: Mapped[str | None] = mapped_column(String(255))
    author_name: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    is_own: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    verdicts: Mapped[list[Verdict]] = relationship(back_populates="item")


class QuarantineStage(StrEnum):
    """Where an item failed: it could not be read as an item (the platform sent it
    malformed), could not be stored, or was stored but not classified."""

    STORE = "store"
    CLASSIFY = "classify"
    READ = "read"


class QuarantinedItem(Base):
    """An item that could not be read, stored or classified, kept so nobody loses sight of it.

    The rest of its page goes on; the item's whole payload stays here as ASCII-escaped JSON,
    which both databases accept whatever the platform sent.
    """

    __tablename__ = "quarantined_items"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", "stage", name="uq_quarantine_item_stage"),
        Index("ix_quarantine_channel", "channel_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    stage: Mapped[QuarantineStage] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Verdict(Base):
    """What a classifier said about an item, with the model version that said it."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    spans: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    severity: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship(back_populates="verdicts")


class Alert(Base):
    """A flagged item waiting for, or handled by, a person. One per item."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_queue_state", "state", "severity_rank", "due_at"),
        Index("ix_alerts_due", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), unique=True)
    verdict_id: Mapped[int] = mapped_column(ForeignKey("verdicts.id"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    queue: Mapped[str] = mapped_column(String(32), index=True)
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    primary_label: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    #: 3 critical, 2 high, 1 low: sortable
    severity_rank: Mapped[int] = mapped_column(Integer)
    state: Mapped[AlertState] = mapped_column(String(16), default=AlertState.NEW)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    escalated_to: Mapped[str | None] = mapped_column(String(32))
    overdue_escalated_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    takedown_action: Mapped[str | None] = mapped_column(String(16))
    takedown_status: Mapped[TakedownStatus] = mapped_column(String(16), default=TakedownStatus.NONE)
    takedown_error: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None]

    item: Mapped[Item] = relationship()
    verdict: Mapped[Verdict] = relationship()
    channel: Mapped[Channel] = relationship()


class AlertNote(Base):
    """A moderator's note on an alert (also recorded in the audit trail)."""

    __tablename__ = "alert_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Evidence(Base):
    """A snapshot of an item taken at detection, so evidence survives the author deleting it."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: canonical JSON of the snapshot; `sha256` is its digest
    snapshot: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """One append-only, hash-chained record of something that happened."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the details' canonical JSON; the chain covers it, so the details can be
    #: redacted when their time is up (NULL: an event written before, hashed with its details)
    details_sha256: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_target", "target_type", "target_id"),)


class AuditHead(Base):
    """The chain's tip: one row, locked while appending so concurrent writers cannot fork it."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class User(Base):
    """A person who signs in to the web UI or acts through the CLI."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    email: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class ProtectedName(Base):
    """An entry of the register of protected names (pupils, service users)."""

    __tablename__ = "protected_names"
    __table_args__ = (UniqueConstraint("first_name", "last_name", name="uq_protected_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_name: Mapped[str] = mapped_column(String(128))
    last_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32), default="pupil")
    aliases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the family withdrew photo consent: the organisation's own posts must not name them
    photo_consent_withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)


class OutboxEntry(Base):
    """A side effect (takedown, verification, notification, digest) done after commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: a second entry with the same key is not queued (notification de-duplication)
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]


class DigestRun(Base):
    """One weekly digest for one recipient list: the unique key makes sending exactly-once."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("week", "recipients_key", name="uq_digest_week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(10))
    recipients_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class ModelVersion(Base):
    """A trained classifier model; one is active, promotions and rollbacks are audited."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None]


class Setting(Base):
    """Small persistent key/values the daemon needs across restarts (e.g. the web secret)."""

    __tablename__ = "settings_kv"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RemovalStatus(StrEnum):
    """Where a removal request is: still to be taken down, or gone (verified or confirmed)."""

    OPEN = "open"
    DONE = "done"


class RemovalTarget(StrEnum):
    """What a removal request points at: an item on a watched channel, or a page elsewhere."""

    CHANNEL = "channel"
    OUTSIDE = "outside"


class RemovalRequest(Base):
    """Someone asked for something to be taken down, by a deadline (issue 17)."""

    __tablename__ = "removal_requests"
    __table_args__ = (Index("ix_removal_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    target: Mapped[RemovalTarget] = mapped_column(String(16))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    #: the alert whose takedown performs a request on a watched channel
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    #: the site to approach, for a request elsewhere (the URL's host)
    host: Mapped[str | None] = mapped_column(String(255))
    #: who asked: free text, shown only to roles that work removal requests
    requester_name: Mapped[str] = mapped_column(String(255))
    requester_role: Mapped[str] = mapped_column(String(64))
    what: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[RemovalStatus] = mapped_column(String(16), default=RemovalStatus.OPEN)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    overdue_escalated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    #: "verified" (the platform re-check) or "confirmed" (a moderator checked the page)
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_by: Mapped[str | None] = mapped_column(String(64))


class RemovalContact(Base):
    """One approach to a host about a removal request (an e-mail sent, a call, a form)."""

    __tablename__ = "removal_contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("removal_requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)

class PolicyCase(Base):
    """An organisation's policy test case: a text and what the classifier must say about it.

    The text is comment text (personal data when it came from an alert): kept like an item's,
    never logged or audited (its hash is), shown only to those who may see the item.
    """

    __tablename__ = "policy_cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    #: labels the verdict must carry, and labels it must not (both empty lists allowed)
    must: Mapped[list[Any]] = mapped_column(JSON, default=list)
    must_not: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: the clause of the policy (or the note) the case tests
    clause: Mapped[str] = mapped_column(String(500))
    #: why the live classifier is known to fail the case; a known gap never blocks a promotion
    known_gap: Mapped[str | None] = mapped_column(String(500))
    #: whether only the safeguarding lane's roles may read it (see monitor.policy_suite.cases)
    safeguarding: Mapped[bool] = mapped_column(Boolean, default=False)
    source_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    #: the alert it was made from: one case per alert
    source_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertItem(Base):
    """An item linked to an alert beside its own: the comments of a series alert."""

    __tablename__ = "alert_items"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class SeriesAlert(Base):
    """Which rule opened a series alert, about which subject (author or target key)."""

    __tablename__ = "series_alerts"
    __table_args__ = (Index("ix_series_alerts_subject", "rule", "subject"),)

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    #: the author identity or target the series is about (personal data: never audited)
    subject: Mapped[str] = mapped_column(String(255))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)


class SeriesSignal(Base):
    """A weak sign on one comment that a series rule counts (alone it opens nothing)."""

    __tablename__ = "series_signals"
    __table_args__ = (
        UniqueConstraint("item_id", "kind", name="uq_series_signal_item_kind"),
        Index("ix_series_signals_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[str | None] = mapped_column(String(255))
    #: the author's handle, normalised (case, spaces, a leading @) for matching across platforms
    handle: Mapped[str | None] = mapped_column(String(255))
    #: who the comment addresses or what it points at (a reply's author, a mention, a domain)
    target: Mapped[str | None] = mapped_column(String(255))
    #: when the comment was written (the platform's time)
    at: Mapped[datetime]


class AuthorLink(Base):
    """A moderator's statement that a platform account belongs to a person seen elsewhere."""

    __tablename__ = "author_links"
    __table_args__ = (UniqueConstraint("platform", "author_id", name="uq_author_link"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[str] = mapped_column(String(255))
    #: the name the moderator gave the person; accounts with the same person are one author
    person: Mapped[str] = mapped_column(String(64), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


#: Alert.severity_rank by severity name (the classifier contract's `Severity.rank`)
SEVERITY_RANK: dict[str, int] = {s.value: s.rank for s in Severity}


class HoldScope(StrEnum):
    """What a legal hold protects."""

    ALERT = "alert"
    AUTHOR = "author"
    CHANNEL = "channel"


class LegalHold(Base):
    """A legal hold: while active, no purge or erasure touches its alert, author or channel."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_active", "released_at", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[HoldScope] = mapped_column(String(16))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    platform: Mapped[str | None] = mapped_column(String(32))
    author_id: Mapped[str | None] = mapped_column(String(255))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None]
    release_reason: Mapped[str | None] = mapped_column(Text)


class Redaction(Base):
    """A row whose content was removed (by the purge or an erasure), kept for the accounts."""

    __tablename__ = "redactions"
    __table_args__ = (
        UniqueConstraint("kind", "row_id", name="uq_redactions_kind_row"),
        Index("ix_redactions_run", "run"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: item, evidence, note, alert_note (an alert's dismissal note), audit_details, quarantine
    kind: Mapped[str] = mapped_column(String(16))
    row_id: Mapped[int] = mapped_column(BigInteger)
    #: retention or erasure
    cause: Mapped[str] = mapped_column(String(16))
    #: the purge run or erasure that did it (named in its audit event)
    run: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SafeguardingReview(Base):
    """A safeguarding record past its retention period: kept until a DSL signs it off."""

    __tablename__ = "safeguarding_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), unique=True)
    due_since: Mapped[datetime]
    signed_off_by: Mapped[str | None] = mapped_column(String(64))
    signed_off_at: Mapped[datetime | None]
    sign_off_reason: Mapped[str | None] = mapped_column(Text)
class RuleState(StrEnum):
    """Where one version of an organisation rule stands in the policy lab."""

    DRAFT = "draft"
    LIVE = "live"
    SUPERSEDED = "superseded"
    DISCARDED = "discarded"


class OrgRuleRow(Base):
    """An organisation rule's identity; its content lives in its versions (all kept)."""

    __tablename__ = "org_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrgRuleVersion(Base):
    """One version of an organisation rule: a draft, the live one, or history."""

    __tablename__ = "org_rule_versions"
    __table_args__ = (
        UniqueConstraint("rule_id", "version", name="uq_org_rule_version"),
        Index("ix_org_rule_versions_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("org_rules.id"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(500))
    label: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(32), default="")
    platform: Mapped[str] = mapped_column(String(32), default="")
    #: a version that takes the rule out when it goes live
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[RuleState] = mapped_column(String(16), default=RuleState.DRAFT)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class LabCandidate(Base):
    """A change under test in the policy lab: the draft rules plus settings or a model."""

    __tablename__ = "lab_candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    #: {"sensitivity": float, "thresholds": {label: float}, "model_version": str}
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    shadow_until: Mapped[datetime | None]
    shadow_from: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)


class LabPolicy(Base):
    """Classifier settings promoted from the lab (the newest row wins over the config file)."""

    __tablename__ = "lab_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sensitivity: Mapped[float | None]
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("lab_candidates.id"))
    actor: Mapped[str] = mapped_column(String(64))
    promoted_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShadowVerdict(Base):
    """What a candidate in live shadow said about a new item (it opened no alert)."""

    __tablename__ = "lab_shadow_verdicts"
    __table_args__ = (UniqueConstraint("candidate_id", "item_id", name="uq_shadow_item"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("lab_candidates.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    severity: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
