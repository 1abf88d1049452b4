"""The threat, safeguarding, spam and sexual phrase patterns: what they catch and leave alone."""

from __future__ import annotations

import pytest

from classifiers import rules
from classifiers.base import Label


def labels(text: str) -> set[Label]:
    return rules.lexical_hits(text).labels


@pytest.mark.parametrize("text", [
    "you won't believe what happened next", "you won't see it coming",
])
def test_a_negative_contraction_is_not_a_prize(text: str) -> None:
    assert Label.SPAM not in labels(text)


@pytest.mark.parametrize("text", ["you've won a prize", "congratulations you won"])
def test_a_prize_is_spam(text: str) -> None:
    assert Label.SPAM in labels(text)


@pytest.mark.parametrize(("text", "label", "quoted"), [
    # entries whose hand-typed triggers missed these words, so they never fired
    ("i have been selfharming again", Label.SAFEGUARDING, "selfharming"),
    ("i took loads of paracetamol", Label.SAFEGUARDING, "took loads of paracetamol"),
    ("I swallowed a handful of paracetamol", Label.SAFEGUARDING,
     "swallowed a handful of paracetamol"),
    ("how to kill myself", Label.SAFEGUARDING, "how to kill myself"),
    ("my cousin runs a traphouse", Label.SAFEGUARDING, "traphouse"),
    ("free v bucks dm me", Label.SAFEGUARDING, "free v bucks"),
    ("best nudecam site", Label.SEXUAL, "nudecam"),
    ("live camshow tonight", Label.SEXUAL, "live camshow"),
    ("i will put you in intensive care", Label.THREAT, "i will put you in intensive care"),
])
def test_entries_that_were_gated_out_fire(text: str, label: Label, quoted: str) -> None:
    hits = rules.lexical_hits(text)
    assert label in hits.labels
    assert f"{label.value}: {quoted!r}" in hits.reasons


@pytest.mark.parametrize("text", [
    # the everyday words beside those entries stay clean
    "self harmony yoga at lunch", "no harm done, just a selfie",
    "paracetamol for teething", "took some paracetamol for my headache",
    "take some paracetamol and get some rest", "calpol or paracetamol for a fever?",
    "how to hang a picture", "how to kill time on a train",
    "we put a mouse trap in the house", "trap music at the house party",
    "bucks fizz at the party", "v bucks are so expensive",
    "the camera site was down", "the webcam is not working",
    "grandad was put in intensive care last night",
])
def test_everyday_words_beside_those_entries_stay_clean(text: str) -> None:
    assert labels(text) == set()
