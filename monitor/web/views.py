"""The server-rendered pages: login, queue, item view, safeguarding lane, oversight, accounts."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse, StreamingResponse
from pydantic import Field
from sqlalchemy import select

from monitor import alerts, evidence_pack, users
from monitor.models import AuditEvent, User, utcnow
from monitor.people.roles import ACTORS, DSL, Role
from monitor.web import actions, lab_panels, queries
from monitor.web.charts import stacked_bars
from monitor.web.deps import (
    MAX_ID,
    ActorUser,
    AdminUser,
    AlertId,
    CurrentUser,
    DslUser,
    Forbidden,
    OversightUser,
    StaffUser,
    State,
    Text,
    Username,
    WebState,
)

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A local path to return to after login or an action (never another site)."""
    if (not target or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(c) < 32 for c in target)):
        return "/"
    return target


def login_url(target: str) -> str:
    """The login page, remembering where to go afterwards."""
    return "/login?" + urlencode({"next": safe_next(target)})


def flash(request: Request, level: str, message: str) -> None:
    """A message shown once on the next page (our own words only, never comment text)."""
    request.session.setdefault("flash", []).append([level, message])


def render(request: Request, state: WebState, user: CurrentUser | None, template: str,
           context: dict[str, Any], *, status: int = 200, nav: str = "") -> Response:
    """A page with the user, the CSRF token, the flashes and the navigation."""
    flashes = request.session.pop("flash", []) if "session" in request.scope else []
    return state.templates.TemplateResponse(
        request, template,
        {"user": user, "csrf": request.scope["csrftoken"](), "flashes": flashes, "nav": nav,
         "now_utc": utcnow(), **context},
        status_code=status)


def _qs(params: dict[str, Any], **changes: Any) -> str:
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "", False)})


# --- sign in ----------------------------------------------------------------------------------


@router.get("/healthz")
def healthz() -> PlainTextResponse:
    """Liveness for load balancers; says nothing about data."""
    return PlainTextResponse("ok")


@router.get("/api/docs")
def api_docs(request: Request, state: State) -> Response:
    """The JSON API's operations and a link to its OpenAPI description (works offline)."""
    paths: dict[str, dict[str, dict[str, Any]]] = request.app.openapi()["paths"]
    operations = [(method.upper(), path, op.get("summary", ""))
                  for path, item in paths.items() for method, op in item.items()]
    return render(request, state, None, "api_docs.html", {"operations": operations})


