"""The hate patterns' trigger words: every match of an entry holds one, so gating loses nothing."""

from __future__ import annotations

import itertools
import random
import re

# the regex parser, to list the phrases a pattern matches (private, but stable since 3.11)
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

import pytest

from classifiers import lexicon, rules
from classifiers.base import Label

#: stands for any word where a pattern allows one (`\S+`)
GAP = "blah"
ENTRIES = list(enumerate(lexicon.HATE_PATTERNS))


def _language(parsed: Any) -> list[str]:
    """Every string a parsed pattern matches, a repeat taken at most once beyond its minimum."""
    out = [""]
    for op, av in parsed:
        out = [head + tail for head in out for tail in _item(op, av)]
    return out


def _item(op: Any, av: Any) -> list[str]:
    c = sre_constants
    not_space = (c.IN, [(c.CATEGORY, c.CATEGORY_NOT_SPACE)])
    if op is c.LITERAL:
        return [chr(av)]
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):  # zero-width: checked by the fullmatch below
        return [""]
    if op is c.SUBPATTERN:
        return _language(av[-1])
    if op is c.BRANCH:
        return [s for alternative in av[1] for s in _language(alternative)]
    if (op, av) == not_space:
        return [GAP]
    if op is c.IN and all(o is c.LITERAL for o, _ in av):
        return [chr(a) for _, a in av]
    if op is c.MAX_REPEAT:
        low, high, body = av
        if list(body) == [not_space]:  # `\S+`: one word
            return [GAP] if low else ["", GAP]
        once = _language(body)
        counts = range(low, low + 2 if high > low else low + 1)
        return ["".join(parts) for n in counts for parts in itertools.product(once, repeat=n)]
    raise AssertionError(f"the test cannot list the phrases of {op} {av}: extend `_item`")


def language(pattern: str) -> list[str]:
    """The phrases `pattern` matches (gaps filled with `GAP`), each checked against it."""
    phrases = _language(sre_parser.parse(pattern))
    compiled = re.compile(pattern)
    assert all(compiled.fullmatch(p) for p in phrases)
    return phrases


@pytest.mark.parametrize(("i", "entry"), ENTRIES)
def test_every_match_holds_a_trigger_word(i: int, entry: tuple[frozenset[str], str]) -> None:
    triggers, pattern = entry
    missed = [p for p in language(pattern) if triggers.isdisjoint(p.split(" "))]
    assert missed == [], f"entry {i}: add a trigger word for {missed[:5]}"


@pytest.mark.parametrize(("i", "entry"), ENTRIES)
def test_trigger_words_are_watched_words(i: int, entry: tuple[frozenset[str], str]) -> None:
    triggers, pattern = entry
    # the text's words are kept only when some rule watches them, and `\b.*\b` would be rewritten
    assert triggers <= rules._WATCHED
    assert all(re.fullmatch(r"[a-z]+", word) for word in triggers), sorted(triggers)
    assert rules._bounded(pattern) == pattern


@pytest.mark.parametrize("phrases", [
    lexicon.HATE_GROUPS, lexicon.HATE_GROUP_NOUNS, lexicon.HATE_DIRT_WORDS,
    ("a", "ab", "abc", "b", "ba", "c d"),
])
def test_any_of_matches_exactly_its_phrases(phrases: tuple[str, ...]) -> None:
    pattern = lexicon._any_of(phrases)
    assert sorted(language(pattern)) == sorted(phrases)
    assert all(re.fullmatch(pattern, p) for p in phrases)


def _hate_match(joined: str) -> re.Match[str] | None:
    toks = joined.split(" ")
    words = rules._WATCHED.intersection(toks)
    return rules._search_gated(rules._HATE, joined, rules._hate_words(joined, toks, words))


#: every pattern as one alternation, as the rule layer searched them before they were gated
ALTERNATION = re.compile("|".join(pattern for _, pattern in lexicon.HATE_PATTERNS))


@pytest.mark.parametrize(("i", "entry"), ENTRIES)
def test_gated_search_finds_every_match_even_inside_a_token(
    i: int, entry: tuple[frozenset[str], str]
) -> None:
    phrases = language(entry[1])
    rng = random.Random(i)
    # a `\b` also falls beside an apostrophe or a mask character, inside a token
    for phrase in rng.sample(phrases, min(len(phrases), 300)):
        for text in (phrase, f"well {phrase} ok", f"o'{phrase}'s", f"#maga#{phrase}#x",
                     f"f*{phrase}"):
            assert _hate_match(text), text
        words = phrase.split(" ")
        rng.shuffle(words)
        shuffled = " and ".join(words)
        assert bool(_hate_match(shuffled)) == bool(ALTERNATION.search(shuffled)), shuffled


def hate(text: str) -> bool:
    return Label.HATE in rules.lexical_hits(text).labels


@pytest.mark.parametrize("text", [
    "go back to your own country", "Go back where you came from",
    "all immigrants should go home", "these asylum seekers should be deported",
    "women belong in the kitchen", "girls should know their place",
    "disabled kids shouldn't be in our school", "autistic people are a drain",
    "ban all muslims", "deport the illegals", "kick out the foreigners",
    "send them back", "ship em all back", "deport them all", "that's so gay",
    "the special needs kid is so thick", "#BuildThatWall", "build the wall", "rapefugees",
    "porch monkeys", "slant eyes", "immigrants out", "asylum seekers out",
    "England for the English", "the jews control the media", "sink the boats",
    "the boats really should be sunk", "gypsies stink", "eastern europeans all smell awful",
    "muslims are terrorists", "refugees are nothing but parasites", "migrant invasion",
    "polish vermin", "dirty immigrants", "stinking gypsies", "filthy asylum seekers",
    "curry munchers", "typical woman", "hysterical feminists", "women are inferior",
    "girls r just hoes", "get back in the kitchen", "make me a sandwich",
    # the phrase starts or ends inside a token: "#" keeps a masked-looking token whole
    "#MAGA#BuildThatWall", "#EnforceUSLaws#DeportThemAll", "that rapefugee's lawyer",
    # rules-5: exclusion, age and disability without slurs
    "Halal meat in the canteen? This is England not Pakistan", "Go back to Lagos love",
    "send her back to Nigeria", "go back to where you came from", "bunch of coffin dodgers",
    "anyone over 65 should step down", "autistics are just spoilt brats",
    "ADHD is made up by lazy parents", "pensioners are a burden on the NHS",
])
def test_each_hate_phrase_fires(text: str) -> None:
    assert hate(text)


@pytest.mark.parametrize("text", [
    "we played space invaders at lunch", "go back to your seat please",
    "make me a cup of tea", "please send the forms back by friday", "the kitchen is closed",
    "the boats were lovely", "special needs provision is improving", "ban phones in class",
    "women's football is on tonight", "our polish exchange students arrive today",
    "all refugees need our help", "all women deserve respect", "some women smell lovely",
    "these immigrants want to work", "take the tent poles out of the bag",
    "we go back to Pakistan every summer to see family", "the deaf club is brilliant",
])
def test_trigger_words_without_a_hate_phrase_do_not_fire(text: str) -> None:
    assert not hate(text)
