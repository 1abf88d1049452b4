"""Authorisation for every route and every role (table-driven), plus the lane's special cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Role
from monitor import users
from monitor.db import transaction
from monitor.models import Alert
from monitor.runtime import Runtime
from monitor.web import create_app
from tests.web.conftest import Seeded

A, M, S, G = "admin", "moderator", "safeguarding_lead", "manager"
ALL = {A, M, S, G}
ACTORS = {A, M, S}
DSL = {A, S}
OVERSIGHT = {A, S, G}
PUBLIC = None

# (method, path) -> roles allowed; PUBLIC needs no sign-in. Every route of the app must be here.
TABLE: dict[tuple[str, str], set[str] | None] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/api/openapi.json"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("POST", "/logout"): ALL,
    ("GET", "/"): ALL,
    ("GET", "/queue"): ALL,
    ("POST", "/queue/bulk"): ACTORS,
    ("GET", "/alerts/{alert_id}"): ALL,
    ("POST", "/alerts/{alert_id}/act"): ACTORS,
    ("POST", "/alerts/{alert_id}/acknowledge"): DSL,
    ("GET", "/alerts/{alert_id}/evidence.zip"): ACTORS,
    ("GET", "/safeguarding"): DSL,
    ("GET", "/audit"): OVERSIGHT,
    ("GET", "/audit.csv"): OVERSIGHT,
    ("GET", "/channels"): ALL,
    ("GET", "/dashboard"): ALL,
    ("GET", "/admin/users"): {A},
    ("POST", "/admin/users"): {A},
    ("POST", "/admin/users/{username}/disable"): {A},
    ("POST", "/admin/users/{username}/reset-password"): {A},
    ("POST", "/admin/users/{username}/unlock"): {A},
    ("GET", "/api/v1/me"): ALL,
    ("GET", "/api/v1/alerts"): ALL,
    ("GET", "/api/v1/alerts/{alert_id}"): ALL,
    ("POST", "/api/v1/alerts/{alert_id}/claim"): ACTORS,
    ("POST", "/api/v1/alerts/{alert_id}/release"): ACTORS,
    ("POST", "/api/v1/alerts/{alert_id}/assign"): ACTORS,
    ("POST", "/api/v1/alerts/{alert_id}/hide"): ACTORS,
    ("POST", "/api/v1/alerts/{alert_id}/delete"): ACTORS,
    ("POST", "/api/v1/alerts/{alert_id}/dismiss"): ACTORS,
    ("POST", "/api/v1/alerts/{alert_id}/escalate"): ACTORS,
    ("POST", "/api/v1/alerts/{alert_id}/notes"): ACTORS,
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): DSL,
    ("GET", "/api/v1/alerts/{alert_id}/evidence"): ACTORS,
    ("POST", "/api/v1/alerts/bulk"): ACTORS,
    ("GET", "/api/v1/safeguarding"): DSL,
    ("GET", "/api/v1/audit"): OVERSIGHT,
    ("GET", "/api/v1/audit.csv"): OVERSIGHT,
    ("GET", "/api/v1/channels"): ALL,
    ("GET", "/api/v1/dashboard"): ALL,
    ("GET", "/api/v1/users"): {A},
    ("POST", "/api/v1/users"): {A},
    ("POST", "/api/v1/users/{username}/disable"): {A},
    ("POST", "/api/v1/users/{username}/reset-password"): {A},
    ("POST", "/api/v1/users/{username}/unlock"): {A},
    ("GET", "/removals"): ALL,
    ("POST", "/removals"): ACTORS,
    ("POST", "/removals/{request_id}/contact"): ACTORS,
    ("POST", "/removals/{request_id}/confirm"): ACTORS,
    ("GET", "/admin/holds"): DSL,
    ("POST", "/admin/holds"): DSL,
    ("POST", "/admin/holds/{hold_id}/release"): DSL,
    ("GET", "/records/reviews"): DSL,
    ("POST", "/records/reviews/{alert_id}/sign-off"): DSL,
    ("GET", "/admin/people"): {A},
    ("GET", "/admin/people/export.json"): {A},
    ("POST", "/admin/people/erase"): {A},
    ("GET", "/lab"): OVERSIGHT,
    ("POST", "/lab/rules"): {A},
    ("POST", "/lab/rules/{rule_id}"): {A},
    ("POST", "/lab/rules/{rule_id}/remove"): {A},
    ("POST", "/lab/settings"): {A},
    ("POST", "/lab/shadow"): {A},
    ("POST", "/lab/promote"): {A},
    ("POST", "/lab/discard"): {A},
    ("GET", "/records/privacy"): DSL,
    ("GET", "/records/changes"): OVERSIGHT,
    ("GET", "/admin/review"): {A},
    ("GET", "/admin/review/report"): {A},
    ("GET", "/lab/suite"): ALL,
    ("POST", "/lab/suite"): ACTORS,
    ("POST", "/lab/suite/run"): ACTORS,
    ("POST", "/alerts/{alert_id}/suite-case"): ACTORS,
}


def _body(method: str, path: str) -> dict[str, Any]:
    """A valid request body for each state-changing route, so only the role decides."""
    if method != "POST":
        return {}
    api = path.startswith("/api/")
    forms: dict[str, dict[str, Any]] = {
        "/login": {"username": "nobody", "password": "x" * 12},
        "/queue/bulk": {"action": "dismiss", "reason": "false_positive", "ids": ["1"]},
        "/alerts/{alert_id}/act": {"action": "note", "note": "checked"},
        "/alerts/{alert_id}/acknowledge": {"handover": "rang the family"},
        "/admin/users": {"username": "newbie", "role": "moderator"},
        "/removals": {"requester": "A Parent", "requester_role": "parent", "what": "a photo",
                      "reason": "consent withdrawn", "url": "https://elsewhere.example/p/1"},
        "/removals/{request_id}/contact": {"note": "emailed the host"},
        "/removals/{request_id}/confirm": {"note": "checked: gone"},
        "/admin/holds": {"scope": "channel", "target": "demo", "reason": "inquiry"},
        "/admin/holds/{hold_id}/release": {"reason": "closed"},
        "/records/reviews/{alert_id}/sign-off": {"reason": "case closed"},
        "/admin/people/erase": {"platform": "demo", "author": "nobody", "confirm": "nobody"},
        "/lab/rules": {"kind": "watch", "text": "grendon rats", "label": "abuse",
                       "severity": "high", "reason": "a local slur"},
        "/lab/shadow": {"hours": "1"},
        "/lab/settings": {"sensitivity": "0.6"},
        "/lab/promote": {"reason": "checked"},
        "/lab/discard": {"reason": "not needed"},
        "/lab/suite": {"text": "Lovely photo", "clause": "short praise", "clean": "true"},
    }
    bodies: dict[str, dict[str, Any]] = {
        "/api/v1/alerts/{alert_id}/assign": {"username": "demo-moderator"},
        "/api/v1/alerts/{alert_id}/dismiss": {"reason": "false_positive"},
        "/api/v1/alerts/{alert_id}/escalate": {"to": "management"},
        "/api/v1/alerts/{alert_id}/notes": {"body": "checked"},
        "/api/v1/alerts/{alert_id}/acknowledge": {"handover": "rang the family"},
        "/api/v1/alerts/bulk": {"ids": [1], "action": "claim"},
        "/api/v1/users": {"username": "newbie", "role": "moderator"},
    }
    if api:
        return {"json": bodies.get(path)} if path in bodies else {}
    return {"data": forms.get(path, {})}


def _flat(app: Any) -> list[Any]:
    """Routes, with included routers opened (this FastAPI keeps them nested)."""
    out = []
    for route in app.routes:
        nested = getattr(route, "original_router", None)
        out.extend(nested.routes if nested is not None else [route])
    return out


def _routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for route in _flat(app):
        methods = getattr(route, "methods", None)
        if not methods:
            continue  # the static files mount
        for method in methods - {"HEAD"}:
            found.add((method, route.path))
    return found


def test_every_route_is_in_the_table(runtime: Runtime) -> None:
    app = create_app(runtime)
    assert _routes(app) == set(TABLE)


def test_every_route_but_the_public_ones_checks_a_role(runtime: Runtime) -> None:
    app = create_app(runtime)
    for route in _flat(app):
        if not isinstance(route, APIRoute) or TABLE[(sorted(route.methods)[0], route.path)] is None:
            continue
        names = {d.call.__name__ for d in route.dependant.dependencies if d.call}
        assert any(n.startswith("require_") for n in names), route.path


def _request(client: TestClient, method: str, path: str, *, alert_id: int) -> int:
    url = (path.replace("{alert_id}", str(alert_id)).replace("{username}", "victim")
           .replace("{request_id}", "1").replace("{hold_id}", "1").replace("{rule_id}", "1"))
    return client.request(method, url, follow_redirects=False, **_body(method, path)).status_code


@pytest.mark.parametrize("role", [A, M, S, G])
def test_role_table(role: str, runtime: Runtime, seeded: Seeded,
                    client_for: Callable[[str], TestClient]) -> None:
    with transaction(runtime.factory) as session:
        users.create(session, username="victim", role=Role.MODERATOR, actor="test")
    client = client_for(role)
    for (method, path), allowed in sorted(TABLE.items(), key=lambda kv: kv[0][1] == "/logout"):
        if allowed is None:
            continue
        status = _request(client, method, path, alert_id=seeded.abuse)
        if role in allowed:
            assert status not in (401, 403), (role, method, path, status)
        else:
            assert status == 403, (role, method, path, status)


def test_signed_out_requests_are_refused(runtime: Runtime, seeded: Seeded) -> None:
    client = TestClient(create_app(runtime))
    client.get("/login")
    client.headers["x-csrftoken"] = client.cookies["csrftoken"]
    for (method, path), allowed in TABLE.items():
        if allowed is None:
            continue
        status = _request(client, method, path, alert_id=seeded.abuse)
        if path.startswith("/api/"):
            assert status == 401, (method, path, status)
        else:
            assert status == 303, (method, path, status)


def test_manager_cannot_act(runtime: Runtime, seeded: Seeded,
                            client_for: Callable[[str], TestClient]) -> None:
    client = client_for(G)
    assert client.post(f"/api/v1/alerts/{seeded.abuse}/hide").status_code == 403
    assert client.post(f"/alerts/{seeded.abuse}/act", data={"action": "delete"},
                       follow_redirects=False).status_code == 403
    page = client.get(f"/alerts/{seeded.abuse}")
    assert page.status_code == 200
    assert 'id="act-hide"' not in page.text
    assert "read-only" in page.text
    with runtime.factory() as session:
        alert = session.get_one(Alert, seeded.abuse)
        assert alert.state == "new"
        assert alert.takedown_status == "none"


def test_moderator_opening_a_safeguarding_item_sees_only_that_it_exists(
        runtime: Runtime, seeded: Seeded, client_for: Callable[[str], TestClient]) -> None:
    moderator = client_for(M)
    page = moderator.get(f"/alerts/{seeded.safeguarding}")
    assert page.status_code == 200
    assert "scared to go home" not in page.text
    assert "Worried Child" not in page.text
    assert 'id="restricted"' in page.text
    assert "due " in page.text
    data = moderator.get(f"/api/v1/alerts/{seeded.safeguarding}").json()
    assert data["restricted"] is True
    assert "item" not in data
    assert data["due_at"]
    # It shows in the queue without content, and a text search cannot find it.
    rows = moderator.get("/api/v1/alerts").json()["alerts"]
    sg = next(r for r in rows if r["id"] == seeded.safeguarding)
    assert sg["text"] is None
    assert sg["author"] is None
    assert sg["restricted"]
    assert "scared to go home" not in moderator.get("/queue").text
    found = moderator.get("/api/v1/alerts", params={"q": "scared"}).json()["alerts"]
    assert found == []
    # Nor can a moderator act on it.
    assert moderator.post(f"/api/v1/alerts/{seeded.safeguarding}/hide").status_code == 403
    bulk = moderator.post("/api/v1/alerts/bulk",
                          json={"ids": [seeded.safeguarding], "action": "claim"}).json()
    assert bulk["done"] == []
    assert str(seeded.safeguarding) in bulk["skipped"]
    # The DSL sees it all.
    dsl = client_for(S)
    assert "scared to go home" in dsl.get(f"/alerts/{seeded.safeguarding}").text
    assert [r["id"] for r in dsl.get("/api/v1/alerts", params={"q": "scared"}).json()[
        "alerts"]] == [seeded.safeguarding]


def test_thread_neighbours_that_are_safeguarding_items_are_redacted(
        seeded: Seeded, client_for: Callable[[str], TestClient]) -> None:
    data = client_for(M).get(f"/api/v1/alerts/{seeded.abuse}").json()
    neighbours = [n for n in data["thread"] if n["alert_id"] == seeded.safeguarding]
    assert neighbours
    assert neighbours[0]["text"] is None
    assert neighbours[0]["restricted"]
    assert "scared" not in str(data)


def test_moderator_cannot_open_the_safeguarding_lane_or_acknowledge(
        runtime: Runtime, seeded: Seeded, client_for: Callable[[str], TestClient]) -> None:
    moderator = client_for(M)
    assert moderator.get("/safeguarding").status_code == 403
    assert moderator.post(f"/api/v1/alerts/{seeded.safeguarding}/acknowledge",
                          json={"handover": "x"}).status_code == 403
    with runtime.factory() as session:
        assert session.execute(select(Alert.acknowledged_at).where(
            Alert.id == seeded.safeguarding)).scalar_one() is None
