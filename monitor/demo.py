"""What `socmon demo` adds to the daemon: its logins file and an inbox for its notifications.

The demo has no mail server. So that a critical alert's notification reaches someone (as it
would reach the safeguarding lead and the head by e-mail), the demo registers an apprise
service of its own, `socmondemo://`, which appends each message to `demo-inbox.txt` in the
data directory and logs one line. Messages carry what real ones do: the label, the queue, the
deadline and links, never the comment or its author.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from config.settings import Settings
from monitor.models import utcnow

log = logging.getLogger(__name__)

LOGINS_FILE = "demo-logins.txt"
INBOX_FILE = "demo-inbox.txt"
INBOX_URL = "socmondemo://inbox"

_inbox_lock = threading.Lock()
_inbox: list[Path] = []  # the one registered inbox file (apprise's registry is global)


def login_table(accounts: Sequence[tuple[str, str, str]]) -> list[str]:
    """Role, username and password of each (username, password, role), in columns."""
    return [f"{'role':<19}{'username':<17}password",
            *(f"{role.replace('_', ' '):<19}{user:<17}{password}"
              for user, password, role in accounts)]


def write_logins(data_dir: Path, *, url: str, accounts: Sequence[tuple[str, str, str]]) -> Path:
    """Write the demo's logins to a file only its owner can read (0600); returns its path."""
    path = data_dir / LOGINS_FILE
    lines = [f"socmon demo logins for {url} (new passwords each start)", "",
             *login_table(accounts)]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT: set it anyway
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def _deliver(body: str, title: str, notify_type: str, *_args: Any, **_kwargs: Any) -> bool:
    """The `socmondemo://` service: append the message to the inbox file, log one line."""
    with _inbox_lock:
        if not _inbox:
            return False
        path = _inbox[0]
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"--- {utcnow():%Y-%m-%d %H:%M:%S} UTC  {title}\n{body}\n\n")
    log.info("demo inbox: %s (the message is in %s)", title, path)
    return True


def use_inbox(settings: Settings) -> Settings:
    """`settings` with critical-alert notifications going to the demo's inbox file."""
    from apprise.decorators import notify  # imported here: only the demo's daemon needs it

    with _inbox_lock:
        if not _inbox:
            # apprise's decorator registers the service globally (it is untyped).
            notify(on="socmondemo", name="socmon demo inbox")(_deliver)  # type: ignore[no-untyped-call]
        _inbox[:] = [settings.data_dir / INBOX_FILE]
    notifications = settings.notifications.model_copy(
        update={"apprise_urls": [*settings.notifications.apprise_urls, SecretStr(INBOX_URL)]})
    return settings.model_copy(update={"notifications": notifications})
