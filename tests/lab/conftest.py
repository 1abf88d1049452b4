"""Fixtures for the lab: a runtime, and 8 weeks of generated history with moderator decisions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from config.settings import Settings
from connectors.base import Action, ItemKind
from connectors.base import Item as FetchedItem
from monitor import alerts
from monitor.db import transaction
from monitor.ingest import ingest_page
from monitor.models import Alert, Channel, utcnow
from monitor.policy_suite.cases import starting_suite
from monitor.runtime import Runtime, build_runtime


def history_texts() -> list[str]:
    """The policy's hard cases and plain comments: 290 texts, some near every threshold."""
    return [case.text for case in starting_suite()]


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A runtime on the test database with the demo channel registered."""
    rt = build_runtime(settings, env={})
    yield rt
    rt.close()


def channel_row(runtime: Runtime, name: str) -> Channel:
    """The channel called `name`, registered if new (a replay channel for a second run)."""
    with transaction(runtime.factory) as session:
        row = session.execute(select(Channel).where(Channel.name == name)).scalar_one_or_none()
        if row is None:
            row = Channel(name=name, platform="demo")
            session.add(row)
            session.flush()
        session.expunge(row)
        return row


def ingest(runtime: Runtime, texts: Sequence[str], *, now: datetime, weeks: int = 8,
           channel: str = "demo", prefix: str = "h") -> None:
    """Store `texts` spread evenly over the last `weeks` weeks, classified by the live policy."""
    row = channel_row(runtime, channel)
    span = timedelta(weeks=weeks)
    items = [FetchedItem(platform="demo", external_id=f"{prefix}-{i}", kind=ItemKind.COMMENT,
                         text=text, created_at=now - span + span * (i + 0.5) / len(texts),
                         author_id=f"author-{i % 37}", author_name="A Parent")
             for i, text in enumerate(texts)]
    classifier = runtime.current_classifier()
    for start in range(0, len(items), 64):
        with transaction(runtime.factory) as session:
            ingest_page(session, channel=row, items=items[start:start + 64],
                        classifier=classifier, routing=runtime.settings.routing, now=now)


def decide_all(runtime: Runtime) -> dict[str, int]:
    """Moderators act on every open alert: every third dismissed, the others hidden."""
    done = {"actioned": 0, "dismissed": 0}
    with transaction(runtime.factory) as session:
        ids = list(session.execute(select(Alert.id).where(Alert.state == "new")
                                   .order_by(Alert.id)).scalars())
        for n, alert_id in enumerate(ids):
            if n % 3 == 0:
                alerts.dismiss(session, alert_id=alert_id, actor="moderator",
                               reason=alerts.DismissReason.FALSE_POSITIVE)
                done["dismissed"] += 1
            else:
                alerts.request_takedown(session, alert_id=alert_id, actor="moderator",
                                        action=Action.HIDE)
                done["actioned"] += 1
    return done


@pytest.fixture
def now() -> datetime:
    """One instant for a whole test."""
    return utcnow()
