"""The rule layer: normalised lexicons, phrase patterns, identifying detectors, names."""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import ahocorasick

from classifiers import identifying, lexicon
from classifiers import names as names_module
from classifiers.base import Label, ProtectedName, Span, Verdict, make_verdict
from classifiers.names import NameRegister, unregistered_names_with_child_context
from classifiers.normalise import (
    MASK_CHARS,
    collapse_runs,
    fold_case,
    has_long_run,
    normalise,
    tokens,
    without_mentions,
)
from classifiers.triggers import required_words

#: bumped whenever a pattern changes, so the audit trail tells verdicts of two rule sets apart
RULES_VERSION = "rules-6"

#: texts longer than this are scanned in windows so that no pattern can go quadratic
_WINDOW = 4000

_TARGETS = frozenset([
    "you", "u", "ya", "yah", "ye", "yous", "youse", "your", "ur", "yer", "you're", "youre",
    "ur're", "u're", "he", "she", "him", "her", "his", "they", "them", "their", "he's", "she's",
    "they're", "this", "that", "teacher", "teachers", "head", "headteacher", "head's", "miss",
    "sir", "mrs", "mr", "ms", "staff", "school", "governors", "governor", "mum", "dad", "mums",
    "dads", "parents", "kids", "kid", "boy", "girl", "son", "daughter", "man", "woman", "lady",
    "bloke", "guy", "lot", "bunch", "what", "such", "absolute", "total", "complete", "utter",
    "proper", "coach", "manager", "ref", "referee", "leader", "politician", "politicians",
    "councillor", "councillors",
])
#: the targets that are people: an evaluative insult ("useless", "a disgrace") next to "this",
#: "what" or "school" is a complaint about a thing or the organisation, not name-calling
_PERSON_TARGETS = _TARGETS - frozenset(["this", "that", "what", "such", "absolute", "total",
                                        "complete", "utter", "proper", "school"])
_FUCK_TARGETED = re.compile(
    r"\b(?:fuck|fuk|fck|f) (?:off|you|u|ya|ur|your|yourself|him|her|them|this school|that "
    r"teacher|the lot of you|em)\b|\bget fucked\b|\bgo fuck (?:yourself|urself)\b|\bfuck (?:the|"
    r"this|that) (?:teacher|head|headteacher|school|staff|lot)\b|\bstfu\b"
)
#: words between "you're a" and the insult ("you're a lazy, useless ...")
_MODIFIERS = (r"(?:a|an|such|so|fucking|fuckin|bloody|total|complete|absolute|utter|proper|right|"
              r"massive|big|little|useless|pathetic|lying|thick|stupid|fat|ugly|dirty|heartless|"
              r"lazy|bumbling|arrogant|smug|spineless|gutless|nasty|vile|sad|miserable|horrible|"
              r"jumped up|two faced|sneaky)")
_IS_A = re.compile(
    r"\b(?:(?P<person>you'?re|you are|ur|u r|u are|you|he'?s|she'?s|they'?re|he is|she is|"
    r"they are|bunch of|load of|shower of|pack of)|(?P<owner>[^\W\d_]+)(?:'s| is| are) an?|"
    r"what a|such a)(?: " + _MODIFIERS + r")* (?P<word>\S+)"
)
#: owners of "'s a" that are not a person ("it's a", "there's a")
_NOT_OWNERS = frozenset(["it", "that", "there", "what", "here", "who", "where", "let", "this",
                         "which", "one", "life", "everything", "nothing", "something"])
#: a person called a word that is otherwise a tool, food or animal: only these frames count,
#: so "our class pet is a rat" and "you melt the butter" stay clean
_CALLED = re.compile(
    r"\b(?:you'?re|you are|u r|u are|ur an?|he'?s|she'?s|they'?re|he is|she is|they are|"
    r"what an?|such an?)(?: " + _MODIFIERS + r")* (\S+)"
    r"|\b(?:you|ya|u)(?: " + _MODIFIERS + r")+ (\S+)"
)


def _bounded(pattern: str) -> str:
    """Replace unbounded gaps between words with at most twelve words, so matching stays linear."""
    return pattern.replace(r"\b.*\b", r"\b(?: \S+){0,12} ")


