"""Every review pack produced is recorded in the audit trail (its hash, never its text)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy.orm import Session

from monitor import audit
from monitor.review.report import Pack

#: the audit action of producing a review pack
REVIEW_EXPORTED = "review.export"


def record_export(session: Session, pack: Pack, *, actor: str, formats: Sequence[str]) -> None:
    """Audit that `actor` produced `pack` in `formats`, with the PDF's SHA-256."""
    audit.record(session, actor=actor, action=REVIEW_EXPORTED, target_type="review",
                 target_id=str(pack.year),
                 details={"formats": list(formats),
                          "pdf_sha256": hashlib.sha256(pack.pdf).hexdigest()})
