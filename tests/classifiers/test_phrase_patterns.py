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
