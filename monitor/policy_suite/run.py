"""Running the suite: which cases a classifier fails, for the lab, retraining and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from classifiers.base import Classifier
from monitor.policy_suite.cases import Case, all_cases


@dataclass(frozen=True, slots=True)
class FailedCase:
    """A case a classifier got wrong: what it said and what was wrong with it."""

    case: Case
    got: tuple[str, ...]
    missing: tuple[str, ...]
    unwanted: tuple[str, ...]

    def describe(self, *, show_text: bool = True) -> str:
        """One line naming the case, its clause and the fault (the text only if allowed)."""
        faults = [f"missing {x}" for x in self.missing] + [f"unwanted {x}" for x in self.unwanted]
        text = f" {self.case.text!r}" if show_text else ""
        return (f"policy case {self.case.id} ({self.case.clause}):{text} expected "
                f"{self.case.expected()}, got {', '.join(self.got) or 'clean'} "
                f"({'; '.join(faults)})")


@dataclass(frozen=True, slots=True)
class SuiteRun:
    """One run of the suite: every failure, and the known gaps that now pass."""

    total: int
    failures: list[FailedCase]
    fixed_gaps: list[Case]

    @property
    def blocking(self) -> list[FailedCase]:
        """The failures that are not known gaps: each blocks a promotion."""
        return [f for f in self.failures if f.case.known_gap is None]


def run_cases(cases: Sequence[Case], classifier: Classifier) -> SuiteRun:
    """Classify every case's text in one batch and compare with what the case expects."""
    verdicts = classifier.classify([case.text for case in cases]) if cases else []
    failures: list[FailedCase] = []
    fixed: list[Case] = []
    for case, verdict in zip(cases, verdicts, strict=True):
        got = tuple(label.value for label in verdict.labels)
        missing = tuple(x for x in case.must if x not in got)
        unwanted = tuple(x for x in case.must_not if x in got)
        if missing or unwanted:
            failures.append(FailedCase(case, got, missing, unwanted))
        elif case.known_gap is not None:
            fixed.append(case)
    return SuiteRun(total=len(cases), failures=failures, fixed_gaps=fixed)


def run_suite(session: Session, classifier: Classifier) -> SuiteRun:
    """The whole suite (starting and organisation cases) against `classifier`."""
    return run_cases(all_cases(session), classifier)


def failing_cases(session: Session, classifier: Classifier) -> list[FailedCase]:
    """The cases `classifier` fails that are not known gaps: a promotion gate refuses on any."""
    return run_suite(session, classifier).blocking


def broken_cases(session: Session, candidate: Classifier,
                 live: Classifier) -> list[FailedCase]:
    """The cases `candidate` fails that are no known gap and that `live` passes: what a
    promotion would break (one the live classifier fails too blocks nothing it changes)."""
    cases = all_cases(session)
    already = {f.case.id for f in run_cases(cases, live).blocking}
    return [f for f in run_cases(cases, candidate).blocking if f.case.id not in already]
