"""Malformed answers never blind a channel: bodies that are not JSON, cut short, or of the
wrong shape, through each platform's real SDK and emulator.

Each case damages the answer of the listing a poll starts with. Comments published before
and after the damaged one, the last of them abusive, must all be stored and the abusive one
flagged. What becomes of the damaged answer depends on how much of it can still be read:

- nothing (not JSON, cut short, `data` not a list): the pass fails with a connector error
  whose kind channel health shows (degraded, retried later); the lease is free, and once
  the platform answers properly the retry reads everything, a comment published meanwhile
  included;
- all but one entry (no id, not an object, a time no calendar holds): the page goes on and
  the entry is quarantined with its reason and payload, or stored when the rest of it is
  enough (an X post's id carries its time). The damage stays for the next poll too, as a
  platform's would: it must not block the channel either;
- on Facebook and Instagram a post whose nested comments are not a list: the page goes on
  and that post's comments are read on their own.

Never a traceback, never an ERROR, and no log line at INFO or above quotes a comment. The
seven cases run one after the other on one channel per platform, each with comments of its
own, as damage would come and go on a live channel.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from monitor.models import Alert, ChannelHealth, Item, QuarantinedItem, QuarantineStage
from tests.emulators.server import Fault, Mangle, reshaped, truncated
from tests.integration.conftest import (
    ABUSIVE,
    BENIGN,
    PLATFORMS,
    Stack,
    channel_state,
    make_due,
    stored_ids,
)

#: marks the texts of the comments each case publishes (never to be seen in a log line)
MARK = "fuzzmark"
#: a valid ISO time whose UTC equivalent no calendar holds (the year 0)
NO_TIME = "0001-01-01T00:00:00+01:00"
#: keys that carry an entry's id, and its time, on the four platforms
ID_KEYS = ("id", "name", "permalink_url")
TIME_KEYS = ("created_time", "timestamp", "created_at")

Path = list[tuple[Any, Any]]
#: what damages one entry: (the document, the way to the entry, the entry)
Damage = Callable[[Any, Path, dict[str, Any]], None]


def _walk(node: Any, path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every object in a JSON document, with the (container, key) steps leading to it."""
    if isinstance(node, dict):
        yield path, node
        children: Any = node.items()
    elif isinstance(node, list):
        children = enumerate(node)
    else:
        return
    for key, child in children:
        yield from _walk(child, [*path, (node, key)])


def _aimed(victim: str, damage: Damage) -> Mangle:
    """Damage the object holding `victim`'s text, wherever the answer has it (left alone
    when this answer does not have it)."""

    def change(document: Any) -> None:
        for path, node in _walk(document, []):
            if any(isinstance(v, str) and victim in v for v in node.values()):
                damage(document, path, node)
                return

    return reshaped(change)


def _without_id(_document: Any, _path: Path, node: dict[str, Any]) -> None:
    for key in ID_KEYS:
        node.pop(key, None)


def _not_an_object(_document: Any, path: Path, node: dict[str, Any]) -> None:
    container, key = path[-1]
    container[key] = list(node.values())  # its values, as a list: the text is still there


def _time_out_of_range(_document: Any, _path: Path, node: dict[str, Any]) -> None:
    for key in TIME_KEYS:
        if key in node:
            node[key] = NO_TIME
    if "created_utc" in node:
        node["created_utc"] = 1e300  # Reddit's epoch seconds


def _list_not_a_list(_document: Any, path: Path, _node: dict[str, Any]) -> None:
    """The list the entry is in becomes a string (on Graph, a post's nested comments)."""
    container, key = next((c, k) for c, k in reversed(path) if isinstance(c[k], list))
    container[key] = "junk"


def _data_not_a_list(document: Any) -> None:
    document["data"] = "junk"


#: case -> how the listing's answer is damaged, given the text of the comment aimed at
CASES: dict[str, Callable[[str], Mangle]] = {
    "not-json": lambda _: lambda _body: b"<html><body>502 Bad Gateway</body></html>",
    "truncated": lambda _: truncated,
    "data-not-a-list": lambda _: reshaped(_data_not_a_list),
    "entry-without-id": lambda victim: _aimed(victim, _without_id),
    "entry-not-an-object": lambda victim: _aimed(victim, _not_an_object),
    "entry-time-out-of-range": lambda victim: _aimed(victim, _time_out_of_range),
    "nested-list-not-a-list": lambda victim: _aimed(victim, _list_not_a_list),
}
WHOLE_PAGE = {"not-json", "truncated", "data-not-a-list"}
#: platforms whose listing nests comments in posts (elsewhere the list is the page's own)
NESTING = {"facebook", "instagram"}


