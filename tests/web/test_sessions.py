"""Sessions end on the server: a kept copy of the cookie stops working after logout or disable."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.models import AuditEvent
from monitor.runtime import Runtime


def _copy(client: TestClient) -> TestClient:
    """Another browser holding the same cookies (a stolen or left-behind session)."""
    return TestClient(client.app, cookies=dict(client.cookies))


def test_logout_ends_the_session_on_the_server(
        runtime: Runtime, client_for: Callable[[str], TestClient]) -> None:
    moderator = client_for("moderator")
    kept = _copy(moderator)
    elsewhere = client_for("moderator")  # the same person signed in on another device
    other = client_for("manager")
    assert kept.get("/api/v1/me").status_code == 200
    response = moderator.post("/logout", follow_redirects=False)
    assert response.status_code == 303
    assert kept.get("/api/v1/me").status_code == 401
    assert moderator.get("/api/v1/me").status_code == 401
    assert elsewhere.get("/api/v1/me").status_code == 401  # logout ends the user's sessions
    assert other.get("/api/v1/me").status_code == 200  # and nobody else's
    with runtime.factory() as session:
        assert session.execute(select(AuditEvent.actor).where(
            AuditEvent.action == "user.logout")).scalars().all() == ["demo-moderator"]


def test_a_disabled_then_enabled_account_keeps_no_old_session(
        client_for: Callable[[str], TestClient]) -> None:
    dsl = client_for("safeguarding_lead")
    kept = _copy(dsl)
    admin = client_for("admin")
    assert admin.post("/api/v1/users/demo-dsl/disable").status_code == 200
    assert admin.post("/api/v1/users/demo-dsl/disable",
                      params={"enable": "true"}).status_code == 200
    assert kept.get("/api/v1/me").status_code == 401


def test_a_password_reset_ends_sessions_even_with_the_old_cookie(
        client_for: Callable[[str], TestClient]) -> None:
    manager = client_for("manager")
    kept = _copy(manager)
    admin = client_for("admin")
    assert admin.post("/admin/users/demo-manager/reset-password").status_code == 200
    assert kept.get("/api/v1/me").status_code == 401
    assert admin.get("/api/v1/me").status_code == 200
