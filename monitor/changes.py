"""Every change to how socmon judges, with who, when and why: configuration, models, names.

The judging configuration (routing rules, deadlines, the alert threshold, the classifier,
its sensitivity and per-label thresholds) lives in files and the environment, which keep no
history. So every process that builds a runtime compares the configuration it was given
with the last one recorded and, when they differ, appends a `config.change` audit event
with the changed keys and their old and new values before it does anything else. A change
can therefore not take effect unrecorded: the reason is the one given (`socmon changes
note --reason`, `--reason` or `SOCMON_CHANGE_REASON`), or "not given".

Model promotions and rollbacks (`monitor/retrain.py`), imports of the names register
(`socmon names import`), and the policy lab's rule changes and promotions (`monitor/lab/`)
are audited where they happen; this module reads them back too. The lab's events carry a
hash of the reason: the reason itself is read from the rule's version or the candidate.
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from monitor import audit
from monitor.live_policy import LAB_PROMOTED
from monitor.models import AuditEvent, AuditHead, LabCandidate, OrgRuleVersion, Setting, utcnow

#: the audit action of a change of the judging configuration
CONFIG_CHANGED = "config.change"
#: the environment variable that gives the reason for a configuration change
REASON_ENV = "SOCMON_CHANGE_REASON"
#: what a change recorded without a reason says
NO_REASON = "not given"
#: the settings_kv row holding a reason noted in advance for the next change
PENDING_KEY = "changes.pending_reason"
#: the settings sections that decide what is flagged, where it goes and how soon it is due
#: (a removal request's deadline too)
JUDGING_SECTIONS = ("routing", "classifier", "removals")
#: keys inside those sections that change speed, never a judgement
NOT_JUDGING = frozenset({"classifier.batch_size"})
#: audit actions that change how socmon judges -> what the changes page calls them
CHANGE_KINDS: Mapping[str, str] = {
    CONFIG_CHANGED: "configuration",
    "model.promote": "model promoted",
    "model.rollback": "model rolled back",
    "names.import": "names register",
    LAB_PROMOTED: "lab promotion",
    "lab.rule.add": "organisation rule drafted",
    "lab.rule.edit": "organisation rule edited (draft)",
    "lab.rule.remove": "organisation rule removal drafted",
}
#: the lab's rule changes (a draft goes live with the next promotion)
RULE_ACTIONS = frozenset(a for a in CHANGE_KINDS if a.startswith("lab.rule."))
#: pydantic's mask of a secret (never recorded, should one ever reach these sections)
_SECRET_MASK = "*" * 10


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key in sorted(value):
            _flatten(f"{prefix}.{key}", value[key], out)
    elif value != _SECRET_MASK:
        out[prefix] = value


def judging_config(settings: Settings) -> dict[str, Any]:
    """The judging configuration as flat `section.key` -> JSON value (no secrets)."""
    flat: dict[str, Any] = {}
    for section in JUDGING_SECTIONS:
        dumped = getattr(settings, section).model_dump(mode="json")
        if section == "routing":
            # A rule is named by its label; the order matters too (the first match wins).
            rules = dumped.pop("rules")
            dumped["rule_order"] = [rule["label"] for rule in rules]
            dumped["rules"] = {rule["label"]: {k: v for k, v in rule.items() if k != "label"}
                               for rule in rules}
        _flatten(section, dumped, flat)
    return {k: v for k, v in flat.items() if k not in NOT_JUDGING}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Keys whose value differs (absent is None), with the old and new values."""
    return {key: {"old": old.get(key), "new": new.get(key)}
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)}


def last_recorded(session: Session) -> dict[str, Any] | None:
    """The judging configuration of the latest `config.change` event (None: never recorded)."""
    details = session.execute(
        select(AuditEvent.details).where(AuditEvent.action == CONFIG_CHANGED)
        .order_by(AuditEvent.seq.desc()).limit(1)
    ).scalar_one_or_none()
    # An event whose details were redacted (by retention) has no snapshot: the configuration
    # in force is then recorded afresh rather than as every key changing.
    if not isinstance(details, dict) or not isinstance(details.get("config"), dict):
        return None
    return dict(details["config"])


def process_actor() -> str:
    """Who started this process, as the audit trail names a configuration change."""
    try:
        return f"config:{getpass.getuser()}"[:64]
    except (KeyError, OSError):  # no login name in some containers
        return "config:unknown"


def note_reason(session: Session, *, reason: str, actor: str) -> None:
    """Keep `reason` for the next configuration change recorded (a later note replaces it)."""
    value = json.dumps({"reason": reason, "by": actor, "at": utcnow().isoformat()})
    row = session.get(Setting, PENDING_KEY)
    if row is None:
        session.add(Setting(key=PENDING_KEY, value=value))
    else:
        row.value, row.updated_at = value, utcnow()
    session.flush()


def pending_reason(session: Session) -> str | None:
    """The reason noted in advance for the next change, if any."""
    row = session.get(Setting, PENDING_KEY)
    return None if row is None else str(json.loads(row.value)["reason"])


def record_if_changed(session: Session, settings: Settings, *, actor: str,
                      reason: str | None = None, at: datetime | None = None) -> AuditEvent | None:
    """Audit the judging configuration when it differs from the last recorded; the event.

    Runs in the caller's transaction. The chain's head is locked first, so two replicas
    starting together with one new configuration record it once.
    """
    session.execute(select(AuditHead.id).where(AuditHead.id == 1).with_for_update())
    current = judging_config(settings)
    previous = last_recorded(session)
    if previous == current:
        return None
    pending = session.get(Setting, PENDING_KEY)
    given = reason or (pending_reason(session) if pending is not None else None)
    if pending is not None:
        session.delete(pending)
    details = {
        "changes": diff(previous or {}, current),
        "first": previous is None,
        "reason": given.strip() if given and given.strip() else NO_REASON,
        "config": current,
    }
    return audit.record(session, actor=actor, action=CONFIG_CHANGED, target_type="config",
                        target_id="judging", details=details, at=at)


