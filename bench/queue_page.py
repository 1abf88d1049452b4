"""Queue page latency with 100,000 alerts: p50/p95 through the ASGI app, SQLite and PostgreSQL.

    .venv/bin/python bench/queue_page.py                       # SQLite in a temp dir
    .venv/bin/python bench/queue_page.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from config.settings import ChannelConfig, Settings
from monitor.db import transaction
from monitor.models import SEVERITY_RANK, Alert, Channel, Item, Verdict, utcnow
from monitor.runtime import build_runtime
from monitor.users import seed_demo_users
from monitor.web import create_app

LABELS = ["abuse", "spam", "profanity", "identifying", "hate", "threat", "safeguarding", "sexual"]
SEVERITY = {"abuse": "high", "spam": "low", "profanity": "low", "identifying": "high",
            "hate": "high", "threat": "critical", "safeguarding": "critical", "sexual": "high"}
STATES = ["new"] * 5 + ["in_review", "escalated", "actioned", "dismissed", "dismissed"]
WORDS = ["the", "school", "trip", "was", "brilliant", "idiot", "spam", "phone", "winner",
         "class", "teacher", "rubbish", "cheer", "well", "done", "sports", "day", "awful",
         "useless"]
FILTERS: list[dict[str, Any]] = [
    {}, {"label": "abuse"}, {"severity": "high"}, {"channel": "bench-b"},
    {"overdue": "true"}, {"state": "all", "page": 5}, {"platform": "demo", "severity": "low"},
    {"q": "winner"}, {"author": "parent 42"}, {"state": "dismissed", "label": "spam"},
]


def seed(url: str, data_dir: Path, count: int) -> Any:
    """A runtime over `url` with `count` alerts (bulk inserts, a few seconds)."""
    settings = Settings(data_dir=data_dir, database_url=url, channels=[
        ChannelConfig(name=name, platform="demo") for name in ("bench-a", "bench-b", "bench-c")])
    runtime = build_runtime(settings, env={})
    rng = random.Random(7)
    now = utcnow()
    with transaction(runtime.factory) as session:
        channels = [c.id for c in session.query(Channel).order_by(Channel.id)]
        seed_demo_users(session)
    chunk = 10_000
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        items, verdicts, alerts = [], [], []
        for i in range(start, start + n):
            label = rng.choice(LABELS)
            created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 30))
            items.append({"id": i + 1, "channel_id": channels[i % 3], "platform": "demo",
                          "external_id": f"bench-{i}", "kind": "comment",
                          "thread_id": f"post-{i // 50}", "parent_id": f"post-{i // 50}",
                          "author_id": f"u{i % 5000}", "author_name": f"Parent {i % 5000}",
                          "text": " ".join(rng.choices(WORDS, k=rng.randint(5, 30))),
                          "url": f"https://demo.socmon.invalid/x/{i}", "is_own": False,
                          "created_at": created, "fetched_at": created, "raw": {}})
            verdicts.append({"id": i + 1, "item_id": i + 1, "model_version": "bench",
                             "labels": [label], "scores": {label: 0.9}, "spans": [],
                             "reasons": [], "severity": SEVERITY[label], "created_at": created})
            state = rng.choice(STATES)
            alerts.append({
                "id": i + 1, "item_id": i + 1, "verdict_id": i + 1, "channel_id": channels[i % 3],
                "queue": "safeguarding" if label == "safeguarding" else "moderation",
                "labels": [label], "primary_label": label, "severity": SEVERITY[label],
                "severity_rank": SEVERITY_RANK[SEVERITY[label]], "state": state,
                "created_at": created, "updated_at": created,
                "due_at": created + timedelta(hours=rng.choice([1, 24, 72])),
                "resolved_at": created + timedelta(hours=2) if state in ("actioned", "dismissed")
                else None,
                "takedown_status": "verified" if state == "actioned" else "none"})
        with transaction(runtime.factory) as session:
            session.execute(insert(Item), items)
            session.execute(insert(Verdict), verdicts)
            session.execute(insert(Alert), alerts)
    if runtime.engine.dialect.name == "postgresql":
        with runtime.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return runtime


def measure(runtime: Any, requests: int) -> dict[str, list[float]]:
    """Time `requests` queue pages (cycling through the filters), after a warm-up."""
    with transaction(runtime.factory) as session:
        name, password, _role = seed_demo_users(session)[1]  # the moderator
    client = TestClient(create_app(runtime))
    client.get("/login")
    client.post("/login", data={"username": name, "password": password,
                                "csrftoken": client.cookies["csrftoken"]})
    for params in FILTERS:  # warm-up: connection pool, template cache, SQLite page cache
        assert client.get("/queue", params=params).status_code == 200
    timings: dict[str, list[float]] = {}
    for i in range(requests):
        params = FILTERS[i % len(FILTERS)]
        started = time.perf_counter()
        response = client.get("/queue", params=params)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200
        timings.setdefault(str(params or "{} (open, default)"), []).append(elapsed)
    return timings


def pct(values: list[float], p: int) -> float:
    """The p-th percentile."""
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 \
        else values[0]


def main() -> None:
    """Seed, measure, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="socmon-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    schema = None
    admin = None
    if url.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(url).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        started = time.perf_counter()
        runtime = seed(url, tmp / "data", args.alerts)
        print(f"seeded {args.alerts} alerts in {time.perf_counter() - started:.1f}s "
              f"({runtime.engine.dialect.name})")
        timings = measure(runtime, args.requests)
        runtime.close()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    every = [t for values in timings.values() for t in values]
    print(f"\nall {len(every)} requests: p50 {pct(every, 50):.1f} ms, "
          f"p95 {pct(every, 95):.1f} ms\n")
    print("| filter | n | p50 ms | p95 ms |\n|---|---|---|---|")
    for name, values in timings.items():
        print(f"| `{name}` | {len(values)} | {pct(values, 50):.1f} | {pct(values, 95):.1f} |")


if __name__ == "__main__":
    main()
