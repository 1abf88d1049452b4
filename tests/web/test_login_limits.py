"""Login lockouts per username and per client address, trusted proxies, and lifting a lockout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from config.settings import Role, Settings, Web
from monitor import users
from monitor.cli.users_cmds import app as users_app
from monitor.db import transaction
from monitor.models import AuditEvent
from monitor.runtime import Runtime, build_runtime
from monitor.web import create_app
from tests.web.conftest import login

WRONG = "wrong-password-!"
PROXY = "127.0.0.1"


def _browser(app: FastAPI, address: str, **headers: str) -> TestClient:
    """A signed-out browser connecting from `address`, holding a CSRF cookie."""
    client = TestClient(app, client=(address, 40000), headers=headers)
    assert client.get("/login").status_code == 200
    return client


def _attempt(client: TestClient, username: str, password: str) -> int:
    return client.post("/login", data={"username": username, "password": password,
                                       "csrftoken": client.cookies["csrftoken"]},
                       follow_redirects=False).status_code


def _lock(client: TestClient, username: str) -> None:
    assert [_attempt(client, username, WRONG) for _ in range(5)] == [401] * 5
    assert _attempt(client, username, WRONG) == 429


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    """The app with no trusted proxy (the default)."""
    return create_app(runtime)


@pytest.fixture
def proxied(settings: Settings, runtime: Runtime) -> Iterator[FastAPI]:
    """The app behind a trusted reverse proxy on the loopback address."""
    rt = build_runtime(settings.model_copy(update={"web": Web(trusted_proxies=[PROXY])}),
                       env={}, migrate=False)
    yield create_app(rt)
    rt.close()


def test_a_locked_username_does_not_lock_out_others_at_the_same_address(
        app: FastAPI, runtime: Runtime, accounts: dict[str, tuple[str, str]]) -> None:
    school = _browser(app, "192.0.2.10")  # a whole school behind one NAT address
    with transaction(runtime.factory) as session:
        for i in range(7):
            users.create(session, username=f"typo{i}", role=Role.MANAGER, actor="t")
    for i in range(7):  # 35 failures from the address, 5 per person
        _lock(school, f"typo{i}")
    name, password = accounts["moderator"]
    assert _attempt(school, name, password) == 303


def test_a_username_locks_across_addresses(app: FastAPI,
                                           accounts: dict[str, tuple[str, str]]) -> None:
    name, password = accounts["admin"]
    for i in range(5):  # guessing spread over addresses, under the per-address window
        client = _browser(app, f"198.51.100.{i}")
        assert [_attempt(client, name, WRONG) for _ in range(4)] == [401] * 4
    assert _attempt(_browser(app, "198.51.100.99"), name, password) == 429


def test_forwarded_for_is_believed_only_from_trusted_proxies(
        app: FastAPI, proxied: FastAPI, accounts: dict[str, tuple[str, str]]) -> None:
    name, password = accounts["moderator"]
    # Through the trusted proxy, each person is their own forwarded address.
    _lock(_browser(proxied, PROXY, **{"x-forwarded-for": "203.0.113.5"}), name)
    assert _attempt(_browser(proxied, PROXY, **{"x-forwarded-for": "203.0.113.6"}),
                    name, password) == 303
    # From anywhere else the header is ignored: a new value each time does not reset the count.
    other, other_password = accounts["manager"]
    for i in range(5):
        spoofer = _browser(app, "192.0.2.77", **{"x-forwarded-for": f"10.9.9.{i}"})
        assert _attempt(spoofer, other, WRONG) == 401
    assert _attempt(_browser(app, "192.0.2.77", **{"x-forwarded-for": "10.9.9.200"}),
                    other, other_password) == 429


def test_an_admin_lifts_a_lockout(app: FastAPI, runtime: Runtime,
                                  accounts: dict[str, tuple[str, str]]) -> None:
    name, password = accounts["moderator"]
    victim = _browser(app, "192.0.2.20")
    _lock(victim, name)
    admin = TestClient(app, client=("192.0.2.30", 40000))
    login(admin, *accounts["admin"])
    page = admin.get("/admin/users").text
    assert f'action="/admin/users/{name}/unlock"' in page
    assert admin.post(f"/admin/users/{name}/unlock").status_code == 200
    assert _attempt(victim, name, password) == 303
    _lock(_browser(app, "192.0.2.21"), name)
    response = admin.post(f"/api/v1/users/{name}/unlock")
    assert response.status_code == 200
    assert response.json()["username"] == name
    assert admin.post("/api/v1/users/nobody-here/unlock").status_code == 404
    with runtime.factory() as session:
        assert session.execute(select(AuditEvent.actor).where(
            AuditEvent.action == "user.unlock")).scalars().all() == ["demo-admin"] * 2


def test_socmon_users_unlock_lifts_a_lockout_in_the_running_app(
        app: FastAPI, settings: Settings, tmp_path: Path,
        accounts: dict[str, tuple[str, str]]) -> None:
    name, password = accounts["manager"]
    victim = _browser(app, "192.0.2.40")
    _lock(victim, name)
    config = tmp_path / "socmon.yaml"
    config.write_text(json.dumps({"data_dir": str(settings.data_dir),
                                  "database_url": settings.sqlalchemy_url(), "channels": []}))
    runner = CliRunner()
    result = runner.invoke(users_app, ["unlock", name, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "lockout lifted" in result.output
    assert _attempt(victim, name, password) == 303
    assert runner.invoke(users_app, ["unlock", "nobody-here", "--config",
                                     str(config)]).exit_code != 0


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert Web(trusted_proxies=["10.0.0.0/8", "::1", "127.0.0.1"]).trusted_proxies
    for bad in ("proxy.example", "10.0.0.1/8"):
        with pytest.raises(ValidationError, match="CIDR"):
            Web(trusted_proxies=[bad])
