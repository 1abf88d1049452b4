"""Contract-suite harness: the Reddit connector wired to the Reddit emulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.base import ItemRef
from connectors.reddit import RedditConnector, RedditOptions
from tests.emulators.reddit import RedditEmulator


def build(emulator: RedditEmulator, **options: Any) -> RedditConnector:
    """A connector for `emulator`'s subreddit, with option overrides."""
    settings: dict[str, Any] = {
        "subreddit": emulator.subreddit,
        "oauth_url": emulator.url,
        "reddit_url": emulator.url,
        "user_agent": "python:socmon.tests:1.0 (by /u/orgmod)",
        **options,
    }
    opts = RedditOptions.model_validate(settings)
    secrets = {
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "username": emulator.moderator,
        "password": emulator.password,
    }
    return RedditConnector(channel="reddit-test", options=opts, secrets=secrets)


@dataclass
class RedditHarness:
    """The emulator, one organisation post to comment under, and the connector."""

    emulator: RedditEmulator
    connector: RedditConnector
    post: str
    published: list[str] = field(default_factory=list)

    def publish(self, n: int, *, text: str = "hello") -> list[str]:
        """Visitors comment `n` times under the organisation's post."""
        ids = [
            self.emulator.add_comment(f"{text} {i}", parent=self.post, author=f"visitor{i}")
            for i in range(n)
        ]
        self.published.extend(ids)
        return ids

    def remove_on_platform(self, ref: ItemRef) -> None:
        """The author deletes their comment."""
        self.emulator.delete_by_author(ref.external_id)

    def close(self) -> None:
        """Stop the emulator."""
        self.emulator.stop()


def make(**options: Any) -> RedditHarness:
    """A started emulator with one organisation post and a connector pointed at it."""
    emulator = RedditEmulator()
    emulator.start()
    post = emulator.add_post("Term dates", selftext="Comments welcome.")
    return RedditHarness(emulator=emulator, connector=build(emulator, **options), post=post)
