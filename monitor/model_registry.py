"""The classifier's model versions: which one is active and where its files are.

What the runtime needs to serve the active model, apart from retraining (`monitor.retrain`,
which trains, judges, promotes and rolls back): the runtime reads this module and no longer
imports retrain, which imported the runtime for its daemon jobs (an import cycle).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import ModelVersion

#: ModelVersion.path of the model packaged with socmon (not a directory of the data dir)
PACKAGED = ""
#: the data directory's folder of adopted and promoted versions
MODELS_DIR = "models"


class ModelFilesMissing(RuntimeError):
    """The active version's directory is gone from the data directory."""


def active_version(session: Session) -> ModelVersion | None:
    """The active version's row, or None while the packaged model was never replaced."""
    return session.execute(
        select(ModelVersion).where(ModelVersion.active.is_(True))
        .order_by(ModelVersion.id.desc()).limit(1)
    ).scalar_one_or_none()


def version_dir(data_dir: Path, row: ModelVersion) -> Path | None:
    """Where a version's files are (None for the packaged model)."""
    return None if row.path == PACKAGED else data_dir / row.path


def active_model_path(session: Session, data_dir: Path) -> Path | None:
    """The directory of the active model, or None when the packaged model is the active one.

    Raises ModelFilesMissing when the active version's files were removed.
    """
    row = active_version(session)
    if row is None:
        return None
    path = version_dir(data_dir, row)
    if path is not None and not (path / "model.npz").is_file():
        raise ModelFilesMissing(f"model {row.version}: no files at {path}")
    return path


def list_versions(session: Session) -> list[ModelVersion]:
    """Every recorded version, newest first."""
    return list(session.execute(
        select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
    ).scalars())
