"""A safeguarding alert's audit details (the platform's external id...) only for the DSL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from monitor import audit
from monitor.db import transaction
from monitor.runtime import Runtime
from tests.web.conftest import Seeded


def _opened(runtime: Runtime, alert_id: int, external_id: str) -> None:
    """The details the ingest records when it opens an alert."""
    with transaction(runtime.factory) as session:
        audit.record(session, actor="system", action="alert.open", target_type="alert",
                     target_id=alert_id, details={
                         "channel": "demo", "platform": "demo", "external_id": external_id,
                         "labels": ["safeguarding"], "severity": "critical",
                         "queue": "safeguarding", "model_version": "test"})


def test_restricted_alerts_show_no_audit_details(
        runtime: Runtime, seeded: Seeded, client_for: Callable[[str], TestClient]) -> None:
    _opened(runtime, seeded.safeguarding, "ext-sg-4711")
    for role in ("moderator", "manager"):
        client = client_for(role)
        data = client.get(f"/api/v1/alerts/{seeded.safeguarding}").json()
        assert data["restricted"] is True
        assert "ext-sg-4711" not in json.dumps(data)
        assert data["audit"]  # who and when stay visible
        assert all(e["redacted"] and e["details"] == {} for e in data["audit"])
        page = client.get(f"/alerts/{seeded.safeguarding}").text
        assert "ext-sg-4711" not in page
        assert "restricted" in page
    dsl = client_for("safeguarding_lead")
    assert "ext-sg-4711" in dsl.get(f"/alerts/{seeded.safeguarding}").text
    assert "ext-sg-4711" in json.dumps(dsl.get(f"/api/v1/alerts/{seeded.safeguarding}").json())


def test_the_audit_log_redacts_safeguarding_details_for_managers(
        runtime: Runtime, seeded: Seeded, client_for: Callable[[str], TestClient]) -> None:
    _opened(runtime, seeded.safeguarding, "ext-sg-4711")
    _opened(runtime, seeded.abuse, "ext-abuse-815")
    manager = client_for("manager")
    events = manager.get("/api/v1/audit").json()["events"]
    assert "ext-sg-4711" not in json.dumps(events)
    assert "ext-abuse-815" in json.dumps(events)  # other alerts' details stay readable
    assert any(e["redacted"] and e["target_type"] == "alert"
               and e["target_id"] == str(seeded.safeguarding) for e in events)
    assert "ext-sg-4711" not in manager.get("/audit").text
    rows = list(csv.DictReader(io.StringIO(manager.get("/audit.csv").text)))
    assert "ext-sg-4711" not in json.dumps(rows)
    assert {r["details"] for r in rows if r["target_type"] == "alert"
            and r["target_id"] == str(seeded.safeguarding)} == {"restricted"}
    # A search cannot find the hidden details by matching them either.
    assert manager.get("/api/v1/audit", params={"q": "ext-sg-4711"}).json()["events"] == []
    assert len(manager.get("/api/v1/audit", params={"q": "ext-abuse-815"}).json()["events"]) == 1
    dsl = client_for("safeguarding_lead")
    found = dsl.get("/api/v1/audit", params={"q": "ext-sg-4711"}).json()["events"]
    assert [e["details"]["external_id"] for e in found] == ["ext-sg-4711"]
