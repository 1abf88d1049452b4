"""Contract harness for the demo connector: its simulated Page is the platform."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.base import ItemRef
from connectors.demo import DemoConnector, DemoOptions


class DemoHarness:
    """The demo connector with an empty backlog, so only published items appear."""

    def __init__(self) -> None:
        # No backlog and no new items per pass: only what the test publishes appears.
        self.connector = DemoConnector(
            channel="contract", options=DemoOptions(initial=0, batch=0), secrets={}
        )

    def publish(self, n: int, *, text: str = "hello") -> list[str]:
        """Extra comments on the simulated Page."""
        now = datetime.now(UTC)
        return [self.connector.publish(f"{text} {i}", now=now).external_id for i in range(n)]

    def remove_on_platform(self, ref: ItemRef) -> None:
        """The author deletes their comment."""
        self.connector.remove_by_author(ref)

    def close(self) -> None:
        """Nothing to stop."""


def make() -> DemoHarness:
    """The harness the contract suite uses."""
    return DemoHarness()
