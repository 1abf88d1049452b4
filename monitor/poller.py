"""One poll pass of one channel: lease, fetch pages, ingest each in its own transaction, health."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
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
from monitor import audit
from monitor.db import transaction
from monitor.ingest import PageResult, failure_kind, ingest_page, save_cursor
from monitor.leases import is_dead_local_holder
from monitor.models import Channel, ChannelHealth, ChannelState, utcnow
from monitor.outbox import backoff
from monitor.sqlutil import insert_ignoring_conflicts

log = logging.getLogger(__name__)

#: how long a poll lease lasts without a heartbeat, unless the `poll_lease` setting says
#: otherwise: a dead replica's channels wait this long at most before a live replica takes them
LEASE = timedelta(seconds=45)
#: heartbeats per lease: a running pass renews its lease this often, so one late beat is not
#: enough to lose it
BEATS_PER_LEASE = 3
#: how much earlier than `interval` the next regular poll falls due, so that the scheduler's
#: next firing, a few milliseconds early or late, never finds the channel not yet due
SCHEDULER_SLACK = timedelta(seconds=2)
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
    """Make sure every configured channel has its rows (never deletes: history stays).

    Replicas starting together register the same channels at once, so the rows are inserted
    skipping any another replica has just written (a plain INSERT failed on the unique name).
    """
    for cfg in channels:
        session.execute(insert_ignoring_conflicts(session, Channel, ["name"]).values(
            name=cfg.name, platform=cfg.platform, enabled=cfg.enabled))
    existing = {c.name: c for c in session.execute(select(Channel)).scalars()}
    for cfg in channels:
        channel = existing[cfg.name]
        channel.enabled = cfg.enabled
        channel.platform = cfg.platform
        session.execute(insert_ignoring_conflicts(session, ChannelState, ["channel_id"]).values(
            channel_id=channel.id, health=ChannelHealth.NEW))
    session.flush()
    return existing


def acquire_lease(session: Session, *, channel_id: int, owner: str, now: datetime,
                  lease: timedelta = LEASE) -> bool:
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
        .values(lease_owner=owner, lease_expires_at=now + lease)
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


#: the audit action of a channel's health changing (the annual review's outage history)
HEALTH_CHANGED = "channel.health"


def _audit_health(session: Session, channel_id: int, before: str, after: ChannelHealth,
                  now: datetime) -> None:
    # Only the change of state: channel health itself keeps the latest only, and the review
    # reads outages back from these events. Never the error's text, which may quote a post.
    if before != after:
        audit.record(session, actor="system", action=HEALTH_CHANGED, target_type="channel",
                     target_id=channel_id, details={"from": str(before), "to": after.value},
                     at=now)


def _health_change(channel: str, before: str, after: ChannelHealth, detail: str) -> None:
    # Log once when a source goes down and once when it recovers, not on every poll.
    if before == after:
        return
    if after is ChannelHealth.OK:
        if before != ChannelHealth.NEW:
            log.info("channel %s recovered (was %s)", channel, before)
    else:
        log.warning("channel %s is %s: %s", channel, after.value, detail)


def _failure_detail(exc: Exception) -> str:
    """What channel health shows of a failure.

    A connector's own errors are written by us and say what to do; anything else is named by
    its type only, since its message may quote a comment or an author.
    """
    if isinstance(exc, ConnectorError):
        return f"{type(exc).__name__}: {exc}"[:500]
    return f"internal error: {failure_kind(exc)}; the pass stopped and will be retried"


def _log_unexpected(name: str, exc: Exception) -> None:
    """Log an unexpected failure with its stack but without its message (see above)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("channel %s: poll failed: %s\n%s", name, _failure_detail(exc), frames)


