"""The removal requests page: moderators record, contact and confirm; managers see deadlines."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.models import Alert, Item, RemovalRequest, TakedownStatus
from monitor.runtime import Runtime
from tests.web.conftest import Seeded

FORM = {"requester": "Mrs Dana Requesterson", "requester_role": "parent",
        "what": "the class photo on the parish blog", "reason": "photo consent withdrawn",
        "url": "https://parish-blog.example/2026/06/sports-day"}


def _only(runtime: Runtime) -> RemovalRequest:
    with runtime.factory() as session:
        return session.execute(select(RemovalRequest)).scalar_one()


def test_moderator_tracks_a_page_elsewhere_to_confirmation(
        runtime: Runtime, client_for: Callable[[str], TestClient]) -> None:
    mod = client_for("moderator")
    added = mod.post("/removals", data=FORM, follow_redirects=False)
    assert added.status_code == 303
    request = _only(runtime)
    assert added.headers["location"] == f"/removals#removal-{request.id}"
    page = mod.get("/removals")
    assert page.status_code == 200
    assert "Mrs Dana Requesterson (parent)" in page.text
    assert "elsewhere: parish-blog.example" in page.text
    assert f'action="/removals/{request.id}/confirm"' in page.text

    contacted = mod.post(f"/removals/{request.id}/contact",
                         data={"method": "email", "note": "wrote to the blog's editor"},
                         follow_redirects=False)
    assert contacted.status_code == 303
    assert "wrote to the blog&#39;s editor" in mod.get("/removals").text
    confirmed = mod.post(f"/removals/{request.id}/confirm", data={"note": "page shows 404"},
                         follow_redirects=False)
    assert confirmed.status_code == 303
    assert _only(runtime).resolution == "confirmed"
    done = mod.get("/removals?status=done").text
    assert "Confirmed gone" in done
    assert "(in time)" in done
    # Closed requests take no more confirmations: a clear 422, not a 500.
    again = mod.post(f"/removals/{request.id}/confirm", data={"note": "again"})
    assert again.status_code == 422
    assert "closed already" in again.text
    assert mod.post("/removals/999/contact", data={"note": "x"}).status_code == 404


def test_manager_sees_deadlines_but_not_who_asked(
        runtime: Runtime, client_for: Callable[[str], TestClient]) -> None:
    assert client_for("moderator").post("/removals", data=FORM,
                                        follow_redirects=False).status_code == 303
    manager = client_for("manager")
    page = manager.get("/removals")
    assert page.status_code == 200
    assert "parish-blog.example" in page.text  # the site, and the deadline
    assert "due " in page.text
    for hidden in ("Requesterson", "class photo", "consent withdrawn", "sports-day"):
        assert hidden not in page.text
    assert 'id="add-removal"' not in page.text
    request = _only(runtime)
    assert manager.post("/removals", data=FORM).status_code == 403
    assert manager.post(f"/removals/{request.id}/confirm",
                        data={"note": "gone"}).status_code == 403
    assert _only(runtime).status == "open"


def test_a_watched_item_is_taken_down_from_the_form(
        runtime: Runtime, seeded: Seeded, client_for: Callable[[str], TestClient]) -> None:
    with runtime.factory() as session:
        item_id = session.execute(select(Alert.item_id).where(Alert.id == seeded.abuse)
                                  ).scalar_one()
        url = session.get_one(Item, item_id).url
    mod = client_for("moderator")
    response = mod.post("/removals", data={**FORM, "url": url, "action": "hide"},
                        follow_redirects=False)
    assert response.status_code == 303
    request = _only(runtime)
    assert request.alert_id == seeded.abuse
    with runtime.factory() as session:
        alert = session.get_one(Alert, seeded.abuse)
        assert alert.takedown_status == TakedownStatus.PENDING
        assert alert.takedown_action == "hide"
    page = mod.get("/removals").text
    assert f'href="/alerts/{seeded.abuse}"' in page
    assert "Takedown (hide): pending" in page


def test_only_the_dsl_asks_for_a_safeguarding_item_to_go(
        runtime: Runtime, seeded: Seeded, client_for: Callable[[str], TestClient]) -> None:
    with runtime.factory() as session:
        item_id = session.execute(select(Alert.item_id).where(Alert.id == seeded.safeguarding)
                                  ).scalar_one()
    form = {**FORM, "url": "", "item_id": str(item_id)}
    assert client_for("moderator").post("/removals", data=form).status_code == 403
    with runtime.factory() as session:
        assert session.execute(select(RemovalRequest)).first() is None
    dsl = client_for("safeguarding_lead")
    assert dsl.post("/removals", data=form, follow_redirects=False).status_code == 303
    assert _only(runtime).alert_id == seeded.safeguarding
    assert "Requesterson" in dsl.get("/removals").text
    # The request is about a safeguarding item: moderators see that it exists, not its words.
    listed = client_for("moderator").get("/removals").text
    assert "Requesterson" not in listed
    assert "class photo" not in listed


def test_bad_input_is_a_clear_422(runtime: Runtime,
                                  client_for: Callable[[str], TestClient]) -> None:
    mod = client_for("moderator")
    bad = mod.post("/removals", data={**FORM, "url": "javascript:alert(1)"})
    assert bad.status_code == 422
    assert "http:// or https://" in bad.text
    missing = mod.post("/removals", data={**FORM, "url": ""})
    assert missing.status_code == 422
    assert mod.post("/removals", data={**FORM, "requester": "  "}).status_code == 422
    assert mod.get("/removals?status=bogus").status_code == 422
    with runtime.factory() as session:
        assert session.execute(select(RemovalRequest)).first() is None
