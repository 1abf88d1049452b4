"""Running poll passes in connector tests: the ingest loop's page walk, without a database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from connectors.base import Connector, Cursor, Item, ItemRef, Page


def run_pass(
    connector: Connector,
    cursor: Cursor | None,
    *,
    now: datetime | None = None,
    after_page: Callable[[int], None] | None = None,
    max_pages: int = 200,
) -> tuple[list[Item], Cursor | None, list[Page]]:
    """One pass to its end as the ingest loop runs it, round-tripping the cursor through JSON.

    `after_page(k)` runs after page k (to publish items while a pass is under way).
    """
    items: list[Item] = []
    pages: list[Page] = []
    for k in range(max_pages):
        page = connector.fetch(cursor, now=now or datetime.now(UTC))
        pages.append(page)
        items.extend(page.items)
        cursor = Cursor.from_json(page.cursor.to_json())
        if after_page is not None:
            after_page(k)
        if not page.more:
            return items, cursor, pages
    raise AssertionError(f"poll pass did not end within {max_pages} pages")


def ref(item: Item) -> ItemRef:
    """What a takedown or check takes back for `item`."""
    return ItemRef(item.external_id, item.kind, item.parent_id, item.thread_id)
