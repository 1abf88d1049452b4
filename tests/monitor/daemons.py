"""`socmon run` as real processes a test can kill and restart many times, cheaply.

`python -m monitor run` spends seconds importing socmon (the web UI, scikit-learn, the
classifier) before its first poll; a test that kills and restarts the daemon twenty times
cannot pay that each time. So besides the plain command (`Daemon.cold`) there is
`Daemon.warm`: a multiprocessing fork server imports this module, and with it all of socmon,
once; each warm daemon is a fresh fork of that server which runs `socmon run` exactly as the
command line does (`monitor.cli.main` with the same arguments). It is a real process like the
other: its own pid and so its own lease owner, its own database connections and scheduler,
SIGKILLed for real. It shares nothing with the test but the pipe its log goes to.

The fork server itself starts no thread and opens no connection (it only imports), so
forking it is safe. It finds this module on its `sys.path` (the working directory and
`PYTHONPATH`, as for the test run itself); if it could not, each warm daemon would import
socmon itself, slower but the same.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import IO

# What a daemon imports before its first poll, loaded once into the fork server.
import classifiers.policy  # noqa: F401
import monitor.cli
import monitor.daemon
import monitor.retrain

ROOT = Path(__file__).resolve().parents[2]


def _context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, ForkServerContext)
    # Effective only before the fork server starts; it then lives as long as the test run.
    context.set_forkserver_preload([__name__])
    return context


@contextmanager
def fork_server() -> Iterator[None]:
    """Run the fork server for a block: started at once, so that it imports socmon while the
    test does something else, and stopped after it (it holds a few hundred MB)."""
    _context()
    forkserver.ensure_running()
    try:
        yield
    finally:
        # The stdlib's own way to stop it (used by CPython's tests); a no-op if not running.
        forkserver._forkserver._stop()  # type: ignore[attr-defined]


def _run_socmon(argv: list[str], env: dict[str, str], log: Connection) -> None:
    """In the forked child: log to the test's pipe, then `socmon ARGV` as the CLI runs it."""
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    log.close()
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["socmon", *argv]
    monitor.cli.main()


class Daemon:
    """A running `socmon run`; its log is read line by line in a thread, so a test blocks on
    the next line it waits for (with a deadline) instead of sleeping."""

    def __init__(self, kind: str, pid: int, stream: IO[str],
                 send: Callable[[int], None], wait: Callable[[float], int | None]) -> None:
        self.kind, self.pid = kind, pid
        self._send, self._wait = send, wait
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    @classmethod
    def cold(cls, argv: list[str], env: dict[str, str]) -> Daemon:
        """`python -m monitor ARGV`, a new interpreter that imports everything itself."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", *argv], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )
        assert proc.stderr is not None

        def wait(timeout: float) -> int | None:
            try:
                return proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return None

        return cls("cold", proc.pid, proc.stderr, proc.send_signal, wait)

    @classmethod
    def warm(cls, argv: list[str], env: dict[str, str]) -> Daemon:
        """`socmon ARGV` in a fork of the fork server, which has socmon imported already."""
        context = _context()
        reader, writer = context.Pipe(duplex=False)
        proc = context.Process(target=_run_socmon, args=(argv, env, writer), daemon=False)
        proc.start()
        writer.close()  # the child has its own copy: end of file once the child is gone
        stream = os.fdopen(os.dup(reader.fileno()), encoding="utf-8", errors="replace")
        reader.close()
        assert proc.pid is not None

        def send(signum: int) -> None:
            assert proc.pid is not None
            os.kill(proc.pid, signum)

        def wait(timeout: float) -> int | None:
            # join() returns once the fork server has reaped the child: its pid is free,
            # so lease recovery sees the holder dead.
            proc.join(timeout)
            return proc.exitcode

        return cls("warm", proc.pid, stream, send, wait)

    def _read(self, stream: IO[str]) -> None:
        with stream:
            for line in stream:
                self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, *, timeout: float) -> re.Match[str]:
        """Block until a log line matches `pattern`; fail on a deadline, an exit, or an error."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise AssertionError(self.tail(f"no log line matched {pattern!r}")) from None
            if line is None:
                raise AssertionError(self.tail(f"the daemon exited before logging {pattern!r}"))
            self.lines.append(line)
            if " ERROR " in line or "Traceback" in line:
                raise AssertionError(self.tail(f"the daemon logged {line.strip()!r}"))
            found = regex.search(line)
            if found is not None:
                return found

    def kill(self, *, timeout: float) -> None:
        """SIGKILL, and wait until the process is gone and reaped."""
        self._send(signal.SIGKILL)
        code = self._wait(timeout)
        assert code == -signal.SIGKILL, self.tail(f"exit status {code} after SIGKILL")
        self._drain(timeout)

    def terminate(self, *, timeout: float) -> int | None:
        """SIGTERM, wait for the exit; its status (None if it did not exit in time)."""
        self._send(signal.SIGTERM)
        code = self._wait(timeout)
        self._drain(timeout)
        return code

    def stop(self) -> None:
        """Last resort when a test failed with the daemon running."""
        if self._wait(0) is None:
            self._send(signal.SIGKILL)
            self._wait(30)

    def _drain(self, timeout: float) -> None:
        """The rest of the log, up to the end of the pipe."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                return
            if line is None:
                return
            self.lines.append(line)

    @property
    def log(self) -> str:
        """Everything it logged so far."""
        return "".join(self.lines)

    def tail(self, message: str) -> str:
        """`message` and the end of the log, for an assertion."""
        return f"{message} ({self.kind} daemon {self.pid}):\n" + "".join(self.lines[-40:])
