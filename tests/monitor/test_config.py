"""Configuration: the example documents every key; mistakes exit 2 with one line naming the key."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from config.loader import ConfigError, load
from config.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


def _keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(prefix + name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= _keys(annotation, f"{prefix}{name}.")
    return keys


def _yaml_keys(data: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for name, value in data.items():
        keys.add(prefix + name)
        if isinstance(value, dict) and name not in {"email", "thresholds", "options"}:
            keys |= _yaml_keys(value, f"{prefix}{name}.")
    return keys


def test_example_documents_every_key_and_loads() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert _keys(Settings) == _yaml_keys(data)
    text = EXAMPLE.read_text(encoding="utf-8")
    for line in text.splitlines():  # every key line carries or follows a comment
        assert "\t" not in line
    settings = load(EXAMPLE)
    assert settings.channels[0].platform == "demo"
    assert "~" not in str(settings.data_dir)


def _run(
    tmp_path: Path, config: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "c.yaml"
    path.write_text(config, encoding="utf-8")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    full_env.update({"SOCMON_DATA_DIR": str(tmp_path / "data"), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "monitor", "poll", "--config", str(path)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("chanels: []\n", "chanels: unknown key"),
        ("routing:\n  deadlines:\n    high: soon\n", "routing.deadlines.high"),
        ("digest:\n  timezone: Mars/Olympus\n", "digest.timezone: unknown time zone"),
        ("channels:\n  - {name: a, platform: myspace}\n", "channels[0].platform: unknown platform"),
        (
            "channels:\n  - {name: a, platform: demo, options: {batch: -1}}\n",
            "channels[0].options.batch",
        ),
        ("channels:\n  - {name: Bad Name, platform: demo}\n", "channels[0].name"),
        (
            "channels:\n  - {name: x1, platform: x, options: {user_id: '1', username: u}}\n",
            "SOCMON_X1_BEARER_TOKEN is not set",
        ),
        ("routing: [\n", "not valid YAML at line"),
        ("web:\n  port: 99999\n", "web.port"),
        ("poll_lease: 1s\n", "poll_lease: must be between 5s and 1h"),
    ],
)
def test_config_mistakes_exit_2_with_one_line(tmp_path: Path, config: str, expected: str) -> None:
    result = _run(tmp_path, config)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_environment_overrides_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("web:\n  port: 9000\n", encoding="utf-8")
    monkeypatch.setenv("SOCMON_WEB__PORT", "9100")
    assert load(path).web.port == 9100
    monkeypatch.setenv("SOCMON_POLL_LEASE", "12s")
    assert load(path).poll_lease == timedelta(seconds=12)
    monkeypatch.setenv("SOCMON_WEB__PORT", "lots")
    with pytest.raises(ConfigError, match=r"web\.port"):
        load(path)
