"""One writer per site database: an advisory lock held for the writer Store's whole life.

SQLite serialises transactions but not programs: two loggers on one file would interleave their
batches and fight over the schema. The lock is ``flock`` on a file beside the database
(``site.db.lock``), so the kernel releases it when the holder exits or is killed: there are no
stale locks to clean up. The holder writes who it is into the file (pid, command, host, start)
so a refused writer can name it. Readers do not take it.
"""
from __future__ import annotations

import datetime as dt_
import errno
import json
import os
import socket
import sys
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no advisory lock (the store still serialises transactions)
    fcntl = None  # type: ignore[assignment]


class LockError(Exception):
    """The lock is held by another writer, or cannot be taken (message says which)."""


def lock_path(db: Path) -> Path:
    """Beside the real file: two spellings of one database (a symlink, ./x.db) share a lock."""
    real = db.resolve()
    return real.with_name(real.name + ".lock")


def owner_text(info: dict[str, object] | None) -> str:
    if not info:
        return "another heatrack process (it has not recorded who it is yet)"
    return (f"pid {info.get('pid')} on {info.get('host')} since {info.get('started')} "
            f"({info.get('command')})")


class WriterLock:
    """Held while a writer Store is open; ``release`` (or process exit) frees it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self._fd = path, fd

    @classmethod
    def acquire(cls, db: Path) -> WriterLock | None:
        """Take the lock for ``db`` or raise LockError naming the holder. None where the
        platform has no flock."""
        if fcntl is None:
            return None
        path = lock_path(db)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
                raise LockError(f"{db}: read-only location: cannot create {path.name} beside it "
                                f"({e.strerror}); heatrack writes its lock, WAL and shared-memory files "
                                "next to the database") from None
            if e.errno == errno.ENOENT:
                raise LockError(f"{db}: the folder {db.parent} does not exist") from None
            raise LockError(f"{db}: cannot create {path.name} beside it ({e.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_owner(fd)
            os.close(fd)
            raise LockError(f"{db} is already open for writing by {owner_text(holder)}; one writer per "
                            "site database: stop that one first (reading it, e.g. with heatrack audit, "
                            "still works)") from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join([Path(sys.argv[0]).name or "python", *sys.argv[1:]]) if sys.argv else "?",
            "started": dt_.datetime.now(dt_.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        data = json.dumps(info).encode()
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        except OSError:  # a full disk: the lock holds all the same, unnamed; the database open
            pass         # that follows says what is wrong
        return cls(path, fd)

    @staticmethod
    def owner(db: Path) -> dict[str, object] | None:
        """Who holds (or last held) the lock, from the file; None if unknown."""
        try:
            fd = os.open(lock_path(db), os.O_RDONLY)
        except OSError:
            return None
        try:
            return _parse(os.pread(fd, 4096, 0))
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = -1


def _parse(raw: bytes) -> dict[str, object] | None:
    try:
        info = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _read_owner(fd: int, wait: float = 1.0) -> dict[str, object] | None:
    """The holder writes its record just after taking the lock: give it a moment."""
    deadline = time.monotonic() + wait
    while True:
        info = _parse(os.pread(fd, 4096, 0))
        if info is not None or time.monotonic() >= deadline:
            return info
        time.sleep(0.02)  # polling another process's write, with a deadline
