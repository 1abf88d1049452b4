"""Contract-suite harness: the Instagram connector against the emulated Graph API."""

from __future__ import annotations

from connectors.base import ItemRef
from connectors.instagram import InstagramConnector, InstagramOptions
from tests.emulators.graph import APP_SECRET, TOKEN, GraphEmulator


class InstagramHarness:
    """One emulated account with one recent media; comments are published on it."""

    def __init__(self, **options: object) -> None:
        self.emulator = GraphEmulator()
        self.emulator.start()
        self.media_id = self.emulator.add_media("Our new library")
        self.connector = InstagramConnector(
            channel="school-instagram",
            options=InstagramOptions.model_validate(
                {"ig_user_id": self.emulator.ig_user_id, "graph_url": self.emulator.url,
                 **options}
            ),
            secrets={"access_token": TOKEN, "app_secret": APP_SECRET},
        )

    def publish(self, n: int, *, text: str = "hello") -> list[str]:
        """Followers comment on the media."""
        return [self.emulator.add_ig_comment(self.media_id, f"{text} {i}") for i in range(n)]

    def remove_on_platform(self, ref: ItemRef) -> None:
        """The author deletes their comment."""
        self.emulator.remove(ref.external_id)

    def close(self) -> None:
        """Stop the emulator."""
        self.emulator.stop()


def make(**options: object) -> InstagramHarness:
    """A ready harness (options override the channel's defaults)."""
    return InstagramHarness(**options)
