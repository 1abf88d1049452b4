"""Evidence packs: a ZIP with a PDF report, the stored snapshot JSON, a hash manifest and the
audit-chain excerpt that proves the record was not altered.

The snapshot taken at detection (and its SHA-256) is the evidence: the pack is built from it,
never from the current `items` row, which may have been edited or whose platform copy may be
gone. Every file's hash is in `manifest.json`; the export itself is audited with the
manifest's hash, so the trail names the exact pack that left the system.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.errors import FPDFException
from fpdf.fonts import TTFFont
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.alerts import NotFound
from monitor.models import (
    Alert,
    AlertNote,
    AuditEvent,
    Channel,
    Evidence,
    Item,
    User,
    Verdict,
    utcnow,
)

log = logging.getLogger(__name__)

SCHEMA = 1
#: PDF fonts, tried in order: Debian's fonts-dejavu-core, then the copy matplotlib ships
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
#: text longer than this is cut in the PDF (never in evidence.json)
PDF_TEXT_LIMIT = 20_000
_BATCH = 5000


# -- data ---------------------------------------------------------------------------------

def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def row_dict(obj: object) -> dict[str, Any]:
    """Every mapped column of a row, datetimes as ISO 8601."""
    mapper = inspect(obj).mapper
    return {attr.key: _iso(getattr(obj, attr.key)) for attr in mapper.column_attrs}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _event_line(event: AuditEvent) -> dict[str, Any]:
    # `at` with microseconds, as the chain hashes it, so anyone can recompute `hash`.
    return {"seq": event.seq, "at": event.at.isoformat(timespec="microseconds"),
            "actor": event.actor, "action": event.action, "target_type": event.target_type,
            "target_id": event.target_id, "details": event.details,
            "evidence_sha256": event.evidence_sha256, "prev_hash": event.prev_hash,
            "hash": event.hash, "details_sha256": event.details_sha256}


def verify_through(session: Session, last_seq: int) -> dict[str, Any]:
    """Recompute the audit chain from its start through `last_seq` (no ORM objects loaded)."""
    cols = (AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action,
            AuditEvent.target_type, AuditEvent.target_id, AuditEvent.details,
            AuditEvent.evidence_sha256, AuditEvent.prev_hash, AuditEvent.hash,
            AuditEvent.details_sha256)
    prev_hash, expected, checked = audit.GENESIS, 1, 0

    def result(ok: bool, bad: int | None = None, problem: str = "") -> dict[str, Any]:
        return {"ok": ok, "from_seq": 1, "through_seq": last_seq, "checked": checked,
                "bad_seq": bad, "problem": problem, "last_hash": prev_hash if ok else None}

    while expected <= last_seq:
        rows = session.execute(
            select(*cols).where(AuditEvent.seq >= expected, AuditEvent.seq <= last_seq)
            .order_by(AuditEvent.seq).limit(_BATCH)
        ).all()
        if not rows:
            return result(False, expected, f"event {expected} is missing")
        for seq, at, actor, action, ttype, tid, details, ev_sha, prev, digest, d_sha in rows:
            if seq != expected:
                return result(False, expected, f"event {expected} is missing")
            if prev != prev_hash:
                return result(False, seq, "does not follow the event before it")
            recomputed = audit.event_hash(
                seq=seq, at=at, actor=actor, action=action, target_type=ttype, target_id=tid,
                details=details, evidence_sha256=ev_sha, prev_hash=prev, details_sha256=d_sha)
            if recomputed != digest or not audit.details_intact(details, d_sha):
                return result(False, seq, "content was altered after writing")
            prev_hash, expected, checked = digest, expected + 1, checked + 1
    return result(True)


@dataclass
class _Record:
    alert: Alert
    item: Item
    verdict: Verdict
    channel: Channel
    evidence: list[Evidence]
    snapshots: list[dict[str, Any] | None]
    notes: list[AlertNote]
    events: list[AuditEvent]
    users: dict[int, str]
    #: the snapshots of the other comments linked to the alert (a series alert's comments)
    linked: list[Evidence] = field(default_factory=list)


def _load(session: Session, alert_id: int) -> _Record:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist")
    item = session.get_one(Item, alert.item_id)
    evidence = list(session.execute(
        select(Evidence).where(Evidence.item_id == alert.item_id).order_by(Evidence.id)
    ).scalars())
    snapshots: list[dict[str, Any] | None] = []
    for ev in evidence:
        try:
            parsed = json.loads(ev.snapshot)
            snapshots.append(parsed if isinstance(parsed, dict) else None)
        except ValueError:
            snapshots.append(None)  # still exported verbatim; the report says it is unreadable
    user_ids = {i for i in (alert.assignee_id, alert.acknowledged_by) if i is not None}
    users = {uid: name for uid, name in session.execute(
        select(User.id, User.username).where(User.id.in_(user_ids)))} if user_ids else {}
    return _Record(
        alert=alert, item=item, verdict=session.get_one(Verdict, alert.verdict_id),
        channel=session.get_one(Channel, alert.channel_id), evidence=evidence,
        snapshots=snapshots,
        notes=list(session.execute(select(AlertNote).where(AlertNote.alert_id == alert_id)
                                   .order_by(AlertNote.id)).scalars()),
        events=list(session.execute(
            select(AuditEvent).where(AuditEvent.target_type == "alert",
                                     AuditEvent.target_id == str(alert_id))
            .order_by(AuditEvent.seq)).scalars()),
        users=users,
        linked=list(session.execute(
            select(Evidence).where(Evidence.alert_id == alert_id,
                                   Evidence.item_id != alert.item_id).order_by(Evidence.id)
        ).scalars()),
    )


def _evidence_json(rec: _Record) -> dict[str, Any]:
    newest = rec.snapshots[-1] if rec.snapshots else None
    current_text = rec.item.text
    return {
        "schema": SCHEMA,
        "alert_id": rec.alert.id,
        # Exactly as stored: `snapshot` is the string whose SHA-256 is `sha256`.
        "evidence": [row_dict(ev) for ev in rec.evidence],
        "linked_evidence": [row_dict(ev) for ev in rec.linked],
        "alert": row_dict(rec.alert),
        "verdict": row_dict(rec.verdict),
        "notes": [row_dict(note) for note in rec.notes],
        "current_item_record": {
            "item_id": rec.item.id,
            "text_sha256": audit.sha256_hex(current_text),
            "matches_snapshot": None if newest is None else newest.get("text") == current_text,
        },
    }


def _audit_jsonl(rec: _Record, verification: dict[str, Any]) -> bytes:
    lines = [json.dumps(_event_line(e), sort_keys=True, ensure_ascii=False) for e in rec.events]
    lines.append(json.dumps({"verification": verification}, sort_keys=True))
    return ("\n".join(lines) + "\n").encode("utf-8")


# -- PDF ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Font:
    regular: Path
    bold: Path | None


@cache
def _find_font() -> _Font | None:
    dirs = list(_FONT_DIRS)
    spec = find_spec("matplotlib")
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf")
    for folder in dirs:
        regular = folder / "DejaVuSans.ttf"
        if regular.is_file():
            bold = folder / "DejaVuSans-Bold.ttf"
            return _Font(regular, bold if bold.is_file() else None)
    return None


#: the report font (DejaVu Sans) other PDF reports use too (None: fpdf2's core fonts)
find_font = _find_font


#: invisible or unprintable: zero-width spaces and bidi overrides are named so that a reader
#: sees an obfuscated or reordered text for what it is
_SHOWN_AS_CODE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
#: format characters that only join emoji sequences; naming them would be noise
_JOINERS = frozenset({"\u200d", "\ufe0e", "\ufe0f"})


def printable(text: str, drawable: frozenset[int] | None) -> str:
    """Text a PDF font can draw (None: the core fonts' Latin-1); others become [U+XXXX]."""
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t":
            out.append(ch)
        elif (unicodedata.category(ch) in _SHOWN_AS_CODE and ch not in _JOINERS) or (
                drawable is not None and code not in drawable) or (
                drawable is None and code > 0xFF):
            out.append(f"[U+{code:04X}]")
        else:
            out.append(ch)
    return "".join(out)


def _utc(value: str | datetime | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value.tzinfo else value.isoformat()


class _Report:
    """A small A4 report writer over fpdf2."""

    def __init__(self, font: _Font | None) -> None:
        self.pdf = FPDF(format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.set_creator("socmon")
        self.codepoints: frozenset[int] | None = None
        self.family = "Helvetica"
        self.bold_style = "B"
        if font is not None:
            self.pdf.add_font("DejaVu", "", str(font.regular))
            self.bold_style = ""
            if font.bold is not None:
                self.pdf.add_font("DejaVu", "B", str(font.bold))
                self.bold_style = "B"
            self.family = "DejaVu"
            # The glyphs the font really has (fpdf2 parsed its cmap on add_font).
            loaded = self.pdf.fonts["dejavu"]
            self.codepoints = frozenset(loaded.cmap) if isinstance(loaded, TTFFont) else None
        self.pdf.add_page()

    def _text(self, text: str) -> str:
        return printable(text, self.codepoints)

    def title(self, text: str) -> None:
        self.pdf.set_font(self.family, self.bold_style, 15)
        self.pdf.multi_cell(0, 8, self._text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(2)

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.pdf.set_font(self.family, self.bold_style, 12)
        self.pdf.multi_cell(0, 6, self._text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def field(self, label: str, value: Any, *, link: str | None = None) -> None:
        self.pdf.set_font(self.family, "", 9.5)
        shown = "-" if value is None or value == "" else str(value)
        self.pdf.multi_cell(0, 5, self._text(f"{label}: {shown}"), link=link or "",
                            align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def para(self, text: str, *, size: float = 9.5) -> None:
        self.pdf.set_font(self.family, "", size)
        self.pdf.multi_cell(0, 5, self._text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def quote(self, text: str) -> None:
        self.pdf.set_font(self.family, "", 10.5)
        self.pdf.set_fill_color(240, 240, 240)
        self.pdf.multi_cell(0, 5.5, self._text(text) or " ", border=1, fill=True,
                            align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _summary(details: dict[str, Any]) -> str:
    parts = [f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
             for k, v in sorted(details.items())]
    text = ", ".join(parts)
    return text if len(text) <= 240 else text[:237] + "..."


def _render(rec: _Record, *, checks: Sequence[dict[str, Any]], verification: dict[str, Any],
            file_hashes: dict[str, str], generated_at: datetime, actor: str,
            font: _Font | None) -> bytes:
    alert, verdict = rec.alert, rec.verdict
    snap = next((s for s in reversed(rec.snapshots) if s is not None), None)
    # The snapshot is the record; the live row is only a fallback when none was taken.
    src: dict[str, Any] = snap if snap is not None else {
        "channel": rec.channel.name, "platform": rec.item.platform,
        "external_id": rec.item.external_id, "kind": rec.item.kind,
        "parent_id": rec.item.parent_id, "thread_id": rec.item.thread_id,
        "author_id": rec.item.author_id, "author_name": rec.item.author_name,
        "text": rec.item.text, "url": rec.item.url,
        "created_at": rec.item.created_at.isoformat(), "captured_at": None}
    r = _Report(font)
    r.pdf.set_title(f"socmon evidence report, alert {alert.id}")
    r.title(f"Evidence report: alert #{alert.id}")
    r.para(f"Produced by socmon at {_utc(generated_at)} for {actor}. The item below is the "
           "snapshot taken when socmon detected it; its SHA-256 is checked in the Verification "
           "section. Characters the report font cannot draw appear as [U+XXXX]; the exact text "
           "is in evidence.json.", size=8.5)

    r.heading("The item")
    url = str(src.get("url") or "")
    r.field("Permalink", url or None, link=url if url.startswith(("https://", "http://")) else None)
    r.field("Posted (UTC time and date)", _utc(src.get("created_at")))
    r.field("Captured by socmon", _utc(src.get("captured_at")))
    r.field("Platform", src.get("platform"))
    r.field("Channel", src.get("channel"))
    r.field("Kind", src.get("kind"))
    r.field("Item id on the platform", src.get("external_id"))
    r.field("In reply to", src.get("parent_id"))
    r.field("Thread", src.get("thread_id"))
    r.field("Author", src.get("author_name"))
    r.field("Author id on the platform", src.get("author_id"))
    r.field("socmon ids", f"alert {alert.id}, item {rec.item.id}, verdict {verdict.id}")
    text = str(src.get("text") or "")
    r.para("Text:")
    shown = text if len(text) <= PDF_TEXT_LIMIT else (
        text[:PDF_TEXT_LIMIT] + f"\n[... {len(text) - PDF_TEXT_LIMIT} more characters in "
        "evidence.json]")
    r.quote(shown)
    if snap is None:
        r.para("WARNING: no readable snapshot is stored for this item; the text above is the "
               "current database record, which carries no detection-time hash.")
    elif "redacted" in snap:
        r.para(f"The snapshot's content was removed ({snap['redacted']}, "
               f"{_utc(snap.get('at'))}, docs/records.md); its SHA-256 is kept as the record "
               "that it existed, so it no longer matches what is stored.")

    if rec.linked:
        r.heading(f"The series: {len(rec.linked)} more linked comments")
        for linked in rec.linked:
            try:
                other = json.loads(linked.snapshot)
            except ValueError:
                other = {}
            other = other if isinstance(other, dict) else {}
            r.para(f"{_utc(other.get('created_at'))}  {other.get('platform')}  "
                   f"{other.get('author_name')}  (snapshot SHA-256 {linked.sha256})")
            r.quote(str(other.get("text") or "")[:PDF_TEXT_LIMIT])

    r.heading("Classification")
    r.field("Labels", ", ".join(map(str, verdict.labels)) or "none")
    r.field("Severity", verdict.severity)
    scores = ", ".join(f"{k} {float(v):.2f}" for k, v in sorted(verdict.scores.items())
                       if isinstance(v, int | float))
    r.field("Scores", scores or None)
    r.field("Reasons", "; ".join(map(str, verdict.reasons)) or None)
    r.field("Model version", verdict.model_version)

    r.heading("Handling")
    r.field("Queue", alert.queue)
    r.field("State", alert.state)
    r.field("Opened", _utc(alert.created_at))
    r.field("Deadline", _utc(alert.due_at))
    r.field("Passed deadline, escalated", _utc(alert.overdue_escalated_at)
            if alert.overdue_escalated_at else None)
    r.field("Assigned to", rec.users.get(alert.assignee_id or -1))
    r.field("Resolution", alert.resolution)
    r.field("Resolved", _utc(alert.resolved_at) if alert.resolved_at else None)
    r.field("Escalated to", alert.escalated_to)
    if alert.acknowledged_at:
        r.field("Acknowledged (safeguarding)", f"{_utc(alert.acknowledged_at)} by "
                f"{rec.users.get(alert.acknowledged_by or -1, alert.acknowledged_by)}")
    r.field("Takedown", f"{alert.takedown_action or 'none'} ({alert.takedown_status})")
    if alert.takedown_error:
        r.field("Takedown error", alert.takedown_error)
    r.field("Removal verified", _utc(alert.verified_at) if alert.verified_at else None)

    r.heading("Actions taken (audit trail)")
    if not rec.events:
        r.para("No audit events name this alert.")
    for ev in rec.events:
        r.para(f"#{ev.seq}  {_utc(ev.at)}  {ev.actor}  {ev.action}"
               + (f"  ({_summary(ev.details)})" if ev.details else ""))

    if rec.notes:
        r.heading("Notes")
        for note in rec.notes:
            r.para(f"{_utc(note.created_at)}  {note.author}:")
            r.quote(note.body)

    r.heading("Verification")
    if not checks:
        r.para("No snapshot is stored for this item.")
    for check in checks:
        verdict_text = "MATCHES" if check["match"] else "DOES NOT MATCH (altered after capture)"
        r.field(f"Snapshot {check['id']}", verdict_text)
        r.field("  stored SHA-256", check["stored_sha256"])
        r.field("  recomputed SHA-256", check["recomputed_sha256"])
    current = snap is not None and snap.get("text") == rec.item.text
    if snap is not None and not current:
        r.para("Note: socmon's working copy of the item differs from the snapshot; the snapshot "
               "and its hash are the record.")
    chain = ("intact" if verification["ok"] else
             f"BROKEN at event {verification['bad_seq']}: {verification['problem']}")
    r.field("Audit chain, events 1 to "
            f"{verification['through_seq']}", f"{chain} ({verification['checked']} checked)")
    for name, digest in file_hashes.items():
        r.field(f"SHA-256 of {name}", digest)
    r.para("manifest.json lists the SHA-256 of every file in this pack; the export is "
           "recorded in socmon's audit trail with the manifest's SHA-256.", size=8.5)
    return r.output()


def _pdf(rec: _Record, **kwargs: Any) -> bytes:
    try:
        return _render(rec, font=_find_font(), **kwargs)
    except (FPDFException, OSError):
        # A font that fpdf2 rejects must not stop the export: fall back to the core font.
        log.warning("PDF rendering with the Unicode font failed; using the core font",
                    exc_info=True)
        return _render(rec, font=None, **kwargs)


# -- the pack -----------------------------------------------------------------------------

def _generator() -> str:
    try:
        return f"socmon {version('socmon')}"
    except PackageNotFoundError:
        return "socmon"


def _zip(files: Sequence[tuple[str, bytes]], when: datetime) -> bytes:
    buffer = io.BytesIO()
    stamp = when.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def build_pack(session: Session, *, alert_id: int, actor: str = "system",
               now: datetime | None = None) -> bytes:
    """The ZIP for one alert; records `evidence.export` in the caller's transaction."""
    generated_at = now or utcnow()
    rec = _load(session, alert_id)
    checks = [{"id": ev.id, "stored_sha256": ev.sha256,
               "recomputed_sha256": audit.sha256_hex(ev.snapshot),
               "match": audit.sha256_hex(ev.snapshot) == ev.sha256} for ev in rec.evidence]
    last_seq = rec.events[-1].seq if rec.events else 0
    verification = verify_through(session, last_seq)
    evidence_bytes = (json.dumps(_evidence_json(rec), indent=2, sort_keys=True,
                                 ensure_ascii=False) + "\n").encode("utf-8")
    audit_bytes = _audit_jsonl(rec, verification)
    pdf_bytes = _pdf(rec, checks=checks, verification=verification,
                     file_hashes={"evidence.json": _sha256(evidence_bytes),
                                  "audit.jsonl": _sha256(audit_bytes)},
                     generated_at=generated_at, actor=actor)
    files = [("report.pdf", pdf_bytes), ("evidence.json", evidence_bytes),
             ("audit.jsonl", audit_bytes)]
    manifest = {
        "schema": SCHEMA,
        "generator": _generator(),
        "generated_at": generated_at.isoformat(),
        "exported_by": actor,
        "alert_id": alert_id,
        "files": [{"name": name, "sha256": _sha256(data), "bytes": len(data)}
                  for name, data in files],
        "evidence": checks,
        "audit_chain": verification,
        "hashing": {
            "files": "SHA-256 of the file's bytes",
            "snapshot": "SHA-256 of the UTF-8 bytes of evidence.json evidence[].snapshot",
            "audit_event": "SHA-256 of canonical JSON (sorted keys, no spaces, UTF-8) of "
                           "{seq, at, actor, action, target: [target_type, target_id], "
                           "details_sha256, evidence: evidence_sha256, prev: prev_hash}, "
                           "where details_sha256 is the SHA-256 of the details' canonical "
                           "JSON (events without details_sha256: details in its place)",
        },
    }
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
    audit.record(
        session, actor=actor, action="evidence.export", target_type="alert", target_id=alert_id,
        details={"manifest_sha256": _sha256(manifest_bytes),
                 "files": {name: _sha256(data) for name, data in files},
                 "snapshots_match": all(c["match"] for c in checks) if checks else None,
                 "chain_ok": verification["ok"]},
        evidence_sha256=rec.evidence[-1].sha256 if rec.evidence else None, at=generated_at,
    )
    log.info("evidence pack for alert %s built by %s (%d snapshot(s))", alert_id, actor,
             len(checks))
    return _zip([*files, ("manifest.json", manifest_bytes)], generated_at)
