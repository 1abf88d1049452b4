"""Takedowns through the outbox: perform hide/delete on the platform, then verify it stuck.

A takedown is called on the platform once and recorded once, even when the worker dies
mid-way: the attempt is committed before the call, an entry picked up again after an
attempt that never finished first asks the platform (`check`) whether it already worked,
and the outcome is written in the transaction that finishes the entry.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connectors.base import (
    Action,
    AuthError,
    Connector,
    FatalError,
    ItemGone,
    ItemRef,
    TransientError,
    Visibility,
)
from monitor import audit, outbox, removals
from monitor.alerts import TAKEDOWN_KIND, VERIFY_KIND
from monitor.db import transaction
from monitor.models import (
    Alert,
    Channel,
    Item,
    OutboxEntry,
    OutboxStatus,
    TakedownStatus,
    utcnow,
)

log = logging.getLogger(__name__)

#: what `check` may report once each action has worked
ACCEPTABLE = {
    Action.HIDE: {Visibility.HIDDEN, Visibility.REMOVED, Visibility.GONE},
    Action.DELETE: {Visibility.REMOVED, Visibility.GONE},
}


def _target(session: Session, alert_id: int) -> tuple[Alert, Item, Channel]:
    alert = session.get_one(Alert, alert_id)
    item = session.get_one(Item, alert.item_id)
    channel = session.get_one(Channel, alert.channel_id)
    return alert, item, channel


def _fail(
    factory: sessionmaker[Session],
    entry: OutboxEntry,
    alert_id: int,
    *,
    action: str,
    reason: str,
    status: OutboxStatus = OutboxStatus.DEAD,
) -> None:
    """Record the failure and finish the entry with `status` in one transaction."""
    with transaction(factory) as session:
        if not outbox.finish(session, entry, status=status, error=reason[:1000]):
            raise outbox.Superseded(f"entry {entry.id} is no longer ours; not recording {reason}")
        alert = session.get_one(Alert, alert_id)
        alert.takedown_status = TakedownStatus.FAILED
        alert.takedown_error = reason[:1000]
        alert.updated_at = utcnow()
        audit.record(
            session,
            actor="system",
            action=f"takedown.{action}_failed",
            target_type="alert",
            target_id=alert_id,
            details={"reason": reason[:500], "outbox_entry": entry.id},
        )
    log.warning("takedown of alert %s failed: %s", alert_id, reason)


def _retry(exc: TransientError) -> outbox.Retry:
    delay = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else None
    return outbox.Retry(str(exc), delay)


class TakedownHandlers:
    """Outbox handlers bound to the running connectors."""

    def __init__(
        self, connectors: dict[str, Connector], *, verify_after: timedelta, max_attempts: int
    ) -> None:
        self.connectors = connectors
        self.verify_after = verify_after
        self.max_attempts = max_attempts

    def as_mapping(self) -> dict[str, outbox.Handler]:
        """Kind -> handler, for `outbox.run_once`."""
        return {TAKEDOWN_KIND: self.takedown, VERIFY_KIND: self.verify}

    def _connector(
        self, factory: sessionmaker[Session], entry: OutboxEntry, alert_id: int, action: str
    ) -> tuple[Connector, ItemRef]:
        with factory() as session:
            _alert, item, channel = _target(session, alert_id)
            ref = ItemRef(item.external_id, item.kind, item.parent_id, item.thread_id)  # type: ignore[arg-type]
            name = channel.name
        connector = self.connectors.get(name)
        if connector is None:
            _fail(factory, entry, alert_id, action=action,
                  reason=f"channel {name} is not configured any more")
            raise outbox.GiveUp(f"channel {name} is not configured")
        return connector, ref

    def _transient(
        self,
        factory: sessionmaker[Session],
        entry: OutboxEntry,
        alert_id: int,
        exc: TransientError,
        *,
        action: str,
    ) -> Exception:
        """Retry later; a takedown out of attempts is recorded as failed instead."""
        # A verification out of attempts is left for requeue_unverified, as before.
        if action != "verify" and entry.attempts >= self.max_attempts:
            _fail(factory, entry, alert_id, action=action,
                  reason=f"gave up after {entry.attempts} attempts: {exc}")
            return outbox.GiveUp(str(exc))
        return _retry(exc)

    def _see(
        self,
        factory: sessionmaker[Session],
        entry: OutboxEntry,
        alert_id: int,
        connector: Connector,
        ref: ItemRef,
        *,
        failure: str,
    ) -> Visibility:
        """What the platform shows of the item now (`check`), errors mapped for the outbox."""
        try:
            return connector.check(ref)
        except ItemGone:
            return Visibility.GONE
        except TransientError as exc:
            raise self._transient(factory, entry, alert_id, exc, action=failure) from None
        except (AuthError, FatalError) as exc:
            _fail(factory, entry, alert_id, action=failure,
                  reason=f"{type(exc).__name__}: {exc}")
            raise outbox.GiveUp(str(exc)) from None

    def takedown(self, factory: sessionmaker[Session], entry: OutboxEntry) -> None:
        """Hide or delete an alert's item on its platform: called once, recorded once."""
        alert_id = int(entry.payload["alert_id"])
        action = Action(entry.payload["action"])
        connector, ref = self._connector(factory, entry, alert_id, action.value)
        outcome = None
        if outbox.in_doubt(entry):
            outcome = self._found_done(factory, entry, alert_id, connector, ref, action)
        if outcome is None:
            outcome = self._perform(factory, entry, alert_id, connector, ref, action)
        # The outcome, its audit event and the verification are written in the transaction
        # that finishes the entry: a crash before it leaves none of them (the next claim
        # checks the platform), and a claim that lost the entry to another worker writes none.
        with transaction(factory) as session:
            if not outbox.finish(session, entry):
                raise outbox.Superseded(f"entry {entry.id} was taken over; {outcome} not recorded")
            alert = session.get_one(Alert, alert_id)
            alert.takedown_status = TakedownStatus.DONE
            alert.updated_at = utcnow()
            audit.record(
                session,
                actor=str(entry.payload.get("actor", "system")),
                action=f"takedown.{action.value}",
                target_type="alert",
                target_id=alert_id,
                details={"outcome": outcome, "external_id": ref.external_id,
                         "outbox_entry": entry.id},
            )
            outbox.enqueue(
                session,
                kind=VERIFY_KIND,
                payload={"alert_id": alert_id, "action": action.value},
                dedupe_key=f"verify:{entry.id}",
                not_before=utcnow() + self.verify_after,
            )

    def _found_done(
        self,
        factory: sessionmaker[Session],
        entry: OutboxEntry,
        alert_id: int,
        connector: Connector,
        ref: ItemRef,
        action: Action,
    ) -> str | None:
        """After an attempt that never recorded its end, did it work? None: act (again)."""
        capability = next((c for c in connector.capabilities() if c.action is action), None)
        if capability is not None and not capability.verifiable:
            # The platform cannot tell (X hidden replies); hiding twice is harmless there.
            return None
        seen = self._see(factory, entry, alert_id, connector, ref, failure=action.value)
        if seen not in ACCEPTABLE[action]:
            return None
        log.info("takedown of alert %s: an interrupted attempt had worked (%s)", alert_id,
                 seen.value)
        return f"found_{seen.value}"

    def _perform(
        self,
        factory: sessionmaker[Session],
        entry: OutboxEntry,
        alert_id: int,
        connector: Connector,
        ref: ItemRef,
        action: Action,
    ) -> str:
        """Call the platform, after committing that this claim is about to."""
        outbox.begin_attempt(factory, entry)
        try:
            getattr(connector, action.value)(ref)
        except ItemGone:
            return "already_gone"
        except TransientError as exc:
            raise self._transient(factory, entry, alert_id, exc, action=action.value) from None
        except (AuthError, FatalError) as exc:
            _fail(factory, entry, alert_id, action=action.value,
                  reason=f"{type(exc).__name__}: {exc}")
            raise outbox.GiveUp(str(exc)) from None
        return "done"

    def verify(self, factory: sessionmaker[Session], entry: OutboxEntry) -> None:
        """Re-check the platform: is the item really hidden or gone?"""
        alert_id = int(entry.payload["alert_id"])
        action = Action(entry.payload["action"])
        connector, ref = self._connector(factory, entry, alert_id, "verify")
        capability = next((c for c in connector.capabilities() if c.action is action), None)
        if capability is not None and not capability.verifiable:
            # The platform cannot tell us (X hidden replies): its success answer is the proof,
            # and the audit says so rather than claiming a re-check that never happened.
            self._mark_verified(
                factory, entry, alert_id, action, method="platform acknowledgement", seen=None
            )
            return
        seen = self._see(factory, entry, alert_id, connector, ref, failure="verify")
        if seen not in ACCEPTABLE[action]:
            # The verification itself is finished: it found the takedown undone.
            _fail(factory, entry, alert_id, action="verify", status=OutboxStatus.DONE,
                  reason=f"re-check found the item still {seen.value} after {action.value}")
            return
        self._mark_verified(factory, entry, alert_id, action, method="re-check", seen=seen)

    @staticmethod
    def _mark_verified(
        factory: sessionmaker[Session],
        entry: OutboxEntry,
        alert_id: int,
        action: Action,
        *,
        method: str,
        seen: Visibility | None,
    ) -> None:
        with transaction(factory) as session:
            if not outbox.finish(session, entry):
                raise outbox.Superseded(f"entry {entry.id} was taken over; not recording it")
            alert = session.get_one(Alert, alert_id)
            now = utcnow()
            alert.takedown_status = TakedownStatus.VERIFIED
            alert.verified_at = now
            alert.updated_at = now
            audit.record(
                session,
                actor="system",
                action="takedown.verified",
                target_type="alert",
                target_id=alert_id,
                details={
                    "visibility": seen.value if seen else None,
                    "action": action.value,
                    "method": method,
                    "outbox_entry": entry.id,
                },
                at=now,
            )
            # A removal request this takedown performs is met now, in the same transaction.
            removals.takedown_verified(session, alert_id=alert_id, now=now)
        log.info("takedown of alert %s verified (%s)", alert_id, method)


def requeue_unverified(session: Session, *, older_than: timedelta) -> int:
    """Queue a verification for takedowns done but never verified (a lost entry, a restart)."""
    cutoff = utcnow() - older_than
    rows = session.execute(
        select(Alert.id, Alert.takedown_action).where(
            Alert.takedown_status == TakedownStatus.DONE, Alert.updated_at < cutoff
        )
    ).all()
    queued = 0
    for alert_id, action in rows:
        queued += outbox.enqueue(
            session,
            kind=VERIFY_KIND,
            payload={"alert_id": alert_id, "action": action},
            dedupe_key=f"reverify:{alert_id}:{cutoff.date()}",
        )
    return queued
