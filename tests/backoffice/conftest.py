"""Fixtures for deadlines, notifications and evidence packs: a real SMTP server on loopback,
a chat receiver, and a runtime with alerts seeded exactly (no dependence on the classifier)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from config.settings import Notifications, Role, Settings, Smtp, Web
from monitor import audit, evidence, outbox
from monitor.db import transaction
from monitor.ingest import NOTIFY_KIND
from monitor.models import (
    SEVERITY_RANK,
    Alert,
    Channel,
    Item,
    OutboxEntry,
    OutboxStatus,
    User,
    Verdict,
    utcnow,
)
from monitor.runtime import Runtime, build_runtime
from tests.emulators.server import Emulator, Request, Response

SECRET_TEXT = "Meet me after school Amelia, I know where you live"
AUTHOR = "Creepy Author"


@dataclass
class Received:
    """One message as the SMTP server got it."""

    mail_from: str
    rcpt_tos: list[str]
    message: Message

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        return str(body.get_content()).replace("\r\n", "\n") if body is not None else ""


@dataclass
class MailSink:
    """An aiosmtpd handler that keeps every message."""

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        from email import policy

        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sink = MailSink()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.sink.received


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """An SMTP server not yet started: its port refuses connections until `start()`."""
    server = SmtpServer()
    yield server
    server.stop()


class ChatReceiver(Emulator):
    """A local HTTP endpoint apprise's json:// posts to."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[dict[str, Any]] = []
        self.route("POST", r"/.*", self._post)

    def _post(self, request: Request) -> Response:
        self.bodies.append(request.json())
        return Response(200, {"ok": True})


@pytest.fixture
def chat() -> Iterator[ChatReceiver]:
    receiver = ChatReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


def notify_settings(settings: Settings, *, smtp_port: int, apprise_urls: list[str] | None = None,
                    window: timedelta = timedelta(minutes=15)) -> Settings:
    return settings.model_copy(update={
        "smtp": Smtp(host="127.0.0.1", port=smtp_port, from_address="socmon@school.example",
                     timeout=timedelta(seconds=5)),
        "web": Web(public_url="https://socmon.school.example/"),
        "notifications": Notifications(
            email={Role.SAFEGUARDING_LEAD: ["dsl@school.example"],
                   Role.MANAGER: ["head@school.example"]},
            apprise_urls=apprise_urls or [], dedupe_window=window),
    })


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings, env={})
    yield rt
    rt.close()


def add_users(rt: Runtime) -> None:
    with transaction(rt.factory) as session:
        session.add_all([
            User(username="deputy", email="Deputy DSL <deputy@school.example>",
                 role=Role.SAFEGUARDING_LEAD.value, password_hash="x"),
            User(username="former", email="former@school.example",
                 role=Role.SAFEGUARDING_LEAD.value, password_hash="x", disabled=True),
            User(username="mod", email="mod@school.example", role=Role.MODERATOR.value,
                 password_hash="x"),
            User(username="nomail", email=None, role=Role.SAFEGUARDING_LEAD.value,
                 password_hash="x"),
        ])


_counter = iter(range(1, 10**9))


def seed_alerts(rt: Runtime, n: int, *, label: str = "safeguarding", queue: str = "safeguarding",
                severity: str = "critical", roles: tuple[Role, ...] = (Role.SAFEGUARDING_LEAD,),
                due_in: timedelta = timedelta(hours=1), notify: bool = True,
                now: datetime | None = None, text: str = SECRET_TEXT) -> list[int]:
    """Open `n` alerts as ingest would (item, verdict, evidence, audit, notify entry)."""
    when = now or utcnow()
    ids: list[int] = []
    with transaction(rt.factory) as session:
        channel = session.execute(select(Channel)).scalars().first()
        assert channel is not None
        for _ in range(n):
            k = next(_counter)
            item = Item(channel_id=channel.id, platform="demo", external_id=f"seed-{k}",
                        kind="comment", parent_id="seed-post", thread_id="seed-post",
                        author_id="demo-creepy", author_name=AUTHOR, text=text,
                        url=f"https://demo.socmon.invalid/demo/seed-{k}", created_at=when,
                        fetched_at=when, raw={"id": f"seed-{k}", "message": text})
            session.add(item)
            session.flush()
            verdict = Verdict(item_id=item.id, model_version="test-1", labels=[label],
                              scores={label: 0.97}, spans=[], reasons=[f"{label} phrase"],
                              severity=severity, created_at=when)
            session.add(verdict)
            session.flush()
            alert = Alert(item_id=item.id, verdict_id=verdict.id, channel_id=channel.id,
                          queue=queue, labels=[label], primary_label=label, severity=severity,
                          severity_rank=SEVERITY_RANK[severity], state="new", created_at=when,
                          updated_at=when, due_at=when + due_in, takedown_status="none")
            session.add(alert)
            session.flush()
            snap = evidence.preserve(session, item=item, channel_name=channel.name,
                                     alert_id=alert.id, now=when)
            session.flush()
            audit.record(session, actor="system", action="alert.open", target_type="alert",
                         target_id=alert.id, details={"labels": [label], "queue": queue},
                         evidence_sha256=snap.sha256, at=when)
            if notify:
                outbox.enqueue(session, kind=NOTIFY_KIND,
                               payload={"alert_id": alert.id, "roles": [r.value for r in roles],
                                        "queue": queue, "label": label},
                               dedupe_key=f"notify:alert:{alert.id}")
            ids.append(alert.id)
    return ids


def make_due(rt: Runtime) -> int:
    """Time passes: every pending outbox entry becomes due (instead of sleeping)."""
    with transaction(rt.factory) as session:
        result = session.execute(
            update(OutboxEntry).where(OutboxEntry.status == OutboxStatus.PENDING)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        return int(result.rowcount)


def entries(rt: Runtime, kind: str = NOTIFY_KIND) -> list[OutboxEntry]:
    with rt.factory() as session:
        return list(session.execute(
            select(OutboxEntry).where(OutboxEntry.kind == kind).order_by(OutboxEntry.id)
        ).scalars())
