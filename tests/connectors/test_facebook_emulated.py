"""The Facebook connector against the emulated Graph API: paging, cost, faults, takedown."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import (
    AuthError,
    Cursor,
    FatalError,
    ItemGone,
    ItemKind,
    RateLimited,
    TransientError,
    Visibility,
)
from connectors.facebook import FacebookOptions, FacebookPageConnector
from connectors.graph import DEFAULT_RATE_LIMIT_WAIT, OVERLAP
from tests.connectors.graph_harness import (
    check_comments_arriving_during_a_pass_are_not_lost,
    check_items_deleted_between_listing_and_takedown_are_gone,
    check_timeout_is_transient,
    drain,
    harness_fixture,
    ref,
)
from tests.connectors.harness_facebook import FacebookHarness, make
from tests.emulators.graph import (
    APP_SECRET,
    MODERATE_FB,
    TOKEN,
    graph_error,
    throttled,
)
from tests.emulators.server import Fault, Response

ODD = (
    "שלום עולם مرحبا 👩‍👩‍👧‍👦 zero\u200bwidth\u200d joiner \u202eRTL override\u202c "
    "e\u0301 🏳️‍🌈 " * 400
)


h = harness_fixture(make)


def test_posts_comments_and_replies_are_normalised(h: FacebookHarness) -> None:
    emu = h.emulator
    top = emu.add_comment(h.post_id, "Lovely photo")
    reply = emu.add_comment(top, "Thanks!", author=(emu.page_id, "Hilltop Primary School"))
    visitor_post = emu.add_post("Anyone found a blue coat?", by_page=False)
    items, _, _ = drain(h.connector, None)
    got = {i.external_id: i for i in items}
    assert got[h.post_id].kind is ItemKind.POST
    assert got[h.post_id].is_own
    assert got[visitor_post].kind is ItemKind.POST
    assert not got[visitor_post].is_own
    assert got[top].kind is ItemKind.COMMENT
    assert got[top].parent_id == h.post_id
    assert got[reply].kind is ItemKind.REPLY
    assert got[reply].parent_id == top
    assert got[reply].thread_id == h.post_id
    assert got[reply].is_own
    assert "comment_id=" in (got[top].url or "")
    assert got[top].author_name
    assert got[top].raw["message"] == "Lovely photo"


def test_nothing_new_costs_exactly_one_request(h: FacebookHarness) -> None:
    for n in range(5):
        post = h.emulator.add_post(f"post {n}")
        h.emulator.add_comment(post, "a comment")
    _, cursor, _ = drain(h.connector, None)
    h.emulator.reset_count()
    items, cursor, spent = drain(h.connector, cursor)
    assert items == []
    assert spent == 1
    assert h.emulator.count() == 1


def test_many_posts_and_an_overflowing_post_page_through(h: FacebookHarness) -> None:
    earlier = datetime.now(UTC) - timedelta(hours=1)  # before the next pass's overlap
    busy = h.emulator.add_post("busy post", created=earlier)
    comment_ids = [h.emulator.add_comment(busy, f"c{n}", created=earlier)
                   for n in range(130)]  # > 100 nested per post
    posts = [h.emulator.add_post(f"post {n}", created=earlier)
             for n in range(30)]  # > 25 per feed page
    h.emulator.reset_count()
    items, cursor, spent = drain(h.connector, None)
    ids = [i.external_id for i in items]
    assert len(ids) == len(set(ids)), "nothing returned twice within a pass"
    assert set(comment_ids) | set(posts) | {busy, h.post_id} == set(ids)
    # two feed pages + one overflow page of the busy post's comments
    assert spent == 3 == h.emulator.count()
    assert h.emulator.count(path_contains=f"/{busy}/comments") == 1
    h.emulator.reset_count()
    again, _, spent = drain(h.connector, cursor)
    assert again == []
    assert spent == 2, "nothing new: one request per feed page in the window"


def test_comments_arriving_during_a_pass_are_not_lost(h: FacebookHarness) -> None:
    check_comments_arriving_during_a_pass_are_not_lost(
        h.connector, add_parent=h.emulator.add_post, add_comment=h.emulator.add_comment
    )


def test_cursor_never_passes_the_poll_start_and_keeps_no_secret(h: FacebookHarness) -> None:
    start = datetime.now(UTC)
    page = h.connector.fetch(None, now=start)
    assert not page.more
    assert page.cursor.state["wm"] == start.isoformat()
    assert TOKEN not in page.cursor.to_json()
    assert APP_SECRET not in page.cursor.to_json()


def test_unknown_cursor_version_starts_over(h: FacebookHarness) -> None:
    ids = h.publish(2)
    items, _, _ = drain(h.connector, Cursor(version=99, state={"whatever": 1}))
    assert set(ids) <= {i.external_id for i in items}


def test_posts_outside_the_comment_window_are_not_reread(h: FacebookHarness) -> None:
    old = h.emulator.add_post("last month", created=datetime.now(UTC) - timedelta(days=20))
    late = h.emulator.add_comment(old, "late comment on an old post")
    items, _, spent = drain(h.connector, None)
    assert old not in {i.external_id for i in items}
    assert late not in {i.external_id for i in items}
    assert spent == 1


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_throttling_codes_map_to_rate_limited_with_buc_wait(h: FacebookHarness, code: int
                                                            ) -> None:
    h.emulator.inject(Fault(r"/feed$", throttled(code, minutes=7)))
    with pytest.raises(RateLimited) as caught:
        h.connector.fetch(None, now=datetime.now(UTC))
    assert caught.value.retry_after == 7 * 60


def test_throttling_without_an_estimate_waits_the_default_or_retry_after(h: FacebookHarness
                                                                         ) -> None:
    h.emulator.inject(Fault(r"/feed$", graph_error(4, "(#4) Application request limit reached",
                                                   headers={"X-App-Usage": json.dumps(
                                                       {"call_count": 100})})))
    with pytest.raises(RateLimited) as caught:
        h.connector.fetch(None, now=datetime.now(UTC))
    assert caught.value.retry_after == DEFAULT_RATE_LIMIT_WAIT
    h.emulator.inject(Fault(r"/feed$", Response(429, raw=b"", headers={"Retry-After": "12"})))
    with pytest.raises(RateLimited) as caught:
        h.connector.fetch(None, now=datetime.now(UTC))
    assert caught.value.retry_after == 12


@pytest.mark.parametrize(
    "response",
    [
        Response(503, raw=b"<html>Service Unavailable</html>",
                 headers={"Content-Type": "text/html"}),
        Response(500, {"error": {"message": "An unknown error occurred", "code": 1,
                                 "type": "OAuthException", "is_transient": True}}),
        Response(500, {"error": {"message": "Service temporarily unavailable", "code": 2}}),
        Response(502, {}),
        Response(200, raw=b'{"data": [{"id": "1_2", "message": "tru'),
    ],
    ids=["html-503", "code-1", "code-2", "empty-502", "malformed-json"],
)
def test_server_trouble_is_transient_and_loses_nothing(h: FacebookHarness,
                                                       response: Response) -> None:
    ids = h.publish(2)
    h.emulator.inject(Fault(r"/feed$", response))
    with pytest.raises(TransientError) as caught:
        h.connector.fetch(None, now=datetime.now(UTC))
    assert not isinstance(caught.value, RateLimited)
    items, _, _ = drain(h.connector, None)  # the cursor was not advanced: retry reads all
    assert set(ids) <= {i.external_id for i in items}


def test_timeout_is_transient() -> None:
    check_timeout_is_transient(make, listing=r"/feed$")


def test_malformed_entries_are_set_aside_with_a_warning_not_a_traceback(
    h: FacebookHarness, caplog: pytest.LogCaptureFixture
) -> None:
    good = {"id": "1_9", "created_time": "2030-01-01T00:00:00+0000", "message": "fine"}
    body = {"data": [{"id": "1_8", "message": "secret child name"}, "junk", good,
                     {"id": "1_7", "created_time": "2030-01-01T00:00:00+0000",
                      "comments": {"data": [{"message": "no id, no time"}]}}]}
    h.emulator.inject(Fault(r"/feed$", Response(200, body)))
    with caplog.at_level(logging.WARNING):
        page = h.connector.fetch(None, now=datetime(2030, 1, 2, tzinfo=UTC))
    assert {i.external_id for i in page.items} == {"1_9", "1_7"}
    assert [(u.external_id, u.raw) for u in page.unreadable] == [
        ("1_8", body["data"][0]), (None, "junk"), (None, {"message": "no id, no time"})]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert not any("secret" in w or "no id" in w for w in warnings), "never log comment text"
    h.emulator.inject(Fault(r"/feed$", Response(200, {"nodata": True})))
    with pytest.raises(TransientError, match="no 'data' list"):
        h.connector.fetch(None, now=datetime.now(UTC))


def test_expired_token_is_an_auth_error_and_credentials_check_says_so(h: FacebookHarness
                                                                      ) -> None:
    h.emulator.expired_tokens.add(TOKEN)
    with pytest.raises(AuthError, match="expired"):
        h.connector.fetch(None, now=datetime.now(UTC))
    problems = h.connector.check_credentials()
    assert len(problems) == 1
    assert "SOCMON_SCHOOL_FACEBOOK_ACCESS_TOKEN" in problems[0]


def test_wrong_app_secret_is_named(h: FacebookHarness) -> None:
    wrong = FacebookPageConnector(
        channel="school-facebook",
        options=FacebookOptions(page_id=h.emulator.page_id, graph_url=h.emulator.url),
        secrets={"access_token": TOKEN, "app_secret": "not-the-secret"},
    )
    with pytest.raises(AuthError, match="app_secret"):
        wrong.fetch(None, now=datetime.now(UTC))
    missing = FacebookPageConnector(
        channel="school-facebook",
        options=FacebookOptions(page_id=h.emulator.page_id, graph_url=h.emulator.url),
        secrets={"access_token": TOKEN},
    )
    assert missing.check_credentials() == [
        "missing secret: app_secret (SOCMON_SCHOOL_FACEBOOK_APP_SECRET)"]
    assert h.connector.check_credentials() == []


def test_unknown_page_is_fatal(h: FacebookHarness) -> None:
    other = FacebookPageConnector(
        channel="x", options=FacebookOptions(page_id="999", graph_url=h.emulator.url),
        secrets={"access_token": TOKEN, "app_secret": APP_SECRET},
    )
    with pytest.raises(FatalError, match="999"):
        other.fetch(None, now=datetime.now(UTC))
    assert "options.page_id 999" in other.check_credentials()[0]


def test_missing_moderation_permission_is_named(h: FacebookHarness) -> None:
    h.publish(1)
    items, _, _ = drain(h.connector, None)
    comment = next(i for i in items if i.kind is ItemKind.COMMENT)
    h.emulator.permissions.discard(MODERATE_FB)
    with pytest.raises(AuthError, match="missing permission pages_manage_engagement"):
        h.connector.hide(ref(comment))
    assert any("cannot hide" in p for p in h.connector.check_credentials())


def test_hide_delete_check_are_idempotent(h: FacebookHarness) -> None:
    h.publish(2)
    items, _, _ = drain(h.connector, None)
    first, second = (i for i in items if i.kind is ItemKind.COMMENT)
    h.connector.hide(ref(first))
    h.connector.hide(ref(first))
    assert h.connector.check(ref(first)) is Visibility.HIDDEN
    assert h.connector.check(ref(second)) is Visibility.VISIBLE
    h.connector.delete(ref(second))
    assert h.connector.check(ref(second)) is Visibility.GONE
    with pytest.raises(ItemGone):
        h.connector.delete(ref(second))
    assert h.emulator.count("POST") == 2
    assert h.emulator.count("DELETE") == 2


def test_items_deleted_between_listing_and_takedown_are_gone(h: FacebookHarness) -> None:
    check_items_deleted_between_listing_and_takedown_are_gone(h)


def test_long_and_odd_text_round_trips_exactly(h: FacebookHarness) -> None:
    comment = h.emulator.add_comment(h.post_id, ODD)
    post = h.emulator.add_post(ODD[::-1])
    items, _, _ = drain(h.connector, None)
    got = {i.external_id: i.text for i in items}
    assert got[comment] == ODD
    assert got[post] == ODD[::-1]


def test_overlap_window_rereads_recent_items_but_returns_them_once(h: FacebookHarness) -> None:
    start = datetime.now(UTC)
    ids = h.publish(3)
    first = h.connector.fetch(None, now=start)
    assert set(ids) <= {i.external_id for i in first.items}
    # The next pass asks from `start - OVERLAP`, so these comments come back from the
    # server; the seen-set in the cursor keeps them out of the page.
    assert set(ids) <= set(first.cursor.state["seen"])
    second = h.connector.fetch(first.cursor, now=start + OVERLAP / 2)
    assert second.items == []
