"""Hostile comments never blind a channel: NUL, lone surrogates, huge texts, unstorable items.

Each platform's real SDK reads them from its emulator; whatever a visitor posts, the comments
after it are stored and flagged, channel health tells the truth, and no log line at the
levels logged by default (INFO and above; the SDKs' own DEBUG lines quote whole responses)
quotes a comment.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from classifiers.base import Label, Verdict
from classifiers.policy import build_policy
from config.settings import Routing
from connectors.base import Item as FetchedItem
from connectors.base import ItemKind
from monitor.cli import app
from monitor.db import transaction
from monitor.ingest import ingest_page
from monitor.models import (
    Alert,
    Channel,
    ChannelHealth,
    Item,
    QuarantinedItem,
    QuarantineStage,
)
from monitor.storable import ORIGINAL_KEY
from tests.integration.conftest import ABUSIVE, PLATFORMS, Stack, channel_state, make_due

#: the poison: a NUL (PostgreSQL refuses it) and a lone surrogate (no driver can encode it)
NUL_TEXT = "hello\x00world poisonmarker-nul"
SURROGATE_TEXT = "broken \ud800 text poisonmarker-surrogate"
#: one megabyte of text, longer than the store keeps verbatim
HUGE_TEXT = "poisonmarker-huge " + "a" * 1_000_000


def _stored(stack: Stack, name: str) -> dict[str, Item]:
    with stack.factory() as session:
        rows = session.execute(
            select(Item).join(Channel, Channel.id == Item.channel_id).where(Channel.name == name)
        ).scalars()
        return {row.external_id: row for row in rows}


def _alerted(stack: Stack) -> set[str]:
    with stack.factory() as session:
        return set(
            session.execute(select(Item.external_id).join(Alert, Alert.item_id == Item.id))
            .scalars()
        )


@pytest.mark.parametrize("platform", PLATFORMS)
def test_poison_comments_do_not_blind_the_channel(
    stack: Stack, platform: str, caplog: pytest.LogCaptureFixture
) -> None:
    rig = stack.rigs[platform]
    caplog.set_level(logging.INFO)
    ids = [rig.publish(text) for text in (NUL_TEXT, SURROGATE_TEXT, HUGE_TEXT, ABUSIVE)]
    make_due(stack.factory, platform)

    result = stack.poll(platform)

    assert result.error is None
    assert result.health is ChannelHealth.OK
    stored = _stored(stack, platform)
    assert set(ids) <= set(stored), "an item after the poison was lost"
    assert ids[3] in _alerted(stack), "the abusive comment after the poison was not flagged"
    assert "hello\ufffdworld" in stored[ids[0]].text
    assert "broken \ufffd text" in stored[ids[1]].text
    state = channel_state(stack.factory, platform)
    assert state.health == ChannelHealth.OK
    assert state.lease_owner is None
    # The evidence keeps exactly what the platform sent, escaped so that both databases take it.
    originals = [row.raw.get(ORIGINAL_KEY) for row in (stored[ids[0]], stored[ids[1]])]
    for original, marker in zip(originals, ("\\u0000", "\\ud800"), strict=True):
        if original is not None:  # platforms whose payload carries the text
            assert marker in original
            json.loads(original)

    # The next poll goes on from there: nothing is stuck behind the poison.
    later = rig.publish(ABUSIVE + " again")
    make_due(stack.factory, platform)
    assert stack.poll(platform).health is ChannelHealth.OK
    assert later in _alerted(stack)
    for record in caplog.records:
        line = record.getMessage() + (record.exc_text or "")
        assert "poisonmarker" not in line
        assert "know where you live" not in line


def _page(*texts: str, naive_at: int | None = None) -> list[FetchedItem]:
    """A page of demo comments; item `naive_at` carries a date no store accepts."""
    items = []
    for i, text in enumerate(texts):
        created = datetime(2026, 12, 1, 12, i, tzinfo=UTC)
        if i == naive_at:
            created = created.replace(tzinfo=None)  # a connector bug: no time zone
        items.append(FetchedItem(platform="demo", external_id=f"poison-{i}",
                                 kind=ItemKind.COMMENT, text=text, created_at=created,
                                 author_name=f"author-{i}"))
    return items


class _ChokesOn:
    """A classifier plugin that fails on one text, as a buggy third-party one might."""

    version = "chokes-1"

    def __init__(self, poison: str) -> None:
        self.poison = poison
        self.inner = build_policy()

    def classify(self, texts: list[str]) -> list[Verdict]:
        if self.poison in texts:
            raise RuntimeError("cannot classify")
        return self.inner.classify(texts)


def _channel(stack: Stack) -> int:
    with transaction(stack.factory) as session:
        return session.execute(select(Channel.id).where(Channel.name == "facebook")).scalar_one()


def test_an_item_that_cannot_be_stored_is_quarantined_and_the_page_goes_on(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    stack.poll("facebook")  # creates the channel rows
    items = _page("Lovely sports day", "poisonmarker-unstorable", ABUSIVE, naive_at=1)
    with transaction(stack.factory) as session:
        channel = session.get_one(Channel, _channel(stack))
        page = ingest_page(session, channel=channel, items=items,
                           classifier=build_policy(), routing=Routing(),
                           now=datetime.now(UTC))
    assert page.new_items == 2
    assert page.quarantined == 1
    with stack.factory() as session:
        kept = session.execute(select(QuarantinedItem)).scalars().one()
        stored = set(session.execute(select(Item.external_id)).scalars())
    assert {"poison-0", "poison-2"} <= stored
    assert kept.external_id == "poison-1"
    assert kept.stage == QuarantineStage.STORE
    assert kept.reason.startswith("could not be stored")
    assert json.loads(kept.payload)["text"] == "poisonmarker-unstorable"
    assert "poison-2" in _alerted(stack)
    assert not any("poisonmarker" in r.getMessage() for r in caplog.records)
    # Channel health says so, in the CLI as in the web UI (both read the same query).
    listed = CliRunner().invoke(
        app, ["channels", "list", "--config", str(stack.config), "--json"], env=stack.env
    )
    assert listed.exit_code == 0, listed.output
    assert {row["name"]: row["quarantined"] for row in json.loads(listed.stdout)}["facebook"] == 1


def test_an_item_the_classifier_fails_on_is_stored_and_quarantined(stack: Stack) -> None:
    stack.poll("facebook")
    items = _page("Lovely sports day", "poisonmarker-unclassifiable", ABUSIVE)
    with transaction(stack.factory) as session:
        channel = session.get_one(Channel, _channel(stack))
        page = ingest_page(session, channel=channel, items=items,
                           classifier=_ChokesOn("poisonmarker-unclassifiable"),
                           routing=Routing(), now=datetime.now(UTC))
    assert page.new_items == 3
    assert page.quarantined == 1
    with stack.factory() as session:
        kept = session.execute(select(QuarantinedItem)).scalars().one()
        item_id = session.execute(
            select(Item.id).where(Item.external_id == "poison-1")).scalar_one()
    assert kept.stage == QuarantineStage.CLASSIFY
    assert kept.item_id == item_id
    assert "poison-2" in _alerted(stack)
    assert Label.ABUSE.value in _labels_of(stack, "poison-2")


def _labels_of(stack: Stack, external_id: str) -> list[str]:
    with stack.factory() as session:
        alert = session.execute(
            select(Alert).join(Item, Item.id == Alert.item_id)
            .where(Item.external_id == external_id)
        ).scalar_one()
        return list(alert.labels)
