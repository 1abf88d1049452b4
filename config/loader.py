"""Load settings from YAML and the environment, turning every mistake into one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.settings import Settings

DEFAULT_YAML = Path(__file__).with_name("default.yaml")


class ConfigError(ValueError):
    """The configuration is wrong; the message names the key and what is expected."""


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def describe(exc: ValidationError) -> str:
    """One line naming the first bad key, what is wrong and what is expected."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{_where(loc)}: unknown key (check the spelling against config/example.yaml)"
    if kind == "missing":
        return f"{_where(loc)}: required key is missing"
    message = str(err["msg"]).removeprefix("Value error, ")
    got = err.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    return f"{_where(loc)}: {message}{shown}"


def load(path: Path | None = None) -> Settings:
    """Read `path` (or the built-in defaults) and the SOCMON_* environment into Settings."""
    yaml_path = path or DEFAULT_YAML
    if not yaml_path.is_file():
        raise ConfigError(f"config file {yaml_path} does not exist")
    try:
        data: Any = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{yaml_path}: not valid YAML{where}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{yaml_path}: cannot be read ({exc.__class__.__name__})") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{yaml_path}: expected a mapping of keys at the top level")
    Settings.yaml_path = yaml_path
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None
    finally:
        Settings.yaml_path = None