@dataclass(frozen=True, slots=True)
class _Gated:
    """Patterns indexed by trigger word, so a text only tries the patterns its words allow."""

    patterns: tuple[re.Pattern[str], ...]
    #: each pattern's trigger words (every match of a pattern holds one of its own)
    entry_triggers: tuple[frozenset[str], ...]
    #: each pattern's other sets of words a match holds one of (from its other fixed stretches):
    #: a text without one of them is not tried either, which is cheaper than the pattern
    also: tuple[tuple[frozenset[str], ...], ...]
    by_word: dict[str, tuple[int, ...]]
    triggers: frozenset[str]

    def words(self) -> frozenset[str]:
        """Every word the gate looks for, triggers and the other sets alike."""
        return self.triggers.union(*(need for also in self.also for need in also))


def _compile_gated(patterns: Sequence[str]) -> _Gated:
    """Compile a table of phrase patterns with the trigger words read off each one."""
    bounded = [_bounded(p) for p in patterns]
    required = [required_words(p) for p in bounded]
    by_word: dict[str, list[int]] = {}
    for i, (triggers, *_) in enumerate(required):
        for word in sorted(triggers):
            by_word.setdefault(word, []).append(i)
    return _Gated(tuple(map(re.compile, bounded)), tuple(need[0] for need in required),
                  tuple(need[1:] for need in required),
                  {w: tuple(ix) for w, ix in by_word.items()}, frozenset(by_word))


def _compile_any(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{_bounded(p)})" for p in patterns))


_THREAT = _compile_gated(lexicon.THREAT_PATTERNS)
_SAFEGUARDING = _compile_gated(lexicon.SAFEGUARDING_PATTERNS)
_SPAM = _compile_gated(lexicon.SPAM_PATTERNS)
_SEXUAL = _compile_gated(lexicon.SEXUAL_PATTERNS)
_HATE = _compile_gated(lexicon.HATE_PATTERNS)
_KYS = _compile_gated((lexicon.KYS_PATTERN,))
#: the idioms, gated for finding them in a text (`_IDIOM` tells whether a threat is one)
_IDIOMS = _compile_gated(lexicon.IDIOM_PATTERNS)
_IDIOM = _compile_any(lexicon.IDIOM_PATTERNS)
#: every gated table, by name (the trigger test walks them all)
_GATED_TABLES: dict[str, _Gated] = {
    "threat": _THREAT, "safeguarding": _SAFEGUARDING, "spam": _SPAM, "sexual": _SEXUAL,
    "hate": _HATE, "kys": _KYS, "idiom": _IDIOMS,
}
#: where a token splits into the pieces `\b` sees: a pattern's `\b` also falls beside an
#: apostrophe or a mask character inside a token, so a phrase can begin or end there
#: ("maga#buildthatwall", which the masked-word tokenizer keeps whole, or "rapefugee's") and its
#: trigger word is then a piece of a token, not one of the text's words
_GLUE = re.compile(r"['*#%]")
_SAFE = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in lexicon.SAFE_PHRASES) + r")\b")
#: every word that lets an idiom or a threat, safeguarding, spam or sexual pattern be tried
_ANY_TRIGGER = (_IDIOMS.triggers | _THREAT.triggers | _SAFEGUARDING.triggers | _SPAM.triggers
                | _SEXUAL.triggers)
#: every word any table's gate looks for
_GATE_WORDS: frozenset[str] = frozenset().union(*(t.words() for t in _GATED_TABLES.values()))

_ALL_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("swear", lexicon.SWEARS),
    ("insult", lexicon.INSULTS | lexicon.STRONG_INSULTS | lexicon.MISOGYNIST_SLURS),
    ("slur", lexicon.SLURS - lexicon.AMBIGUOUS_SLURS),
    ("sexual", lexicon.SEXUAL_WORDS),
)
_KNOWN: frozenset[str] = frozenset().union(*(words for _, words in _ALL_WORDS))
#: words whose possessive is read as the word itself (see `lexicon.POSSESSIVE_INSULTS`)
_POSSESSIVE_BASES: frozenset[str] = (lexicon.POSSESSIVE_INSULTS | lexicon.MISOGYNIST_SLURS
                                     | lexicon.STRONG_INSULTS
                                     | (lexicon.SLURS - lexicon.AMBIGUOUS_SLURS))
