"""The JSON API under /api/v1: everything the pages do, with the same sessions and roles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from monitor import alerts, users
from monitor.people.roles import Role
from monitor.web import actions, queries
from monitor.web.deps import (
    MAX_ID,
    ActorUser,
    AdminUser,
    AlertId,
    CurrentUser,
    DslUser,
    OversightUser,
    StaffUser,
    State,
    Text,
    Username,
    WebState,
)

router = APIRouter(prefix="/api/v1", tags=["api"])


class Changed(BaseModel):
    """The outcome of an action on one alert."""

    alert_id: AlertId
    state: str
    audit_seq: int


class DismissBody(BaseModel):
    """Why the alert is closed without a takedown."""

    reason: alerts.DismissReason
    note: Text | None = Field(default=None, max_length=actions.MAX_NOTE)


class EscalateBody(BaseModel):
    """Who the alert goes to."""

    to: alerts.EscalationTarget
    note: Text | None = Field(default=None, max_length=actions.MAX_NOTE)


class NoteBody(BaseModel):
    """A note on the alert."""

    body: Text = Field(min_length=1, max_length=actions.MAX_NOTE)


class AssignBody(BaseModel):
    """Who takes the alert."""

    username: Text = Field(min_length=1, max_length=64)


class AcknowledgeBody(BaseModel):
    """The DSL's handover: what was done outside socmon."""

    handover: Text = Field(min_length=1, max_length=actions.MAX_NOTE)


class BulkBody(BaseModel):
    """One action on many alerts."""

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=500)
    action: actions.BulkAction
    reason: alerts.DismissReason | None = None


class BulkOut(BaseModel):
    """Which alerts changed and which were skipped (with why)."""

    done: list[int]
    skipped: dict[int, str]


class UserIn(BaseModel):
    """A new account."""

    username: Text = Field(min_length=2, max_length=64)
    role: Role
    display_name: Text = Field(default="", max_length=128)
    email: Text | None = Field(default=None, max_length=255)


class Password(BaseModel):
    """A password, shown once."""

    username: str
    password: str


class UserOut(BaseModel):
    """An account (never its hash)."""

    username: str
    display_name: str
    role: str
    email: str | None
    disabled: bool
    last_login_at: str | None


class Me(BaseModel):
    """The signed-in user."""

    username: str
    display_name: str
    role: str


def _act(state: WebState, user: CurrentUser, alert_id: AlertId, action: actions.ActionName,
         data: actions.ActionInput | None = None) -> Changed:
    with state.write() as session:
        change = actions.perform(session, alert_id=alert_id, viewer=user, action=action,
                                 data=data or actions.ActionInput())
    return Changed(alert_id=change.alert_id, state=change.state.value, audit_seq=change.audit_seq)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"}, 403: {"description": "Role may not do this"},
    404: {"description": "No such alert"}, 409: {"description": "Not allowed in this state"},
    422: {"description": "Invalid input"},
}


@router.get("/me", responses=ERRORS)
def me(user: StaffUser) -> Me:
    """Who is signed in."""
    return Me(username=user.username, display_name=user.display_name, role=user.role.value)


@router.get("/alerts", responses=ERRORS)
def list_alerts(state: State, user: StaffUser,
                params: Annotated[queries.QueueParams, Query()]) -> dict[str, Any]:
    """The queue with the same filters as the page (restricted items carry no content)."""
    with state.read() as session:
        page = queries.queue_page(session, params, viewer=user)
    return {"page": page.page, "has_next": page.has_next,
            "alerts": [r.as_json() for r in page.rows]}


@router.get("/alerts/{alert_id}", responses=ERRORS)
def get_alert(state: State, user: StaffUser, alert_id: AlertId) -> dict[str, Any]:
    """One alert with text, spans, reasons, thread, author history, audit and capabilities."""
    with state.read() as session:
        return queries.alert_view(session, state.runtime, alert_id=alert_id,
                                  viewer=user).as_json()


