"""What the Facebook and Instagram emulated tests and harnesses share.

The emulator's lifetime, the harness fixture, a pass drained to its end with its cost, item
refs, and the bodies of the tests whose logic is the same on both platforms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import pytest

from connectors.base import (
    Connector,
    Cursor,
    Item,
    ItemGone,
    ItemKind,
    ItemRef,
    TransientError,
    Visibility,
)
from tests.connectors.passes import ref, run_pass
from tests.emulators.graph import APP_SECRET, TOKEN, GraphEmulator
from tests.emulators.server import Fault

#: the secrets the emulator accepts
SECRETS = {"access_token": TOKEN, "app_secret": APP_SECRET}


class EmulatedGraph:
    """A started Graph emulator; the platform harnesses add their connector and `publish`."""

    def __init__(self) -> None:
        self.emulator = GraphEmulator()
        self.emulator.start()

    def remove_on_platform(self, ref: ItemRef) -> None:
        """The author deletes their comment."""
        self.emulator.remove(ref.external_id)

    def close(self) -> None:
        """Stop the emulator."""
        self.emulator.stop()


HarnessT = TypeVar("HarnessT", bound=EmulatedGraph)


class GraphHarness(Protocol):
    """A platform harness over the Graph emulator (Facebook's or Instagram's)."""

    emulator: GraphEmulator

    @property
    def connector(self) -> Connector:
        """The connector under test."""
        ...

    def publish(self, n: int, *, text: str = "hello") -> list[str]:
        """Make `n` new comments appear; return their ids."""
        ...

    def remove_on_platform(self, ref: ItemRef) -> None:
        """The author deletes their comment."""
        ...

    def close(self) -> None:
        """Stop the emulator."""
        ...


def harness_fixture(make: Callable[[], HarnessT]) -> Any:
    """A pytest fixture `h` yielding `make()` and closing it afterwards."""

    @pytest.fixture
    def h() -> Iterator[HarnessT]:
        harness = make()
        try:
            yield harness
        finally:
            harness.close()

    return h


def drain(connector: Connector, cursor: Cursor | None) -> tuple[list[Item], Cursor | None, int]:
    """One pass to its end; returns items, the stored cursor and the requests it cost."""
    items, cursor, pages = run_pass(connector, cursor)
    return items, cursor, sum(page.requests for page in pages)



# --- test bodies both platforms run the same way ----------------------------------------------


def check_comments_arriving_during_a_pass_are_not_lost(
    connector: Connector, *, add_parent: Callable[[str], str],
    add_comment: Callable[[str, str], str],
) -> None:
    """A comment on a post/media already read and a new post/media, both between two pages
    of one pass, come back in this pass or a later one, and nothing comes back twice."""
    parents = [add_parent(f"post {n}") for n in range(30)]
    page = connector.fetch(None, now=datetime.now(UTC))
    assert page.more
    # Between two pages of one pass: a comment on a post already read, and a new post.
    late_comment = add_comment(parents[-1], "arrived mid-pass")
    late_parent = add_parent("also mid-pass")
    first, cursor, _ = drain(connector, Cursor.from_json(page.cursor.to_json()))
    first = list(page.items) + first
    second, cursor, _ = drain(connector, cursor)
    third, _, _ = drain(connector, cursor)
    every = [i.external_id for i in first + second + third]
    assert {late_comment, late_parent} <= set(every)
    assert len(every) == len(set(every)), "no item is returned twice across passes"


def check_timeout_is_transient(make: Callable[..., GraphHarness], *, listing: str) -> None:
    """A listing request (path regex `listing`) that hangs past the timeout is transient."""
    h = make(timeout_seconds=0.3)
    try:
        h.emulator.inject(Fault(listing, hang_seconds=30))
        with pytest.raises(TransientError, match=r"Timeout|timed out"):
            h.connector.fetch(None, now=datetime.now(UTC))
    finally:
        h.close()


def check_items_deleted_between_listing_and_takedown_are_gone(h: GraphHarness) -> None:
    """Check says GONE and hide/delete raise ItemGone for a comment its author deleted."""
    h.publish(1)
    items, _, _ = drain(h.connector, None)
    comment = next(i for i in items if i.kind is ItemKind.COMMENT)
    h.remove_on_platform(ref(comment))
    assert h.connector.check(ref(comment)) is Visibility.GONE
    with pytest.raises(ItemGone):
        h.connector.hide(ref(comment))
    with pytest.raises(ItemGone):
        h.connector.delete(ref(comment))
