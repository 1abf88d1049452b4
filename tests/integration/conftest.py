"""Rigs for the end-to-end tests: each platform's emulator, its channel config and its secrets.

A rig owns one emulator (port 0, in this process) seeded with a post of the organisation's,
and knows how to publish a visitor's comment, script a rate limit, revoke the credentials
and tell whether a takedown really happened on the platform. Every rig is a channel named
after its platform, so `SOCMON_<CHANNEL>_<SECRET>` reads naturally.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load
from connectors.base import Action
from connectors.registry import secret_env_name
from monitor.daemon import Daemon
from monitor.db import transaction
from monitor.models import Channel, ChannelState, Item, utcnow
from monitor.poller import PollResult
from monitor.runtime import Runtime, build_runtime
from tests.emulators import graph
from tests.emulators import x as xemu
from tests.emulators.reddit import RedditEmulator
from tests.emulators.server import Emulator, Response

#: the text the classifier must flag (an insult and a threat)
ABUSIVE = "you useless prat, I know where you live"
#: ordinary comments the classifier lets through
BENIGN = ("Can't wait, see you there", "Will the cafe be open on Friday?")

PLATFORMS = ("facebook", "instagram", "x", "reddit")


class Rig:
    """One platform channel wired to its emulator."""

    platform: str
    emulator: Emulator
    #: regex of the listing request a poll starts with (where faults are injected)
    listing: str
    #: the takedown the platform allows on a visitor's comment
    takedown: Action

    @property
    def name(self) -> str:
        """The channel name (the platform's name)."""
        return self.platform

    def options(self) -> dict[str, Any]:
        """The channel's `options` block, naming the emulator's URL."""
        raise NotImplementedError

    def secrets(self) -> dict[str, str]:
        """Secret name -> value, as the connector's `secret_names` call them."""
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """The secrets as the daemon reads them: SOCMON_<CHANNEL>_<SECRET>."""
        return {secret_env_name(self.name, k): v for k, v in self.secrets().items()}

    def publish(self, text: str) -> str:
        """A visitor comments on the organisation's post; returns the external id."""
        raise NotImplementedError

    def taken_down(self, external_id: str) -> bool:
        """Whether the platform shows the takedown (hidden, removed or deleted)."""
        raise NotImplementedError

    def rate_limit(self, seconds: int) -> tuple[Response, datetime]:
        """A rate-limit answer whose headers say to wait `seconds`, and when the wait ends."""
        raise NotImplementedError

    def expire(self) -> None:
        """The platform stops accepting the channel's credentials."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop the emulator."""
        self.emulator.stop()


class FacebookRig(Rig):
    """A Facebook Page with one post of its own."""

    platform = "facebook"
    listing = r"/feed$"
    takedown = Action.HIDE

    def __init__(self) -> None:
        """Start an emulated Graph API with one Page post."""
        self.graph = graph.GraphEmulator()
        self.emulator = self.graph.start()
        self.post = self.graph.add_post("Sports day is on Friday!")

    def options(self) -> dict[str, Any]:
        """Page id and the emulator's URL."""
        return {"page_id": graph.PAGE_ID, "graph_url": self.graph.url, "timeout_seconds": 5}

    def secrets(self) -> dict[str, str]:
        """The Page token and the app secret (for appsecret_proof)."""
        return {"access_token": graph.TOKEN, "app_secret": graph.APP_SECRET}

    def publish(self, text: str) -> str:
        """A comment on the Page's post."""
        return self.graph.add_comment(self.post, text)

    def taken_down(self, external_id: str) -> bool:
        """Hidden (a hide) or gone (a delete)."""
        node = self.graph.nodes.get(external_id)
        return node is None or node.hidden

    def rate_limit(self, seconds: int) -> tuple[Response, datetime]:
        """Graph throttling: error 32 with the wait in X-Business-Use-Case-Usage (minutes)."""
        minutes = max(1, seconds // 60)
        return graph.throttled(32, minutes=minutes), utcnow() + timedelta(minutes=minutes)

    def expire(self) -> None:
        """The Page token expires: Graph error 190."""
        self.graph.expired_tokens.add(graph.TOKEN)


class InstagramRig(FacebookRig):
    """An Instagram professional account with one media (its own Graph emulator)."""

    platform = "instagram"
    listing = r"/media$"
    takedown = Action.DELETE

    def __init__(self) -> None:
        """Start an emulated Graph API with one media."""
        self.graph = graph.GraphEmulator()
        self.emulator = self.graph.start()
        self.post = self.graph.add_media("Our new library")

    def options(self) -> dict[str, Any]:
        """Account id and the emulator's URL."""
        return {"ig_user_id": graph.IG_USER_ID, "graph_url": self.graph.url,
                "timeout_seconds": 5}

    def publish(self, text: str) -> str:
        """A comment on the media."""
        return self.graph.add_ig_comment(self.post, text)

    def rate_limit(self, seconds: int) -> tuple[Response, datetime]:
        """Instagram throttling: error 80002 with the wait in X-Business-Use-Case-Usage."""
        minutes = max(1, seconds // 60)
        response = graph.throttled(80002, minutes=minutes, object_id=graph.IG_USER_ID)
        return response, utcnow() + timedelta(minutes=minutes)


class XRig(Rig):
    """The organisation's X account with one post of its own; comments are replies to it."""

    platform = "x"
    listing = r"/2/tweets/search/recent"
    takedown = Action.HIDE

    def __init__(self) -> None:
        """Start an emulated X API with one root post."""
        self.x = xemu.XEmulator()
        self.emulator = self.x.start()
        self.root = self.x.post(xemu.ORG_ID, "Sports day is on Friday! Share your photos.")

    def options(self) -> dict[str, Any]:
        """Account id, handle and the emulator's URL."""
        return {"user_id": xemu.ORG_ID, "username": xemu.ORG_USERNAME, "api_url": self.x.url,
                "timeout_seconds": 5}

    def secrets(self) -> dict[str, str]:
        """Bearer token and the OAuth 1.0a user-context keys."""
        return xemu.secrets()

    def publish(self, text: str) -> str:
        """A visitor's reply in the organisation's conversation (as X writes it, @-prefixed)."""
        return self.x.post(xemu.VISITOR_ID, f"@{xemu.ORG_USERNAME} {text}",
                           reply_to=int(self.root))

    def taken_down(self, external_id: str) -> bool:
        """Hidden reply, or a deleted post."""
        post = self.x.posts[int(external_id)]
        return post.hidden or post.deleted

    def rate_limit(self, seconds: int) -> tuple[Response, datetime]:
        """A 429 whose x-rate-limit-reset is the epoch second the window reopens."""
        reset = int(time.time()) + seconds
        body = {"title": "Too Many Requests", "detail": "Too Many Requests",
                "type": "about:blank", "status": 429}
        headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0",
                   "x-rate-limit-reset": str(reset)}
        return Response(429, body, headers), datetime.fromtimestamp(reset, tz=utcnow().tzinfo)

    def expire(self) -> None:
        """Every token is revoked: 401."""
        self.x.revoke()


class RedditRig(Rig):
    """A subreddit the organisation moderates, with one post of its own."""

    platform = "reddit"
    listing = r"/r/[^/]+/comments"
    takedown = Action.DELETE

    def __init__(self) -> None:
        """Start an emulated Reddit with one post."""
        self.reddit = RedditEmulator()
        self.emulator = self.reddit.start()
        self.post = self.reddit.add_post("Term dates", selftext="Comments welcome.")

    def options(self) -> dict[str, Any]:
        """Subreddit and the emulator's URL (API and token endpoint alike)."""
        return {"subreddit": self.reddit.subreddit, "oauth_url": self.reddit.url,
                "reddit_url": self.reddit.url, "timeout_seconds": 5,
                "user_agent": "python:socmon.integration:1.0 (by /u/orgmod)"}

    def secrets(self) -> dict[str, str]:
        """The script app's id and secret and the moderator's login."""
        return {"client_id": self.reddit.client_id, "client_secret": self.reddit.client_secret,
                "username": self.reddit.moderator, "password": self.reddit.password}

    def publish(self, text: str) -> str:
        """A visitor's comment under the post."""
        return self.reddit.add_comment(text, parent=self.post, author="visitor")

    def taken_down(self, external_id: str) -> bool:
        """Removed by a moderator."""
        return bool(self.reddit.things[external_id]["removed"])

    def rate_limit(self, seconds: int) -> tuple[Response, datetime]:
        """A 429 whose x-ratelimit-reset counts the seconds until the window reopens."""
        headers = {"x-ratelimit-used": "600", "x-ratelimit-remaining": "0",
                   "x-ratelimit-reset": str(seconds)}
        body = {"message": "Too Many Requests", "error": 429}
        return Response(429, body, headers), utcnow() + timedelta(seconds=seconds)

    def expire(self) -> None:
        """The moderator's password changes: token grants answer invalid_grant."""
        self.reddit.revoke_password()


RIGS: dict[str, type[Rig]] = {
    "facebook": FacebookRig,
    "instagram": InstagramRig,
    "x": XRig,
    "reddit": RedditRig,
}


@pytest.fixture
def rigs() -> Iterator[dict[str, Rig]]:
    """All four platforms, each on its own emulator."""
    started: dict[str, Rig] = {}
    try:
        for name, kind in RIGS.items():
            started[name] = kind()
        yield started
    finally:
        for rig in started.values():
            rig.close()


def secrets_env(rigs: dict[str, Rig]) -> dict[str, str]:
    """Every channel's secrets as environment variables."""
    env: dict[str, str] = {}
    for rig in rigs.values():
        env.update(rig.env())
    return env


def write_config(
    path: Path, *, database_url: str, data_dir: Path, rigs: dict[str, Rig], **extra: Any
) -> Path:
    """A YAML config with one channel per rig; no web UI, no mail, a fast outbox."""
    config: dict[str, Any] = {
        "log_level": "INFO",
        "data_dir": str(data_dir),
        "database_url": database_url,
        "web": {"enabled": False},
        "notifications": {"enabled": False},
        "digest": {"enabled": False},
        "takedown": {"worker_interval": "1s", "verify_after": "0s"},
        # Long intervals: each channel polls once at start and not again during a test.
        "channels": [
            {"name": r.name, "platform": r.platform, "interval": "1h", "options": r.options()}
            for r in rigs.values()
        ],
        **extra,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def make_due(factory: sessionmaker[Session], name: str) -> None:
    """Move a channel's next poll into the past (time passing, without sleeping)."""
    with transaction(factory) as session:
        channel_id = session.execute(select(Channel.id).where(Channel.name == name)).scalar_one()
        session.execute(
            update(ChannelState)
            .where(ChannelState.channel_id == channel_id)
            .values(next_poll_at=utcnow() - timedelta(seconds=1))
        )


def stored_ids(factory: sessionmaker[Session], name: str) -> set[str]:
    """External ids of every item stored for a channel."""
    with factory() as session:
        rows = session.execute(
            select(Item.external_id).join(Channel, Channel.id == Item.channel_id)
            .where(Channel.name == name)
        ).scalars()
        return set(rows)


def channel_state(factory: sessionmaker[Session], name: str) -> ChannelState:
    """A detached snapshot of a channel's state row."""
    with factory() as session:
        state = session.execute(
            select(ChannelState).join(Channel).where(Channel.name == name)
        ).scalar_one()
        session.expunge(state)
        return state


@dataclass
class DaemonProcess:
    """`socmon run` as a child process whose log is read line by line in a thread.

    The reader keeps the pipe drained (a full pipe would block the daemon's logging) and
    hands each line to the test, which blocks on the next line instead of sleeping.
    """

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    @classmethod
    def start(cls, config: Path, env: dict[str, str]) -> DaemonProcess:
        """Start the daemon with `config` and extra environment variables."""
        full = {**os.environ, **env}
        full.pop("SOCMON_CONFIG", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=full,
        )
        daemon = cls(proc)
        threading.Thread(target=daemon._read, daemon=True).start()
        return daemon

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(
        self, pattern: str, *, timeout: float = 30.0, fail_on: str = r"failed unexpectedly"
    ) -> re.Match[str]:
        """Block until a log line matches `pattern`; fail at once on a line matching `fail_on`."""
        regex, bad = re.compile(pattern), re.compile(fail_on)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                raise AssertionError(self._tail(f"no log line matched {pattern!r}")) from None
            if line is None:
                raise AssertionError(self._tail(f"daemon exited before logging {pattern!r}"))
            self.lines.append(line)
            if bad.search(line):
                self._drain(timeout=5.0)
                raise AssertionError(self._tail(f"the daemon logged {line.strip()!r}"))
            found = regex.search(line)
            if found is not None:
                return found

    def _drain(self, *, timeout: float) -> None:
        """Collect what the daemon logs next (a traceback), for the failure message."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                return
            if line is None:
                return
            self.lines.append(line)
            if line.startswith("sqlalchemy.exc.") or re.match(r"^\w+(\.\w+)*Error: ", line):
                return

    def terminate(self, *, timeout: float = 60.0) -> int:
        """SIGTERM, wait for the exit, collect the rest of the log; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        return code

    def kill(self) -> None:
        """Last resort at teardown: the test failed while the daemon ran."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    @property
    def log(self) -> str:
        """Everything logged so far."""
        return "".join(self.lines)

    def _tail(self, message: str) -> str:
        # Errors first (a traceback can push them out of the tail), then the last lines.
        errors = [line for line in self.lines if " ERROR " in line or " WARNING " in line]
        return message + ":\n" + "".join(errors[:20]) + "...\n" + "".join(self.lines[-40:])


@dataclass
class Stack:
    """The monitor in this process: config file, runtime and daemon (its jobs not started)."""

    rigs: dict[str, Rig]
    config: Path
    env: dict[str, str]
    runtime: Runtime
    daemon: Daemon

    @property
    def factory(self) -> sessionmaker[Session]:
        """Sessions on the test database."""
        return self.runtime.factory

    def poll(self, name: str) -> PollResult:
        """One scheduled poll job of one channel, as the daemon runs it."""
        result = self.daemon.poll(name)
        assert result is not None, f"poll of {name} failed unexpectedly"
        return result


@pytest.fixture
def stack(database_url: str, tmp_path: Path, rigs: dict[str, Rig]) -> Iterator[Stack]:
    """All four channels on their emulators, behind an in-process daemon."""
    config = write_config(
        tmp_path / "socmon.yaml", database_url=database_url, data_dir=tmp_path / "data",
        rigs=rigs,
    )
    env = secrets_env(rigs)
    runtime = build_runtime(load(config), env=env)
    try:
        yield Stack(rigs=rigs, config=config, env=env, runtime=runtime, daemon=Daemon(runtime))
    finally:
        runtime.close()
