"""The outbox: side effects queued inside a transaction and performed after it commits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.db import transaction
from monitor.leases import is_dead_local_holder
from monitor.models import OutboxEntry, OutboxStatus, utcnow
from monitor.sqlutil import insert_ignoring_conflicts

log = logging.getLogger(__name__)


class Retry(Exception):
    """A handler could not finish now; try again after `delay` (or the default backoff)."""

    def __init__(self, message: str, delay: timedelta | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class GiveUp(Exception):
    """A handler can never finish this entry; mark it dead (the handler already recorded why)."""


class Superseded(Exception):
    """This worker no longer holds the entry (its lease ran out and another worker claimed it,
    or it is finished): leave it and its outcome to whoever holds it now."""


#: the payload key a handler commits before calling out, so a later claim knows a call may
#: have happened whose outcome was never recorded (the worker died or lost its lease)
ATTEMPTING = "attempting"


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: Mapping[str, Any],
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue a side effect in the caller's transaction; False when the dedupe key exists."""
    stmt = insert_ignoring_conflicts(session, OutboxEntry, ["dedupe_key"]).values(
        kind=kind,
        payload=dict(payload),
        dedupe_key=dedupe_key,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=not_before or utcnow(),
        created_at=utcnow(),
    )
    # RETURNING, not rowcount: PostgreSQL reports -1 rows for ON CONFLICT DO NOTHING.
    return session.execute(stmt.returning(OutboxEntry.id)).first() is not None


def reclaim_dead_locks(session: Session, *, owner: str) -> int:
    """Unlock entries claimed by a crashed worker on this host, so they run again now."""
    result = 0
    for entry in session.execute(
        select(OutboxEntry).where(
            OutboxEntry.status == OutboxStatus.PENDING,
            OutboxEntry.locked_by.is_not(None),
            OutboxEntry.locked_by != owner,
        )
    ).scalars():
        if is_dead_local_holder(entry.locked_by or "", owner=owner):
            entry.locked_by = None
            entry.locked_until = None
            result += 1
    return result


def backoff(
    attempts: int, *, base: timedelta = timedelta(seconds=15), cap: timedelta = timedelta(hours=1)
) -> timedelta:
    """Exponential delay before attempt `attempts + 1`, capped."""
    delay: timedelta = base * (2 ** max(0, attempts - 1))
    return min(cap, delay)


def _held(entry: OutboxEntry) -> ColumnElement[bool]:
    # A claim is named by its owner and the attempt it counted: once another worker has
    # re-claimed the entry (attempts went up) or it is finished, the old claim matches nothing.
    return and_(
        OutboxEntry.id == entry.id,
        OutboxEntry.status == OutboxStatus.PENDING,
        OutboxEntry.locked_by == entry.locked_by,
        OutboxEntry.attempts == entry.attempts,
    )


def begin_attempt(factory: sessionmaker[Session], entry: OutboxEntry) -> None:
    """Commit that this claim is about to perform `entry` (call it before calling out).

    Raises Superseded when this worker no longer holds the entry.
    """
    marker = {"attempt": entry.attempts, "by": entry.locked_by, "at": utcnow().isoformat()}
    payload = {**entry.payload, ATTEMPTING: marker}
    with transaction(factory) as session:
        held = session.execute(
            update(OutboxEntry).where(_held(entry)).values(payload=payload)
            .returning(OutboxEntry.id)
        ).first()
        if held is None:
            raise Superseded(f"outbox entry {entry.id} is no longer held by {entry.locked_by}")


def in_doubt(entry: OutboxEntry) -> bool:
    """True when an earlier claim began performing `entry` and never recorded how it ended."""
    return ATTEMPTING in entry.payload


