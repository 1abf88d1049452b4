"""Who holds a lease: `<host>-<pid>` owners, and whether a holder on this host has died."""

from __future__ import annotations

import os
import socket


def owner_id() -> str:
    """This process's lease owner name."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def is_dead_local_holder(holder: str, *, owner: str) -> bool:
    """True when `holder` is another process of this host that no longer runs.

    Holders on other hosts are never judged dead here: their leases simply expire.
    """
    host, _, _ = owner.rpartition("-")
    holder_host, _, pid = holder.rpartition("-")
    return holder != owner and holder_host == host and pid.isdigit() and not _pid_alive(int(pid))
