"""HSTS behind https, an API description that works offline under the CSP, no Bearer CSRF skip."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings, Web
from monitor.models import Alert
from monitor.runtime import Runtime, build_runtime
from monitor.web import create_app
from tests.web.conftest import Seeded


@pytest.fixture
def https_runtime(settings: Settings, runtime: Runtime) -> Iterator[Runtime]:
    """The runtime of a deployment whose public address is https."""
    rt = build_runtime(settings.model_copy(update={
        "web": Web(public_url="https://socmon.school.example")}), env={}, migrate=False)
    yield rt
    rt.close()


def test_hsts_is_sent_when_the_public_url_is_https(runtime: Runtime,
                                                  https_runtime: Runtime) -> None:
    secure = TestClient(create_app(https_runtime), base_url="https://socmon.school.example")
    for path in ("/login", "/healthz", "/static/app.css"):
        assert secure.get(path).headers["strict-transport-security"] == "max-age=31536000"
    plain = TestClient(create_app(runtime))
    assert "strict-transport-security" not in plain.get("/login").headers


def test_api_docs_work_offline_under_the_csp(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    page = client.get("/api/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    # Every script, stylesheet and image is the app's own and is served; nothing from a CDN.
    refs = re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="([^"]+)"', page.text)
    assert refs
    for ref in refs:
        assert ref.startswith("/"), ref
        assert not ref.startswith("//"), ref
        assert client.get(ref).status_code == 200, ref
    assert "<script>" not in page.text  # no inline script, which the CSP would block
    assert 'href="/api/openapi.json"' in page.text
    assert "/api/v1/alerts/{alert_id}/hide" in page.text
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/me" in spec.json()["paths"]


def test_a_bearer_header_does_not_skip_the_csrf_check(
        runtime: Runtime, seeded: Seeded, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("moderator")
    del client.headers["x-csrftoken"]
    for scheme in ("Bearer", "bearer"):
        client.headers["authorization"] = f"{scheme} not-an-api-token"
        assert client.post(f"/api/v1/alerts/{seeded.abuse}/hide").status_code == 403
        assert client.post(f"/alerts/{seeded.abuse}/act", data={"action": "delete"},
                           follow_redirects=False).status_code == 403
    with runtime.factory() as session:
        assert session.get_one(Alert, seeded.abuse).state == "new"
    # With the token the cookie carries, the same request goes through as before.
    client.headers["x-csrftoken"] = client.cookies["csrftoken"]
    assert client.post(f"/api/v1/alerts/{seeded.abuse}/hide").status_code == 200
