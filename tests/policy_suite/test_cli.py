"""`socmon lab suite|authors|series` in a real process, on both databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from config.settings import Settings
from monitor.runtime import build_runtime
from tests.web.conftest import seed_alert


def _socmon(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    env.update({"SOCMON_DATABASE_URL": settings.database_url or "",
                "SOCMON_DATA_DIR": str(settings.data_dir)})
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True,
                          text=True, env=env, timeout=180, check=False)


def test_suite_add_list_show_from_alert_and_run(settings: Settings) -> None:
    runtime = build_runtime(settings, env={})
    sg = seed_alert(runtime, text="He said not to tell my mum about our secret",
                    labels=["safeguarding"], severity="critical", external_id="c-sg",
                    queue="safeguarding")
    runtime.close()

    added = _socmon(["lab", "suite", "add", "--text", "Dick Whittington was brilliant",
                     "--clause", "Names with rude substrings", "--clean", "--json"], settings)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["id"] == "org-1"
    made = _socmon(["lab", "suite", "from-alert", str(sg), "--actor", "dsl"], settings)
    assert made.returncode == 0, made.stderr
    assert "added org-2 (expects safeguarding)" in made.stdout

    listed = json.loads(_socmon(["lab", "suite", "list", "--org", "--json"], settings).stdout)
    assert [c["id"] for c in listed] == ["org-1", "org-2"]
    assert listed[0]["text"] == "Dick Whittington was brilliant"
    assert "secret" not in listed[1]["text"]  # safeguarding text only by `suite show`
    shown = json.loads(_socmon(["lab", "suite", "show", "org-2", "--json"], settings).stdout)
    assert shown["text"] == "He said not to tell my mum about our secret"

    ran = _socmon(["lab", "suite", "run", "--json"], settings)
    result = json.loads(ran.stdout)
    assert result["total"] == 292
    failing = {f["id"]: f for f in result["failures"]}
    assert "counter_speech-1" in failing  # a known gap: reported, not blocking
    assert failing["counter_speech-1"]["known_gap"] == "adds hate"
    assert ran.returncode == (1 if any(f["known_gap"] is None for f in failing.values()) else 0)


def test_bad_input_is_one_line_and_exit_1(settings: Settings) -> None:
    bad = _socmon(["lab", "suite", "add", "--text", "hi", "--clause", "c"], settings)
    assert bad.returncode == 1
    assert bad.stderr.strip() == "socmon: a case must expect or forbid at least one label"
    both = _socmon(["lab", "suite", "add", "--text", "hi", "--clause", "c", "--must", "abuse",
                    "--must-not", "abuse"], settings)
    assert both.returncode == 1
    assert "abuse cannot be both expected and forbidden" in both.stderr
    missing = _socmon(["lab", "suite", "from-alert", "99"], settings)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "socmon: alert 99 does not exist"
    account = _socmon(["lab", "authors", "link", "nocolon", "dave"], settings)
    assert account.returncode == 1
    assert "PLATFORM:AUTHOR_ID" in account.stderr
    assert "Traceback" not in bad.stderr + both.stderr + missing.stderr + account.stderr


def test_authors_link_and_series_run(settings: Settings) -> None:
    linked = _socmon(["lab", "authors", "link", "facebook:123", "dave", "--actor", "mod"],
                     settings)
    assert linked.returncode == 0, linked.stderr
    rows = json.loads(_socmon(["lab", "authors", "list", "--json"], settings).stdout)
    assert [(r["account"], r["person"], r["by"]) for r in rows] == [
        ("facebook:123", "dave", "cli:mod")]
    ran = json.loads(_socmon(["lab", "series", "run", "--json"], settings).stdout)
    assert ran["opened"] == []
    assert _socmon(["lab", "authors", "unlink", "facebook:123"], settings).returncode == 0
    assert json.loads(_socmon(["lab", "authors", "list", "--json"], settings).stdout) == []
