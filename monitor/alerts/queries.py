"""Filters over the alert queue that every front end offers the same way (web, API, CLI)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, String, cast, or_

from classifiers.base import Label
from monitor.alerts import policy
from monitor.models import Alert


class StateFilter(StrEnum):
    """Which alerts the queue shows; `open` includes failed takedowns until resolved."""

    OPEN = "open"
    NEW = "new"
    IN_REVIEW = "in_review"
    ESCALATED = "escalated"
    ACTIONED = "actioned"
    DISMISSED = "dismissed"
    ALL = "all"


def state_clause(state: StateFilter) -> ColumnElement[bool] | None:
    """SQL for `state`, or None when it selects every alert."""
    if state is StateFilter.OPEN:
        return policy.awaiting_action_sql()
    if state is StateFilter.ALL:
        return None
    return Alert.state == state.value


def label_clause(label: Label) -> ColumnElement[bool]:
    """Alerts carrying `label`, first or not."""
    # labels is a JSON list; its text form holds each label quoted (a closed vocabulary).
    return or_(Alert.primary_label == label.value,
               cast(Alert.labels, String).like(f'%"{label.value}"%'))
