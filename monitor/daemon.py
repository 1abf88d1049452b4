"""The background service: APScheduler jobs for polling, the outbox worker and re-verification."""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from monitor import deadlines, notify, outbox, retrain
from monitor.db import transaction
from monitor.digest import job as digest_job
from monitor.digest.deliver import DigestSender
from monitor.ingest import NOTIFY_KIND
from monitor.lab import shadow as lab_shadow
from monitor.models import utcnow
from monitor.poller import PollResult, poll_channel, reclaim_dead_leases
from monitor.records import job as records_job
from monitor.removals import deadlines as removal_deadlines
from monitor.runtime import Runtime
from monitor.series import job as series_job
from monitor.takedown import TakedownHandlers, requeue_unverified
from monitor.web import maintenance
from monitor.web.server import serve

log = logging.getLogger(__name__)

#: extra outbox handlers and jobs other parts of the monitor register (notifications, digest)
ExtraJobs = Callable[[BackgroundScheduler, Runtime, threading.Event], None]


class Daemon:
    """Owns the scheduler and the stop event; `run_forever` blocks until SIGTERM or SIGINT."""

    def __init__(self, runtime: Runtime, *, extra_jobs: list[ExtraJobs] | None = None) -> None:
        self.runtime = runtime
        self.stop = threading.Event()
        #: set once every enabled channel has had its first poll pass (done, skipped or failed)
        self.first_polls = threading.Event()
        #: set once the web UI accepts connections
        self.web_started = threading.Event()
        self._awaiting_first_poll = {c.name for c in runtime.settings.channels if c.enabled}
        self._first_poll_lock = threading.Lock()
        if not self._awaiting_first_poll:
            self.first_polls.set()
        self.handlers: dict[str, outbox.Handler] = {
            NOTIFY_KIND: notify.make_handler(runtime.settings),
            **DigestSender(runtime.settings).as_mapping(),
            **TakedownHandlers(
                runtime.connectors,
                verify_after=runtime.settings.takedown.verify_after,
                max_attempts=runtime.settings.takedown.max_attempts,
            ).as_mapping(),
        }
        # Poll jobs run in their own pool so a slow platform never delays takedowns.
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(4), "polls": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone="UTC",
        )
        self.extra_jobs = [
            deadlines.register,
            removal_deadlines.register,
            maintenance.register,
            retrain.register,
            lab_shadow.register,
            series_job.register,
            *(extra_jobs or []),
        ]
        if runtime.settings.digest.enabled:
            self.extra_jobs.append(digest_job.register)
        if runtime.settings.retention.enabled:
            self.extra_jobs.append(records_job.register)

    def poll(self, name: str) -> PollResult | None:
        """One poll pass of one channel (the scheduled job)."""
        if self.stop.is_set():
            return None
        channel = self.runtime.channel_config(name)
        try:
            return poll_channel(
                self.runtime.factory,
                name=name,
                connector=self.runtime.connectors[name],
                classifier=self.runtime.current_classifier(),
                routing=self.runtime.settings.routing,
                owner=self.runtime.owner,
                interval=channel.interval,
                stop=self.stop,
                lease=self.runtime.settings.poll_lease,
            )
        except Exception:
            # An unexpected bug must not kill the job for good; the next run retries.
            log.exception("poll of channel %s failed unexpectedly", name)
            return None
        finally:
            self._first_poll_done(name)

    def _first_poll_done(self, name: str) -> None:
        with self._first_poll_lock:
            self._awaiting_first_poll.discard(name)
            if not self._awaiting_first_poll:
                self.first_polls.set()

    def work_outbox(self) -> outbox.RunStats:
        """Perform due takedowns, verifications and notifications."""
        return outbox.run_once(
            self.runtime.factory,
            self.handlers,
            owner=self.runtime.owner,
            max_attempts=self.runtime.settings.takedown.max_attempts,
        )

    def reverify(self) -> None:
        """Catch takedowns whose verification entry was lost."""
        with transaction(self.runtime.factory) as session:
            requeue_unverified(session, older_than=timedelta(hours=1))

    def schedule(self) -> None:
        """Add every job to the scheduler (not started)."""
        settings = self.runtime.settings
        for channel in settings.channels:
            if not channel.enabled:
                continue
            connector = self.runtime.connectors[channel.name]
            every = max(channel.interval, connector.min_poll_interval)
            self.scheduler.add_job(
                self.poll,
                "interval",
                args=[channel.name],
                id=f"poll:{channel.name}",
                seconds=every.total_seconds(),
                executor="polls",
                next_run_time=utcnow(),
            )
        self.scheduler.add_job(
            self.work_outbox,
            "interval",
            id="outbox",
            seconds=settings.takedown.worker_interval.total_seconds(),
            next_run_time=utcnow(),
        )
        self.scheduler.add_job(self.reverify, "interval", id="reverify", minutes=30)
        for add in self.extra_jobs:
            add(self.scheduler, self.runtime, self.stop)

    def start(self) -> None:
        """Recover from a crash of an earlier process on this host, then start the jobs."""
        with transaction(self.runtime.factory) as session:
            leases = reclaim_dead_leases(session, owner=self.runtime.owner)
            locks = outbox.reclaim_dead_locks(session, owner=self.runtime.owner)
        if leases or locks:
            log.info(
                "recovered %d poll leases and %d outbox entries from a stopped process",
                leases,
                locks,
            )
        self.schedule()
        self.scheduler.start()
        log.info("socmon daemon started: %d channels", len(self.runtime.settings.channels))

    def shutdown(self) -> None:
        """Stop scheduling; wait for running jobs, which finish their current page and commit."""
        self.stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        log.info("socmon daemon stopped")

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT ask for a clean stop."""

        def _handler(signum: int, _frame: FrameType | None) -> None:
            log.info("received signal %d; finishing the current page", signum)
            self.stop.set()

        signal.signal(signal.SIGTERM, _handler)
        signal.signal(signal.SIGINT, _handler)

    def _announce_when_ready(self, on_ready: Callable[[], None]) -> None:
        """Call `on_ready` once the web UI listens and every channel has been polled once."""
        web = self.runtime.settings.web.enabled
        while not self.stop.is_set():
            if self.first_polls.wait(0.5) and (not web or self.web_started.wait(0.5)):
                if not self.stop.is_set():
                    on_ready()
                return

    def run_forever(self, *, sock: socket.socket | None = None,
                    on_ready: Callable[[], None] | None = None) -> None:
        """Start the jobs, serve the web UI (if enabled) until asked to stop, shut down cleanly.

        `sock`: the web UI's listening socket, taken early with `web.server.listen`.
        `on_ready`: called (in another thread) once start-up is complete: the web UI accepts
        connections and every channel's first poll pass is over.
        """
        self.install_signal_handlers()
        if on_ready is not None:
            threading.Thread(target=self._announce_when_ready, args=(on_ready,),
                             name="ready", daemon=True).start()
        self.start()
        web = self.runtime.settings.web
        try:
            if web.enabled:
                serve(self.runtime, stop=self.stop, host=web.host, port=web.port, sock=sock,
                      started=self.web_started)
            # Wake up now and then so signal handlers run promptly on every platform.
            while not self.stop.wait(1.0):
                pass
        finally:
            self.stop.set()
            self.shutdown()
            if sock is not None:
                sock.close()
