"""Reading trigger words off a phrase pattern: which words every match is sure to hold."""

from __future__ import annotations

import pytest

from classifiers.triggers import cost, required_words, trigger_words


@pytest.mark.parametrize(("pattern", "expected"), [
    # one fixed word: that word
    (r"\bsink the boats\b", {"boats"}),
    # an alternation of words: all of them
    (r"\b(?:kill|stab|shoot) (?:you|u)\b", {"kill", "stab", "shoot"}),
    # a word glued to the next by an optional space: the word, and each compound
    (r"\bcam ?(?:shows?|girls?)\b", {"cam", "camshow", "camshows", "camgirl", "camgirls"}),
    # an alternative with words of its own: its cheapest word
    (r"\b(?:netflix and chill|slide into my dms)\b", {"netflix", "slide"}),
    # each top-level alternative keeps its own `\b` and `^`
    (r"^(?:just )?cut again\b|\bi hurt myself again\b", {"again", "myself"}),
])
def test_reads_the_words_every_match_holds(pattern: str, expected: set[str]) -> None:
    assert trigger_words(pattern) == expected


def test_each_fixed_stretch_gives_a_set_the_cheapest_first() -> None:
    assert required_words(r"\b(?:kill|stab) (?:all )?(?:the )?teachers\b") == (
        frozenset({"teachers"}), frozenset({"kill", "stab"}))
    assert trigger_words(r"\b(?:kill|stab) (?:all )?(?:the )?teachers\b") == {"teachers"}


def test_optional_endings_are_listed_in_full() -> None:
    # typed by hand, "selfharming" was missing, and the entry never fired on it
    assert {"selfharm", "selfharming"} <= trigger_words(r"\bself ?harm(?:ing)?\b")


def test_a_word_the_match_may_end_inside_is_not_a_trigger() -> None:
    # no `\b` after "regret": "you will regrets" matches, and has no word "regret"
    assert trigger_words(r"\byou will regret") == {"will"}
    assert trigger_words(r"\byou will regret\b") == {"regret"}


def test_a_word_beside_a_word_boundary_is_gated_by_its_pieces() -> None:
    # "\bod'ing\b" matches inside "x'od'ing", whose pieces are "x", "od" and "ing"
    assert trigger_words(r"\bod'ing\b") <= {"od", "ing"}
    # between spaces it is a whole word of the text
    assert trigger_words(r"\bhe (?:is|was) od'ing now\b") == {"od'ing"}


def test_strings_normalised_text_cannot_hold_are_left_out() -> None:
    # normalised text has no hyphens, and no word starts with an apostrophe
    assert trigger_words(r"\bself[ -]harm\b") in ({"self"}, {"harm"})
    assert trigger_words(r"\bu (?:will|'ll) pay\b") == {"pay"}


def test_common_words_cost_more_than_rare_ones() -> None:
    assert cost("the") > cost("kill") > cost("strangle")
    assert trigger_words(r"\bin the bedroom\b") == {"bedroom"}


@pytest.mark.parametrize("pattern", [
    r"\bphwoar+\b",  # a word of any length: no finite list of words
    r"\S+ \S+",  # nothing fixed at all
    r"\b(?:dtf|\w+)\b",  # one alternative has nothing fixed
])
def test_a_pattern_without_a_fixed_word_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="no word is in every match"):
        trigger_words(pattern)
