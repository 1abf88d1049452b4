"""Routing rules: which queue an alert joins, who hears at once, and when it is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from classifiers.base import LABEL_ORDER, Label, Severity, Verdict
from config.settings import Routing
from monitor.people.roles import Role


@dataclass(frozen=True, slots=True)
class Route:
    """Where one flagged verdict goes."""

    queue: str
    primary_label: Label
    severity: Severity
    due_at: datetime
    notify: tuple[Role, ...]


def deadline_for(routing: Routing, severity: Severity) -> timedelta:
    """Time to act for a severity, from config (defaults 1 h / 24 h / 72 h)."""
    deadlines = routing.deadlines
    if severity is Severity.CRITICAL:
        return deadlines.critical
    if severity is Severity.HIGH:
        return deadlines.high
    return deadlines.low


def route(routing: Routing, verdict: Verdict, *, now: datetime) -> Route | None:
    """The route for a verdict, or None when it should open no alert."""
    if not verdict.labels or verdict.severity.rank < routing.min_severity.rank:
        return None
    # Labels in taxonomy order: the most serious label decides the queue.
    primary = min(verdict.labels, key=LABEL_ORDER.index)
    notify: list[Role] = []
    queue = "moderation"
    deadline: timedelta | None = None
    for rule in routing.rules:
        if rule.label is primary:
            queue = rule.queue
            deadline = rule.deadline
            break
    for rule in routing.rules:
        if rule.label in verdict.labels:
            notify.extend(r for r in rule.notify if r not in notify)
    queue = verdict.queue or queue  # an organisation rule's own routing wins
    due = now + (deadline or deadline_for(routing, verdict.severity))
    return Route(
        queue=queue,
        primary_label=primary,
        severity=verdict.severity,
        due_at=due,
        notify=tuple(notify),
    )
