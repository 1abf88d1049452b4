"""Ingest end to end on the demo channel: store once, classify, alert once, cursor saved."""

from __future__ import annotations

from sqlalchemy import func, select, update

from config.settings import Settings
from monitor.models import Alert, AuditEvent, ChannelState, Evidence, Item, Verdict
from monitor.poller import poll_channel
from monitor.runtime import build_runtime


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def _poll(runtime, *, force: bool = True):  # type: ignore[no-untyped-def]
    channel = runtime.settings.channels[0]
    return poll_channel(
        runtime.factory,
        name=channel.name,
        connector=runtime.connectors[channel.name],
        classifier=runtime.classifier,
        routing=runtime.settings.routing,
        owner="test",
        interval=channel.interval,
        force=force,
    )


def test_one_pass_stores_classifies_and_alerts(settings: Settings) -> None:
    runtime = build_runtime(settings, env={})
    result = _poll(runtime)
    assert result.pages == 3  # 60 items in pages of 25
    assert result.totals.new_items == 60
    with runtime.factory() as session:
        assert _count(session, Item) == 60
        assert _count(session, Verdict) == 60
        alerts = _count(session, Alert)
        assert alerts == result.totals.alerts > 0
        # Every alert has its evidence snapshot and its audit event.
        assert _count(session, Evidence) == alerts
        opened = session.execute(
            select(func.count()).where(AuditEvent.action == "alert.open")
        ).scalar_one()
        assert opened == alerts
        state = session.execute(select(ChannelState)).scalar_one()
        assert state.cursor
        assert '"pos": 60' in state.cursor
        assert state.health == "ok"
    runtime.close()


def test_rereading_pages_stores_nothing_twice(settings: Settings) -> None:
    runtime = build_runtime(settings, env={})
    first = _poll(runtime)
    with runtime.factory.begin() as session:  # forget the cursor: the same pages come again
        session.execute(update(ChannelState).values(cursor=None))
    again = _poll(runtime)
    assert again.totals.fetched >= 60
    assert again.totals.new_items == 0
    assert again.totals.alerts == 0
    with runtime.factory() as session:
        assert _count(session, Item) == first.totals.new_items
        assert _count(session, Alert) == first.totals.alerts
    runtime.close()


def test_next_pass_brings_only_new_items(settings: Settings) -> None:
    runtime = build_runtime(settings, env={})
    _poll(runtime)
    second = _poll(runtime)
    assert second.totals.new_items == 5  # the demo publishes `batch` items per pass
    runtime.close()


def test_waits_for_next_poll_time_unless_forced(settings: Settings) -> None:
    runtime = build_runtime(settings, env={})
    _poll(runtime)
    skipped = _poll(runtime, force=False)
    assert skipped.skipped is not None
    assert skipped.skipped.startswith("waiting until")
    runtime.close()
