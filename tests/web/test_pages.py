"""The workspace end to end through the ASGI app: sign-in, queue, item view, actions, oversight."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from monitor.db import transaction
from monitor.models import Alert, AlertNote, AuditEvent, OutboxEntry, Setting, utcnow
from monitor.runtime import Runtime
from monitor.web import create_app
from monitor.web.queries import highlight
from tests.web.conftest import Seeded, login


def test_comment_html_is_displayed_escaped(seeded: Seeded,
                                           client_for: Callable[[str], TestClient]) -> None:
    client = client_for("moderator")
    for page in (client.get(f"/alerts/{seeded.script}").text, client.get("/queue").text):
        assert '<script>alert("x")</script>' not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in page
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # The API returns the text as data, for the client to escape.
    data = client.get(f"/api/v1/alerts/{seeded.script}").json()
    assert data["item"]["text"].startswith("<script>")


def test_spans_are_highlighted_and_reasons_shown(seeded: Seeded,
                                                 client_for: Callable[[str], TestClient]) -> None:
    page = client_for("moderator").get(f"/alerts/{seeded.abuse}").text
    assert '<mark class="span label-abuse" title="abuse">idiot</mark>' in page
    assert "looks like abuse" in page
    assert "Hidden from everyone except the author" in page  # the connector's real effect
    assert 'href="https://demo.socmon.invalid/demo/c-abuse"' in page


def test_highlight_survives_bad_spans() -> None:
    text = "abc😀def"
    segments = highlight(text, [{"start": 2, "end": 5, "label": "x"},
                                {"start": 3, "end": 4, "label": "overlap"},
                                {"start": -5, "end": 1}, {"start": "a", "end": 2},
                                {"start": 6, "end": 99}, "junk", {"start": 9, "end": 3}])
    assert "".join(s.text for s in segments) == text
    assert [(s.text, s.label) for s in segments if s.label] == [
        ("a", "flagged"), ("c😀d", "x"), ("f", "flagged")]


def test_post_without_csrf_token_is_refused(runtime: Runtime, seeded: Seeded,
                                            accounts: dict[str, tuple[str, str]]) -> None:
    client = TestClient(create_app(runtime))
    login(client, *accounts["moderator"])
    del client.headers["x-csrftoken"]
    response = client.post(f"/alerts/{seeded.abuse}/act", data={"action": "hide"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert client.post(f"/api/v1/alerts/{seeded.abuse}/hide").status_code == 403
    # A cross-site login attempt (no CSRF cookie) is refused too.
    fresh = TestClient(create_app(runtime))
    assert fresh.post("/login", data={"username": "demo-admin", "password": "x"},
                      follow_redirects=False).status_code == 403
    with runtime.factory() as session:
        assert session.get_one(Alert, seeded.abuse).state == "new"


def test_login_is_rate_limited(runtime: Runtime, accounts: dict[str, tuple[str, str]]) -> None:
    client = TestClient(create_app(runtime))
    client.get("/login")
    token = client.cookies["csrftoken"]
    name, password = accounts["moderator"]
    statuses = [client.post("/login", data={"username": name, "password": "wrong-password-!",
                                            "csrftoken": token}).status_code for _ in range(5)]
    assert statuses == [401] * 5
    right = client.post("/login", data={"username": name, "password": password,
                                        "csrftoken": token}, follow_redirects=False)
    assert right.status_code == 429
    assert "Too many attempts" in right.text


def test_disabling_or_resetting_signs_the_user_out(
        runtime: Runtime, client_for: Callable[[str], TestClient]) -> None:
    moderator = client_for("moderator")
    admin = client_for("admin")
    assert moderator.get("/api/v1/me").json()["role"] == "moderator"
    assert admin.post("/api/v1/users/demo-moderator/reset-password").status_code == 200
    assert moderator.get("/api/v1/me").status_code == 401
    dsl = client_for("safeguarding_lead")
    assert admin.post("/admin/users/demo-dsl/disable", data={"enable": "false"},
                      follow_redirects=False).status_code == 303
    assert dsl.get("/api/v1/me").status_code == 401
    assert admin.post("/api/v1/users/demo-admin/disable").status_code == 422  # not yourself


def test_session_secret_is_kept_across_restarts(runtime: Runtime,
                                                accounts: dict[str, tuple[str, str]]) -> None:
    first = TestClient(create_app(runtime))
    login(first, *accounts["manager"])
    second = TestClient(create_app(runtime), cookies=dict(first.cookies))
    assert second.get("/api/v1/me").json()["username"] == "demo-manager"
    with runtime.factory() as session:
        assert session.execute(select(func.count()).select_from(Setting)).scalar_one() == 1


def test_queue_filters_sort_and_search(seeded: Seeded,
                                       client_for: Callable[[str], TestClient]) -> None:
    client = client_for("admin")
    ids = [r["id"] for r in client.get("/api/v1/alerts").json()["alerts"]]
    assert ids[0] == seeded.safeguarding  # critical first
    assert ids[-3:] == seeded.spam  # low last, by deadline then id
    spam = client.get("/api/v1/alerts", params={"label": "spam"}).json()["alerts"]
    assert [r["id"] for r in spam] == seeded.spam
    assert [r["id"] for r in client.get("/api/v1/alerts", params={
        "severity": "high", "author": "PAT EXAMPLE"}).json()["alerts"]] == [seeded.abuse]
    assert [r["id"] for r in client.get("/api/v1/alerts", params={
        "q": "100%_"}).json()["alerts"]] == []  # LIKE wildcards are literal
    assert client.get("/api/v1/alerts", params={"overdue": "true"}).json()["alerts"] == []
    assert client.get("/api/v1/alerts", params={"state": "bogus"}).status_code == 422
    page = client.get("/queue", params={"label": "spam", "channel": "demo"})
    assert page.status_code == 200
    assert page.text.count('class="row ') == 3


def test_overdue_alerts_are_marked(runtime: Runtime, seeded: Seeded,
                                   client_for: Callable[[str], TestClient]) -> None:
    with transaction(runtime.factory) as session:
        session.execute(update(Alert).where(Alert.id == seeded.abuse)
                        .values(due_at=utcnow() - timedelta(hours=1)))
    client = client_for("moderator")
    rows = client.get("/api/v1/alerts", params={"overdue": "true"}).json()["alerts"]
    assert [r["id"] for r in rows] == [seeded.abuse]
    assert rows[0]["overdue"]
    assert "OVERDUE" in client.get("/queue", params={"overdue": "true"}).text


def test_actions_are_audited(runtime: Runtime, seeded: Seeded,
                             client_for: Callable[[str], TestClient]) -> None:
    client = client_for("moderator")
    assert client.post(f"/api/v1/alerts/{seeded.abuse}/claim").json()["state"] == "in_review"
    assert client.post(f"/api/v1/alerts/{seeded.abuse}/assign",
                       json={"username": "demo-admin"}).status_code == 200
    assert client.post(f"/api/v1/alerts/{seeded.abuse}/assign",
                       json={"username": "demo-manager"}).status_code == 422
    assert client.post(f"/api/v1/alerts/{seeded.abuse}/notes",
                       json={"body": "Parent contacted 🙂"}).status_code == 200
    assert client.post(f"/api/v1/alerts/{seeded.abuse}/escalate",
                       json={"to": "police", "note": "threat"}).json()["state"] == "escalated"
    assert client.post(f"/api/v1/alerts/{seeded.abuse}/dismiss",
                       json={"reason": "not_a_breach"}).json()["state"] == "dismissed"
    assert client.post(f"/api/v1/alerts/{seeded.abuse}/dismiss",
                       json={"reason": "made_up"}).status_code == 422
    assert client.post(f"/api/v1/alerts/{seeded.script}/hide").json()["state"] == "actioned"
    assert client.post(f"/api/v1/alerts/{seeded.script}/delete").status_code == 409
    assert client.post("/api/v1/alerts/999999/hide").status_code == 404
    with runtime.factory() as session:
        actions = session.execute(select(AuditEvent.action).where(
            AuditEvent.target_id == str(seeded.abuse), AuditEvent.actor == "demo-moderator")
            .order_by(AuditEvent.seq)).scalars().all()
        assert actions == ["alert.claim", "alert.claim", "alert.assign", "alert.note",
                           "alert.escalate", "alert.dismiss"]
        assert session.execute(select(func.count()).select_from(OutboxEntry).where(
            OutboxEntry.kind == "takedown")).scalar_one() == 1
    page = client.get(f"/alerts/{seeded.abuse}").text
    assert "Parent contacted 🙂" in page
    assert "alert.escalate" in page


def test_form_actions_flash_and_redirect(seeded: Seeded,
                                         client_for: Callable[[str], TestClient]) -> None:
    client = client_for("moderator")
    done = client.post(f"/alerts/{seeded.abuse}/act", data={"action": "hide"})
    assert done.status_code == 200
    assert "Hide requested" in done.text
    again = client.post(f"/alerts/{seeded.abuse}/act", data={"action": "delete"})
    assert "already actioned" in again.text
    empty = client.post(f"/alerts/{seeded.abuse}/act", data={"action": "note", "note": "  "})
    assert "please write something" in empty.text


def test_bulk_dismisses_a_spam_wave(runtime: Runtime, seeded: Seeded,
                                    client_for: Callable[[str], TestClient]) -> None:
    client = client_for("moderator")
    response = client.post("/queue/bulk", data={
        "action": "dismiss", "reason": "false_positive",
        "ids": [str(i) for i in [*seeded.spam, 999999]], "back": "/queue?label=spam"},
        follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/queue?label=spam"
    assert "3 alert(s) done, 1 skipped" in client.get("/queue").text
    with runtime.factory() as session:
        states = session.execute(select(Alert.state).where(Alert.id.in_(seeded.spam))).scalars()
        assert set(states) == {"dismissed"}
    assert client.post("/api/v1/alerts/bulk", json={"ids": seeded.spam, "action": "dismiss"}
                       ).status_code == 422  # a dismissal needs a reason


def test_failed_takedown_stays_visible_until_resolved(
        runtime: Runtime, seeded: Seeded, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("moderator")
    client.post(f"/api/v1/alerts/{seeded.abuse}/hide")
    with transaction(runtime.factory) as session:
        session.execute(update(Alert).where(Alert.id == seeded.abuse).values(
            takedown_status="failed", takedown_error="AuthError: token expired"))
    queue = client.get("/queue").text
    assert "1 takedown(s) failed" in queue
    assert f"#{seeded.abuse}" in queue
    item = client.get(f"/alerts/{seeded.abuse}").text
    assert 'id="takedown-failed"' in item
    assert "token expired" in item
    assert "Retry Hide" in item
    assert client.post(f"/api/v1/alerts/{seeded.abuse}/hide").json()["state"] == "actioned"
    assert "takedown(s) failed" not in client.get("/queue").text


def test_dsl_acknowledges_with_a_handover(runtime: Runtime, seeded: Seeded,
                                          client_for: Callable[[str], TestClient]) -> None:
    dsl = client_for("safeguarding_lead")
    lane = dsl.get("/safeguarding").text
    assert "awaiting acknowledgement" in lane
    assert "scared to go home" in lane
    response = dsl.post(f"/alerts/{seeded.safeguarding}/acknowledge",
                        data={"handover": "Called the family and children's services, ref 42"})
    assert response.status_code == 200
    assert "Acknowledged by demo-dsl" in response.text
    assert dsl.post(f"/api/v1/alerts/{seeded.safeguarding}/acknowledge",
                    json={"handover": "again"}).status_code == 409
    with runtime.factory() as session:
        notes = session.execute(select(AlertNote.body).where(
            AlertNote.alert_id == seeded.safeguarding)).scalars().all()
        assert notes == ["Called the family and children's services, ref 42"]
        assert session.execute(select(AuditEvent.action).where(
            AuditEvent.action == "alert.acknowledge")).scalar_one()


def test_audit_page_filters_and_exports_csv(seeded: Seeded,
                                            client_for: Callable[[str], TestClient]) -> None:
    client = client_for("manager")
    page = client.get("/audit", params={"actor": "system", "action": "alert.*"})
    assert page.status_code == 200
    assert page.text.count("alert.open") == 6
    events = client.get("/api/v1/audit", params={"action": "user.login"}).json()["events"]
    assert events
    assert all(e["action"] == "user.login" for e in events)
    exported = client.get("/audit.csv", params={"action": "alert.open"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 6
    assert {r["actor"] for r in rows} == {"system"}
    assert client.get("/api/v1/audit", params={"date_from": "not-a-date"}).status_code == 422


def test_oversight_pages_render(seeded: Seeded, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("manager")
    dash = client.get("/dashboard")
    assert dash.status_code == 200
    assert "<svg" in dash.text
    assert "Flags by label" in dash.text
    data = client.get("/api/v1/dashboard").json()
    assert sum(sum(v) for v in data["by_label"].values()) == 6
    assert data["open"] == 6
    channels = client.get("/api/v1/channels").json()
    assert channels[0]["name"] == "demo"
    assert channels[0]["configured"] is True
    assert "Channel health" in client.get("/channels").text


def test_admin_adds_a_user_and_sees_the_password_once(
        client_for: Callable[[str], TestClient], accounts: dict[str, tuple[str, str]]) -> None:
    admin = client_for("admin")
    page = admin.post("/admin/users", data={"username": "alice", "role": "moderator",
                                            "display_name": "Alice <b>"})
    assert page.status_code == 200
    assert 'id="new-password"' in page.text
    assert "Alice &lt;b&gt;" in page.text
    assert "new-password" not in admin.get("/admin/users").text
    dup = admin.post("/api/v1/users", json={"username": "alice", "role": "moderator"})
    assert dup.status_code == 409
    made = admin.post("/api/v1/users", json={"username": "bob", "role": "manager"}).json()
    bob = TestClient(admin.app)
    login(bob, "bob", made["password"])
    assert bob.get("/api/v1/me").json()["role"] == "manager"


def test_evidence_pack_download_is_a_verified_zip(seeded: Seeded,
                                                  client_for: Callable[[str], TestClient],
                                                  runtime: Runtime) -> None:
    import hashlib
    import json
    import zipfile

    client = client_for("moderator")
    response = client.get(f"/alerts/{seeded.abuse}/evidence.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    pack = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(pack.read("manifest.json"))
    assert {"report.pdf", "evidence.json", "audit.jsonl"} <= set(pack.namelist())
    for entry in manifest["files"]:
        assert hashlib.sha256(pack.read(entry["name"])).hexdigest() == entry["sha256"]
    with runtime.factory() as session:
        exported = session.execute(select(func.count()).where(
            AuditEvent.action == "evidence.export")).scalar_one()
    assert exported == 1
    # A moderator may not take the safeguarding lane's evidence.
    assert client.get(f"/alerts/{seeded.safeguarding}/evidence.zip").status_code == 403
