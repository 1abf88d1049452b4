"""Evidence snapshots taken at detection, so a record survives the author deleting the item."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.audit import canonical_json, sha256_hex
from monitor.models import Evidence, Item


def snapshot_of(item: Item, *, channel_name: str, captured_at: datetime) -> dict[str, Any]:
    """What the policies ask to keep: text, author, ids, address (permalink), UTC time, payload."""
    return {
        "schema": 1,
        "captured_at": captured_at.isoformat(),
        "channel": channel_name,
        "platform": item.platform,
        "external_id": item.external_id,
        "kind": item.kind,
        "parent_id": item.parent_id,
        "thread_id": item.thread_id,
        "author_id": item.author_id,
        "author_name": item.author_name,
        "text": item.text,
        "url": item.url,
        "created_at": item.created_at.isoformat(),
        "raw": item.raw,
    }


def preserve(
    session: Session, *, item: Item, channel_name: str, alert_id: int | None, now: datetime
) -> Evidence:
    """Store a hashed snapshot of `item` (never commits)."""
    body = canonical_json(snapshot_of(item, channel_name=channel_name, captured_at=now))
    evidence = Evidence(
        item_id=item.id, alert_id=alert_id, captured_at=now, snapshot=body, sha256=sha256_hex(body)
    )
    session.add(evidence)
    return evidence
