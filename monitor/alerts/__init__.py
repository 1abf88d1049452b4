"""The alert queue: states, allowed transitions and the actions moderators take, all audited.

The alerts domain: this package's root is its service (typed commands that never commit);
`policy` holds its rules (open, overdue, the safeguarding lane, severity order) and
`queries` the filters the web UI and the CLI share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import Action
from monitor import audit, outbox, users
from monitor.alerts import policy
from monitor.alerts.policy import EscalationTarget as EscalationTarget
from monitor.ingest import NOTIFY_KIND
from monitor.models import Alert, AlertNote, AlertState, Evidence, TakedownStatus, utcnow
from monitor.people.roles import Permission, Role, may


class DismissReason(StrEnum):
    """Why an alert was closed without a takedown."""

    NOT_A_BREACH = "not_a_breach"
    FALSE_POSITIVE = "false_positive"
    DUPLICATE = "duplicate"
    HANDLED_ELSEWHERE = "handled_elsewhere"


class InvalidTransition(ValueError):
    """The alert is not in a state that allows this action."""


class NotFound(LookupError):
    """No alert with that id."""


class CannotAssign(ValueError):
    """That person cannot be given the alert: unknown, disabled, or not allowed to work it."""


ALLOWED: dict[AlertState, frozenset[AlertState]] = {
    AlertState.NEW: frozenset(
        {AlertState.IN_REVIEW, AlertState.ACTIONED, AlertState.DISMISSED, AlertState.ESCALATED}
    ),
    AlertState.IN_REVIEW: frozenset(
        {AlertState.NEW, AlertState.ACTIONED, AlertState.DISMISSED, AlertState.ESCALATED}
    ),
    AlertState.ESCALATED: frozenset(
        {AlertState.IN_REVIEW, AlertState.ACTIONED, AlertState.DISMISSED}
    ),
    AlertState.DISMISSED: frozenset({AlertState.IN_REVIEW}),
    AlertState.ACTIONED: frozenset(),
}

TAKEDOWN_KIND = "takedown"
VERIFY_KIND = "verify"
#: the notification payload's `reason` for an escalation (ingest's "critical", deadlines')
ESCALATED_REASON = "escalated"


@dataclass(frozen=True, slots=True)
class Change:
    """The result of an action, for callers that report it."""

    alert_id: int
    state: AlertState
    audit_seq: int


def get(session: Session, alert_id: int) -> Alert:
    """The alert, or NotFound."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist")
    return alert


def _locked(session: Session, alert_id: int) -> Alert:
    """The alert as committed now, its row locked until the caller's transaction ends."""
    # Every state change reads the state it checks through here. Without the lock two
    # requests on PostgreSQL could both read "in review" and both act (two takedowns queued,
    # two audit events, two platform calls): FOR UPDATE makes the second wait for the first
    # to commit and then see its result, so it gets InvalidTransition. populate_existing
    # because the caller may still hold a copy loaded earlier in this transaction, which the
    # session would otherwise hand back unchanged, hiding the newer state. SQLite ignores FOR
    # UPDATE; its writers are already serialised from their first statement (BEGIN IMMEDIATE).
    alert = session.get(Alert, alert_id, with_for_update=True, populate_existing=True)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist")
    return alert


