"""Exactly-once digest delivery: reserve a DigestRun, send through the outbox, retry with backoff.

State machine of a `DigestRun` (one row per week and recipient list, unique):

    pending --(attempt starts, committed)--> sending --(SMTP accepted)--> sent
                                                 |--(transient MailError)--> retrying --> sending
                                                 |--(permanent MailError)--> failed
                                                 '--(process killed)--> sending (lease expires,
                                                      the outbox entry is claimed again) -> sending

Every attempt runs from an outbox entry, whose lease keeps two workers (replicas, the CLI)
off the same attempt; a transient failure queues the next attempt as a new entry after a
backoff, so a long SMTP outage never exhausts the outbox's attempt limit.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from monitor import mail, outbox
from monitor.db import transaction
from monitor.digest.render import Options, build_message, render
from monitor.digest.stats import IsoWeek, compute
from monitor.models import DigestRun, OutboxEntry, OutboxStatus, utcnow
from monitor.sqlutil import insert_ignoring_conflicts

log = logging.getLogger(__name__)

DIGEST_KIND = "digest"
#: how long one attempt may hold its outbox entry; a killed sender's attempt resumes after it
LEASE = timedelta(minutes=5)
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(minutes=30)


class RunStatus(StrEnum):
    """Where one week's digest for one recipient list is."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"


class NoRecipientsError(ValueError):
    """digest.recipients is empty: there is nobody to send to."""


class DigestBusyError(RuntimeError):
    """Another process holds this digest's current attempt."""


def normalise_recipients(recipients: Sequence[str]) -> list[str]:
    """Addresses trimmed, de-duplicated case-insensitively and sorted; NoRecipientsError if none."""
    unique = {r.strip().lower(): r.strip() for r in recipients if r.strip()}
    if not unique:
        raise NoRecipientsError("digest.recipients is empty: add at least one e-mail address")
    return [unique[k] for k in sorted(unique)]


def recipients_key(recipients: Sequence[str]) -> str:
    """A stable 64-hex key of the recipient list (order and case do not matter)."""
    joined = "\n".join(r.lower() for r in normalise_recipients(recipients))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def message_id(week: IsoWeek, key: str, from_address: str) -> str:
    """The same Message-ID for every attempt, so clients can drop a rare duplicate."""
    domain = from_address.rpartition("@")[2] or "socmon.local"
    return f"<socmon-digest.{week}.{key[:16]}@{domain}>"


@dataclass(frozen=True, slots=True)
class Reservation:
    """The run for one week and recipient list, and whether this call created it."""

    run_id: int
    week: str
    status: RunStatus
    created: bool
    message_id: str


def _attempt_key(run_id: int, attempt: int) -> str:
    return f"digest:{run_id}:{attempt}"


def reserve(session: Session, *, week: IsoWeek, recipients: Sequence[str],
            from_address: str) -> Reservation:
    """Create the week's run and queue its first attempt, once; a second call changes nothing.

    The unique (week, recipients_key) makes a job that fires twice, or two replicas, insert
    one row; the outbox entry is queued in the same transaction.
    """
    addresses = normalise_recipients(recipients)
    key = recipients_key(addresses)
    mid = message_id(week, key, from_address)
    # RETURNING rather than rowcount: psycopg reports -1 for INSERT ... ON CONFLICT.
    inserted = session.execute(
        insert_ignoring_conflicts(session, DigestRun, ["week", "recipients_key"]).values(
            week=str(week), recipients_key=key, status=RunStatus.PENDING, attempts=0,
            message_id=mid, created_at=utcnow()).returning(DigestRun.id)
    ).scalar_one_or_none() is not None
    run = session.execute(select(DigestRun).where(
        DigestRun.week == str(week), DigestRun.recipients_key == key)).scalar_one()
    if inserted:
        outbox.enqueue(session, kind=DIGEST_KIND, dedupe_key=_attempt_key(run.id, 0),
                       payload={"run_id": run.id, "week": str(week), "recipients": addresses})
        log.info("digest %s reserved for %d recipient(s)", week, len(addresses))
    return Reservation(run.id, run.week, RunStatus(run.status), bool(inserted),
                       run.message_id or mid)


