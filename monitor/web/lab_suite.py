"""The policy test suite's pages, and the one click that turns an alert into a test case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from classifiers.base import Label
from monitor.policy_suite import cases as suite_cases
from monitor.policy_suite import service
from monitor.policy_suite.run import run_suite
from monitor.web import actions
from monitor.web.deps import ActorUser, AlertId, CurrentUser, StaffUser, State, Text
from monitor.web.views import flash, render

router = APIRouter()
LABELS = [label.value for label in Label]


@router.post("/alerts/{alert_id}/suite-case")
def alert_to_case(
    request: Request, state: State, user: ActorUser, alert_id: AlertId,
    confirmed: Annotated[list[Text] | None, Form(max_length=len(LABELS))] = None,
    choose: Annotated[bool, Form()] = False,
) -> Response:
    """One click: the alert becomes a policy test case (clean for a false alarm; else the
    labels left ticked, when the form offered a choice)."""
    try:
        with state.write() as session:
            actions.check_lane(session, alert_id=alert_id, viewer=user)
            # unticking every box sends no `confirmed` at all: `choose` tells it from "default"
            case = service.case_from_alert(session, alert_id=alert_id, actor=user.username,
                                           confirmed=(confirmed or []) if choose else None)
    except suite_cases.BadCase as exc:
        flash(request, "error", str(exc))
    else:
        flash(request, "ok", f"Added to the policy test suite as {case.id} "
                             f"(expects {case.expected()}).")
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


def _page(request: Request, state: State, user: CurrentUser, *,
          results: dict[str, Any] | None = None) -> Response:
    with state.read() as session:
        every = suite_cases.all_cases(session)
    return render(request, state, user, "lab_suite.html", {
        "cases": [(c, suite_cases.may_read(user.role, c)) for c in every],
        "labels": LABELS, "results": results,
    }, nav="suite")


@router.get("/lab/suite")
def suite_page(request: Request, state: State, user: StaffUser) -> Response:
    """The suite: every case (safeguarding cases' text only for the lane's roles)."""
    return _page(request, state, user)


@router.post("/lab/suite")
def suite_add(
    request: Request, state: State, user: ActorUser,
    text: Annotated[Text, Form(max_length=service.MAX_TEXT)],
    clause: Annotated[Text, Form(max_length=service.MAX_CLAUSE)],
    must: Annotated[list[Text] | None, Form(max_length=len(LABELS))] = None,
    must_not: Annotated[list[Text] | None, Form(max_length=len(LABELS))] = None,
    clean: Annotated[bool, Form()] = False,
) -> Response:
    """Write a case by hand."""
    if clean:
        must, must_not = suite_cases.clean_expectation()
    try:
        with state.write() as session:
            case = service.add_case(session, text=text, must=must or [], must_not=must_not or [],
                                    clause=clause, actor=user.username)
    except suite_cases.BadCase as exc:
        flash(request, "error", str(exc))
    else:
        flash(request, "ok", f"Added {case.id}.")
    return RedirectResponse("/lab/suite", status_code=303)


@router.post("/lab/suite/run")
def suite_run(request: Request, state: State, user: ActorUser) -> Response:
    """Run the suite against the live classifier and show what fails."""
    classifier = state.runtime.classifier
    with state.read() as session:
        run = run_suite(session, classifier)
    return _page(request, state, user, results={
        "total": run.total, "version": classifier.version,
        "failures": [(f, suite_cases.may_read(user.role, f.case)) for f in run.failures],
        "fixed": [c.id for c in run.fixed_gaps]})
