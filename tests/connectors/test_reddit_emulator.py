"""The Reddit connector against the emulated Reddit API: polling, cheapness, errors, takedown."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pydantic
import pytest

from connectors import registry
from connectors.base import (
    Action,
    AuthError,
    Cursor,
    FatalError,
    Item,
    ItemGone,
    ItemKind,
    ItemRef,
    NotSupported,
    Page,
    RateLimited,
    TransientError,
    Visibility,
)
from connectors.reddit import RedditConnector, RedditOptions
from tests.connectors.harness_reddit import RedditHarness, build, make
from tests.connectors.passes import ref, run_pass
from tests.emulators.server import Fault, Response


@pytest.fixture
def h() -> Iterator[RedditHarness]:
    harness = make()
    try:
        yield harness
    finally:
        harness.close()


def now() -> datetime:
    return datetime.now(UTC)


def drain(c: RedditConnector, cursor: Cursor | None, *, at: datetime | None = None,
          between: list[int] | None = None, h: RedditHarness | None = None
          ) -> tuple[list[Item], Cursor, list[Page]]:
    """One pass to its end; `between[k]` new comments are published after page k."""

    def publish_between(k: int) -> None:
        if between and h and k < len(between) and between[k]:
            h.publish(between[k], text=f"during page {k}")

    items, end, pages = run_pass(c, cursor, now=at or now(), after_page=publish_between,
                                 max_pages=50)
    assert end is not None
    return items, end, pages



# ------------------------------------------------------------------ cheapness


def test_second_poll_with_nothing_new_makes_exactly_one_request(h: RedditHarness) -> None:
    h.publish(3)
    _, cursor, pages = drain(h.connector, None)
    # first pass: token grant + comments, then posts, modqueue, reports (slow listings due)
    assert [p.requests for p in pages] == [2, 1, 1, 1]
    for _ in range(3):  # anchored poll, then un-anchored probes: always one request
        h.emulator.reset_count()
        page = h.connector.fetch(cursor, now=now())
        assert page.items == []
        assert not page.more
        assert page.requests == 1
        assert h.emulator.count() == 1
        assert h.emulator.count("POST", "/access_token") == 0  # praw cached the token
        cursor = page.cursor
    anchored, probe1, probe2 = h.emulator.comment_queries[-3:]
    assert "before" in anchored
    assert "before" not in probe1
    assert (probe1["limit"], probe2["limit"]) == ("99", "98")  # rotated to dodge caches


def test_slow_listings_follow_their_own_cadence(h: RedditHarness) -> None:
    start = now()
    _, cursor, _ = drain(h.connector, None, at=start)
    _, cursor, pages = drain(h.connector, cursor, at=start + timedelta(seconds=599))
    assert len(pages) == 1
    _, cursor, pages = drain(h.connector, cursor, at=start + timedelta(seconds=600))
    assert [p.requests for p in pages] == [1, 1, 1, 1]
    assert cursor.state["slow_at"] == (start + timedelta(seconds=600)).timestamp()


# ------------------------------------------------------------------ items and cursors


def test_first_pass_normalises_posts_comments_replies_and_the_modqueue(h: RedditHarness) -> None:
    top = h.emulator.add_comment("a visitor comment", parent=h.post, author="visitor")
    reply = h.emulator.add_comment("a reply", parent=top, author="orgmod")
    held = h.emulator.add_comment("held by the spam filter", parent=h.post, author="spammer")
    h.emulator.filter_as_spam(held)
    items, _, _ = drain(h.connector, None)
    by_id = {i.external_id: i for i in items}
    assert len(by_id) == len(items)  # nothing twice in one pass
    post, comment, answer, filtered = by_id[h.post], by_id[top], by_id[reply], by_id[held]
    assert (post.kind, post.is_own, post.thread_id, post.parent_id) == (
        ItemKind.POST, True, h.post, None)
    assert post.text == "Term dates\n\nComments welcome."
    assert (comment.kind, comment.is_own, comment.parent_id, comment.thread_id) == (
        ItemKind.COMMENT, False, h.post, h.post)
    assert (answer.kind, answer.is_own, answer.parent_id) == (ItemKind.REPLY, True, top)
    assert filtered.text == "held by the spam filter"  # only the modqueue lists it
    assert comment.url is not None
    assert comment.url.startswith("https://www.reddit.com/r/orgsub/comments/")
    assert comment.author_name == "visitor"
    assert comment.author_id == "t2_visitor"
    assert comment.raw["data"]["body"] == "a visitor comment"


def test_many_new_comments_with_arrivals_during_the_pass_anchored(h: RedditHarness) -> None:
    first = h.publish(3)
    _, cursor, _ = drain(h.connector, None)
    burst = h.publish(250, text="burst")
    items, cursor, pages = drain(h.connector, cursor, between=[5, 0, 0], h=h)
    during = h.published[-5:]
    ids = [i.external_id for i in items]
    assert len(ids) == len(set(ids))
    assert set(burst) | set(during) == set(ids)
    assert not set(first) & set(ids)
    assert all(p.requests == 1 for p in pages)
    again, _, _ = drain(h.connector, cursor)
    assert again == []


def test_many_new_comments_after_a_quiet_poll_are_swept(h: RedditHarness) -> None:
    h.publish(3)
    _, cursor, _ = drain(h.connector, None)
    _, cursor, _ = drain(h.connector, cursor)  # empty: the next poll is un-anchored
    burst = h.publish(250, text="burst")
    items, cursor, pages = drain(h.connector, cursor, between=[5, 5], h=h)
    assert len(pages) == 3  # un-anchored newest page, then two older pages down to known items
    assert {p.cursor.state["newest"] for p in pages[:-1]} != {burst[-1]}  # not promoted early
    assert cursor.state["newest"] == burst[-1]
    later, _, _ = drain(h.connector, cursor)
    ids = [i.external_id for i in items + later]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(burst) | set(h.published[-10:])


def test_sweep_survives_its_page_anchor_being_deleted(h: RedditHarness) -> None:
    h.publish(3)
    _, cursor, _ = drain(h.connector, None)
    _, cursor, _ = drain(h.connector, cursor)  # quiet: the next poll is un-anchored
    burst = h.publish(250, text="burst")
    first = h.connector.fetch(cursor, now=now())
    assert first.more
    anchor = first.cursor.state["pass"]["after"]
    h.emulator.delete_by_author(anchor)  # the oldest item of page 1 disappears
    rest, cursor, _ = drain(h.connector, first.cursor)
    ids = {i.external_id for i in [*first.items, *rest]}
    assert ids == set(burst)
    assert len(first.items) + len(rest) == len(burst)
    afters = [q["after"] for q in h.emulator.comment_queries if "after" in q]
    assert afters[0] == anchor  # answered empty, then the pass stepped back one item
    assert afters[1] != anchor


def test_deleted_anchor_does_not_hide_new_comments(h: RedditHarness) -> None:
    h.publish(3)
    _, cursor, _ = drain(h.connector, None)
    anchor = cursor.state["newest"]
    h.emulator.delete_by_author(anchor)
    fresh = h.publish(2, text="after the anchor died")
    empty = h.connector.fetch(cursor, now=now())  # before=<deleted anchor>: Reddit says nothing
    assert empty.items == []
    assert empty.requests == 1
    found = h.connector.fetch(empty.cursor, now=now())  # un-anchored probe
    assert found.requests == 1
    assert {i.external_id for i in found.items} == set(fresh)


def test_cursor_never_moves_past_the_poll_start(h: RedditHarness) -> None:
    h.publish(2)
    created = max(t["created_utc"] for t in h.emulator.things.values())
    early = datetime.fromtimestamp(created - 30, tz=UTC)  # a poll "started" before they exist
    _, cursor, _ = drain(h.connector, None, at=early)
    assert cursor.state["newest_utc"] == early.timestamp()
    assert cursor.state["slow_at"] == early.timestamp()


def test_unknown_cursor_version_starts_over(h: RedditHarness) -> None:
    ids = h.publish(2)
    stale = Cursor(version=99, state={"whatever": [1, 2]})
    items, cursor, _ = drain(h.connector, stale)
    assert set(ids) <= {i.external_id for i in items}
    assert cursor.version == 1


def test_odd_and_long_text_round_trips_exactly(h: RedditHarness) -> None:
    odd = ("שלום عالم 👩🏽‍🏫 z\u200bw\u200dj \u202eRTL\u202c " * 400) + "é" + "\U0001f9d2" * 500
    fid = h.emulator.add_comment(odd, parent=h.post, author="visitor")
    items, _, _ = drain(h.connector, None)
    item = next(i for i in items if i.external_id == fid)
    assert item.text == odd
    assert item.raw["data"]["body"] == odd


def test_unparseable_entries_are_skipped_with_a_warning_without_text(
    h: RedditHarness, caplog: pytest.LogCaptureFixture
) -> None:
    good = h.publish(2, text="secret child name")
    broken = h.emulator.add_comment("secret child name broken", parent=h.post)
    del h.emulator.things[broken]["created_utc"]
    with caplog.at_level(logging.WARNING, logger="connectors.reddit"):
        items, _, _ = drain(h.connector, None)
    assert set(good) <= {i.external_id for i in items}
    assert broken not in {i.external_id for i in items}
    assert broken in caplog.text
    assert "secret child name" not in caplog.text


# ------------------------------------------------------------------ errors


def test_429_with_reset_header_is_rate_limited(h: RedditHarness) -> None:
    _, cursor, _ = drain(h.connector, None)
    h.emulator.inject(Fault("/comments", Response(
        429, {"message": "Too Many Requests", "error": 429},
        {"x-ratelimit-used": "600", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "137"})))
    with pytest.raises(RateLimited) as raised:
        h.connector.fetch(cursor, now=now())
    assert raised.value.retry_after == 137


def test_429_with_retry_after_header(h: RedditHarness) -> None:
    h.emulator.inject(Fault("/comments", Response(429, {"message": "Too Many Requests"},
                                                  {"Retry-After": "42"})))
    with pytest.raises(RateLimited) as raised:
        h.connector.fetch(None, now=now())
    assert raised.value.retry_after == 42


def test_one_5xx_is_retried_by_prawcore(h: RedditHarness) -> None:
    ids = h.publish(1)
    h.emulator.inject(Fault("/comments", Response(503, {"message": "busy"})))
    page = h.connector.fetch(None, now=now())
    assert [i.external_id for i in page.items] == ids
    assert page.requests == 3  # token, 503, retry


@pytest.mark.slow
def test_persistent_5xx_is_transient(h: RedditHarness) -> None:
    h.emulator.inject(Fault("/comments", Response(502, {"message": "bad gateway"}), times=3))
    with pytest.raises(TransientError) as raised:
        h.connector.fetch(None, now=now())
    assert not isinstance(raised.value, RateLimited)
    assert "ServerError" in str(raised.value)


@pytest.mark.slow
def test_timeouts_are_transient() -> None:
    h = make(timeout_seconds=0.3)
    try:
        h.emulator.inject(Fault("/comments", hang_seconds=30, times=3))
        with pytest.raises(TransientError, match="RequestException"):
            h.connector.fetch(None, now=now())
    finally:
        h.close()


def test_malformed_json_is_transient(h: RedditHarness) -> None:
    h.emulator.inject(Fault("/comments", Response(200, raw=b'{"kind": "Listing", "data": {')))
    with pytest.raises(TransientError, match="BadJSON"):
        h.connector.fetch(None, now=now())


def test_listing_without_children_is_transient(h: RedditHarness) -> None:
    h.emulator.inject(Fault("/comments", Response(200, {"kind": "Listing", "data": {}})))
    with pytest.raises(TransientError, match=r"no data\.children"):
        h.connector.fetch(None, now=now())


def test_expired_token_is_renewed_transparently(h: RedditHarness) -> None:
    ids = h.publish(1)
    _, cursor, _ = drain(h.connector, None)
    h.emulator.expire_tokens()
    more = h.publish(1)
    page = h.connector.fetch(cursor, now=now())
    assert [i.external_id for i in page.items] == more
    assert h.emulator.token_grants == 2
    assert ids != more


def test_revoked_password_is_auth_error(h: RedditHarness) -> None:
    _, cursor, _ = drain(h.connector, None)
    h.emulator.revoke_password()
    with pytest.raises(AuthError, match="invalid_grant"):
        h.connector.fetch(cursor, now=now())


@pytest.mark.slow
def test_token_rejected_on_every_retry_is_auth_error(h: RedditHarness) -> None:
    h.emulator.inject(Fault("/comments", Response(
        401, {"message": "Unauthorized", "error": 401},
        {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'}), times=3))
    with pytest.raises(AuthError, match="InvalidToken"):
        h.connector.fetch(None, now=now())


def test_wrong_app_secret_is_auth_error(h: RedditHarness) -> None:
    h.emulator.client_secret = "rotated"
    with pytest.raises(AuthError, match="401"):
        h.connector.fetch(None, now=now())


def test_missing_mod_permission_is_named(h: RedditHarness) -> None:
    h.emulator.mod_permissions = ["wiki"]
    with pytest.raises(AuthError, match=r"'posts' \(Manage Posts & Comments\)"):
        drain(h.connector, None)


def test_unknown_subreddit_is_fatal(h: RedditHarness) -> None:
    c = build(h.emulator, subreddit="nosuchsub")
    with pytest.raises(FatalError, match="r/nosuchsub not found"):
        c.fetch(None, now=now())


# ------------------------------------------------------------------ takedown


def test_capabilities_are_delete_only_and_honest(h: RedditHarness) -> None:
    caps = h.connector.capabilities()
    assert [c.action for c in caps] == [Action.DELETE]
    assert "author still sees it" in caps[0].effect
    assert "approve it back" in caps[0].effect
    spammy = build(h.emulator, remove_as_spam=True)
    assert "spam filter" in spammy.capabilities()[0].effect
    with pytest.raises(NotSupported):
        h.connector.hide(ItemRef(h.post, ItemKind.POST))


def test_remove_check_and_approve_back(h: RedditHarness) -> None:
    h.publish(1, text="false positive")
    items, _, _ = drain(h.connector, None)
    target = next(i for i in items if "false positive" in i.text)
    assert h.connector.check(ref(target)) is Visibility.VISIBLE
    h.connector.delete(ref(target))
    assert h.connector.check(ref(target)) is Visibility.REMOVED
    assert h.emulator.things[target.external_id]["spam"] is False
    h.connector.delete(ref(target))  # idempotent
    assert h.connector.check(ref(target)) is Visibility.REMOVED
    h.connector.approve(ref(target))
    assert h.connector.check(ref(target)) is Visibility.VISIBLE
    h.connector.approve(ref(target))  # idempotent
    assert h.emulator.things[target.external_id]["approved_by"] == "orgmod"


def test_remove_as_spam_option(h: RedditHarness) -> None:
    cid = h.publish(1)[0]
    spammy = build(h.emulator, remove_as_spam=True)
    spammy.delete(ItemRef(cid, ItemKind.COMMENT))
    assert h.emulator.things[cid]["spam"] is True
    assert spammy.check(ItemRef(cid, ItemKind.COMMENT)) is Visibility.REMOVED


def test_removing_a_post(h: RedditHarness) -> None:
    h.connector.delete(ItemRef(h.post, ItemKind.POST))
    assert h.connector.check(ItemRef(h.post, ItemKind.POST)) is Visibility.REMOVED


def test_items_deleted_between_listing_and_takedown(h: RedditHarness) -> None:
    by_author, purged = h.publish(2)
    drain(h.connector, None)
    h.emulator.delete_by_author(by_author)
    h.emulator.purge(purged)
    assert h.connector.check(ItemRef(by_author, ItemKind.COMMENT)) is Visibility.GONE
    assert h.connector.check(ItemRef(purged, ItemKind.COMMENT)) is Visibility.GONE
    with pytest.raises(ItemGone):
        h.connector.delete(ItemRef(purged, ItemKind.COMMENT))
    with pytest.raises(ItemGone):
        h.connector.approve(ItemRef(purged, ItemKind.COMMENT))


def test_takedown_without_permission_is_auth_error(h: RedditHarness) -> None:
    cid = h.publish(1)[0]
    h.emulator.mod_permissions = ["mail"]
    with pytest.raises(AuthError, match="modposts"):
        h.connector.delete(ItemRef(cid, ItemKind.COMMENT))


def test_bad_fullname_is_fatal_without_a_request(h: RedditHarness) -> None:
    with pytest.raises(FatalError, match="fullname"):
        h.connector.delete(ItemRef("t2_someone", ItemKind.COMMENT))
    with pytest.raises(FatalError):
        h.connector.check(ItemRef("../../api/v1/me", ItemKind.COMMENT))
    assert h.emulator.count() == 0


# ------------------------------------------------------------------ credentials and options


def test_check_credentials_fine(h: RedditHarness) -> None:
    assert h.connector.check_credentials() == []
    assert h.emulator.count("GET") == 1  # one platform call (after the token grant)


def test_check_credentials_names_what_is_missing(h: RedditHarness) -> None:
    h.emulator.mod_permissions = ["wiki", "mail"]
    (problem,) = h.connector.check_credentials()
    assert "Manage Posts & Comments" in problem
    h.emulator.listed_as_moderator = False
    (problem,) = h.connector.check_credentials()
    assert "is not a moderator of r/orgsub" in problem
    h.emulator.revoke_password()  # the connector still holds the old password
    (problem,) = h.connector.check_credentials()
    assert "SOCMON_REDDIT_TEST_PASSWORD" in problem
    fresh = build(h.emulator)  # the new password, but the app secret was rotated
    h.emulator.client_secret = "rotated"
    (problem,) = fresh.check_credentials()
    assert "SOCMON_REDDIT_TEST_CLIENT_SECRET" in problem


def test_check_credentials_names_missing_scopes(h: RedditHarness) -> None:
    h.emulator.scope = "identity read"
    (problem,) = h.connector.check_credentials()
    assert "modposts" in problem


def test_registry_builds_the_channel_from_env(h: RedditHarness) -> None:
    env = {
        "SOCMON_SCHOOL_SUB_CLIENT_ID": h.emulator.client_id,
        "SOCMON_SCHOOL_SUB_CLIENT_SECRET": h.emulator.client_secret,
        "SOCMON_SCHOOL_SUB_USERNAME": h.emulator.moderator,
        "SOCMON_SCHOOL_SUB_PASSWORD": h.emulator.password,
    }
    options = {"subreddit": "r/orgsub", "oauth_url": h.emulator.url, "reddit_url": h.emulator.url}
    c = registry.build("reddit", channel="school-sub", options=options, env=env)
    assert isinstance(c, RedditConnector)
    assert c.options.subreddit == "orgsub"
    assert c.check_credentials() == []
    with pytest.raises(registry.ConnectorConfigError, match="SOCMON_SCHOOL_SUB_PASSWORD"):
        registry.build("reddit", channel="school-sub", options=options,
                       env={k: v for k, v in env.items() if "PASSWORD" not in k})


def test_options_are_validated() -> None:
    with pytest.raises(pydantic.ValidationError, match="subreddit"):
        RedditOptions(subreddit="no spaces please")
    with pytest.raises(pydantic.ValidationError):
        RedditOptions(subreddit="ok_sub", slow_listings=("unmoderated",))
    with pytest.raises(pydantic.ValidationError):
        RedditOptions.model_validate({"subreddit": "ok_sub", "api_url": "http://x"})


def test_standalone_emulator_serves_a_seeded_subreddit() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.reddit", "--port", str(port)],
        cwd=root, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()  # printed once the server listens
        assert f"127.0.0.1:{port}" in banner
        url = f"http://127.0.0.1:{port}"
        opts = RedditOptions(subreddit="orgsub", oauth_url=url, reddit_url=url)
        secrets = {"client_id": "emu-client", "client_secret": "emu-secret",
                   "username": "orgmod", "password": "emu-password"}
        c = RedditConnector(channel="manual", options=opts, secrets=secrets)
        items, _, _ = drain(c, None)
        assert {i.kind for i in items} == {ItemKind.POST, ItemKind.COMMENT, ItemKind.REPLY}
        assert any("\u200b" in i.text for i in items)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
