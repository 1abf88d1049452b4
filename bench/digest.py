"""Benchmark: build the weekly digest of a week with one million items on SQLite (< 10 s).

    .venv/bin/python bench/digest.py [--items 1000000] [--db /tmp/digest-bench.sqlite3]

Loads a synthetic store (the week, plus three lighter weeks before it for the trend) with the
DBAPI's executemany for speed, then times `stats.compute` and `render.render` separately.
A database that already holds the requested items is reused, so re-runs only time the digest.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor import db
from monitor.digest.render import Options, render
from monitor.digest.stats import IsoWeek, compute

WEEK = IsoWeek(2025, 46)
TZ = ZoneInfo("Europe/London")
CHANNELS = ("school-fb", "school-ig", "school-x", "pta-fb", "sport-reddit")
LABELS = ("abuse", "profanity", "spam", "identifying", "hate", "threat", "safeguarding")
SEVERITY = {"abuse": "high", "profanity": "low", "spam": "low", "identifying": "high",
            "hate": "high", "threat": "critical", "safeguarding": "critical"}
RANK = {"low": 1, "high": 2, "critical": 3}
DEADLINE = {"low": timedelta(hours=72), "high": timedelta(hours=24),
            "critical": timedelta(hours=1)}
FLAG_RATE = 0.05
CHUNK = 50_000


def _ts(moment: datetime) -> str:
    # The storage format SQLAlchemy uses for DateTime on SQLite.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def load(path: Path, items: int, seed: int = 7) -> None:
    """Create the schema and fill it with `items` in WEEK and lighter earlier weeks."""
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    now = _ts(datetime(2025, 1, 1, tzinfo=UTC))
    con.executemany("INSERT INTO channels (id, name, platform, enabled, created_at) "
                    "VALUES (?, ?, ?, 1, ?)",
                    [(i + 1, name, name.split("-")[1], now) for i, name in enumerate(CHANNELS)])
    con.executemany("INSERT INTO channel_state (channel_id, health, consecutive_failures, "
                    "items_total, last_success_at) VALUES (?, 'ok', 0, 0, ?)",
                    [(i + 1, _ts(WEEK.bounds(TZ)[1])) for i in range(len(CHANNELS))])
    weeks = [(WEEK.shift(-k), items if k == 0 else items // 10) for k in (3, 2, 1, 0)]
    item_id = alert_id = seq = 0
    for week, count in weeks:
        start, end = week.bounds(TZ)
        span = (end - start).total_seconds()
        for first in range(0, count, CHUNK):
            rows, verdicts, alerts, events = [], [], [], []
            for _ in range(min(CHUNK, count - first)):
                item_id += 1
                fetched = start + timedelta(seconds=rng.random() * span)
                channel = rng.randrange(len(CHANNELS)) + 1
                author = f"a{rng.randrange(50_000)}"
                rows.append((item_id, channel, "x", f"e{item_id}", "comment", author,
                             "Someone", "synthetic text", 0, _ts(fetched), _ts(fetched), "{}"))
                if rng.random() >= FLAG_RATE:
                    continue
                label = rng.choice(LABELS)
                severity = SEVERITY[label]
                alert_id += 1
                verdicts.append((alert_id, item_id, "bench", f'["{label}"]', "{}", "[]", "[]",
                                 severity, _ts(fetched)))
                acted = fetched + timedelta(minutes=rng.expovariate(1 / 600))
                resolved = acted if rng.random() < 0.9 else None
                state = "actioned" if resolved else "new"
                alerts.append((alert_id, item_id, alert_id, channel, "moderation",
                               f'["{label}"]', label, severity, RANK[severity], state,
                               _ts(fetched), _ts(fetched), _ts(fetched + DEADLINE[severity]),
                               _ts(resolved) if resolved else None, "none"))
                seq += 1
                events.append((seq, _ts(fetched), "system", "alert.open", "alert",
                               str(alert_id), "{}", "0" * 64, "0" * 64))
                if resolved:
                    seq += 1
                    action = rng.choice(("alert.hide", "alert.delete", "alert.dismiss"))
                    events.append((seq, _ts(acted), "mod", action, "alert", str(alert_id),
                                   "{}", "0" * 64, "0" * 64))
            con.executemany("INSERT INTO items (id, channel_id, platform, external_id, kind, "
                            "author_id, author_name, text, is_own, created_at, fetched_at, raw)"
                            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            con.executemany("INSERT INTO verdicts (id, item_id, model_version, labels, scores,"
                            " spans, reasons, severity, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                            verdicts)
            con.executemany("INSERT INTO alerts (id, item_id, verdict_id, channel_id, queue, "
                            "labels, primary_label, severity, severity_rank, state, created_at,"
                            " updated_at, due_at, resolved_at, takedown_status) "
                            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", alerts)
            con.executemany("INSERT INTO audit_events (seq, at, actor, action, target_type, "
                            "target_id, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
                            events)
            con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()


def main() -> None:
    """Load (if needed), then time the digest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/digest-bench.sqlite3"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    engine = db.make_engine(f"sqlite:///{args.db}")
    have = 0
    if args.db.exists():
        with engine.connect() as conn:
            have = conn.exec_driver_sql("SELECT count(*) FROM items").scalar_one()
    if have < args.items:
        args.db.unlink(missing_ok=True)
        started = time.perf_counter()
        load(args.db, args.items)
        print(f"loaded {args.items} items in {time.perf_counter() - started:.1f} s")
    factory = db.readonly_factory(engine)
    options = Options()
    later = datetime(2030, 1, 1, tzinfo=UTC)
    for run in range(args.repeat):
        started = time.perf_counter()
        with factory() as session:
            stats = compute(session, WEEK, TZ, now=later)
        computed = time.perf_counter() - started
        rendered = render(stats, options)
        total = time.perf_counter() - started
        print(f"run {run + 1}: compute {computed:.2f} s, compute+render {total:.2f} s "
              f"(items {stats.scanned_total}, flags {stats.current.flags}, "
              f"actions {stats.current.actions}, {len(rendered.html)} bytes of HTML)")
    engine.dispose()


if __name__ == "__main__":
    main()
