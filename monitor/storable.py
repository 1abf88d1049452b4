"""Text both databases accept: no NUL characters, no unpaired surrogates, the original kept.

PostgreSQL refuses NUL in text, and neither driver can encode a lone UTF-16 surrogate such as
`\\ud800` (which JSON allows and a platform may send). Anyone who can comment could otherwise
make a page unstorable and blind the channel, so fetched text is repaired at the boundary and
the platform's payload is kept, exactly, as ASCII-escaped JSON beside the repaired copy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from connectors.base import Item

#: longest text stored verbatim; longer texts are truncated in the store but kept whole in `raw`
MAX_TEXT = 100_000
#: characters neither SQLite nor PostgreSQL can store as text through their drivers
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: what replaces each of them: the Unicode replacement character, visible to a moderator
REPLACEMENT = "\ufffd"
#: the key under which a repaired payload keeps its original, escaped to plain ASCII
ORIGINAL_KEY = "socmon_original_json"


def is_storable(text: str) -> bool:
    """Whether `text` can be stored as it is."""
    return _UNSTORABLE.search(text) is None


def storable_text(text: str) -> str:
    """`text` with surrogate halves re-paired, and lone surrogates and NUL replaced."""
    if is_storable(text):
        return text
    # A high and low half that arrived separately are one character: UTF-16 re-pairs them;
    # whatever half is left alone becomes U+FFFD.
    paired = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return paired.replace("\x00", REPLACEMENT)


def storable_value(value: Any) -> Any:
    """A JSON-like value with every string (keys included) made storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, Mapping):
        return {storable_text(str(k)): storable_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_value(v) for v in value]
    return value


def escaped_json(value: Any) -> str:
    """`value` as JSON in plain ASCII: NUL and lone surrogates become `\\uXXXX` escapes."""
    return json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)


def all_storable(value: Any) -> bool:
    """Whether every string in a JSON-like value (keys included) can be stored as it is."""
    if isinstance(value, str):
        return is_storable(value)
    if isinstance(value, Mapping):
        return all(all_storable(str(k)) and all_storable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(all_storable(v) for v in value)
    return True


def storable_payload(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The payload made storable; when that changed it, the exact original rides along."""
    if all_storable(raw):
        return dict(raw)
    repaired: dict[str, Any] = storable_value(raw)
    repaired[ORIGINAL_KEY] = escaped_json(dict(raw))
    return repaired


def _optional(text: str | None) -> str | None:
    return None if text is None else storable_text(text)


def storable_item(item: Item) -> Item:
    """The fetched item with every text field, and its payload, storable in both databases."""
    texts = (item.external_id, item.text, item.author_id, item.author_name, item.url,
             item.parent_id, item.thread_id)
    if all(t is None or is_storable(t) for t in texts) and all_storable(item.raw):
        return item
    return replace(
        item,
        external_id=storable_text(item.external_id),
        text=storable_text(item.text),
        author_id=_optional(item.author_id),
        author_name=_optional(item.author_name),
        url=_optional(item.url),
        parent_id=_optional(item.parent_id),
        thread_id=_optional(item.thread_id),
        raw=storable_payload(item.raw),
    )
