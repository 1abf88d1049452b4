"""Supply chain: the locks pin with hashes what pyproject.toml asks for; the image uses them.

And `make audit` never passes off an audit that did not happen as a clean one.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Pin:
    """One locked release: its version, hashes and what asked for it."""

    version: str
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def read_lock(path: Path) -> dict[str, Pin]:
    """A pip-compile lock file as normalised name -> pin."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line):
            current = pins[_norm(match.group(1))] = Pin(match.group(2))
        elif current and (digest := re.search(r"--hash=sha256:([0-9a-f]{64})", line)):
            current.hashes.append(digest.group(1))
        elif current and line.startswith("    #"):
            text = line.strip("# ").removeprefix("via").strip()
            if text:
                current.via.append(text)
    return pins


def _extra_requirements(req: Requirement) -> list[Requirement]:
    """What `req`'s extras add (psycopg[binary] -> psycopg-binary), read off its metadata."""
    found = []
    for raw in metadata.requires(req.name) or []:
        extra_req = Requirement(raw)
        for extra in req.extras:
            if extra_req.marker and extra_req.marker.evaluate({**default_environment(),
                                                               "extra": extra}):
                found.append(extra_req)
    return found


def test_every_runtime_dependency_is_locked_within_its_range_and_hashed() -> None:
    lock = read_lock(ROOT / "requirements.lock")
    wanted = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    assert len(wanted) >= 30
    for req in wanted:
        pin = lock.get(_norm(req.name))
        assert pin is not None, f"{req.name} is in pyproject.toml but not in requirements.lock"
        assert req.specifier.contains(pin.version, prereleases=True), (
            f"requirements.lock pins {req.name}=={pin.version}, outside {req.specifier}")
        for extra_req in _extra_requirements(req):
            assert _norm(extra_req.name) in lock, f"{req}: {extra_req.name} is not locked"
    # ... and the other way: nothing is pinned for the project that it no longer asks for.
    direct = {name for name, pin in lock.items() if "socmon (pyproject.toml)" in pin.via}
    assert direct == {_norm(r.name) for r in wanted}
    # pip --require-hashes refuses a file in which any pin lacks a hash.
    assert all(pin.hashes for pin in lock.values()), [n for n, p in lock.items() if not p.hashes]


def test_the_build_backend_is_locked_with_hashes() -> None:
    lock = read_lock(ROOT / "requirements-build.lock")
    for raw in PYPROJECT["build-system"]["requires"]:
        req = Requirement(raw)
        pin = lock.get(_norm(req.name))
        assert pin is not None, f"{req.name} is not in requirements-build.lock"
        assert pin.hashes
        assert req.specifier.contains(pin.version, prereleases=True)


def test_the_image_installs_only_from_the_locks() -> None:
    steps = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    installs = [line for line in steps.splitlines()
                if line.startswith("RUN ") and "pip install" in line]
    commands = [c.strip() for line in installs for c in line[4:].split("&&")]
    assert commands, "no pip install in the Dockerfile"
    for command in commands:
        if "-r requirements" in command:
            assert "--require-hashes" in command, command
        else:  # the project itself: nothing may be resolved past the lock
            assert "--no-deps" in command, command
            assert command.endswith(" ."), command
    assert any("-r requirements.lock" in c for c in commands)
    assert any("-r requirements-build.lock" in c for c in commands)


def _audit_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_lock", ROOT / "tools" / "audit_lock.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_audit_tells_no_audit_from_a_clean_one() -> None:
    judge = _audit_tool().judge
    # What pip-audit reports through a PyPI mirror without per-release pages: every package
    # skipped, and still "No known vulnerabilities found" on its own output.
    skipped = {"dependencies": [
        {"name": "alembic", "skip_reason": "Dependency not found on PyPI and could not be "
                                           "audited: alembic (1.20.1)"},
        {"name": "anyio", "skip_reason": "Dependency not found on PyPI and could not be "
                                         "audited: anyio (4.16.0)"}], "fixes": []}
    code, lines = judge(skipped, service="pypi")
    assert code == 0
    assert lines[0].startswith("make audit: NOT AUDITED")
    assert "none of the 2 locked packages" in lines[0]

    clean = {"dependencies": [{"name": "alembic", "version": "1.20.1", "vulns": []},
                              skipped["dependencies"][1]], "fixes": []}
    code, lines = judge(clean, service="pypi")
    assert code == 0
    assert "1 of 2 packages could not be audited: anyio" in lines[0]
    assert lines[-1] == "make audit: 1 packages audited against pypi: no known vulnerabilities"

    vulnerable = {"dependencies": [{"name": "jinja2", "version": "3.1.2", "vulns": [
        {"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": [],
         "description": "..."}]}], "fixes": []}
    code, lines = judge(vulnerable, service="osv")
    assert code == 1
    assert lines[0] == "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)"
