"""Two moderators act on one alert at the same moment: exactly one takedown is accepted."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Role
from monitor import alerts, audit
from monitor.db import transaction
from monitor.models import OutboxEntry
from monitor.web.actions import ActionInput, ActionName, perform
from monitor.web.deps import CurrentUser
from tests.backoffice.takedown_rig import GraphStack, audit_actions, open_alerts, started_stack

TRIALS = 20
#: the pairs of requests that meet behind the barrier, in turn
PAIRS = [
    (ActionName.HIDE, ActionName.DELETE),
    (ActionName.HIDE, ActionName.HIDE),
    (ActionName.DELETE, ActionName.DELETE),
]
MODERATORS = [
    CurrentUser(id=1, username="mod-a", display_name="Mod A", role=Role.MODERATOR),
    CurrentUser(id=2, username="mod-b", display_name="Mod B", role=Role.MODERATOR),
]


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[GraphStack]:
    with started_stack(database_url, tmp_path / "data") as started:
        yield started


def _race(stack: GraphStack, alert_id: int, pair: tuple[ActionName, ActionName]) -> list[str]:
    """Both requests in their own session and transaction, released together by a barrier."""
    barrier = threading.Barrier(len(pair), timeout=30)
    outcomes: list[str] = []
    lock = threading.Lock()

    def request(viewer: CurrentUser, action: ActionName) -> None:
        try:
            barrier.wait()
            with transaction(stack.runtime.factory) as session:
                perform(session, alert_id=alert_id, viewer=viewer, action=action,
                        data=ActionInput())
            outcome = "accepted"
        except alerts.InvalidTransition:
            outcome = "conflict"  # the API's 409
        except Exception as exc:  # anything else is a failure the test reports
            outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=request, args=(viewer, action))
               for viewer, action in zip(MODERATORS, pair, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    return sorted(outcomes)


def test_concurrent_takedowns_on_one_alert_accept_exactly_one(stack: GraphStack) -> None:
    opened = open_alerts(stack, TRIALS)
    results = Counter(tuple(_race(stack, alert_id, PAIRS[i % len(PAIRS)]))
                      for i, alert_id in enumerate(opened))
    with stack.runtime.factory() as session:
        queued = Counter(
            entry.payload["alert_id"]
            for entry in session.execute(
                select(OutboxEntry).where(OutboxEntry.kind == "takedown")
            ).scalars()
        )
        chain_ok = audit.verify(session).ok
    audited = audit_actions(stack)
    requested = Counter({alert_id: audited[(alert_id, "alert.hide")]
                         + audited[(alert_id, "alert.delete")] for alert_id in opened})
    stack.work()  # the worker performs what was queued, on the emulated platform
    writes = stack.writes()
    print(f"\nrace ({stack.runtime.engine.dialect.name}): {dict(results)}; takedowns queued "
          f"{queued.total()}, audited {requested.total()}, platform calls {writes.total()} "
          f"for {TRIALS} alerts")

    assert results == {("accepted", "conflict"): TRIALS}
    assert queued == Counter(dict.fromkeys(opened, 1))  # one takedown queued per alert
    assert requested == Counter(dict.fromkeys(opened, 1))  # and one audited
    assert chain_ok
    assert writes == Counter(dict.fromkeys(opened.values(), 1))  # the platform hears once
    for alert_id, external_id in opened.items():
        assert stack.rig.taken_down(external_id), alert_id


def test_a_copy_loaded_earlier_in_the_transaction_does_not_hide_a_newer_state(
    stack: GraphStack, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers from their first read: nobody commits in between")
    [alert_id] = open_alerts(stack, 1)
    with transaction(stack.runtime.factory) as first:
        held = alerts.get(first, alert_id)  # e.g. a page that looked at the alert first
        with transaction(stack.runtime.factory) as second:
            perform(second, alert_id=alert_id, viewer=MODERATORS[1], action=ActionName.DELETE,
                    data=ActionInput())
        with pytest.raises(alerts.InvalidTransition):
            perform(first, alert_id=alert_id, viewer=MODERATORS[0], action=ActionName.HIDE,
                    data=ActionInput())
        assert held.state == "actioned"
