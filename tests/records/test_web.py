"""The records pages in use: holds, reviews and people's rights, each for the roles allowed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor import audit
from monitor.db import transaction
from monitor.models import AuditEvent, Item, LegalHold, SafeguardingReview, utcnow
from monitor.runtime import Runtime
from monitor.web import create_app
from tests.records.conftest import seed_item
from tests.web.conftest import login


@pytest.fixture
def client_for(runtime: Runtime, people: dict[str, str]) -> Iterator[Callable[[str], TestClient]]:
    """Clients signed in as one of `PEOPLE`."""
    app = create_app(runtime)
    clients: list[TestClient] = []

    def make(name: str) -> TestClient:
        client = TestClient(app)
        clients.append(client)
        login(client, name, people[name])
        return client

    yield make
    for client in clients:
        client.close()


def test_holds_page_sets_and_lifts_a_hold(runtime: Runtime,
                                          client_for: Callable[[str], TestClient]) -> None:
    dsl = client_for("dee")
    page = dsl.get("/admin/holds")
    assert page.status_code == 200
    assert 'href="/admin/holds"' in page.text  # the nav link
    assert 'href="/admin/people"' not in page.text  # the DSL does not answer rights requests
    done = dsl.post("/admin/holds", data={"scope": "author", "platform": "demo",
                                          "target": "a1", "reason": "police inquiry"})
    assert "Legal hold #1 set." in done.text
    assert "author demo:a1" in done.text
    refused = dsl.post("/admin/holds", data={"scope": "alert", "target": "x", "reason": "r"})
    assert "target: give the alert&#39;s number" in refused.text
    lifted = dsl.post("/admin/holds/1/release", data={"reason": "inquiry closed"})
    assert "Legal hold #1 lifted." in lifted.text
    assert dsl.post("/admin/holds/99/release", data={"reason": "x"}).status_code == 404
    with runtime.factory() as session:
        hold = session.get_one(LegalHold, 1)
        assert (hold.set_by, hold.released_by) == ("dee", "dee")
    assert 'href="/admin/holds"' not in client_for("mo").get("/queue").text


def test_the_dsl_signs_off_a_record_due_for_review(
        runtime: Runtime, client_for: Callable[[str], TestClient]) -> None:
    _, alert_id = seed_item(runtime, external_id="s1", text="I am scared at home",
                            at=utcnow() - timedelta(days=3000), labels=["safeguarding"],
                            queue="safeguarding")
    assert alert_id is not None
    with transaction(runtime.factory) as session:
        session.add(SafeguardingReview(alert_id=alert_id, due_since=utcnow()))
    dsl = client_for("dee")
    page = dsl.get("/records/reviews")
    assert f'action="/records/reviews/{alert_id}/sign-off"' in page.text
    assert "scared" not in page.text
    done = dsl.post(f"/records/reviews/{alert_id}/sign-off", data={"reason": "case closed"})
    assert "signed off" in done.text
    assert f'action="/records/reviews/{alert_id}/sign-off"' not in done.text
    again = dsl.post(f"/records/reviews/{alert_id}/sign-off", data={"reason": "again"})
    assert "already signed off by dee" in again.text


def test_people_page_exports_and_erases_with_confirmation(
        runtime: Runtime, client_for: Callable[[str], TestClient]) -> None:
    clean, _ = seed_item(runtime, external_id="c1", text="Lovely sports day", at=utcnow())
    held, alert_id = seed_item(runtime, external_id="f1", text="Held insult", at=utcnow(),
                               labels=["abuse"])
    _, gone_alert = seed_item(runtime, external_id="f2", text="Erased insult", at=utcnow(),
                              labels=["abuse"])
    admin = client_for("ada")
    assert 'id="content-removed"' not in admin.get(f"/alerts/{gone_alert}").text
    admin.post("/admin/holds", data={"scope": "alert", "target": str(alert_id),
                                     "reason": "police"})
    page = admin.get("/admin/people", params={"platform": "demo", "author": "a1"})
    assert page.status_code == 200
    assert "kept: legal hold #1" in page.text
    assert "erase it" in page.text
    exported = admin.get("/admin/people/export.json", params={"platform": "demo",
                                                              "author": "a1"})
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    assert sorted(i["text"] for i in exported.json()["items"]) == [
        "Erased insult", "Held insult", "Lovely sports day"]
    wrong = admin.post("/admin/people/erase", data={"platform": "demo", "author": "a1",
                                                    "confirm": "a2"})
    assert wrong.status_code == 422
    assert "type the author id again" in wrong.text
    with runtime.factory() as session:
        assert session.get_one(Item, clean).text == "Lovely sports day"
    erased = admin.post("/admin/people/erase", data={"platform": "demo", "author": "a1",
                                                     "confirm": "a1"})
    assert erased.status_code == 200
    assert f"<td>{clean}</td><td>erased</td>" in erased.text
    assert f"<td>{held}</td><td>kept: legal hold #1</td>" in erased.text
    removed = admin.get(f"/alerts/{gone_alert}").text
    assert 'id="content-removed"' in removed
    assert "Erased insult" not in removed
    with runtime.factory() as session:
        assert session.get_one(Item, clean).text == ""
        assert session.get_one(Item, held).text == "Held insult"
        assert audit.verify(session).ok
        actions = list(session.execute(select(AuditEvent.action)).scalars())
        assert actions.count("people.export") == 1
        assert actions.count("people.erase") == 1
    # Moderators, managers and the DSL cannot reach any of it.
    for name in ("mo", "meg", "dee"):
        client = client_for(name)
        assert client.get("/admin/people").status_code == 403
        assert client.get("/admin/people/export.json",
                          params={"platform": "demo", "author": "a1"}).status_code == 403
