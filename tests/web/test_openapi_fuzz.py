"""schemathesis against the JSON API's OpenAPI (signed in as an admin): no server errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from config.settings import ChannelConfig, Settings
from monitor.db import transaction
from monitor.runtime import build_runtime
from monitor.users import seed_demo_users
from monitor.web import create_app
from tests.web.conftest import login, seed_alert


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    """The app on a seeded SQLite database and an admin's cookie and CSRF header."""
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    runtime = build_runtime(Settings(
        data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'fuzz.sqlite3'}",
        channels=[ChannelConfig(name="demo", platform="demo", options={"initial": 5})]), env={})
    for i, (labels, severity) in enumerate([(["abuse"], "high"), (["safeguarding"], "critical"),
                                            (["spam"], "low")]):
        seed_alert(runtime, text=f"<b>text {i}</b> ‮ zero​width 😀", labels=labels,
                   severity=severity, external_id=f"fuzz-{i}")
    with transaction(runtime.factory) as session:
        creds = {role: (name, pw) for name, pw, role in seed_demo_users(session)}
    app = create_app(runtime)
    client = TestClient(app)
    login(client, *creds["admin"])
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    yield app, {"Cookie": cookie, "x-csrftoken": client.cookies["csrftoken"]}
    client.close()
    runtime.close()


def test_api_never_answers_with_a_server_error(signed_in: tuple[Any, dict[str, str]]) -> None:
    app, headers = signed_in
    api = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        fuzz()
