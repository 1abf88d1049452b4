"""Contract-suite harness for X: the real tweepy-based connector wired to the local X emulator."""

from __future__ import annotations

from typing import Any

from connectors.base import ItemRef
from connectors.x import XConnector, XOptions
from tests.emulators import x as emu


class XHarness:
    """An emulator with one root post by the organisation; comments are replies to it."""

    def __init__(self, **options: Any) -> None:
        self.emulator = emu.XEmulator()
        self.emulator.start()
        self.root_id = self.emulator.post(emu.ORG_ID, "Welcome back to term! Tell us your news.")
        settings: dict[str, Any] = {
            "user_id": emu.ORG_ID, "username": emu.ORG_USERNAME, "api_url": self.emulator.url,
            "timeout_seconds": 2, **options,
        }
        self.connector = XConnector(
            channel="x-test", options=XOptions(**settings), secrets=emu.secrets()
        )

    def publish(self, n: int, *, text: str = "hello") -> list[str]:
        """`n` visitor replies in the organisation's conversation (as X writes them, @-prefixed)."""
        return [
            self.emulator.post(emu.VISITOR_ID, f"@{emu.ORG_USERNAME} {text}",
                               reply_to=int(self.root_id))
            for _ in range(n)
        ]

    def remove_on_platform(self, ref: ItemRef) -> None:
        """The author deletes the post."""
        self.emulator.delete_on_platform(ref.external_id)

    def close(self) -> None:
        """Stop the emulator."""
        self.emulator.stop()


def make(**options: Any) -> XHarness:
    """Build the harness (options override the connector's defaults)."""
    return XHarness(**options)
