"""Generated series of comments on two platforms, stored through the real ingest."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from config.settings import Settings
from connectors.base import Item, ItemKind
from monitor.db import transaction
from monitor.ingest import ingest_page
from monitor.models import Channel, ChannelState
from monitor.runtime import Runtime, build_runtime

#: contact-seeking comments an adult might leave under a child's comment: each alone is
#: ordinary enough that the classifier must not call it safeguarding
CONTACT = (
    "Great goal today! Are you on snapchat?",
    "Lovely singing, what age are you now?",
    "Brilliant painting, add me and we can chat",
    "Well done! Which school are you at?",
    "Amazing dancing, do you have whatsapp?",
)
PRAISE = ("Well done everyone!", "Lovely photos, thank you", "So proud of the choir",
          "What a brilliant day", "Great to see the new library open")
#: the two channels: (name, platform)
CHANNELS = (("school-fb", "facebook"), ("school-ig", "instagram"))


@dataclass
class World:
    """A runtime with the two channels, and a clock that moves the generated comments on."""

    runtime: Runtime
    now: datetime
    rng: random.Random = field(default_factory=lambda: random.Random(18))
    counter: int = 0

    def item(self, platform: str, *, author: str, text: str, at: datetime,
             parent: Item | None = None, own: bool = False) -> Item:
        """A fetched comment (replying to `parent` when given)."""
        self.counter += 1
        return Item(platform=platform, external_id=f"{platform}-{self.counter}",
                    kind=ItemKind.REPLY if parent else ItemKind.POST if own else ItemKind.COMMENT,
                    text=text, created_at=at, author_id=f"{platform}:{author}",
                    author_name=author, parent_id=parent.external_id if parent else None,
                    thread_id="thread-1", is_own=own)

    def ingest(self, channel: str, items: list[Item]) -> None:
        """Store, classify and route one page on `channel`, committed."""
        classifier = self.runtime.classifier  # built (reading the names register) before
        with transaction(self.runtime.factory) as session:
            row = session.execute(select(Channel).where(Channel.name == channel)).scalar_one()
            ingest_page(session, channel=row, items=items, classifier=classifier,
                        routing=self.runtime.settings.routing, now=self.now)

    def chatter(self, platform: str, n: int, *, start: datetime) -> list[Item]:
        """`n` ordinary comments by different parents over a week."""
        return [self.item(platform, author=f"parent{self.rng.randrange(10_000)}",
                          text=self.rng.choice(PRAISE),
                          at=start + timedelta(minutes=self.rng.randrange(7 * 24 * 60)))
                for _ in range(n)]


def world(database_url: str, tmp_path: Path, **series: object) -> Iterator[World]:
    """A migrated database with the two channels; `series` overrides the series settings."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url,
                        series=series or {})
    runtime = build_runtime(settings, env={})
    with transaction(runtime.factory) as session:
        for name, platform in CHANNELS:
            channel = Channel(name=name, platform=platform)
            session.add(channel)
            session.flush()
            session.add(ChannelState(channel_id=channel.id))
    try:
        yield World(runtime=runtime, now=datetime.now().astimezone())
    finally:
        runtime.close()
