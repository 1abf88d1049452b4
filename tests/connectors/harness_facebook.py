"""Contract-suite harness: the Facebook Page connector against the emulated Graph API."""

from __future__ import annotations

from connectors.facebook import FacebookOptions, FacebookPageConnector
from tests.connectors.graph_harness import SECRETS, EmulatedGraph


class FacebookHarness(EmulatedGraph):
    """One emulated Page with one recent post of its own; comments are published on it."""

    def __init__(self, **options: object) -> None:
        super().__init__()
        self.post_id = self.emulator.add_post("Welcome back to the new term!")
        self.connector = FacebookPageConnector(
            channel="school-facebook",
            options=FacebookOptions.model_validate(
                {"page_id": self.emulator.page_id, "graph_url": self.emulator.url, **options}
            ),
            secrets=SECRETS,
        )

    def publish(self, n: int, *, text: str = "hello") -> list[str]:
        """Visitors comment on the Page's post."""
        return [self.emulator.add_comment(self.post_id, f"{text} {i}") for i in range(n)]


def make(**options: object) -> FacebookHarness:
    """A ready harness (options override the channel's defaults)."""
    return FacebookHarness(**options)
