"""Fixtures for the digest: a runtime on the test database and a real SMTP server on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from config.settings import Settings, Smtp
from monitor.db import transaction
from monitor.runtime import Runtime, build_runtime
from tests.digest.seed import seed_known_week


@dataclass
class Inbox:
    """What the SMTP server accepted; `refuse` makes it answer 451 or 550 instead."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    refuse: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session,  # noqa: N802 - aiosmtpd hook
                          envelope: Envelope) -> str:
        if self.refuse:
            return self.refuse
        assert isinstance(envelope.content, bytes)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)  # policy.default builds EmailMessage
        with self.lock:
            self.envelopes.append(envelope)
            self.messages.append(parsed)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailServer:
    """aiosmtpd on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def smtp(self) -> Smtp:
        return Smtp(host="127.0.0.1", port=self.port, from_address="socmon@school.example",
                    timeout=10)


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


RECIPIENTS = ["head@school.example", "chair@governors.example"]


@pytest.fixture
def digest_settings(settings: Settings, mail_server: MailServer) -> Settings:
    return settings.model_copy(update={
        "smtp": mail_server.smtp(),
        "digest": settings.digest.model_copy(update={"recipients": RECIPIENTS}),
    })


@pytest.fixture
def runtime(digest_settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(digest_settings, env={})
    yield rt
    rt.close()


@pytest.fixture
def seeded(runtime: Runtime) -> dict[str, Any]:
    with transaction(runtime.factory) as session:
        return seed_known_week(session)
