"""Fixtures for the web tests: a runtime on the test database, seeded alerts, signed-in clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from monitor import audit, evidence, users
from monitor.db import transaction
from monitor.models import SEVERITY_RANK, Alert, Channel, Item, Verdict, utcnow
from monitor.runtime import Runtime, build_runtime
from monitor.web import create_app


@dataclass
class Seeded:
    """Ids of the alerts every web test can rely on."""

    abuse: int
    safeguarding: int
    spam: list[int]
    script: int


def seed_alert(runtime: Runtime, *, text: str, labels: list[str], severity: str,
               author: str = "Pat Example", author_id: str = "a1", external_id: str,
               queue: str = "moderation", thread_id: str | None = "post-1",
               parent_id: str | None = "post-1", due_in: timedelta = timedelta(hours=1),
               spans: list[dict[str, object]] | None = None) -> int:
    """Store an item, its verdict, an open alert and its evidence, as the ingest would."""
    now = utcnow()
    with transaction(runtime.factory) as session:
        channel = session.execute(select(Channel).where(Channel.name == "demo")).scalar_one()
        item = Item(channel_id=channel.id, platform="demo", external_id=external_id,
                    kind="comment", parent_id=parent_id, thread_id=thread_id, author_id=author_id,
                    author_name=author, text=text,
                    url=f"https://demo.socmon.invalid/demo/{external_id}", created_at=now,
                    fetched_at=now, raw={"message": text})
        session.add(item)
        session.flush()
        verdict = Verdict(item_id=item.id, model_version="test", labels=labels,
                          scores={label: 0.9 for label in labels}, spans=spans or [],
                          reasons=[f"looks like {labels[0]}"], severity=severity)
        session.add(verdict)
        session.flush()
        alert = Alert(item_id=item.id, verdict_id=verdict.id, channel_id=channel.id, queue=queue,
                      labels=labels, primary_label=labels[0], severity=severity,
                      severity_rank=SEVERITY_RANK[severity], state="new", created_at=now,
                      updated_at=now, due_at=now + due_in)
        session.add(alert)
        session.flush()
        ev = evidence.preserve(session, item=item, channel_name="demo", alert_id=alert.id, now=now)
        session.flush()
        audit.record(session, actor="system", action="alert.open", target_type="alert",
                     target_id=alert.id, evidence_sha256=ev.sha256)
        return alert.id


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A runtime on the test database with the demo channel registered."""
    rt = build_runtime(settings, env={})
    yield rt
    rt.close()


@pytest.fixture
def seeded(runtime: Runtime) -> Seeded:
    """A known mix: abuse, a safeguarding item, a spam wave and a comment carrying HTML."""
    abuse = seed_alert(runtime, text="You are a useless idiot and everyone knows it",
                       labels=["abuse"], severity="high", external_id="c-abuse",
                       spans=[{"start": 18, "end": 23, "label": "abuse"}])
    sg = seed_alert(runtime, text="I am scared to go home tonight, please help",
                    labels=["safeguarding"], severity="critical", external_id="c-sg",
                    queue="safeguarding", author="Worried Child", author_id="a2")
    spam = [seed_alert(runtime, text=f"Win a free phone at example.test {i}", labels=["spam"],
                       severity="low", external_id=f"c-spam-{i}", author="Spam Bot",
                       author_id="bot", due_in=timedelta(hours=72)) for i in range(3)]
    script = seed_alert(runtime, text='<script>alert("x")</script><b>bold</b> you idiot',
                        labels=["abuse"], severity="high", external_id="c-script",
                        author='<img src=x onerror=alert(1)>', author_id="a3")
    return Seeded(abuse=abuse, safeguarding=sg, spam=spam, script=script)


@pytest.fixture
def accounts(runtime: Runtime) -> dict[str, tuple[str, str]]:
    """role -> (username, password), one demo user per role."""
    with transaction(runtime.factory) as session:
        seeded = users.seed_demo_users(session)
    return {role: (name, password) for name, password, role in seeded}


def login(client: TestClient, username: str, password: str) -> None:
    """Sign in through the form, as a browser would, and arm the CSRF header for later POSTs."""
    page = client.get("/login")
    assert page.status_code == 200
    token = client.cookies["csrftoken"]
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrftoken": token, "next": "/queue"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    client.headers["x-csrftoken"] = token


@pytest.fixture
def client_for(runtime: Runtime,
               accounts: dict[str, tuple[str, str]]) -> Iterator[Callable[[str], TestClient]]:
    """A factory of clients signed in as a given role."""
    app = create_app(runtime)
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        client = TestClient(app)
        clients.append(client)
        login(client, *accounts[role])
        return client

    yield make
    for client in clients:
        client.close()
