"""Every gated table's trigger words: every match of an entry holds one, so gating loses nothing."""

from __future__ import annotations

import random
import re

import pytest

from classifiers import lexicon, rules
from tests.classifiers.pattern_language import language

#: (table, index, pattern) for every entry of every gated table
ENTRIES = [(name, i, compiled.pattern) for name, table in rules._GATED_TABLES.items()
           for i, compiled in enumerate(table.patterns)]
IDS = [f"{name}-{i}" for name, i, _ in ENTRIES]
#: a text's glue: a `\b` also falls beside it inside a word
GLUE = re.compile(r"['*#%]")


def _table(name: str) -> rules._Gated:
    return rules._GATED_TABLES[name]


def test_every_pattern_table_is_gated() -> None:
    tables = {name: value for name, value in vars(lexicon).items()
              if name.endswith("_PATTERNS") or name.endswith("_PATTERN")}
    gated = {tuple(p.pattern for p in table.patterns) for table in rules._GATED_TABLES.values()}
    for name, value in tables.items():
        patterns = (value,) if isinstance(value, str) else value
        assert tuple(map(rules._bounded, patterns)) in gated, f"{name} is not gated"
    assert len(tables) == len(rules._GATED_TABLES)


def _words(phrase: str) -> set[str]:
    """The words of a phrase and the pieces of its glued words, as the gate sees them."""
    words = phrase.split(" ")
    return {*words, *(piece for word in words for piece in GLUE.split(word))}


@pytest.mark.parametrize(("name", "i", "pattern"), ENTRIES, ids=IDS)
def test_every_match_holds_a_trigger_word(name: str, i: int, pattern: str) -> None:
    table = _table(name)
    triggers = table.entry_triggers[i]
    assert triggers, f"{name} entry {i} has no trigger word"
    phrases = language(pattern)
    missed = [p for p in phrases if triggers.isdisjoint(_words(p))]
    assert missed == [], f"{name} entry {i}: no trigger word in {missed[:5]}"
    # and a word of each of the other sets the gate asks for
    for need in table.also[i]:
        assert need
        missed = [p for p in phrases if need.isdisjoint(_words(p))]
        assert missed == [], f"{name} entry {i}: none of {sorted(need)} in {missed[:5]}"


@pytest.mark.parametrize("name", list(rules._GATED_TABLES))
def test_gate_words_are_watched_words(name: str) -> None:
    table = _table(name)
    # the text's words are kept only when some rule watches them
    assert table.words() <= rules._WATCHED
    assert table.words() <= rules._GATE_WORDS
    words = sorted(table.words())
    assert all(re.fullmatch(r"[a-z0-9]+(?:'[a-z0-9]+)*", word) for word in words), words


def _gated(table: rules._Gated, joined: str) -> bool:
    toks = joined.split(" ")
    words = rules._gate_words(joined, toks, rules._WATCHED.intersection(toks))
    return rules._search_gated(table, joined, words) is not None


@pytest.mark.parametrize(("name", "i", "pattern"), ENTRIES, ids=IDS)
def test_gated_search_finds_every_match_even_inside_a_token(
    name: str, i: int, pattern: str
) -> None:
    table = _table(name)
    phrases = language(pattern)
    rng = random.Random(f"{name}-{i}")
    # a `\b` also falls beside an apostrophe or a mask character, inside a token
    for phrase in rng.sample(phrases, min(len(phrases), 200)):
        assert _gated(table, phrase), phrase
        words = phrase.split(" ")
        rng.shuffle(words)
        for text in (f"well {phrase} ok", f"o'{phrase}'s", f"#maga#{phrase}#x", f"f*{phrase}",
                     f"{phrase}s", f"x{phrase}", " and ".join(words)):
            plain = any(p.search(text) for p in table.patterns)
            assert _gated(table, text) == plain, text


#: the stems of the "n't" contractions ("won't" is "won" + "'t" to a `\b`)
NOT_STEMS = frozenset({"ain", "aren", "can", "couldn", "didn", "doesn", "don", "hadn", "hasn",
                       "haven", "isn", "mustn", "needn", "shan", "shouldn", "wasn", "weren",
                       "won", "wouldn"})


@pytest.mark.parametrize(("name", "i", "pattern"), ENTRIES, ids=IDS)
def test_no_match_ends_inside_a_negative_contraction(name: str, i: int, pattern: str) -> None:
    # gating no longer hides such a match ("you won't believe it" read as "you won")
    compiled = re.compile(pattern)
    wrong = [p for p in language(pattern)
             if p.rsplit(" ", 1)[-1] in NOT_STEMS and compiled.search(f"{p}'t")]
    assert wrong == [], f"{name} entry {i} matches {wrong[0]!r} inside {wrong[0]!r}'t"
