"""The alert rules' Python predicates and their SQL twins agree, on SQLite and PostgreSQL.

Every combination the rules look at is stored once (each state with each takedown status,
deadlines a microsecond either side of the moment and exactly at it, every way into the
safeguarding lane), then each SQL expression must select exactly the alerts its Python twin
accepts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from classifiers.base import LABEL_ORDER, Label, make_verdict
from config.settings import Routing, Settings
from monitor.alerts import policy
from monitor.alerts.queries import StateFilter, label_clause, state_clause
from monitor.db import transaction
from monitor.models import SEVERITY_RANK, Alert, AlertState, Channel, Item, TakedownStatus, Verdict
from monitor.routing import route
from monitor.runtime import Runtime, build_runtime

#: the moment the rules are asked about; microseconds, so the boundary is exact
NOW = datetime(2026, 3, 2, 10, 0, 0, 500_001, tzinfo=UTC)
TICK = timedelta(microseconds=1)
DUE = {"before": NOW - TICK, "at": NOW, "after": NOW + TICK}
LANE_WAYS = list(itertools.product(
    ["safeguarding", "abuse"], ["safeguarding", "moderation"],
    [[], ["abuse"], ["abuse", "safeguarding"], ["threat", "sexual"]]))


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings, env={})
    _seed(rt)
    yield rt
    rt.close()


def _alert(session: Session, n: int, *, state: str = "new", takedown: str = "none",
           due_at: datetime = NOW, primary: str = "abuse", queue: str = "moderation",
           labels: list[str] | None = None) -> None:
    channel = session.execute(select(Channel)).scalars().first()
    assert channel is not None
    item = Item(channel_id=channel.id, platform="demo", external_id=f"p{n}", kind="comment",
                text="x", created_at=NOW - timedelta(hours=n % 3), fetched_at=NOW)
    session.add(item)
    session.flush()
    verdict = Verdict(item_id=item.id, model_version="t", labels=labels or [primary],
                      severity="high")
    session.add(verdict)
    session.flush()
    session.add(Alert(item_id=item.id, verdict_id=verdict.id, channel_id=channel.id,
                      queue=queue, labels=[primary] if labels is None else labels,
                      primary_label=primary, severity="high", severity_rank=SEVERITY_RANK["high"],
                      state=state, takedown_status=takedown, created_at=NOW, updated_at=NOW,
                      due_at=due_at))


def _seed(rt: Runtime) -> None:
    n = itertools.count()
    with transaction(rt.factory) as session:
        for state, takedown, due in itertools.product(AlertState, TakedownStatus, DUE.values()):
            _alert(session, next(n), state=state.value, takedown=takedown.value, due_at=due)
        for primary, queue, labels in LANE_WAYS:
            _alert(session, next(n), primary=primary, queue=queue, labels=labels)


def _agree(rt: Runtime, sql: ColumnElement[bool] | None,
           python: Callable[[Alert], bool]) -> None:
    with rt.factory() as session:
        everything = list(session.execute(select(Alert)).scalars())
        chosen = set(session.execute(
            select(Alert.id).where(sql) if sql is not None else select(Alert.id)).scalars())
    expected = {a.id for a in everything if python(a)}
    assert chosen == expected
    assert everything  # the comparison saw rows


def test_open_states_agree(runtime: Runtime) -> None:
    _agree(runtime, policy.open_sql(), lambda a: policy.is_open(a.state))


def test_awaiting_action_agrees_for_every_state_and_takedown(runtime: Runtime) -> None:
    _agree(runtime, policy.awaiting_action_sql(),
           lambda a: policy.awaiting_action(a.state, a.takedown_status))


@pytest.mark.parametrize("at", ["before", "at", "after"])
def test_overdue_agrees_at_the_deadline_and_either_side(runtime: Runtime, at: str) -> None:
    moment = DUE[at]
    _agree(runtime, policy.overdue_sql(moment),
           lambda a: policy.is_overdue(a.state, a.due_at, moment))
    _agree(runtime, policy.past_due_sql(moment), lambda a: policy.past_due(a.due_at, moment))
    _agree(runtime, policy.in_time_sql(moment), lambda a: policy.in_time(a.due_at, moment))


def test_the_deadline_instant_itself_is_not_yet_overdue(runtime: Runtime) -> None:
    with runtime.factory() as session:
        due_now = set(session.execute(select(Alert.id).where(
            Alert.due_at == NOW, policy.overdue_sql(NOW))).scalars())
        due_before = set(session.execute(select(Alert.id).where(
            Alert.due_at == NOW - TICK, policy.overdue_sql(NOW))).scalars())
    assert not due_now
    assert len(due_before) == len(policy.OPEN_STATES) * len(TakedownStatus)
    assert not policy.is_overdue("new", NOW, NOW)
    assert policy.is_overdue("new", NOW, NOW + TICK)
    assert policy.in_time(NOW, NOW)


def test_in_time_agrees_against_a_column(runtime: Runtime) -> None:
    # The digest compares the deadline with a computed moment (the first action), not a value.
    _agree(runtime, policy.in_time_sql(Alert.created_at),
           lambda a: policy.in_time(a.due_at, a.created_at))


def test_the_safeguarding_lane_agrees(runtime: Runtime) -> None:
    _agree(runtime, policy.lane_sql(), policy.is_safeguarding)
    with runtime.factory() as session:
        inside = [tuple(r) for r in session.execute(
            select(Alert.primary_label, Alert.queue, Alert.labels).where(policy.lane_sql()))]
    # Every way in is used: the label first, the label later, the lane's queue alone.
    assert ("safeguarding", "moderation", []) in inside
    assert ("abuse", "moderation", ["abuse", "safeguarding"]) in inside
    assert ("abuse", "safeguarding", ["abuse"]) in inside
    assert ("abuse", "moderation", ["abuse"]) not in inside


@pytest.mark.parametrize("state", list(StateFilter))
def test_state_filters_agree(runtime: Runtime, state: StateFilter) -> None:
    def wanted(a: Alert) -> bool:
        if state is StateFilter.OPEN:
            return policy.awaiting_action(a.state, a.takedown_status)
        return state is StateFilter.ALL or a.state == state.value

    _agree(runtime, state_clause(state), wanted)


@pytest.mark.parametrize("label", list(Label))
def test_label_filter_finds_first_and_later_labels(runtime: Runtime, label: Label) -> None:
    _agree(runtime, label_clause(label),
           lambda a: a.primary_label == label.value or label.value in (a.labels or []))


def test_an_open_state_is_a_real_state_and_the_queue_open_includes_them() -> None:
    assert set(AlertState) > policy.OPEN_STATES
    assert all(policy.awaiting_action(s, TakedownStatus.NONE) for s in policy.OPEN_STATES)
    assert policy.awaiting_action(AlertState.ACTIONED, TakedownStatus.FAILED)
    assert not policy.awaiting_action(AlertState.DISMISSED, TakedownStatus.FAILED)


def test_severity_order_follows_the_classifier_contract() -> None:
    assert [s.value for s in policy.SEVERITY_ORDER] == ["critical", "high", "low"]
    assert [SEVERITY_RANK[s] for s in policy.SEVERITY_ORDER] == [3, 2, 1]


@pytest.mark.parametrize("others", [c for n in range(3)
                                    for c in itertools.combinations(LABEL_ORDER[1:], n)])
def test_a_safeguarding_flag_always_routes_into_the_lane(others: tuple[Label, ...]) -> None:
    verdict = make_verdict([*others, Label.SAFEGUARDING], {}, model_version="t")
    decided = route(Routing(), verdict, now=NOW)
    assert decided is not None
    assert decided.primary_label is Label.SAFEGUARDING
    assert policy.in_lane(primary_label=decided.primary_label, queue=decided.queue,
                          labels=[label.value for label in verdict.labels])
