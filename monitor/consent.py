"""Photo consent: the organisation's own posts that name a child whose family withdrew consent.

The classifier sees text only; whether a post is the organisation's own is the connector's
`is_own`. So this rule runs in ingest, after classification: an own post that names (in
full, by an alias with the surname, or slightly misspelt, as the names register matches) a
child whose photo consent is withdrawn gets the identifying label and a reason saying so,
and opens an alert like any identifying comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.base import Label, Span, Verdict, make_verdict
from classifiers.base import ProtectedName as Name
from classifiers.names import NameHit, NameRegister
from connectors.base import Item as FetchedItem
from monitor.models import ProtectedName
from monitor.storable import MAX_TEXT

#: the reason an alert on such a post gives (first among the verdict's reasons)
REASON = "names a child whose photo consent is withdrawn"


def withdrawn_register(session: Session) -> NameRegister | None:
    """The children whose photo consent is withdrawn, as a register (None: there are none)."""
    rows = session.execute(
        select(ProtectedName).where(ProtectedName.photo_consent_withdrawn.is_(True))
    ).scalars().all()
    if not rows:
        return None
    return NameRegister(Name(r.first_name, r.last_name, r.role, tuple(r.aliases or ()), True)
                        for r in rows)


def _flagged(verdict: Verdict, hits: Sequence[NameHit]) -> Verdict:
    labels = {*verdict.labels, Label.IDENTIFYING}
    scores = {**verdict.scores, Label.IDENTIFYING: 1.0}
    spans = [*verdict.spans, *(Span(h.start, h.end, Label.IDENTIFYING, REASON) for h in hits)]
    flagged = make_verdict(sorted(labels), scores, spans=spans,
                           reasons=(REASON, *verdict.reasons),
                           model_version=verdict.model_version)
    # an organisation rule's queue (the policy lab) still routes the alert
    return replace(flagged, queue=verdict.queue)


def flag_own_posts(session: Session, items: Sequence[FetchedItem],
                   verdicts: Sequence[Verdict]) -> list[Verdict]:
    """`verdicts`, with each own item naming a child without photo consent flagged for it."""
    out = list(verdicts)
    own = [i for i, item in enumerate(items) if item.is_own]
    if not own:
        return out  # most pages: no query at all
    register = withdrawn_register(session)
    if register is None:
        return out
    for i in own:
        hits = register.find(items[i].text[:MAX_TEXT])
        if hits:
            out[i] = _flagged(verdicts[i], hits)
    return out
