"""Malformed bodies and unstorable text get a 400, 415 or 422 with a plain message, never 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from monitor.models import AlertNote
from monitor.runtime import Runtime
from monitor.web import create_app
from tests.web.conftest import Seeded


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    """A signed-out browser holding a CSRF cookie, so asgi-csrf reads POST bodies."""
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    assert client.get("/login").status_code == 200
    return client


@pytest.mark.parametrize("content_type", [
    "multipart/form-data", "multipart/form-data; charset=utf-8", "multipart/form-data; boundary="])
def test_multipart_without_a_boundary_is_a_bad_request(client: TestClient,
                                                       content_type: str) -> None:
    for path in ("/login", "/api/v1/alerts/1/notes", "/logout"):
        response = client.post(path, content=b"--x\r\n", headers={"content-type": content_type})
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == "Bad request: a multipart/form-data body needs a boundary.\n"


def test_multipart_with_a_boundary_is_refused_as_unsupported(
        client: TestClient, accounts: dict[str, tuple[str, str]]) -> None:
    # asgi-csrf cannot read multipart with the python-multipart in use (it raised TypeError),
    # and socmon's forms are url-encoded: a clear 415 instead of a 500.
    name, password = accounts["moderator"]
    fields = {"csrftoken": client.cookies["csrftoken"], "username": name, "password": password}
    body = b"".join(f'--b0und\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                    .encode() for k, v in fields.items()) + b"--b0und--\r\n"
    for content_type in ("multipart/form-data; boundary=b0und",
                         "multipart/form-data;boundary=b0und"):
        response = client.post("/login", content=body, follow_redirects=False,
                               headers={"content-type": content_type})
        assert response.status_code == 415, response.text
        assert "application/x-www-form-urlencoded" in response.text


def test_a_url_encoded_body_that_is_not_utf8_is_a_bad_request(client: TestClient) -> None:
    token = client.cookies["csrftoken"].encode()
    for path in ("/login", "/api/v1/alerts/1/notes"):
        response = client.post(path, content=b"username=caf\xe9&password=x&csrftoken=" + token,
                               headers={"content-type": "application/x-www-form-urlencoded"})
        assert response.status_code == 400, (path, response.text)
        assert response.text == "Bad request: a form body must be UTF-8.\n"
    # Percent-escapes are decoded leniently by the parsers, so they stay ordinary input.
    escaped = client.post("/login", content=b"username=caf%E9&password=x&csrftoken=" + token,
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert escaped.status_code == 401


def test_nul_in_any_text_field_is_refused_on_every_database(
        client_for: Callable[[str], TestClient], seeded: Seeded, runtime: Runtime,
        accounts: dict[str, tuple[str, str]]) -> None:
    # PostgreSQL cannot store or even compare text with NUL in it: each of these was a 500
    # there (and stored or searched as given on SQLite). Now a 422 names the field on both.
    admin = client_for("admin")
    refused = [
        admin.post(f"/api/v1/alerts/{seeded.abuse}/notes", json={"body": "a\x00b"}),
        admin.post(f"/api/v1/alerts/{seeded.abuse}/assign", json={"username": "\x00"}),
        admin.get("/api/v1/alerts", params={"q": "\x00"}),
        admin.get("/api/v1/audit.csv", params={"actor": "x\x00"}),
        admin.post("/api/v1/users/%00/unlock"),
        admin.post(f"/alerts/{seeded.abuse}/act", data={"action": "note", "note": "\x00"}),
        admin.get("/queue", params={"author": "\x00"}),
    ]
    for response in refused:
        assert response.status_code == 422, (response.request.url, response.text)
        assert "NUL" in response.text
    assert "body" in refused[0].json()["detail"][0]["loc"]
    signed_out = TestClient(create_app(runtime))
    assert signed_out.get("/login").status_code == 200
    response = signed_out.post("/login", data={
        "username": "demo-admin\x00", "password": accounts["admin"][1],
        "csrftoken": signed_out.cookies["csrftoken"]})
    assert response.status_code == 422
    with runtime.factory() as session:
        notes = session.execute(select(func.count()).select_from(AlertNote)).scalar_one()
    assert notes == 0