def _expected(case: str, platform: str) -> str:
    """What must become of the damaged answer: the pass "fails", or the victim is "stored"
    or "set aside" (quarantined) while the page goes on."""
    if case in WHOLE_PAGE or (case == "nested-list-not-a-list" and platform not in NESTING):
        return "fails"
    if case == "nested-list-not-a-list" or (case == "entry-time-out-of-range"
                                              and platform == "x"):
        return "stored"
    return "set aside"


def _alerted(stack: Stack) -> set[str]:
    with stack.factory() as session:
        return set(session.execute(select(Item.external_id).join(Alert)).scalars())


def _kept(stack: Stack, victim: str) -> list[QuarantinedItem]:
    """The quarantined entries whose payload holds `victim`'s text."""
    with stack.factory() as session:
        rows = session.execute(select(QuarantinedItem)).scalars()
        return [row for row in rows if victim in row.payload]


def _case(stack: Stack, platform: str, case: str) -> str:
    """Publish, damage, poll twice; returns what became of the damaged answer."""
    rig = stack.rigs[platform]
    texts = {role: f"{MARK}-{role}-{case} " + text for role, text in (
        ("before", BENIGN[0]), ("victim", BENIGN[1]), ("after", ABUSIVE), ("later", ABUSIVE))}
    published = {role: rig.publish(texts[role]) for role in ("before", "victim", "after")}
    expected = _expected(case, platform)
    # A page that cannot be read at all is damaged once; a damaged entry stays damaged.
    rig.emulator.inject(Fault(rig.listing, mangle=CASES[case](texts["victim"]),
                              times=1 if expected == "fails" else 2))
    make_due(stack.factory, platform)

    first = stack.poll(platform)

    state = channel_state(stack.factory, platform)
    assert state.lease_owner is None
    stored = stored_ids(stack.factory, platform)
    if expected == "fails":
        assert first.health is ChannelHealth.DEGRADED, (first.health, first.error)
        assert state.health == ChannelHealth.DEGRADED
        assert state.last_error is not None
        assert "Error" in state.last_error
        assert MARK not in state.last_error
        assert not {published["before"], published["after"]} & stored
    else:
        assert first.error is None, first.error
        assert first.health is ChannelHealth.OK
        assert {published["before"], published["after"]} <= stored, "the page did not go on"
        assert published["after"] in _alerted(stack)
        assert (published["victim"] in stored) == (expected == "stored")
    kept = _kept(stack, texts["victim"])
    assert len(kept) == (expected == "set aside")
    assert first.totals.quarantined == len(kept)
    for entry in kept:
        assert entry.stage == QuarantineStage.READ
        assert entry.reason
        assert MARK not in entry.reason
        json.loads(entry.payload)

    # The next poll, after a comment published meanwhile, reads everything else.
    later = rig.publish(texts["later"])
    make_due(stack.factory, platform)
    second = stack.poll(platform)
    assert second.health is ChannelHealth.OK, second.error
    stored = stored_ids(stack.factory, platform)
    missing = {role for role, the_id in published.items() if the_id not in stored}
    if expected == "set aside":
        missing.discard("victim")  # quarantined above: kept, not lost
    assert not missing, f"lost: {missing}"
    assert {published["after"], later} <= _alerted(stack)
    assert len(_kept(stack, texts["victim"])) == len(kept), "set aside twice"
    assert second.totals.quarantined == 0, "counted twice"
    assert channel_state(stack.factory, platform).health == ChannelHealth.OK
    return expected if expected != "set aside" or kept else "lost"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_malformed_answers_blind_nothing(
    stack: Stack, platform: str, caplog: pytest.LogCaptureFixture
) -> None:
    stack.poll(platform)  # the account's own post; the cursor is set
    caplog.set_level(logging.INFO)
    outcomes: dict[str, str] = {}
    for case in CASES:
        try:
            outcomes[case] = _case(stack, platform, case)
        except AssertionError as exc:
            raise AssertionError(f"{platform}, {case}: {exc}") from exc
    print(f"\nmalformed answers, {platform}: {outcomes}")
    for record in caplog.records:
        line = record.getMessage()
        assert record.levelno < logging.ERROR, f"{record.levelname}: {line}"
        assert record.exc_info is None, f"a traceback: {line}"
        assert "Traceback" not in line, f"a traceback: {line}"
        assert MARK not in line, f"comment text logged: {line}"
        assert "know where you live" not in line, f"comment text logged: {line}"