def _set(factory: sessionmaker[Session], run_id: int, **values: object) -> None:
    with transaction(factory) as session:
        session.execute(update(DigestRun).where(DigestRun.id == run_id).values(**values))


class DigestSender:
    """The outbox handler that builds and sends one attempt of a digest run."""

    def __init__(self, settings: Settings, *, retry_base: timedelta = RETRY_BASE,
                 retry_cap: timedelta = RETRY_CAP, options: Options | None = None) -> None:
        self.settings = settings
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.options = options or Options.from_settings(settings)

    def as_mapping(self) -> dict[str, outbox.Handler]:
        """Kind -> handler, for the daemon's outbox worker."""
        return {DIGEST_KIND: self.handle}

    def _start_attempt(self, factory: sessionmaker[Session], run_id: int) -> DigestRun | None:
        with transaction(factory) as session:
            run = session.get(DigestRun, run_id)
            if run is None:
                raise outbox.GiveUp(f"digest run {run_id} does not exist")
            if run.status == RunStatus.SENT:
                # A duplicate entry, or a crash after "sent" was committed: nothing to do.
                log.info("digest %s was already sent; skipping", run.week)
                return None
            if run.status == RunStatus.SENDING:
                log.warning("digest %s: the previous attempt was interrupted; sending again "
                            "with the same Message-ID", run.week)
            run.status = RunStatus.SENDING
            run.attempts += 1
            session.flush()
            session.expunge(run)
            return run

    def handle(self, factory: sessionmaker[Session], entry: OutboxEntry) -> None:
        """One attempt: mark sending, build, send, mark sent (or schedule the next attempt)."""
        run_id = int(entry.payload["run_id"])
        recipients = [str(r) for r in entry.payload["recipients"]]
        run = self._start_attempt(factory, run_id)
        if run is None:
            return
        try:
            message = self.build(factory, IsoWeek.parse(run.week), recipients,
                                 run.message_id or "")
        except Exception as exc:
            # Leave the run visible as failing; the outbox retries the entry with backoff.
            _set(factory, run_id, status=RunStatus.RETRYING,
                 last_error=f"could not build the digest: {type(exc).__name__}")
            raise
        try:
            mail.send(self.settings.smtp, message)
        except mail.MailError as exc:
            self._failed(factory, run, entry, exc)
            return
        _set(factory, run_id, status=RunStatus.SENT, sent_at=utcnow(), last_error=None)
        log.info("digest %s sent to %d recipient(s) (attempt %d)", run.week, len(recipients),
                 run.attempts)

    def build(self, factory: sessionmaker[Session], week: IsoWeek, recipients: Sequence[str],
              mid: str) -> EmailMessage:
        """Compute, render and assemble the message of `week`."""
        tz = ZoneInfo(self.settings.digest.timezone)
        with factory() as session:
            stats = compute(session, week, tz, with_names=self.options.show_account_names,
                            with_examples=self.options.quote_text)
        return build_message(self.settings.smtp, render(stats, self.options), to=recipients,
                             message_id=mid)

    def _failed(self, factory: sessionmaker[Session], run: DigestRun, entry: OutboxEntry,
                exc: mail.MailError) -> None:
        if not exc.transient:
            _set(factory, run.id, status=RunStatus.FAILED, last_error=str(exc)[:1000])
            log.error("digest %s failed and will not be retried: %s", run.week, exc)
            raise outbox.GiveUp(str(exc))
        delay = outbox.backoff(run.attempts, base=self.retry_base, cap=self.retry_cap)
        with transaction(factory) as session:
            session.execute(update(DigestRun).where(DigestRun.id == run.id).values(
                status=RunStatus.RETRYING, last_error=str(exc)[:1000]))
            # The next attempt is a new entry, so an outage longer than the outbox's attempt
            # limit still ends in a sent digest when the server returns.
            outbox.enqueue(session, kind=DIGEST_KIND, payload=dict(entry.payload),
                           dedupe_key=_attempt_key(run.id, run.attempts),
                           not_before=utcnow() + delay)
        log.warning("digest %s not sent (attempt %d): %s; retrying in %s", run.week,
                    run.attempts, exc, delay)