@router.post("/alerts/{alert_id}/claim", responses=ERRORS)
def claim(state: State, user: ActorUser, alert_id: AlertId) -> Changed:
    """Take the alert into review, assigned to yourself."""
    return _act(state, user, alert_id, actions.ActionName.CLAIM)


@router.post("/alerts/{alert_id}/release", responses=ERRORS)
def release(state: State, user: ActorUser, alert_id: AlertId) -> Changed:
    """Put a claimed alert back in the queue."""
    return _act(state, user, alert_id, actions.ActionName.RELEASE)


@router.post("/alerts/{alert_id}/assign", responses=ERRORS)
def assign(state: State, user: ActorUser, alert_id: AlertId, body: AssignBody) -> Changed:
    """Assign the alert to someone who may work on it."""
    return _act(state, user, alert_id, actions.ActionName.ASSIGN,
                actions.ActionInput(assignee=body.username))


@router.post("/alerts/{alert_id}/hide", responses=ERRORS)
def hide(state: State, user: ActorUser, alert_id: AlertId) -> Changed:
    """Hide the item on its platform (through the outbox; verified later)."""
    return _act(state, user, alert_id, actions.ActionName.HIDE)


@router.post("/alerts/{alert_id}/delete", responses=ERRORS)
def delete(state: State, user: ActorUser, alert_id: AlertId) -> Changed:
    """Delete the item on its platform (through the outbox; verified later)."""
    return _act(state, user, alert_id, actions.ActionName.DELETE)


@router.post("/alerts/{alert_id}/dismiss", responses=ERRORS)
def dismiss(state: State, user: ActorUser, alert_id: AlertId, body: DismissBody) -> Changed:
    """Close without a takedown, with a reason."""
    return _act(state, user, alert_id, actions.ActionName.DISMISS,
                actions.ActionInput(reason=body.reason.value, note=body.note))


@router.post("/alerts/{alert_id}/escalate", responses=ERRORS)
def escalate(state: State, user: ActorUser, alert_id: AlertId, body: EscalateBody) -> Changed:
    """Escalate to the DSL, to management or for a police report."""
    return _act(state, user, alert_id, actions.ActionName.ESCALATE,
                actions.ActionInput(to=body.to.value, note=body.note))


@router.post("/alerts/{alert_id}/notes", responses=ERRORS)
def note(state: State, user: ActorUser, alert_id: AlertId, body: NoteBody) -> Changed:
    """Add a note (its hash goes into the audit trail)."""
    return _act(state, user, alert_id, actions.ActionName.NOTE,
                actions.ActionInput(note=body.body))


@router.post("/alerts/{alert_id}/acknowledge", responses=ERRORS)
def acknowledge(state: State, user: DslUser, alert_id: AlertId, body: AcknowledgeBody) -> Changed:
    """The DSL acknowledges a safeguarding alert and records the handover."""
    with state.write() as session:
        change = actions.acknowledge(session, alert_id=alert_id, viewer=user,
                                     handover=body.handover)
    return Changed(alert_id=change.alert_id, state=change.state.value, audit_seq=change.audit_seq)


@router.get("/alerts/{alert_id}/evidence", responses={
    **ERRORS, 200: {"content": {"application/zip": {}}, "description": "The evidence pack"},
    501: {"description": "Evidence packs are not available"}})
def evidence(state: State, user: ActorUser, alert_id: AlertId) -> Response:
    """The evidence pack ZIP (PDF report, JSON, hashes, audit excerpt)."""
    from monitor.web.views import evidence_zip

    return evidence_zip(state, user, alert_id)


@router.post("/alerts/bulk", responses=ERRORS)
def bulk(state: State, user: ActorUser, body: BulkBody) -> BulkOut:
    """One action on many alerts; each is audited, refusals are reported per alert."""
    actions.dismiss_reason_check(body.reason.value if body.reason else None, body.action)
    with state.write() as session:
        result = actions.bulk(session, alert_ids=body.ids, viewer=user, action=body.action,
                              reason=body.reason.value if body.reason else None)
    return BulkOut(done=result.done, skipped=result.skipped)


