"""Policy lab back-test speed: a rule and threshold change over 100,000 stored comments.

Usage:
    taskset -c 0 .venv/bin/python bench/lab_backtest.py [--comments 100000]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

The stored history is real classifier output: the demo sample's distinct texts are classified
once by the `policy` classifier (rules, fast model, encoder), then stored over and over with
unique ids, spread over eight weeks, each with its verdict (scores included). The candidate
adds a watched phrase, an allow-listed term and an author rule and moves two thresholds, so
every stored comment is normalised, matched and re-decided from its stored scores; the
encoder is not re-run. Printed: seconds for the back-test alone (the set-up is not timed).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from bench.ingest import fresh_database, synthetic_items
from classifiers.base import Label, Severity
from classifiers.org_rules import OrgRule, RuleKind
from classifiers.policy import PolicyClassifier
from config.settings import Settings
from monitor.db import make_engine, session_factory, transaction, upgrade
from monitor.lab.backtest import Candidate, backtest
from monitor.models import Channel, Item, Verdict

CANDIDATE = Candidate(
    rules=[OrgRule(1, RuleKind.WATCH, "cheap followers", Label.SPAM, Severity.LOW),
           OrgRule(2, RuleKind.ALLOW, "Riverside", Label.IDENTIFYING),
           OrgRule(3, RuleKind.AUTHOR, "demo-spam-bot", Label.SPAM, Severity.LOW,
                   platform="demo")],
    thresholds={Label.ABUSE: 0.35, Label.SPAM: 0.6})


def seed(url: str, n: int, now: datetime) -> None:
    """`n` stored comments with the verdicts the policy classifier gave their texts."""
    pool = synthetic_items(309)
    texts = sorted({item.text for item in pool})
    verdicts = dict(zip(texts, PolicyClassifier().classify(texts), strict=True))
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    span = timedelta(weeks=8)
    with transaction(factory) as session:
        channel = Channel(name="bench", platform="demo")
        session.add(channel)
        session.flush()
        channel_id = channel.id
    for start in range(0, n, 5000):
        items, rows = [], []
        for i in range(start, min(n, start + 5000)):
            source = pool[i % len(pool)]
            items.append({"id": i + 1, "channel_id": channel_id, "platform": "demo",
                          "external_id": f"bench-{i}", "kind": "comment",
                          "author_id": source.author_id, "text": source.text, "is_own": False,
                          "created_at": now - span + span * (i + 0.5) / n, "fetched_at": now,
                          "raw": {}})
            v = verdicts[source.text]
            rows.append({"item_id": i + 1, "model_version": v.model_version[:64],
                         "labels": [x.value for x in v.labels],
                         "scores": {k.value: s for k, s in v.scores.items()},
                         "spans": [], "reasons": list(v.reasons), "severity": v.severity.value,
                         "created_at": now})
        with transaction(factory) as session:
            session.execute(insert(Item), items)
            session.execute(insert(Verdict), rows)
    engine.dispose()


def main() -> None:
    """Seed, then time one back-test per backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    now = datetime.now(UTC)
    for kind in ["sqlite"] + (["postgresql"] if args.postgres else []):
        with fresh_database(kind, args.postgres) as url:
            seed(url, args.comments, now)
            settings = Settings(database_url=url, channels=[])
            engine = make_engine(url)
            factory = session_factory(engine)
            with factory() as session:
                # warm: the encoder's metadata (the thresholds) loads once per process
                backtest(session, settings, CANDIDATE, weeks=1, now=now - timedelta(weeks=20))
                started = time.perf_counter()
                report = backtest(session, settings, CANDIDATE, weeks=8, now=now)
                seconds = time.perf_counter() - started
            engine.dispose()
            print(f"{kind}: {report.comments:,} comments, method {report.method}: "
                  f"{seconds:.1f} s ({report.comments / seconds:,.0f} comments/s); "
                  f"alerts live {report.live_alerts:,}, candidate "
                  f"{report.candidate_alerts:,}, newly flagged {report.new_count:,}, "
                  f"stopped {report.stopped_count:,}")


if __name__ == "__main__":
    main()
