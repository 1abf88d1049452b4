"""One poll pass of one channel: lease, fetch pages, ingest each in its own transaction, health."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from classifiers.base import Classifier
from config.settings import ChannelConfig, Routing
from connectors.base import (
    AuthError,
    Connector,
    ConnectorError,
    Cursor,
    RateLimited,
    TransientError,
)
from monitor.db import transaction
from monitor.ingest import PageResult, ingest_page, save_cursor
from monitor.leases import is_dead_local_holder
from monitor.models import Channel, ChannelHealth, ChannelState, utcnow
from monitor.outbox import backoff

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
MAX_PAGES_PER_PASS = 1000


@dataclass
class PollResult:
    """What one poll pass did."""

    channel: str
    pages: int = 0
    requests: int = 0
    totals: PageResult = field(default_factory=PageResult)
    skipped: str | None = None
    error: str | None = None
    health: ChannelHealth = ChannelHealth.OK


def sync_channels(session: Session, channels: list[ChannelConfig]) -> dict[str, Channel]:
    """Make sure every configured channel has its rows (never deletes: history stays)."""
    existing = {c.name: c for c in session.execute(select(Channel)).scalars()}
    for cfg in channels:
        channel = existing.get(cfg.name)
        if channel is None:
            channel = Channel(name=cfg.name, platform=cfg.platform, enabled=cfg.enabled)
            session.add(channel)
            session.flush()
            session.add(ChannelState(channel_id=channel.id, health=ChannelHealth.NEW))
            existing[cfg.name] = channel
        else:
            channel.enabled = cfg.enabled
            channel.platform = cfg.platform
    session.flush()
    return existing


def acquire_lease(session: Session, *, channel_id: int, owner: str, now: datetime) -> bool:
    """Take the channel's poll lease so one replica polls it at a time (atomic update)."""
    result = session.execute(
        update(ChannelState)
        .where(
            ChannelState.channel_id == channel_id,
            or_(
                ChannelState.lease_owner.is_(None),
                ChannelState.lease_owner == owner,
                ChannelState.lease_expires_at < now,
            ),
        )
        .values(lease_owner=owner, lease_expires_at=now + LEASE)
    )
    return bool(getattr(result, "rowcount", 0))


def reclaim_dead_leases(session: Session, *, owner: str) -> int:
    """Free leases held by processes of this host that are no longer running (after a crash).

    A replica on another host is left alone: its lease simply expires.
    """
    freed = 0
    for state in session.execute(
        select(ChannelState).where(ChannelState.lease_owner.is_not(None))
    ).scalars():
        if is_dead_local_holder(state.lease_owner or "", owner=owner):
            state.lease_owner = None
            state.lease_expires_at = None
            freed += 1
    return freed


