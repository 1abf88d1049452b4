"""Escalated to the DSL from the web, an alert leaves the moderators' reach for the DSL's lane."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.conftest import Seeded


def test_escalating_to_the_dsl_moves_the_alert_into_the_lane(
        seeded: Seeded, client_for: Callable[[str], TestClient]) -> None:
    moderator, dsl = client_for("moderator"), client_for("safeguarding_lead")
    before = moderator.get(f"/api/v1/alerts/{seeded.abuse}").json()
    assert before["restricted"] is False
    assert before["safeguarding"] is False
    escalated = moderator.post(f"/api/v1/alerts/{seeded.abuse}/escalate",
                               json={"to": "safeguarding_lead", "note": "home situation"})
    assert escalated.status_code == 200
    after = moderator.get(f"/api/v1/alerts/{seeded.abuse}").json()
    assert after["restricted"] is True
    assert after["queue"] == "safeguarding"
    assert moderator.post(f"/api/v1/alerts/{seeded.abuse}/notes",
                          json={"body": "more"}).status_code == 403
    lane = dsl.get("/api/v1/safeguarding").json()["alerts"]
    assert seeded.abuse in [row["id"] for row in lane]
    assert dsl.get(f"/api/v1/alerts/{seeded.abuse}").json()["restricted"] is False
