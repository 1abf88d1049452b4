"""The minimal connector in docs/connectors.md runs: listed, deleted, checked, errors mapped."""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import AuthError, ItemKind, ItemRef, NotSupported, Visibility
from tests.emulators.server import Emulator, Request, Response

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"


def _example_module() -> types.ModuleType:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert code, "docs/connectors.md lost its example"
    module = types.ModuleType("guestbook_example")
    exec(compile(code.group(1), str(DOC), "exec"), module.__dict__)
    return module


class Guestbook(Emulator):
    """A guestbook API with a key check."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[int, dict[str, object]] = {}
        self.route("GET", r"/entries", self._list)
        self.route("GET", r"/entries/(\d+)", self._one)
        self.route("DELETE", r"/entries/(\d+)", self._delete)

    def add(self, text: str) -> int:
        entry_id = len(self.entries) + 1
        self.entries[entry_id] = {"id": entry_id, "author": "Parent", "text": text,
                                  "time": datetime.now(UTC).isoformat()}
        return entry_id

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == "Bearer k"

    def _list(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(401, {"error": "bad key"})
        after = int(request.query.get("after", "0"))
        return Response(200, {"entries": [e for i, e in self.entries.items() if i > after]})

    def _one(self, request: Request) -> Response:
        entry = self.entries.get(int(request.match.group(1)))
        return Response(200, entry) if entry else Response(404, {"error": "gone"})

    def _delete(self, request: Request) -> Response:
        found = self.entries.pop(int(request.match.group(1)), None)
        return Response(200, {}) if found else Response(404, {"error": "gone"})


@pytest.fixture
def guestbook() -> Iterator[Guestbook]:
    server = Guestbook().start()
    yield server
    server.stop()


def test_documented_connector_works(guestbook: Guestbook) -> None:
    module = _example_module()
    cls = module.GuestbookConnector
    options = cls.options_model.model_validate({"api_url": guestbook.url})
    connector = cls(channel="gb", options=options, secrets={"api_key": "k"})
    first = guestbook.add("hello")
    page = connector.fetch(None, now=datetime.now(UTC))
    assert [i.external_id for i in page.items] == [str(first)]
    second = guestbook.add("you useless prat")
    again = connector.fetch(page.cursor, now=datetime.now(UTC))
    assert [i.text for i in again.items] == ["you useless prat"]
    ref = ItemRef(str(second), ItemKind.COMMENT)
    with pytest.raises(NotSupported):
        connector.hide(ref)
    connector.delete(ref)
    assert connector.check(ref) is Visibility.GONE
    bad = cls(channel="gb", options=options, secrets={"api_key": "wrong"})
    with pytest.raises(AuthError):
        bad.fetch(None, now=datetime.now(UTC))
    assert bad.check_credentials()
