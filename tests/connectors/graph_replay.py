"""What the Facebook and Instagram replay tests share: credentials, recordings, URL patterns."""

from __future__ import annotations

import re
from pathlib import Path

from connectors.graph import appsecret_proof

TOKEN, SECRET = "recorded-token", "recorded-secret"
PROOF = appsecret_proof(TOKEN, SECRET)
#: the secrets the recorded connectors are built with
SECRETS = {"access_token": TOKEN, "app_secret": SECRET}


def recorded(name: str) -> str:
    """A file of the shared recordings (`../shared` beside the repository)."""
    root = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "recorded"
    return (root / "facebook-sdk" / name).read_text(encoding="utf-8")


def url(path: str) -> re.Pattern[str]:
    """`https://graph.facebook.com/{path}` with any query string."""
    return re.compile(re.escape(f"https://graph.facebook.com/{path}") + r"(\?.*)?$")
