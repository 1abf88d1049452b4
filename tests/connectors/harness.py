"""The contract-suite harness: how each registered connector is driven by the same tests.

Every platform module `tests/connectors/harness_<platform>.py` exposes `make() -> Harness`.
The harness owns the connector's emulator (or, for demo, its simulated state) and lets the
contract tests publish items on the platform and remove them behind the connector's back.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from connectors.base import Connector, ItemRef


class Harness(Protocol):
    """One connector wired to a platform the test controls."""

    connector: Connector

    def publish(self, n: int, *, text: str = "hello") -> list[str]:
        """Make `n` new comments appear on the platform; return their external ids."""
        ...

    def remove_on_platform(self, ref: ItemRef) -> None:
        """Delete an item on the platform as its author would (not through the connector)."""
        ...

    def close(self) -> None:
        """Stop the emulator."""
        ...


PLATFORMS = ("demo", "facebook", "instagram", "x", "reddit")


def make(platform: str) -> Harness:
    """Build the harness for `platform` from its module."""
    module = importlib.import_module(f"tests.connectors.harness_{platform}")
    harness: Harness = module.make()
    return harness
