"""The policy lab's pages: organisation rules, the candidate's shadow runs, promote and discard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.base import Label, Severity
from classifiers.org_rules import RuleKind
from monitor.lab import candidates, rules, shadow
from monitor.lab.backtest import BacktestError, Change, Report, backtest
from monitor.live_policy import live_policy
from monitor.models import AuditEvent, Item
from monitor.runtime import load_names
from monitor.web.actions import BadInput
from monitor.web.deps import CurrentUser, OversightUser, PolicyUser, State, Text, WebState
from monitor.web.views import flash, render

router = APIRouter(include_in_schema=False)
ReasonField = Annotated[Text, Form(max_length=rules.MAX_REASON)]
#: rule ids are INTEGER on both databases
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]
#: how many lab events the page lists
HISTORY = 30


def _texts(session: Session, report: Report, viewer: CurrentUser) -> dict[int, str | None]:
    """The text of each listed change; None where it is safeguarding and the viewer may not
    read safeguarding content (monitor.people.roles decides who may)."""
    changes: list[Change] = [*report.newly_flagged, *report.stopped]
    ids = [c.item_id for c in changes]
    found = dict(session.execute(select(Item.id, Item.text).where(Item.id.in_(ids))).all())
    out: dict[int, str | None] = {}
    for change in changes:
        hidden = Label.SAFEGUARDING.value in {*change.labels, *change.live_labels}
        out[change.item_id] = None if hidden and not viewer.sees_safeguarding else found.get(
            change.item_id)
    return out


def _page(request: Request, state: WebState, user: CurrentUser, *, weeks: int | None,
          refused: list[str] | None = None, status: int = 200) -> Response:
    runtime = state.runtime
    with state.read() as session:
        candidate = candidates.current_candidate(session)
        context: dict[str, Any] = {
            "rules": rules.current(session), "candidate": candidate,
            "live": live_policy(session, runtime.settings), "weeks": weeks or 8,
            "kinds": [k.value for k in RuleKind], "labels": [v.value for v in Label],
            "severities": [s.value for s in Severity if s.rank > 0], "refused": refused or [],
            "report": None, "texts": {}, "shadow": None, "shadow_texts": {},
            "events": list(session.execute(
                select(AuditEvent).where(AuditEvent.action.like("lab.%"))
                .order_by(AuditEvent.seq.desc()).limit(HISTORY)).scalars()),
        }
        if weeks is not None:
            try:
                report = backtest(session, runtime.settings,
                                  candidates.as_candidate(session, candidate), weeks=weeks,
                                  names=load_names(session))
            except BacktestError as exc:
                raise BadInput(str(exc)) from None
            context["report"], context["texts"] = report, _texts(session, report, user)
        if candidate is not None and candidate.shadow_from is not None:
            live_shadow = shadow.report(session, runtime, candidate)
            context["shadow"] = live_shadow
            context["shadow_texts"] = _texts(session, live_shadow, user)
    return render(request, state, user, "lab.html", context, status=status, nav="lab")


@router.get("/lab")
def lab_page(request: Request, state: State, user: OversightUser,
             weeks: Annotated[int | None, Query(ge=1, le=520)] = None) -> Response:
    """The lab: live and draft rules, the candidate, and its back-test when `weeks` is given."""
    return _page(request, state, user, weeks=weeks)


def _input(kind: str, text: str, label: str, severity: str, queue: str,
           platform: str) -> rules.RuleInput:
    return rules.RuleInput(kind=kind, text=text, label=label, severity=severity, queue=queue,
                           platform=platform)


@router.post("/lab/rules")
def lab_add_rule(request: Request, state: State, user: PolicyUser,
                 kind: Annotated[Text, Form(max_length=16)],
                 text: Annotated[Text, Form(max_length=rules.MAX_TEXT)],
                 label: Annotated[Text, Form(max_length=32)],
                 severity: Annotated[Text, Form(max_length=16)], reason: ReasonField,
                 queue: Annotated[Text, Form(max_length=32)] = "",
                 platform: Annotated[Text, Form(max_length=32)] = "") -> Response:
    """Add a rule as a draft."""
    try:
        with state.write() as session:
            row = rules.add(session, _input(kind, text, label, severity, queue, platform),
                            reason=reason, actor=user.username)
            ident = row.rule_id
    except rules.RuleError as exc:
        raise BadInput(str(exc)) from None
    flash(request, "ok", f"Rule {ident} added as a draft: run it in shadow before promoting")
    return RedirectResponse("/lab", status_code=303)


@router.post("/lab/rules/{rule_id}")
def lab_edit_rule(request: Request, state: State, user: PolicyUser, rule_id: RuleId,
                  text: Annotated[Text, Form(max_length=rules.MAX_TEXT)],
                  label: Annotated[Text, Form(max_length=32)],
                  severity: Annotated[Text, Form(max_length=16)], reason: ReasonField,
                  queue: Annotated[Text, Form(max_length=32)] = "") -> Response:
    """A new draft version of a rule."""
    try:
        with state.write() as session:
            old = rules.history(session, rule_id)[-1]
            rules.edit(session, rule_id, _input(old.kind, text, label, severity, queue,
                                                old.platform), reason=reason, actor=user.username)
    except rules.UnknownRule as exc:
        raise BadInput(str(exc)) from None
    except rules.RuleError as exc:
        raise BadInput(str(exc)) from None
    flash(request, "ok", f"Rule {rule_id} edited as a draft")
    return RedirectResponse("/lab", status_code=303)


@router.post("/lab/rules/{rule_id}/remove")
def lab_remove_rule(request: Request, state: State, user: PolicyUser, rule_id: RuleId,
                    reason: ReasonField) -> Response:
    """A draft that takes a rule out once promoted."""
    try:
        with state.write() as session:
            rules.remove(session, rule_id, reason=reason, actor=user.username)
    except rules.RuleError as exc:
        raise BadInput(str(exc)) from None
    flash(request, "ok", f"Rule {rule_id}: its removal is a draft until promoted")
    return RedirectResponse("/lab", status_code=303)


@router.post("/lab/settings")
def lab_settings(request: Request, state: State, user: PolicyUser,
                 sensitivity: Annotated[Text, Form(max_length=8)] = "",
                 thresholds: Annotated[Text, Form(max_length=400)] = "",
                 model_version: Annotated[Text, Form(max_length=64)] = "") -> Response:
    """Put a sensitivity, thresholds (`label=value, ...`) or a model version in the candidate."""
    try:
        value = float(sensitivity) if sensitivity.strip() else None
        cuts: dict[Label, float] = {}
        for part in filter(None, (p.strip() for p in thresholds.split(","))):
            name, _, number = part.partition("=")
            cuts[Label(name.strip())] = float(number)
    except ValueError:
        raise BadInput("sensitivity is a number; thresholds read like 'abuse=0.6, spam=0.4' "
                       f"with labels from: {', '.join(v.value for v in Label)}") from None
    try:
        with state.write() as session:
            candidates.set_settings(session, sensitivity=value, thresholds=cuts,
                                    model_version=model_version.strip() or None,
                                    actor=user.username)
    except candidates.LabError as exc:
        raise BadInput(str(exc)) from None
    flash(request, "ok", "The candidate's settings are saved")
    return RedirectResponse("/lab", status_code=303)


@router.post("/lab/shadow")
def lab_shadow(request: Request, state: State, user: PolicyUser,
               hours: Annotated[float, Form(gt=0, le=24 * 28)]) -> Response:
    """Shadow the candidate on live traffic for a while."""
    try:
        with state.write() as session:
            candidates.start_shadow(session, hours=hours, actor=user.username)
    except candidates.LabError as exc:
        raise BadInput(str(exc)) from None
    flash(request, "ok", "The candidate now shadows live traffic; it opens no alerts")
    return RedirectResponse("/lab", status_code=303)


@router.post("/lab/promote")
def lab_promote(request: Request, state: State, user: PolicyUser,
                reason: ReasonField) -> Response:
    """Promote the candidate if every gate passes; a refusal shows the failing cases."""
    try:
        with state.write() as session:
            candidates.promote(session, state.runtime.settings, names=load_names(session),
                               reason=reason, actor=user.username)
    except candidates.PromotionRefused as exc:
        return _page(request, state, user, weeks=None, refused=exc.failures, status=409)
    except candidates.LabError as exc:
        raise BadInput(str(exc)) from None
    flash(request, "ok", "Promoted: the daemon applies it from its next poll")
    return RedirectResponse("/lab", status_code=303)


@router.post("/lab/discard")
def lab_discard(request: Request, state: State, user: PolicyUser,
                reason: ReasonField) -> Response:
    """Discard the candidate and its draft rules."""
    try:
        with state.write() as session:
            candidates.discard(session, reason=reason, actor=user.username)
    except candidates.LabError as exc:
        raise BadInput(str(exc)) from None
    flash(request, "ok", "Discarded")
    return RedirectResponse("/lab", status_code=303)
