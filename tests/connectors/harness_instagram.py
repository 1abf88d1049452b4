"""Contract-suite harness: the Instagram connector against the emulated Graph API."""

from __future__ import annotations

from connectors.instagram import InstagramConnector, InstagramOptions
from tests.connectors.graph_harness import SECRETS, EmulatedGraph


class InstagramHarness(EmulatedGraph):
    """One emulated account with one recent media; comments are published on it."""

    def __init__(self, **options: object) -> None:
        super().__init__()
        self.media_id = self.emulator.add_media("Our new library")
        self.connector = InstagramConnector(
            channel="school-instagram",
            options=InstagramOptions.model_validate(
                {"ig_user_id": self.emulator.ig_user_id, "graph_url": self.emulator.url,
                 **options}
            ),
            secrets=SECRETS,
        )

    def publish(self, n: int, *, text: str = "hello") -> list[str]:
        """Followers comment on the media."""
        return [self.emulator.add_ig_comment(self.media_id, f"{text} {i}") for i in range(n)]


def make(**options: object) -> InstagramHarness:
    """A ready harness (options override the channel's defaults)."""
    return InstagramHarness(**options)