def _evidence_hash(session: Session, alert: Alert) -> str | None:
    return session.execute(
        select(Evidence.sha256)
        .where(Evidence.item_id == alert.item_id)
        .order_by(Evidence.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _move(
    session: Session,
    alert: Alert,
    to: AlertState,
    *,
    actor: str,
    action: str,
    details: dict[str, object],
    now: datetime,
) -> Change:
    if to != alert.state and to not in ALLOWED[AlertState(alert.state)]:
        raise InvalidTransition(f"alert {alert.id} is {alert.state}; cannot {action}")
    before = alert.state
    alert.state = to
    alert.updated_at = now
    if to in (AlertState.ACTIONED, AlertState.DISMISSED):
        alert.resolved_at = now
    event = audit.record(
        session,
        actor=actor,
        action=f"alert.{action}",
        target_type="alert",
        target_id=alert.id,
        details={"from": str(before), "to": str(to), **details},
        evidence_sha256=_evidence_hash(session, alert),
        at=now,
    )
    return Change(alert.id, to, event.seq)


def claim(session: Session, *, alert_id: int, actor: str, user_id: int | None = None) -> Change:
    """Take an alert into review."""
    alert = _locked(session, alert_id)
    alert.assignee_id = user_id
    return _move(
        session, alert, AlertState.IN_REVIEW, actor=actor, action="claim", details={}, now=utcnow()
    )


def assign(session: Session, *, alert_id: int, actor: str, assignee: str) -> Change:
    """Give an alert to a person who may work it: into review, theirs; audited as assigned.

    Anyone who may act on alerts can be given one; a safeguarding alert only someone who
    sees the lane (the DSL, an admin). Raises CannotAssign, NotFound or InvalidTransition.
    """
    try:
        person = users.get(session, username=assignee)
    except users.UnknownUser:
        raise CannotAssign(f"no user called {assignee!r}") from None
    role = Role(person.role)
    if person.disabled or not may(role, Permission.ACT):
        raise CannotAssign(f"{person.username} cannot work on alerts")
    if policy.is_safeguarding(_locked(session, alert_id)) and not may(
        role, Permission.SAFEGUARDING
    ):
        raise CannotAssign(f"{person.username} cannot see safeguarding alerts")
    claimed = claim(session, alert_id=alert_id, actor=actor, user_id=person.id)
    event = audit.record(
        session,
        actor=actor,
        action="alert.assign",
        target_type="alert",
        target_id=alert_id,
        details={"assignee": person.username},
    )
    return Change(claimed.alert_id, claimed.state, event.seq)


def release(session: Session, *, alert_id: int, actor: str) -> Change:
    """Put a claimed alert back in the queue."""
    alert = _locked(session, alert_id)
    if alert.state != AlertState.IN_REVIEW:
        raise InvalidTransition(
            f"alert {alert_id} is {alert.state}; only a claimed one is released"
        )
    alert.assignee_id = None
    return _move(
        session, alert, AlertState.NEW, actor=actor, action="release", details={}, now=utcnow()
    )


def request_takedown(session: Session, *, alert_id: int, actor: str, action: Action) -> Change:
    """Hide or delete the item: queue it for the outbox worker, which performs and verifies it."""
    alert = _locked(session, alert_id)
    retry = alert.state == AlertState.ACTIONED and alert.takedown_status == TakedownStatus.FAILED
    if alert.state == AlertState.ACTIONED and not retry:
        raise InvalidTransition(f"alert {alert_id} was already actioned ({alert.takedown_action})")
    now = utcnow()
    alert.takedown_action = action.value
    alert.takedown_status = TakedownStatus.PENDING
    alert.takedown_error = None
    alert.resolution = action.value
    change = _move(
        session,
        alert,
        AlertState.ACTIONED,
        actor=actor,
        action="retry_" + action.value if retry else action.value,
        details={"takedown": action.value},
        now=now,
    )
    outbox.enqueue(
        session,
        kind=TAKEDOWN_KIND,
        payload={
            "alert_id": alert.id,
            "action": action.value,
            "actor": actor,
            "audit_seq": change.audit_seq,
        },
    )
    return change


def dismiss(
    session: Session, *, alert_id: int, actor: str, reason: DismissReason, note: str | None = None
) -> Change:
    """Close an alert without a takedown, with a reason (feeds the classifier's retraining)."""
    alert = _locked(session, alert_id)
    alert.resolution = reason.value
    alert.resolution_note = note
    return _move(
        session,
        alert,
        AlertState.DISMISSED,
        actor=actor,
        action="dismiss",
        details={"reason": reason.value},
        now=utcnow(),
    )


def escalate(
    session: Session, *, alert_id: int, actor: str, to: EscalationTarget, note: str | None = None
) -> Change:
    """Hand an alert up: to the DSL, to management or for a police report.

    Escalated to the DSL, the alert joins the safeguarding lane's queue, unassigned (only the
    DSL works that lane), and the DSL is notified through the outbox after commit.
    """
    alert = _locked(session, alert_id)
    alert.escalated_to = to.value
    details: dict[str, object] = {"to": to.value}
    if to in policy.INTO_LANE and alert.queue != policy.SAFEGUARDING_QUEUE:
        details.update(from_queue=alert.queue, queue=policy.SAFEGUARDING_QUEUE)
        alert.queue = policy.SAFEGUARDING_QUEUE
        alert.assignee_id = None
    if note:
        session.add(AlertNote(alert_id=alert.id, author=actor, body=note))
    change = _move(
        session,
        alert,
        AlertState.ESCALATED,
        actor=actor,
        action="escalate",
        details=details,
        now=utcnow(),
    )
    roles = policy.ESCALATION_NOTIFIES[to]
    if roles:
        outbox.enqueue(
            session,
            kind=NOTIFY_KIND,
            payload={
                "alert_id": alert.id,
                "roles": [role.value for role in roles],
                "queue": alert.queue,
                "label": alert.primary_label,
                "reason": ESCALATED_REASON,
            },
            # one message per escalation: escalated again later, the alert is news again
            dedupe_key=f"notify:escalated:{alert.id}:{change.audit_seq}",
        )
    return change


def add_note(session: Session, *, alert_id: int, actor: str, body: str) -> Change:
    """Attach a note; the note's hash (not its text) goes into the audit trail."""
    alert = get(session, alert_id)
    session.add(AlertNote(alert_id=alert.id, author=actor, body=body))
    event = audit.record(
        session,
        actor=actor,
        action="alert.note",
        target_type="alert",
        target_id=alert.id,
        details={"note_sha256": audit.sha256_hex(body)},
    )
    return Change(alert.id, AlertState(alert.state), event.seq)


def acknowledge(
    session: Session, *, alert_id: int, actor: str, user_id: int | None, handover: str
) -> Change:
    """A safeguarding lead acknowledges an alert and records the handover done outside socmon."""
    alert = _locked(session, alert_id)
    if alert.acknowledged_at is not None:
        raise InvalidTransition(f"alert {alert_id} was already acknowledged")
    now = utcnow()
    alert.acknowledged_at = now
    alert.acknowledged_by = user_id
    session.add(AlertNote(alert_id=alert.id, author=actor, body=handover))
    event = audit.record(
        session,
        actor=actor,
        action="alert.acknowledge",
        target_type="alert",
        target_id=alert.id,
        details={"handover_sha256": audit.sha256_hex(handover)},
        at=now,
    )
    return Change(alert.id, AlertState(alert.state), event.seq)
