"""The Instagram connector against the emulated Graph API: paging, cost, faults, takedown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.base import (
    AuthError,
    ItemGone,
    ItemKind,
    RateLimited,
    TransientError,
    Visibility,
)
from tests.connectors.graph_harness import (
    check_comments_arriving_during_a_pass_are_not_lost,
    check_items_deleted_between_listing_and_takedown_are_gone,
    check_timeout_is_transient,
    drain,
    harness_fixture,
    ref,
)
from tests.connectors.harness_instagram import InstagramHarness, make
from tests.emulators.graph import IG_USERNAME, MODERATE_IG, TOKEN, throttled
from tests.emulators.server import Fault, Response, reshaped

ODD = "مرحبا שלום 👩‍👩‍👧‍👦 zero\u200bwidth \u202eevil\u202c ﷽ 𝕏 " * 500


h = harness_fixture(make)


def test_media_comments_and_replies_are_normalised(h: InstagramHarness) -> None:
    emu = h.emulator
    top = emu.add_ig_comment(h.media_id, "So proud of the team")
    answer = emu.add_ig_comment(top, "Thank you!", username=IG_USERNAME)
    items, _, spent = drain(h.connector, None)
    got = {i.external_id: i for i in items}
    assert got[h.media_id].kind is ItemKind.POST
    assert got[h.media_id].is_own
    assert got[top].kind is ItemKind.COMMENT
    assert got[top].parent_id == h.media_id
    assert not got[top].is_own
    assert got[top].author_name
    assert got[answer].kind is ItemKind.REPLY
    assert got[answer].parent_id == top
    assert got[answer].thread_id == h.media_id
    assert got[answer].is_own
    assert spent == 1


def test_nested_comments_or_replies_that_are_not_a_list_are_read_on_their_own(
    h: InstagramHarness,
) -> None:
    emu = h.emulator
    top = emu.add_ig_comment(h.media_id, "So proud of the team")
    answer = emu.add_ig_comment(top, "Thank you!", username=IG_USERNAME)

    def break_replies(document: dict[str, Any]) -> None:
        comments = document["data"][0]["comments"]["data"]
        next(c for c in comments if c["id"] == top)["replies"]["data"] = "junk"

    emu.inject(Fault(r"/media$", mangle=reshaped(break_replies)))
    items, cursor, spent = drain(h.connector, None)
    assert {i.external_id for i in items} == {h.media_id, top, answer}
    assert spent == 2  # the media page, then the comment's replies on their own

    later = emu.add_ig_comment(h.media_id, "Well done!")

    def break_comments(document: dict[str, Any]) -> None:
        document["data"][0]["comments"]["data"] = "junk"

    emu.inject(Fault(r"/media$", mangle=reshaped(break_comments)))
    again, _, spent = drain(h.connector, cursor)
    assert [i.external_id for i in again] == [later]
    assert spent == 2  # the media page, then the media's comments on their own


def test_nothing_new_costs_exactly_one_request(h: InstagramHarness) -> None:
    earlier = datetime.now(UTC) - timedelta(hours=1)
    busy = h.emulator.add_media("busy", created=earlier)
    for n in range(60):  # more than one nested page of comments
        h.emulator.add_ig_comment(busy, f"c{n}", created=earlier)
    _, cursor, first_cost = drain(h.connector, None)
    assert first_cost == 2, "a new media's overflowing comments are read once"
    h.emulator.reset_count()
    items, _, spent = drain(h.connector, cursor)
    assert items == []
    assert spent == 1 == h.emulator.count()


def test_overflowing_comments_and_replies_are_read_when_the_count_changes(
    h: InstagramHarness,
) -> None:
    earlier = datetime.now(UTC) - timedelta(hours=1)
    media = [h.emulator.add_media(f"m{n}", created=earlier) for n in range(30)]  # 2 pages
    target = media[-1]
    old_top = h.emulator.add_ig_comment(target, "old question", created=earlier)
    for n in range(60):
        h.emulator.add_ig_comment(target, f"filler {n}", created=earlier)
    for n in range(55):  # more than one nested page of replies under the oldest comment
        h.emulator.add_ig_comment(old_top, f"r{n}", created=earlier)
    items, cursor, _ = drain(h.connector, None)
    assert len(items) == 31 + 61 + 55
    assert len({i.external_id for i in items}) == len(items)
    # A new reply under the OLDEST comment (on the last comments page, in a replies overflow)
    late = h.emulator.add_ig_comment(old_top, "new reply deep down")
    h.emulator.reset_count()
    again, _, spent = drain(h.connector, cursor)
    assert [i.external_id for i in again] == [late]
    assert spent == 4 == h.emulator.count()  # first media page + comments page + replies + 2nd


def test_comments_arriving_during_a_pass_are_not_lost(h: InstagramHarness) -> None:
    check_comments_arriving_during_a_pass_are_not_lost(
        h.connector, add_parent=h.emulator.add_media, add_comment=h.emulator.add_ig_comment
    )


def test_throttling_maps_to_rate_limited(h: InstagramHarness) -> None:
    h.emulator.inject(Fault(r"/media$", throttled(80002, minutes=3)))
    with pytest.raises(RateLimited) as caught:
        h.connector.fetch(None, now=datetime.now(UTC))
    assert caught.value.retry_after == 180


@pytest.mark.parametrize(
    "response",
    [Response(503, raw=b"<html>oops</html>", headers={"Content-Type": "text/html"}),
     Response(200, raw=b"{not json")],
    ids=["html-503", "malformed-json"],
)
def test_server_trouble_is_transient(h: InstagramHarness, response: Response) -> None:
    ids = h.publish(1)
    h.emulator.inject(Fault(r"/media$", response))
    with pytest.raises(TransientError):
        h.connector.fetch(None, now=datetime.now(UTC))
    items, _, _ = drain(h.connector, None)
    assert set(ids) <= {i.external_id for i in items}


def test_timeout_is_transient() -> None:
    check_timeout_is_transient(make, listing=r"/media$")


def test_expired_token_is_an_auth_error(h: InstagramHarness) -> None:
    h.emulator.expired_tokens.add(TOKEN)
    with pytest.raises(AuthError, match="expired"):
        h.connector.fetch(None, now=datetime.now(UTC))
    assert "SOCMON_SCHOOL_INSTAGRAM_ACCESS_TOKEN" in h.connector.check_credentials()[0]


def test_hide_delete_check_and_missing_permission(h: InstagramHarness) -> None:
    h.publish(2)
    items, _, _ = drain(h.connector, None)
    first, second = (i for i in items if i.kind is ItemKind.COMMENT)
    h.connector.hide(ref(first))
    h.connector.hide(ref(first))
    assert h.connector.check(ref(first)) is Visibility.HIDDEN
    assert h.connector.check(ref(second)) is Visibility.VISIBLE
    h.emulator.permissions.discard(MODERATE_IG)
    with pytest.raises(AuthError, match="instagram_manage_comments"):
        h.connector.delete(ref(second))
    h.emulator.permissions.add(MODERATE_IG)
    h.connector.delete(ref(second))
    assert h.connector.check(ref(second)) is Visibility.GONE
    with pytest.raises(ItemGone):
        h.connector.delete(ref(second))


def test_items_deleted_between_listing_and_takedown_are_gone(h: InstagramHarness) -> None:
    check_items_deleted_between_listing_and_takedown_are_gone(h)


def test_long_and_odd_text_round_trips_exactly(h: InstagramHarness) -> None:
    comment = h.emulator.add_ig_comment(h.media_id, ODD)
    items, _, _ = drain(h.connector, None)
    assert {i.external_id: i.text for i in items}[comment] == ODD
