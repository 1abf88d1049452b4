"""The record of what socmon holds and why: docs/privacy.md is what the default configuration
produces, and the page shows what the running configuration says."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config.loader import load
from config.settings import ChannelConfig, Digest, Retention, Settings
from monitor import privacy
from monitor.db import transaction
from monitor.people.roles import HOLD_KEEPERS, PERMISSIONS, Permission, Role
from monitor.removals.policy import WORKERS
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


def test_retention_periods_are_read_from_the_retention_settings() -> None:
    shorter = Retention(clean=timedelta(days=14), flagged=timedelta(days=200),
                        safeguarding=timedelta(days=3000), notes=timedelta(days=90),
                        audit_details=timedelta(days=2000))
    periods = privacy.retention(Settings(retention=shorter))
    assert periods["comments"].startswith("14 days from when read")
    assert periods["flagged"].startswith("200 days from the alert, once it is closed")
    assert periods["quarantine"] == "the payload: 200 days from when it was set aside"
    assert periods["notes"] == "90 days from when written"
    assert periods["safeguarding"] == ("3000 days from the alert, then the DSL's review; "
                                       "purged only once signed off")
    assert periods["audit"] == "details only, after 2000 days; who, what and when are kept"
    # removal requests lose their free text on the flagged period, as the purge applies it
    assert "200 days from when the request was closed" in periods["removals"]
    assert periods["users"] == privacy.NO_PERIOD
    assert "no automatic purge" in periods["holds"]
    assert "no automatic purge" in periods["org_rules"]

    off = privacy.retention(Settings(retention=shorter.model_copy(update={"enabled": False})))
    for key in ("comments", "flagged", "quarantine", "notes", "safeguarding", "audit",
                "removals"):
        assert off[key].startswith(privacy.PURGE_OFF), key
        assert off[key].endswith(periods[key]), key
    assert "no automatic purge" in off["holds"]


def test_every_category_has_a_period_and_removal_requests_follow_their_workers() -> None:
    record = privacy.build(Settings())
    keys = [e.category.key for e in record.entries]
    assert len(keys) == len(set(keys))
    assert {"removals", "holds", "org_rules", "shadow"} <= set(keys)
    entries = {e.category.key: e for e in record.entries}
    # who reads who asked and why is the removals policy's rule, not a second list
    assert set(entries["removals"].viewers) == {privacy.role_title(r) for r in WORKERS}
    assert "manager" not in entries["removals"].viewers
    assert set(entries["holds"].viewers) == {privacy.role_title(r) for r in HOLD_KEEPERS}
    assert "photo consent withdrawn" in entries["names"].category.note


def test_page_agrees_with_the_configuration_that_produced_it(
        settings: Settings) -> None:
    custom = settings.model_copy(update={
        "retention": Retention(clean=timedelta(days=21)),
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
        assert "21 days from when read" in html  # from the retention settings
        for entry in record.entries:
            assert entry.category.title in html
            assert ", ".join(entry.viewers) in html
            assert entry.retention in html
        assert record.entries[0].retention.startswith("21 days from when read")
        assert "1 hour" in record.classifier
        assert record.classifier in html
        for role in ("moderator", "manager"):
            with TestClient(create_app(runtime)) as client:
                login(client, *creds[role])
                assert client.get("/records/privacy").status_code == 403
    finally:
        runtime.close()
