"""The records pages: legal holds, safeguarding records due for review, people's rights."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from monitor.models import Channel, LegalHold, SafeguardingReview
from monitor.records import holds, reviews, rights
from monitor.records.errors import NotFound, RecordsError
from monitor.web.actions import BadInput
from monitor.web.deps import MAX_ID, AlertId, DslUser, HoldUser, RightsUser, State, Text
from monitor.web.views import flash, render

router = APIRouter(include_in_schema=False)

Reason = Annotated[Text, Form(max_length=holds.MAX_REASON)]
PlatformField = Annotated[Text, Form(min_length=1, max_length=32)]
AuthorField = Annotated[Text, Form(min_length=1, max_length=255)]


# --- legal holds -------------------------------------------------------------------------------


@router.get("/admin/holds")
def holds_page(request: Request, state: State, user: HoldUser) -> Response:
    """Legal holds in force and lifted, with forms to set and lift them."""
    with state.read() as session:
        rows = list(session.execute(select(LegalHold).order_by(
            LegalHold.released_at.is_not(None), LegalHold.id.desc()).limit(500)).scalars())
        channels = {c.id: c.name for c in session.execute(select(Channel)).scalars()}
    return render(request, state, user, "records_holds.html", {
        "holds": rows, "channels": channels, "max_reason": holds.MAX_REASON,
    }, nav="records")


@router.post("/admin/holds")
def holds_add(
    request: Request, state: State, user: HoldUser,
    scope: Annotated[Text, Form(max_length=16)],
    reason: Reason,
    target: Annotated[Text, Form(max_length=255)] = "",
    platform: Annotated[Text, Form(max_length=32)] = "",
) -> Response:
    """Set a hold on an alert (its number), a channel (its name) or an author (platform + id)."""
    value = target.strip()
    try:
        kwargs: dict[str, Any]
        if scope == "alert":
            if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
                raise RecordsError("target: give the alert's number")
            kwargs = {"alert_id": int(value)}
        elif scope == "channel":
            kwargs = {"channel": value}
        elif scope == "author":
            kwargs = {"platform": platform.strip(), "author_id": value}
        else:
            raise RecordsError("scope: choose alert, channel or author")
        with state.write() as session:
            hold = holds.set_hold(session, actor=user.username, role=user.role, reason=reason,
                                  **kwargs)
            hold_id = hold.id
    except RecordsError as exc:
        flash(request, "error", str(exc))
    else:
        flash(request, "ok", f"Legal hold #{hold_id} set.")
    return RedirectResponse("/admin/holds", status_code=303)


@router.post("/admin/holds/{hold_id}/release")
def holds_release(request: Request, state: State, user: HoldUser,
                  hold_id: Annotated[int, Path(ge=1, le=2**31 - 1)], reason: Reason) -> Response:
    """Lift a hold, with a reason."""
    try:
        with state.write() as session:
            holds.release_hold(session, hold_id=hold_id, actor=user.username, role=user.role,
                               reason=reason)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except RecordsError as exc:
        flash(request, "error", str(exc))
    else:
        flash(request, "ok", f"Legal hold #{hold_id} lifted.")
    return RedirectResponse("/admin/holds", status_code=303)


# --- safeguarding records due for review -------------------------------------------------------


@router.get("/records/reviews")
def reviews_page(request: Request, state: State, user: DslUser) -> Response:
    """Safeguarding records past their period: the DSL signs each off before it may go."""
    with state.read() as session:
        due = reviews.due(session)
        done = list(session.execute(select(SafeguardingReview).where(
            SafeguardingReview.signed_off_at.is_not(None))
            .order_by(SafeguardingReview.signed_off_at.desc()).limit(50)).scalars())
    return render(request, state, user, "records_reviews.html",
                  {"due": due, "done": done, "max_reason": holds.MAX_REASON}, nav="records")


@router.post("/records/reviews/{alert_id}/sign-off")
def reviews_sign_off(request: Request, state: State, user: DslUser, alert_id: AlertId,
                     reason: Reason) -> Response:
    """Sign off one record: it goes at the next purge (unless a legal hold keeps it)."""
    try:
        with state.write() as session:
            reviews.sign_off(session, alert_id=alert_id, actor=user.username, role=user.role,
                             reason=reason)
    except RecordsError as exc:
        flash(request, "error", str(exc))
    else:
        flash(request, "ok", f"Alert {alert_id} signed off: its record goes at the next purge.")
    return RedirectResponse("/records/reviews", status_code=303)


# --- people's rights ---------------------------------------------------------------------------


@router.get("/admin/people")
def people_page(
    request: Request, state: State, user: RightsUser,
    platform: Annotated[Text, Query(max_length=32)] = "",
    author: Annotated[Text, Query(max_length=255)] = "",
) -> Response:
    """Find an author; see what an erasure would do; export or erase."""
    plan: dict[int, str] | None = None
    if platform.strip() and author.strip():
        with state.read() as session:
            plan = rights.plan_erasure(session, platform.strip(), author.strip())
    return render(request, state, user, "records_people.html", {
        "platform": platform.strip(), "author": author.strip(), "plan": plan, "done": None,
    }, nav="records")


@router.get("/admin/people/export.json")
def people_export(
    state: State, user: RightsUser,
    platform: Annotated[Text, Query(min_length=1, max_length=32)],
    author: Annotated[Text, Query(min_length=1, max_length=255)],
) -> Response:
    """Download everything socmon holds about the author (audited)."""
    try:
        with state.write() as session:
            document = rights.export_author(session, platform=platform, author_id=author,
                                            actor=user.username, role=user.role)
    except RecordsError as exc:
        raise BadInput(str(exc)) from None
    body = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": 'attachment; filename="socmon-subject-export.json"'})


@router.post("/admin/people/erase")
def people_erase(
    request: Request, state: State, user: RightsUser,
    platform: PlatformField, author: AuthorField,
    confirm: Annotated[Text, Form(max_length=255)] = "",
) -> Response:
    """Erase the author's data (confirmed by typing the author id again); report each item."""
    if confirm.strip() != author.strip():
        raise BadInput("confirm: type the author id again to confirm the erasure")
    try:
        with state.write() as session:
            result = rights.erase_author(session, platform=platform, author_id=author,
                                         actor=user.username, role=user.role)
    except RecordsError as exc:
        raise BadInput(str(exc)) from None
    return render(request, state, user, "records_people.html", {
        "platform": platform.strip(), "author": author.strip(), "plan": None,
        "done": result.outcomes, "audit_seq": result.audit_seq,
    }, nav="records")
