"""A simulated official channel: a school Page's comments, so the whole pipeline runs offline.

Two scripts ship in `connectors/data/`: `sample` (309 lines, cycled with new ids for as long as
it is polled: load for tests and benches) and `school-day` (one day on a primary school's Page,
told once: `socmon demo` plays it and then the Page rests).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from connectors.base import (
    Action,
    Capability,
    ConnectorOptions,
    Cursor,
    FatalError,
    Item,
    ItemGone,
    ItemKind,
    ItemRef,
    Page,
    TransientError,
    Visibility,
)

log = logging.getLogger(__name__)

DATA = Path(__file__).with_name("data")
#: the packaged scripts by name
STREAMS = {
    "sample": DATA / "demo_stream.jsonl",
    "school-day": DATA / "demo_school_day.jsonl",
}
STREAM = STREAMS["sample"]
CURSOR_VERSION = 1


class DemoOptions(ConnectorOptions):
    """What the simulated Page publishes, and how fast."""

    #: which packaged script the Page plays (see STREAMS)
    stream: Literal["sample", "school-day"] = "sample"
    #: after the script's last line, play it again under new ids (a Page that never stops);
    #: false: the Page rests and later polls find nothing new
    repeat: bool = True
    #: items already on the Page at the first poll
    initial: int = Field(default=120, ge=0)
    #: new items published before each later poll
    batch: int = Field(default=10, ge=0, le=10_000)
    page_size: int = Field(default=50, ge=1, le=10_000)
    #: where hides and deletions are remembered across restarts (memory only when unset)
    state_path: str | None = None
    #: a script of your own in the same JSON-lines format, instead of `stream`'s file
    stream_path: str | None = None


@dataclass(frozen=True, slots=True)
class _Line:
    kind: ItemKind
    post: int
    reply_to: int | None
    author: str
    text: str


@cache
def _load_stream(path: str) -> tuple[_Line, ...]:
    lines: list[_Line] = []
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
                lines.append(
                    _Line(
                        ItemKind(data["kind"]),
                        int(data["post"]),
                        data.get("reply_to"),
                        str(data["author"]),
                        str(data["text"]),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise FatalError(f"{path}:{number}: bad demo line ({exc})") from None
    if not lines:
        raise FatalError(f"{path}: the demo stream is empty")
    return tuple(lines)


class DemoConnector:
    """The `demo` platform: a fictional primary school's Page, hide and delete included."""

    platform: ClassVar[str] = "demo"
    sorted_results: ClassVar[bool] = True
    min_poll_interval: ClassVar[timedelta] = timedelta(seconds=1)
    options_model: ClassVar[type[ConnectorOptions]] = DemoOptions
    secret_names: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, *, channel: str, options: ConnectorOptions, secrets: Mapping[str, str]
    ) -> None:
        assert isinstance(options, DemoOptions)
        self.channel = channel
        self.options = options
        self.lines = _load_stream(options.stream_path or str(STREAMS[options.stream]))
        self._lock = threading.Lock()
        self._state: dict[str, str] = self._read_state()
        self._failures = 0
        self._post_lines = {
            ln.post: i
            for i, ln in reversed(list(enumerate(self.lines)))
            if ln.kind is ItemKind.POST
        }
        # The sample keeps its historic ids (demo-0, demo-1 ...); another script's ids name it,
        # so a data directory that played one script never mistakes the other's items for its own.
        self._prefix = (f"{channel}-" if options.stream == "sample"
                        else f"{channel}-{options.stream}-")
        self._id_pattern = re.compile(
            rf"^{re.escape(channel)}-(?:{re.escape(options.stream)}-)?x?\d+$")
        self.published_extra: list[Item] = []

    # -- takedown state -------------------------------------------------------------------
    def _read_state(self) -> dict[str, str]:
        if not self.options.state_path:
            return {}
        path = Path(self.options.state_path)
        if not path.is_file():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()}

    def _set_state(self, external_id: str, value: str) -> None:
        with self._lock:
            self._state[external_id] = value
            if self.options.state_path:
                path = Path(self.options.state_path)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self._state), encoding="utf-8")
                tmp.replace(path)

    # -- the stream -----------------------------------------------------------------------
    def _external_id(self, index: int) -> str:
        return f"{self._prefix}{index}"

    def _item(self, index: int, now: datetime) -> Item:
        n = len(self.lines)
        cycle, offset = divmod(index, n)
        line = self.lines[offset]
        base = cycle * n
        post_line = self._post_lines.get(line.post, offset)
        thread_id = self._external_id(base + post_line)
        parent_id = None
        if line.kind is ItemKind.COMMENT:
            parent_id = thread_id
        elif line.kind is ItemKind.REPLY and line.reply_to is not None:
            parent_id = self._external_id(base + int(line.reply_to))
        # The Page's own posts, and its replies under them (written by the post's author).
        own = line.kind is ItemKind.POST or line.author == self.lines[post_line].author
        external_id = self._external_id(index)
        return Item(
            platform=self.platform,
            external_id=external_id,
            kind=line.kind,
            text=line.text,
            created_at=now,
            # Stable across processes (hash() is salted per process).
            author_id="page" if own else "demo-" + re.sub(r"\W+", "-", line.author.lower()),
            author_name=line.author,
            url=f"https://demo.socmon.invalid/{self.channel}/{external_id}",
            parent_id=parent_id,
            thread_id=thread_id if not own else external_id,
            is_own=own,
            raw={
                "id": external_id,
                "from": line.author,
                "message": line.text,
                "created_time": now.isoformat(),
                "line": offset,
            },
        )

    def capabilities(self) -> Sequence[Capability]:
        """Hide and delete, with effects modelled on a Facebook Page."""
        return (
            Capability(
                Action.HIDE,
                "Hidden from everyone except the author and their friends, "
                "who do not see that it was hidden; it can be unhidden.",
            ),
            Capability(
                Action.DELETE,
                "Deleted from the Page for everyone, permanently; "
                "socmon keeps the evidence snapshot.",
            ),
        )

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Page:
        """Release the simulated backlog, then `batch` new items per poll pass."""
        state: dict[str, Any] = (
            dict(cursor.state) if cursor and cursor.version == CURSOR_VERSION else {}
        )
        if state.get("stream", "sample") != self.options.stream:
            state = {}  # the channel played another script before: this one starts afresh
        released = int(state.get("released", 0))
        pos = int(state.get("pos", 0))
        if pos >= released:  # a new pass: the Page has published more since the last one
            released = (
                released + self.options.batch
                if released
                else max(self.options.initial, self.options.batch)
            )
            if not self.options.repeat:
                released = min(released, len(self.lines))
        end = min(pos + self.options.page_size, released)
        items = [self._item(i, now) for i in range(pos, end)]
        if items and not self.options.repeat and end == len(self.lines):
            log.info("%s: the last of the %s script's %d items is published; the Page rests "
                     "now (later polls find nothing new)", self.channel, self.options.stream,
                     len(self.lines))
        with self._lock:
            items.extend(self.published_extra)
            self.published_extra.clear()
        marks: dict[str, Any] = {"released": released, "pos": end}
        if self.options.stream != "sample":
            marks["stream"] = self.options.stream
        cursor_out = Cursor(CURSOR_VERSION, marks)
        return Page(items=items, cursor=cursor_out, more=end < released, requests=1)

    def publish(self, text: str, *, now: datetime) -> Item:
        """Publish an extra comment (for tests and the contract harness)."""
        index = 10_000_000 + len(self._state) + len(self.published_extra) + 1
        while self._external_id(index) in self._state:
            index += 1
        base = self._item(0, now)
        item = Item(
            platform=self.platform,
            external_id=f"{self.channel}-x{index}",
            kind=ItemKind.COMMENT,
            text=text,
            created_at=now,
            author_id="demo-tester",
            author_name="Demo Tester",
            url=base.url,
            parent_id=base.external_id,
            thread_id=base.external_id,
            raw={"message": text},
        )
        with self._lock:
            self.published_extra.append(item)
        return item

    # -- takedown ---------------------------------------------------------------------------
    def _known(self, external_id: str) -> None:
        if not self._id_pattern.match(external_id):
            raise ItemGone(f"{external_id} is not an item of this demo channel")

    def hide(self, ref: ItemRef) -> None:
        """Hide a comment (idempotent)."""
        self._known(ref.external_id)
        self._maybe_fail()
        state = self._state.get(ref.external_id)
        if state in {"deleted", "gone"}:
            raise ItemGone(f"{ref.external_id} no longer exists")
        self._set_state(ref.external_id, "hidden")

    def delete(self, ref: ItemRef) -> None:
        """Delete an item; ItemGone when it is already gone."""
        self._known(ref.external_id)
        self._maybe_fail()
        if self._state.get(ref.external_id) in {"deleted", "gone"}:
            raise ItemGone(f"{ref.external_id} was already deleted")
        self._set_state(ref.external_id, "deleted")

    def restore(self, ref: ItemRef) -> None:
        """Simulate someone un-hiding or restoring the item on the platform itself."""
        self._set_state(ref.external_id, "visible")

    def fail_next_takedowns(self, count: int) -> None:
        """Simulate a platform outage: the next `count` hides or deletes fail transiently."""
        with self._lock:
            self._failures = count

    def _maybe_fail(self) -> None:
        with self._lock:
            if self._failures > 0:
                self._failures -= 1
                raise TransientError("simulated platform outage", retry_after=0)

    def remove_by_author(self, ref: ItemRef) -> None:
        """Simulate the author deleting their own comment."""
        self._set_state(ref.external_id, "gone")

    def check(self, ref: ItemRef) -> Visibility:
        """Visible, hidden, or gone."""
        self._known(ref.external_id)
        state = self._state.get(ref.external_id)
        if state == "hidden":
            return Visibility.HIDDEN
        if state in {"deleted", "gone"}:
            return Visibility.GONE
        return Visibility.VISIBLE

    def check_credentials(self) -> Sequence[str]:
        """The demo needs no credentials."""
        return []
