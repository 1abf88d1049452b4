"""Channel health through the daemon's poll job: rate limits, expired tokens, idle cost."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from connectors.base import Action
from monitor import alerts
from monitor.cli import app
from monitor.db import transaction
from monitor.models import Alert, ChannelHealth, Item, TakedownStatus
from tests.emulators.server import Fault
from tests.integration.conftest import (
    ABUSIVE,
    BENIGN,
    PLATFORMS,
    FacebookRig,
    InstagramRig,
    Stack,
    channel_state,
    make_due,
    stored_ids,
)

#: how long the scripted rate limits last (long enough that the test never reaches them)
LIMIT_SECONDS = 600
#: prawcore keeps its own clock: after `x-ratelimit-remaining: 0` it sleeps until the reset
#: before the channel's next request, whatever the database says. A database-simulated reset
#: cannot move that clock, so Reddit's window is short and real (the SDK waits it out).
REDDIT_LIMIT_SECONDS = 1  # under the 1 s that the connector lets prawcore sleep itself
#: a Reddit window long enough to tell a blocked worker from a busy one
STALL_SECONDS = 12

runner = CliRunner()


def _poll_all_due(stack: Stack) -> dict[str, ChannelHealth]:
    """Make every channel due and run each one's poll job; each channel's resulting health."""
    for name in stack.rigs:
        make_due(stack.factory, name)
    return {name: stack.poll(name).health for name in stack.rigs}


@pytest.mark.parametrize("limited", PLATFORMS)
def test_rate_limit_postpones_only_that_channel_and_loses_nothing(
    stack: Stack, limited: str
) -> None:
    rigs = stack.rigs
    first = {name: rig.publish(BENIGN[0]) for name, rig in rigs.items()}
    assert _poll_all_due(stack) == dict.fromkeys(rigs, ChannelHealth.OK)

    during = {name: rig.publish(BENIGN[1]) for name, rig in rigs.items()}
    rig = rigs[limited]
    response, reset = rig.rate_limit(
        REDDIT_LIMIT_SECONDS if limited == "reddit" else LIMIT_SECONDS
    )
    rig.emulator.inject(Fault(rig.listing, response))
    health = _poll_all_due(stack)

    assert health[limited] is ChannelHealth.RATE_LIMITED
    state = channel_state(stack.factory, limited)
    assert state.health == ChannelHealth.RATE_LIMITED
    assert state.next_poll_at is not None
    assert state.next_poll_at >= reset
    for other in rigs.keys() - {limited}:
        assert health[other] is ChannelHealth.OK, other
        assert {first[other], during[other]} <= stored_ids(stack.factory, other), other
    assert during[limited] not in stored_ids(stack.factory, limited)

    # The scheduler fires the limited channel's job early: it must not touch the platform.
    rig.emulator.reset_count()
    early = stack.poll(limited)
    assert early.skipped is not None
    assert early.skipped.startswith("waiting until")
    assert rig.emulator.count() == 0

    later = rig.publish("Photos from the trip please")
    make_due(stack.factory, limited)  # the reset has passed
    resumed = stack.poll(limited)
    assert resumed.health is ChannelHealth.OK
    assert {first[limited], during[limited], later} <= stored_ids(stack.factory, limited)
    assert channel_state(stack.factory, limited).health == ChannelHealth.OK


@pytest.mark.parametrize("expired", PLATFORMS)
def test_expired_token_stops_only_that_channel_and_shows_in_channels_list(
    stack: Stack, expired: str
) -> None:
    rigs = stack.rigs
    for rig in rigs.values():
        rig.publish(BENIGN[0])
    assert _poll_all_due(stack) == dict.fromkeys(rigs, ChannelHealth.OK)

    rig = rigs[expired]
    rig.expire()
    health = _poll_all_due(stack)
    assert health[expired] is ChannelHealth.NEEDS_REAUTH
    state = channel_state(stack.factory, expired)
    assert state.health == ChannelHealth.NEEDS_REAUTH
    assert state.last_error

    rig.emulator.reset_count()
    for round_ in range(2):
        news = {name: r.publish(f"{BENIGN[1]} {round_}") for name, r in rigs.items()}
        health = _poll_all_due(stack)
        assert health[expired] is ChannelHealth.NEEDS_REAUTH
        for other in rigs.keys() - {expired}:
            assert health[other] is ChannelHealth.OK, other
            assert news[other] in stored_ids(stack.factory, other), other
    assert rig.emulator.count() == 0, "a channel needing re-authorisation was polled"

    listed = runner.invoke(app, ["channels", "list", "--config", str(stack.config), "--json"],
                           env=stack.env)
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows[expired]["health"] == "needs_reauth"
    assert rows[expired]["last_error"]
    assert {rows[n]["health"] for n in rigs.keys() - {expired}} == {"ok"}

    table = runner.invoke(app, ["channels", "list", "--config", str(stack.config)],
                          env={**stack.env, "COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    shown = {line.split("│")[1].strip(): line for line in table.stdout.splitlines()
             if line.count("│") > 2}
    assert "needs re-authorisation" in shown[expired]
    assert all("needs re-authorisation" not in shown[n] for n in rigs.keys() - {expired})


def test_idle_poll_costs_one_request_on_x_and_reddit_and_few_on_graph(stack: Stack) -> None:
    rigs = stack.rigs
    facebook, instagram = rigs["facebook"], rigs["instagram"]
    assert isinstance(facebook, FacebookRig)
    assert isinstance(instagram, InstagramRig)
    # More than one post and media inside the comment window, each with comments.
    for n in range(2):
        post = facebook.graph.add_post(f"Class {n} assembly photos")
        facebook.graph.add_comment(post, "Lovely")
        media = instagram.graph.add_media(f"Art week {n}")
        instagram.graph.add_ig_comment(media, "Beautiful work")
    for rig in rigs.values():
        rig.publish(BENIGN[0])
    assert _poll_all_due(stack) == dict.fromkeys(rigs, ChannelHealth.OK)
    in_window = {"facebook": 3, "instagram": 3}  # every post and media is a few seconds old

    for name, rig in rigs.items():
        make_due(stack.factory, name)
        rig.emulator.reset_count()
        result = stack.poll(name)
        assert result.health is ChannelHealth.OK
        assert result.totals.new_items == 0, name
        assert result.requests == rig.emulator.count(), name
        if name in in_window:
            assert 1 <= result.requests <= 1 + in_window[name], name
        else:
            assert result.requests == 1, name


def test_reddit_takedown_during_a_rate_limit_does_not_stall_the_outbox_worker(
    stack: Stack,
) -> None:
    """A takedown on a rate-limited Reddit channel must not put the worker thread to sleep.

    The outbox worker performs every platform's takedowns and the notifications one entry
    after another; prawcore, told `x-ratelimit-remaining: 0`, sleeps until the reset before
    its next request. The takedown should come back as "retry later", not block the worker.
    """
    reddit = stack.rigs["reddit"]
    abusive = reddit.publish(ABUSIVE)
    assert stack.poll("reddit").health is ChannelHealth.OK
    with transaction(stack.factory) as session:
        alert_id = session.execute(
            select(Alert.id).join(Item, Item.id == Alert.item_id)
            .where(Item.external_id == abusive)
        ).scalar_one()
    response, _ = reddit.rate_limit(STALL_SECONDS)
    reddit.emulator.inject(Fault(reddit.listing, response))
    make_due(stack.factory, "reddit")
    assert stack.poll("reddit").health is ChannelHealth.RATE_LIMITED

    with transaction(stack.factory) as session:
        alerts.request_takedown(session, alert_id=alert_id, actor="e2e", action=Action.DELETE)
    worker = threading.Thread(target=stack.daemon.work_outbox, daemon=True)
    worker.start()
    try:
        worker.join(timeout=STALL_SECONDS / 3)
        assert not worker.is_alive(), (
            f"the outbox worker is still blocked after {STALL_SECONDS / 3:.0f} s: prawcore "
            "sleeps until x-ratelimit-reset inside the takedown"
        )
    finally:
        worker.join(timeout=STALL_SECONDS * 3)  # never leave it running past the test
    with stack.factory() as session:
        status = session.get_one(Alert, alert_id).takedown_status
    assert status != TakedownStatus.FAILED  # retried after the reset, not given up