def finish(
    session: Session,
    entry: OutboxEntry,
    *,
    status: OutboxStatus = OutboxStatus.DONE,
    error: str | None = None,
) -> bool:
    """Mark `entry` finished in the caller's transaction, if this claim still holds it.

    A handler records its outcome (audit event, next entries) in the same transaction, so the
    outcome is written once: a crash before the commit leaves neither, and a worker whose
    claim was taken over gets False and must write nothing.
    """
    finished = session.execute(
        update(OutboxEntry)
        .where(_held(entry))
        .values(status=status, last_error=error, locked_by=None, locked_until=None,
                done_at=utcnow() if status is OutboxStatus.DONE else None)
        .returning(OutboxEntry.id)
    ).first()
    return finished is not None


Handler = Callable[[sessionmaker[Session], OutboxEntry], None]


@dataclass
class RunStats:
    """What one pass of the worker did."""

    done: int = 0
    retried: int = 0
    dead: int = 0
    superseded: int = 0


def _claim(
    factory: sessionmaker[Session], *, owner: str, now: datetime, limit: int, lease: timedelta
) -> list[OutboxEntry]:
    # A lease instead of holding a transaction open while talking to a platform: a crashed
    # worker's entries become claimable again when the lease runs out.
    with transaction(factory) as session:
        ids = (
            session.execute(
                select(OutboxEntry.id)
                .where(
                    OutboxEntry.status == OutboxStatus.PENDING,
                    OutboxEntry.next_attempt_at <= now,
                    or_(OutboxEntry.locked_until.is_(None), OutboxEntry.locked_until < now),
                )
                .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        if not ids:
            return []
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id.in_(ids))
            .values(locked_by=owner, locked_until=now + lease, attempts=OutboxEntry.attempts + 1)
        )
        return list(
            session.execute(
                select(OutboxEntry).where(OutboxEntry.id.in_(ids)).order_by(OutboxEntry.id)
            ).scalars()
        )


def run_once(
    factory: sessionmaker[Session],
    handlers: Mapping[str, Handler],
    *,
    owner: str,
    max_attempts: int,
    limit: int = 50,
    lease: timedelta = timedelta(minutes=5),
) -> RunStats:
    """Perform due entries once; failures are rescheduled with backoff, then marked dead."""
    stats = RunStats()
    now = utcnow()
    for entry in _claim(factory, owner=owner, now=now, limit=limit, lease=lease):
        handler = handlers.get(entry.kind)
        status, error, delay = OutboxStatus.DONE, None, None
        if handler is None:
            status, error = OutboxStatus.DEAD, f"no handler for outbox kind {entry.kind!r}"
        else:
            try:
                handler(factory, entry)
            except Retry as exc:
                error = str(exc)
                delay = exc.delay if exc.delay is not None else backoff(entry.attempts)
                status = (
                    OutboxStatus.PENDING if entry.attempts < max_attempts else OutboxStatus.DEAD
                )
            except GiveUp as exc:
                status, error = OutboxStatus.DEAD, str(exc)
            except Superseded as exc:
                log.info("outbox entry %s (%s) left to its new holder: %s", entry.id, entry.kind,
                         exc)
                stats.superseded += 1
                continue
            except Exception as exc:
                # A bug or an unmapped SDK error: keep the entry, retry later, say what broke.
                log.exception("outbox entry %s (%s) failed unexpectedly", entry.id, entry.kind)
                error, delay = f"{type(exc).__name__}: unexpected failure", backoff(entry.attempts)
                status = (
                    OutboxStatus.PENDING if entry.attempts < max_attempts else OutboxStatus.DEAD
                )
        # Only while this claim still holds the entry: a handler may have finished it itself
        # (with its outcome), and a claim taken over by another worker must not undo theirs.
        with transaction(factory) as session:
            values: dict[str, Any] = {
                "status": status,
                "last_error": error,
                "locked_by": None,
                "locked_until": None,
            }
            if status is OutboxStatus.DONE:
                values["done_at"] = utcnow()
            elif status is OutboxStatus.PENDING and delay is not None:
                values["next_attempt_at"] = utcnow() + delay
            session.execute(update(OutboxEntry).where(_held(entry)).values(**values))
        if status is OutboxStatus.DONE:
            stats.done += 1
        elif status is OutboxStatus.DEAD:
            stats.dead += 1
        else:
            stats.retried += 1
    return stats
