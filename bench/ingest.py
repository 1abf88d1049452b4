"""Ingest throughput: items/s through store + classify + alert, next to a raw bulk insert.

Usage:
    .venv/bin/python bench/ingest.py [--items 100000] [--page 500] [--classifier rules]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Each backend gets a fresh database (a temporary SQLite file; a fresh PostgreSQL schema).
The items are the demo channel's sample stream, cycled with unique ids, so the flagged share
(~30%) is realistic and every flag opens an alert with its evidence and audit event.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from classifiers import registry
from config.settings import Routing
from connectors.base import Item as FetchedItem
from connectors.demo import DemoConnector, DemoOptions
from monitor.db import make_engine, session_factory, transaction, upgrade
from monitor.ingest import _item_row, ingest_page
from monitor.models import Alert, Channel, ChannelState, Item


def synthetic_items(n: int) -> list[FetchedItem]:
    """`n` items from the demo stream, each with a unique id."""
    demo = DemoConnector(channel="bench", options=DemoOptions(), secrets={})
    now = datetime.now(UTC)
    return [demo._item(i, now) for i in range(n)]


@contextmanager
def fresh_database(kind: str, pg_url: str | None) -> Iterator[str]:
    """A URL to an empty database of `kind`, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        return
    assert pg_url is not None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    base = make_url(pg_url)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _prepare(url: str) -> tuple[Any, Any, int]:
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        channel = Channel(name="bench", platform="demo", enabled=True)
        session.add(channel)
        session.flush()
        session.add(ChannelState(channel_id=channel.id))
        channel_id = channel.id
    return engine, factory, channel_id


def run_pipeline(
    url: str, items: list[FetchedItem], page: int, classifier_name: str
) -> dict[str, float]:
    """Store + classify + route + alert + audit, one transaction per page."""
    engine, factory, channel_id = _prepare(url)
    classifier = registry.build(classifier_name)
    classifier.classify(["warm-up"])  # load models before timing
    routing = Routing()
    start = time.perf_counter()
    for offset in range(0, len(items), page):
        with transaction(factory) as session:
            channel = session.get_one(Channel, channel_id)
            ingest_page(
                session,
                channel=channel,
                items=items[offset : offset + page],
                classifier=classifier,
                routing=routing,
                now=datetime.now(UTC),
            )
    elapsed = time.perf_counter() - start
    with factory() as session:
        stored = session.execute(select(func.count()).select_from(Item)).scalar_one()
        alerts = session.execute(select(func.count()).select_from(Alert)).scalar_one()
    engine.dispose()
    assert stored == len(items)
    return {"seconds": elapsed, "rate": len(items) / elapsed, "alerts": alerts}


def run_raw(url: str, items: list[FetchedItem], page: int) -> dict[str, float]:
    """The ceiling: the same item rows bulk-inserted, nothing else."""
    engine, factory, channel_id = _prepare(url)
    now = datetime.now(UTC)
    rows = [_item_row(channel_id, item, now) for item in items]
    start = time.perf_counter()
    for offset in range(0, len(rows), page):
        with transaction(factory) as session:
            session.execute(insert(Item), rows[offset : offset + page])
    elapsed = time.perf_counter() - start
    engine.dispose()
    return {"seconds": elapsed, "rate": len(items) / elapsed, "alerts": 0}


def main() -> None:
    """Run both measurements on each backend and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--classifier", default="rules")
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL to include it")
    args = parser.parse_args()

    items = synthetic_items(args.items)
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    runs: list[tuple[str, str, dict[str, float]]] = []
    jobs: list[tuple[str, Callable[[str], dict[str, float]]]] = [
        (
            f"ingest ({args.classifier})",
            lambda url: run_pipeline(url, items, args.page, args.classifier),
        ),
        ("raw bulk insert", lambda url: run_raw(url, items, args.page)),
    ]
    for backend in backends:
        for name, job in jobs:
            with fresh_database(backend, args.postgres) as url:
                runs.append((backend, name, job(url)))
    print(f"\n{args.items} items, pages of {args.page}\n")
    print("| backend | pipeline | seconds | items/s | alerts |\n|---|---|---|---|---|")
    for backend, name, r in runs:
        print(
            f"| {backend} | {name} | {r['seconds']:.1f} | {r['rate']:,.0f} | {int(r['alerts'])} |"
        )


if __name__ == "__main__":
    main()
