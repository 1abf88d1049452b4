"""Removal requests: record one, have it performed (watched channels) or tracked (elsewhere).

The removals domain: this package's root is its service (typed commands, audited, never
commit); `policy` holds its rules (the deadline, the reminder, overdue, who sees the
requester), `deadlines` the job that reminds and escalates, `queries` the list every front
end shows. A request on a watched channel is performed by the alert's takedown path
(`alerts.request_takedown`, the outbox worker, its verification), and closes when that
verification succeeds; a request elsewhere records each approach to the host and closes when
a moderator confirms the page is gone. Audit events carry ids and hashes, never the
requester, the description or the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.base import Label, Severity
from config.settings import Removals
from connectors.base import Action
from monitor import alerts, audit, evidence
from monitor.models import (
    SEVERITY_RANK,
    Alert,
    AlertState,
    Channel,
    Item,
    RemovalContact,
    RemovalRequest,
    RemovalStatus,
    RemovalTarget,
    TakedownStatus,
    Verdict,
    utcnow,
)
from monitor.removals import policy

#: the queue of the alert opened for a requested takedown of an item no alert was about
REMOVALS_QUEUE = "removals"
MAX_URL = 2000


class RemovalError(ValueError):
    """The request cannot be recorded or changed as asked; the message says why."""


class NotFound(LookupError):
    """No removal request with that id."""


class ContactMethod(StrEnum):
    """How the host of a page elsewhere was approached."""

    EMAIL = "email"
    PHONE = "phone"
    FORM = "form"
    LETTER = "letter"
    IN_PERSON = "in_person"
    OTHER = "other"


class Resolution(StrEnum):
    """How a request was closed."""

    #: the platform re-check after the takedown found the item hidden or gone
    VERIFIED = "verified"
    #: a moderator checked the page elsewhere and found it gone
    CONFIRMED = "confirmed"


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked, what for and why (free text, kept out of the audit trail and messages)."""

    name: str
    role: str
    what: str
    reason: str


def _text(value: str, field: str, limit: int) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise RemovalError(f"{field}: must not be empty")
    if len(cleaned) > limit:
        raise RemovalError(f"{field}: at most {limit} characters")
    if "\x00" in cleaned:
        raise RemovalError(f"{field}: must not contain NUL characters")
    return cleaned


def _checked(requester: Requester) -> Requester:
    return Requester(name=_text(requester.name, "requester", 255),
                     role=_text(requester.role, "requester role", 64),
                     what=_text(requester.what, "what", 4000),
                     reason=_text(requester.reason, "reason", 4000))


def host_of(url: str) -> str:
    """The host of an http(s) address, lower case; RemovalError for anything else."""
    url = _text(url, "url", MAX_URL)
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise RemovalError("url: not a valid address") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise RemovalError("url: expected an address starting http:// or https:// with a host")
    return host.lower()


def _hash(requester: Requester) -> dict[str, str]:
    # The audit trail proves what was recorded without holding it: the requester is often a
    # parent, the description and reason often name a child.
    return {"requester_sha256": audit.sha256_hex(f"{requester.name}\n{requester.role}"),
            "what_sha256": audit.sha256_hex(requester.what),
            "reason_sha256": audit.sha256_hex(requester.reason)}


def get(session: Session, request_id: int, *, lock: bool = False) -> RemovalRequest:
    """The request, or NotFound; `lock` takes its row until the transaction ends."""
    found = session.get(RemovalRequest, request_id, with_for_update=lock or None,
                        populate_existing=lock)
    if found is None:
        raise NotFound(f"removal request {request_id} does not exist")
    return found


def watched_item(session: Session, *, url: str | None = None, item_id: int | None = None,
                 alert_id: int | None = None) -> Item | None:
    """The stored item a request points at (by item id, alert id or address), if any."""
    if item_id is not None:
        item = session.get(Item, item_id)
        if item is None:
            raise RemovalError(f"item {item_id} does not exist")
        return item
    if alert_id is not None:
        return session.get_one(Item, alerts.get(session, alert_id).item_id)
    if url is None:
        raise RemovalError("give the address of the page, or the item or alert it is about")
    matches = session.execute(select(Item).where(Item.url == url.strip()).limit(2)).scalars().all()
    if len(matches) > 1:
        raise RemovalError("several watched items have this address; name the item or alert")
    return matches[0] if matches else None


