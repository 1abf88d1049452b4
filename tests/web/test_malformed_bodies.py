"""Malformed form bodies sent before authentication get 400 with a plain message, never 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from monitor.runtime import Runtime
from monitor.web import create_app


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
