"""Lists the phrases a phrase pattern matches, for tests that check every one of them."""

from __future__ import annotations

import functools
import itertools
import re

# the regex parser, to list the phrases a pattern matches (private, but stable since 3.11)
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

#: stands for any word where a pattern allows one (`\S+`, `\w+`)
GAP = "blah"
#: stands for any number where a pattern allows one (`\d+`)
NUMBER = "7"
_C = sre_constants
#: the open classes, and what stands for one character of each
_OPEN: dict[Any, str] = {_C.CATEGORY_NOT_SPACE: "x", _C.CATEGORY_WORD: "x",
                         _C.CATEGORY_DIGIT: NUMBER}


@functools.cache
def language(pattern: str) -> list[str]:
    """The phrases `pattern` matches (open words filled with `GAP`), each checked against it.

    Every count of a bounded repeat of fixed text is listed; a repeat of open words, or an
    unbounded one, is listed at its least count and one more.
    """
    phrases = list(dict.fromkeys(_language(sre_parser.parse(pattern))))  # (cached: read only)
    compiled = re.compile(pattern)
    assert all(compiled.fullmatch(p) for p in phrases)
    return phrases


def _language(parsed: Any) -> list[str]:
    out = [""]
    for op, av in parsed:
        out = [head + tail for head in out for tail in _item(op, av)]
    return out


def _item(op: Any, av: Any) -> list[str]:
    if op is _C.LITERAL:
        return [chr(av)]
    if op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):  # zero-width: checked by the fullmatch
        return [""]
    if op is _C.SUBPATTERN:
        return _language(av[-1])
    if op is _C.BRANCH:
        return [s for alternative in av[1] for s in _language(alternative)]
    if op is _C.IN:
        return _class(av)
    if op is _C.MAX_REPEAT:
        return _repeat(*av)
    raise AssertionError(f"the test cannot list the phrases of {op} {av}: extend `_item`")


def _class(av: Any) -> list[str]:
    out: list[str] = []
    for op, arg in av:
        if op is _C.LITERAL:
            out.append(chr(arg))
        elif op is _C.RANGE:
            out.extend(map(chr, range(arg[0], arg[1] + 1)))
        elif op is _C.CATEGORY and arg is _C.CATEGORY_SPACE:
            out.append(" ")
        elif op is _C.CATEGORY and arg in _OPEN:
            out.append(_OPEN[arg])
        else:
            raise AssertionError(f"the test cannot list the class {av}: extend `_class`")
    return out


def _repeat(low: int, high: int, body: Any) -> list[str]:
    if len(body) == 1 and body[0][0] is _C.IN and len(body[0][1]) == 1 and \
            body[0][1][0][0] is _C.CATEGORY and body[0][1][0][1] in _OPEN:
        # `\S+`, `\w+`, `\d+`: one word or number
        word = NUMBER if body[0][1][0][1] is _C.CATEGORY_DIGIT else GAP
        return [word] if low else ["", word]
    once = _language(body)
    open_only = all(set(s.split(" ")) <= {"", GAP, NUMBER, "x"} for s in once)
    unbounded = high == _C.MAXREPEAT
    counts = range(low, (low + 1 if open_only or unbounded else high) + 1)
    return ["".join(parts) for n in counts for parts in itertools.product(once, repeat=n)]
