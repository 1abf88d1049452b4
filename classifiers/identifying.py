"""Identifying-information detectors: contact details, addresses, dates, identifiers, routines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

from classifiers import names
from classifiers.normalise import fold_case


class Kind(StrEnum):
    """What an identifying span is."""

    PHONE = "phone"
    EMAIL = "email"
    URL = "url"
    POSTCODE = "postcode"
    ADDRESS = "address"
    DATE = "date"
    DOB = "date_of_birth"
    NHS = "nhs_number"
    NINO = "ni_number"
    UPN = "pupil_number"
    VEHICLE = "vehicle_registration"
    ROUTINE = "routine"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class Found:
    """One detected span of the original text."""

    start: int
    end: int
    kind: Kind
    reason: str
    #: whether this span alone makes the text `identifying` (a URL or a plain date does not)
    identifying: bool = True


_EMAIL = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+|\b[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.(?:com|co\.uk|org|org\.uk|"
    r"net|io|ly|uk|be|de|gov\.uk|ac\.uk|sch\.uk|info|biz|me|app|xyz)(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
#: a run of digit groups, optionally with an international prefix, a bracketed area code and an
#: extension (`ext. 12`, `extension 12`, `x12`, or `x4587` glued on as US exports write it)
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+/])(?:\+\d{1,3}[\s.\-]?|00\d{1,3}[\s.\-]?)?(?:\(0?\d{1,5}\)[\s.\-]?)?\d{1,12}"
    r"(?:[ .\-]\d{1,12}){0,5}(?P<ext>\s*(?:ext(?:ension)?\.?|x\.?)\s*\d{1,5})?(?![\w/])"
)
_IBAN_BEFORE = re.compile(r"[A-Z]{2}\d{2}[ A-Z0-9]{0,12}$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_IP = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_ISO_DATE = re.compile(r"^\d{4}[-.]\d{1,2}[-.]\d{1,2}$")
_DMY_DOTS = re.compile(r"^\d{1,2}[-.]\d{1,2}[-.]\d{2,4}$")
_POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE
)
_STREET_TYPES = (
    r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Cl|Drive|Dr|Way|Crescent|Cres|Court|Ct|"
    r"Place|Pl|Gardens|Gdns|Grove|Gr|Terrace|Tce|Hill|Park|Square|Sq|Mews|Row|Walk|View|Rise|"
    r"Boulevard|Blvd|Parade|Green|Estate|Highway|Hwy|Circle|Loop|Trail|Pike|Ridge|Plaza|Bypass)"
)
#: a phone label or verb just before the number, with no other digit in between
_PHONE_CUE_BEFORE = re.compile(
    r"(?:\b(?:tel(?:ephone)?|phone|mob(?:ile)?|cell(?:phone)?|fax|desk|office|landline|call|"
    r"ring|text|sms|whats ?app|messages?|answering|contact)\b"
    r"|\b(?:my|your|his|her|their|our) (?:number\b|no\b|#))"
    r"[^\w\d]*(?:(?:me|us|him|her|them|on|at|to|is|no|number|num|nr)\b[^\w\d]*){0,3}$",
    re.IGNORECASE,
)
#: a label just after it, as in `085 175 7641-Office` or `930.167.3943 fax`
_PHONE_CUE_AFTER = re.compile(
    r"\s*[\-(,]?\s*(?:office|fax|mob(?:ile)?|cell|home|work|desk|landline|tel)\b", re.IGNORECASE
)
#: a flat, suite or box number right before: the digits after it are address, not a phone
_UNIT_BEFORE = re.compile(r"\b(?:apt|apartment|flat|suite|unit|box)\.?\s*$", re.IGNORECASE)
#: a street name right after: the digits before it are a house number and a flat or zip code
_STREET_AFTER = re.compile(r"\s+(?:[A-Z][A-Za-z'\-]+ ){1,3}" + _STREET_TYPES + r"\b")
_SEPARATED = re.compile(r"\d[\s.\-()]+\d|^\(")
_ADDRESS = re.compile(
    r"\b\d{1,5}[A-Za-z]?,? (?:[A-Z][A-Za-z'\-]+ ){1,3}" + _STREET_TYPES + r"\b\.?"
    r"(?:,? (?:Apt\.?|Flat|Unit|Suite) \d+[A-Za-z]?)?"
    r"|\b(?:lives?|living|stays?|house is|home is) (?:on|at|in) (?:[A-Z][A-Za-z'\-]+ ){1,3}"
    + _STREET_TYPES + r"\b"
    r"|\b(?:Apt\.?|Flat|Suite) \d+[A-Za-z]?\b"
)
_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?\b"
    r"|\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b(?![/.\-]\d)"
    r"|\b" + _DAY + r"(?: of)? " + _MONTHS + r"\.?,? (?:\d{4}|'\d{2})\b"
    r"|\b" + _MONTHS + r"\.? " + _DAY + r",? \d{4}\b"
    r"|\b" + _DAY + r"(?: of)? " + _MONTHS + r"\b"
    r"|\b" + _MONTHS + r"\.? " + _DAY + r"\b(?!:)"
    r"|\b(?:19|20)\d{2}\b(?![\-/.]\d)"
    r"|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b",
    re.IGNORECASE,
)
#: day and month of a numeric date, either way round (`12/03/2015`, US `6/24/1991`, ISO)
_NUMERIC_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}|\d{4}-(\d{2})-(\d{2})")
#: a software version or build number, not a date (`version 2.4.12`, `v1.2.10`)
_VERSION_BEFORE = re.compile(r"(?:\bv|\bversion|\bver\.?|\brelease|\bbuild|\bupdate)\s*$",
                             re.IGNORECASE)
_FAR_YEAR = 2040
_YEAR_WORD_BEFORE = re.compile(
    r"\b(?:in|by|until|till|from|since|before|after|of|year|the|early|late|mid)\W{1,3}$",
    re.IGNORECASE)
_DOB_CONTEXT = re.compile(
    r"(?:\bborn\b|\bdob\b|d\.o\.b|date of birth|birth ?date|birthday|\bb\.?\s?$|bday)"
    r"[^.!?\n]{0,25}$",
    re.IGNORECASE,
)
_NHS = re.compile(r"\b\d{3}[ \-]?\d{3}[ \-]?\d{4}\b")
_NINO = re.compile(
    r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
)
_UPN = re.compile(r"\b[A-HJ-NP-RT-Z]\d{11}[0-9A-HJ-NP-RT-Z]\b")
_VEHICLE = re.compile(r"\b[A-Z]{2}(?:0[2-9]|[1-7]\d) ?[A-Z]{3}\b|\b[A-Z]\d{1,3} ?[A-Z]{3}\b")
_VEHICLE_CONTEXT = re.compile(
    r"\b(?:car|van|reg|registration|number ?plate|plate|drives?|driving|parked|parks|motor|"
    r"vehicle|his|her|their|mum'?s|dad'?s)\b",
    re.IGNORECASE,
)
_ROUTINE = re.compile(
    r"\b(?:walks?|cycles?|goes|gets|leaves?|takes?|catches|plays?|waits?|stays?)"
    r" (?:home |to school |out |in the park |at the park )?(?:alone |on (?:his|her|their) own |"
    r"by (?:himself|herself) )?(?:every (?:day|morning|evening|night|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|week)|each (?:day|morning|evening)|at (?:[01]?\d(?::\d\d)?"
    r" ?(?:am|pm)|[01]?\d[:.]\d\d)|after school (?:every|each|on)|the \d+ bus)\b[^.!?\n]{0,60}"
    r"|\b(?:home alone|walks home alone|on (?:his|her) own (?:every|each))\b[^.!?\n]{0,40}"
    # "walks home on her own", "gets the 3:40 from the Gatefield stop"
    r"|\b(?:walks?|cycles?|goes|gets the bus|catches the bus) home (?:alone|on (?:his|her|their) "
    r"own|by (?:himself|herself))\b[^.!?\n]{0,60}"
    r"|\b(?:gets|catches|takes) the [01]?\d[:.]\d\d\b[^.!?\n]{0,60}"
    # "she'll be at the bus stop by Aldi at 7:45 every morning"
    r"|\b(?:be|is|waits) at the (?:bus stop|rec|park|station|shops?|gates?|"
    r"corner)\b[^.!?\n]{0,40}?(?:\bat [01]?\d[:.]\d\d|\bevery (?:day|morning|evening|night|"
    r"week)|\beach (?:day|morning|evening))\b[^.!?\n]{0,30}",
    re.IGNORECASE,
)
#: who a routine belongs to, right before it: a child word, a pronoun or a capitalised name
#: (a titled adult's is not a child's routine: `_routine_subject` asks `names.is_title`)
_ROUTINE_SUBJECT = re.compile(
    r"(?:\b(?:he|she|they|son|daughter|kid|kids|child|children|boy|girl|lad|lass|sister|"
    r"brother)|(?<![.!?]\s)"
    r"\b(?!(?:The|We|I|You|They|It|This|That|Everyone|Club|School|Bus)\b)(?P<name>[A-Z][a-z]+)"
    r"(?:'s)?)(?:'ll| will| is|'s)?(?: \([^)]{1,12}\))?\s+$"
)
#: a named child's movements ("Lola, 7, goes to the library on her own every Tuesday", "Ava in
#: Y6 gets picked up at 3.15"): counted only when a given name comes before it (`_named_before`)
_ROUTINE_NAMED = re.compile(
    r"\b(?:walks?|cycles?|goes|gets|leaves|catches|waits|stays|sits|hangs (?:out|about|around)|"
    r"plays out)\b[^.!?\n]{0,40}?\b(?:alone|on (?:his|her|their) own|by (?:himself|herself)|"
    r"every (?:day|morning|evening|night|afternoon|lunchtime|weekend|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday)|each (?:day|morning|evening|night)|at (?:[01]?\d(?::\d\d)?"
    r" ?(?:am|pm)|[01]?\d[:.]\d\d))\b[^.!?\n]{0,40}",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[.!?\n]")
_UPN_CHECK = "ABCDEFGHJKLMNPQRTUVWXYZ"
_UPN_WORDS = re.compile(r"\b(?:upn|pupil (?:number|no))\b", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_ASCII_DIGIT = re.compile(r"[0-9]")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def nhs_checksum_ok(digits: str) -> bool:
    """True when a ten-digit NHS number's modulus-11 check digit is right."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def upn_checksum_ok(upn: str) -> bool:
    """True when a unique pupil number's check letter matches (DfE modulus-23 rule)."""
    upn = upn.upper()
    if len(upn) != 13:
        return False
    total = 0
    for weight, ch in zip(range(2, 14), upn[1:], strict=True):
        if ch.isdigit():
            value = int(ch)
        elif ch in _UPN_CHECK:
            value = _UPN_CHECK.index(ch)
        else:
            return False
        total += weight * value
    return _UPN_CHECK[total % 23] == upn[0]


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the given ranges blanked out, keeping every offset."""
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


class _NotAPhone(Exception):
    """A phone candidate that turned out to be something else (internal to `_phones`)."""


def _phone_reason(cand: str, digits: str, before: str, after: str) -> str:
    """Why `cand` is a phone number; raises `_NotAPhone` when it is not one.

    Three tiers: a number `phonenumbers` validates (GB first, then North American numbers
    written in their usual groups); one with an international or UK trunk prefix whose length
    is possible for its country; any other digit run only with a phone label next to it.
    """
    international = cand.startswith(("+", "00"))
    trunk = digits.startswith("0") and not international
    try:
        gb = phonenumbers.parse(cand, "GB")
    except phonenumbers.NumberParseException:
        gb = None
    cued = (_PHONE_CUE_BEFORE.search(before) is not None
            or _PHONE_CUE_AFTER.match(after) is not None)
    if gb is not None and phonenumbers.is_valid_number(gb):
        return "phone number"
    if not international and not trunk and len(digits) in (10, 11):
        try:
            us = phonenumbers.parse(cand, "US")
        except phonenumbers.NumberParseException:
            us = None
        # an unbroken run of ten digits is as often an account or order number
        if (us is not None and phonenumbers.is_valid_number(us)
                and (cued or _SEPARATED.search(cand))):
            return "phone number (North American)"
    unit = _UNIT_BEFORE.search(before) is not None or _STREET_AFTER.match(after) is not None
    if (gb is not None and not unit and phonenumbers.is_possible_number(gb)
            and (international or (trunk and len(digits) in (10, 11)))):
        return "phone number"
    if cued and not unit:
        return "phone-shaped number"
    raise _NotAPhone


def _phones(text: str, taken: list[tuple[int, int]]) -> list[Found]:
    out: list[Found] = []
    for m in _PHONE_CANDIDATE.finditer(text):
        cand = m.group().rstrip(" .-")
        # the number without its extension decides the checks below
        digits = "".join(_DIGIT.findall(cand if m.group("ext") is None else
                                        text[m.start():m.start("ext")]))
        n = len(digits)
        if n < 7 or n > 15:
            continue
        start = m.start()
        end = start + len(cand)
        if _SSN.match(cand) or _IP.match(cand) or _ISO_DATE.match(cand) or _DMY_DOTS.match(cand):
            continue
        if n >= 13 and _luhn(digits) and not cand.startswith(("+", "00")):
            continue  # a payment card number, not a phone
        if _IBAN_BEFORE.search(text[max(0, start - 16):start]):
            continue
        if any(s < end and start < e for s, e in taken):
            continue
        try:
            reason = _phone_reason(cand, digits, text[max(0, start - 30):start],
                                   text[end:end + 60])
        except _NotAPhone:
            continue
        out.append(Found(start, end, Kind.PHONE, reason))
    return out


#: `_DATE` without IGNORECASE, run on `fold_case(text)`: the same spans, about twice as fast
_DATE_FOLDED = re.compile(_DATE.pattern.replace("[ T]", "[ t]"))


def _dates(text: str, low: str | None = None) -> list[Found]:
    """Dates in `text` (`low` is `fold_case(text)` when the caller already has it)."""
    out: list[Found] = []
    for m in _DATE_FOLDED.finditer(fold_case(text) if low is None else low):
        start, end = m.span()
        before = text[max(0, start - 40):start]
        value = text[start:end]
        if not _plausible_date(value, before, text[end:end + 60]):
            continue
        if _DOB_CONTEXT.search(before):
            out.append(Found(start, end, Kind.DOB, "date of birth"))
        else:
            # a date on its own (a trip, an event) identifies nobody
            out.append(Found(start, end, Kind.DATE, f"date ({_date_shape(value)})",
                             identifying=False))
    return out


def _plausible_date(value: str, before: str, after: str) -> bool:
    """False for date-shaped numbers that are something else (see each branch)."""
    if value[0].isdigit():
        m = _NUMERIC_DATE.match(value)
        if m is not None:
            if m.group(1) is not None:
                a, b = int(m.group(1)), int(m.group(2))
                # day/month or month/day; `60-56-85` is a phone number's first groups
                if not (a >= 1 and b >= 1 and ((a <= 31 and b <= 12) or (a <= 12 and b <= 31))):
                    return False
                if _VERSION_BEFORE.search(before):
                    return False
                # the tail of a longer run such as `28-64-66-98` (checked here: a look-behind
                # in the pattern would be tried at every position and double its cost)
                if len(before) >= 2 and before[-1] in "/.-" and before[-2].isdigit():
                    return False
            elif not (1 <= int(m.group(3)) <= 12 and 1 <= int(m.group(4)) <= 31):
                return False
        elif value.isdigit():
            if _STREET_AFTER.match(after):
                return False  # `1990 Crown Street`: a house number
            # a far-off year is said with a preposition ("by 2050"); bare, it is a number
            if int(value) >= _FAR_YEAR and not _YEAR_WORD_BEFORE.search(before):
                return False
    return True


def _date_shape(value: str) -> str:
    if value.isdigit():
        return "year"
    if value[0].isalpha() and value.lower().endswith("day"):
        return "weekday"
    return "date"


# Hints decide which detectors run. Each is written so that the regex engine can skip to a
# rare character (a digit, "@") in C, and case-insensitive word lists are checked as plain
# substrings of `fold_case(text)`. Each hint matches exactly the texts the plain pattern in
# its comment matches (tests/classifiers/test_speedups.py checks them against each other).
#: live|living|stay|house is|home is|apt|flat|suite (any case)
_ADDRESS_HINT = re.compile(r"live|living|stay|house is|home is|apt|flat|suite", re.IGNORECASE)
_ADDRESS_WORDS = ("live", "living", "stay", "house is", "home is", "apt", "flat", "suite")
#: every|each|alone|\bown\b|bus\b|at \d|\d ?[ap]m (any case)
_ROUTINE_HINT = re.compile(r"every|each|alone|himself|herself|\bown\b|bus\b|at \d|the \d|\d ?[ap]m",
                           re.IGNORECASE)
_ROUTINE_WORDS = ("every", "each", "alone", "himself", "herself")
_OWN_WORD = re.compile(r"\bown\b")
_BUS_WORD = re.compile(r"bus\b")
_ROUTINE_DIGIT = re.compile(r"\d(?:(?<=at \d)|(?<=the \d)| ?[ap]m)")
#: [\w.%+\-]@[A-Za-z0-9]
_EMAIL_HINT = re.compile(r"@(?<=[\w.%+\-]@)[A-Za-z0-9]")
_URL_TLDS = (".com", ".uk", ".org", ".net", ".io", ".ly", ".be", ".de", ".info", ".biz", ".me",
             ".app", ".xyz", "http", "www.", ".COM", "WWW.")
_POSTCODE_HINT = re.compile(r"\d[A-Za-z]{2}\b")
#: [A-Z]\d|\d ?[A-Z]{3}\b
_VEHICLE_HINT = re.compile(r"\d(?:(?<=[A-Z]\d)| ?[A-Z]{3}\b)")
#: \d\d\d\d|\d[/.\-]\d|\d(?:st|nd|rd|th)\b|(?i:jan|feb|...|dec|day\b)
_DATE_DIGIT_HINT = re.compile(r"\d(?:\d\d\d|[/.\-]\d|(?:st|nd|rd|th)\b)")
_DATE_WORD_HINT = re.compile(r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|day\b",
                             re.IGNORECASE)
_MONTH_WORDS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                "dec")
_DAY_WORD = re.compile(r"day\b")
#: a digit that could start a numbered street address (`_ADDRESS`'s first branch)
_ADDRESS_NUMBER = re.compile(r"\d(?=[A-Za-z]?,? [A-Z])")
_ADDRESS_PHRASES = ("live", "living", "stay", "house is", "home is", "Apt", "Flat", "Suite")


#: the dotted entries of `_URL_TLDS`, as one search that jumps from "." to "."
_DOT_TLD = re.compile(r"\.(?:com|uk|org|net|io|ly|be|de|info|biz|me|app|xyz|COM)")


def _url_hint(text: str) -> bool:
    """Whether any of `_URL_TLDS` occurs in `text`."""
    return ("http" in text or "www." in text or "WWW." in text
            or _DOT_TLD.search(text) is not None)


_WEEKDAY_HINT = re.compile(r"day\b", re.IGNORECASE)


def _address_hint(low: str) -> bool:
    """Whether `_ADDRESS_HINT` matches the text whose `fold_case` is `low`."""
    return any(w in low for w in _ADDRESS_WORDS)


def _address_possible(work: str) -> bool:
    """False only when `_ADDRESS` cannot match: it needs a house number or one of its phrases."""
    return (any(p in work for p in _ADDRESS_PHRASES)
            or _ADDRESS_NUMBER.search(work) is not None)


def _routine_hint(low: str, *, digits: bool = True) -> bool:
    """Whether `_ROUTINE_HINT` matches the text whose `fold_case` is `low`.

    `digits=False` says the text is ASCII without a digit, so the digit branches cannot match.
    """
    return (any(w in low for w in _ROUTINE_WORDS)
            or ("own" in low and _OWN_WORD.search(low) is not None)
            or ("bus" in low and _BUS_WORD.search(low) is not None)
            or (digits and _ROUTINE_DIGIT.search(low) is not None))


#: every match of `_ROUTINE` and `_ROUTINE_NAMED` contains one of these (their verbs, "home
#: alone", "on his own", "is at the"), in any case
_ROUTINE_NEEDS = ("walk", "cycle", "goes", "gets", "leave", "take", "catches", "play", "wait",
                  "stay", "sits", "hangs", "home alone", "own", "at the ")


def _routine_possible(low: str) -> bool:
    """False only when no routine pattern can match the text whose `fold_case` is `low`.

    The routine hint is broader ("every" is in "everyone"); this cheaper test spares most
    of the texts it lets through the costly search.
    """
    return any(w in low for w in _ROUTINE_NEEDS)


def _date_hint(work: str) -> bool:
    """Whether the date hint (digits shaped like a date, a month or a "...day") matches."""
    if _DATE_DIGIT_HINT.search(work):
        return True
    low = fold_case(work)
    return (any(m in low for m in _MONTH_WORDS)
            or ("day" in low and _DAY_WORD.search(low) is not None))


#: with no digit and no e-mail "@", `detect` finds an identifying span only if `fold_case` of
#: the text contains one of these (what the address, weekday and routine hints look for; a
#: plain substring, since masking a URL can put a word boundary after "day", "own" or "bus")
HINT_WORDS: tuple[str, ...] = (*_ADDRESS_WORDS, *_ROUTINE_WORDS, "own", "bus", "day")
#: one match per text of a NUL-joined batch that has an e-mail "@" (`_EMAIL_HINT`), from there
#: to the text's end
EMAIL_GATE = re.compile("(?:" + _EMAIL_HINT.pattern + r")[^\x00]*")


def detect(text: str) -> list[Found]:
    """Every identifying span in `text` (URLs masked first so their insides do not fire)."""
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    if "@" in text and _EMAIL_HINT.search(text):
        for m in _EMAIL.finditer(text):
            found.append(Found(m.start(), m.end(), Kind.EMAIL, "e-mail address"))
            taken.append(m.span())
    if "." in text and _url_hint(text):
        for m in _URL.finditer(_mask(text, taken)):
            found.append(Found(m.start(), m.end(), Kind.URL, "link", identifying=False))
            taken.append(m.span())
    work = _mask(text, taken)
    # most comments have no digit: one class search instead of ten counts
    ndigits = sum(map(work.count, "0123456789")) if _ASCII_DIGIT.search(work) else 0
    if ndigits:
        found.extend(_digit_detectors(text, work, taken, ndigits))
        work = _mask(text, taken)
        for m in _ADDRESS.finditer(work) if _address_possible(work) else ():
            found.append(Found(m.start(), m.end(), Kind.ADDRESS, "street address"))
        low = fold_case(work)
    else:
        low = fold_case(work)
        if _address_hint(low):
            for m in _ADDRESS.finditer(work):
                found.append(Found(m.start(), m.end(), Kind.ADDRESS, "street address"))
        if "day" in low and _DAY_WORD.search(low):  # _WEEKDAY_HINT
            found.extend(_dates(work, low))
    if _routine_hint(low, digits=ndigits > 0 or not work.isascii()) and _routine_possible(low):
        for m in _ROUTINE.finditer(work):
            before = work[max(0, m.start() - 30):m.start()]
            if _routine_subject(before) or m.group().lower().startswith(
                    ("home alone", "walks home")):
                found.append(Found(m.start(), m.end(), Kind.ROUTINE,
                                   "a child's routine or whereabouts"))
        for m in _ROUTINE_NAMED.finditer(work):
            if (not any(f.kind is Kind.ROUTINE and f.start < m.end() and m.start() < f.end
                        for f in found)
                    and _named_before(work[max(0, m.start() - 40):m.start()])):
                found.append(Found(m.start(), m.end(), Kind.ROUTINE,
                                   "a child's routine or whereabouts"))
    found.sort(key=lambda f: (f.start, f.end))
    return found


def _routine_subject(before: str) -> bool:
    """Whether the words right before a routine name whose it is: a child word, a pronoun, or
    a capitalised name with no title before it ("Mrs Hughes", "Dr. Shah" and "Father Tom" are
    staff)."""
    m = _ROUTINE_SUBJECT.search(before)
    if m is None:
        return False
    if m.group("name") is None:
        return True
    previous = before[:m.start("name")].split()[-1:]
    return not previous or not names.is_title(previous[0])


def _named_before(before: str) -> bool:
    """Whether the clause before a routine names someone by a given name, not a titled adult."""
    words = _CLAUSE_END.split(before)[-1].split()
    previous = ""
    for word in words:
        bare = word.strip(",;:()'’\"").removesuffix("'s").removesuffix("’s")
        if (bare[:1].isupper() and bare[1:].islower() and bare.lower() in names.given_names()
                and not names.is_title(previous)):
            return True
        previous = word
    return False


def _digit_detectors(
    text: str, work: str, taken: list[tuple[int, int]], ndigits: int
) -> list[Found]:
    """Detectors that need a digit: identifiers, postcodes, registrations, dates, phones."""
    found: list[Found] = []
    for m in _NHS.finditer(work) if ndigits >= 10 else ():
        digits = re.sub(r"\D", "", m.group())
        near_nhs = "nhs" in work[max(0, m.start() - 30):m.start()].lower()
        if nhs_checksum_ok(digits) and (near_nhs or digits[0] in "4679"):
            found.append(Found(m.start(), m.end(), Kind.NHS, "NHS number (checksum valid)"))
            taken.append(m.span())
    work = _mask(text, taken)
    for m in _UPN.finditer(work) if ndigits >= 11 else ():
        # a mistyped check letter still publishes the number when the text says what it is
        if (upn_checksum_ok(m.group())
                or _UPN_WORDS.search(work[max(0, m.start() - 30):m.start()])):
            found.append(Found(m.start(), m.end(), Kind.UPN, "unique pupil number"))
            taken.append(m.span())
    for m in _NINO.finditer(work) if ndigits >= 6 else ():
        found.append(Found(m.start(), m.end(), Kind.NINO, "National Insurance number"))
        taken.append(m.span())
    for m in _POSTCODE.finditer(work) if _POSTCODE_HINT.search(work) else ():
        found.append(Found(m.start(), m.end(), Kind.POSTCODE, "UK postcode"))
        taken.append(m.span())
    for m in _VEHICLE.finditer(work) if _VEHICLE_HINT.search(work) else ():
        # "Reg of the mum who parks on the zigzags every morning is KP19 XWR": the person
        # can be a sentence away from the plate
        window = work[max(0, m.start() - 80):m.end() + 30]
        if _VEHICLE_CONTEXT.search(window):
            found.append(Found(m.start(), m.end(), Kind.VEHICLE,
                               "vehicle registration tied to a person"))
            taken.append(m.span())
    if _date_hint(work):
        dates = _dates(_mask(text, taken))
        found.extend(dates)
        taken.extend((d.start, d.end) for d in dates)
    if ndigits >= 7:
        found.extend(_phones(_mask(text, taken), taken))
    return found
