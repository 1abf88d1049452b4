"""A takedown whose worker lost its claim mid-call is performed once and recorded once.

Two workers in this process share one entry the way a dead or stalled worker and its
successor do: the first runs with a lease that has already expired and is held by the
emulator inside its platform call, the second claims the entry meanwhile. No process is
killed here (test_takedown_crash.py does that); these pin each hand-over down exactly.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.base import Action
from monitor import alerts, audit, outbox
from monitor.db import transaction
from monitor.models import Alert, AuditEvent, OutboxEntry, OutboxStatus, TakedownStatus
from monitor.takedown import TakedownHandlers
from tests.backoffice.takedown_rig import (
    OBJECT_PATH,
    GraphStack,
    audit_actions,
    open_alerts,
    started_stack,
)
from tests.emulators import graph
from tests.emulators.server import Fault, Phase

WAIT = 30.0


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[GraphStack]:
    with started_stack(database_url, tmp_path / "data") as started:
        yield started


class Hold:
    """Holds the first `method` request on `object_id` at `phase` until released."""

    def __init__(self, stack: GraphStack, method: str, object_id: str, phase: Phase) -> None:
        self.method, self.object_id, self.phase = method, object_id, phase
        self.reached = threading.Event()
        self.release = threading.Event()
        self._used = False
        stack.rig.graph.tap = self

    def __call__(self, phase: Phase, method: str, path: str) -> None:
        found = OBJECT_PATH.match(path)
        if (self._used or phase != self.phase or method != self.method or found is None
                or found["id"] != self.object_id):
            return
        self._used = True
        self.reached.set()
        self.release.wait(WAIT)


class StaleWorker(threading.Thread):
    """A worker whose lease runs out at once (as if it stalled), in a thread of its own."""

    def __init__(self, stack: GraphStack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.stats: outbox.RunStats | None = None

    def run(self) -> None:
        self.stats = outbox.run_once(
            self.stack.runtime.factory, self.stack.handlers().as_mapping(), owner="stale",
            max_attempts=8, lease=timedelta(0),
        )


def _request(stack: GraphStack, alert_id: int, action: Action) -> None:
    with transaction(stack.runtime.factory) as session:
        alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=action)


def _outcomes(stack: GraphStack, alert_id: int, action: str) -> list[str]:
    with stack.runtime.factory() as session:
        return [
            details["outcome"]
            for details in session.execute(
                select(AuditEvent.details).where(AuditEvent.target_id == str(alert_id),
                                                 AuditEvent.action == f"takedown.{action}")
            ).scalars()
        ]


def _finish_and_check(stack: GraphStack, alert_id: int, action: Action) -> None:
    """Drain the outbox; one verification, one verified event, a sound chain, all entries done."""
    stack.work()
    audited = audit_actions(stack)
    assert audited[(alert_id, "takedown.verified")] == 1
    with stack.runtime.factory() as session:
        assert session.get_one(Alert, alert_id).takedown_status == TakedownStatus.VERIFIED
        statuses = Counter(
            (e.kind, e.status) for e in session.execute(select(OutboxEntry)).scalars()
        )
        assert audit.verify(session).ok
    assert statuses == {("takedown", OutboxStatus.DONE): 1, ("verify", OutboxStatus.DONE): 1}


@pytest.mark.parametrize("action", [Action.HIDE, Action.DELETE])
def test_a_claim_taken_over_after_the_platform_acted_is_not_repeated(
    stack: GraphStack, action: Action
) -> None:
    [(alert_id, comment)] = open_alerts(stack, 1).items()
    _request(stack, alert_id, action)
    method = "POST" if action is Action.HIDE else "DELETE"
    hold = Hold(stack, method, comment, "handled")  # the platform acted; no answer yet
    stale = StaleWorker(stack)
    stale.start()
    assert hold.reached.wait(WAIT), "the first worker never called the platform"

    # The successor finds an attempt in doubt, asks the platform, and records what it saw.
    stats = outbox.run_once(stack.runtime.factory, stack.handlers().as_mapping(),
                            owner="successor", max_attempts=8)
    assert stats.done == 1
    hold.release.set()
    stale.join(WAIT)

    assert stack.writes() == {comment: 1}
    assert stack.calls("GET") == {comment: 1}  # the successor's check
    seen = "hidden" if action is Action.HIDE else "gone"
    assert _outcomes(stack, alert_id, action.value) == [f"found_{seen}"]
    assert stale.stats is not None
    assert stale.stats.superseded == 1
    _finish_and_check(stack, alert_id, action)


@pytest.mark.parametrize("action", [Action.HIDE, Action.DELETE])
def test_a_request_the_platform_acts_on_after_the_retry_checked_is_the_one_double_call(
    stack: GraphStack, action: Action
) -> None:
    """The limit of exactly-once: the first call reaches the platform only after the
    successor's check said "still visible", so the platform hears twice; what socmon records
    stays single, and a second hide or delete changes nothing on the platform."""
    [(alert_id, comment)] = open_alerts(stack, 1).items()
    _request(stack, alert_id, action)
    method = "POST" if action is Action.HIDE else "DELETE"
    hold = Hold(stack, method, comment, "received")  # on its way; the platform has not acted
    stale = StaleWorker(stack)
    stale.start()
    assert hold.reached.wait(WAIT), "the first worker never called the platform"

    stats = outbox.run_once(stack.runtime.factory, stack.handlers().as_mapping(),
                            owner="successor", max_attempts=8)
    assert stats.done == 1
    hold.release.set()  # now the platform acts on the first call too
    stale.join(WAIT)

    assert stack.writes() == {comment: 2}
    assert stack.rig.taken_down(comment)
    assert _outcomes(stack, alert_id, action.value) == ["done"]
    assert stale.stats is not None
    assert stale.stats.superseded == 1
    _finish_and_check(stack, alert_id, action)


def test_a_verification_taken_over_mid_check_is_recorded_once(stack: GraphStack) -> None:
    [(alert_id, comment)] = open_alerts(stack, 1).items()
    _request(stack, alert_id, Action.HIDE)
    outbox.run_once(stack.runtime.factory, stack.handlers().as_mapping(), owner="first",
                    max_attempts=8)  # the hide; its verification is now queued
    hold = Hold(stack, "GET", comment, "handled")
    stale = StaleWorker(stack)
    stale.start()
    assert hold.reached.wait(WAIT), "the verification never asked the platform"

    stats = outbox.run_once(stack.runtime.factory, stack.handlers().as_mapping(),
                            owner="successor", max_attempts=8)
    assert stats.done == 1
    hold.release.set()
    stale.join(WAIT)

    assert stack.writes() == {comment: 1}
    _finish_and_check(stack, alert_id, Action.HIDE)
    assert stale.stats is not None
    assert stale.stats.superseded == 1


def test_a_takedown_in_doubt_whose_check_keeps_failing_is_recorded_as_failed(
    stack: GraphStack,
) -> None:
    """Out of attempts while checking an interrupted attempt: the alert says failed (so a
    moderator can retry it), once; it is not left pending for ever."""
    [(alert_id, comment)] = open_alerts(stack, 1).items()
    _request(stack, alert_id, Action.HIDE)
    hold = Hold(stack, "POST", comment, "handled")
    stale = StaleWorker(stack)
    stale.start()
    assert hold.reached.wait(WAIT), "the first worker never called the platform"
    stack.rig.graph.inject(Fault(rf"/{comment}$", graph.graph_error(
        2, "Service temporarily unavailable", status=503, is_transient=True)))

    handlers = TakedownHandlers(stack.runtime.connectors, verify_after=timedelta(0),
                                max_attempts=2)  # the successor's attempt is the last
    stats = outbox.run_once(stack.runtime.factory, handlers.as_mapping(), owner="successor",
                            max_attempts=2)
    hold.release.set()
    stale.join(WAIT)

    assert stats.dead == 1
    assert stack.writes() == {comment: 1}
    audited = audit_actions(stack)
    assert audited[(alert_id, "takedown.hide_failed")] == 1
    assert audited[(alert_id, "takedown.hide")] == 0
    with stack.runtime.factory() as session:
        alert = session.get_one(Alert, alert_id)
        assert alert.takedown_status == TakedownStatus.FAILED
        assert "gave up after 2 attempts" in (alert.takedown_error or "")
        [entry] = session.execute(select(OutboxEntry)).scalars()
        assert entry.status == OutboxStatus.DEAD
        assert audit.verify(session).ok
