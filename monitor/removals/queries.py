"""The removal requests as every front end lists them, with who asked only for those who may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alerts import policy as alert_policy
from monitor.models import (
    Alert,
    Channel,
    Item,
    RemovalContact,
    RemovalRequest,
)
from monitor.people.roles import Permission, Role, may
from monitor.removals import policy

StatusFilter = Literal["open", "done", "all"]


@dataclass(frozen=True, slots=True)
class ContactView:
    """One approach to a host."""

    at: datetime
    actor: str
    method: str
    note: str


@dataclass(frozen=True, slots=True)
class RemovalView:
    """One request as listed; the requester fields are None for roles that may not see them."""

    id: int
    target: str
    status: str
    created_at: datetime
    due_at: datetime
    overdue: bool
    reminded: bool
    escalated: bool
    resolved_at: datetime | None
    resolution: str | None
    in_time: bool | None
    channel: str | None
    alert_id: int | None
    takedown_status: str | None
    action: str | None
    host: str | None
    url: str | None
    requester_name: str | None
    requester_role: str | None
    what: str | None
    reason: str | None
    contacts: tuple[ContactView, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (the CLI's --json)."""
        out = {k: getattr(self, k) for k in self.__slots__ if k != "contacts"}
        out["contacts"] = [{"at": c.at.isoformat(), "actor": c.actor, "method": c.method,
                            "note": c.note} for c in self.contacts]
        for key in ("created_at", "due_at", "resolved_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def sees_requester(role: Role | None, *, safeguarding: bool = False) -> bool:
    """Whether `role` reads who asked, what and why (None: the operator at the CLI); about a
    safeguarding item, only those who see the safeguarding lane do."""
    if role is None:
        return True
    return role in policy.WORKERS and (not safeguarding or may(role, Permission.SAFEGUARDING))


def list_requests(session: Session, *, status: StatusFilter = "open", now: datetime,
                  role: Role | None, limit: int = 500) -> list[RemovalView]:
    """Requests, the most urgent first; requester details only where `sees_requester`."""
    stmt = (select(RemovalRequest, Alert, Channel)
            .outerjoin(Alert, Alert.id == RemovalRequest.alert_id)
            .outerjoin(Item, Item.id == RemovalRequest.item_id)
            .outerjoin(Channel, Channel.id == Item.channel_id))
    if status == "open":
        stmt = stmt.where(policy.open_sql())
    elif status == "done":
        stmt = stmt.where(~policy.open_sql())
    stmt = stmt.order_by(RemovalRequest.status.desc(), RemovalRequest.due_at,
                         RemovalRequest.id).limit(limit)
    rows = session.execute(stmt).all()
    ids = [request.id for request, _alert, _channel in rows]
    contacts: dict[int, list[ContactView]] = {}
    if ids and sees_requester(role):
        for c in session.execute(select(RemovalContact).where(RemovalContact.request_id.in_(ids))
                                 .order_by(RemovalContact.at, RemovalContact.id)).scalars():
            contacts.setdefault(c.request_id, []).append(
                ContactView(at=c.at, actor=c.actor, method=c.method, note=c.note))
    out: list[RemovalView] = []
    for request, alert, channel in rows:
        lane = alert is not None and alert_policy.is_safeguarding(alert)
        shown = sees_requester(role, safeguarding=lane)
        out.append(RemovalView(
            id=request.id, target=str(request.target), status=str(request.status),
            created_at=request.created_at, due_at=request.due_at,
            overdue=policy.is_overdue(request.status, request.due_at, now),
            reminded=request.reminded_at is not None,
            escalated=request.overdue_escalated_at is not None,
            resolved_at=request.resolved_at, resolution=request.resolution,
            in_time=(policy.in_time(request.due_at, request.resolved_at)
                     if request.resolved_at else None),
            channel=channel.name if channel is not None else None,
            alert_id=request.alert_id,
            takedown_status=str(alert.takedown_status) if alert is not None else None,
            action=request.action, host=request.host,
            url=request.url if shown else None,
            requester_name=request.requester_name if shown else None,
            requester_role=request.requester_role if shown else None,
            what=request.what if shown else None,
            reason=request.reason if shown else None,
            contacts=tuple(contacts.get(request.id, ())) if shown else (),
        ))
    return out


def counts(session: Session) -> dict[str, int]:
    """How many requests there are by status."""
    return {str(k): int(v) for k, v in session.execute(
        select(RemovalRequest.status, func.count()).group_by(RemovalRequest.status)).all()}
