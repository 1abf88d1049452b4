"""Weak signs on single comments that a series rule counts; alone, none of them opens an alert."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from classifiers.base import Label
from classifiers.normalise import normalise
from monitor.models import Item, SeriesSignal
from monitor.models import Verdict as VerdictRow
from monitor.sqlutil import insert_ignoring_conflicts

#: verdicts written by the series rules themselves (never read back as a comment's signal)
SERIES_MODEL_PREFIX = "series:"


class Kind(StrEnum):
    """What a signal says about its comment."""

    #: asks someone's age, school or year, or for private contact or a meeting
    CONTACT = "contact"
    #: flagged as hostile to a person (abuse, threat, hate, sexual, identifying)
    HOSTILE = "hostile"
    #: carries a link (its target is the site)
    LINK = "link"


#: asking for an age, school, year group or birthday; or for private contact or a meeting. Each
#: pattern is weaker than the classifier's grooming patterns on purpose: "are you on snapchat?"
#: under one child's photo is ordinary, under five children's photos in a week it is not.
CONTACT_PATTERNS: tuple[str, ...] = (
    r"\b(?:what|wat) age (?:are|r) (?:you|u|ya)\b",
    r"\bhow old (?:are|r|is) (?:you|u|ya)\b",
    r"\b(?:what|which) (?:year|yr|school|class)\b",
    r"\b(?:are|r) (?:you|u) in (?:year|yr) ?\d+\b",
    r"\bwhen(?:'s| is) (?:your|ur) birthday\b",
    r"\b(?:are|r) (?:you|u) on (?:snap|snapchat|insta|instagram|whatsapp|tiktok|kik|discord|"
    r"telegram)\b",
    r"\bdo (?:you|u) have (?:snap|snapchat|insta|instagram|whatsapp|tiktok|kik|discord|"
    r"a phone)\b",
    r"\b(?:dm|pm|message|inbox|text|add|follow) me\b",
    r"\b(?:your|ur) (?:snap|snapchat|number|whatsapp|insta|addy)\b",
    r"\bprivate(?:ly)? (?:chat|message|msg)\b",
    r"\bmeet (?:up|me)\b",
)
_CONTACT = re.compile("|".join(CONTACT_PATTERNS))
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_.]{2,64})")
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
#: the verdict labels that make a comment hostile to the person it addresses
HOSTILE_LABELS = frozenset({Label.ABUSE.value, Label.THREAT.value, Label.HATE.value,
                            Label.SEXUAL.value, Label.IDENTIFYING.value})


def seeks_contact(text: str) -> bool:
    """Whether a comment asks an age, school or year, or for private contact or a meeting."""
    return _CONTACT.search(normalise(text)) is not None


def handle(author_name: str | None) -> str | None:
    """A handle as matched across platforms: case-folded, without spaces or a leading @."""
    if not author_name:
        return None
    folded = re.sub(r"\s+", "", author_name).lstrip("@").casefold()
    return folded[:255] or None


def mentions(text: str) -> list[str]:
    """The @handles a comment mentions, as targets."""
    return sorted({"@" + m.casefold() for m in _MENTION.findall(text)})


def domains(text: str) -> list[str]:
    """The sites a comment links to (host without "www.")."""
    out = set()
    for url in _URL.findall(text):
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        if host:
            out.add(host[:255])
    return sorted(out)


@dataclass(frozen=True, slots=True)
class Found:
    """One signal to store."""

    item_id: int
    kind: Kind
    platform: str
    author_id: str | None
    handle: str | None
    target: str | None
    at: datetime


def _addressees(item: Item, parents: dict[tuple[str, str], Item]) -> list[str]:
    """Who a comment speaks to: the author of the comment it replies to (not the organisation,
    not the author themself) and anyone it mentions."""
    out = mentions(item.text)
    parent = parents.get((item.platform, item.parent_id or ""))
    if (parent is not None and not parent.is_own and parent.author_id
            and parent.author_id != item.author_id):
        out.insert(0, f"account:{parent.platform}:{parent.author_id}"[:255])
    return out


def signals_of(item: Item, labels: Iterable[str],
               parents: dict[tuple[str, str], Item]) -> list[Found]:
    """Every signal of one stored comment (the organisation's own posts have none)."""
    if item.is_own:
        return []
    labels = set(labels)
    who = handle(item.author_name)
    found: list[Found] = []

    def add(kind: Kind, target: str | None) -> None:
        found.append(Found(item.id, kind, item.platform, item.author_id, who, target,
                           item.created_at))

    addressed = _addressees(item, parents)
    if Label.SAFEGUARDING.value in labels or seeks_contact(item.text):
        add(Kind.CONTACT, addressed[0] if addressed else None)
    if labels & HOSTILE_LABELS and addressed:
        add(Kind.HOSTILE, addressed[0])
    sites = domains(item.text)
    if sites:
        add(Kind.LINK, sites[0])
    return found


def scan(session: Session, items: list[Item]) -> int:
    """Store the signals of `items` (a comment already scanned keeps its signals); how many
    signals the comments carry."""
    if not items:
        return 0
    ids = [item.id for item in items]
    labels: dict[int, set[str]] = {}
    for item_id, row_labels, version in session.execute(
            select(VerdictRow.item_id, VerdictRow.labels, VerdictRow.model_version)
            .where(VerdictRow.item_id.in_(ids))):
        if not str(version).startswith(SERIES_MODEL_PREFIX):
            labels.setdefault(item_id, set()).update(str(x) for x in row_labels or ())
    wanted = {(item.platform, item.parent_id) for item in items if item.parent_id}
    parents: dict[tuple[str, str], Item] = {}
    if wanted:
        for parent in session.execute(select(Item).where(
                tuple_(Item.platform, Item.external_id).in_(sorted(wanted)))).scalars():
            parents[(parent.platform, parent.external_id)] = parent
    rows = [
        {"item_id": f.item_id, "kind": f.kind.value, "platform": f.platform,
         "author_id": f.author_id, "handle": f.handle, "target": f.target, "at": f.at}
        for item in items for f in signals_of(item, labels.get(item.id, ()), parents)
    ]
    if not rows:
        return 0
    session.execute(insert_ignoring_conflicts(session, SeriesSignal, ["item_id", "kind"]), rows)
    return len(rows)