#: collapsed spelling ("fuck" for "fuuuuck") -> the lexicon word
_COLLAPSED: dict[str, str] = {}
for _word in sorted(_KNOWN):
    _COLLAPSED.setdefault(collapse_runs(_word), _word)
_BY_LENGTH: dict[int, list[str]] = {}
for _group, _words in _ALL_WORDS:
    for _word in sorted(_words):
        _BY_LENGTH.setdefault(len(_word), []).append(_word)
#: a reply: the text opens with one or more @-mentions ("RT @x:" is a quote, not a reply)
_REPLY = re.compile(r"\s*@\w")
_NEEDS_CANONICAL = re.compile(r"[^\W\d_][*#%]|([^\W\d_])\1\1|[^\W\d_]'s\b")
#: every word whose presence some rule tests (`_lexical_window` keeps just these of a text's)
_WATCHED: frozenset[str] = _KNOWN | lexicon.FRAMED_INSULTS | _GATE_WORDS | lexicon.BODY_WORDS


@functools.lru_cache(maxsize=4096)
def _unmask(token: str) -> str | None:
    """The lexicon word a masked token stands for ("f***ing" -> "fucking"), if any."""
    stripped = token.strip("*#%")
    if not stripped or not any(c.isalpha() for c in stripped):
        return None
    candidates = _BY_LENGTH.get(len(token), ())
    pattern = re.compile("".join("[a-z]" if c in MASK_CHARS else re.escape(c) for c in token))
    for word in candidates:
        if pattern.fullmatch(word):
            return word
    return None


def canonical(token: str) -> str:
    """A token mapped back to its lexicon word when it is a stretched or masked spelling, or
    the possessive of a slur or of name-calling ("that slut's", "the idiot's")."""
    if token in _KNOWN:
        return token
    if token.endswith("'s"):
        base = canonical(token[:-2])
        if base in _POSSESSIVE_BASES:
            return base
    if any(c in MASK_CHARS for c in token):
        return _unmask(token) or token
    if has_long_run(token):
        return _COLLAPSED.get(collapse_runs(token), token)
    return token


#: words repeat across texts, so their canonical spelling is looked up once per process
_canonical_cached = functools.lru_cache(maxsize=1 << 16)(canonical)


@dataclass(slots=True)
class LexicalHits:
    """What the rules found in one text: labels, reasons, spans, and the normalised words."""

    labels: set[Label] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    #: the normalised, de-obfuscated words joined by spaces (the model's input)
    joined: list[str] = field(default_factory=list)
    idiom: bool = False

    def add(self, label: Label, reason: str) -> None:
        self.labels.add(label)
        if reason not in self.reasons:
            self.reasons.append(reason)


def lexical_hits(text: str) -> LexicalHits:
    """Labels, reasons and spans the lexicons and phrase patterns give for one text."""
    hits = LexicalHits()
    if len(text) <= _WINDOW:
        _lexical_window(text, hits)
        return hits
    # very long texts: a window at a time, so no pattern can see more than a few pages
    for offset in range(0, len(text), _WINDOW):
        _lexical_window(text[offset:offset + _WINDOW + 200], hits)
    return hits


def _search_gated(gated: _Gated, joined: str, words: frozenset[str]) -> re.Match[str] | None:
    """The first pattern (in lexicon order) that matches, of those whose gate words are present.

    Patterns are tried in lexicon order, not set order, so the quoted reason does not depend
    on the interpreter's string-hash seed.
    """
    present = gated.triggers.intersection(words)
    if not present:
        return None
    by_word = gated.by_word
    if len(present) == 1:
        order: Sequence[int] = by_word[next(iter(present))]
    else:
        order = sorted({i for word in present for i in by_word[word]})
    for i in order:
        for need in gated.also[i]:
            if words.isdisjoint(need):
                break  # a fixed stretch of the pattern is missing: it cannot match
        else:
            m = gated.patterns[i].search(joined)
            if m:
                return m
    return None


