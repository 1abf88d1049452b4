"""Fixtures for retraining: a demo channel polled end to end, moderated, and a small baseline."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from classifiers import model as text_model
from classifiers import retrain as candidates
from config.settings import ChannelConfig, Settings
from connectors.base import Action
from connectors.demo import DemoConnector
from monitor import alerts, retrain
from monitor.db import transaction
from monitor.models import Alert, AlertState, Item, Verdict, utcnow
from monitor.poller import poll_channel
from monitor.runtime import Runtime, build_runtime

DATASETS = text_model.DEFAULT_DATASETS
STREAM = Path(text_model.__file__).resolve().parents[1] / "connectors/data/demo_stream.jsonl"
#: a small, deterministic share of the base data keeps each training to a few seconds
FRACTION = 0.15

needs_datasets = pytest.mark.skipif(
    not (DATASETS / "davidson2017" / "raw" / "labeled_data.csv").is_file(),
    reason="../shared/datasets (the base training data) is not available",
)


@pytest.fixture(scope="session")
def baseline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on the same small base share with no feedback: the fair 'before'."""
    if not (DATASETS / "davidson2017" / "raw" / "labeled_data.csv").is_file():
        pytest.skip("../shared/datasets is not available")
    out = tmp_path_factory.mktemp("baseline")
    candidates.train_candidate(out, [], datasets=DATASETS, base_fraction=FRACTION)
    return out


@pytest.fixture
def runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """The demo channel's whole stream (309 items) polled once through the real pipeline."""
    settings = Settings(
        data_dir=tmp_path / "data", database_url=database_url,
        channels=[ChannelConfig(name="demo", platform="demo",
                                options={"initial": 309, "batch": 0, "page_size": 400})],
    )
    rt = build_runtime(settings, env={})
    poll(rt)
    yield rt
    rt.close()


def demo(rt: Runtime) -> DemoConnector:
    """The demo channel's connector (it can publish extra comments)."""
    connector = rt.connectors["demo"]
    assert isinstance(connector, DemoConnector)
    return connector


def poll(rt: Runtime) -> None:
    """One forced poll pass of the demo channel."""
    channel = rt.settings.channels[0]
    poll_channel(rt.factory, name=channel.name, connector=rt.connectors[channel.name],
                 classifier=rt.classifier, routing=rt.settings.routing, owner="test",
                 interval=channel.interval, force=True)


def expected_labels() -> dict[str, set[str]]:
    """What the demo stream's author says each text is (its `expect` field)."""
    out: dict[str, set[str]] = {}
    for line in STREAM.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out[row["text"]] = set(row["expect"])
    return out


def open_alerts(rt: Runtime) -> list[tuple[int, list[str], str]]:
    """(alert id, labels, text) of every open alert."""
    with rt.factory() as session:
        rows = session.execute(
            select(Alert.id, Alert.labels, Item.text).join(Item, Item.id == Alert.item_id)
            .where(Alert.state == AlertState.NEW).order_by(Alert.id))
        return [(a, list(labels), text) for a, labels, text in rows]


def moderate_honestly(rt: Runtime, limit: int | None = None) -> tuple[int, int]:
    """Hide what the stream's author calls a breach, dismiss the rest: (actioned, dismissed).

    `limit` moderates only the first that many open alerts.
    """
    truth = expected_labels()
    actioned = dismissed = 0
    with transaction(rt.factory) as session:
        for alert_id, labels, text in open_alerts(rt)[:limit]:
            if set(labels) & truth.get(text, set()):
                alerts.request_takedown(session, alert_id=alert_id, actor="mod",
                                        action=Action.HIDE)
                actioned += 1
            else:
                alerts.dismiss(session, alert_id=alert_id, actor="mod",
                               reason=alerts.DismissReason.FALSE_POSITIVE)
                dismissed += 1
    return actioned, dismissed


def offensive_tweets(n: int) -> list[str]:
    """Davidson training tweets its annotators called hateful or offensive."""
    with (DATASETS / "davidson2017" / "train.csv").open(encoding="utf-8", newline="") as fh:
        rows = [r["text"] for r in csv.DictReader(fh) if r["label"] == "1"]
    return rows[:n]


def adopt_baseline(rt: Runtime, baseline: Path) -> str:
    """Make the small baseline the active model (so candidates are compared like with like)."""
    with transaction(rt.factory) as session:
        return retrain.adopt(session, source=baseline, data_dir=rt.settings.data_dir,
                             actor="test").version


def benign_tweets(n: int) -> list[str]:
    """TweetEval training tweets its annotators called not offensive."""
    path = DATASETS / "tweeteval_offensive" / "train.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r["text"] for r in csv.DictReader(fh) if r["label"] == "0"]
    return rows[:n]


def seed_alerts(rt: Runtime, texts: list[str], labels: list[str]) -> list[tuple[int, bool]]:
    """Publish `texts` on the demo channel, poll them in, and open an alert with `labels` on
    each (whatever the classifier said): the exact alerts a poisoning scenario needs.
    Returns (alert id, whether the item is in the held-out slice)."""
    connector = demo(rt)
    now = utcnow()
    ids = [connector.publish(text, now=now).external_id for text in texts]
    poll(rt)
    with transaction(rt.factory) as session:
        rows = session.execute(
            select(Item.id, Item.channel_id, Verdict.id).join(Verdict, Verdict.item_id == Item.id)
            .where(Item.external_id.in_(ids))).all()
        have = set(session.execute(select(Alert.item_id).where(
            Alert.item_id.in_([r[0] for r in rows]))).scalars())
        for item_id, channel_id, verdict_id in rows:
            if item_id in have:
                session.execute(update(Alert).where(Alert.item_id == item_id)
                                .values(labels=labels, primary_label=labels[0]))
                continue
            session.add(Alert(item_id=item_id, verdict_id=verdict_id, channel_id=channel_id,
                              queue="moderation", labels=labels, primary_label=labels[0],
                              severity="high", severity_rank=2, due_at=now, created_at=now,
                              updated_at=now))
        session.flush()
        found = session.execute(select(Alert.id, Item.platform, Item.external_id)
                                .join(Item, Item.id == Alert.item_id)
                                .where(Item.external_id.in_(ids)).order_by(Alert.id)).all()
        return [(a, retrain.is_holdout(p, e)) for a, p, e in found]
