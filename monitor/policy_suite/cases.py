"""What a policy test case is, where the cases come from, and who may read them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.base import Label
from monitor.models import PolicyCase
from monitor.people.roles import Permission, Role, may

#: the starting suite: the one source of the taxonomy's hard cases (the classifier's functional
#: tests read the same file)
STARTING_SUITE = Path(__file__).parent / "data" / "starting_suite.yaml"
#: ids of the organisation's own cases ("org-12") beside the starting suite's ("idioms-3")
ORG_PREFIX = "org-"
_LABELS = frozenset(label.value for label in Label)


class BadCase(ValueError):
    """A case that cannot be a test: unknown label, contradiction, empty text or clause."""


@dataclass(frozen=True, slots=True)
class Case:
    """One test: the text, the labels its verdict must and must not carry, the clause tested."""

    id: str
    text: str
    must: tuple[str, ...]
    must_not: tuple[str, ...]
    clause: str
    known_gap: str | None = None
    safeguarding: bool = False
    source_alert_id: int | None = None
    created_by: str = "taxonomy"

    @property
    def expects_clean(self) -> bool:
        """Whether the case says the text must carry no label at all."""
        return not self.must and set(self.must_not) == _LABELS

    def expected(self) -> str:
        """The expectation in a few words, for lists and refusals."""
        if self.expects_clean:
            return "clean"
        parts = [", ".join(self.must)] if self.must else []
        if self.must_not:
            parts.append("not " + ", ".join(self.must_not))
        return "; ".join(parts)


def check_labels(must: Iterable[str], must_not: Iterable[str]) -> tuple[list[str], list[str]]:
    """The two label lists in taxonomy order, or BadCase naming what is wrong."""
    must, must_not = set(must), set(must_not)
    unknown = sorted((must | must_not) - _LABELS)
    if unknown:
        raise BadCase(f"unknown label(s) {', '.join(unknown)}; labels are "
                      + ", ".join(label.value for label in Label))
    both = sorted(must & must_not)
    if both:
        raise BadCase(f"{', '.join(both)} cannot be both expected and forbidden")
    order = [label.value for label in Label]
    return [x for x in order if x in must], [x for x in order if x in must_not]


def clean_expectation() -> tuple[list[str], list[str]]:
    """The expectation of a false alarm: no label at all."""
    return [], [label.value for label in Label]


def is_safeguarding_case(must: Sequence[str], *, from_lane: bool = False) -> bool:
    """The one rule of who may read a case: one expecting safeguarding, or made from an alert
    in the safeguarding lane, is for the lane's roles only."""
    return from_lane or Label.SAFEGUARDING.value in must


def may_read(role: Role, case: Case) -> bool:
    """Whether `role` may read `case`'s text."""
    return not case.safeguarding or may(role, Permission.SAFEGUARDING)


@cache
def _starting() -> tuple[Case, ...]:
    rows: list[dict[str, Any]] = yaml.safe_load(STARTING_SUITE.read_text("utf-8"))["cases"]
    seen: dict[str, int] = {}
    out = []
    for row in rows:
        seen[row["family"]] = seen.get(row["family"], 0) + 1
        must, must_not = check_labels(row["must"], row["must_not"])
        out.append(Case(id=f"{row['family']}-{seen[row['family']]}", text=row["text"],
                        must=tuple(must), must_not=tuple(must_not), clause=row["clause"],
                        known_gap=row.get("known_gap"),
                        safeguarding=is_safeguarding_case(must)))
    return tuple(out)


def starting_suite() -> list[Case]:
    """The cases that ship with socmon (ids "family-N", numbered in file order)."""
    return list(_starting())


def org_case(row: PolicyCase) -> Case:
    """An organisation's case as the suite runs it."""
    return Case(id=f"{ORG_PREFIX}{row.id}", text=row.text, must=tuple(row.must or ()),
                must_not=tuple(row.must_not or ()), clause=row.clause, known_gap=row.known_gap,
                safeguarding=row.safeguarding, source_alert_id=row.source_alert_id,
                created_by=row.created_by)


def org_cases(session: Session) -> list[Case]:
    """The organisation's own cases, oldest first."""
    return [org_case(row) for row in
            session.execute(select(PolicyCase).order_by(PolicyCase.id)).scalars()]


def all_cases(session: Session) -> list[Case]:
    """The whole suite: the starting cases, then the organisation's."""
    return starting_suite() + org_cases(session)


def org_row_id(case_id: str) -> int | None:
    """The database id behind an organisation case's id, or None for a starting case."""
    if case_id.startswith(ORG_PREFIX) and case_id[len(ORG_PREFIX):].isdigit():
        return int(case_id[len(ORG_PREFIX):])
    return None
