"""XConnector (real tweepy) against the X emulator: paging, cost, faults, takedown, odd text."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.base import (
    AuthError,
    Cursor,
    FatalError,
    Item,
    ItemGone,
    ItemKind,
    ItemRef,
    NotSupported,
    RateLimited,
    TransientError,
    Visibility,
)
from connectors.x import XConnector, XOptions, snowflake_floor
from tests.connectors.harness_x import XHarness
from tests.connectors.passes import ref, run_pass
from tests.emulators import x as emu
from tests.emulators.server import Fault, Response

SEARCH = r"/2/tweets/search/recent"


@pytest.fixture
def h() -> Iterator[XHarness]:
    harness = XHarness()
    try:
        yield harness
    finally:
        harness.close()


def make(**options: Any) -> XHarness:
    return XHarness(**options)


def drain(x: XConnector, cursor: Cursor | None, *, now: datetime | None = None
          ) -> tuple[list[Item], Cursor | None, int]:
    """One full pass as the ingest loop runs it; returns items, cursor and requests spent."""
    items, cursor, pages = run_pass(x, cursor, now=now, max_pages=50)
    return items, cursor, sum(page.requests for page in pages)



# -- cost ---------------------------------------------------------------------------------


def test_second_poll_with_nothing_new_makes_exactly_one_request(h: XHarness) -> None:
    h.publish(3)
    _, cursor, _ = drain(h.connector, None)
    for _ in range(2):
        h.emulator.reset_count()
        items, cursor, spent = drain(h.connector, cursor)
        assert items == []
        assert spent == 1
        assert h.emulator.count() == 1
        assert h.emulator.count("GET", SEARCH) == 1


def test_second_poll_in_mentions_mode_makes_exactly_one_request() -> None:
    h = make(poll_mode="mentions")
    try:
        h.publish(2)
        first, cursor, _ = drain(h.connector, None)
        assert len(first) == 2
        h.emulator.reset_count()
        items, _, spent = drain(h.connector, cursor)
        assert (items, spent, h.emulator.count("GET", "/mentions")) == ([], 1, 1)
    finally:
        h.close()


def test_page_requests_match_what_the_emulator_saw(h: XHarness) -> None:
    h.publish(25)
    h.emulator.reset_count()
    _, _, spent = drain(h.connector, None)
    assert spent == h.emulator.count()
    assert spent >= 2  # a main page plus the conversation backfill


# -- paging and cursor --------------------------------------------------------------------


def test_several_pages_watermark_promoted_only_when_the_pass_ends() -> None:
    h = make(max_results=10)
    try:
        published = set(h.publish(25))
        cursor: Cursor | None = None
        seen: list[str] = []
        pages = 0
        while True:
            page = h.connector.fetch(cursor, now=datetime.now(UTC))
            pages += 1
            seen.extend(i.external_id for i in page.items)
            cursor = Cursor.from_json(page.cursor.to_json())
            assert cursor is not None
            if not page.more:
                break
            assert cursor.state["since_id"] is None, "promoted before the pass ended"
        assert pages >= 3
        assert published <= set(seen)
        assert cursor.state["since_id"] == max(published | {h.root_id}, key=int)
        assert "pass" not in cursor.state
        assert cursor.state["roots"] == [h.root_id]
    finally:
        h.close()


def test_posts_arriving_during_a_pass_are_not_missed_nor_repeated() -> None:
    h = make(max_results=10)
    try:
        first_wave = set(h.publish(25))
        page = h.connector.fetch(None, now=datetime.now(UTC))
        assert page.more
        during = set(h.publish(3, text="arrived mid-pass"))
        rest, cursor, _ = drain(h.connector, page.cursor)
        pass_one = {i.external_id for i in page.items} | {i.external_id for i in rest}
        assert first_wave <= pass_one
        second, _, _ = drain(h.connector, cursor)
        pass_two = {i.external_id for i in second}
        assert during <= pass_one | pass_two
        assert not (pass_two & first_wave), "an old post came back in the next pass"
    finally:
        h.close()


def test_reply_without_mention_in_a_new_conversation_is_found_the_same_pass(h: XHarness) -> None:
    _, cursor, _ = drain(h.connector, None)
    new_root = h.emulator.post(emu.ORG_ID, "Our new playground opens today")
    first = h.emulator.post(emu.VISITOR_ID, f"@{emu.ORG_USERNAME} lovely", reply_to=int(new_root))
    # a reply to the visitor's reply that does not @mention the organisation
    quiet = h.emulator.post(emu.VISITOR_ID, "agreed, so lovely", reply_to=int(first))
    items, cursor, spent = drain(h.connector, cursor)
    got = {i.external_id: i for i in items}
    assert {new_root, first, quiet} <= set(got)
    assert got[new_root].is_own
    assert got[new_root].kind is ItemKind.POST
    assert got[first].kind is ItemKind.COMMENT
    assert got[quiet].kind is ItemKind.REPLY
    assert got[quiet].parent_id == first
    assert got[quiet].thread_id == new_root
    assert spent == 2  # the main query, then one conversation search for the new root
    assert cursor is not None
    assert cursor.state["roots"][0] == new_root
    # from now on the conversation is part of the one query
    later = h.emulator.post(emu.VISITOR_ID, "still lovely", reply_to=int(quiet))
    items, _, spent = drain(h.connector, cursor)
    # `quiet` came from the conversation search, which does not move the watermark, so it
    # may be read once more now (the store drops the duplicate); nothing older comes back
    assert later in {i.external_id for i in items}
    assert {i.external_id for i in items} <= {later, quiet}
    assert spent == 1


def test_unknown_cursor_version_starts_over(h: XHarness, caplog: pytest.LogCaptureFixture) -> None:
    ids = set(h.publish(2))
    with caplog.at_level(logging.WARNING, logger="connectors.x"):
        items, cursor, _ = drain(h.connector, Cursor(version=99, state={"whatever": 1}))
    assert ids <= {i.external_id for i in items}
    assert cursor is not None
    assert cursor.version == 1
    assert "version 99" in caplog.text


def test_unreadable_cursor_state_starts_over(h: XHarness) -> None:
    ids = set(h.publish(2))
    bad = Cursor(version=1, state={"since_id": "not-an-id", "roots": [{}]})
    items, _, _ = drain(h.connector, bad)
    assert ids <= {i.external_id for i in items}


def test_cursor_never_moves_past_the_poll_start(h: XHarness) -> None:
    h.publish(2)
    earlier = datetime.now(UTC) - timedelta(hours=1)  # our clock behind X's
    _, cursor, _ = drain(h.connector, None, now=earlier)
    assert cursor is not None
    assert int(cursor.state["since_id"]) < snowflake_floor(earlier + timedelta(milliseconds=1))


def test_watermark_older_than_the_search_window_reads_the_window(
    h: XHarness, caplog: pytest.LogCaptureFixture
) -> None:
    ids = set(h.publish(2))
    now = datetime.now(UTC)
    stale = Cursor(version=1, state={"since_id": str(snowflake_floor(now - timedelta(days=9)))})
    with caplog.at_level(logging.WARNING, logger="connectors.x"):
        items, cursor, _ = drain(h.connector, stale, now=now)
    assert ids <= {i.external_id for i in items}
    assert "7-day" in caplog.text
    assert cursor is not None
    assert int(cursor.state["since_id"]) > snowflake_floor(now - timedelta(days=1))


# -- faults -------------------------------------------------------------------------------


def test_429_with_reset_header_is_rate_limited_and_nothing_is_lost(h: XHarness) -> None:
    ids = set(h.publish(2))
    now = datetime.now(UTC)
    reset = int(now.timestamp()) + 120
    h.emulator.inject(Fault(SEARCH, Response(
        429, {"title": "Too Many Requests", "detail": "Too Many Requests",
              "type": "about:blank", "status": 429},
        {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0",
         "x-rate-limit-reset": str(reset)},
    )))
    with pytest.raises(RateLimited) as caught:
        h.connector.fetch(None, now=now)
    assert caught.value.retry_after == pytest.approx(reset - now.timestamp())
    assert 119 <= (caught.value.retry_after or 0) <= 120
    items, _, _ = drain(h.connector, None)  # the same (unchanged) cursor next time
    assert ids <= {i.external_id for i in items}


def test_429_mid_pass_keeps_the_page_token() -> None:
    h2 = make(max_results=10)
    try:
        ids = set(h2.publish(15))
        page = h2.connector.fetch(None, now=datetime.now(UTC))
        h2.emulator.inject(Fault(SEARCH, Response(429, {"title": "Too Many Requests"})))
        with pytest.raises(RateLimited) as caught:
            h2.connector.fetch(page.cursor, now=datetime.now(UTC))
        assert caught.value.retry_after is None  # no reset header sent: the daemon decides
        rest, _, _ = drain(h2.connector, page.cursor)
        assert ids <= {i.external_id for i in page.items} | {i.external_id for i in rest}
    finally:
        h2.close()


def test_5xx_is_transient_with_retry_after(h: XHarness) -> None:
    h.emulator.inject(Fault(SEARCH, Response(
        503, {"title": "Service Unavailable", "detail": "Service Unavailable",
              "type": "about:blank", "status": 503}, {"Retry-After": "30"},
    )))
    with pytest.raises(TransientError) as caught:
        h.connector.fetch(None, now=datetime.now(UTC))
    assert not isinstance(caught.value, RateLimited)
    assert caught.value.retry_after == 30
    assert "server error" in str(caught.value)


def test_timeout_is_transient() -> None:
    h = make(timeout_seconds=0.3)
    try:
        h.emulator.inject(Fault(SEARCH, hang_seconds=10))
        with pytest.raises(TransientError, match="did not answer in time"):
            h.connector.fetch(None, now=datetime.now(UTC))
    finally:
        h.close()


def test_connection_refused_is_transient() -> None:
    h = make()
    h.close()  # nothing listens on the port any more
    with pytest.raises(TransientError, match="could not connect"):
        h.connector.fetch(None, now=datetime.now(UTC))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"data": {"id": "1"}, "meta": {}}', "'data' is not a list"),
        (b'{"data": []}', "without 'meta'"),
        (b'{"meta": {"newest_id": "abc"}}', "not a post id"),
    ],
)
def test_malformed_pages_are_transient_errors(h: XHarness, raw: bytes, message: str) -> None:
    h.emulator.inject(Fault(SEARCH, Response(200, raw=raw)))
    with pytest.raises(TransientError, match=message):
        h.connector.fetch(None, now=datetime.now(UTC))


def test_malformed_error_body_is_transient(h: XHarness) -> None:
    h.emulator.inject(Fault(SEARCH, Response(500, raw=b"[]")))
    with pytest.raises(TransientError):
        h.connector.fetch(None, now=datetime.now(UTC))


def test_unreadable_post_is_set_aside_and_logged_without_text(
    h: XHarness, caplog: pytest.LogCaptureFixture
) -> None:
    body = (
        b'{"data": [{"id": "1800000000000000000", "text": "fine"},'
        b' {"text": "secret child name"}, {"id": "1800000000000000001"}],'
        b' "meta": {"result_count": 3, "newest_id": "1800000000000000001"}}'
    )
    h.emulator.inject(Fault(SEARCH, Response(200, raw=body)))
    with caplog.at_level(logging.DEBUG, logger="connectors.x"):
        page = h.connector.fetch(None, now=datetime.now(UTC))
    assert [i.external_id for i in page.items] == ["1800000000000000000"]
    assert [(u.external_id, u.raw) for u in page.unreadable] == [
        (None, {"text": "secret child name"}),
        ("1800000000000000001", {"id": "1800000000000000001"}),
    ]
    assert caplog.text.count("set aside an unreadable X post") == 2
    assert "secret child name" not in caplog.text


def test_revoked_tokens_are_auth_errors(h: XHarness) -> None:
    h.publish(1)
    items, _, _ = drain(h.connector, None)
    h.emulator.revoke()
    with pytest.raises(AuthError, match="re-authorise"):
        h.connector.fetch(None, now=datetime.now(UTC))
    with pytest.raises(AuthError):
        h.connector.hide(ref(next(i for i in items if not i.is_own)))


def test_forbidden_for_the_app_is_an_auth_error(h: XHarness) -> None:
    h.emulator.inject(Fault(SEARCH, Response(403, {
        "title": "Client Forbidden", "reason": "client-not-enrolled",
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use "
                  "keys and tokens from a Twitter developer App that is attached to a Project.",
        "type": "https://api.twitter.com/2/problems/client-forbidden",
        "required_enrollment": "Appropriate Level of API Access",
    })))
    with pytest.raises(AuthError, match="access level"):
        h.connector.fetch(None, now=datetime.now(UTC))


def test_app_only_token_for_hide_is_an_auth_error(h: XHarness) -> None:
    h.publish(1)
    items, _, _ = drain(h.connector, None)
    target = next(i for i in items if not i.is_own)
    x = XConnector(channel="x-test", options=h.connector.options,
                   secrets={**emu.secrets(), "consumer_key": ""})
    with pytest.raises(AuthError, match="consumer_key"):
        x.hide(ref(target))


# -- takedown -----------------------------------------------------------------------------


def test_hide_is_idempotent_and_check_reports_hidden(h: XHarness) -> None:
    h.publish(1)
    items, _, _ = drain(h.connector, None)
    target = next(i for i in items if not i.is_own)
    assert h.connector.check(ref(target)) is Visibility.VISIBLE
    h.connector.hide(ref(target))
    h.connector.hide(ref(target))
    assert h.emulator.posts[int(target.external_id)].hidden
    assert h.connector.check(ref(target)) is Visibility.HIDDEN


def test_hide_outside_the_organisations_conversations_is_fatal(h: XHarness) -> None:
    other_root = h.emulator.post(emu.VISITOR_ID, "my own thread")
    reply = h.emulator.post(emu.VISITOR_ID, f"@{emu.ORG_USERNAME} look", reply_to=int(other_root))
    with pytest.raises(FatalError, match="refused this action") as caught:
        h.connector.hide(ItemRef(reply, ItemKind.COMMENT, other_root, other_root))
    assert not isinstance(caught.value, AuthError)


def test_hide_of_a_standalone_post_is_not_supported(h: XHarness) -> None:
    with pytest.raises(NotSupported, match="only replies"):
        h.connector.hide(ItemRef(h.root_id, ItemKind.POST))
    assert h.emulator.count("PUT") == 0


def test_delete_someone_elses_post_is_not_supported(h: XHarness) -> None:
    (reply,) = h.publish(1)
    with pytest.raises(NotSupported, match="only its own posts"):
        h.connector.delete(ItemRef(reply, ItemKind.COMMENT, h.root_id, h.root_id))
    assert h.connector.check(ItemRef(reply, ItemKind.COMMENT)) is Visibility.VISIBLE


def test_delete_own_post_then_again_is_item_gone(h: XHarness) -> None:
    own = ItemRef(h.root_id, ItemKind.POST)
    h.connector.delete(own)
    assert h.connector.check(own) is Visibility.GONE
    with pytest.raises(ItemGone):
        h.connector.delete(own)


def test_items_deleted_between_listing_and_takedown(h: XHarness) -> None:
    h.publish(1)
    items, _, _ = drain(h.connector, None)
    target = next(i for i in items if not i.is_own)
    h.remove_on_platform(ref(target))
    with pytest.raises(ItemGone):
        h.connector.hide(ref(target))
    assert h.connector.check(ref(target)) is Visibility.GONE


def test_withheld_post_checks_as_removed(h: XHarness) -> None:
    (reply,) = h.publish(1)
    h.emulator.posts[int(reply)].withheld = True
    assert h.connector.check(ItemRef(reply, ItemKind.COMMENT)) is Visibility.REMOVED


def test_capabilities_describe_the_real_effect(h: XHarness) -> None:
    effects = {c.action.value: c.effect for c in h.connector.capabilities()}
    assert "View hidden replies" in effects["hide"]
    assert "OWN posts" in effects["delete"]


# -- text ---------------------------------------------------------------------------------


def test_long_and_odd_text_round_trips_exactly(h: XHarness) -> None:
    odd = (
        "שלום עולם \u200f مرحبا 👩‍👩‍👧‍👦 z\u200bero\u200dwidth \ufeff & <b>bold</b> &amp; "
        "e\u0301 " + "🙂" * 300 + " end"
    )
    (first,) = h.publish(1)
    odd_id = h.emulator.post(emu.VISITOR_ID, odd, reply_to=int(first))
    items, _, _ = drain(h.connector, None)
    got = {i.external_id: i for i in items}
    assert got[odd_id].text == odd
    assert got[odd_id].raw["note_tweet"]["text"] != odd  # X's escaped form is kept as evidence
    assert got[odd_id].author_name == emu.VISITOR_USERNAME
    assert got[odd_id].url == f"https://x.com/{emu.VISITOR_USERNAME}/status/{odd_id}"


# -- credentials and options ---------------------------------------------------------------


def test_check_credentials_is_empty_when_fine(h: XHarness) -> None:
    h.emulator.reset_count()
    assert h.connector.check_credentials() == []
    assert h.emulator.count() == 2  # one call per credential set


def test_check_credentials_names_what_is_wrong(h: XHarness) -> None:
    h.emulator.revoke()
    problems = h.connector.check_credentials()
    assert len(problems) == 2
    assert "bearer_token" in problems[0]
    assert "OAuth 1.0a" in problems[1]
    x = XConnector(channel="x-test", options=h.connector.options,
                   secrets={**emu.secrets(), "access_token_secret": ""})
    assert any("SOCMON_X_TEST_ACCESS_TOKEN_SECRET" in p for p in x.check_credentials())


def test_options_are_validated() -> None:
    opts = XOptions.model_validate({"user_id": 783214, "username": "@Twitter"})
    assert (opts.user_id, opts.username) == ("783214", "Twitter")
    with pytest.raises(ValidationError, match="numeric id"):
        XOptions.model_validate({"user_id": "abc", "username": "x"})
    with pytest.raises(ValidationError, match="handle"):
        XOptions.model_validate({"user_id": "1", "username": "not a handle"})
    with pytest.raises(ValidationError):
        XOptions.model_validate({"user_id": "1", "username": "x", "surprise": True})


def test_query_stays_within_the_length_limit(
    h: XHarness, caplog: pytest.LogCaptureFixture
) -> None:
    roots = [h.emulator.post(emu.ORG_ID, f"post {n}") for n in range(30)]
    with caplog.at_level(logging.INFO, logger="connectors.x"):
        items, cursor, _ = drain(h.connector, None)
    assert set(roots) <= {i.external_id for i in items}
    assert cursor is not None
    kept = cursor.state["roots"]
    assert 5 < len(kept) < 30
    assert kept == sorted(roots, key=int, reverse=True)[: len(kept)]  # the newest stay
    assert "no longer searched" in caplog.text
    later = h.emulator.post(emu.VISITOR_ID, "quiet reply", reply_to=int(kept[0]))
    page = h.connector.fetch(cursor, now=datetime.now(UTC))
    # the emulator answers 400 to a query over 512 characters, as X's Basic tier does
    assert [i.external_id for i in page.items] == [later]
    assert page.requests == 1


def test_emulator_runs_standalone() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.x", "--port", "0"],
        cwd=root, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" on ")[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        x = XConnector(
            channel="x-manual",
            options=XOptions(user_id=emu.ORG_ID, username=emu.ORG_USERNAME, api_url=url),
            secrets=emu.secrets(),
        )
        items, _, _ = drain(x, None)
        # the seed: a root, two replies, one mention (replies re-read by the conversation search)
        assert len({i.external_id for i in items}) == 4
    finally:
        proc.terminate()
        proc.wait(timeout=10)
