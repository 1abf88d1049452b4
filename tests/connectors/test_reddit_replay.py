"""Replay recorded real Reddit answers (praw's vcrpy cassettes) through the connector's praw."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import praw
import prawcore
import pytest
import vcr

from connectors.base import (
    AuthError,
    Cursor,
    ItemKind,
    ItemRef,
    Visibility,
)
from connectors.reddit import RedditConnector, RedditOptions, map_error, visibility_of

SECRETS = {"client_id": "replay-client", "client_secret": "replay-secret",
           "username": "orgmod", "password": "replay-password"}
PLACEHOLDERS = {
    "<ACCESS_TOKEN>": "replay-token", "<BASIC_AUTH>": "cmVwbGF5", "<PASSWORD>": SECRETS["password"],
    "<REFRESH_TOKEN>": "replay-refresh", "<TEST_SUBREDDIT>": "orgsub",
    "<USERNAME>": SECRETS["username"], "<USER_AGENT>": "socmon-replay",
}
FULL_MATCH = ["method", "scheme", "host", "port", "path", "query"]


def recorded(*parts: str) -> Path:
    """A file under shared/fixtures/recorded (`../shared` beside the repository in CI)."""
    shared = Path(__file__).resolve().parents[2].parent / "shared"
    return shared.joinpath("fixtures", "recorded", *parts)


def cassette(name: str, tmp_path: Path) -> str:
    """The praw cassette `name` with its placeholders filled in, written to `tmp_path`."""
    text = recorded("praw", name).read_text(encoding="utf-8")
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    out = tmp_path / name
    out.write_text(text, encoding="utf-8")
    return str(out)


def player(match_on: list[str] | None = None) -> vcr.VCR:
    return vcr.VCR(record_mode="none", serializer="json", match_on=match_on or FULL_MATCH)


def connector(subreddit: str = "orgsub", **options: Any) -> RedditConnector:
    """A connector with Reddit's real hosts (the cassettes hold them)."""
    opts = RedditOptions(subreddit=subreddit, user_agent="socmon-replay", **options)
    return RedditConnector(channel="replay", options=opts, secrets=SECRETS)


def bodies(name: str) -> list[dict[str, Any]]:
    """The JSON bodies of a cassette's API answers (the token grant left out)."""
    data = json.loads(recorded("praw", name).read_text(encoding="utf-8"))
    return [
        json.loads(i["response"]["body"]["string"])
        for i in data["interactions"]
        if "access_token" not in i["request"]["uri"]
    ]


NOW = datetime.now(UTC)
#: a fresh cursor whose slow listings were just read: the pass is the comments request only
COMMENTS_ONLY = Cursor(version=1, state={"slow_at": NOW.timestamp()})


def test_comment_listing_replay(tmp_path: Path) -> None:
    name = "TestSubredditListings.test_comments.json"
    recorded_children = bodies(name)[0]["data"]["children"]
    c = connector("askreddit")
    with player().use_cassette(cassette(name, tmp_path)) as tape:
        page = c.fetch(COMMENTS_ONLY, now=NOW)
        assert tape.all_played
    assert page.requests == 2  # the token grant, then the listing
    assert not page.more
    assert len(page.items) == 100
    by_id = {i.external_id: i for i in page.items}
    for child in recorded_children:
        item = by_id[child["data"]["name"]]
        assert item.raw == child  # the platform payload, verbatim
        assert item.text == child["data"]["body"]
        assert item.thread_id == child["data"]["link_id"]
        assert item.parent_id == child["data"]["parent_id"]
        expected = ItemKind.REPLY if child["data"]["parent_id"][:3] == "t1_" else ItemKind.COMMENT
        assert item.kind is expected
        assert item.created_at.tzinfo is UTC
        assert item.created_at.timestamp() == child["data"]["created_utc"]
        # 2016 answers have no permalink: the short form built from link and comment ids
        link, own = child["data"]["link_id"][3:], child["data"]["id"]
        assert item.url == f"https://www.reddit.com/comments/{link}/_/{own}/"
    assert {i.kind for i in page.items} == {ItemKind.COMMENT, ItemKind.REPLY}
    # oldest first, and the cursor anchored on the newest
    assert [i.created_at for i in page.items] == sorted(i.created_at for i in page.items)
    newest = max(recorded_children, key=lambda ch: ch["data"]["created_utc"])["data"]
    state = page.cursor.state
    assert state["newest"] == newest["name"]
    assert state["newest_utc"] == newest["created_utc"]
    assert state["anchored"] is True
    assert set(state["seen"]) == set(by_id)


def test_stream_recording_anchor_then_unanchored_probe(tmp_path: Path) -> None:
    """The kakapo recording: `before=<newest>` came back empty while a new comment existed.

    The connector's polls send exactly the recorded requests (limit=100; before=t1_dgauydy;
    limit=99) and the un-anchored probe after the empty answer finds the one new comment.
    """
    c = connector("kakapo")
    name = "TestSubredditStreams.test_comments__with_pause.json"
    with player().use_cassette(cassette(name, tmp_path)) as tape:
        first = c.fetch(COMMENTS_ONLY, now=NOW)
        second = c.fetch(first.cursor, now=NOW)
        third = c.fetch(second.cursor, now=NOW)
        assert tape.all_played
    assert len(first.items) == 16
    assert first.cursor.state["newest"] == "t1_dgauydy"
    assert second.items == []
    assert second.requests == 1  # the token is cached: one request for "anything new?"
    assert second.cursor.state["anchored"] is False
    assert third.requests == 1
    assert len(third.items) == 1
    new = third.items[0]
    assert new.external_id not in {i.external_id for i in first.items}
    assert third.cursor.state["newest"] == new.external_id


