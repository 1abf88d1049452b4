"""Identifying detectors and the register of protected names."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.base import Label, ProtectedName
from classifiers.identifying import Kind, detect, nhs_checksum_ok, upn_checksum_ok
from classifiers.names import NameRegister, RosterError, parse_roster
from classifiers.registry import build


def kinds(text: str) -> dict[str, str]:
    return {f.kind.value: text[f.start:f.end] for f in detect(text) if f.identifying}


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("call me on 07700 900123 tonight", Kind.PHONE, "07700 900123"),
    ("ring +44 20 7946 0958", Kind.PHONE, "+44 20 7946 0958"),
    ("US office +1-212-555-0147", Kind.PHONE, "+1-212-555-0147"),
    ("mail jo.bloggs@example.co.uk now", Kind.EMAIL, "jo.bloggs@example.co.uk"),
    ("she lives at LS6 2AB", Kind.POSTCODE, "LS6 2AB"),
    ("her house is 14 Acacia Avenue", Kind.ADDRESS, "14 Acacia Avenue"),
    ("he was born on 12/03/2015", Kind.DOB, "12/03/2015"),
    ("DOB: 3rd March 2014", Kind.DOB, "3rd March 2014"),
    ("NHS number 943 476 5919", Kind.NHS, "943 476 5919"),
    ("NI number AB 12 34 56 C", Kind.NINO, "AB 12 34 56 C"),
    ("his car is AB12 CDE, parked outside", Kind.VEHICLE, "AB12 CDE"),
])
def test_identifying_patterns(text: str, kind: Kind, value: str) -> None:
    assert kinds(text).get(kind.value) == value


def test_routine_of_a_child() -> None:
    found = kinds("Ava walks home alone every day at 3:15 past the park")
    assert "routine" in found


def test_nhs_checksum_rejects_a_wrong_digit() -> None:
    assert nhs_checksum_ok("9434765919")
    assert not nhs_checksum_ok("9434765918")
    assert "nhs_number" not in kinds("NHS number 943 476 5918")


def test_upn_check_letter() -> None:
    body = "80112000100"  # eleven digits, then a digit check suffix slot
    upn = next(c + body + "1" for c in "ABCDEFGHJKLMNPQRTUVWXYZ" if upn_checksum_ok(c + body + "1"))
    assert kinds(f"UPN {upn}").get("pupil_number") == upn
    wrong = ("B" if upn[0] != "B" else "C") + upn[1:]
    assert "pupil_number" not in kinds(f"reference {wrong}")
    # a mistyped check letter still publishes the number when the text says what it is
    assert kinds(f"his UPN is {wrong}").get("pupil_number") == wrong


def test_urls_are_masked_first() -> None:
    text = "see https://example.com/call/07700900123/born/12-03-2015 for details"
    assert kinds(text) == {}


def test_plain_dates_and_years_are_not_identifying() -> None:
    assert kinds("The trip is on 12/03/2025 and the disco on Friday") == {}


ROSTER = [
    ProtectedName("Jacob", "O'Connor", aliases=("Jake",)),
    ProtectedName("Will", "Brown"),
    ProtectedName("Amelia", "Richardson"),
]


@pytest.mark.parametrize(("text", "expected"), [
    ("Jacob O'Connor's mum is a drunk", "Jacob O'Connor"),
    ("jacob o’connor was there", "jacob o’connor"),
    ("JAKE O'CONNOR again", "JAKE O'CONNOR"),
    ("I saw Amelia Richadson at the park", "Amelia Richadson"),
    ("Will Brown was crying", "Will Brown"),
])
def test_register_matches(text: str, expected: str) -> None:
    hits = NameRegister(ROSTER).find(text)
    assert [text[h.start:h.end] for h in hits] == [expected]


@pytest.mark.parametrize("text", [
    "you will brown the onions first", "Jacob was great today", "Thank you Mrs Hughes",
    "Amelia won the race", "Mr Brown's class",
])
def test_register_does_not_fire_on_parts_or_common_words(text: str) -> None:
    assert NameRegister(ROSTER).find(text) == []


def test_full_name_with_year_group_fires_without_register() -> None:
    verdict = build("rules").classify(["Tom Smith in Year 5 was crying at pick up"])[0]
    assert Label.IDENTIFYING in verdict.labels
    assert verdict.spans[0].start == 0


@pytest.mark.parametrize("text", ["Siân Hughes in year 4 won the poster prize",
                                  "Oisín Byrne, age 9, lives on our road"])
def test_accented_full_names_with_child_details_fire(text: str) -> None:
    assert Label.IDENTIFYING in build("rules").classify([text])[0].labels


@pytest.mark.parametrize("text", ["Year 5 loved the Space Invaders arcade at the museum",
                                  "Year 5 visited Hampton Court today"])
def test_capitalised_pairs_that_are_not_people_do_not_fire(text: str) -> None:
    assert build("rules").classify([text])[0].labels == ()


@pytest.mark.parametrize(("text", "name"), [
    ("Our Jess Lambert (Y6) smashed her SATs", "Jess Lambert"),
    ("Well done Amir Shah in 10B", "Amir Shah"),
    ("Star of the week: Evie Marsh, 6R", "Evie Marsh"),
    ("Sam Okoro in the under 13s is the reason we lost", "Sam Okoro"),
    ("Player of the match: Reuben Kowalski (U11s)", "Reuben Kowalski"),
    ("shortlisted for an award: Jordan Walsh (14)", "Jordan Walsh"),
    ("the lad hurt yesterday is Callum Reid, he's 12", "Callum Reid"),
    ("Kai Roberts is in Mrs Patel's class", "Kai Roberts"),
    ("Ellis Parry goes to St Luke's", "Ellis Parry"),
])
def test_full_names_with_form_groups_age_groups_and_ages(text: str, name: str) -> None:
    verdict = build("rules").classify([text])[0]
    assert [text[s.start:s.end] for s in verdict.spans] == [name]


@pytest.mark.parametrize("text", [
    "Harry Kane scored twice, he's 31 now",
    "Sam Smith bought a 4K telly for the hall",
    "Chris Evans, 5K in 22 minutes at parkrun",
    "Emma Watson (34) gave a great speech",
])
def test_adults_and_things_that_only_look_like_child_details_do_not_fire(text: str) -> None:
    assert build("rules").classify([text])[0].labels == ()


@pytest.mark.parametrize(("text", "kind"), [
    ("My Mia (8F) gets the 3:40 from Gatefield stop on her own now", Kind.ROUTINE),
    ("Our Lexi walks home on her own now", Kind.ROUTINE),
    ("she'll be at the bus stop by Aldi at 7:45 every morning", Kind.ROUTINE),
    ("Noah's UPN is A823456789012, can someone check", Kind.UPN),
    ("Reg of the mum who parks on the zigzags every single morning is KP19 XWR", Kind.VEHICLE),
])
def test_routines_said_numbers_and_plates_further_from_the_person(text: str,
                                                                  kind: Kind) -> None:
    assert kind.value in kinds(text)


@pytest.mark.parametrize("text", [
    "Lola, 7, from Bramley Juniors goes to the library on her own every Tuesday",
    "Ava in Y6 at Oakfield gets picked up at 3.15 by her nan",
    "Dylan stays behind every lunchtime for chess club",
])
def test_a_named_childs_movements_are_a_routine(text: str) -> None:
    assert Kind.ROUTINE.value in kinds(text)


@pytest.mark.parametrize("text", [
    "Mrs Hughes waits at the gate every morning to say hello",
    "Coach Dave leaves at 5pm on Fridays",
    "Father Tom waits at the gate every morning",
    "Dr. Shah is at the park every evening with the running club",
    "Prof Okafor waits at the gates each morning",
    "The minibus leaves at 8:30 every morning from the car park",
    "I walk home alone every day",
])
def test_staff_vehicles_and_the_writer_have_no_child_routine(text: str) -> None:
    assert Kind.ROUTINE.value not in kinds(text)


def test_a_form_group_right_after_a_full_name_is_child_context() -> None:
    verdict = build("rules").classify(["Jayden Price 10T is a grass"])[0]
    assert "full name with a child's details (10T)" in " ".join(verdict.reasons)
    assert build("rules").classify(["Amy Jones was brilliant in Room 4K today"])[0].labels == ()


def test_staff_name_alone_is_not_identifying() -> None:
    assert build("rules").classify(["Thank you Mrs Hughes in year 5"])[0].labels == ()


def test_five_thousand_names_build_and_match() -> None:
    firsts = [f"Name{chr(97 + i % 26)}{i}" for i in range(5000)]
    roster = [ProtectedName(f.capitalize(), f"Surname{i}") for i, f in enumerate(firsts)]
    register = NameRegister(roster)
    text = f"I saw {roster[4321].first_name} {roster[4321].last_name} at the gate"
    hits = register.find(text)
    assert len(hits) == 1
    assert hits[0].name == roster[4321]


def test_roster_parsing_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "r.csv"
    good.write_text("first_name,last_name,role,aliases\nJacob,O'Connor,pupil,Jake;JJ\n")
    names = parse_roster(good)
    assert names == [ProtectedName("Jacob", "O'Connor", "pupil", ("Jake", "JJ"))]
    with pytest.raises(RosterError, match="row 3, column last_name"):
        parse_roster("first_name,last_name,role,aliases\nA,B,pupil,\nC,,pupil,\n")
    with pytest.raises(RosterError, match="column 'surname'"):
        parse_roster("first_name,surname\nA,B\n")
    with pytest.raises(RosterError, match="row 2"):
        parse_roster("first_name,last_name\nA,B,C\n")


