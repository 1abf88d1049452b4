"""Contract-suite harness: the Facebook Page connector against the emulated Graph API."""

from __future__ import annotations

from connectors.base import ItemRef
from connectors.facebook import FacebookOptions, FacebookPageConnector
from tests.emulators.graph import APP_SECRET, TOKEN, GraphEmulator


class FacebookHarness:
    """One emulated Page with one recent post of its own; comments are published on it."""

    def __init__(self, **options: object) -> None:
        self.emulator = GraphEmulator()
        self.emulator.start()
        self.post_id = self.emulator.add_post("Welcome back to the new term!")
        self.connector = FacebookPageConnector(
            channel="school-facebook",
            options=FacebookOptions.model_validate(
                {"page_id": self.emulator.page_id, "graph_url": self.emulator.url, **options}
            ),
            secrets={"access_token": TOKEN, "app_secret": APP_SECRET},
        )

    def publish(self, n: int, *, text: str = "hello") -> list[str]:
        """Visitors comment on the Page's post."""
        return [self.emulator.add_comment(self.post_id, f"{text} {i}") for i in range(n)]

    def remove_on_platform(self, ref: ItemRef) -> None:
        """The author deletes their comment."""
        self.emulator.remove(ref.external_id)

    def close(self) -> None:
        """Stop the emulator."""
        self.emulator.stop()


def make(**options: object) -> FacebookHarness:
    """A ready harness (options override the channel's defaults)."""
    return FacebookHarness(**options)
