"""Trigger words read off a phrase pattern: every match of the pattern holds one of them.

The rule layer tries a pattern only on texts that have one of its trigger words, so a match
without one is silently lost. Typed by hand, the words drifted from the patterns (an entry
for "selfharming" gated on "selfharm" never fired); read off the pattern, they cannot.

The patterns run over normalised text: words of letters, digits and apostrophes (a masked word
also keeps its "*", "#" or "%") joined by single spaces. A `\\b` can also fall beside that glue
inside a word, so the rule layer gates on the pieces of glued words as well as on whole words.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence

# the regex parser (private, but stable since 3.11): the triggers come from what `re` compiles
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, TypeAlias

#: stands for a character the pattern leaves open (`\S`, `\w`, `\d`, `.`): never in a trigger
WILD = "\x00"
#: more strings than this in one stretch of a pattern, and its alternatives are read one by one
_MAX_STRINGS = 2_000
#: a word normalised text can hold (no leading or trailing apostrophe, no hyphen)
_TEXT_WORD = re.compile(r"(?!')[\w'*#%]+(?<!')")
#: a character normalised text never has (it has letters, digits, spaces and glue)
_NOT_IN_TEXT = re.compile(r"[^\w'*#% " + WILD + "]")
#: the glue that `\b` can fall beside inside a word (as in "o'", "maga#")
_GLUE = re.compile(r"['*#%]")
#: words found in most texts: a pattern gated on one would be tried on most texts (speed only:
#: any word every match holds is a correct trigger)
_COMMON = frozenset([
    "a", "about", "after", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been",
    "being", "but", "by", "can", "could", "did", "do", "does", "don't", "for", "from", "get", "go",
    "going", "got", "had", "has", "have", "he", "her", "here", "him", "his", "how", "i", "i'd",
    "i'll", "i'm", "i've", "if", "im", "in", "into", "is", "it", "it's", "its", "just", "know",
    "like", "me", "more", "my", "no", "not", "now", "of", "off", "on", "one", "or", "our", "out",
    "over", "she", "should", "so", "some", "something", "than", "that", "that's", "the", "their",
    "them", "then", "there", "they", "this", "to", "too", "u", "up", "ur", "us", "was", "we",
    "well", "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "ya",
    "you", "your",
])


#: what a pattern says about the text beside one end of a stretch of it (plain ints: an enum's
#: members are slow to look up, and the listing loops look them up thousands of times)
_Edge: TypeAlias = int
#: nothing: the match may start or end inside a word
_OPEN: _Edge = 0
#: `\b`: a word ends there, or a piece of a glued word does ("o'", "#")
_WORD: _Edge = 1
#: a space, or the start or end of the text: a word ends there
_SPACE: _Edge = 2


def trigger_words(pattern: str) -> frozenset[str]:
    """A cheap set of words one of which every match of `pattern` holds as a word.

    Raises ValueError when no such set exists (say, a match can be all wildcards), so that a
    pattern that could never be gated is found when the rules are compiled.
    """
    return required_words(pattern)[0]


def required_words(pattern: str) -> tuple[frozenset[str], ...]:
    """Sets of words a match of `pattern` holds one of each of, one per fixed stretch of it,
    cheapest first; raises ValueError when there is none."""
    stretches = _stretches(sre_parse.parse(pattern), _OPEN, _OPEN)
    covers = [c for c in itertools.starmap(_stretch_cover, stretches) if c]
    if not covers:
        raise ValueError(f"no word is in every match of {pattern!r}: give it a fixed word")
    return tuple(sorted(dict.fromkeys(covers), key=_total))


@functools.cache
def cost(word: str) -> int:
    """How often a word is guessed to turn up in texts: common and short words cost more."""
    return (16 if word in _COMMON else 1) << (8 - min(len(word), 8))


def _total(words: frozenset[str]) -> int:
    return sum(map(cost, words))


def _sequence_cover(items: Sequence[Any], left: _Edge, right: _Edge) -> frozenset[str] | None:
    """The cheapest cover among the stretches between spaces and `\\b` of a sequence."""
    covers = [c for c in itertools.starmap(_stretch_cover, _stretches(items, left, right))
              if c is not None]
    return min(covers, key=_total, default=None)


def _stretches(items: Sequence[Any], left: _Edge, right: _Edge
               ) -> list[tuple[list[Any], _Edge, _Edge]]:
    """The runs of items between separators, each with the edges on either side of it."""
    edges = [left]
    runs: list[list[Any]] = []
    open_run: list[Any] | None = None
    for op, av in items:
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            continue  # a lookaround is outside the match
        sep = _separator(op, av)
        if sep is None:
            if open_run is None:
                open_run = []
                runs.append(open_run)
            open_run.append((op, av))
        elif open_run is not None:
            open_run = None
            edges.append(sep)
        else:
            edges[-1] = max(edges[-1], sep)  # `\b` then a space: a word ends there
    if open_run is not None:
        edges.append(right)
    else:
        edges[-1] = max(edges[-1], right)
    return [(run, edges[i], edges[i + 1]) for i, run in enumerate(runs)]


def _separator(op: Any, av: Any) -> _Edge | None:
    """The edge an item marks when it only separates words (a space, `\\b`, `^`), else None."""
    if op is sre.LITERAL and av == ord(" "):
        return _SPACE
    if op is sre.IN and av == [(sre.CATEGORY, sre.CATEGORY_SPACE)]:
        return _SPACE
    if op is sre.AT and av is sre.AT_BOUNDARY:
        return _WORD
    if op is sre.AT and av in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING, sre.AT_END,
                               sre.AT_END_STRING):
        return _SPACE
    return None


def _stretch_cover(run: list[Any], left: _Edge, right: _Edge) -> frozenset[str] | None:
    """A cover for one stretch: from its listed strings, else from each alternative's own.

    Listing reads a `\\b` inside a group as nothing, so a group whose alternatives end in one
    ("^cut again\\b|\\bi cut myself again\\b") is read alternative by alternative instead.
    """
    strings = _strings(run)
    if strings is not None:
        needs = [words for words in (_words_in(s, left, right) for s in strings)
                 if words is not None]
        if needs and all(needs):
            return _hitting_set(needs)
    if len(run) == 1 and run[0][0] is sre.SUBPATTERN:
        return _sequence_cover(run[0][1][-1], left, right)
    if len(run) == 1 and run[0][0] is sre.BRANCH:
        covers = [_sequence_cover(alternative, left, right) for alternative in run[0][1][1]]
        if any(c is None for c in covers):
            return None
        return frozenset().union(*(c for c in covers if c is not None))
    return None


def _words_in(string: str, left: _Edge, right: _Edge) -> frozenset[str] | None:
    """The words of one listed string that can serve as triggers; None if no text holds it.

    Beside a `\\b` the text's word may go on past glue ("o'" + "what's" is "o'what's"), and
    the rule layer then gates on the glued word's pieces; so a trigger there has no glue.
    """
    if _NOT_IN_TEXT.search(string):
        return None  # normalised text has no hyphens, dots or currency signs
    parts = string.split(" ")
    last = len(parts) - 1
    out: set[str] = set()
    for j, word in enumerate(parts):
        before = left if j == 0 else _SPACE
        after = right if j == last else _SPACE
        if not word or WILD in word or before == _OPEN or after == _OPEN:
            continue  # not a whole word the pattern fixes
        if before == after == _SPACE:
            if not _TEXT_WORD.fullmatch(word):
                return None  # a word no text has ("'ll" after a space)
            out.add(word)
        else:
            out.update(piece for piece in _GLUE.split(word) if piece)
    return frozenset(out)


def _hitting_set(needs: list[frozenset[str]]) -> frozenset[str]:
    """Few, cheap words such that each set in `needs` has one (greedy, then pruned)."""
    # the only word of a set must be chosen ("teachers" in "kill teachers", "kill the teachers")
    forced = {word for words in needs if len(words) == 1 for word in words}
    left = [words for words in needs if forced.isdisjoint(words)]
    holders: dict[str, list[int]] = {}
    for i, words in enumerate(left):
        for word in words:
            holders.setdefault(word, []).append(i)
    counts = {word: len(held) for word, held in holders.items()}
    met = [False] * len(left)
    picked: set[str] = set()
    while counts:
        # the most sets met per cost; ties to the word that meets more, then the longer one
        # (then the later in the alphabet, so that the choice never depends on set order)
        best = max(counts, key=lambda w: (counts[w] / cost(w), counts[w], len(w), w))
        picked.add(best)
        for i in holders[best]:
            if not met[i]:
                met[i] = True
                for word in left[i]:
                    counts[word] -= 1
                    if not counts[word]:
                        del counts[word]
    # a word picked early may be needed by no set once the later picks are in
    for word in sorted(picked, key=lambda w: (-cost(w), w)):
        if all(len(left[i] & picked) > 1 for i in holders[word]):
            picked.discard(word)
    return frozenset(forced | picked)


def _strings(run: Sequence[Any]) -> list[str] | None:
    """Every string a run of items matches (`WILD` for open characters); None if too many."""
    out = [""]
    letters = ""  # a run of literal characters is added in one go
    for op, av in run:
        if op is sre.LITERAL:
            letters += chr(av)
            continue
        tails = _item_strings(op, av)
        if tails is None or len(out) * len(tails) > _MAX_STRINGS:
            return None
        out = [head + letters + tail for head in out for tail in tails]
        letters = ""
    return list(dict.fromkeys(head + letters for head in out))


def _item_strings(op: Any, av: Any) -> list[str] | None:
    """Every string one parsed item matches."""
    if op is sre.LITERAL:
        return [chr(av)]
    if op in (sre.NOT_LITERAL, sre.ANY):
        return [WILD]
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return [""]  # zero-width
    if op is sre.IN:
        return _class_strings(av)
    if op is sre.SUBPATTERN:
        return _strings(av[-1])
    if op is sre.BRANCH:
        alternatives = [_strings(alternative) for alternative in av[1]]
        if any(a is None for a in alternatives):
            return None
        return list(dict.fromkeys(s for a in alternatives if a is not None for s in a))
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        return _repeat_strings(*av)
    raise ValueError(f"trigger words: cannot read {op} {av}")


def _class_strings(av: Any) -> list[str]:
    """The characters of a class, with `WILD` for a category or a negated class."""
    out: list[str] = []
    for op, arg in av:
        if op is sre.NEGATE:
            return [WILD]  # may or may not be a space: treated as an unknown letter
        if op is sre.LITERAL:
            out.append(chr(arg))
        elif op is sre.RANGE:
            out.extend(map(chr, range(arg[0], arg[1] + 1)))
        elif op is sre.CATEGORY and arg is sre.CATEGORY_SPACE:
            out.append(" ")
        else:
            out.append(WILD)
    return list(dict.fromkeys(out))


def _repeat_strings(low: int, high: int, body: Any) -> list[str] | None:
    """The strings of a repeat: every count when its body has letters, else one or two."""
    once = _strings(body)
    if once is None:
        return None
    if all(set(s) <= {WILD, " "} for s in once):
        # more wildcard words add no word a trigger could be
        counts = range(low, min(high, low + 1) + 1)
    elif high == sre.MAXREPEAT:
        # "phwoar+": a word of any length has no finite list, so it is left unknown
        return [WILD] if low else ["", WILD]
    else:
        counts = range(low, high + 1)
    out: list[str] = []
    for n in counts:
        if len(out) + len(once) ** n > _MAX_STRINGS:
            return None
        out.extend("".join(parts) for parts in itertools.product(once, repeat=n))
    return list(dict.fromkeys(out))
