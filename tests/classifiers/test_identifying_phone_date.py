"""Phone numbers (UK first, then international) and dates: formats handled, look-alikes."""

from __future__ import annotations

import pytest

from classifiers.base import Label
from classifiers.identifying import Kind, detect
from classifiers.registry import build


def spans(text: str, kind: Kind) -> list[str]:
    return [text[f.start:f.end] for f in detect(text) if f.kind is kind]


@pytest.mark.parametrize(("text", "value"), [
    # UK mobiles and landlines, national and international forms (Ofcom drama ranges)
    ("call me on 07700 900123 tonight", "07700 900123"),
    ("07700900123 is my mum's mobile", "07700900123"),
    ("ring +44 7700 900123 after 6", "+44 7700 900123"),
    ("+447700 900 123", "+447700 900 123"),
    ("0044 20 7946 0958", "0044 20 7946 0958"),
    ("the office is (020) 7946 0000", "(020) 7946 0000"),
    ("020-7946-0000", "020-7946-0000"),
    ("0113 496 0000", "0113 496 0000"),
    # extensions stay part of the span
    ("01632 960123 ext. 12", "01632 960123 ext. 12"),
    ("01632 960123 extension 4", "01632 960123 extension 4"),
    ("01632 960123 x12 for reception", "01632 960123 x12"),
    ("Fax: 345-899-3560x4587", "345-899-3560x4587"),
    # international and North American numbers
    ("US office +1-212-555-0147", "+1-212-555-0147"),
    ("our New York desk is (212) 555-0147", "(212) 555-0147"),
    ("212.555.0147 any time", "212.555.0147"),
    ("+33 1 23 45 67 89", "+33 1 23 45 67 89"),
    ("+353 1 234 5678", "+353 1 234 5678"),
    ("+91 98765 43210", "+91 98765 43210"),
    ("Desk: +41 (0)85 806 98 67", "+41 (0)85 806 98 67"),
    # numbers no library validates, but a label says what they are
    ("my number is 467 3395", "467 3395"),
    ("text me on 699 956 915", "699 956 915"),
    ("Phone:\n60-56-85-91", "60-56-85-91"),
    ("085 175 7641-Office", "085 175 7641"),
    ("whatsapp 0490 75 40 81", "0490 75 40 81"),
])
def test_phone_formats(text: str, value: str) -> None:
    assert spans(text, Kind.PHONE) == [value]


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1111 expires soon",  # a payment card (Luhn)
    "IBAN GB82 WEST 1234 5698 7654 32",
    "SSN 123-45-6789",
    "server 192.168.100.200 is down",
    "ZIP 90210-1234",
    "order 4155551234 has shipped",  # ten bare digits: an order number as often as a phone
    "sort code 12-34-56 account 12345678",
    "we live at 17151 2450 Crown St",  # house number and flat number before a street
    "the office is at 17031 2202 Rissik St",
    "Suite 913 0547 Bygget",
    "Apt. 675 62314 Mellemvej",
    "the score was 1234 5678 in the end",  # digits with no phone shape and no label
    "the 12/03/2015 trip",
    "version 2.4.12 is out",
])
def test_phone_look_alikes(text: str) -> None:
    assert spans(text, Kind.PHONE) == []


def test_phone_is_identifying_in_a_verdict() -> None:
    verdict = build("rules").classify(["Her mum's number is +44 7700 900123"])[0]
    assert Label.IDENTIFYING in verdict.labels


@pytest.mark.parametrize(("text", "value"), [
    ("the trip is on 12/03/2025", "12/03/2025"),
    ("since 6/24/1991", "6/24/1991"),  # US month/day
    ("When: 2000-04-16 11:34:35", "2000-04-16 11:34:35"),
    ("founded in 1990", "1990"),
    ("a 2021 Norwegian film", "2021"),
    ("Europe by 2050", "2050"),
    ("on Tuesday morning", "Tuesday"),
    ("3rd March 2014", "3rd March 2014"),
])
def test_dates(text: str, value: str) -> None:
    assert spans(text, Kind.DATE) == [value]


@pytest.mark.parametrize("text", [
    "Phone: 60-56-85-91",  # a phone number's first three groups
    "28-64-66-98 office",
    "31/31/2020",  # no month 31
    "2019-13-45",
    "version 2.4.12 is out",
    "v1.2.10",
    "2060 Avenida Otoniel Dutra",  # a house number, not a far-off year
    "sent to 2046 50 Point Walter Road",
    "1990 Crown Street",
    "the meeting is at 10:30",
])
def test_date_look_alikes(text: str) -> None:
    assert spans(text, Kind.DATE) == []


def test_plain_date_is_a_span_but_not_identifying() -> None:
    found = [f for f in detect("the trip is on 12/03/2025") if f.kind is Kind.DATE]
    assert len(found) == 1
    assert not found[0].identifying
    assert build("rules").classify(["the trip is on 12/03/2025"])[0].labels == ()
    dob = [f for f in detect("he was born on 6/24/2015") if f.kind is Kind.DOB]
    assert len(dob) == 1
    assert dob[0].identifying


@pytest.mark.parametrize("text", [
    "1 " * 5000, "1" * 10_000, "1-" * 5000 + "x", "+44 " * 2000, "(0)" * 3000,
    "call 0" * 3000, "0 x" * 3000, "07700\u200b900123", "\u200f07700 900123\u200f 😂",
])
def test_odd_input_gives_spans_not_errors(text: str) -> None:
    found = detect(text)
    assert all(0 <= f.start < f.end <= len(text) for f in found)


@pytest.mark.parametrize(("text", "value"), [
    ("tel no 07700 900123", "07700 900123"),
    ("Phone number: 467 3395", "467 3395"),
    ("mobile no. 0490 75 40 81", "0490 75 40 81"),
])
def test_phone_labels_with_number_words(text: str, value: str) -> None:
    assert spans(text, Kind.PHONE) == [value]


def test_a_big_count_after_a_verb_is_not_a_phone() -> None:
    assert spans("we hope to reach 1000000 views", Kind.PHONE) == []