@router.get("/login")
def login_form(request: Request, state: State,
               next: Annotated[Text, Query(max_length=2000)] = "/") -> Response:
    """The sign-in form."""
    return render(request, state, None, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    state: State,
    username: Annotated[Text, Form(max_length=64)],
    password: Annotated[Text, Form(max_length=users.MAX_PASSWORD)],
    next: Annotated[Text, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password (rate-limited per username and per address) and start a session."""
    address = request.client.host if request.client else "unknown"
    target = safe_next(next)
    name = users.normalise(username)
    with state.read() as session:
        lockout = users.lockout_epoch(session, username=name)
    if not state.limiter.allowed(address, name, lockout):
        log.warning("login rate limit reached for %s from %s", name[:64], address)
        return render(request, state, None, "login.html",
                      {"next": target, "error": "Too many attempts. Wait 15 minutes and try "
                                                "again, or ask an administrator."},
                      status=429)
    try:
        with state.write() as session:
            user = users.authenticate(session, username=name, password=password)
            uid, epoch = user.id, users.session_epoch(session, user)
    except users.AuthenticationFailed:
        state.limiter.failed(address, name, lockout)
        log.info("failed login for %s from %s", name[:64], address)
        return render(request, state, None, "login.html",
                      {"next": target, "error": "Wrong username or password."}, status=401)
    state.limiter.succeeded(address, name, lockout)
    request.session.clear()
    request.session.update({"uid": uid, "epoch": epoch})
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, state: State, user: StaffUser) -> Response:
    """End the user's sessions on the server (a kept copy of the cookie stops working too)."""
    with state.write() as session:
        users.sign_out(session, user_id=user.id)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(user: StaffUser) -> Response:
    """Each role's landing page."""
    if user.role is Role.MANAGER:
        return RedirectResponse("/dashboard", status_code=303)
    if user.role is Role.SAFEGUARDING_LEAD:
        return RedirectResponse("/safeguarding", status_code=303)
    return RedirectResponse("/queue", status_code=303)


# --- queue ------------------------------------------------------------------------------------


@router.get("/queue")
def queue(request: Request, state: State, user: StaffUser,
          params: Annotated[queries.QueueParams, Query()]) -> Response:
    """The flagged queue with filters, search and bulk actions."""
    with state.read() as session:
        page = queries.queue_page(session, params, viewer=user)
        choices = queries.filter_choices(session)
        failed = queries.failed_takedowns(session)
    current = params.model_dump(mode="json", exclude_defaults=True)
    current.pop("page", None)
    return render(request, state, user, "queue.html", {
        "page": page, "params": params, "choices": choices, "failed": failed,
        "prev_qs": _qs(current, page=page.page - 1) if page.page > 1 else None,
        "next_qs": _qs(current, page=page.page + 1) if page.has_next else None,
        "back": request.url.path + ("?" + request.url.query if request.url.query else ""),
        "reasons": [r.value for r in alerts.DismissReason],
    }, nav="queue")


@router.post("/queue/bulk")
def queue_bulk(
    request: Request, state: State, user: ActorUser,
    action: Annotated[actions.BulkAction, Form()],
    ids: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Form(max_length=500)] = [],  # noqa: B006 - FastAPI reads it
    reason: Annotated[Text | None, Form(max_length=32)] = None,
    back: Annotated[Text, Form(max_length=2000)] = "/queue",
) -> Response:
    """One action on the ticked alerts (a spam wave): each alert audited on its own."""
    target = safe_next(back)
    if not ids:
        flash(request, "error", "Tick at least one alert first.")
        return RedirectResponse(target, status_code=303)
    try:
        actions.dismiss_reason_check(reason, action)
    except actions.BadInput as exc:
        flash(request, "error", str(exc))
        return RedirectResponse(target, status_code=303)
    with state.write() as session:
        result = actions.bulk(session, alert_ids=ids, viewer=user, action=action, reason=reason)
    msg = f"{action.value}: {len(result.done)} alert(s) done"
    if result.skipped:
        msg += f", {len(result.skipped)} skipped ({'; '.join(list(result.skipped.values())[:3])})"
    flash(request, "ok" if not result.skipped else "error", msg)
    return RedirectResponse(target, status_code=303)


# --- item view and actions ---------------------------------------------------------------------


def _assignable(state: WebState, *, safeguarding: bool) -> list[str]:
    roles = DSL if safeguarding else ACTORS
    with state.read() as session:
        return list(session.execute(
            select(User.username).where(User.disabled.is_(False),
                                        User.role.in_([r.value for r in roles]))
            .order_by(User.username)).scalars())


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, state: State, user: StaffUser, alert_id: AlertId) -> Response:
    """One alert: text with highlighted spans, reasons, thread, author history, audit, actions."""
    with state.read() as session:
        view = queries.alert_view(session, state.runtime, alert_id=alert_id, viewer=user)
        lab = lab_panels.alert_extras(session, view.alert, user)
    effects = {c.action.value: c.effect for c in view.capabilities}
    return render(request, state, user, "alert.html", {
        "v": view, "a": view.alert, "effects": effects, "lab": lab,
        "reasons": [r.value for r in alerts.DismissReason],
        "targets": [t.value for t in alerts.EscalationTarget],
        "assignable": _assignable(state, safeguarding=view.safeguarding) if user.can_act else [],
        "may_act": user.can_act and not view.restricted,
    }, nav="safeguarding" if view.safeguarding and user.sees_safeguarding else "queue")


