"""The removal requests' rules: when one is due, when to remind, what overdue means, who sees whom.

Overdue is the alerts' rule (`monitor.alerts.policy.past_due`: the deadline strictly passed),
applied to a request's own deadline; who hears of a missed one is the alerts' too
(`OVERDUE_NOTIFIES`). The time allowed and the reminder's moment come from `removals` in the
config. tests/monitor/test_removals.py checks each predicate against its SQL twin.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_

from config.settings import Removals
from monitor.alerts import policy as alert_policy
from monitor.models import RemovalRequest, RemovalStatus
from monitor.people.roles import Permission, Role, holders

#: who hears when a request misses its deadline: the same people as for an overdue alert
OVERDUE_NOTIFIES: tuple[Role, ...] = alert_policy.OVERDUE_NOTIFIES
#: who hears the half-way reminder: the people who work removal requests
REMINDER_NOTIFIES: tuple[Role, ...] = (Role.MODERATOR,)
#: who records and works removal requests, and reads who asked and why (the requester is
#: often a parent naming their child: managers see the list and its deadlines, not that);
#: the privacy record names them by this permission
WORKERS_PERMISSION = Permission.ACT
WORKERS: frozenset[Role] = holders(WORKERS_PERMISSION)


def due_at(config: Removals, requested_at: datetime) -> datetime:
    """The deadline of a request made at `requested_at` (the one place it is worked out)."""
    return requested_at + config.deadline


def remind_at(config: Removals, requested_at: datetime, due: datetime) -> datetime:
    """When the reminder of a request goes out: `remind_at` of its time gone."""
    return requested_at + (due - requested_at) * config.remind_at


def is_open(status: str) -> bool:
    """Whether a request still waits for the item to go."""
    return status == RemovalStatus.OPEN


def open_sql() -> ColumnElement[bool]:
    """SQL twin of `is_open`."""
    return RemovalRequest.status == RemovalStatus.OPEN.value


def is_overdue(status: str, due: datetime, now: datetime) -> bool:
    """An open request whose deadline has passed (the alerts' comparison)."""
    return is_open(status) and alert_policy.past_due(due, now)


def overdue_sql(now: datetime) -> ColumnElement[bool]:
    """SQL twin of `is_overdue`."""
    return and_(open_sql(), alert_policy.past_due_sql(now, due=RemovalRequest.due_at))


def in_time(due: datetime, done_at: datetime) -> bool:
    """Whether a request finished at `done_at` met its deadline (its own instant counts)."""
    return alert_policy.in_time(due, done_at)
