"""One contract suite run against every registered connector, the demo one included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.base import Action, Capability, Connector, Cursor, Item, Visibility
from tests.connectors.harness import PLATFORMS, Harness, make
from tests.connectors.passes import ref, run_pass


@pytest.fixture(params=PLATFORMS)
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    h = make(request.param)
    try:
        yield h
    finally:
        h.close()


def drain(connector: Connector, cursor: Cursor | None) -> tuple[list[Item], Cursor | None]:
    """Run one poll pass to its end, as the ingest loop does."""
    items, cursor, _ = run_pass(connector, cursor, max_pages=100)
    return items, cursor


def test_items_are_normalised(harness: Harness) -> None:
    ids = harness.publish(3, text="contract hello")
    items, _ = drain(harness.connector, None)
    got = {i.external_id: i for i in items}
    assert set(ids) <= set(got)
    for external_id in ids:
        item = got[external_id]
        assert item.platform == harness.connector.platform
        assert item.created_at.tzinfo is not None
        assert "contract hello" in item.text


def test_second_pass_returns_nothing_new_and_new_items_appear(harness: Harness) -> None:
    harness.publish(4)
    first, cursor = drain(harness.connector, None)
    again, cursor = drain(harness.connector, cursor)
    assert not {i.external_id for i in again} - {i.external_id for i in first}
    fresh = harness.publish(2, text="second wave")
    third, _ = drain(harness.connector, cursor)
    assert set(fresh) <= {i.external_id for i in third}


def test_capabilities_are_described(harness: Harness) -> None:
    caps = harness.connector.capabilities()
    assert caps, "a connector must support at least one takedown action"
    for cap in caps:
        assert isinstance(cap, Capability)
        assert len(cap.effect) > 20, "say what the action really does on this platform"


def test_each_declared_action_takes_the_item_down(harness: Harness) -> None:
    harness.publish(len(Action))
    items, _ = drain(harness.connector, None)
    comments = [i for i in items if not i.is_own]
    own = [i for i in items if i.is_own]
    for cap in harness.connector.capabilities():
        pool = own if cap.own_only else comments
        assert pool, f"the harness must provide an item {cap.action} can act on"
        item = pool.pop()
        assert harness.connector.check(ref(item)) is Visibility.VISIBLE
        getattr(harness.connector, cap.action.value)(ref(item))
        if cap.verifiable:
            assert harness.connector.check(ref(item)) is not Visibility.VISIBLE


def test_check_sees_items_removed_by_their_author(harness: Harness) -> None:
    harness.publish(1, text="soon gone")
    items, _ = drain(harness.connector, None)
    target = next(i for i in items if "soon gone" in i.text)
    harness.remove_on_platform(ref(target))
    assert harness.connector.check(ref(target)) in {Visibility.GONE, Visibility.REMOVED}