def _record_failure(
    factory: sessionmaker[Session],
    *,
    channel_id: int,
    name: str,
    exc: Exception,
    now: datetime,
    owner: str,
) -> tuple[ChannelHealth, str]:
    with transaction(factory) as session:
        state = session.get_one(ChannelState, channel_id)
        before = state.health
        failures = (state.consecutive_failures or 0) + 1
        detail = _failure_detail(exc)
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
        _audit_health(session, channel_id, before, health, now)
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
    lease: timedelta = LEASE,
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
        if not acquire_lease(session, channel_id=channel_id, owner=owner, now=start,
                             lease=lease):
            result.skipped = "polled by another replica"
            return result
        cursor = _parse_cursor(state.cursor, name)

    try:
        with _heartbeat(factory, channel_id=channel_id, owner=owner, lease=lease):
            _run_pages(factory, channel_id=channel_id, name=name, connector=connector,
                       classifier=classifier, routing=routing, cursor=cursor, start=start,
                       stop=stop, result=result, lease=lease)
    except Exception as exc:
        # Whatever stopped the pass, expected or not, shows in channel health and frees the
        # lease: a channel never goes quiet while its health says "ok".
        if not isinstance(exc, ConnectorError):
            _log_unexpected(name, exc)
        result.health, result.error = _record_failure(
            factory, channel_id=channel_id, name=name, exc=exc, now=utcnow(), owner=owner
        )
        return result

    with transaction(factory) as session:
        state = session.get_one(ChannelState, channel_id)
        before = state.health
        state.health = ChannelHealth.OK
        state.last_success_at = utcnow()
        state.consecutive_failures = 0
        _audit_health(session, channel_id, before, ChannelHealth.OK, state.last_success_at)
        period = max(interval, connector.min_poll_interval)
        state.next_poll_at = start + period - min(period / 10, SCHEDULER_SLACK)
        release_lease(session, channel_id=channel_id, owner=owner)
    _health_change(name, before, ChannelHealth.OK, "")
    # One line per poll that found something; a quiet Page's polls (every few minutes, for
    # good) are logged at DEBUG, and channel health still shows the last successful poll.
    found = result.totals.new_items or result.totals.quarantined
    log.log(
        logging.INFO if found else logging.DEBUG,
        "polled %s: %d pages, %d new items, %d alerts%s",
        name,
        result.pages,
        result.totals.new_items,
        result.totals.alerts,
        f", {result.totals.quarantined} quarantined" if result.totals.quarantined else "",
    )
    return result


def _run_pages(
    factory: sessionmaker[Session],
    *,
    channel_id: int,
    name: str,
    connector: Connector,
    classifier: Classifier,
    routing: Routing,
    cursor: Cursor | None,
    start: datetime,
    stop: threading.Event | None,
    result: PollResult,
    lease: timedelta,
) -> None:
    """Fetch and ingest pages until the platform has no more (or `stop`), one commit each."""
    while result.pages < MAX_PAGES_PER_PASS:
        page = connector.fetch(cursor, now=start)
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
                unreadable=page.unreadable,
            )
            save_cursor(
                session,
                state=state,
                cursor_json=page.cursor.to_json(),
                now=utcnow(),
                new_items=page_result.new_items,
            )
            state.lease_expires_at = utcnow() + lease
        result.totals.add(page_result)
        log.debug(
            "channel %s: page %d committed (%d new)", name, result.pages, page_result.new_items
        )
        cursor = page.cursor
        if not page.more or (stop is not None and stop.is_set()):
            return


def renew_lease(session: Session, *, channel_id: int, owner: str, now: datetime,
                lease: timedelta = LEASE) -> bool:
    """Extend a lease this owner still holds; False when it has been lost."""
    result = session.execute(
        update(ChannelState)
        .where(ChannelState.channel_id == channel_id, ChannelState.lease_owner == owner)
        .values(lease_expires_at=now + lease)
    )
    return bool(getattr(result, "rowcount", 0))


@contextmanager
def _heartbeat(factory: sessionmaker[Session], *, channel_id: int, owner: str,
               lease: timedelta) -> Iterator[None]:
    """Renew the channel's lease `BEATS_PER_LEASE` times a lease while the block runs.

    A slow page (a large fetch, a platform retry) keeps its lease, and a replica that dies
    stops beating, so live replicas take its channels over once `lease` has passed.
    """
    done = threading.Event()
    every = (lease / BEATS_PER_LEASE).total_seconds()

    def beat() -> None:
        while not done.wait(every):
            try:
                with transaction(factory) as session:
                    if not renew_lease(session, channel_id=channel_id, owner=owner,
                                       now=utcnow(), lease=lease):
                        log.warning("channel %d: poll lease lost to another replica", channel_id)
                        return
            except Exception:
                log.warning("channel %d: lease heartbeat failed; will retry", channel_id)

    thread = threading.Thread(target=beat, name=f"lease-{channel_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _parse_cursor(text: str | None, name: str) -> Cursor | None:
    try:
        return Cursor.from_json(text)
    except (ValueError, TypeError):
        # A corrupt cursor must not wedge the channel: start over; the store drops repeats.
        log.warning("channel %s had an unreadable cursor; starting from the beginning", name)
        return None