@router.post("/alerts/{alert_id}/act")
def alert_act(
    request: Request, state: State, user: ActorUser, alert_id: AlertId,
    action: Annotated[actions.ActionName, Form()],
    reason: Annotated[Text | None, Form(max_length=32)] = None,
    to: Annotated[Text | None, Form(max_length=32)] = None,
    note: Annotated[Text | None, Form(max_length=actions.MAX_NOTE + 100)] = None,
    assignee: Annotated[Text | None, Form(max_length=64)] = None,
) -> Response:
    """Claim, release, assign, hide, delete, dismiss, escalate or note; then back to the item."""
    try:
        with state.write() as session:
            change = actions.perform(session, alert_id=alert_id, viewer=user, action=action,
                                     data=actions.ActionInput(reason=reason, to=to, note=note,
                                                              assignee=assignee))
    except (alerts.InvalidTransition, actions.BadInput) as exc:
        flash(request, "error", str(exc))
    else:
        done = {"hide": "Hide requested: the worker will hide it and re-check.",
                "delete": "Delete requested: the worker will delete it and re-check."}
        flash(request, "ok", done.get(action.value,
                                      f"{action.value}: done (audit event {change.audit_seq})"))
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.post("/alerts/{alert_id}/acknowledge")
def alert_acknowledge(
    request: Request, state: State, user: DslUser, alert_id: AlertId,
    handover: Annotated[Text, Form(max_length=actions.MAX_NOTE + 100)] = "",
) -> Response:
    """The DSL acknowledges and records the handover (who, when, what was done outside)."""
    try:
        with state.write() as session:
            actions.acknowledge(session, alert_id=alert_id, viewer=user, handover=handover)
    except (alerts.InvalidTransition, actions.BadInput) as exc:
        flash(request, "error", str(exc))
    else:
        flash(request, "ok", "Acknowledged; the handover is recorded.")
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


def evidence_zip(state: WebState, user: CurrentUser, alert_id: AlertId) -> Response:
    """The evidence pack ZIP for an alert (shared by the page button and the API).

    `build_pack` records the export, with the manifest's hash, in the audit trail.
    """
    with state.write() as session:
        actions.check_lane(session, alert_id=alert_id, viewer=user)
        data = evidence_pack.build_pack(session, alert_id=alert_id, actor=user.username)
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="socmon-alert-{alert_id}-evidence.zip"'})


@router.get("/alerts/{alert_id}/evidence.zip")
def alert_evidence(state: State, user: ActorUser, alert_id: AlertId) -> Response:
    """Download the evidence pack (audited)."""
    return evidence_zip(state, user, alert_id)


# --- safeguarding lane -------------------------------------------------------------------------


@router.get("/safeguarding")
def safeguarding(request: Request, state: State, user: DslUser,
                 params: Annotated[queries.QueueParams, Query()]) -> Response:
    """The DSL's own queue: safeguarding alerts, those awaiting acknowledgement first."""
    with state.read() as session:
        page = queries.queue_page(session, params, viewer=user, only_safeguarding=True,
                                  unacknowledged_first=True)
    current = params.model_dump(mode="json", exclude_defaults=True)
    current.pop("page", None)
    return render(request, state, user, "safeguarding.html", {
        "page": page, "params": params,
        "prev_qs": _qs(current, page=page.page - 1) if page.page > 1 else None,
        "next_qs": _qs(current, page=page.page + 1) if page.has_next else None,
    }, nav="safeguarding")


# --- oversight ---------------------------------------------------------------------------------


@router.get("/audit")
def audit_log(request: Request, state: State, user: OversightUser,
              params: Annotated[queries.AuditParams, Query()]) -> Response:
    """The audit trail: search, filter by actor, action and date; CSV export."""
    with state.read() as session:
        events, has_next = queries.audit_page(session, params, user)
        actors = list(session.execute(select(AuditEvent.actor).distinct()
                                      .order_by(AuditEvent.actor).limit(200)).scalars())
    current = params.model_dump(mode="json", exclude_defaults=True)
    current.pop("page", None)
    return render(request, state, user, "audit.html", {
        "events": events, "params": params, "actors": actors,
        "csv_qs": _qs(current),
        "prev_qs": _qs(current, page=params.page - 1) if params.page > 1 else None,
        "next_qs": _qs(current, page=params.page + 1) if has_next else None,
    }, nav="audit")


