"""Adding cases to the organisation's suite, by hand or from an alert in one click; audited.

The case's text is comment text: the audit trail keeps its hash, never the text.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.alerts import DismissReason, policy
from monitor.alerts import get as get_alert
from monitor.models import AlertState, Item, PolicyCase, utcnow
from monitor.policy_suite.cases import (
    BadCase,
    Case,
    check_labels,
    clean_expectation,
    is_safeguarding_case,
    org_case,
)
from monitor.series.signals import SERIES_MODEL_PREFIX

MAX_TEXT = 10_000
MAX_CLAUSE = 500
#: a dismissal for these reasons says the alert was a false alarm: its case expects clean
FALSE_ALARM = frozenset({DismissReason.FALSE_POSITIVE.value, DismissReason.NOT_A_BREACH.value})


def _record(session: Session, row: PolicyCase, *, actor: str) -> Case:
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="policy_case.add", target_type="policy_case",
                 target_id=row.id, details={
                     "text_sha256": audit.sha256_hex(row.text), "must": row.must,
                     "must_not": row.must_not, "known_gap": row.known_gap is not None,
                     "source_alert_id": row.source_alert_id})
    return org_case(row)


def add_case(session: Session, *, text: str, must: Sequence[str], must_not: Sequence[str],
             clause: str, actor: str, known_gap: str | None = None) -> Case:
    """Write a case by hand (never commits); BadCase when it cannot be a test."""
    text, clause = text.strip(), clause.strip()
    if not text or len(text) > MAX_TEXT:
        raise BadCase(f"the text must have 1 to {MAX_TEXT} characters")
    if not clause or len(clause) > MAX_CLAUSE:
        raise BadCase(f"name the clause or note the case tests (1 to {MAX_CLAUSE} characters)")
    checked_must, checked_not = check_labels(must, must_not)
    if not checked_must and not checked_not:
        raise BadCase("a case must expect or forbid at least one label")
    row = PolicyCase(text=text, must=checked_must, must_not=checked_not, clause=clause,
                     known_gap=(known_gap or "").strip()[:MAX_CLAUSE] or None,
                     safeguarding=is_safeguarding_case(checked_must), created_by=actor,
                     created_at=utcnow())
    return _record(session, row, actor=actor)


def case_for_alert(session: Session, alert_id: int) -> Case | None:
    """The case already made from an alert, if any."""
    row = session.execute(select(PolicyCase).where(PolicyCase.source_alert_id == alert_id)
                          ).scalar_one_or_none()
    return None if row is None else org_case(row)


def case_from_alert(session: Session, *, alert_id: int, actor: str,
                    confirmed: Sequence[str] | None = None) -> Case:
    """Turn an alert into a case (never commits): a false alarm expects clean; otherwise the
    labels the moderator confirms (default: the alert's) are expected and the alert's other
    labels forbidden. Raises monitor.alerts.NotFound or BadCase."""
    alert = get_alert(session, alert_id)
    if case_for_alert(session, alert_id) is not None:
        raise BadCase(f"alert {alert_id} is already a test case")
    if alert.verdict.model_version.startswith(SERIES_MODEL_PREFIX):
        raise BadCase("a series alert is about several comments together; a test case takes "
                      "one comment")
    labels = [str(x) for x in alert.labels or ()]
    false_alarm = alert.state == AlertState.DISMISSED and alert.resolution in FALSE_ALARM
    if false_alarm:
        must, must_not = clean_expectation()
        clause = f"false alarm: alert #{alert_id} was dismissed as {alert.resolution}"
    else:
        chosen = labels if confirmed is None else [str(x) for x in confirmed]
        if not chosen:
            raise BadCase("confirm at least one label, or dismiss the alert as a false alarm "
                          "to make a case that expects clean")
        must, must_not = check_labels(chosen, [x for x in labels if x not in chosen])
        clause = f"confirmed by a moderator on alert #{alert_id}"
    # The alert's labels are what the live classifier said: if they fail the case, the case
    # starts as a known gap (a target for the next model, not a block on every promotion).
    failed = [x for x in must if x not in labels] + [x for x in must_not if x in labels]
    gap = (f"the classifier that raised alert #{alert_id} said {', '.join(labels) or 'clean'}"
           if failed else None)
    item = session.get_one(Item, alert.item_id)
    lane = policy.is_safeguarding(alert)
    row = PolicyCase(text=item.text[:MAX_TEXT], must=must, must_not=must_not, clause=clause,
                     known_gap=gap, safeguarding=is_safeguarding_case(must, from_lane=lane),
                     source_item_id=item.id, source_alert_id=alert.id, created_by=actor,
                     created_at=utcnow())
    return _record(session, row, actor=actor)


def clear_gap(session: Session, *, case_id: int, actor: str) -> Case:
    """Take a case off the known gaps (the classifier now passes it): from now on it blocks."""
    row = session.get(PolicyCase, case_id)
    if row is None:
        raise BadCase(f"no organisation case org-{case_id}")
    row.known_gap = None
    audit.record(session, actor=actor, action="policy_case.gap_cleared",
                 target_type="policy_case", target_id=row.id, details={})
    return org_case(row)