def _lexical_window(text: str, hits: LexicalHits) -> None:
    low = normalise(text)
    written = tokens(without_mentions(low))
    toks = list(map(_canonical_cached, written))
    if toks != written and not _NEEDS_CANONICAL.search(low):
        toks = written  # a digit run such as "333" is not a stretched word
    joined = " ".join(toks)
    if _has_safe_hint(joined) and _SAFE.search(joined):
        joined = _SAFE.sub(lambda m: "_" * len(m.group()), joined)
        toks = joined.split(" ")
    hits.joined.append(joined)
    # only the words some rule looks for: cheaper to build than the set of every word
    wordset = _WATCHED.intersection(toks)
    known = wordset & _KNOWN
    if known:
        _word_hits(toks, written, hits, joined, _REPLY.match(low) is not None)
    if not lexicon.FRAMED_INSULTS.isdisjoint(wordset):
        for called in _CALLED.finditer(joined):
            word = called.group(1) or called.group(2)
            if word in lexicon.FRAMED_INSULTS:
                hits.add(Label.ABUSE, f"abuse: called {word!r}")
    words = _gate_words(joined, toks, wordset)
    m = _search_gated(_KYS, joined, words)
    if m:
        hits.add(Label.ABUSE, f"abuse: {m.group()!r}")
        hits.add(Label.THREAT, f"threat: {m.group()!r}")
    # about a third of comments have none of the words any phrase pattern needs
    if not _ANY_TRIGGER.isdisjoint(words):
        _phrase_hits(joined, words, hits)
    if not text.isascii() and not lexicon.SEXUAL_EMOJI.isdisjoint(text):
        _emoji_hits(text, hits, wordset)  # (which needs one of the sexual emoji)
    if Label.SEXUAL in hits.labels and Label.SAFEGUARDING not in hits.labels:
        child = about_a_child(joined)
        if child:
            hits.add(Label.SAFEGUARDING, f"safeguarding: sexual and about a child ({child!r})")
    m = _search_gated(_HATE, joined, words)
    if m:
        hits.add(Label.HATE, f"hate: {m.group()!r}")


def _gate_words(joined: str, toks: Sequence[str], wordset: frozenset[str]) -> frozenset[str]:
    """`wordset` with the gates' words that are pieces of longer tokens ("maga#illegals")."""
    if "'" in joined or "#" in joined or "*" in joined or "%" in joined:
        # only the tokens with glue in them (a token of letters and digits is alphanumeric)
        pieces = [p for tok in itertools.filterfalse(str.isalnum, toks) for p in _GLUE.split(tok)]
        glued = _GATE_WORDS.intersection(pieces)
        if glued:
            return wordset | glued
    return wordset


#: words that make a sexual comment one about a child: the taxonomy makes anything sexual
#: about a child `safeguarding` too ("year 11 girls in the sports day pics 🥵", "well developed
#: for 16", "one of the sixth formers"). "Kid", "child" and "teen" are left out: in sexual
#: comments they are mostly insults ("that kid's a pussy"), news or porn spam, not a pupil
_CHILD_WORDS = re.compile(
    r"\b(?:pupils?|schoolgirls?|schoolboys?|schoolkids?|underage|sixth ?formers?|"
    r"(?:little|lil) (?:girls?|boys?|blonde|brunette)|(?:(?:year|yr) ?|y)(?:[1-9]|1[0-3])s?"
    r"(?! (?:teachers?|staff|tutors?|parents?|mums?|dads?|team leaders?)\b)|"
    r"aged? (?:[4-9]|1[0-7])|(?:[4-9]|1[0-7]) ?(?:yo|y o|yrs? old|years? old|year olds?)|"
    r"(?:developed|mature|grown up|looks|fit|hot|sexy) for (?:a |an |her |"
    r"his )?(?:[4-9]|1[0-7])(?! (?:mins?|minutes|hours|days|weeks|months|years)\b))\b"
)
_SCHOOL_CROWD = re.compile(
    r"\b(?:girls|boys|lass|lasses|lads)\b(?: \S+){0,8} (?:school|class|choir|prom|squad|team|"
    r"sports day|assembly|uniform|playground|form)\b|\b(?:school|class|choir|prom|squad|team|"
    r"sports day|assembly|uniform|playground)\b(?: \S+){0,8} (?:girls|boys|lass|lasses|lads)\b"
)


