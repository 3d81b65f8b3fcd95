"""One ``lookout up`` per data directory: a second one would attach to the first one's
PostgreSQL and run a second demo feed into it. The lock is an advisory ``flock`` on
``<data dir>/lookout.lock``, held for the life of the process (the kernel releases it
when the process ends, however it ends, so a crash leaves no stale lock behind)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from lookout.errors import CommandError

LOCK_FILE = "lookout.lock"


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._file: IO[str] | None = None

    def is_held_elsewhere(self) -> bool:
        """True when another process holds the lock (a ``lookout up`` is running)."""
        if not self.path.exists():
            return False
        with self.path.open("a+") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(probe, fcntl.LOCK_UN)
            return False

    def acquire(self) -> None:
        """Take the lock, or raise ``CommandError`` naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            lock.close()
            raise CommandError(
                f"{self.path.parent} is in use by another lookout up (pid {holder}); stop "
                "it first, or give this one its own --data-dir"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._file = lock

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
