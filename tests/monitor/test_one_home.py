"""Each domain rule has one home; this scan fails when a copy of one appears elsewhere.

The homes: labels, their order and severities in `classifiers/base.py`; roles and their
permissions in `monitor/people/roles.py`; open states, overdue, the safeguarding lane and
severity order in `monitor/alerts/policy.py` (the alert states' transitions beside them in
the alerts service). A copy is what these rules were before: a hand-written list of label,
severity, state or role names, a deadline compared outside the policy, a label or the lane
tested by its name. Use the home's names instead; if a new rule needs a list, derive it
there. Fixing a finding by widening `HOMES` needs a reason in the review.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from classifiers.base import Label, Severity

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("monitor", "config")
SKIPPED = ("monitor/migrations",)
LABELS = {label.value for label in Label}
SEVERITIES = {s.value for s in Severity}
ALERT_POLICY = "monitor/alerts/policy.py"
#: where each kind of name may be listed or compared
HOMES = {
    "label": {ALERT_POLICY},
    "severity": {ALERT_POLICY},
    "AlertState": {ALERT_POLICY, "monitor/alerts/__init__.py"},
    "Role": {"monitor/people/roles.py", "config/settings.py"},  # the default routes' notify
    "deadline": {ALERT_POLICY},
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} {self.what}"


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith(SKIPPED):
                yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


def _strings(nodes: list[ast.expr | None]) -> set[str]:
    return {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _members(nodes: list[ast.expr | None], enum: str) -> set[str]:
    return {n.attr for n in nodes if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == enum}


def _collection(node: ast.AST) -> list[ast.expr | None] | None:
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return list(node.elts)
    if isinstance(node, ast.Dict):
        return list(node.keys)
    return None


def _deadline(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "due_at"
    return isinstance(node, ast.Name) and "due" in node.id


def _findings_in(path: str, tree: ast.Module) -> Iterator[Finding]:
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        elements = _collection(node)  # Literal["a", "b"] too: its slice is a tuple
        if elements is not None:
            if len(_strings(elements) & LABELS) >= 2:
                yield Finding(path, line, "label", "names listed by hand")
            if len(_strings(elements) & SEVERITIES) >= 2:
                yield Finding(path, line, "severity", "names listed by hand")
            for enum in ("AlertState", "Role"):
                if len(_members(elements, enum)) >= 2:
                    yield Finding(path, line, enum, "members listed by hand")
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            ordering = any(isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE)
                           for op in node.ops)
            if ordering and any(_deadline(o) for o in operands):
                yield Finding(path, line, "deadline", "compared outside the policy")
            if _strings(list(operands)) & LABELS:
                yield Finding(path, line, "label", "tested by its name")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in {"contains", "like"} \
                and any(f'"{label}"' in s for s in _strings(list(node.args)) for label in LABELS):
            yield Finding(path, line, "label", "matched in the labels' JSON by name")


def _findings() -> list[Finding]:
    return [f for path, tree in _sources() for f in _findings_in(path, tree)
            if path not in HOMES[f.kind]]


def test_no_rule_is_written_twice() -> None:
    found = _findings()
    assert not found, "copies of a rule outside its home:\n" + "\n".join(map(str, found))


@pytest.mark.parametrize(("source", "kind"), [
    ('QUEUE = ("abuse", "spam")', "label"),
    ('Level = Literal["critical", "high", "low"]', "severity"),
    ("OPEN = {AlertState.NEW, AlertState.IN_REVIEW}", "AlertState"),
    ("WHO = (Role.ADMIN, Role.MANAGER)", "Role"),
    ("late = alert.due_at <= now", "deadline"),
    ("late = due < now", "deadline"),
    ('sg = alert.queue == "safeguarding"', "label"),
    ("sg = cast(Alert.labels, String).contains('\"safeguarding\"')", "label"),
])
def test_the_scan_catches_each_kind_of_copy(source: str, kind: str) -> None:
    assert [f.kind for f in _findings_in("monitor/new.py", ast.parse(source))] == [kind]


def test_the_homes_hold_what_they_claim() -> None:
    # If a home moved, this scan would silently excuse the wrong file.
    for homes in HOMES.values():
        for home in homes:
            assert (ROOT / home).is_file(), home