def failed_runs(session: Session) -> list[DigestRun]:
    """Digests that are failing or gave up, newest first, for the health page."""
    return list(session.execute(
        select(DigestRun).where(DigestRun.status.in_([RunStatus.RETRYING, RunStatus.FAILED]))
        .order_by(DigestRun.created_at.desc(), DigestRun.id.desc())
    ).scalars())


def _claim_attempt(factory: sessionmaker[Session], run_id: int, *, owner: str,
                   now: datetime) -> OutboxEntry:
    # The same lease the outbox worker takes, on this run's pending entry only, so the CLI
    # and a running daemon never perform the same attempt at once.
    with transaction(factory) as session:
        run = session.get_one(DigestRun, run_id)
        pending = session.execute(
            select(OutboxEntry).where(OutboxEntry.kind == DIGEST_KIND,
                                      OutboxEntry.dedupe_key.like(f"digest:{run_id}:%"),
                                      OutboxEntry.status == OutboxStatus.PENDING)
            .order_by(OutboxEntry.id.desc()).limit(1)
        ).scalar_one_or_none()
        if pending is None:  # the run had failed for good: a manual send queues a new attempt
            outbox.enqueue(session, kind=DIGEST_KIND,
                           payload=_payload_of_last(session, run_id),
                           dedupe_key=f"digest:{run_id}:manual{run.attempts}")
            pending = session.execute(
                select(OutboxEntry).where(
                    OutboxEntry.dedupe_key == f"digest:{run_id}:manual{run.attempts}")
            ).scalar_one()
        claimed = session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == pending.id, OutboxEntry.status == OutboxStatus.PENDING,
                   or_(OutboxEntry.locked_until.is_(None), OutboxEntry.locked_until < now))
            .values(locked_by=owner, locked_until=now + LEASE,
                    attempts=OutboxEntry.attempts + 1)
            .returning(OutboxEntry.id)
        ).scalar_one_or_none() is not None
        if not claimed:
            raise DigestBusyError(f"digest {run.week} is being sent by another process right now")
        session.refresh(pending)
        session.expunge(pending)
        return pending


def _payload_of_last(session: Session, run_id: int) -> dict[str, object]:
    entry = session.execute(
        select(OutboxEntry).where(OutboxEntry.dedupe_key.like(f"digest:{run_id}:%"))
        .order_by(OutboxEntry.id.desc()).limit(1)
    ).scalar_one()
    return dict(entry.payload)


def send_now(factory: sessionmaker[Session], sender: DigestSender, run_id: int, *,
             owner: str) -> DigestRun:
    """Perform the run's next attempt in this process (the CLI); the run as it ends."""
    entry = _claim_attempt(factory, run_id, owner=owner, now=utcnow())
    status, error = OutboxStatus.DONE, None
    try:
        sender.handle(factory, entry)
    except outbox.GiveUp as exc:
        status, error = OutboxStatus.DEAD, str(exc)
    except Exception as exc:
        # Release the entry for the daemon to retry, then let the caller report the error.
        _finish(factory, entry.id, OutboxStatus.PENDING, f"{type(exc).__name__}")
        raise
    _finish(factory, entry.id, status, error)
    with factory() as session:
        return session.get_one(DigestRun, run_id)


def _finish(factory: sessionmaker[Session], entry_id: int, status: OutboxStatus,
            error: str | None) -> None:
    with transaction(factory) as session:
        session.execute(update(OutboxEntry).where(OutboxEntry.id == entry_id).values(
            status=status, last_error=error, locked_by=None, locked_until=None,
            done_at=utcnow() if status is OutboxStatus.DONE else None))
