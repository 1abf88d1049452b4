"""One way for every bench to hand over its figures: JSON on stdout, and to a file if asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(result: dict[str, Any], out: Path | None) -> None:
    """Print `result` as indented JSON and, when `out` is given, write it there too."""
    text = json.dumps(result, indent=1)
    print(text)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