@dataclass(frozen=True, slots=True)
class Change:
    """One change to how socmon judges, as the changes page and the review pack show it."""

    seq: int
    at: datetime
    actor: str
    kind: str
    summary: str
    reason: str
    #: changed key -> (old, new), configuration changes only
    keys: dict[str, tuple[Any, Any]]

    @property
    def shown_keys(self) -> dict[str, tuple[str, str]]:
        """The changed keys with their values as people read them ("12 hours")."""
        return {k: (_show(old), _show(new)) for k, (old, new) in self.keys.items()}


_ISO_DURATION = re.compile(r"^P(?=\d|T\d)(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def plain_duration(value: timedelta) -> str:
    """A duration as people say it: "30 minutes", "12 hours", "3 days"."""
    minutes = round(value.total_seconds() / 60)
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes >= size and minutes % size == 0:
            n = minutes // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{value.total_seconds():g} seconds"


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str) and _ISO_DURATION.match(value):
        # deadlines are stored as pydantic writes them (ISO 8601, "PT12H")
        return plain_duration(TypeAdapter(timedelta).validate_python(value))
    return value if isinstance(value, str) else json.dumps(value)


def _summary(action: str, details: Mapping[str, Any], target: str) -> str:
    if action == CONFIG_CHANGED:
        changed = details.get("changes", {})
        if details.get("first"):
            return f"configuration first recorded ({len(changed)} settings)"
        return "; ".join(f"{key}: {_show(v['old'])} → {_show(v['new'])}"
                         for key, v in changed.items())
    if action == "model.promote":
        how = " (adopted)" if details.get("how") == "adopted" else ""
        return f"model {target} replaced {details.get('from', '?')}{how}"
    if action == LAB_PROMOTED:
        return _promotion(details)
    if action in RULE_ACTIONS:
        # never the rule's words: an allow-list may hold a member of staff's name
        version = f"rule {target} version {details.get('version', '?')}"
        if details.get("removed"):
            return f"{version}: takes the rule out; live once promoted"
        return (f"{version}: {details.get('kind', '?')} for {details.get('label', '?')} "
                f"({details.get('severity', '?')}); live once promoted")
    if action == "model.rollback":
        return f"model rolled back from {details.get('from', '?')} to {details.get('to', target)}"
    # the names register: counts only, never a name
    return (f"{details.get('rows', 0)} rows read, {details.get('added', 0)} names added, "
            f"{details.get('total', 0)} in the register"
            + (" (replacing the register)" if details.get("replace") else ""))


def _promotion(details: Mapping[str, Any]) -> str:
    parts = []
    rules = details.get("rules") or []
    if rules:
        parts.append("rules live: " + ", ".join(f"{r} version {v}" for r, v in rules))
    spec = details.get("settings") or {}
    if spec.get("sensitivity") is not None:
        parts.append(f"sensitivity {spec['sensitivity']:g}")
    for label, value in sorted((spec.get("thresholds") or {}).items()):
        parts.append(f"threshold {label} {value:g}")
    if spec.get("model_version"):
        parts.append(f"model {spec['model_version']}")
    return "; ".join(parts) or "promoted"


def _lab_reasons(session: Session, events: list[AuditEvent]) -> dict[int, str]:
    """The reasons of the lab's events (kept on the rule version or the candidate), by seq."""
    out: dict[int, str] = {}
    for event in events:
        details = event.details or {}
        reason: str | None = None
        if event.action in RULE_ACTIONS and str(event.target_id).isdigit():
            reason = session.execute(select(OrgRuleVersion.reason).where(
                OrgRuleVersion.rule_id == int(event.target_id),
                OrgRuleVersion.version == details.get("version"))).scalar_one_or_none()
        elif event.action == LAB_PROMOTED and str(event.target_id).isdigit():
            row = session.get(LabCandidate, int(event.target_id))
            reason = row.reason if row is not None else None
        if reason:
            out[event.seq] = reason
    return out


def _reason(action: str, details: Mapping[str, Any]) -> str:
    given = details.get("reason")
    if given:
        return str(given)
    if action == "model.promote" and details.get("how") != "adopted":
        return "retraining: the candidate passed the promotion gate"
    return NO_REASON


def list_changes(session: Session, *, start: datetime | None = None,
                 end: datetime | None = None) -> list[Change]:
    """Every change to how socmon judges in [start, end), oldest first."""
    query = select(AuditEvent).where(AuditEvent.action.in_(CHANGE_KINDS))
    if start is not None:
        query = query.where(AuditEvent.at >= start)
    if end is not None:
        query = query.where(AuditEvent.at < end)
    events = list(session.execute(query.order_by(AuditEvent.at, AuditEvent.seq)).scalars())
    lab_reasons = _lab_reasons(session, [e for e in events if e.action.startswith("lab.")])
    out: list[Change] = []
    for event in events:
        details = event.details or {}
        keys = ({k: (v.get("old"), v.get("new")) for k, v in details.get("changes", {}).items()}
                if event.action == CONFIG_CHANGED else {})
        out.append(Change(event.seq, event.at, event.actor, CHANGE_KINDS[event.action],
                          _summary(event.action, details, event.target_id),
                          lab_reasons.get(event.seq) or _reason(event.action, details), keys))
    return out
