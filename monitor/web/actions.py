"""What the pages and the API do to alerts: one function per action, with the lane's rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.orm import Session

from connectors.base import Action
from monitor import alerts
from monitor.alerts.policy import is_safeguarding
from monitor.web.deps import CurrentUser, Forbidden

MAX_NOTE = 10_000


class ActionName(StrEnum):
    """The actions a moderator can take on one alert."""

    CLAIM = "claim"
    RELEASE = "release"
    ASSIGN = "assign"
    HIDE = "hide"
    DELETE = "delete"
    DISMISS = "dismiss"
    ESCALATE = "escalate"
    NOTE = "note"


class BulkAction(StrEnum):
    """The actions that make sense on many alerts at once (a spam wave)."""

    CLAIM = "claim"
    HIDE = "hide"
    DELETE = "delete"
    DISMISS = "dismiss"


class BadInput(ValueError):
    """A form or body field is missing or wrong (the message names it)."""


@dataclass
class ActionInput:
    """The fields an action may need."""

    reason: str | None = None
    to: str | None = None
    note: str | None = None
    assignee: str | None = None


def _text(value: str | None, name: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise BadInput(f"{name}: please write something")
        return None
    if len(text) > MAX_NOTE:
        raise BadInput(f"{name}: at most {MAX_NOTE} characters")
    return text


def check_lane(session: Session, *, alert_id: int, viewer: CurrentUser) -> None:
    """Only the DSL (and admins) act on safeguarding alerts: others cannot see their content."""
    alert = alerts.get(session, alert_id)
    if is_safeguarding(alert) and not viewer.sees_safeguarding:
        raise Forbidden("safeguarding alerts are handled by the safeguarding lead")


def perform(session: Session, *, alert_id: int, viewer: CurrentUser, action: ActionName,
            data: ActionInput) -> alerts.Change:
    """Apply one action in the caller's transaction (NotFound, InvalidTransition, BadInput)."""
    if not viewer.can_act:
        raise Forbidden(f"the {viewer.role.value} role is read-only")
    check_lane(session, alert_id=alert_id, viewer=viewer)
    actor = viewer.username
    if action is ActionName.CLAIM:
        return alerts.claim(session, alert_id=alert_id, actor=actor, user_id=viewer.id)
    if action is ActionName.RELEASE:
        return alerts.release(session, alert_id=alert_id, actor=actor)
    if action is ActionName.ASSIGN:
        return _assign(session, alert_id=alert_id, viewer=viewer, username=data.assignee)
    if action in (ActionName.HIDE, ActionName.DELETE):
        return alerts.request_takedown(session, alert_id=alert_id, actor=actor,
                                       action=Action(action.value))
    if action is ActionName.DISMISS:
        try:
            reason = alerts.DismissReason(data.reason or "")
        except ValueError:
            raise BadInput("reason: choose one of " + ", ".join(
                r.value for r in alerts.DismissReason)) from None
        return alerts.dismiss(session, alert_id=alert_id, actor=actor, reason=reason,
                              note=_text(data.note, "note", required=False))
    if action is ActionName.ESCALATE:
        try:
            target = alerts.EscalationTarget(data.to or "")
        except ValueError:
            raise BadInput("to: choose one of " + ", ".join(
                t.value for t in alerts.EscalationTarget)) from None
        return alerts.escalate(session, alert_id=alert_id, actor=actor, to=target,
                               note=_text(data.note, "note", required=False))
    body = _text(data.note, "note", required=True)
    assert body is not None
    return alerts.add_note(session, alert_id=alert_id, actor=actor, body=body)


def _assign(session: Session, *, alert_id: int, viewer: CurrentUser,
            username: str | None) -> alerts.Change:
    if not username:
        raise BadInput("assignee: choose a person")
    try:
        return alerts.assign(session, alert_id=alert_id, actor=viewer.username,
                             assignee=username)
    except alerts.CannotAssign as exc:
        raise BadInput(f"assignee: {exc}") from None


def acknowledge(session: Session, *, alert_id: int, viewer: CurrentUser,
                handover: str | None) -> alerts.Change:
    """The DSL acknowledges a safeguarding alert and records the handover."""
    if not viewer.sees_safeguarding:
        raise Forbidden("only the safeguarding lead acknowledges")
    text = _text(handover, "handover", required=True)
    assert text is not None
    return alerts.acknowledge(session, alert_id=alert_id, actor=viewer.username,
                              user_id=viewer.id, handover=text)


@dataclass
class BulkResult:
    """Which alerts a bulk action changed, and why the others were skipped."""

    done: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def bulk(session: Session, *, alert_ids: list[int], viewer: CurrentUser, action: BulkAction,
         reason: str | None) -> BulkResult:
    """Apply one action to many alerts; each in a savepoint, so one refusal skips only itself."""
    result = BulkResult()
    for alert_id in dict.fromkeys(alert_ids):
        try:
            with session.begin_nested():
                perform(session, alert_id=alert_id, viewer=viewer, action=ActionName(action.value),
                        data=ActionInput(reason=reason))
        except (alerts.NotFound, alerts.InvalidTransition, Forbidden) as exc:
            result.skipped[alert_id] = str(exc)
        else:
            result.done.append(alert_id)
    return result


def dismiss_reason_check(reason: str | None, action: BulkAction) -> None:
    """A bulk dismissal needs a valid reason up front, not one error per alert."""
    if action is BulkAction.DISMISS and reason not in {r.value for r in alerts.DismissReason}:
        raise BadInput("reason: choose one of " + ", ".join(r.value for r in alerts.DismissReason))
