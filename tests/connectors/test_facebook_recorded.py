"""Recorded real Graph API answers replayed through the Facebook connector's real SDK calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from responses import matchers

from connectors.base import AuthError, Cursor, ItemKind
from connectors.facebook import FacebookOptions, FacebookPageConnector
from tests.connectors.graph_replay import PROOF, SECRETS, TOKEN, recorded, url


def connector(page_id: str, version: str, **options: Any) -> FacebookPageConnector:
    return FacebookPageConnector(
        channel="recorded",
        options=FacebookOptions(page_id=page_id, graph_version=version, **options),
        secrets=SECRETS,
    )


@responses.activate
def test_feed_cursor_paging_replays_into_posts_and_cursor() -> None:
    now = datetime(2021, 7, 1, tzinfo=UTC)
    page_two = responses.get(
        url("v11.0/19292868552/feed"), body=recorded("fb_page_feed_cursor_p2.json"),
        content_type="application/json",
        match=[matchers.query_param_matcher({"after": "after", "appsecret_proof": PROOF},
                                            strict_match=False)],
    )
    page_one = responses.get(
        url("v11.0/19292868552/feed"), body=recorded("fb_page_feed_cursor_p1.json"),
        content_type="application/json",
        match=[matchers.query_param_matcher(
            {"limit": "25", "since": str(int(datetime(2021, 6, 17, tzinfo=UTC).timestamp())),
             "access_token": TOKEN, "appsecret_proof": PROOF}, strict_match=False)],
    )
    fb = connector("19292868552", "v11.0")

    first = fb.fetch(None, now=now)
    assert first.more
    assert first.requests == 1
    assert [i.external_id for i in first.items] == [
        "19292868552_10158333323653553", "19292868552_10158331020098553",
        "19292868552_10158329301388553", "19292868552_10158319774218553",
        "19292868552_10158317908683553",
    ]
    assert all(i.kind is ItemKind.POST and i.thread_id == i.external_id for i in first.items)
    assert "iCook 愛料理" in first.items[0].text
    assert first.items[0].created_at == datetime(2021, 6, 30, 21, 21, 18, tzinfo=UTC)
    stored = first.cursor.to_json()
    assert TOKEN not in stored, "no secret may reach the database"
    assert PROOF not in stored
    assert json.loads(stored)["state"]["pass"]["tasks"] == [
        {"t": "feed", "next": "19292868552/feed?pretty=0&limit=5&after=after"}
    ]

    second = fb.fetch(Cursor.from_json(stored), now=now)
    # 2021-06-16 is outside the 14-day comment window: not ingested, paging stops there.
    assert [i.created_at.date().isoformat() for i in second.items] == ["2021-06-21", "2021-06-18"]
    assert not second.more
    # The pass is promoted: watermark = the pass's start; every post is older than the
    # overlap window, so no id needs remembering.
    assert second.cursor.state == {"wm": "2021-07-01T00:00:00+00:00", "seen": {}}
    assert page_one.call_count == 1
    assert page_two.call_count == 1


@responses.activate
def test_time_paging_link_is_kept_without_token() -> None:
    responses.get(url("v10.0/4/feed"), body=recorded("fb_page_posts_timepaging_p1.json"),
                  content_type="application/json")
    fb = connector("4", "v10.0")
    page = fb.fetch(None, now=datetime(2021, 7, 5, tzinfo=UTC))
    assert len(page.items) == 5
    assert page.more
    assert page.items[0].text == "Happy July 4th! 🇺🇸"
    task = page.cursor.state["pass"]["tasks"][0]
    assert task["next"].startswith("4/posts?")
    assert "until=1624385168" in task["next"]
    assert "__paging_token" in task["next"]
    assert "access_token" not in task["next"]


@responses.activate
def test_comment_stream_replays_through_nested_expansion_and_overflow() -> None:
    """The recorded `filter=stream` pages: first nested in the feed, then via paging.next."""
    post_id = "19292868552_10158407654328553"
    nested = json.loads(recorded("fb_post_comments_stream_p1.json"))
    feed = {"data": [{"id": post_id, "created_time": "2021-08-10T18:00:00+0000",
                      "message": "Ask us anything", "comments": nested}]}
    responses.get(url("v11.0/19292868552/feed"), json=feed)
    overflow = responses.get(
        url(f"v11.0/{post_id}/comments"), body=recorded("fb_post_comments_stream_p2.json"),
        content_type="application/json",
        match=[matchers.query_param_matcher(
            {"after": "after", "filter": "stream", "appsecret_proof": PROOF},
            strict_match=False)],
    )
    fb = connector("19292868552", "v11.0")
    now = datetime(2021, 8, 15, tzinfo=UTC)

    first = fb.fetch(None, now=now)
    assert first.more
    assert first.requests == 1
    post, *comments = first.items
    assert post.kind is ItemKind.POST
    assert not post.is_own
    assert len(comments) == 10
    by_id = {c.external_id: c for c in comments}
    top = by_id["10158407654328553_10158407903973553"]
    assert top.kind is ItemKind.COMMENT
    assert top.parent_id == post_id
    reply = by_id["10158407654328553_10158409983033553"]
    assert reply.kind is ItemKind.REPLY
    assert reply.parent_id == "10158407654328553_10158407903973553"
    assert reply.thread_id == post_id
    assert reply.url
    assert "reply_comment_id=10158409983033553" in reply.url
    assert sum(c.kind is ItemKind.REPLY for c in comments) == 4
    assert all(c.created_at.tzinfo is UTC for c in comments)
    assert reply.raw["like_count"] == 0, "the platform payload is kept verbatim"

    second = fb.fetch(Cursor.from_json(first.cursor.to_json()), now=now)
    assert overflow.call_count == 1
    assert second.requests == 1
    assert not second.more
    assert len(second.items) == 5
    assert [c.kind for c in second.items].count(ItemKind.REPLY) == 1
    assert len({i.external_id for i in [*first.items, *second.items]}) == 16
    assert second.cursor.state["wm"] == "2021-08-15T00:00:00+00:00"


@responses.activate
def test_recorded_permission_error_names_the_permission() -> None:
    responses.get(url("v11.0/19292868552/feed"), body=recorded("fb_error_100_permission.json"),
                  status=400, content_type="application/json")
    fb = connector("19292868552", "v11.0")
    with pytest.raises(AuthError, match="missing permission pages_read_engagement"):
        fb.fetch(None, now=datetime(2021, 7, 1, tzinfo=UTC))
    problems = fb.check_credentials()
    assert len(problems) == 1
    assert "pages_read_engagement" in problems[0]
