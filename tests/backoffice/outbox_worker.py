"""The outbox worker alone in a process, for crash tests: `python -m tests.backoffice.outbox_worker
CONFIG`.

It does what `socmon run` does for the outbox (the same functions: recover the entries a dead
process on this host held, then `outbox.run_once` with the takedown handlers, until SIGTERM)
without the daemon's polls, web UI, digest and retraining jobs, whose imports take seconds: a
test that kills and restarts the worker twenty times cannot wait for them each time.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from config.loader import load
from monitor import outbox
from monitor.db import transaction
from monitor.runtime import build_runtime
from monitor.takedown import TakedownHandlers

#: how long an idle worker waits before looking for due entries again
IDLE = 0.05


def main() -> None:
    """Run the takedown worker on CONFIG's database and channels until SIGTERM."""
    settings = load(Path(sys.argv[1]))
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = build_runtime(settings, migrate=False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    with transaction(runtime.factory) as session:
        outbox.reclaim_dead_locks(session, owner=runtime.owner)
    handlers = TakedownHandlers(
        runtime.connectors,
        verify_after=settings.takedown.verify_after,
        max_attempts=settings.takedown.max_attempts,
    ).as_mapping()
    try:
        while not stop.is_set():
            stats = outbox.run_once(runtime.factory, handlers, owner=runtime.owner,
                                    max_attempts=settings.takedown.max_attempts)
            if stats.done + stats.retried + stats.dead == 0:
                stop.wait(IDLE)
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