@router.get("/safeguarding", responses=ERRORS)
def safeguarding(state: State, user: DslUser,
                 params: Annotated[queries.QueueParams, Query()]) -> dict[str, Any]:
    """The safeguarding lane: those awaiting acknowledgement first."""
    with state.read() as session:
        page = queries.queue_page(session, params, viewer=user, only_safeguarding=True,
                                  unacknowledged_first=True)
    return {"page": page.page, "has_next": page.has_next,
            "alerts": [r.as_json() for r in page.rows]}


@router.get("/audit", responses=ERRORS)
def audit_log(state: State, user: OversightUser,
              params: Annotated[queries.AuditParams, Query()]) -> dict[str, Any]:
    """Audit events, newest first, filtered."""
    with state.read() as session:
        events, has_next = queries.audit_page(session, params, user)
    return {"page": params.page, "has_next": has_next,
            "events": [queries.audit_json(e) for e in events]}


@router.get("/audit.csv", responses={**ERRORS, 200: {"content": {"text/csv": {}},
                                                      "description": "CSV"}})
def audit_csv(state: State, user: OversightUser,
              params: Annotated[queries.AuditParams, Query()]) -> Response:
    """The filtered audit trail as CSV."""
    from monitor.web.views import audit_csv_response

    return audit_csv_response(state, params, user)


@router.get("/channels", responses=ERRORS)
def channels(state: State, _user: StaffUser) -> list[dict[str, Any]]:
    """Channel health."""
    with state.read() as session:
        return queries.channel_health(session, state.runtime)


@router.get("/dashboard", responses=ERRORS)
def dashboard(state: State, _user: StaffUser) -> dict[str, Any]:
    """Flags by label and channel per day, time to action, deadlines met."""
    with state.read() as session:
        return queries.dashboard(session)


def _user_out(u: Any) -> UserOut:
    return UserOut(username=u.username, display_name=u.display_name, role=u.role,
                   email=u.email, disabled=u.disabled,
                   last_login_at=u.last_login_at.isoformat() if u.last_login_at else None)


@router.get("/users", responses=ERRORS)
def list_users(state: State, _user: AdminUser) -> list[UserOut]:
    """Every account."""
    with state.read() as session:
        return [_user_out(u) for u in users.list_users(session)]


@router.post("/users", status_code=201, responses=ERRORS)
def add_user(state: State, user: AdminUser, body: UserIn) -> Password:
    """Add an account with a random password, returned once."""
    with state.write() as session:
        created, password = users.create(session, username=body.username, role=body.role,
                                          actor=user.username, display_name=body.display_name,
                                          email=body.email)
        return Password(username=created.username, password=password)


@router.post("/users/{username}/disable", responses=ERRORS)
def disable_user(state: State, user: AdminUser, username: Username,
                 enable: bool = False) -> UserOut:
    """Disable (or with enable=true re-enable) an account."""
    if username == user.username and not enable:
        raise actions.BadInput("you cannot disable your own account")
    with state.write() as session:
        return _user_out(users.set_disabled(session, username=username, actor=user.username,
                                            disabled=not enable))


@router.post("/users/{username}/unlock", responses=ERRORS)
def unlock_user(state: State, user: AdminUser, username: Username) -> UserOut:
    """Lift the account's login lockout, from every address."""
    with state.write() as session:
        return _user_out(users.unlock(session, username=username, actor=user.username))


@router.post("/users/{username}/reset-password", responses=ERRORS)
def reset_password(state: State, user: AdminUser, username: Username) -> Password:
    """A new random password, returned once."""
    with state.write() as session:
        _u, password = users.reset_password(session, username=username, actor=user.username)
    return Password(username=username, password=password)
