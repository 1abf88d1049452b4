"""A Facebook channel on a Graph emulator with alerts opened on its comments, for takedown tests.

The emulator is the platform: it counts every hide (POST), delete (DELETE) and check (GET) a
comment receives, and its tap lets a test hold a request at a chosen point.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from config.settings import ChannelConfig, Settings, Takedown
from connectors.base import Action
from monitor import audit, evidence, outbox
from monitor.db import transaction
from monitor.models import SEVERITY_RANK, Alert, AuditEvent, Channel, Item, Verdict, utcnow
from monitor.runtime import Runtime, build_runtime
from monitor.takedown import TakedownHandlers
from tests.integration.conftest import FacebookRig

#: POST /v21.0/{id} hides, DELETE deletes, GET reads (check); the id is the comment's
OBJECT_PATH = re.compile(r"^/v\d+\.\d+/(?P<id>[A-Za-z0-9_]+)$")
WRITES = {"POST": Action.HIDE, "DELETE": Action.DELETE}


@dataclass
class GraphStack:
    """The runtime (one Facebook channel) and the emulated Page behind it."""

    runtime: Runtime
    rig: FacebookRig
    settings: Settings

    def calls(self, method: str) -> Counter[str]:
        """How many `method` requests each object received."""
        counts: Counter[str] = Counter()
        with self.rig.graph._lock:
            for m, path in self.rig.graph.requests:
                found = OBJECT_PATH.match(path)
                if m == method and found:
                    counts[found["id"]] += 1
        return counts

    def writes(self) -> Counter[str]:
        """Hide and delete calls per comment (what must never be doubled)."""
        return self.calls("POST") + self.calls("DELETE")

    def handlers(self) -> TakedownHandlers:
        """The outbox handlers the daemon builds, verification due at once."""
        return TakedownHandlers(self.runtime.connectors, verify_after=timedelta(0),
                                max_attempts=self.settings.takedown.max_attempts)

    def work(self, *, owner: str = "worker", passes: int = 10) -> None:
        """Run the outbox worker until nothing is due (bounded)."""
        mapping = self.handlers().as_mapping()
        for _ in range(passes):
            stats = outbox.run_once(self.runtime.factory, mapping, owner=owner,
                                    max_attempts=self.settings.takedown.max_attempts)
            if stats.done + stats.retried + stats.dead == 0:
                return
        raise AssertionError(f"the outbox was still busy after {passes} passes")


def graph_settings(database_url: str, data_dir: Path, rig: FacebookRig) -> Settings:
    """One Facebook channel on the emulator; no mail, web or digest."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        takedown=Takedown(verify_after=timedelta(0), worker_interval=timedelta(seconds=1)),
        channels=[ChannelConfig(name=rig.name, platform=rig.platform, interval=timedelta(hours=1),
                                options=rig.options())],
    )


@contextmanager
def started_stack(database_url: str, data_dir: Path) -> Iterator[GraphStack]:
    """A Graph emulator with a Page post, and a runtime with its channel on the test database."""
    rig = FacebookRig()
    try:
        settings = graph_settings(database_url, data_dir, rig)
        runtime = build_runtime(settings, env=rig.env())
        try:
            yield GraphStack(runtime=runtime, rig=rig, settings=settings)
        finally:
            runtime.close()
    finally:
        rig.close()


def open_alerts(stack: GraphStack, n: int) -> dict[int, str]:
    """Publish `n` comments and open an alert on each as ingest would; alert id -> comment id."""
    opened: dict[int, str] = {}
    now = utcnow()
    with transaction(stack.runtime.factory) as session:
        channel = session.execute(
            select(Channel).where(Channel.name == stack.rig.name)
        ).scalar_one()
        for k in range(n):
            text = f"you useless prat number {k}"
            external_id = stack.rig.publish(text)
            item = Item(channel_id=channel.id, platform=channel.platform, external_id=external_id,
                        kind="comment", parent_id=stack.rig.post, thread_id=stack.rig.post,
                        author_id="9000001", author_name="A Visitor", text=text, url=None,
                        created_at=now, fetched_at=now, raw={"id": external_id, "message": text})
            session.add(item)
            session.flush()
            verdict = Verdict(item_id=item.id, model_version="test-1", labels=["abuse"],
                              scores={"abuse": 0.97}, spans=[], reasons=["name-calling"],
                              severity="high", created_at=now)
            session.add(verdict)
            session.flush()
            alert = Alert(item_id=item.id, verdict_id=verdict.id, channel_id=channel.id,
                          queue="moderation", labels=["abuse"], primary_label="abuse",
                          severity="high", severity_rank=SEVERITY_RANK["high"], state="new",
                          created_at=now, updated_at=now, due_at=now + timedelta(hours=4),
                          takedown_status="none")
            session.add(alert)
            session.flush()
            snap = evidence.preserve(session, item=item, channel_name=channel.name,
                                     alert_id=alert.id, now=now)
            session.flush()
            audit.record(session, actor="system", action="alert.open", target_type="alert",
                         target_id=alert.id, details={"labels": ["abuse"], "queue": "moderation"},
                         evidence_sha256=snap.sha256, at=now)
            opened[alert.id] = external_id
    return opened


def audit_actions(stack: GraphStack) -> Counter[tuple[int, str]]:
    """How many times each (alert, action) was audited."""
    with stack.runtime.factory() as session:
        rows = session.execute(
            select(AuditEvent.target_id, AuditEvent.action).where(AuditEvent.target_type == "alert")
        ).all()
    return Counter((int(target), action) for target, action in rows)
