"""Fixtures for the records tests: a runtime with two channels, people, and a seeding helper."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import select

from config.settings import ChannelConfig, Settings
from monitor import audit, evidence, users
from monitor.db import transaction
from monitor.models import SEVERITY_RANK, Alert, Channel, Item, Verdict
from monitor.people.roles import Role
from monitor.runtime import Runtime, build_runtime

#: the users every records test can act as, by role
PEOPLE = {"ada": Role.ADMIN, "dee": Role.SAFEGUARDING_LEAD, "mo": Role.MODERATOR,
          "meg": Role.MANAGER}


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A runtime on the test database with channels `demo` and `other`."""
    two = settings.model_copy(update={"channels": [
        *settings.channels, ChannelConfig(name="other", platform="demo")]})
    rt = build_runtime(two, env={})
    yield rt
    rt.close()


@pytest.fixture
def people(runtime: Runtime) -> dict[str, str]:
    """One user per role (`PEOPLE`): username -> password."""
    passwords: dict[str, str] = {}
    with transaction(runtime.factory) as session:
        for name, role in PEOPLE.items():
            _user, passwords[name] = users.create(session, username=name, role=role,
                                                  actor="test")
    return passwords


def seed_item(runtime: Runtime, *, external_id: str, text: str, at: datetime,
              author_id: str = "a1", channel: str = "demo", labels: list[str] | None = None,
              queue: str = "moderation") -> tuple[int, int | None]:
    """Store an item read at `at`; with `labels`, also its verdict, an alert and evidence,
    as the ingest does. Returns (item id, alert id or None)."""
    labels = labels or []
    severity = "critical" if "safeguarding" in labels else ("high" if labels else "none")
    with transaction(runtime.factory) as session:
        chan = session.execute(select(Channel).where(Channel.name == channel)).scalar_one()
        item = Item(channel_id=chan.id, platform="demo", external_id=external_id,
                    kind="comment", author_id=author_id, author_name=f"Name of {author_id}",
                    text=text, url=f"https://demo.socmon.invalid/{external_id}",
                    created_at=at, fetched_at=at, raw={"message": text})
        session.add(item)
        session.flush()
        verdict = Verdict(item_id=item.id, model_version="test", labels=labels,
                          scores={label: 0.9 for label in labels},
                          spans=[{"start": 0, "end": 3, "label": labels[0]}] if labels else [],
                          reasons=[f"matched '{text[:8]}'"] if labels else [],
                          severity=severity, created_at=at)
        session.add(verdict)
        session.flush()
        if not labels:
            return item.id, None
        alert = Alert(item_id=item.id, verdict_id=verdict.id, channel_id=chan.id, queue=queue,
                      labels=labels, primary_label=labels[0], severity=severity,
                      severity_rank=SEVERITY_RANK[severity], state="new", created_at=at,
                      updated_at=at, due_at=at)
        session.add(alert)
        session.flush()
        ev = evidence.preserve(session, item=item, channel_name=channel, alert_id=alert.id,
                               now=at)
        session.flush()
        audit.record(session, actor="system", action="alert.open", target_type="alert",
                     target_id=alert.id, evidence_sha256=ev.sha256, at=at,
                     details={"channel": channel, "external_id": external_id, "labels": labels})
        return item.id, alert.id
