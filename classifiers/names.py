"""The register of protected names: roster CSV parsing and fast matching in text."""

from __future__ import annotations

import bisect
import csv
import functools
import io
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ahocorasick
from rapidfuzz.distance import Levenshtein

from classifiers.base import ProtectedName
from classifiers.normalise import fold_case

ROSTER_COLUMNS = ("first_name", "last_name", "role", "aliases", "photo_consent")
#: the values of the optional `photo_consent` column (blank: not stated, left as it was)
CONSENT_VALUES = {"given": False, "withdrawn": True}
_REQUIRED = ("first_name", "last_name")
_NAME_CHARS = re.compile(r"^[^\W\d_]+(?:[ '’\-.][^\W\d_]+)*\.?$")


class RosterError(ValueError):
    """The roster CSV is malformed; the message names the row and column."""


def parse_roster(source: str | Path) -> list[ProtectedName]:
    """Parse a roster CSV (`first_name,last_name,role,aliases,photo_consent`; aliases separated
    by `;`, photo_consent `given` or `withdrawn`)."""
    if isinstance(source, Path):
        try:
            text = source.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RosterError(f"{source}: not UTF-8 text ({exc.reason})") from None
        except OSError as exc:
            raise RosterError(f"{source}: cannot read ({exc.strerror})") from None
    else:
        text = source.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise RosterError("row 1: the file is empty; expected a header "
                          "first_name,last_name,role,aliases") from None
    except csv.Error as exc:
        raise RosterError(f"row 1: {exc}") from None
    columns = [h.strip().lower() for h in header]
    for col in columns:
        if col not in ROSTER_COLUMNS:
            raise RosterError(f"row 1, column {col!r}: unknown column; expected "
                              + ",".join(ROSTER_COLUMNS))
    for col in _REQUIRED:
        if col not in columns:
            raise RosterError(f"row 1, column {col}: missing from the header")
    index = {c: i for i, c in enumerate(columns)}
    out: list[ProtectedName] = []
    row_no = 1
    try:
        for row in reader:
            row_no = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise RosterError(f"row {row_no}: {len(row)} fields, expected {len(columns)}")
            values = {c: row[i].strip() for c, i in index.items()}
            for col in _REQUIRED:
                if not values[col]:
                    raise RosterError(f"row {row_no}, column {col}: empty")
                if not _NAME_CHARS.match(values[col]):
                    raise RosterError(f"row {row_no}, column {col}: not a name")
            aliases = tuple(a.strip() for a in values.get("aliases", "").split(";") if a.strip())
            consent = values.get("photo_consent", "").lower()
            if consent and consent not in CONSENT_VALUES:
                raise RosterError(f"row {row_no}, column photo_consent: expected "
                                  + " or ".join(CONSENT_VALUES) + " (or blank)")
            out.append(ProtectedName(first_name=values["first_name"],
                                     last_name=values["last_name"],
                                     role=values.get("role") or "pupil", aliases=aliases,
                                     photo_consent_withdrawn=CONSENT_VALUES.get(consent)))
    except csv.Error as exc:
        raise RosterError(f"row {reader.line_num}: {exc}") from None
    return out


#: names that are also everyday words; a lower-case match of two such words is ignored
COMMON_WORD_NAMES: frozenset[str] = frozenset([
    "will", "mark", "grace", "hope", "joy", "rose", "may", "june", "summer", "amber", "ruby",
    "faith", "dawn", "bill", "pat", "sue", "jack", "frank", "guy", "rob", "art", "ray", "brown",
    "green", "white", "black", "young", "king", "hill", "wood", "stone", "bell", "hall",
    "wells", "page", "rich", "hunter", "baker", "cook", "miles", "bishop", "hart", "fox",
    "lamb", "little", "long", "short", "love", "moss", "rice", "rush", "sky", "star", "storm",
    "river", "autumn", "holly", "ivy", "daisy", "poppy", "lily", "violet", "jade", "pearl",
    "crystal", "angel", "penny", "sunny", "honey", "robin", "drew", "sage", "reed", "lane",
    "price", "park", "parks", "rush", "chase", "cash", "gay", "dean", "mason", "banks", "bush",
    "field", "fields", "ford", "marsh", "nash", "rose", "north", "south", "west", "bond",
    "best", "gold",
])

_WORD_CHAR = re.compile(r"[^\W_]")
_TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
#: `_TOKEN` for ASCII text, where `[^\W\d_]` is exactly `[A-Za-z]` (ranges test faster)
_TOKEN_ASCII = re.compile(r"[A-Za-z]+(?:['\-][A-Za-z]+)*")
#: the `_TOKEN_ASCII` words that start with a capital (a word starts where no letter, or no
#: letter and joiner, comes before it)
_CAPITALISED_TOKEN_ASCII = re.compile(
    r"[A-Z](?<![A-Za-z].)(?<![A-Za-z]['\-].)[A-Za-z]*(?:['\-][A-Za-z]+)*"
)


