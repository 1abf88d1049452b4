"""Recorded real Instagram Graph API answers replayed through the connector's real SDK calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from responses import matchers

from connectors.base import AuthError, Cursor, ItemKind, ItemRef, Visibility
from connectors.instagram import InstagramConnector, InstagramOptions
from tests.connectors.graph_replay import PROOF, SECRETS, TOKEN, recorded, url

IG_USER = "17841406338772941"


def connector(**options: Any) -> InstagramConnector:
    return InstagramConnector(
        channel="recorded",
        options=InstagramOptions(ig_user_id=IG_USER, graph_version="v11.0", **options),
        secrets=SECRETS,
    )


@responses.activate
def test_media_page_replays_into_own_posts_and_a_safe_paging_link() -> None:
    responses.get(
        url(f"v11.0/{IG_USER}/media"), body=recorded("ig_user_media_p1.json"),
        content_type="application/json",
        match=[matchers.query_param_matcher({"access_token": TOKEN, "appsecret_proof": PROOF},
                                            strict_match=False)],
    )
    page = connector().fetch(None, now=datetime(2021, 8, 20, tzinfo=UTC))
    assert page.requests == 1
    assert page.more
    assert [i.external_id for i in page.items] == ["17895731045244887", "17896622936197745"]
    first = page.items[0]
    assert first.kind is ItemKind.POST
    assert first.is_own
    assert first.url == "https://www.instagram.com/p/CSgf9BChwVq/"
    assert first.created_at == datetime(2021, 8, 13, 8, 25, 28, tzinfo=UTC)
    assert first.raw["media_type"] == "IMAGE"
    task = page.cursor.state["pass"]["tasks"][0]
    # The recorded link says v6.0; the configured version wins, the token is dropped.
    assert task["t"] == "media"
    assert task["next"].startswith(f"{IG_USER}/media?")
    assert "after=after" in task["next"]
    assert "access_token" not in task["next"]
    assert page.cursor.state["pass"]["counts"] == {"17895731045244887": 0,
                                                   "17896622936197745": 6}


@responses.activate
def test_comment_pages_and_replies_replay_through_expansion_and_overflow() -> None:
    media_id = "17846368219941692"
    comments = json.loads(recorded("ig_media_comments_p1.json"))
    # The recorded replies edge, nested under the first recorded comment as expansion does.
    comments["data"][0]["replies"] = json.loads(recorded("ig_comment_replies.json"))
    media = {"data": [{"id": media_id, "timestamp": "2020-02-20T10:00:00+0000",
                       "caption": "Beautiful day", "comments_count": 5,
                       "permalink": "https://www.instagram.com/p/B8xyz/",
                       "comments": comments}]}
    responses.get(url(f"v11.0/{IG_USER}/media"), json=media)
    overflow = responses.get(
        url(f"v11.0/{media_id}/comments"), body=recorded("ig_media_comments_p2.json"),
        content_type="application/json",
        match=[matchers.query_param_matcher({"after": "after", "appsecret_proof": PROOF},
                                            strict_match=False)],
    )
    ig = connector(comment_window_days=365)
    now = datetime(2020, 8, 10, tzinfo=UTC)

    first = ig.fetch(None, now=now)
    assert first.more
    assert first.requests == 1
    by_id = {i.external_id: i for i in first.items}
    assert by_id[media_id].kind is ItemKind.POST
    top = by_id["17858154961981086"]
    assert top.kind is ItemKind.COMMENT
    assert top.parent_id == media_id
    assert top.text == "Beautiful!"
    reply = by_id["17847314687296283"]
    assert reply.kind is ItemKind.REPLY
    assert reply.parent_id == "17858154961981086"
    assert reply.thread_id == media_id
    assert reply.text == "@lixiangguodu123 nihao"
    assert reply.url == "https://www.instagram.com/p/B8xyz/"
    assert "replies" not in top.raw

    second = ig.fetch(Cursor.from_json(first.cursor.to_json()), now=now)
    assert overflow.call_count == 1
    assert not second.more
    assert [i.external_id for i in second.items] == ["17892250648466172", "17914413430382429"]
    assert second.items[0].text == "@ikroskun  Hey, guys"
    assert second.cursor.state["counts"] == {media_id: 5}
    assert second.cursor.state["wm"] == now.isoformat()


@responses.activate
def test_recorded_comment_object_checks_visible() -> None:
    responses.get(
        url("v11.0/17892250648466172"), body=recorded("ig_comment_fields.json"),
        content_type="application/json",
        match=[matchers.query_param_matcher({"fields": "hidden"}, strict_match=False)],
    )
    ref = ItemRef("17892250648466172", ItemKind.COMMENT, "17846368219941692")
    assert connector().check(ref) is Visibility.VISIBLE


@responses.activate
def test_recorded_permission_error_names_the_permission() -> None:
    responses.get(url(f"v11.0/{IG_USER}/media"), body=recorded("fb_error_100_permission.json"),
                  status=400, content_type="application/json")
    ig = connector()
    with pytest.raises(AuthError, match="pages_read_engagement"):
        ig.fetch(None, now=datetime(2021, 8, 20, tzinfo=UTC))
    assert "pages_read_engagement" in ig.check_credentials()[0]
