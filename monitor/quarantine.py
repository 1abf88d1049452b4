"""Quarantine: items that could not be read, stored or classified, kept with their reason.

A hostile or malformed item must not stop its channel, nor vanish: it is set aside here,
counted in channel health, and the rest of its page goes on.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.base import Item as FetchedItem
from connectors.base import Unreadable
from monitor.models import QuarantinedItem, QuarantineStage
from monitor.sqlutil import insert_ignoring_conflicts
from monitor.storable import MAX_TEXT, escaped_json, storable_text

log = logging.getLogger(__name__)

def quarantine(
    session: Session,
    *,
    channel_id: int,
    item: FetchedItem,
    stage: QuarantineStage,
    reason: str,
    now: datetime,
    item_id: int | None = None,
) -> None:
    """Keep an item that could not be stored or classified, with why (once per stage).

    Entries that could not even be read as items go through `set_aside_unreadable`.
    """
    payload = escaped_json(
        {
            "platform": item.platform,
            "external_id": item.external_id,
            "kind": item.kind.value,
            "text": item.text[:MAX_TEXT],
            "author_id": item.author_id,
            "author_name": item.author_name,
            "url": item.url,
            "parent_id": item.parent_id,
            "thread_id": item.thread_id,
            "is_own": item.is_own,
            "created_at": item.created_at.isoformat(),
            "raw": dict(item.raw),
        }
    )
    row = {
        "channel_id": channel_id,
        "platform": storable_text(item.platform)[:32],
        "external_id": storable_text(item.external_id)[:255],
        "item_id": item_id,
        "stage": stage.value,
        "reason": reason[:500],
        "payload": payload,
        "created_at": now,
    }
    stmt = insert_ignoring_conflicts(
        session, QuarantinedItem, ["platform", "external_id", "stage"]
    )
    session.execute(stmt, [row])
    # Never the text or the author: only where the item is and why it was set aside.
    log.warning("channel %d: item %s quarantined (%s)", channel_id, row["external_id"], reason)


def set_aside_unreadable(
    session: Session, *, channel_id: int, platform: str, entry: Unreadable, now: datetime
) -> bool:
    """Keep an entry the connector could not read as an item, with why; False when it was
    kept already.

    Without an id of its own it is named after its payload's digest, so the same entry read
    again (the next poll's overlap, a platform that keeps sending it) is kept once.
    """
    payload = escaped_json({"platform": platform, "external_id": entry.external_id,
                            "reason": entry.reason, "raw": entry.raw})
    external_id = entry.external_id or "unreadable-" + hashlib.sha256(
        escaped_json(entry.raw).encode()).hexdigest()[:32]
    stmt = insert_ignoring_conflicts(
        session, QuarantinedItem, ["platform", "external_id", "stage"]
    ).returning(QuarantinedItem.id)
    kept = session.execute(stmt, {
        "channel_id": channel_id,
        "platform": storable_text(platform)[:32],
        "external_id": storable_text(external_id)[:255],
        "item_id": None,
        "stage": QuarantineStage.READ.value,
        "reason": storable_text(f"could not be read: {entry.reason}")[:500],
        "payload": payload,
        "created_at": now,
    }).first()
    if kept is None:  # kept already
        return False
    log.warning("channel %d: unreadable entry %s quarantined", channel_id, external_id[:255])
    return True



def counts_by_channel(session: Session) -> dict[int, int]:
    """How many items each channel has in quarantine (channel id -> count)."""
    rows = session.execute(
        select(QuarantinedItem.channel_id, func.count()).group_by(QuarantinedItem.channel_id)
    )
    return {channel_id: count for channel_id, count in rows}