def audit_csv_response(state: WebState, params: queries.AuditParams,
                       viewer: CurrentUser) -> Response:
    """The filtered audit trail as CSV, streamed."""

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["seq", "at", "actor", "action", "target_type", "target_id", "details",
                         "evidence_sha256", "prev_hash", "hash"])
        with state.read() as session:
            for batch in queries.audit_batches(session, params, viewer):
                for e in batch:
                    details = "restricted" if e.redacted else json.dumps(e.details,
                                                                          sort_keys=True)
                    writer.writerow([e.seq, e.at.isoformat(), e.actor, e.action, e.target_type,
                                     e.target_id, details,
                                     e.evidence_sha256 or "", e.prev_hash, e.hash])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="socmon-audit.csv"'})


@router.get("/audit.csv")
def audit_csv(state: State, user: OversightUser,
              params: Annotated[queries.AuditParams, Query()]) -> Response:
    """CSV export of the filtered audit trail."""
    return audit_csv_response(state, params, user)


@router.get("/channels")
def channels(request: Request, state: State, user: StaffUser) -> Response:
    """Channel health: last poll, last error, rate limits, re-authorisation."""
    with state.read() as session:
        rows = queries.channel_health(session, state.runtime)
    return render(request, state, user, "channels.html", {"channels": rows}, nav="channels")


@router.get("/dashboard")
def dashboard(request: Request, state: State, user: StaffUser) -> Response:
    """Flags by label and channel over time, time to action, deadlines met."""
    with state.read() as session:
        data = queries.dashboard(session)
    return render(request, state, user, "dashboard.html", {
        "d": data,
        "by_label": stacked_bars(data["days"], data["by_label"]),
        "by_channel": stacked_bars(data["days"], data["by_channel"]),
    }, nav="dashboard")


# --- accounts ----------------------------------------------------------------------------------


def _users_page(request: Request, state: WebState, user: CurrentUser, *,
                new_password: tuple[str, str] | None = None, status: int = 200) -> Response:
    with state.read() as session:
        rows = users.list_users(session)
    return render(request, state, user, "users.html", {
        "users": rows, "roles": [r.value for r in Role], "new_password": new_password,
    }, status=status, nav="users")


@router.get("/admin/users")
def users_page(request: Request, state: State, user: AdminUser) -> Response:
    """Accounts: add, disable, reset passwords."""
    return _users_page(request, state, user)


@router.post("/admin/users")
def users_add(
    request: Request, state: State, user: AdminUser,
    username: Annotated[Text, Form(max_length=64)],
    role: Annotated[Role, Form()],
    display_name: Annotated[Text, Form(max_length=128)] = "",
    email: Annotated[Text, Form(max_length=255)] = "",
) -> Response:
    """Add an account; its password is shown once on this page."""
    try:
        with state.write() as session:
            created, password = users.create(session, username=username, role=role,
                                              actor=user.username, display_name=display_name,
                                              email=email or None)
            name = created.username
    except users.UserError as exc:
        flash(request, "error", str(exc))
        return RedirectResponse("/admin/users", status_code=303)
    return _users_page(request, state, user, new_password=(name, password))


@router.post("/admin/users/{username}/disable")
def users_disable(request: Request, state: State, user: AdminUser, username: Username,
                  enable: Annotated[bool, Form()] = False) -> Response:
    """Disable or re-enable an account."""
    if username == user.username and not enable:
        flash(request, "error", "You cannot disable your own account.")
        return RedirectResponse("/admin/users", status_code=303)
    with state.write() as session:
        users.set_disabled(session, username=username, actor=user.username, disabled=not enable)
    flash(request, "ok", f"{username} {'enabled' if enable else 'disabled'}.")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/unlock")
def users_unlock(request: Request, state: State, user: AdminUser, username: Username) -> Response:
    """Lift the account's login lockout, from every address."""
    with state.write() as session:
        users.unlock(session, username=username, actor=user.username)
    flash(request, "ok", f"{username}: lockout lifted.")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/reset-password")
def users_reset(request: Request, state: State, user: AdminUser, username: Username) -> Response:
    """A new random password, shown once."""
    with state.write() as session:
        _u, password = users.reset_password(session, username=username, actor=user.username)
    return _users_page(request, state, user, new_password=(username, password))


__all__ = ["Forbidden", "login_url", "router"]
