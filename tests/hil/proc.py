"""Child processes with a hard kill timer, killed by PID only.

Every QEMU, qemu-storage-daemon and testpmd run goes through
:class:`Proc`: its output is collected line by line (and kept in a log
file), :meth:`Proc.wait_for` waits for a line matching a pattern, and a
timer kills the process by its PID when its deadline passes, whatever the
test is doing.  Nothing is ever killed by name.
"""

from __future__ import annotations

import os
import re
import signal as _signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Optional, Sequence

__all__ = ["Proc", "ProcTimeout"]


class ProcTimeout(AssertionError):
    """A wait ran out of time; the message carries the process output tail."""


class Proc:
    """Run ``argv`` with stdout+stderr merged into a line log.

    Args:
        argv: command line.
        log_path: file that receives every output line.
        deadline: seconds after which the process is killed (SIGKILL by PID).
        stdin: pass True to get a writable pipe (``send``).
        cwd: working directory.
    """

    def __init__(
        self,
        argv: Sequence[str],
        log_path: Path,
        deadline: float,
        *,
        stdin: bool = False,
        cwd: Optional[Path] = None,
    ) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._log: IO[str] = open(log_path, "w")
        self._log.write("$ " + " ".join(self.argv) + "\n")
        self._log.flush()
        self.started = time.monotonic()
        self.killed_by_timer = False
        self.p = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            bufsize=0,
        )
        self.pid = self.p.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._timer = threading.Timer(deadline, self._deadline)
        self._timer.daemon = True
        self._timer.start()

    # -- output ------------------------------------------------------------------------
    def _read(self) -> None:
        assert self.p.stdout is not None
        fd = self.p.stdout.fileno()
        buf = b""
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            *done, buf = re.split(rb"\r?\n", buf + chunk)
            lines = [d.decode(errors="replace") for d in done]
            if buf.endswith(b"testpmd> "):  # testpmd's prompt has no newline
                lines.append(buf.decode(errors="replace"))
                buf = b""
            self._add(lines)
        if buf:
            self._add([buf.decode(errors="replace")])
        with self._cond:
            self._cond.notify_all()

    def _add(self, lines: list[str]) -> None:
        if not lines:
            return
        with self._cond:
            self.lines.extend(lines)
            for line in lines:
                self._log.write(line + "\n")
            self._log.flush()
            self._cond.notify_all()

    def text(self) -> str:
        """Everything printed so far."""
        with self._cond:
            return "\n".join(self.lines)

    def tail(self, n: int = 40) -> str:
        """The last ``n`` lines, for failure messages."""
        with self._cond:
            return "\n".join(self.lines[-n:])

    def wait_for(self, pattern: str, timeout: float, start: int = 0) -> re.Match[str]:
        """First line from index ``start`` on that matches ``pattern``.

        Raises:
            ProcTimeout: not seen in time, or the process ended first.
        """
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        i = start
        with self._cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return m
                    i += 1
                left = end - time.monotonic()
                ended = self.p.poll() is not None and not self._reader.is_alive()
                if left <= 0 or ended:
                    why = "exited with %s" % self.p.returncode if ended else f"no match in {timeout:.0f} s"
                    if self.killed_by_timer:
                        why += " (killed by its hard timer)"
                    raise ProcTimeout(
                        f"{Path(self.argv[0]).name} (pid {self.pid}): waiting for /{pattern}/: {why}; "
                        f"log {self.log_path}; last lines:\n{self.tail()}"
                    )
                self._cond.wait(min(left, 0.5))

    # -- control ----------------------------------------------------------------------------
    def send(self, line: str) -> None:
        """Write one line to the process's stdin."""
        assert self.p.stdin is not None
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def _deadline(self) -> None:
        if self.p.poll() is None:
            self.killed_by_timer = True
            self.kill()

    def signal(self, sig: int) -> None:
        """Send ``sig`` to this process (by PID)."""
        if self.p.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL by PID."""
        self.signal(_signal.SIGKILL)

    def wait(self, timeout: float) -> Optional[int]:
        """Exit code, or None if still running after ``timeout`` s."""
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self, grace: float = 0.0, sig: int = _signal.SIGTERM) -> int:
        """Stop the process (``sig``, then SIGKILL after ``grace`` s) and reap it."""
        if self.p.poll() is None and grace > 0:
            self.signal(sig)
            if self.wait(grace) is None:
                self.kill()
        elif self.p.poll() is None:
            self.kill()
        rc = self.p.wait()
        self._timer.cancel()
        self._reader.join(5)
        if self.p.stdin is not None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
        self._log.close()
        return rc

    @property
    def elapsed(self) -> float:
        """Seconds since start."""
        return time.monotonic() - self.started

    def __enter__(self) -> "Proc":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
