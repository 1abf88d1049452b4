"""Recorded real X API v2 answers (tweepy's cassettes) replayed through XConnector's SDK calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml

from connectors.base import Cursor, FatalError, ItemKind, ItemRef, Visibility
from connectors.x import XConnector, XOptions, snowflake_time

SECRETS = {
    "bearer_token": "B",
    "consumer_key": "ck",
    "consumer_secret": "cs",
    "access_token": "at",
    "access_token_secret": "ats",
}
NOW = datetime(2022, 10, 8, tzinfo=UTC)


def recorded(name: str) -> Path:
    """A file of the shared recordings (`../shared` beside the repository)."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "recorded" / name


def player() -> vcr.VCR:
    # Upstream recorded without our query parameters: match on the path only.
    return vcr.VCR(
        record_mode="none",
        decode_compressed_response=True,
        match_on=["method", "scheme", "host", "port", "path"],
    )


def combined(tmp_path: Path, *names: str) -> Path:
    """One cassette holding the interactions of several recordings, in order."""
    interactions: list[Any] = []
    version = 1
    for name in names:
        data = yaml.safe_load(recorded(f"tweepy/{name}").read_text())
        interactions.extend(data["interactions"])
        version = data.get("version", version)
    out = tmp_path / "combined.yaml"
    out.write_text(yaml.safe_dump({"interactions": interactions, "version": version}))
    return out


def connector(**options: Any) -> XConnector:
    return XConnector(
        channel="x-replay",
        options=XOptions(user_id=options.pop("user_id", "783214"),
                         username=options.pop("username", "Twitter"), **options),
        secrets=SECRETS,
    )


def test_search_recording_gives_items_and_keeps_the_watermark_pending() -> None:
    x = connector()
    cassette = recorded("tweepy/test_client_search_recent_tweets.yaml")
    with player().use_cassette(str(cassette)) as cass:
        page = x.fetch(None, now=NOW)
    assert cass.all_played
    assert page.requests == 1
    assert len(page.items) == 10
    first = page.items[0]
    assert first.external_id == "1578516068309794817"
    assert first.text == "2022-10-07 22:42:12.637103 tweepy"
    # Default fields only: no created_at, so the Snowflake time is used; the recorded
    # text happens to carry the posting time, which lets us check the decoding.
    for item in page.items:
        stamp = datetime.fromisoformat(item.text.split(" tweepy")[0]).replace(tzinfo=UTC)
        assert abs(item.created_at - stamp) < timedelta(seconds=2)
        assert item.created_at.tzinfo is UTC
        assert item.kind is ItemKind.POST
        assert not item.is_own
        assert item.thread_id == item.external_id
        assert item.url == f"https://x.com/i/web/status/{item.external_id}"
        assert item.raw["id"] == item.external_id
    # next_token present: the pass goes on, the watermark is not promoted yet
    assert page.more
    state = Cursor.from_json(page.cursor.to_json())
    assert state is not None
    assert state.state["since_id"] is None
    assert state.state["pass"]["token"] == "b26v89c19zqg8o3fpzbn1e0ffhxjiofzw6po136rvbnul"
    assert state.state["pass"]["newest_id"] == "1578516068309794817"
    assert state.state["pass"]["query"] == "(@Twitter OR to:Twitter OR from:Twitter) -is:retweet"


def test_mentions_recording_through_the_mentions_mode() -> None:
    x = connector(poll_mode="mentions")
    with player().use_cassette(str(recorded("tweepy/test_client_get_users_mentions.yaml"))) as cass:
        page = x.fetch(None, now=NOW)
    assert cass.all_played
    assert [i.external_id for i in page.items][:2] == ["1578516295611748353", "1578516273537118209"]
    assert len(page.items) == 10
    assert page.items[0].text.startswith("@Twitter @TwitterSupport this is my ENTIRE feed")
    assert page.more
    assert page.cursor.state["pass"]["token"] == "7140dibdnow9c7btw423i3sy3u5zupmkcpofxcsmxj48j"
    assert page.cursor.state["pass"]["newest_id"] == "1578516295611748353"
    assert snowflake_time(1578516295611748353).date().isoformat() == "2022-10-07"


def test_hide_recording_confirms_and_an_unconfirmed_answer_is_an_error() -> None:
    x = connector()
    ref = ItemRef("1344794616005066752", ItemKind.COMMENT, "1", "1")
    with player().use_cassette(
        str(recorded("tweepy/test_client_hide_and_unhide_reply.yaml"))
    ) as cass:
        x.hide(ref)  # first recorded answer: {"data": {"hidden": true}}
        assert cass.play_count == 1
        # the second recorded answer is {"hidden": false}: not a confirmation
        with pytest.raises(FatalError, match="did not confirm"):
            x.hide(ref)
    assert cass.all_played


def test_delete_recording_deletes_the_own_post() -> None:
    x = connector()
    with player().use_cassette(
        str(recorded("tweepy/test_client_create_and_delete_tweet.yaml"))
    ) as cass:
        x.delete(ItemRef("1456012973835788293", ItemKind.POST))
    # only the DELETE was sent (no create, no lookup first)
    assert cass.play_counts[1] == 1
    assert cass.play_counts[0] == 0


def test_lookup_recording_reports_visible() -> None:
    x = connector()
    with player().use_cassette(str(recorded("tweepy/test_client_get_tweets.yaml"))) as cass:
        assert x.check(ItemRef("1293595870563381249", ItemKind.POST)) is Visibility.VISIBLE
    assert cass.all_played


def test_credentials_recordings_name_the_wrong_account(tmp_path: Path) -> None:
    # user timeline for the configured id, then /2/users/me answering @TweepyDev
    cassette = combined(tmp_path, "test_client_get_users_tweets.yaml", "test_client_get_me.yaml")
    x = connector()
    with player().use_cassette(str(cassette)) as cass:
        problems = x.check_credentials()
    assert cass.all_played
    assert len(problems) == 1
    assert "@TweepyDev" in problems[0]
    assert "783214" in problems[0]
