"""An explicit registry of classifiers, extended by the `socmon.classifiers` entry points."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import cast

from classifiers.base import Classifier, Label, ProtectedName

#: built-in classifiers, imported lazily so that building "rules" never loads the model
BUILTIN: dict[str, str] = {
    "policy": "classifiers.policy:build_policy",
    "rules": "classifiers.policy:build_rules",
}

ENTRY_POINT_GROUP = "socmon.classifiers"

#: what a registered factory is called with
ClassifierFactory = Callable[..., Classifier]


class UnknownClassifier(LookupError):
    """No classifier is registered under that name."""


class ClassifierConfigError(ValueError):
    """A classifier option (sensitivity, a threshold) is out of range; the message names it."""


def available() -> list[str]:
    """Every registered classifier name: built-ins, then third-party entry points."""
    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return sorted(found)


def _target(name: str) -> str:
    if name in BUILTIN:
        return BUILTIN[name]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return str(ep.value)
    raise UnknownClassifier(
        f"unknown classifier {name!r}; expected one of: {', '.join(available())}"
    )


def build(
    name: str = "policy",
    *,
    names: Sequence[ProtectedName] = (),
    sensitivity: float = 0.5,
    thresholds: Mapping[Label, float] | None = None,
) -> Classifier:
    """A ready classifier; `sensitivity` in [0, 1] (higher flags more), thresholds per label."""
    if not 0.0 <= sensitivity <= 1.0:
        raise ClassifierConfigError(f"sensitivity: {sensitivity} is not between 0 and 1")
    for label, value in (thresholds or {}).items():
        if not 0.0 < value < 1.0:
            raise ClassifierConfigError(f"thresholds.{label}: {value} is not between 0 and 1")
    module_name, _, attr = _target(name).partition(":")
    factory = cast(ClassifierFactory, getattr(importlib.import_module(module_name), attr))
    return factory(names=names, sensitivity=sensitivity, thresholds=dict(thresholds or {}))