def release_lease(session: Session, *, channel_id: int, owner: str) -> None:
    """Give the lease back."""
    session.execute(
        update(ChannelState)
        .where(ChannelState.channel_id == channel_id, ChannelState.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
    )


def _health_change(channel: str, before: str, after: ChannelHealth, detail: str) -> None:
    # Log once when a source goes down and once when it recovers, not on every poll.
    if before == after:
        return
    if after is ChannelHealth.OK:
        if before != ChannelHealth.NEW:
            log.info("channel %s recovered (was %s)", channel, before)
    else:
        log.warning("channel %s is %s: %s", channel, after.value, detail)


def _record_failure(
    factory: sessionmaker[Session],
    *,
    channel_id: int,
    name: str,
    exc: ConnectorError,
    now: datetime,
    owner: str,
) -> tuple[ChannelHealth, str]:
    with transaction(factory) as session:
        state = session.get_one(ChannelState, channel_id)
        before = state.health
        failures = (state.consecutive_failures or 0) + 1
        detail = f"{type(exc).__name__}: {exc}"[:500]
        if isinstance(exc, RateLimited):
            health = ChannelHealth.RATE_LIMITED
            wait = (
                timedelta(seconds=exc.retry_after)
                if exc.retry_after is not None
                else backoff(failures)
            )
            state.next_poll_at = now + wait
        elif isinstance(exc, AuthError):
            # Stop polling until someone re-authorises; the other channels carry on.
            health = ChannelHealth.NEEDS_REAUTH
            state.next_poll_at = None
        elif isinstance(exc, TransientError):
            health = ChannelHealth.DEGRADED
            wait = (
                timedelta(seconds=exc.retry_after)
                if exc.retry_after is not None
                else backoff(failures)
            )
            state.next_poll_at = now + wait
        else:
            health = ChannelHealth.ERROR
            state.next_poll_at = now + backoff(failures, cap=timedelta(hours=6))
        state.health = health
        state.last_error = detail
        state.last_error_at = now
        state.last_poll_at = now
        state.consecutive_failures = failures
        release_lease(session, channel_id=channel_id, owner=owner)
    _health_change(name, before, health, detail)
    return health, detail


def poll_channel(
    factory: sessionmaker[Session],
    *,
    name: str,
    connector: Connector,
    classifier: Classifier,
    routing: Routing,
    owner: str,
    interval: timedelta,
    stop: threading.Event | None = None,
    force: bool = False,
) -> PollResult:
    """Run one poll pass to its end (or until `stop`), committing page by page."""
    result = PollResult(channel=name)
    start = utcnow()
    with transaction(factory) as session:
        channel = session.execute(select(Channel).where(Channel.name == name)).scalar_one()
        state = session.get_one(ChannelState, channel.id)
        channel_id = channel.id
        if not channel.enabled:
            result.skipped = "disabled"
            return result
        if state.health == ChannelHealth.NEEDS_REAUTH and not force:
            result.skipped = "needs re-authorisation"
            result.health = ChannelHealth.NEEDS_REAUTH
            return result
        if state.next_poll_at is not None and state.next_poll_at > start and not force:
            result.skipped = f"waiting until {state.next_poll_at.isoformat()}"
            result.health = ChannelHealth(state.health)
            return result
        if not acquire_lease(session, channel_id=channel_id, owner=owner, now=start):
            result.skipped = "polled by another replica"
            return result
        cursor = _parse_cursor(state.cursor, name)

    while result.pages < MAX_PAGES_PER_PASS:
        try:
            page = connector.fetch(cursor, now=start)
        except ConnectorError as exc:
            result.health, result.error = _record_failure(
                factory, channel_id=channel_id, name=name, exc=exc, now=utcnow(), owner=owner
            )
            return result
        result.pages += 1
        result.requests += page.requests
        with transaction(factory) as session:
            channel = session.get_one(Channel, channel_id)
            state = session.get_one(ChannelState, channel_id)
            page_result = ingest_page(
                session,
                channel=channel,
                items=page.items,
                classifier=classifier,
                routing=routing,
                now=utcnow(),
            )
            save_cursor(
                session,
                state=state,
                cursor_json=page.cursor.to_json(),
                now=utcnow(),
                new_items=page_result.new_items,
            )
            # Keep the lease alive while a long pass runs.
            state.lease_expires_at = utcnow() + LEASE
        result.totals.add(page_result)
        log.debug(
            "channel %s: page %d committed (%d new)", name, result.pages, page_result.new_items
        )
        cursor = page.cursor
        if not page.more or (stop is not None and stop.is_set()):
            break

    with transaction(factory) as session:
        state = session.get_one(ChannelState, channel_id)
        before = state.health
        state.health = ChannelHealth.OK
        state.last_success_at = utcnow()
        state.consecutive_failures = 0
        state.next_poll_at = start + max(interval, connector.min_poll_interval)
        release_lease(session, channel_id=channel_id, owner=owner)
    _health_change(name, before, ChannelHealth.OK, "")
    log.info(
        "polled %s: %d pages, %d new items, %d alerts",
        name,
        result.pages,
        result.totals.new_items,
        result.totals.alerts,
    )
    return result


def _parse_cursor(text: str | None, name: str) -> Cursor | None:
    try:
        return Cursor.from_json(text)
    except (ValueError, TypeError):
        # A corrupt cursor must not wedge the channel: start over; the store drops repeats.
        log.warning("channel %s had an unreadable cursor; starting from the beginning", name)
        return None