def alert_of(session: Session, item_id: int) -> int | None:
    """The id of the alert about a stored item, if one was opened."""
    return session.execute(select(Alert.id).where(Alert.item_id == item_id)).scalar_one_or_none()


def add(session: Session, *, config: Removals, actor: str, requester: Requester,
        url: str | None = None, item_id: int | None = None, alert_id: int | None = None,
        action: Action = Action.DELETE, now: datetime | None = None) -> RemovalRequest:
    """Record a request; on a watched channel, queue its takedown at once."""
    when = now or utcnow()
    requester = _checked(requester)
    item = watched_item(session, url=url, item_id=item_id, alert_id=alert_id)
    due = policy.due_at(config, when)
    if item is None:
        assert url is not None  # watched_item refuses a request with neither
        request = RemovalRequest(
            target=RemovalTarget.OUTSIDE, url=url.strip(), host=host_of(url),
            requester_name=requester.name, requester_role=requester.role, what=requester.what,
            reason=requester.reason, status=RemovalStatus.OPEN, created_by=actor,
            created_at=when, due_at=due)
        session.add(request)
        session.flush()
        audit.record(session, actor=actor, action="removal.add", target_type="removal",
                     target_id=request.id,
                     details={"target": RemovalTarget.OUTSIDE.value, "host": request.host,
                              "due_at": due.isoformat(), **_hash(requester)}, at=when)
        return request
    channel = session.get_one(Channel, item.channel_id)
    request = RemovalRequest(
        target=RemovalTarget.CHANNEL, item_id=item.id, url=item.url,
        requester_name=requester.name, requester_role=requester.role, what=requester.what,
        reason=requester.reason, action=action.value, status=RemovalStatus.OPEN,
        created_by=actor, created_at=when, due_at=due)
    session.add(request)
    session.flush()
    alert = _alert_for(session, item=item, channel=channel, request=request, now=when)
    request.alert_id = alert.id
    audit.record(session, actor=actor, action="removal.add", target_type="removal",
                 target_id=request.id,
                 details={"target": RemovalTarget.CHANNEL.value, "channel": channel.name,
                          "item_id": item.id, "alert_id": alert.id, "action": action.value,
                          "due_at": due.isoformat(), **_hash(requester)}, at=when)
    _take_down(session, request=request, alert=alert, actor=actor, action=action, now=when)
    return request


def _alert_for(session: Session, *, item: Item, channel: Channel, request: RemovalRequest,
               now: datetime) -> Alert:
    """The item's alert; one opened for the request when no alert was about it."""
    existing = session.execute(select(Alert).where(Alert.item_id == item.id)).scalar_one_or_none()
    if existing is not None:
        return existing
    verdict = session.execute(
        select(Verdict).where(Verdict.item_id == item.id).order_by(Verdict.id.desc()).limit(1)
    ).scalar_one_or_none()
    if verdict is None:
        raise RemovalError(f"item {item.id} was never classified; it cannot be taken down yet")
    # The classifier's labels, if any: an empty list teaches retraining nothing about a text
    # that breached no rule but was asked to go (a photo whose consent was withdrawn).
    labels = list(verdict.labels or [])
    alert = Alert(item_id=item.id, verdict_id=verdict.id, channel_id=channel.id,
                  queue=REMOVALS_QUEUE, labels=labels,
                  primary_label=labels[0] if labels else Label.IDENTIFYING.value,
                  severity=Severity.HIGH.value, severity_rank=SEVERITY_RANK[Severity.HIGH.value],
                  state=AlertState.NEW, created_at=now, updated_at=now, due_at=request.due_at,
                  takedown_status=TakedownStatus.NONE)
    session.add(alert)
    session.flush()
    snap = evidence.preserve(session, item=item, channel_name=channel.name, alert_id=alert.id,
                             now=now)
    session.flush()
    audit.record(session, actor="system", action="alert.open", target_type="alert",
                 target_id=alert.id,
                 details={"channel": channel.name, "platform": item.platform,
                          "external_id": item.external_id, "labels": labels,
                          "queue": REMOVALS_QUEUE, "removal_request": request.id},
                 evidence_sha256=snap.sha256, at=now)
    return alert


