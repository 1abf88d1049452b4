"""The alerts domain's rules, each written once, with its SQL twin beside the Python predicate.

- which states are open (someone still has to act), and which alerts the queue calls open;
- what overdue means: one comparison, the deadline strictly passed (acting at it is in time);
- which alerts are in the safeguarding lane, and which escalations move an alert into it;
- the order of alert severities;
- who hears when a deadline is missed or an alert is escalated.

Labels, their order and their default severity are the classifier contract's
(`classifiers.base`); roles and permissions are `monitor.people.roles`. Every predicate here
has a twin building the same test in SQL, and tests/monitor/test_alert_policy.py checks on
SQLite and PostgreSQL that each pair agrees, the deadline's own instant included. A new rule
about alerts goes here, with its twin and a case in that test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, not_, or_
from sqlalchemy.orm import QueryableAttribute

from classifiers.base import Label, Severity
from monitor.models import Alert, AlertState, TakedownStatus
from monitor.people.roles import Role

# --- open ------------------------------------------------------------------------------------

#: states in which an alert still waits for someone; actioned and dismissed are resolved
OPEN_STATES: frozenset[AlertState] = frozenset(
    {AlertState.NEW, AlertState.IN_REVIEW, AlertState.ESCALATED}
)


def is_open(state: str) -> bool:
    """Whether an alert in `state` still waits for someone."""
    return state in OPEN_STATES


def open_sql() -> ColumnElement[bool]:
    """SQL twin of `is_open`."""
    return Alert.state.in_(sorted(s.value for s in OPEN_STATES))


def awaiting_action(state: str, takedown_status: str | None) -> bool:
    """What the queue calls open: still unresolved, or actioned with a takedown that failed."""
    failed = state == AlertState.ACTIONED and takedown_status == TakedownStatus.FAILED
    return is_open(state) or failed


def awaiting_action_sql() -> ColumnElement[bool]:
    """SQL twin of `awaiting_action`."""
    # Written as exclusions (not "state IN ... OR failed") so that no equality invites the
    # planner to gather every open row and sort it: it walks the sort index and stops early.
    # The agreement test enumerates every state, so a new state cannot slip past this form.
    return and_(Alert.state != AlertState.DISMISSED.value,
                or_(Alert.state != AlertState.ACTIONED.value,
                    Alert.takedown_status == TakedownStatus.FAILED.value))


# --- deadlines -------------------------------------------------------------------------------


def past_due(due_at: datetime, at: datetime) -> bool:
    """The one comparison: at `at` the deadline `due_at` has passed (strictly after it)."""
    return due_at < at


def past_due_sql(at: datetime | ColumnElement[Any],
                 due: QueryableAttribute[datetime] | None = None) -> ColumnElement[bool]:
    """SQL twin of `past_due`: the alert's own deadline, or another deadline column `due`
    (a removal request's); `at` a moment or an expression."""
    return (Alert.due_at if due is None else due) < at


def in_time(due_at: datetime, at: datetime) -> bool:
    """Whether something done at `at` met the deadline `due_at` (its own instant counts)."""
    return not past_due(due_at, at)


def in_time_sql(at: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL twin of `in_time` for the alert's own deadline."""
    return not_(past_due_sql(at))


def is_overdue(state: str, due_at: datetime, now: datetime) -> bool:
    """An open alert whose deadline has passed."""
    return is_open(state) and past_due(due_at, now)


def overdue_sql(now: datetime) -> ColumnElement[bool]:
    """SQL twin of `is_overdue`."""
    return and_(open_sql(), past_due_sql(now))


#: who hears when an open alert misses its deadline ("the manager on duty")
OVERDUE_NOTIFIES: tuple[Role, ...] = (Role.MANAGER,)


# --- the safeguarding lane ---------------------------------------------------------------------

#: the queue of the safeguarding lead's lane (the default route of the safeguarding label)
SAFEGUARDING_QUEUE = "safeguarding"
_SAFEGUARDING = Label.SAFEGUARDING.value


def in_lane(*, primary_label: str | None, queue: str | None,
            labels: Sequence[str] | None) -> bool:
    """Whether an alert is in the safeguarding lane: labelled safeguarding (first or not) or
    in the lane's queue (routed there, or escalated to the safeguarding lead)."""
    return (primary_label == _SAFEGUARDING or queue == SAFEGUARDING_QUEUE
            or _SAFEGUARDING in (labels or ()))


def is_safeguarding(alert: Alert) -> bool:
    """`in_lane` for a loaded alert."""
    return in_lane(primary_label=alert.primary_label, queue=alert.queue, labels=alert.labels)


def lane_sql() -> ColumnElement[bool]:
    """SQL twin of `in_lane`."""
    # labels is a JSON list; its text form holds each label quoted (a closed vocabulary).
    return or_(Alert.primary_label == _SAFEGUARDING, Alert.queue == SAFEGUARDING_QUEUE,
               cast(Alert.labels, String).contains(f'"{_SAFEGUARDING}"'))


class EscalationTarget(StrEnum):
    """Who an alert is escalated to."""

    SAFEGUARDING_LEAD = "safeguarding_lead"
    MANAGEMENT = "management"
    POLICE = "police"


#: escalating to these hands the alert to the lane: it joins the lane's queue, unassigned
INTO_LANE: frozenset[EscalationTarget] = frozenset({EscalationTarget.SAFEGUARDING_LEAD})
#: who hears at once (through the outbox) when an alert is escalated to each target
ESCALATION_NOTIFIES: Mapping[EscalationTarget, tuple[Role, ...]] = {
    EscalationTarget.SAFEGUARDING_LEAD: (Role.SAFEGUARDING_LEAD,),
    EscalationTarget.MANAGEMENT: (),
    EscalationTarget.POLICE: (),
}


# --- severity --------------------------------------------------------------------------------

#: the severities an alert can have, most severe first (a verdict of none opens no alert)
SEVERITY_ORDER: tuple[Severity, ...] = tuple(
    sorted((s for s in Severity if s.rank > 0), key=lambda s: s.rank, reverse=True)
)

