"""The removal requests page: the list with deadlines for staff, the form and actions for actors."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException

from connectors.base import Action
from monitor import alerts, removals
from monitor.models import utcnow
from monitor.removals import queries
from monitor.web.actions import BadInput, check_lane
from monitor.web.deps import MAX_ID, ActorUser, StaffUser, State, Text
from monitor.web.views import flash, render

router = APIRouter(include_in_schema=False)
RequestId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: free text fields of the form (the service checks them again and says which is wrong)
LongText = Annotated[Text, Form(max_length=4000)]


@router.get("/removals")
def removals_page(request: Request, state: State, user: StaffUser,
                  status: Annotated[Literal["open", "done", "all"], Query()] = "open") -> Response:
    """Removal requests, the nearest deadline first; who asked only for those who work them."""
    with state.read() as session:
        rows = queries.list_requests(session, status=status, now=utcnow(), role=user.role)
        counts = queries.counts(session)
    return render(request, state, user, "removals.html",
                  {"rows": rows, "status": status, "counts": counts,
                   "deadline": state.runtime.settings.removals.deadline,
                   "methods": list(removals.ContactMethod)}, nav="removals")


def _back(request_id: int | None = None) -> RedirectResponse:
    anchor = f"#removal-{request_id}" if request_id else ""
    return RedirectResponse("/removals" + anchor, status_code=303)


@router.post("/removals")
def removals_add(
    request: Request, state: State, user: ActorUser,
    requester: Annotated[Text, Form(max_length=255)],
    requester_role: Annotated[Text, Form(max_length=64)],
    what: LongText, reason: LongText,
    url: Annotated[Text, Form(max_length=removals.MAX_URL)] = "",
    item_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    action: Annotated[Literal["delete", "hide"], Form()] = "delete",
) -> Response:
    """Record a request; one on a watched item is taken down at once."""
    if not url.strip() and item_id is None:
        raise BadInput("url: give the page's address (or a watched item's id)")
    try:
        with state.write() as session:
            item = removals.watched_item(session, url=url.strip() or None, item_id=item_id)
            existing = removals.alert_of(session, item.id) if item is not None else None
            if existing is not None:
                # The lane's rule for alert actions: only the DSL acts on safeguarding items.
                check_lane(session, alert_id=existing, viewer=user)
            created = removals.add(
                session, config=state.runtime.settings.removals, actor=f"web:{user.username}",
                requester=removals.Requester(requester, requester_role, what, reason),
                url=url.strip() or None, item_id=item_id, action=Action(action))
            request_id, alert_id = created.id, created.alert_id
    except (removals.RemovalError, alerts.InvalidTransition) as exc:
        raise BadInput(str(exc)) from None
    flash(request, "ok", f"Removal request {request_id} recorded"
          + (f": the takedown is queued (alert {alert_id})." if alert_id else
             ": record each approach to the host below."))
    return _back(request_id)


@router.post("/removals/{request_id}/contact")
def removals_contact(request: Request, state: State, user: ActorUser, request_id: RequestId,
                     note: LongText,
                     method: Annotated[removals.ContactMethod, Form()] = (
                         removals.ContactMethod.EMAIL)) -> Response:
    """Record an approach to the host of a page elsewhere."""
    try:
        with state.write() as session:
            removals.contact(session, request_id=request_id, actor=f"web:{user.username}",
                             method=method, note=note)
    except removals.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except removals.RemovalError as exc:
        raise BadInput(str(exc)) from None
    flash(request, "ok", f"Contact recorded on removal request {request_id}.")
    return _back(request_id)


@router.post("/removals/{request_id}/confirm")
def removals_confirm(request: Request, state: State, user: ActorUser, request_id: RequestId,
                     note: LongText) -> Response:
    """Confirm a page elsewhere is gone: the request closes."""
    try:
        with state.write() as session:
            removals.confirm(session, request_id=request_id, actor=f"web:{user.username}",
                             note=note)
    except removals.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except removals.RemovalError as exc:
        raise BadInput(str(exc)) from None
    flash(request, "ok", f"Removal request {request_id} confirmed gone and closed.")
    return _back(request_id)