#: sexual words that are mostly a taunt for cowardice ("you pussy"), not sex
_TAUNTS = frozenset({"pussy", "pussies"})


def about_a_child(joined: str) -> str | None:
    """For a text already found sexual: the words that put a child in it, if any.

    None when its only sexual words are taunts: "even a 10 year old could do it, you pussy"
    is an insult, not a child sexualised.
    """
    sexual = lexicon.SEXUAL_WORDS.intersection(joined.split(" "))
    if sexual and sexual <= _TAUNTS:
        return None
    m = _CHILD_WORDS.search(joined) or _SCHOOL_CROWD.search(joined)
    return m.group() if m else None


def _with_next_words(joined: str, m: re.Match[str], n: int = 4) -> str:
    """A match and the `n` words after it: whether a threat is an idiom often rests on its
    object ("going to smash the" + "exams")."""
    after = joined[m.end():].split(" ", n + 1)[: n + 1]
    return m.group() + " ".join(after)


def _phrase_hits(joined: str, words: frozenset[str], hits: LexicalHits) -> None:
    """Idioms and the threat, safeguarding, spam and sexual phrase patterns."""
    if _search_gated(_IDIOMS, joined, words):
        hits.idiom = True
    m = _search_gated(_THREAT, joined, words)
    if m and not _IDIOM.search(_with_next_words(joined, m)):
        hits.add(Label.THREAT, f"threat: {m.group()!r}")
    m = _search_gated(_SAFEGUARDING, joined, words)
    if m:
        hits.add(Label.SAFEGUARDING, f"safeguarding: {m.group()!r}")
    m = _search_gated(_SPAM, joined, words)
    if m:
        hits.add(Label.SPAM, f"spam: {m.group()!r}")
    m = _search_gated(_SEXUAL, joined, words)
    if m:
        hits.add(Label.SEXUAL, f"sexual: {m.group()!r}")


def _emoji_hits(text: str, hits: LexicalHits, wordset: frozenset[str]) -> None:
    """Sexual emoji: an aubergine, peach or tongue with another such emoji, with a leer, or
    beside a body word ("bum", "legs")."""
    chars = set(text)
    sexual = lexicon.SEXUAL_EMOJI & chars
    company = (sexual | lexicon.SUGGESTIVE_EMOJI | lexicon.LEER_EMOJI) & chars
    if sexual and len(company) >= 2:
        shown = "".join(sorted(company))
        hits.add(Label.SEXUAL, f"sexual: emoji {shown}")
    elif sexual and not lexicon.BODY_WORDS.isdisjoint(wordset):
        body = min(lexicon.BODY_WORDS & wordset)
        hits.add(Label.SEXUAL, f"sexual: emoji {''.join(sorted(sexual))} with {body!r}")


