"""The connector contract: normalised items, versioned cursors, capabilities and error classes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

from pydantic import BaseModel


class ItemKind(StrEnum):
    """What an item is on its platform."""

    POST = "post"
    COMMENT = "comment"
    REPLY = "reply"


class Action(StrEnum):
    """Takedown actions a connector may support."""

    HIDE = "hide"
    DELETE = "delete"


class Visibility(StrEnum):
    """What `check` found on the platform."""

    VISIBLE = "visible"
    HIDDEN = "hidden"
    REMOVED = "removed"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Item:
    """One post, comment or reply, normalised across platforms.

    `external_id` is unique per platform and is what hide, delete and check take back.
    `raw` is the platform's own payload, kept verbatim as evidence.
    """

    platform: str
    external_id: str
    kind: ItemKind
    text: str
    created_at: datetime
    author_id: str | None = None
    author_name: str | None = None
    url: str | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    is_own: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemRef:
    """What a takedown or check needs to find an item again."""

    external_id: str
    kind: ItemKind
    parent_id: str | None = None
    thread_id: str | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """A small, versioned, JSON-serialisable bookmark of a channel's progress."""

    version: int = 1
    state: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """Serialise deterministically."""
        return json.dumps({"v": self.version, "state": self.state}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Self | None:
        """Parse a stored cursor; None or an empty string means "never polled"."""
        if not text:
            return None
        data = json.loads(text)
        if not isinstance(data, dict) or "v" not in data or not isinstance(data.get("state"), dict):
            raise ValueError("cursor is not a versioned JSON object")
        return cls(version=int(data["v"]), state=data["state"])


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An entry of a page that could not be read as an item (no id, no usable time, not an
    object): the rest of the page goes on, and the monitor sets the entry aside.

    `reason` names what was wrong in terms of fields, never the entry's text; `raw` is the
    entry as the platform sent it, kept as evidence; `external_id` when it had one.
    """

    reason: str
    raw: Any
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a poll pass.

    `cursor` is what to store after this page commits; `more` says whether the same pass
    has another page to fetch now (the ingest loop calls `fetch` again with `cursor`).
    `requests` counts the HTTP requests this page cost, for the cheapness tests and metrics.
    `unreadable`: the page's entries that could not be read as items, to be set aside.
    """

    items: Sequence[Item]
    cursor: Cursor
    more: bool = False
    requests: int = 0
    unreadable: Sequence[Unreadable] = ()


@dataclass(frozen=True, slots=True)
class Capability:
    """One takedown action and what it really does on this platform, shown to moderators."""

    action: Action
    effect: str
    #: the action works only on the organisation's own posts (X deletes, for example)
    own_only: bool = False
    #: `check` can confirm the result afterwards; False where the platform cannot tell
    #: (X does not report whether a reply is hidden), so the platform's answer is the proof
    verifiable: bool = True


class ConnectorError(Exception):
    """Base class of every error a connector raises on purpose."""


class TransientError(ConnectorError):
    """Try again later (network trouble, 5xx); `retry_after` seconds when the platform says."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """The platform asked us to slow down; the channel's next poll waits `retry_after` seconds."""


class AuthError(ConnectorError):
    """Credentials were rejected or lack a permission: stop polling, ask for re-authorisation."""


class FatalError(ConnectorError):
    """A request that will not succeed by retrying (bad id, unsupported action, malformed data)."""


class ItemGone(ConnectorError):
    """The item no longer exists on the platform (deleted by its author or already removed)."""


class NotSupported(FatalError):
    """The platform has no such action (Reddit has no hide, for example)."""


class ConnectorOptions(BaseModel, extra="forbid"):
    """Base of each connector's non-secret options, validated from the channel's YAML."""


@runtime_checkable
class Connector(Protocol):
    """What the monitor needs from one platform. Connectors never touch the database."""

    platform: ClassVar[str]
    #: whether `fetch` returns items oldest-first (True) or newest-first/unsorted (False)
    sorted_results: ClassVar[bool]
    min_poll_interval: ClassVar[timedelta]
    options_model: ClassVar[type[ConnectorOptions]]
    #: names of secrets read from the environment, e.g. ("access_token", "app_secret")
    secret_names: ClassVar[tuple[str, ...]]

    def capabilities(self) -> Sequence[Capability]:
        """The takedown actions this channel supports, with their real effect."""
        ...

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Page:
        """Fetch the next page of new items after `cursor`; never move it past `now`.

        An entry the connector cannot read goes in `Page.unreadable`; it never fails the page.
        """
        ...

    def hide(self, ref: ItemRef) -> None:
        """Hide an item; idempotent. Raises NotSupported when the platform cannot."""
        ...

    def delete(self, ref: ItemRef) -> None:
        """Delete or remove an item; idempotent. ItemGone when it is already gone."""
        ...

    def check(self, ref: ItemRef) -> Visibility:
        """Report whether the item is still visible on the platform."""
        ...

    def check_credentials(self) -> Sequence[str]:
        """Call the platform once; return the missing credentials or permissions (empty: fine)."""
        ...


class ConnectorFactory(Protocol):
    """The class side of a connector: how the registry builds one for a channel."""

    platform: ClassVar[str]
    options_model: ClassVar[type[ConnectorOptions]]
    secret_names: ClassVar[tuple[str, ...]]

    def __call__(
        self, *, channel: str, options: ConnectorOptions, secrets: Mapping[str, str]
    ) -> Connector:
        """Build a connector for one channel."""
        ...