@dataclass(frozen=True, slots=True)
class NameHit:
    """A protected name found in a text."""

    start: int
    end: int
    name: ProtectedName
    reason: str


def _lower_same_length(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered.replace("’", "'")
    # a few characters (e.g. "İ") grow when lower-cased; keep offsets aligned
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text).replace("’", "'")


def _key(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


class NameRegister:
    """Protected names matched with an Aho-Corasick automaton plus small-misspelling checks."""

    def __init__(self, names: Iterable[ProtectedName]) -> None:
        """Index full names, alias + surname pairs and each name's parts for fuzzy matching."""
        self.names: tuple[ProtectedName, ...] = tuple(names)
        self._auto: ahocorasick.Automaton | None = None
        self._by_first: dict[str, list[tuple[str, ProtectedName]]] = defaultdict(list)
        self._by_last: dict[str, list[tuple[str, ProtectedName]]] = defaultdict(list)
        self._exact_parts: frozenset[str] = frozenset()
        if not self.names:
            return
        auto = ahocorasick.Automaton()
        for person in self.names:
            last = _key(person.last_name)
            for first in (person.first_name, *person.aliases):
                key_first = _key(first)
                if not key_first:
                    continue
                full = f"{key_first} {last}"
                label = "full name" if first == person.first_name else "alias with surname"
                auto.add_word(full, (full, person, label))
                self._by_first[key_first].append((last, person))
                self._by_last[last].append((key_first, person))
        auto.make_automaton()
        self._auto = auto
        # a misspelt pair needs one exact part: a first name, or a surname (maybe possessive)
        self._exact_parts = frozenset(
            [*self._by_first, *self._by_last, *(f"{last}'s" for last in self._by_last)]
        )
        # every full name and exact part, for `possible` (value: length, whether a part)
        gate = ahocorasick.Automaton()
        for part in self._exact_parts:
            gate.add_word(part, (len(part), True))
        for key, (full, _, _) in auto.items():
            gate.add_word(key, (len(full), False))
        gate.make_automaton()
        self._gate = gate

    def __len__(self) -> int:
        """How many people are registered."""
        return len(self.names)

    def possible(self, texts: Sequence[str]) -> set[int]:
        """Indices of the texts `find` could find a name in, from one automaton pass.

        Every other text has no registered full name anywhere in it (any case or boundary),
        and no exact first name or surname standing as a whole word, which the misspelling
        check needs. The lowered texts are joined by NUL, which no text may contain.
        """
        if self._auto is None:
            return set()
        lowered = [_lower_same_length(t) for t in texts]
        starts = list(itertools.accumulate((len(t) + 1 for t in lowered[:-1]), initial=0))
        low = "\x00".join(lowered)
        n = len(low)
        out: set[int] = set()
        for end, (length, part) in self._gate.iter(low):
            start = end - length + 1
            # a part with a letter beside it is inside a longer word, so no token equals it
            if part and ((start > 0 and low[start - 1].isalpha())
                         or (end + 1 < n and low[end + 1].isalpha())):
                continue
            out.add(bisect.bisect_right(starts, start) - 1)
        return out

    def find(self, text: str) -> list[NameHit]:
        """Every registered name in `text`: exact (any case, possessive) or slightly misspelt."""
        if self._auto is None or not text:
            return []
        low = _lower_same_length(text)
        hits: list[NameHit] = []
        covered: list[tuple[int, int]] = []
        n = len(low)
        for end_idx, (key, person, label) in self._auto.iter(low):
            start = end_idx - len(key) + 1
            end = end_idx + 1
            if start > 0 and _WORD_CHAR.match(low[start - 1]):
                continue
            if end < n and _WORD_CHAR.match(low[end]):
                continue
            if not _capitalised_enough(text[start:end], key):
                continue
            hits.append(NameHit(start, end, person, f"protected name ({label})"))
            covered.append((start, end))
        hits.extend(self._fuzzy(text, low, covered))
        hits.sort(key=lambda h: (h.start, h.end))
        return hits

    def _fuzzy(self, text: str, low: str, covered: Sequence[tuple[int, int]]) -> list[NameHit]:
        """Adjacent word pairs where one part is exact and the other is one or two edits away."""
        out: list[NameHit] = []
        if low.isascii():
            # only capitalised words can pair up, and the regex skips to capitals in C
            capitalised = map(str.lower, _CAPITALISED_TOKEN_ASCII.findall(text))
            if self._exact_parts.isdisjoint(capitalised):
                return out  # no capitalised word is an exact first name or surname
            token = _TOKEN_ASCII
        else:
            token = _TOKEN
            if self._exact_parts.isdisjoint(token.findall(low)):
                return out  # no word is an exact first name or surname, so no pair can match
        tokens = [(m.start(), m.end(), m.group()) for m in token.finditer(low)]
        by_first, by_last = self._by_first, self._by_last
        for (s1, _e1, w1), (s2, e2, w2) in itertools.pairwise(tokens):
            w2 = w2.removesuffix("'s")
            if w1 not in by_first and w2 not in by_last:
                continue  # cheapest test first: one part must be an exact registered name
            if any(s < e2 and s1 < e for s, e in covered):
                continue
            if not text[s1].isupper() or not text[s2].isupper():
                continue  # misspelt matches need name-like capitals to stay precise
            for last, person in self._by_first.get(w1, ()):
                if _close(w2, last):
                    out.append(NameHit(s1, e2, person, "protected name (misspelt surname)"))
                    break
            else:
                for first, person in self._by_last.get(w2, ()):
                    if _close(w1, first):
                        out.append(NameHit(s1, e2, person, "protected name (misspelt first name)"))
                        break
        return out


def _close(word: str, target: str) -> bool:
    """One edit for names up to six letters, two for longer ones (never an exact match)."""
    if word == target or abs(len(word) - len(target)) > 2 or len(target) < 4:
        return False
    limit = 1 if len(target) <= 6 else 2
    return Levenshtein.distance(word, target, score_cutoff=limit) <= limit


def _capitalised_enough(surface: str, key: str) -> bool:
    """Two common words in lower case ("will brown the onions") are not taken for a name."""
    parts = key.split(" ")
    if all(p in COMMON_WORD_NAMES for p in parts):
        return any(c.isupper() for c in surface)
    return True


TITLES = frozenset([
    "mr", "mrs", "miss", "ms", "mx", "dr", "sir", "madam", "prof", "coach", "rev", "father",
])


def is_title(word: str) -> bool:
    """Whether a word is a title before a name ("Mrs", "Dr.", "father"), in any case."""
    return word.rstrip(".").lower() in TITLES


_NOT_NAMES = frozenset([
    "the", "a", "an", "and", "our", "your", "my", "we", "you", "they", "it", "this", "that",
    "well", "done", "thank", "thanks", "happy", "great", "good", "congratulations", "year",
    "class", "school", "team", "dear", "hi", "hello", "merry", "welcome", "best", "big", "huge",
    "amazing", "good", "morning", "afternoon", "evening", "night", "please", "today",
    "tomorrow", "yesterday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday", "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "easter", "christmas", "summer", "autumn",
    "spring", "winter", "term", "half", "sports", "day", "primary", "academy", "college",
    "nursery", "church", "st", "saint", "new", "old", "north", "south", "east", "west", "upper",
    "lower", "park", "road", "street", "lane", "trust", "house", "football", "rugby", "netball",
    "cricket", "club", "music", "art", "science", "maths", "english", "history", "geography",
    "reception", "nursery", "pe", "after", "before", "parents", "carers", "staff", "sixth",
    "form",
])
#: a capitalised word, Latin-1 accents included ("Siân", "Zoë", "Oisín")
_CAP_WORD = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:[-'][A-ZÀ-ÖØ-Þ]?[a-zß-öø-ÿ]+)?"
#: a lookahead, so that "Our Jess Lambert" yields "Jess Lambert" after rejecting "Our Jess"
_FULL_NAME = re.compile(rf"\b(?=({_CAP_WORD}) ({_CAP_WORD})(?:'s)?\b)")
_CHILD_CONTEXT = re.compile(
    r"(?i:\b(?:year|yr|y)\s?(?:[1-9]|1[0-3])\b|\breception\b|\b(?:aged?|age)\s?\d{1,2}\b|\b\d{1,2}"
    r"\s?(?:yo|y/o|years? old|yrs? old)\b|\bclass\s?[0-9][A-Za-z0-9]*\b|\bform\s\d)"
    r"|\b[Cc]lass\s?[A-Z][A-Za-z0-9]*\b"
    r"|\b(?:at|goes to|attends|in) [A-Z][A-Za-z']+(?: [A-Z][A-Za-z']+)* (?:School|Academy|"
    r"Primary|Secondary|High|College|Nursery)\b"
    # a form group ("in 10B", "from 11H", "(9T)", ", 6R", "Price 10T"), an age group ("under
    # 13s", "U11s"), an age in brackets or said ("(14)", "he's 12"), a saint's school, a
    # teacher's class
    r"|(?:\b(?:in|from|of) |\(|, |(?<=[a-z]) )(?:[1-9]|1[0-3])"
    r"(?!(?:K|G|D|KM|GB|TB|MB|AM|PM|HD|FM|ST|ND|RD|TH)\b)[A-Z]{1,2}\b"
    r"|(?i:\b(?:under[- ]?|u)(?:[5-9]|1[0-8])s?\b)|\((?:[1-9]|1[0-7])\)"
    r"|\b(?:he'?s|she'?s|who'?s|who is) (?:[1-9]|1[0-7])\b"
    r"|\b(?:at|goes to|attends) St\.? [A-Z][a-z]+(?:'s)?"
    r"|\b(?:Mrs|Mr|Miss|Ms) [A-Z][a-z]+'s class\b",
)


_CHILD_HINT = re.compile(
    r"\d|[Rr]eception|School|Academy|Primary|Secondary|High|College|Nursery|[Cc]lass|St\b|St\."
)


_SCHOOL_WORDS = ("School", "Academy", "Primary", "Secondary", "High", "College", "Nursery")
#: a digit after the end of "y", "yr", "year", "age(d)", "class", "form" or before "yo",
#: "years old" and the like ("yr 5", "age 9", "5yo", "form 2", "class 4"); lower-case text
_CHILD_DIGIT = re.compile(
    r"\d(?:(?<=y\d)|(?<=yr\d)|(?<=ear\d)|(?<=age\d)|(?<=ged\d)|(?<=ass\d)"
    r"|(?<=y\s\d)|(?<=yr\s\d)|(?<=ear\s\d)|(?<=age\s\d)|(?<=ged\s\d)|(?<=ass\s\d)"
    r"|(?<=orm\s\d)|\s?y(?:o|/o|ears? old|rs? old))"
)


#: "at St", "goes to St", "attends St" in lower case: a saint's school needs one of these
_SAINT_WORDS = ("at st", "to st", "ds st")
#: necessary conditions for the form-group, bracketed-age, age-group and "he's 12" contexts
_FORM_OR_AGE_DIGIT = re.compile(r"\d[A-Z]|\(\d")
_AGE_GROUP = re.compile(r"\bu\d|nder[- ]?\d|s \d")


_GIVEN_NAMES_FILE = Path(__file__).parent / "data" / "given_names.txt"


@functools.cache
def given_names() -> frozenset[str]:
    """Common given names (lower case), from the list shipped in `classifiers/data`."""
    lines = _GIVEN_NAMES_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _child_context_possible(text: str) -> bool:
    """False only when `_CHILD_CONTEXT` cannot match (a cheap necessary condition)."""
    low = fold_case(text)
    return ("reception" in low or "lass" in low or any(w in text for w in _SCHOOL_WORDS)
            or any(w in low for w in _SAINT_WORDS) or _CHILD_DIGIT.search(low) is not None
            or _FORM_OR_AGE_DIGIT.search(text) is not None or _AGE_GROUP.search(low) is not None)


#: with no digit, `unregistered_names_with_child_context` finds something only if `fold_case`
#: of the text contains one of these (the words of `_CHILD_HINT` and `_child_context_possible`)
CHILD_HINT_WORDS: tuple[str, ...] = ("reception", "lass", *(w.lower() for w in _SCHOOL_WORDS),
                                     *_SAINT_WORDS)


def unregistered_names_with_child_context(text: str) -> list[tuple[int, int, str]]:
    """Full names (not titled staff) that stand with a child's age, year group, class or school.

    The first word must be a known given name, so that "Space Invaders" or "Hampton Court"
    next to "Year 5" is not taken for a pupil.
    """
    if not _child_context_possible(text) or not _CHILD_HINT.search(text):
        return []
    # the names before the context: few texts have one, and the context search costs more
    names = _untitled_full_names(text)
    if not names or not _CHILD_CONTEXT.search(text):
        return []
    out: list[tuple[int, int, str]] = []
    for start, end in names:
        window = text[max(0, start - 60):end + 60]
        ctx = _CHILD_CONTEXT.search(window)
        if ctx:
            detail = ctx.group().strip(" ,")
            out.append((start, end, f"full name with a child's details ({detail})"))
    return out


def _untitled_full_names(text: str) -> list[tuple[int, int]]:
    """Spans of the full names in `text` that start with a given name and follow no title."""
    out: list[tuple[int, int]] = []
    for m in _FULL_NAME.finditer(text):
        first, last = m.group(1).lower(), m.group(2).lower()
        start, end = m.start(1), m.end(2)
        if (first in _NOT_NAMES or last in _NOT_NAMES or first in TITLES
                or first not in given_names()):
            continue
        before = text[max(0, start - 6):start].lower().rstrip(". ").split(" ")[-1:]
        if before and is_title(before[0]):
            continue
        out.append((start, end))
    return out