def _word_hits(toks: Sequence[str], written: Sequence[str], hits: LexicalHits, joined: str,
               addressed: bool) -> None:
    """Per-word labels for texts that contain at least one lexicon word.

    `addressed`: the text is a reply to someone (it @-mentions them), so an insult in it is
    aimed at a person even without "you" nearby.
    """
    swears: list[str] = []
    for i, word in enumerate(toks):
        if word not in _KNOWN:
            continue
        shown = written[i] if i < len(written) and len(written) == len(toks) else word
        as_written = "" if shown == word else f" (written {shown!r})"
        if word in lexicon.SLURS and word not in lexicon.AMBIGUOUS_SLURS:
            hits.add(Label.HATE, f"hate: slur {word!r}{as_written}")
        if word in lexicon.MISOGYNIST_SLURS:
            hits.add(Label.HATE, f"hate: misogynist slur {word!r}{as_written}")
        if word in lexicon.SEXUAL_WORDS:
            hits.add(Label.SEXUAL, f"sexual: {word!r}{as_written}")
        if word in lexicon.STRONG_INSULTS:
            hits.add(Label.ABUSE, f"abuse: insult {word!r}{as_written}")
        elif word in lexicon.INSULTS and ((addressed and word not in lexicon.NEEDS_NEARBY_TARGET)
                                                or _targeted(toks, i, evaluative=word in
                                                             lexicon.EVALUATIVE_INSULTS)):
            hits.add(Label.ABUSE, f"abuse: insult {word!r} aimed at someone{as_written}")
        if word in lexicon.SWEARS:
            swears.append(word)
    for aimed in _IS_A.finditer(joined):
        word = aimed.group("word")
        if ((word in lexicon.SWEARS or word in lexicon.INSULTS or word in lexicon.SLURS)
                and _aimed_at_person(aimed, word)):
            hits.add(Label.ABUSE, f"abuse: {word!r} aimed at someone")
    m = _FUCK_TARGETED.search(joined)
    if m:
        hits.add(Label.ABUSE, f"abuse: {m.group()!r}")
    if swears and Label.ABUSE not in hits.labels:
        hits.add(Label.PROFANITY, f"profanity: {swears[0]!r}")


_SAFE_HINTS = ("dick", "cock", "puss", "tit", "bum", "hoe", "ass", "ball", "bloody", "ash",
               "sex", "homo", "black", "negro", "queer", "fag", "slag")


def _has_safe_hint(joined: str) -> bool:
    # spelt out: a generator over `_SAFE_HINTS` costs more than the substring tests themselves
    return ("dick" in joined or "cock" in joined or "puss" in joined or "tit" in joined
            or "bum" in joined or "hoe" in joined or "ass" in joined or "ball" in joined
            or "bloody" in joined or "ash" in joined or "sex" in joined or "homo" in joined
            or "black" in joined or "negro" in joined or "queer" in joined or "fag" in joined
            or "slag" in joined)


def _targeted(words: Sequence[str], i: int, *, evaluative: bool = False) -> bool:
    """Whether a word at position `i` has a person it is aimed at within three words."""
    lo = max(0, i - 3)
    targets = _PERSON_TARGETS if evaluative else _TARGETS
    return any(w in targets for w in words[lo:i + 3] if w != words[i])


def _aimed_at_person(aimed: re.Match[str], word: str) -> bool:
    """Whether an "is a"-style frame calls a person the word, not a thing ("is a disgrace")."""
    if aimed.group("person"):
        return True
    owner = aimed.group("owner")
    if owner is None:  # "what a" / "such a": a person only when the word is name-calling
        return word not in lexicon.EVALUATIVE_INSULTS
    if owner in _NOT_OWNERS:
        return False
    # "Dave's a prat" names a person by the insult itself; "the car park's a shit tip" does not
    name_calling = word not in lexicon.EVALUATIVE_INSULTS and word not in lexicon.SWEARS
    return name_calling or owner in _PERSON_TARGETS


def identifying_hits(text: str, register: NameRegister | None) -> LexicalHits:
    """Identifying spans: contact details, identifiers, addresses, routines and names."""
    return _identifying(text, register)


def _identifying(text: str, register: NameRegister | None, *, details: bool = True,
                 names: bool = True, child: bool = True) -> LexicalHits:
    """`identifying_hits`, skipping the parts a batch prescreen has shown find nothing."""
    hits = LexicalHits()
    for found in identifying.detect(text) if details else ():
        if not found.identifying:
            continue
        hits.spans.append(Span(found.start, found.end, Label.IDENTIFYING, found.reason))
        hits.add(Label.IDENTIFYING, f"identifying: {found.reason}")
    if names and register is not None and len(register):
        for hit in register.find(text):
            hits.spans.append(Span(hit.start, hit.end, Label.IDENTIFYING, hit.reason))
            hits.add(Label.IDENTIFYING, f"identifying: {hit.reason}")
    for start, end, reason in unregistered_names_with_child_context(text) if child else ():
        if not any(s.start < end and start < s.end for s in hits.spans):
            hits.spans.append(Span(start, end, Label.IDENTIFYING, reason))
            hits.add(Label.IDENTIFYING, f"identifying: {reason}")
    return hits


