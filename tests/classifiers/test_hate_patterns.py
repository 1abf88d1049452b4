"""The hate phrase patterns: what they catch and what they leave alone."""

from __future__ import annotations

import re

import pytest

from classifiers import lexicon, rules
from classifiers.base import Label
from tests.classifiers.pattern_language import language


@pytest.mark.parametrize("phrases", [
    lexicon.HATE_GROUPS, lexicon.HATE_GROUP_NOUNS, lexicon.HATE_DIRT_WORDS,
    ("a", "ab", "abc", "b", "ba", "c d"),
])
def test_any_of_matches_exactly_its_phrases(phrases: tuple[str, ...]) -> None:
    pattern = lexicon._any_of(phrases)
    assert sorted(language(pattern)) == sorted(phrases)
    assert all(re.fullmatch(pattern, p) for p in phrases)


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
