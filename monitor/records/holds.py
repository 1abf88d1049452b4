"""Legal holds on an alert, an author or a channel: set and lifted with a reason, audited.

While a hold is active no purge and no erasure touches what it covers; `Held` answers
"which hold keeps this item?" for both, and `held_items_sql` excludes held items in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.models import Alert, Channel, HoldScope, Item, LegalHold, utcnow
from monitor.people.roles import Permission, Role, may
from monitor.records.errors import NotAllowed, NotFound, RecordsError

MAX_REASON = 2000


def author_key(platform: str, author_id: str) -> str:
    """The pseudonymous key of an author in the audit trail (a hash, never the id itself)."""
    return audit.sha256_hex(f"{platform}\n{author_id}")


def _reason(text: str | None) -> str:
    reason = (text or "").strip()
    if not reason:
        raise RecordsError("a reason is required (who asked for the hold, or why it ends)")
    if len(reason) > MAX_REASON:
        raise RecordsError(f"the reason is too long (at most {MAX_REASON} characters)")
    return reason


def _allowed(role: Role, actor: str) -> None:
    if not may(role, Permission.LEGAL_HOLD):
        raise NotAllowed(f"{actor} ({role.value}) may not set or lift legal holds")


def set_hold(session: Session, *, actor: str, role: Role, reason: str,
             alert_id: int | None = None, channel: str | None = None,
             platform: str | None = None, author_id: str | None = None,
             now: datetime | None = None) -> LegalHold:
    """Put a hold on exactly one of: an alert, a channel (by name), an author (platform + id)."""
    _allowed(role, actor)
    text = _reason(reason)
    given = [alert_id is not None, channel is not None,
             platform is not None or author_id is not None]
    if sum(given) != 1:
        raise RecordsError("name exactly one target: an alert, a channel, or an author "
                           "(platform and author id)")
    when = now or utcnow()
    hold = LegalHold(reason=text, set_by=actor, set_at=when)
    details: dict[str, object] = {"reason_sha256": audit.sha256_hex(text)}
    if alert_id is not None:
        if session.get(Alert, alert_id) is None:
            raise NotFound(f"alert {alert_id} does not exist")
        hold.scope, hold.alert_id = HoldScope.ALERT, alert_id
        details["alert_id"] = alert_id
    elif channel is not None:
        row = session.execute(select(Channel).where(Channel.name == channel)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"channel {channel!r} does not exist")
        hold.scope, hold.channel_id = HoldScope.CHANNEL, row.id
        details["channel"] = channel
    else:
        if not platform or not author_id:
            raise RecordsError("an author hold needs both the platform and the author id")
        hold.scope, hold.platform, hold.author_id = HoldScope.AUTHOR, platform, author_id
        details["author"] = author_key(platform, author_id)
    details["scope"] = hold.scope.value
    session.add(hold)
    session.flush()
    audit.record(session, actor=actor, action="records.hold", target_type="legal_hold",
                 target_id=hold.id, details=details, at=when)
    return hold


def release_hold(session: Session, *, hold_id: int, actor: str, role: Role, reason: str,
                 now: datetime | None = None) -> LegalHold:
    """Lift an active hold, with a reason; what it protected is purged at its next due run."""
    _allowed(role, actor)
    text = _reason(reason)
    hold = session.get(LegalHold, hold_id, with_for_update=True)
    if hold is None:
        raise NotFound(f"legal hold {hold_id} does not exist")
    if hold.released_at is not None:
        raise RecordsError(f"legal hold {hold_id} was already lifted")
    when = now or utcnow()
    hold.released_at, hold.released_by, hold.release_reason = when, actor, text
    audit.record(session, actor=actor, action="records.release_hold", target_type="legal_hold",
                 target_id=hold.id, details={"scope": hold.scope,
                                             "reason_sha256": audit.sha256_hex(text)}, at=when)
    return hold


def active(session: Session) -> list[LegalHold]:
    """Every hold in force, oldest first."""
    return list(session.execute(select(LegalHold).where(LegalHold.released_at.is_(None))
                                .order_by(LegalHold.id)).scalars())


@dataclass
class Held:
    """The active holds, indexed for "which hold keeps this item?"."""

    alerts: dict[int, int] = field(default_factory=dict)
    authors: dict[tuple[str, str], int] = field(default_factory=dict)
    channels: dict[int, int] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Held:
        """The holds in force now."""
        held = cls()
        for hold in active(session):
            if hold.scope == HoldScope.ALERT and hold.alert_id is not None:
                held.alerts.setdefault(hold.alert_id, hold.id)
            elif hold.scope == HoldScope.CHANNEL and hold.channel_id is not None:
                held.channels.setdefault(hold.channel_id, hold.id)
            elif hold.platform and hold.author_id:
                held.authors.setdefault((hold.platform, hold.author_id), hold.id)
        return held

    def hold_for(self, item: Item, alert_id: int | None) -> int | None:
        """The id of a hold keeping `item` (whose alert is `alert_id`), or None."""
        if alert_id is not None and alert_id in self.alerts:
            return self.alerts[alert_id]
        if item.author_id and (item.platform, item.author_id) in self.authors:
            return self.authors[(item.platform, item.author_id)]
        return self.channels.get(item.channel_id)

    def items_sql(self) -> ColumnElement[bool]:
        """SQL: the item (`Item`) is kept by one of these holds."""
        clauses: list[ColumnElement[bool]] = []
        if self.channels:
            clauses.append(Item.channel_id.in_(sorted(self.channels)))
        for platform, author_id in self.authors:
            clauses.append(and_(Item.platform == platform, Item.author_id == author_id))
        if self.alerts:
            clauses.append(Item.id.in_(select(Alert.item_id)
                                       .where(Alert.id.in_(sorted(self.alerts)))))
        return or_(*clauses) if clauses else false()
