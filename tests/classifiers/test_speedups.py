"""The fast paths give the same answers as the plain patterns and code they stand in for."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import numpy as np
import pytest

from classifiers import identifying, names, normalise, policy, rules
from classifiers import model as text_model
from classifiers.base import Label, ProtectedName
from classifiers.normalise import fold_case
from classifiers.policy import PolicyClassifier

#: the hints as plain regexes, for comparison (routine: the module keeps its spec beside the
#: fast check, and rules-3 widened it)
PLAIN: dict[str, re.Pattern[str]] = {
    "address": re.compile(r"live|living|stay|house is|home is|apt|flat|suite", re.IGNORECASE),
    "routine": identifying._ROUTINE_HINT,
    "weekday": re.compile(r"day\b", re.IGNORECASE),
    "email": re.compile(r"[\w.%+\-]@[A-Za-z0-9]"),
    "vehicle": re.compile(r"[A-Z]\d|\d ?[A-Z]{3}\b"),
    "date": re.compile(r"\d\d\d\d|\d[/.\-]\d|\d(?:st|nd|rd|th)\b|(?i:jan|feb|mar|apr|may|jun|"
                       r"jul|aug|sep|oct|nov|dec|day\b)"),
    "leet": re.compile(r"[^\W\d_][0134578@$!|€£*#%]+[^\W\d_]|[^\W\d_]\$+|\$[^\W\d_]"),
    "mask": re.compile(r"[^\W\d_][*#%]"),
    "spaced": re.compile(r"(?:^|[^\w])\w[ .\-_*]\w[ .\-_*]\w(?:$|[^\w])"),
}
#: pieces that exercise every branch, including the non-ASCII letters that IGNORECASE matches
#: to ASCII ones (dotted and dotless i, long s, Kelvin sign) and non-ASCII digits
PIECES = [
    "live", "Living", "STAY", "house is", "HoMe is", "apt", "fLat", "suite", "every", "each",
    "alone", "own", "OWN", "bus", "at ", "AT ", "am", "PM", "jan", "Day", "dec", "st", "nd", "th",
    "ſtay", "ſuite", "\u212a", "\u0130", "\u0131", "\u0663", "²", "@", ".", "-", "/", "%", "+",
    "_", "x", "A", "Z", "Q", " ", "1", "2", "9", "0", "é", "ownx", "bus1", "$", "!", "|", "€", "*",
    "#", "b", "\n", "year", "Yr", "y", "reception", "RECEPTION", "aged", "yo", "y/o",
    "years old", "class", "Class", "form", "4B", "School", "High", "Σ", "ß", "himself", "HERſELF",
    "the ", "THE ",
]


def _samples(n: int, seed: int, pieces: list[str] = PIECES) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 7))) for _ in range(n)]


SAMPLES = _samples(20_000, 0)
#: short pieces so that single letters between separators ("f u c") come up often
SPACED = _samples(20_000, 2, ["a", "b", "é", "1", "_", " ", ".", "-", "*", "!", "\n", "ab"])


def _same(plain: re.Pattern[str], fast: Callable[[str], object]) -> None:
    samples = SPACED if plain is PLAIN["spaced"] else SAMPLES
    wrong = [t for t in samples if bool(plain.search(t)) != bool(fast(t))]
    assert wrong == []
    assert any(plain.search(t) for t in samples)  # the samples do reach the pattern


@pytest.mark.parametrize(("name", "fast"), [
    ("address", lambda t: identifying._address_hint(fold_case(t))),
    ("routine", lambda t: identifying._routine_hint(fold_case(t))),
    ("weekday", lambda t: "day" in fold_case(t) and identifying._DAY_WORD.search(fold_case(t))),
    ("email", identifying._EMAIL_HINT.search),
    ("vehicle", identifying._VEHICLE_HINT.search),
    ("date", identifying._date_hint),
    ("leet", normalise._LEETISH.search),
    ("mask", normalise._HAS_MASK.search),
    ("spaced", normalise._SPACED_HINT.search),
])
def test_fast_hints_match_exactly_the_plain_patterns(
    name: str, fast: Callable[[str], object]
) -> None:
    _same(PLAIN[name], fast)


def test_routine_hint_without_digits_only_skips_digit_branches() -> None:
    for text in SAMPLES:
        if text.isascii() and not any(c.isdigit() for c in text):
            low = fold_case(text)
            assert identifying._routine_hint(low, digits=False) == identifying._routine_hint(low)


def test_url_hint_is_any_listed_ending() -> None:
    pieces = [*identifying._URL_TLDS, ".", "c", "o", "m", "x", " ", "W", "w", "h", "ttp", "CO"]
    for text in _samples(20_000, 1, pieces):
        assert identifying._url_hint(text) == any(t in text for t in identifying._URL_TLDS)


def test_folded_date_pattern_finds_the_same_spans() -> None:
    texts = [*SAMPLES[:5000], "1st of MAY 2019 ſunday", "12/03/2014T12:00", "2019-01-02T10:11",
             "Born on the 3RD OF MARCH", "WEDNESDAY"]
    for text in texts:
        plain = [m.span() for m in identifying._DATE.finditer(text)]
        fast = [m.span() for m in identifying._DATE_FOLDED.finditer(fold_case(text))]
        assert fast == plain


def test_fold_case_keeps_length_and_classes() -> None:
    for ch in ("\u0130", "\u0131", "\u017f", "\u212a", "Σ", "ß", "É", "\u0663", "\u2028", "A"):
        folded = fold_case(ch)
        assert len(folded) == 1
        for cls in (r"\w", r"\d", r"\s"):
            assert bool(re.fullmatch(cls, ch)) == bool(re.fullmatch(cls, folded))
    assert fold_case("L\u0130VE \u212aIT ſTAY") == "live kit stay"


@pytest.mark.parametrize("text", ["Amy Jones in Year 6 at Riverside Primary School",
                                  "Tom Price aged 9", "Sam Hill, 10 yrs old", "Class 4B",
                                  "Jo Bloggs in RECEPTION", "Max Power in class 3"])
def test_child_context_gate_never_hides_a_match(text: str) -> None:
    assert names._CHILD_CONTEXT.search(text)
    assert names._child_context_possible(text)


def test_child_context_gate_on_samples() -> None:
    for text in SAMPLES:
        if names._CHILD_CONTEXT.search(text):
            assert names._child_context_possible(text), text


def test_ascii_token_patterns_equal_the_unicode_ones() -> None:
    for text in [*SAMPLES[:5000], "don't stop-me now's", "o'neil-smith's 3rd"]:
        if text.isascii():
            assert names._TOKEN_ASCII.findall(text) == names._TOKEN.findall(text)
            assert normalise._TOKENS_ASCII.findall(text) == normalise._TOKENS.findall(text)


def test_clean_skips_nothing_it_should_change() -> None:
    assert normalise.clean("f\u200bu\u00adck") == "fuck"
    assert normalise.clean("сunt") == "cunt"  # Cyrillic "с"
    assert normalise.clean("Ｆｕｃｋ 😂") == "Fuck 😂"


def test_hashed_counts_equal_the_vectorizer() -> None:
    texts = ["", "a", "you are a twat", "don't 'quote' me_now 12 ab-cd", "same same same"]
    plain = text_model._vectorizer().transform(texts)
    fast = text_model._hashed_counts(texts)
    assert plain.shape == fast.shape
    assert np.array_equal(plain.indptr, fast.indptr)
    assert np.array_equal(plain.indices, fast.indices)
    assert np.array_equal(plain.data, fast.data)


def test_explain_row_equals_explain_on_a_sliced_row() -> None:
    model = text_model.shipped()
    x = model.features(["you are a useless idiot", "lovely sports day"])
    lo, hi = x.indptr[0], x.indptr[1]
    head = text_model.MODEL_LABELS.index("abuse")
    assert model.explain_row(x.data[lo:hi], x.indices[lo:hi], head) == model.explain(x[0], head)


def test_gated_patterns_are_tried_in_lexicon_order() -> None:
    text = "claim your reward now, tap the link"
    joined = " ".join(normalise.tokens(normalise.normalise(text)))
    m = rules._search_gated(rules._SPAM, joined, frozenset(joined.split(" ")))
    assert m is not None
    first = next(i for i, p in enumerate(rules._SPAM.patterns) if p.search(joined))
    assert rules._SPAM.patterns[first].search(joined).group() == m.group()  # type: ignore[union-attr]


def test_misspelt_names_still_found_behind_the_prefilter() -> None:
    register = names.NameRegister([ProtectedName("Oliver", "Whitfield"),
                                   ProtectedName("Zoë", "Ødegård")])
    reasons = [h.reason for h in register.find("Saw Oliver Whitfeld and Olivr Whitfield's mum")]
    assert reasons == ["protected name (misspelt surname)", "protected name (misspelt first name)"]
    assert register.find("Zoë Ødegard") != []
    assert register.find("oliver whitfeld") == []  # misspellings need capitals


def test_policy_scores_cover_every_label_in_order() -> None:
    verdict = PolicyClassifier().classify(["you are a useless idiot", "call 07700 900123"])
    assert list(verdict[0].scores) == list(Label)
    assert verdict[0].scores[Label.ABUSE] >= 0.97
    assert verdict[1].scores[Label.IDENTIFYING] == 0.97


def test_capitalised_ascii_tokens_are_the_capitalised_tokens() -> None:
    pieces = ["Ab", "ab", "A", "b", "'", "-", " ", "O'Neil", "x-Ray", "1", "Cd's", ".", "'s"]
    for text in _samples(20_000, 3, pieces):
        expected = [t for t in names._TOKEN_ASCII.findall(text) if t[0].isupper()]
        assert names._CAPITALISED_TOKEN_ASCII.findall(text) == expected, text


def test_batched_rounding_equals_python_round() -> None:
    rng = np.random.default_rng(0)
    k = np.arange(10_000)
    ties = (k + 0.5) / 1e4
    values = np.concatenate([rng.random(200_000), rng.random(20_000) ** 8, ties, k / 1e4,
                             np.nextafter(ties, 2.0), np.nextafter(ties, -1.0)])
    rounded = policy._round4_array(values.reshape(-1, 1))[:, 0].tolist()
    assert rounded == [round(v, 4) for v in values.tolist()]


def test_identifying_batch_equals_text_by_text() -> None:
    register = names.NameRegister([ProtectedName("Oliver", "Whitfield", aliases=("Ollie",)),
                                   ProtectedName("Zoë", "Ødegård")])
    texts = [*SAMPLES[:3000], "Ollie Whitfield's mum", "Olivr Whitfield in Year 5",
             "Amy Jones aged 9 at Riverside Primary School", "call 07700 900123",
             "he walks home alone every day", "Zoë Ødegard", "a@b.co", "", "x\x00y"]
    for batch in (texts, texts[:-1]):
        got = rules.identifying_hits_batch(batch, register)
        assert got == [rules.identifying_hits(t, register) for t in batch]


def test_features_accept_an_empty_last_text() -> None:
    model = text_model.shipped()
    x = model.features(["you are a useless idiot", ""])
    assert x.shape[0] == 2
    assert x.indptr[1] == x.indptr[2]


def test_routine_possible_whenever_the_routine_pattern_matches() -> None:
    pieces = ["walks", "Goes", "gets", "CATCHES", "takes", "plays", "waits", "stays", "ſtays",
              "cycles", "leaves", "home", "alone", "on her own", "by himself", "every", "each",
              "day", "morning", "at the", "AT THE", "bus stop", "park", "at 7:45", "the 3:40",
              "the 12 bus", "after school", "is", "be", "he", "She", " ", " ", ".", "x",
              "sits", "hangs out", "plays out", "every Tuesday", "at 3.15", "Lola"]
    texts = _samples(20_000, 4, pieces)
    matching = [t for t in texts
                if identifying._ROUTINE.search(t) or identifying._ROUTINE_NAMED.search(t)]
    assert matching  # the samples do reach the pattern
    assert all(identifying._routine_possible(fold_case(t)) for t in matching)


def test_bucket_names_of_is_bucket_names_restricted() -> None:
    for joined in ["", "you are a useless idiot you are", "don't 'quote' me_now 12 ab-cd",
                   " ".join(SAMPLES[:200])]:
        every = text_model._bucket_names(joined)
        wanted = set(list(every)[::3]) | {-1}
        assert text_model._bucket_names_of(joined, wanted) == {
            fid: gram for fid, gram in every.items() if fid in wanted}


def test_identifying_hits_found_keeps_only_texts_with_hits() -> None:
    register = names.NameRegister([ProtectedName("Oliver", "Whitfield")])
    texts = [*SAMPLES[:2000], "Oliver Whitfield", "call 07700 900123", "x\x00y"]
    for batch in (texts, texts[:-1]):
        found = rules.identifying_hits_found(batch, register)
        every = [rules.identifying_hits(t, register) for t in batch]
        assert found == {i: h for i, h in enumerate(every) if h.labels or h.spans}


def test_policy_verdicts_equal_text_by_text() -> None:
    clf = PolicyClassifier([ProtectedName("Oliver", "Whitfield")])
    texts = ["you are a useless idiot", "killed it today!", "Oliver Whitfield is in year 5",
             "lovely sports day", "", "all muslims are terrorists", "x" * 9000 + " you idiot",
             "call 07700 900123", *SAMPLES[:300]]
    assert clf.classify(texts) == [clf.classify([t])[0] for t in texts]
