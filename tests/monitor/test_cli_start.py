"""The everyday commands start without the heavy libraries only some commands need.

Each command runs in a fresh interpreter under `python -X importtime`, which lists every
module the run imported; none of the listed libraries may be among them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from config.settings import Settings

#: machine learning, the encoder runtime, the training stack and charting
FORBIDDEN = ("sklearn", "scipy", "onnxruntime", "torch", "matplotlib")


def _imported(args: list[str], settings: Settings) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    env.update({"SOCMON_DATABASE_URL": settings.database_url or "",
                "SOCMON_DATA_DIR": str(settings.data_dir)})
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "monitor", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line.split("|")[-1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:") and "|" in line]
    assert "monitor.cli" in lines  # importtime really listed the run's imports
    return {line.split(".")[0] for line in lines}


@pytest.mark.parametrize("args", [["--help"], ["queue", "list"], ["audit", "verify"]],
                         ids=["help", "queue-list", "audit-verify"])
def test_everyday_commands_import_nothing_heavy(args: list[str], settings: Settings) -> None:
    assert not set(FORBIDDEN) & _imported(args, settings)


def test_the_check_sees_a_heavy_import_when_there_is_one(settings: Settings) -> None:
    # Classifying needs the model: the scan must notice it, or the test above proves nothing.
    assert "sklearn" in _imported(["classify", "see you at the fair"], settings)
