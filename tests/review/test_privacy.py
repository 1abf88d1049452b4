"""The record of what socmon holds and why: docs/privacy.md is what the default configuration
produces, and the page shows what the running configuration says."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config.loader import load
from config.settings import ChannelConfig, Digest, Settings
from monitor import privacy
from monitor.db import transaction
from monitor.people.roles import PERMISSIONS, Permission, Role
from monitor.runtime import build_runtime
from monitor.users import seed_demo_users
from monitor.web import create_app
from tests.web.conftest import login

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("SOCMON_"):
            monkeypatch.delenv(key)


def test_committed_doc_is_what_the_default_configuration_produces(clean_env: None) -> None:
    expected = privacy.markdown(privacy.build(load()))
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/privacy.md is stale: run `socmon privacy record --markdown > docs/privacy.md`")


def test_the_command_prints_the_doc(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    env["SOCMON_DATA_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "monitor", "privacy", "record", "--markdown"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == DOC.read_text(encoding="utf-8")


def test_who_sees_each_category_follows_the_permissions() -> None:
    record = privacy.build(Settings())
    for entry in record.entries:
        permission = entry.category.permission
        if permission is None:
            assert entry.viewers == ("server operators only (not shown in the web UI)",)
            continue
        allowed = [r.value.replace("_", " ") for r in Role if permission in PERMISSIONS[r]]
        assert list(entry.viewers) == allowed
    safeguarding = next(e for e in record.entries if e.category.key == "safeguarding")
    assert Permission.SAFEGUARDING not in PERMISSIONS[Role.MODERATOR]
    assert "moderator" not in safeguarding.viewers


@pytest.fixture
def retention_source() -> Iterator[None]:
    """A retention source as the retention settings will plug in (one function)."""
    def periods(settings: Settings) -> Mapping[str, str]:
        return {"comments": f"{len(settings.channels)} channel(s): 30 days",
                "unknown-category": "ignored"}
    privacy.RETENTION_SOURCES.append(periods)
    yield
    privacy.RETENTION_SOURCES.remove(periods)


def test_page_agrees_with_the_configuration_that_produced_it(
        settings: Settings, retention_source: None) -> None:
    custom = settings.model_copy(update={
        "channels": [*settings.channels,
                     ChannelConfig(name="parents", platform="demo", enabled=False)],
        "digest": Digest(recipients=["head@school.example", "chair@gov.example"],
                         quote_abusive_text=True)})
    runtime = build_runtime(custom, env={})
    try:
        with transaction(runtime.factory) as session:
            creds = {role: (name, pw) for name, pw, role in seed_demo_users(session)}
        record = privacy.build(custom)
        with TestClient(create_app(runtime)) as client:
            login(client, *creds["safeguarding_lead"])
            page = client.get("/records/privacy")
            assert page.status_code == 200
            html = unescape(page.text)
        assert "parents (demo, disabled)" in html
        assert "weekly, to 2 recipient(s); quotations allowed" in html
        assert "2 channel(s): 30 days" in html  # from the plugged-in source
        for entry in record.entries:
            assert entry.category.title in html
            assert ", ".join(entry.viewers) in html
            assert entry.retention in html
        assert record.entries[0].retention == "2 channel(s): 30 days"
        assert "1 hour" in record.classifier
        assert record.classifier in html
        for role in ("moderator", "manager"):
            with TestClient(create_app(runtime)) as client:
                login(client, *creds[role])
                assert client.get("/records/privacy").status_code == 403
    finally:
        runtime.close()