def _take_down(session: Session, *, request: RemovalRequest, alert: Alert, actor: str,
               action: Action, now: datetime) -> None:
    """Hand the takedown to the alert's path, unless it is already under way or done."""
    status = TakedownStatus(alert.takedown_status)
    enough = alert.takedown_action == Action.DELETE.value or action is Action.HIDE
    if alert.state == AlertState.ACTIONED and status is TakedownStatus.VERIFIED and enough:
        _resolve(session, request, Resolution.VERIFIED, actor="system", now=now,
                 details={"alert_id": alert.id, "earlier": True})
        return
    if alert.state == AlertState.ACTIONED and status in (TakedownStatus.PENDING,
                                                          TakedownStatus.DONE):
        return  # under way: its verification closes the request
    if alert.state == AlertState.DISMISSED:
        alerts.claim(session, alert_id=alert.id, actor=actor)
    if alert.state == AlertState.ACTIONED and status is TakedownStatus.VERIFIED:
        raise RemovalError(f"alert {alert.id}'s item is only hidden; delete it from the "
                           "alert's page (a verified hide cannot be redone as a delete here)")
    alerts.request_takedown(session, alert_id=alert.id, actor=actor, action=action)


def _resolve(session: Session, request: RemovalRequest, resolution: Resolution, *, actor: str,
             now: datetime, details: dict[str, object]) -> None:
    request.status = RemovalStatus.DONE
    request.resolution = resolution.value
    request.resolved_at = now
    request.resolved_by = actor
    audit.record(session, actor=actor, action=f"removal.{resolution.value}",
                 target_type="removal", target_id=request.id,
                 details={"in_time": policy.in_time(request.due_at, now),
                          "due_at": request.due_at.isoformat(), **details}, at=now)


def takedown_verified(session: Session, *, alert_id: int, now: datetime) -> int:
    """Close the open requests the verified takedown of `alert_id` performed; how many."""
    requests = session.execute(
        select(RemovalRequest).where(RemovalRequest.alert_id == alert_id, policy.open_sql())
        .with_for_update()
    ).scalars().all()
    for request in requests:
        _resolve(session, request, Resolution.VERIFIED, actor="system", now=now,
                 details={"alert_id": alert_id})
    return len(requests)


def contact(session: Session, *, request_id: int, actor: str, method: ContactMethod, note: str,
            now: datetime | None = None) -> RemovalContact:
    """Record an approach to the host (what was sent or said is kept; its hash is audited)."""
    when = now or utcnow()
    request = get(session, request_id, lock=True)
    if not policy.is_open(request.status):
        raise RemovalError(f"removal request {request_id} is closed already")
    body = _text(note, "note", 4000)
    entry = RemovalContact(request_id=request.id, at=when, actor=actor, method=method.value,
                           note=body)
    session.add(entry)
    session.flush()
    audit.record(session, actor=actor, action="removal.contact", target_type="removal",
                 target_id=request.id,
                 details={"contact_id": entry.id, "method": method.value,
                          "note_sha256": audit.sha256_hex(body)}, at=when)
    return entry


def confirm(session: Session, *, request_id: int, actor: str, note: str,
            now: datetime | None = None) -> RemovalRequest:
    """A moderator checked the page elsewhere and it is gone: close the request."""
    when = now or utcnow()
    request = get(session, request_id, lock=True)
    if request.target != RemovalTarget.OUTSIDE:
        raise RemovalError(f"removal request {request_id} is on a watched channel; socmon "
                           "closes it when the platform re-check finds the item gone")
    if not policy.is_open(request.status):
        raise RemovalError(f"removal request {request_id} is closed already")
    body = _text(note, "note", 4000)
    session.add(RemovalContact(request_id=request.id, at=when, actor=actor, method="checked",
                               note=body))
    _resolve(session, request, Resolution.CONFIRMED, actor=actor, now=when,
             details={"note_sha256": audit.sha256_hex(body)})
    return request
