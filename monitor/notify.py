"""Notifications: critical, overdue and escalated alerts by e-mail and chat, coalesced.

The outbox handler for kind "notify". Entries are grouped by (reason, queue, label, roles):
every pending entry of a group is folded into the one being handled, so a spam wave that
queued fifty entries sends one message ("50 new critical alerts in moderation"). After a
message, the group is quiet for `notifications.dedupe_window`; entries arriving meanwhile
are held in one carrier entry due when the window ends. The last send time per group lives
in the `settings_kv` table and delivery progress in the entry's payload, so a restart never
sends twice. Messages never carry the comment text or its author: e-mail is not a safe
place for children's data; the link leads to the web UI, which checks the reader's role.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any, Literal

import apprise
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from monitor import audit, mail, outbox
from monitor.alerts import policy
from monitor.db import transaction
from monitor.ingest import NOTIFY_KIND
from monitor.models import Alert, OutboxEntry, OutboxStatus, RemovalRequest, Setting, User, utcnow
from monitor.people.roles import Role
from monitor.removals import policy as removal_policy

log = logging.getLogger(__name__)

#: links listed in one message; the rest are counted
MAX_LINKS = 20
RATE_KEY_PREFIX = "notify:last:"


class NotifyPayload(BaseModel):
    """An outbox "notify" entry's payload (from ingest, deadlines, escalations, or a coalesced
    carrier)."""

    model_config = ConfigDict(extra="ignore")

    alert_id: int | None = None
    alert_ids: list[int] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    queue: str = Field(default="", max_length=64)
    label: str = Field(default="", max_length=64)
    reason: Literal["critical", "overdue", "escalated", "removal_reminder",
                    "removal_overdue"] = "critical"
    #: removal requests this entry speaks for (the removal reasons), instead of alerts
    removal_ids: list[int] = Field(default_factory=list)
    #: delivery progress, so a retry after a partial failure repeats nothing
    email_sent_at: str | None = None
    chat_sent: list[str] = Field(default_factory=list)

    def all_alert_ids(self) -> set[int]:
        """Every alert this entry speaks for."""
        ids = set(self.alert_ids)
        if self.alert_id is not None:
            ids.add(self.alert_id)
        return ids

    def group(self) -> tuple[str, str, str, tuple[str, ...]]:
        """What makes two entries one message."""
        return (self.reason, self.queue, self.label, tuple(sorted(r.value for r in self.roles)))

    def started(self) -> bool:
        """Part of this message has gone out already."""
        return self.email_sent_at is not None or bool(self.chat_sent)


@dataclass(frozen=True, slots=True)
class Message:
    """What is said, in every channel."""

    subject: str
    text: str
    alert_ids: tuple[int, ...]
    removal_ids: tuple[int, ...] = ()


@dataclass
class _Plan:
    entry_id: int
    payload: NotifyPayload
    message: Message | None = None
    recipients: list[str] = field(default_factory=list)


def _parse(raw: dict[str, Any]) -> NotifyPayload:
    return NotifyPayload.model_validate(raw)


def _rate_key(group: tuple[str, str, str, tuple[str, ...]]) -> str:
    digest = hashlib.sha256(json.dumps(group).encode("utf-8")).hexdigest()
    return RATE_KEY_PREFIX + digest[:48]


def _url_key(url: str) -> str:
    # Chat URLs carry tokens: remember which were served by a hash, never the URL itself.
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def _relative(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    if minutes < 90:
        span = f"{minutes} min"
    elif minutes < 48 * 60:
        span = f"{minutes // 60} h {minutes % 60} min"
    else:
        span = f"{minutes // (24 * 60)} days"
    return f"in {span}" if delta.total_seconds() >= 0 else f"overdue by {span}"


def _when(moment: datetime, now: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC ({_relative(moment - now)})"


def compose(payload: NotifyPayload, alerts: Sequence[Alert], *, public_url: str,
            now: datetime) -> Message:
    """The subject and text for open `alerts` (never the comment text or its author)."""
    base = public_url.rstrip("/")
    ordered = sorted(alerts, key=lambda a: (a.due_at, a.id))
    n = len(ordered)
    label, queue = payload.label or ordered[0].primary_label, payload.queue or ordered[0].queue
    if payload.reason == "overdue":
        subject = (f"[socmon] Overdue: alert #{ordered[0].id} ({label}) missed its deadline"
                   if n == 1 else f"[socmon] {n} alerts overdue in {queue} ({label})")
        intro = ("An alert has passed its deadline without being handled."
                 if n == 1 else f"{n} alerts have passed their deadline without being handled.")
        deadline = f"Was due: {_when(ordered[0].due_at, now)}"
    elif payload.reason == "escalated":
        subject = (f"[socmon] Alert #{ordered[0].id} ({label}) escalated to you"
                   if n == 1 else f"[socmon] {n} alerts escalated to you in {queue} ({label})")
        intro = ("A moderator has escalated an alert to you; it is in your queue."
                 if n == 1 else f"Moderators have escalated {n} alerts to you; they are in "
                 "your queue.")
        deadline = (f"Deadline: {_when(ordered[0].due_at, now)}" if n == 1
                    else f"Earliest deadline: {_when(ordered[0].due_at, now)}")
    else:
        subject = (f"[socmon] Critical alert waiting: {label} in {queue}"
                   if n == 1 else f"[socmon] {n} new critical alerts in {queue} ({label})")
        intro = ("A critical alert is waiting for review."
                 if n == 1 else f"{n} critical alerts are waiting for review.")
        deadline = (f"Deadline: {_when(ordered[0].due_at, now)}" if n == 1
                    else f"Earliest deadline: {_when(ordered[0].due_at, now)}")
    lines = [intro, "", f"Label: {label}", f"Queue: {queue}", deadline, ""]
    lines += [f"{base}/alerts/{a.id}" for a in ordered[:MAX_LINKS]]
    if n > MAX_LINKS:
        lines.append(f"... and {n - MAX_LINKS} more: {base}/alerts")
    lines += ["", "The comment itself is not included in this message. "
              "Sign in to socmon to read it and act."]
    return Message(subject=subject, text="\n".join(lines),
                   alert_ids=tuple(a.id for a in ordered))


def compose_removals(payload: NotifyPayload, requests: Sequence[RemovalRequest], *,
                     public_url: str, now: datetime) -> Message:
    """The subject and text for open removal `requests` (never who asked, what or why)."""
    base = public_url.rstrip("/")
    ordered = sorted(requests, key=lambda r: (r.due_at, r.id))
    n, first = len(ordered), ordered[0]
    if payload.reason == "removal_overdue":
        subject = (f"[socmon] Overdue: removal request #{first.id} missed its deadline"
                   if n == 1 else f"[socmon] {n} removal requests overdue")
        intro = ("A removal request has passed its deadline and the item is not confirmed gone."
                 if n == 1 else f"{n} removal requests have passed their deadline.")
        deadline = f"Was due: {_when(first.due_at, now)}"
    else:
        subject = (f"[socmon] Reminder: removal request #{first.id} is due "
                   f"{_relative(first.due_at - now)}"
                   if n == 1 else f"[socmon] Reminder: {n} removal requests are due soon")
        intro = ("A removal request is half-way to its deadline and still open."
                 if n == 1 else f"{n} removal requests are half-way to their deadline.")
        deadline = f"Deadline: {_when(first.due_at, now)}"
    lines = [intro, "", deadline, ""]
    lines += [f"{base}/removals#removal-{r.id}" for r in ordered[:MAX_LINKS]]
    if n > MAX_LINKS:
        lines.append(f"... and {n - MAX_LINKS} more: {base}/removals")
    lines += ["", "Who asked and what for are not included in this message. "
              "Sign in to socmon to read them and act."]
    return Message(subject=subject, text="\n".join(lines), alert_ids=(),
                   removal_ids=tuple(r.id for r in ordered))


def recipients_for(session: Session, settings: Settings, roles: Sequence[Role]) -> list[str]:
    """Configured addresses of each role plus enabled users of that role with an e-mail."""
    found: dict[str, str] = {}
    configured = [addr for role in roles for addr in settings.notifications.email.get(role, [])]
    users = session.execute(
        select(User.email).where(User.role.in_([r.value for r in roles]),
                                 User.disabled.is_(False), User.email.is_not(None))
    ).scalars().all()
    for raw in [*configured, *users]:
        _name, address = parseaddr(raw or "")
        if "@" in address:
            found.setdefault(address.lower(), address)
    return sorted(found.values(), key=str.lower)


class Notifier:
    """The "notify" outbox handler: gather, coalesce or hold, deliver, remember."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        #: role sets already warned about having nobody to notify (once each per process)
        self.unaddressed: set[tuple[str, ...]] = set()

    # -- step 1: in one transaction, fold the group into this entry or hold it ------------
    def _gather(self, session: Session, entry_id: int, now: datetime) -> _Plan | None:
        row = session.execute(
            select(OutboxEntry).where(OutboxEntry.id == entry_id).with_for_update()
        ).scalar_one_or_none()
        if row is None or row.status != OutboxStatus.PENDING:
            return None  # folded into another entry's message meanwhile
        try:
            payload = _parse(row.payload)
        except ValidationError as exc:
            raise outbox.GiveUp(f"malformed notify payload: {exc.error_count()} error(s), "
                                f"first: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}"
                                ) from None
        if not payload.all_alert_ids() and not payload.removal_ids:
            raise outbox.GiveUp("notify payload names no alert")
        if not payload.started():
            self._fold_siblings(session, row, payload, now)
            held = self._hold_if_rate_limited(session, row, payload, now)
            if held:
                return None
        if payload.removal_ids:
            return self._removal_plan(session, row.id, payload, now)
        alerts = session.execute(
            select(Alert).where(Alert.id.in_(sorted(payload.all_alert_ids())))
        ).scalars().all()
        open_alerts = [a for a in alerts if policy.is_open(a.state)]
        plan = _Plan(entry_id=row.id, payload=payload)
        if not open_alerts:
            log.info("notification %s dropped: its %d alert(s) were handled already", row.id,
                     len(payload.all_alert_ids()))
            return plan
        plan.message = compose(payload, open_alerts, public_url=self.settings.web.public_url,
                               now=now)
        plan.recipients = recipients_for(session, self.settings, payload.roles)
        return plan

    def _removal_plan(self, session: Session, entry_id: int, payload: NotifyPayload,
                      now: datetime) -> _Plan:
        requests = session.execute(
            select(RemovalRequest).where(RemovalRequest.id.in_(sorted(payload.removal_ids)))
        ).scalars().all()
        still_open = [r for r in requests if removal_policy.is_open(r.status)]
        plan = _Plan(entry_id=entry_id, payload=payload)
        if not still_open:
            log.info("notification %s dropped: its removal request(s) were met already",
                     entry_id)
            return plan
        plan.message = compose_removals(payload, still_open,
                                        public_url=self.settings.web.public_url, now=now)
        plan.recipients = recipients_for(session, self.settings, payload.roles)
        return plan

    def _fold_siblings(self, session: Session, row: OutboxEntry, payload: NotifyPayload,
                       now: datetime) -> None:
        siblings = session.execute(
            select(OutboxEntry)
            .where(OutboxEntry.kind == NOTIFY_KIND, OutboxEntry.status == OutboxStatus.PENDING,
                   OutboxEntry.id != row.id)
            .order_by(OutboxEntry.id)
            .with_for_update(skip_locked=True)
        ).scalars().all()
        group = payload.group()
        ids = payload.all_alert_ids()
        removal_ids = set(payload.removal_ids)
        folded = 0
        for other in siblings:
            leased_elsewhere = (other.locked_until is not None and other.locked_until > now
                                and other.locked_by != row.locked_by)
            if leased_elsewhere:
                continue  # another worker is sending it; leave it alone
            try:
                theirs = _parse(other.payload)
            except ValidationError:
                continue  # its own handler will give up on it with the reason
            if theirs.group() != group or theirs.started():
                continue
            ids |= theirs.all_alert_ids()
            removal_ids |= set(theirs.removal_ids)
            other.status = OutboxStatus.DONE
            other.done_at = now
            other.last_error = None
            other.payload = {**other.payload, "folded_into": row.id}
            folded += 1
        if folded:
            payload.alert_ids = sorted(ids)
            payload.removal_ids = sorted(removal_ids)
            row.payload = payload.model_dump(mode="json")
            log.info("notification %s coalesced %d pending entries (%d alerts)", row.id,
                     folded, len(ids))

    def _hold_if_rate_limited(self, session: Session, row: OutboxEntry, payload: NotifyPayload,
                              now: datetime) -> bool:
        window = self.settings.notifications.dedupe_window
        record = session.get(Setting, _rate_key(payload.group()), with_for_update=True)
        if record is None or window <= timedelta(0):
            return False
        try:
            last = datetime.fromisoformat(json.loads(record.value)["sent_at"])
        except (ValueError, KeyError, TypeError):
            return False  # an unreadable record never blocks a message
        if last + window <= now:
            return False
        # One carrier entry, due when the window ends, speaks for everything held.
        carrier = OutboxEntry(kind=NOTIFY_KIND, payload=payload.model_dump(mode="json"),
                              status=OutboxStatus.PENDING, attempts=0,
                              next_attempt_at=last + window, created_at=now)
        session.add(carrier)
        session.flush()
        row.payload = {**row.payload, "folded_into": carrier.id}
        log.info("notification %s held until %s (one message per %s per group)", row.id,
                 (last + window).isoformat(timespec="seconds"), window)
        return True

    # -- step 2: deliver outside any transaction, recording progress after each channel ---
    def _record(self, factory: sessionmaker[Session], plan: _Plan, *, channel: str,
                now: datetime, recipients: int) -> None:
        with transaction(factory) as session:
            row = session.get_one(OutboxEntry, plan.entry_id, with_for_update=True)
            row.payload = {**row.payload, **plan.payload.model_dump(mode="json")}
            key = _rate_key(plan.payload.group())
            value = json.dumps({"sent_at": now.isoformat(), "entry": plan.entry_id})
            record = session.get(Setting, key, with_for_update=True)
            if record is None:
                session.add(Setting(key=key, value=value, updated_at=now))
            else:
                record.value, record.updated_at = value, now
            assert plan.message is not None
            audit.record(session, actor="system", action=f"notification.{channel}",
                         target_type="outbox", target_id=plan.entry_id,
                         details={"alert_ids": list(plan.message.alert_ids),
                                  **({"removal_ids": list(plan.message.removal_ids)}
                                     if plan.message.removal_ids else {}),
                                  "reason": plan.payload.reason, "queue": plan.payload.queue,
                                  "label": plan.payload.label,
                                  "roles": [r.value for r in plan.payload.roles],
                                  "recipients": recipients})

    def __call__(self, factory: sessionmaker[Session], entry: OutboxEntry) -> None:
        """Handle one outbox entry (with every pending entry of its group)."""
        now = self.clock()
        if not self.settings.notifications.enabled:
            log.info("notifications are disabled; alert notification %s not sent", entry.id)
            return
        with transaction(factory) as session:
            plan = self._gather(session, entry.id, now)
        if plan is None or plan.message is None:
            return
        urls = [u.get_secret_value() for u in self.settings.notifications.apprise_urls]
        if not plan.recipients and not urls:
            roles = tuple(r.value for r in plan.payload.roles)
            # Once per role set and process: a wave of alerts must not bury every other line.
            level = logging.DEBUG if roles in self.unaddressed else logging.WARNING
            self.unaddressed.add(roles)
            log.log(level, "critical alert notification %s has nobody to go to: set "
                    "notifications.email or give users of roles %s an e-mail address "
                    "(said once; later ones at DEBUG)", plan.entry_id, ",".join(roles))
            return
        transient: list[str] = []
        permanent: list[str] = []
        if plan.recipients and plan.payload.email_sent_at is None:
            self._send_mail(factory, plan, now, transient, permanent)
        for index, url in enumerate(urls):
            if _url_key(url) not in plan.payload.chat_sent:
                self._send_chat(factory, plan, index, url, now, transient, permanent)
        if transient:
            raise outbox.Retry("; ".join(transient))
        if permanent:
            raise outbox.GiveUp("; ".join(permanent))

    def _send_mail(self, factory: sessionmaker[Session], plan: _Plan, now: datetime,
                   transient: list[str], permanent: list[str]) -> None:
        assert plan.message is not None
        smtp = self.settings.smtp
        domain = smtp.from_address.rpartition("@")[2] or "socmon.local"
        message = mail.new_message(
            smtp, to=plan.recipients, subject=plan.message.subject, text=plan.message.text,
            # Stable per entry: a resend after a crash can be recognised by the mail system.
            message_id=f"<socmon-notify-{plan.entry_id}@{domain}>",
        )
        try:
            mail.send(smtp, message)
        except mail.MailError as exc:
            (transient if exc.transient else permanent).append(f"e-mail: {exc}")
            log.warning("notification %s e-mail failed: %s", plan.entry_id, exc)
            return
        plan.payload.email_sent_at = now.isoformat()
        self._record(factory, plan, channel="email", now=now, recipients=len(plan.recipients))
        log.info("notification %s e-mailed to %d recipient(s) about %d alert(s)", plan.entry_id,
                 len(plan.recipients), len(plan.message.alert_ids))

    def _send_chat(self, factory: sessionmaker[Session], plan: _Plan, index: int, url: str,
                   now: datetime, transient: list[str], permanent: list[str]) -> None:
        assert plan.message is not None
        service = apprise.Apprise()
        if not service.add(url):
            # Never echo the URL: it usually contains a token.
            permanent.append(f"notifications.apprise_urls[{index}] is not a valid apprise URL")
            return
        subject = plan.message.subject.removeprefix("[socmon] ")
        if service.notify(title=subject, body=plan.message.text):
            plan.payload.chat_sent = [*plan.payload.chat_sent, _url_key(url)]
            self._record(factory, plan, channel="chat", now=now, recipients=1)
            return
        transient.append(f"chat notifications.apprise_urls[{index}] failed")
        log.warning("notification %s to apprise_urls[%d] failed", plan.entry_id, index)


def make_handler(settings: Settings, *,
                 clock: Callable[[], datetime] = utcnow) -> outbox.Handler:
    """The "notify" outbox handler, for the daemon to register under `NOTIFY_KIND`."""
    return Notifier(settings, clock=clock)
