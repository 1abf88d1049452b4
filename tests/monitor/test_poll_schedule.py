"""Poll scheduling and leases: N intervals give N polls; a long pass keeps its lease alive."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from classifiers.policy import build_rules
from config.settings import ChannelConfig, Settings
from connectors.base import Cursor, Page
from connectors.demo import DemoConnector, DemoOptions
from monitor import poller
from monitor.daemon import Daemon
from monitor.models import ChannelState, utcnow
from monitor.poller import PollResult
from monitor.runtime import build_runtime

#: how long the real scheduler runs, in whole intervals of one second
INTERVALS = 6


class _CountingDaemon(Daemon):
    """The real daemon, remembering what each scheduled poll job did."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.results: list[PollResult] = []

    def poll(self, name: str) -> PollResult | None:
        result = super().poll(name)
        if result is not None:
            self.results.append(result)
        return result


def test_every_interval_polls_once(settings: Settings) -> None:
    channel = ChannelConfig(name="demo", platform="demo", interval=timedelta(seconds=1),
                            options={"initial": 3, "batch": 1, "page_size": 25})
    runtime = build_runtime(settings.model_copy(update={"channels": [channel]}), env={})
    daemon = _CountingDaemon(runtime)
    try:
        daemon.start()
        started = time.monotonic()
        # Time itself is what is measured here: let the scheduler fire for INTERVALS seconds.
        threading.Event().wait(INTERVALS + 0.5)
        elapsed = time.monotonic() - started
    finally:
        daemon.shutdown()
        runtime.close()
    polled = [r for r in daemon.results if r.skipped is None]
    skipped = [r.skipped for r in daemon.results if r.skipped is not None]
    # A first poll at start, then one each second: a poll that skips every other firing
    # (the defect) gives about half of that.
    assert abs(len(polled) - (int(elapsed) + 1)) <= 1, (len(polled), elapsed, skipped)


class _SlowDemo(DemoConnector):
    """The demo Page, whose first fetch waits until the test lets it go (a slow platform)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.started = threading.Event()
        self.release = threading.Event()

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Page:
        self.started.set()
        assert self.release.wait(30), "the test never released the fetch"
        return super().fetch(cursor, now=now)


def _lease(factory: sessionmaker[Session]) -> tuple[str | None, datetime | None]:
    with factory() as session:
        state = session.execute(select(ChannelState)).scalar_one()
        return state.lease_owner, state.lease_expires_at


def test_a_long_pass_keeps_its_lease_alive(settings: Settings) -> None:
    # A 150 ms lease, so a beat every 50 ms instead of every 15 s: the behaviour, not the
    # figure, is under test.
    lease = timedelta(milliseconds=150)
    assert settings.poll_lease == poller.LEASE  # the default the setting documents
    runtime = build_runtime(settings, env={})
    connector = _SlowDemo(channel="demo", options=DemoOptions(initial=3, batch=0),
                          secrets={})
    outcome: list[PollResult] = []
    worker = threading.Thread(target=lambda: outcome.append(poller.poll_channel(
        runtime.factory, name="demo", connector=connector, classifier=build_rules(),
        routing=runtime.settings.routing, owner="replica-a", interval=timedelta(seconds=60),
        lease=lease)))
    try:
        worker.start()
        assert connector.started.wait(30)
        owner, first = _lease(runtime.factory)
        assert owner == "replica-a"
        assert first is not None
        assert first - utcnow() <= lease  # a dead replica's lease expires within it
        deadline = time.monotonic() + 10
        while (_lease(runtime.factory)[1] or first) <= first:
            assert time.monotonic() < deadline, "the lease was never renewed during the pass"
            threading.Event().wait(0.02)
        connector.release.set()
        worker.join(30)
        assert outcome
        assert outcome[0].error is None
        assert _lease(runtime.factory) == (None, None)  # given back when the pass ends
    finally:
        connector.release.set()
        runtime.close()
