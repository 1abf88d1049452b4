"""Which accounts are one author: a moderator's link, else (optionally) the same handle.

The limits are real and documented in docs/lab.md: socmon cannot see that two accounts with
different handles belong to one person unless a moderator links them, and two people who
happen to share a handle on different platforms are taken for one (when `match_handles`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.models import AuthorLink, utcnow


class BadLink(ValueError):
    """A link that cannot be made (empty person, unknown account) or removed (none)."""


@dataclass(frozen=True, slots=True)
class Identities:
    """The links in force, and whether handles match across platforms."""

    links: dict[tuple[str, str], str]
    match_handles: bool

    def key(self, platform: str, author_id: str | None, handle: str | None) -> str:
        """The author key of an account: the linked person's, else the handle's, else its own."""
        person = self.links.get((platform, author_id or ""))
        if person is not None:
            return f"person:{person}"
        if self.match_handles and handle:
            return f"handle:{handle}"
        return f"account:{platform}:{author_id or '?'}"


def load(session: Session, *, match_handles: bool) -> Identities:
    """The moderators' links as they stand."""
    links = {(platform, author_id): person for platform, author_id, person in session.execute(
        select(AuthorLink.platform, AuthorLink.author_id, AuthorLink.person))}
    return Identities(links=links, match_handles=match_handles)


def link(session: Session, *, platform: str, author_id: str, person: str,
         actor: str) -> AuthorLink:
    """Say that an account belongs to `person` (a name the moderator chooses); audited with
    hashes only (an account id is personal data)."""
    person = person.strip()
    if not person or len(person) > 64:
        raise BadLink("name the person with 1 to 64 characters")
    if not platform.strip() or not author_id.strip():
        raise BadLink("give the account as PLATFORM:AUTHOR_ID")
    row = session.execute(select(AuthorLink).where(
        AuthorLink.platform == platform, AuthorLink.author_id == author_id)).scalar_one_or_none()
    if row is None:
        row = AuthorLink(platform=platform, author_id=author_id, person=person,
                         created_by=actor, created_at=utcnow())
        session.add(row)
    else:
        row.person, row.created_by, row.created_at = person, actor, utcnow()
    session.flush()
    audit.record(session, actor=actor, action="author.link", target_type="author_link",
                 target_id=row.id, details={
                     "account_sha256": audit.sha256_hex(f"{platform}:{author_id}"),
                     "person_sha256": audit.sha256_hex(person)})
    return row


def unlink(session: Session, *, platform: str, author_id: str, actor: str) -> None:
    """Remove an account's link; audited."""
    row = session.execute(select(AuthorLink).where(
        AuthorLink.platform == platform, AuthorLink.author_id == author_id)).scalar_one_or_none()
    if row is None:
        raise BadLink("that account is not linked to anyone")
    session.delete(row)
    audit.record(session, actor=actor, action="author.unlink", target_type="author_link",
                 target_id=row.id, details={
                     "account_sha256": audit.sha256_hex(f"{platform}:{author_id}")})
