"""Safeguarding records due for review: the DSL signs each off (audited) before it may go."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.models import SafeguardingReview, utcnow
from monitor.people.roles import Permission, Role, may
from monitor.records.errors import NotAllowed, NotFound, RecordsError
from monitor.records.holds import MAX_REASON


def due(session: Session) -> list[SafeguardingReview]:
    """Records past their period and awaiting the DSL's sign-off, oldest first."""
    return list(session.execute(
        select(SafeguardingReview).where(SafeguardingReview.signed_off_at.is_(None))
        .order_by(SafeguardingReview.due_since, SafeguardingReview.alert_id)).scalars())


def is_signed_off(session: Session, alert_id: int) -> bool:
    """Whether a DSL has signed off this safeguarding record for removal."""
    return session.execute(select(SafeguardingReview.signed_off_at).where(
        SafeguardingReview.alert_id == alert_id)).scalar_one_or_none() is not None


def sign_off(session: Session, *, alert_id: int, actor: str, role: Role, reason: str,
             now: datetime | None = None) -> SafeguardingReview:
    """A DSL agrees that a record due for review may go; the next purge removes its content."""
    if not may(role, Permission.SAFEGUARDING):
        raise NotAllowed(f"{actor} ({role.value}) may not sign off safeguarding records: "
                         "the safeguarding lead does")
    text = (reason or "").strip()
    if not text or len(text) > MAX_REASON:
        raise RecordsError(f"a reason is required (at most {MAX_REASON} characters)")
    review = session.execute(select(SafeguardingReview).where(
        SafeguardingReview.alert_id == alert_id).with_for_update()).scalar_one_or_none()
    if review is None:
        raise NotFound(f"alert {alert_id} is not a safeguarding record due for review")
    if review.signed_off_at is not None:
        raise RecordsError(f"alert {alert_id} was already signed off by {review.signed_off_by}")
    when = now or utcnow()
    review.signed_off_at, review.signed_off_by, review.sign_off_reason = when, actor, text
    audit.record(session, actor=actor, action="records.sign_off", target_type="alert",
                 target_id=alert_id, details={"reason_sha256": audit.sha256_hex(text)}, at=when)
    return review
