"""Text normalisation that undoes obfuscation: zero-width, homoglyphs, leetspeak, spacing."""

from __future__ import annotations

import re
import unicodedata

#: characters people insert to break up words without changing how they look
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u034f"
        "\u180e\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
    None,
)

#: Cyrillic and Greek letters that look like Latin ones (NFKC leaves them alone)
_HOMOGLYPHS = str.maketrans(
    "аеорсухкмтвнізјԁһӏԛԝАЕОРСУХКМТВНІЅЈΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοτυνικρ",
    "aeopcyxkmtbhizjdhlqwAEOPCYXKMTBHISJABEZHIKMNOPTYXaotuvikp",
)

#: digits and symbols used as letters, applied only inside words that also contain letters
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                       "@": "a", "$": "s", "!": "i", "|": "l", "€": "e", "£": "l"})
_LEET_CHARS = frozenset("013457 8@$!|€£".replace(" ", ""))
#: characters that stand for a hidden letter (f***, sh#t)
MASK_CHARS = frozenset("*#%")

_RUN3 = re.compile(r"(.)\1{2,}")
_RUN2 = re.compile(r"(.)\1+")


#: the only characters outside ASCII that `re.IGNORECASE` matches to an ASCII letter (checked
#: over every code point); mapped first because "İ".lower() is two characters
_ASCII_CASE_TWINS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s",
                                   "\u212a": "k"})
_HAS_CASE_TWIN = re.compile("[\u0130\u0131\u017f\u212a]")


def fold_case(text: str) -> str:
    """`text` lower-cased, same length, so ASCII words are found where `re.IGNORECASE` finds them.

    A fast stand-in for case-insensitive searches for ASCII words: `"live" in fold_case(t)`
    is true exactly when `re.search("live", t, re.IGNORECASE)` is, and word, digit and space
    classes keep their meaning (every code point was checked).
    """
    if text.isascii() or not _HAS_CASE_TWIN.search(text):
        return text.lower()
    return text.translate(_ASCII_CASE_TWINS).lower()


#: whether a text has anything for the tables above to do (translate is slow on non-ASCII text
#: even when it changes nothing, while a class search skips along in C)
_HAS_INVISIBLE = re.compile("[" + "".join(re.escape(chr(c)) for c in _INVISIBLE) + "]")
_HAS_HOMOGLYPH = re.compile("[" + "".join(re.escape(chr(c)) for c in _HOMOGLYPHS) + "]")


def clean(text: str) -> str:
    """NFKC, invisible characters removed, homoglyphs mapped to Latin; offsets NOT preserved."""
    if _HAS_INVISIBLE.search(text):
        text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFKC", text)
    if _HAS_HOMOGLYPH.search(text):
        text = text.translate(_HOMOGLYPHS)
    return text


def collapse_runs(word: str) -> str:
    """Every run of a repeated letter reduced to one letter ("fuuuck" -> "fuck")."""
    return _RUN2.sub(r"\1", word)


def has_long_run(word: str) -> bool:
    """True when a character repeats three or more times in a row (a deliberate stretch)."""
    return _RUN3.search(word) is not None


def deleet(token: str) -> str:
    """Map leetspeak in a token that also has letters ("b1tch" -> "bitch"); numbers stay."""
    if not any(c.isalpha() for c in token):
        return token
    if not any(c in _LEET_CHARS for c in token):
        return token
    # keep trailing punctuation like "!" as punctuation, not as an "i"
    core = token.rstrip("!.?")
    tail = token[len(core):]
    return core.translate(_LEET) + tail


_SUSPICIOUS = re.compile(
    r"(?<!\S)(?![@#])(?=[^\s]*[^\W\d_])(?=[^\s]*[013457 8@$!|€£*#%][^\s]*[^\W\d_*#%]|"
    r"[^\s]*[^\W\d_][^\s]*[*#%])[^\s/:]+(?=\s|$)".replace(" ", "")
)
_SPACED = re.compile(r"(?<![^\W_])(?:[^\W\d_][ .\-_*]){2,}[^\W\d_](?![^\W_])")
_TOKENS_MASKED = re.compile(
    r"[^\W\d_]+(?:[*#%]+[^\W\d_]+)+\**|[^\W\d_]+\*+|[^\W_]+(?:'[^\W_]+)*"
)
_TOKENS = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
#: `_TOKENS` for ASCII text, where `[^\W_]` is exactly `[A-Za-z0-9]` (ranges test faster)
_TOKENS_ASCII = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z0-9]+)*")
# The three hints below start with a character class and look behind, rather than starting
# with a letter: the regex engine then skips to the rare characters in C instead of trying
# every position (5-10x faster on tweets; the same texts match).
#: a letter followed by a mask character ("f*ck")
_HAS_MASK = re.compile(r"[*#%](?<=[^\W\d_].)")
#: leet characters between two letters, or "$" next to a letter ("b1tch", "a$$", "$hit")
_LEETISH = re.compile(
    r"[0134578@$!|€£*#%](?:(?<=[^\W\d_].)(?:(?<=\$)|[0134578@$!|€£*#%]*[^\W\d_])"
    r"|(?<=\$)(?=[^\W\d_]))"
)
#: three single characters with separators between them, standing alone ("f u c")
_SPACED_HINT = re.compile(r"[ .\-_*](?<=\w.)(?<!\w..)\w[ .\-_*]\w(?!\w)")
_SEPARATORS = re.compile(r"[ .\-_]")


def _fix_suspicious(match: re.Match[str]) -> str:
    word = match.group()
    if "." in word.strip(".!?") and not _DOTTED.match(word):
        return word  # a domain or an abbreviation, not leetspeak
    return deleet(word)


def _join_spaced(match: re.Match[str]) -> str:
    return _SEPARATORS.sub("", match.group())


_DOTTED = re.compile(r"^(?:[a-z][.\-_*]){2,}[a-z][.\-_]?$")


def normalise(text: str) -> str:
    """Lower-case `text` with obfuscation undone, for lexicon and phrase matching.

    Zero-width characters, homoglyphs, leetspeak ("b1tch"), spaced letters ("f u c k"),
    and curly apostrophes are undone; masked ("f***") and stretched ("shiiit") words are
    left for the lexicon to resolve, since only it knows which word they stand for.
    """
    if not text.isascii():
        text = clean(text).replace("’", "'").replace("‘", "'")
    low = text.casefold()
    if _LEETISH.search(low):
        low = _SUSPICIOUS.sub(_fix_suspicious, low)
    if _SPACED_HINT.search(low):
        low = _SPACED.sub(_join_spaced, low)
    return low


#: an @-handle (not the middle of an e-mail address)
_MENTION = re.compile(r"(?<![\w@.])@\w+(?:\.\w+)*")


def without_mentions(normalised: str) -> str:
    """`normalised` with @-handles blanked out.

    A handle says who is addressed, not what is said: "@fatcow99" in a reply is the other
    person's name, and a model that saw handles would learn that replies are abusive.
    """
    if "@" not in normalised:
        return normalised
    return _MENTION.sub(" ", normalised)


def tokens(normalised: str) -> list[str]:
    """Words of a normalised text (masked words such as "f***ing" stay whole)."""
    if _HAS_MASK.search(normalised):
        return _TOKENS_MASKED.findall(normalised)
    if normalised.isascii():
        return _TOKENS_ASCII.findall(normalised)
    return _TOKENS.findall(normalised)
