"""Replicas starting together register the same channels at once, and none of them fails."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from config.settings import Settings
from monitor.db import make_engine, session_factory, transaction, upgrade
from monitor.models import Channel, ChannelState
from monitor.poller import sync_channels
from tests.conftest import PG_URL


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set SOCMON_TEST_DATABASE_URL")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_replicas_register_the_same_channel_at_the_same_time(
        database_url: str, settings: Settings) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    factory = session_factory(engine)
    errors: list[BaseException] = []

    def second_replica() -> None:
        try:
            with transaction(factory) as session:
                sync_channels(session, settings.channels)
        except BaseException as exc:
            errors.append(exc)

    try:
        # The first replica has written the channel but not committed yet ...
        with factory() as first, first.begin():
            sync_channels(first, settings.channels)
            other = threading.Thread(target=second_replica)
            other.start()
            # ... when the second one writes it too, and waits on the first's row.
            deadline = time.monotonic() + 30
            with engine.connect() as probe:
                while not probe.execute(text(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted "
                        "AND pid <> pg_backend_pid()")).scalar_one():
                    assert time.monotonic() < deadline, "the second replica never waited"
                    assert other.is_alive(), errors
                    threading.Event().wait(0.02)
                    probe.rollback()
        other.join(30)
        assert not other.is_alive()
        assert not errors, repr(errors[0])  # it was UniqueViolation on channels.name
        with factory() as session:
            assert session.execute(select(func.count()).select_from(Channel)).scalar_one() == 1
            assert session.execute(
                select(func.count()).select_from(ChannelState)).scalar_one() == 1
    finally:
        engine.dispose()