_DETAILS, _CHILD = 1, 2
#: the hint words of `detect` and of the child-context check, in one automaton (value: which)
_HINT_WORDS = ahocorasick.Automaton()
for _word in {*identifying.HINT_WORDS, *names_module.CHILD_HINT_WORDS}:
    _HINT_WORDS.add_word(_word, (_DETAILS if _word in identifying.HINT_WORDS else 0)
                         | (_CHILD if _word in names_module.CHILD_HINT_WORDS else 0))
_HINT_WORDS.make_automaton()
#: one match per text of a NUL-joined batch that has a digit, from there to the text's end
_ANY_DIGIT = re.compile(r"\d[^\x00]*")


def _matching(gate: re.Pattern[str], joined: str, starts: Sequence[int]) -> set[int]:
    """Indices of the texts that `gate` matches in (it matches at most once per text)."""
    return {bisect.bisect_right(starts, m.start()) - 1 for m in gate.finditer(joined)}


def identifying_hits_batch(texts: Sequence[str], register: NameRegister | None
                           ) -> list[LexicalHits]:
    """`identifying_hits` for each text, with most texts skipping most detectors."""
    found = identifying_hits_found(texts, register)
    return [found[i] if i in found else LexicalHits() for i in range(len(texts))]


def identifying_hits_found(texts: Sequence[str], register: NameRegister | None
                           ) -> dict[int, LexicalHits]:
    """`identifying_hits` of the texts (by index) in which it finds something.

    A few passes over the whole batch (joined by NUL) find which texts each family could
    fire on: a digit, an e-mail "@", a hint word, or something name-like from the register.
    On everyday comments most families have nothing to do, and asking text by text costs
    more than the answer.
    """
    if any("\x00" in t for t in texts):
        return _found(enumerate(_identifying(t, register) for t in texts))
    starts = list(itertools.accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
    joined = "\x00".join(texts)
    digits = _matching(_ANY_DIGIT, joined, starts)
    details = digits | _matching(identifying.EMAIL_GATE, joined, starts)
    child = set(digits)
    for end, which in _HINT_WORDS.iter(fold_case(joined)):  # same length: offsets still fit
        i = bisect.bisect_right(starts, end) - 1
        if which & _DETAILS:
            details.add(i)
        if which & _CHILD:
            child.add(i)
    named = register.possible(texts) if register is not None and len(register) else set()
    return _found((i, _identifying(texts[i], register, details=i in details, names=i in named,
                                   child=i in child))
                  for i in sorted(details | named | child))


def _found(hits: Iterable[tuple[int, LexicalHits]]) -> dict[int, LexicalHits]:
    """The hits that hold a label or a span, by text index."""
    return {i: h for i, h in hits if h.labels or h.spans}


class RulesClassifier:
    """Fast rule-only classifier: lexicons, phrase patterns, identifying detectors, names."""

    def __init__(self, names: Sequence[ProtectedName] = ()) -> None:
        """Build the names automaton once; everything else is compiled at import."""
        self.register = NameRegister(names)
        self._version = RULES_VERSION

    @property
    def version(self) -> str:
        """The rule set's version (the names register is configuration, not a version)."""
        return self._version

    def classify(self, texts: Sequence[str]) -> list[Verdict]:
        """One verdict per text, in order; any string is accepted."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        idents = identifying_hits_batch(texts, self.register)
        return [self._verdict(text, ident) for text, ident in zip(texts, idents, strict=True)]

    def classify_one(self, text: str) -> Verdict:
        """Classify a single text."""
        if not isinstance(text, str):
            text = str(text)
        return self._verdict(text, identifying_hits(text, self.register))

    def _verdict(self, text: str, ident: LexicalHits) -> Verdict:
        lex = lexical_hits(text)
        labels = sorted(lex.labels | ident.labels)
        # built from the sorted list, so the stored scores' key order never depends on the
        # interpreter's string-hash seed
        scores = {label: 1.0 for label in labels}
        return make_verdict(labels, scores, spans=ident.spans,
                            reasons=(*lex.reasons, *ident.reasons), model_version=self._version)
