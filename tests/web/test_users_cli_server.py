"""`socmon users ...`, the user service's edge cases, and the server's start and stop."""

from __future__ import annotations

import json
import logging
import socket
import threading
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from config.settings import Role
from monitor import users
from monitor.cli.users_cmds import app as users_app
from monitor.db import transaction
from monitor.runtime import Runtime
from monitor.web.server import PortInUse, WebServerError, listen, serve


@pytest.fixture
def config_file(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "socmon.yaml"
    path.write_text(json.dumps({"data_dir": str(tmp_path / "data"), "database_url": database_url,
                                "channels": []}))
    return path


def test_users_commands(config_file: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(users_app, ["add", "alice", "--role", "moderator", "--json",
                                      "--config", str(config_file)])
    assert added.exit_code == 0, added.output
    password = json.loads(added.stdout)["password"]
    assert len(password) >= 12
    assert runner.invoke(users_app, ["add", "bob", "--role", "boss", "--config",
                                     str(config_file)]).exit_code == 2
    listed = json.loads(runner.invoke(users_app, ["list", "--json", "--config",
                                                  str(config_file)]).stdout)
    assert [(u["username"], u["role"], u["disabled"]) for u in listed] == [
        ("alice", "moderator", False)]
    assert runner.invoke(users_app, ["disable", "alice", "--config",
                                     str(config_file)]).exit_code == 0
    reset = runner.invoke(users_app, ["reset-password", "alice", "--json", "--config",
                                      str(config_file)])
    assert json.loads(reset.stdout)["password"] != password
    listed = json.loads(runner.invoke(users_app, ["list", "--json", "--config",
                                                  str(config_file)]).stdout)
    assert listed[0]["disabled"] is True


def test_user_service_rules(runtime: Runtime) -> None:
    with transaction(runtime.factory) as session:
        user, password = users.create(session, username="Carol", role=Role.MANAGER, actor="t")
        assert user.username == "carol"
        assert user.password_hash.startswith("$argon2")
        with pytest.raises(users.UserExists):
            users.create(session, username="carol", role=Role.MANAGER, actor="t")
        with pytest.raises(users.WeakPassword):
            users.create(session, username="dave", role=Role.MANAGER, actor="t", password="short")
        with pytest.raises(users.UserError):
            users.create(session, username="no spaces", role=Role.MANAGER, actor="t")
        with pytest.raises(users.AuthenticationFailed):
            users.authenticate(session, username="carol", password="wrong" * 3)
        with pytest.raises(users.AuthenticationFailed):
            users.authenticate(session, username="nobody", password="x" * 2000)
        assert users.authenticate(session, username="CAROL ", password=password).id == user.id
        users.set_disabled(session, username="carol", actor="t")
        with pytest.raises(users.AuthenticationFailed):
            users.authenticate(session, username="carol", password=password)


def test_demo_users_are_idempotent_with_fresh_passwords(runtime: Runtime) -> None:
    with transaction(runtime.factory) as session:
        first = users.seed_demo_users(session)
    with transaction(runtime.factory) as session:
        second = users.seed_demo_users(session)
        assert len(users.list_users(session)) == 4
    assert {r for _n, _p, r in first} == {r.value for r in Role}
    assert all(a[1] != b[1] for a, b in zip(first, second, strict=True))
    with transaction(runtime.factory) as session:
        for name, password, _role in second:
            users.authenticate(session, username=name, password=password)


def test_serve_stops_when_asked(runtime: Runtime) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            serve(runtime, stop=stop, host="127.0.0.1", port=0)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    stop.set()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert errors == []


def test_serve_reports_a_busy_port(runtime: Runtime) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(WebServerError):
            serve(runtime, stop=threading.Event(), host="127.0.0.1", port=port)


@pytest.mark.parametrize("verbose", [False, True])
def test_access_log_only_when_verbose(runtime: Runtime, verbose: bool,
                                      caplog: pytest.LogCaptureFixture) -> None:
    runtime.settings.log_verbose = verbose
    stop, started = threading.Event(), threading.Event()
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    thread = threading.Thread(target=serve, args=(runtime,), kwargs={
        "stop": stop, "host": "127.0.0.1", "port": port, "sock": sock, "started": started})
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    thread.start()
    try:
        assert started.wait(60)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz?q=secret", timeout=30).text == "ok"
    finally:
        stop.set()
        thread.join(timeout=60)
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    if verbose:
        assert len(access) == 1
        assert "/healthz" in access[0]
        assert "secret" not in access[0]  # the query string is never logged
    else:
        assert access == []


def test_listen_names_the_setting_for_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(PortInUse, match="SOCMON_WEB__PORT"):
            listen("127.0.0.1", port)