@pytest.mark.parametrize(
    ("name", "listing", "count"),
    [
        ("TestSubredditModeration.test_modqueue__only_comments.json", "modqueue", 6),
        ("TestSubredditModeration.test_reports__only_comments.json", "reports", 6),
        ("TestSubredditModeration.test_spam__only_comments.json", "spam", 8),
    ],
)
def test_moderation_listing_replay(tmp_path: Path, name: str, listing: str, count: int) -> None:
    # The pass is resumed at the moderation stage (the documented cursor shape); the
    # connector asks for both kinds, the recording for `only=comments`, so no query match.
    c = connector(slow_listings=(listing,))
    resume = Cursor(version=1, state={"pass": {"stage": listing, "started": NOW.timestamp()}})
    with player(FULL_MATCH[:-1]).use_cassette(cassette(name, tmp_path)) as tape:
        page = c.fetch(resume, now=NOW)
        assert tape.all_played
    assert len(page.items) == count
    assert all(i.kind in {ItemKind.COMMENT, ItemKind.REPLY} for i in page.items)
    assert not page.more
    assert page.cursor.state["slow_at"] == NOW.timestamp()
    assert page.cursor.state["pass"] is None
    assert set(page.cursor.state["slow_seen"]) == {i.external_id for i in page.items}
    if listing == "spam":
        # already removed: the verification logic sees it from the moderator's fields
        assert {visibility_of(i.raw["data"]) for i in page.items} == {Visibility.REMOVED}
    else:
        assert all(i.raw["data"]["num_reports"] or i.raw["data"]["mod_reports"]
                   for i in page.items)


def test_removed_comments_in_recorded_moderator_view(tmp_path: Path) -> None:
    """A 2022 thread seen by its moderator: `removed: true, banned_by: "Watchful1"`."""
    c = connector()
    name = "TestReddit.test_notes__call__.json"
    with player().use_cassette(cassette(name, tmp_path)):
        comments = c.reddit.submission("jlbw48").comments.list()
    data = [vars(x) for x in comments if isinstance(x, praw.models.Comment)]
    seen = {d["id"]: visibility_of(d) for d in data}
    removed = {n for n, v in seen.items() if v is Visibility.REMOVED}
    assert removed
    assert all(d["banned_by"] == "Watchful1" for d in data if d["id"] in removed)
    assert Visibility.VISIBLE in seen.values()


def test_check_of_unknown_fullname_is_gone(tmp_path: Path) -> None:
    c = connector()
    with player().use_cassette(cassette("TestComment.test_invalid.json", tmp_path)) as tape:
        assert c.check(ItemRef("t1_0", ItemKind.COMMENT)) is Visibility.GONE
        assert tape.all_played


def test_remove_as_spam_replay_sends_the_recorded_form(tmp_path: Path) -> None:
    # body matched too: the request must carry `id=t1_da2g5y6&spam=True`
    c = connector(remove_as_spam=True)
    name = "TestCommentModeration.test_remove.json"
    with player([*FULL_MATCH, "body"]).use_cassette(cassette(name, tmp_path)) as tape:
        c.delete(ItemRef("t1_da2g5y6", ItemKind.COMMENT))
        assert tape.all_played


def test_remove_with_reason_replay(tmp_path: Path) -> None:
    c = connector(removal_reason_id="110nhral8vygf")
    name = "TestCommentModeration.test_remove_with_reason_id.json"
    with player([*FULL_MATCH, "body"]).use_cassette(cassette(name, tmp_path)) as tape:
        c.delete(ItemRef("t1_f3dm3b7", ItemKind.COMMENT))
        assert tape.all_played
        assert tape.play_count == 3  # token, remove (spam=False), removal reason


def test_approve_replay(tmp_path: Path) -> None:
    c = connector()
    name = "TestCommentModeration.test_approve.json"
    with player([*FULL_MATCH, "body"]).use_cassette(cassette(name, tmp_path)) as tape:
        c.approve(ItemRef("t1_da2g5y6", ItemKind.COMMENT))
        assert tape.all_played


def test_recorded_invalid_token_maps_to_auth_error(tmp_path: Path) -> None:
    """The recorded 401 `invalid_token` answer, raised by prawcore, goes through ERROR_TABLE."""
    reddit = praw.Reddit(client_id="replay-client", client_secret=None, user_agent="socmon-replay",
                         check_for_updates=False, check_for_async=False)
    reddit.auth.implicit(access_token="replay-token", expires_in=10, scope="read")
    name = "TestAuthImplicit.test_implicit__with_invalid_token.json"
    with (
        player().use_cassette(cassette(name, tmp_path)),
        pytest.raises(prawcore.exceptions.InvalidToken) as raised,
    ):
        reddit.user.me()
    error = map_error(raised.value, doing="reading the account")
    assert isinstance(error, AuthError)
    assert "InvalidToken" in str(error)
