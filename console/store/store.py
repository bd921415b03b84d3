"""The site database.

One writer thread owns the only write connection. Everyone else queues work to it: reading
batches (fire and forget) and small writes (events, runs, audit) that return a Future
resolved once their transaction is committed. The writer commits at most once per
``commit_interval`` (1 s), so a burst of polls costs one fsync, not one per device. WAL mode
lets readers (one connection per thread) run while the writer writes.

Rollups are kept exact rather than incremental-by-addition: after a batch, each touched
minute bucket is recomputed from its samples, and each touched hour from its minutes. A
replaced sample (same series and ts) can then never be counted twice.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from console.store import schema
from console.store.audit import ChainReport, verify_chain
from console.store.lock import LockError, WriterLock
from protocols.base import Reading

log = logging.getLogger("heatrack.store")

RAW_MAX_SPAN_S = 6 * 3600
MINUTE_MAX_SPAN_S = 7 * 86400
# readings waiting for the disk (about 140 B each): past this, new batches are dropped and
# counted rather than growing memory without end while a disk is stalled
MAX_QUEUED_ROWS = 1_000_000
# The largest magnitude stored as a number. Far above any real quantity (a 10 MW site in W is
# 1e7, a decade's energy counter in Wh 1e11), and small enough that no sum in a rollup can
# overflow to infinity or beyond SQLite's 64-bit integers. Beyond it a value is "no reading".
MAX_ABS_VALUE = 1e15
# Timestamps (UTC epoch seconds) from 1970 to the year 5138: outside, the reading is rejected.
MAX_TS_S = 1e11
# how long the writer waits for another program's write lock before it gives up and stops
BUSY_TIMEOUT_S = 10.0


class StoreError(Exception):
    """A problem the user can act on (file unreadable, locked, corrupt)."""


class StoreVersionError(StoreError):
    pass


class WriterStopped(StoreError):
    """The writer stopped (disk full, locked too long, I/O error): this work was not stored.
    Raised to every caller from then on with the same message, so a caller that has already
    reported the cause can tell the repeats apart."""


@dataclasses.dataclass(frozen=True, slots=True)
class SeriesInfo:
    id: int
    device_id: str
    channel: str
    quantity: str
    unit: str

    @property
    def key(self) -> str:
        return f"{self.device_id}/{self.channel}/{self.quantity}"


@dataclasses.dataclass(frozen=True, slots=True)
class Latest:
    series: SeriesInfo
    ts: float
    value: float | str | None

    @property
    def unit(self) -> str:
        return self.series.unit


@dataclasses.dataclass(frozen=True, slots=True)
class RangePoint:
    """One point of a range: a raw sample (n = 1) or a rollup bucket (ts = bucket start)."""

    ts: float
    mean: float
    min: float
    max: float
    n: int


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    id: int
    ts: float
    severity: str
    device_id: str | None
    kind: str
    message: str
    acked_by: str | None
    acked_at: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class Run:
    id: int
    kind: str
    name: str
    site: str
    operator: str
    started: float
    ended: float | None
    status: str
    notes: str


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    id: int
    run_id: int
    seq: int
    name: str
    status: str
    started: float
    ended: float | None
    notes: str
    evidence: list[dict[str, Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    ts: float
    actor: str
    action: str
    target: str
    before: str | None
    after: str | None
    result: str


def _table_names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


_STOP = object()
_Call = tuple[Callable[[sqlite3.Connection], Any], Future]


@dataclasses.dataclass(slots=True)
class _Pending:
    """What the writer has accepted but not committed yet."""

    rows: list[Reading] = dataclasses.field(default_factory=list)
    calls: list[tuple[Future[Any], Any]] = dataclasses.field(default_factory=list)
    flushes: list[Future[None]] = dataclasses.field(default_factory=list)


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already (it rolls back by itself on
    SQLITE_FULL, IOERR, NOMEM...; a second ROLLBACK would raise and kill the writer)."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as e:
            log.warning("rollback failed: %s", e)


def _undo_op(conn: sqlite3.Connection) -> bool:
    """Roll one queued write back to its savepoint. False: the savepoint is gone with the whole
    transaction (SQLite rolled it back), so the batch it belonged to is lost."""
    if not conn.in_transaction:
        return False
    try:
        conn.execute("ROLLBACK TO op")
        conn.execute("RELEASE op")
    except sqlite3.Error:
        return False
    return True


def describe_error(e: BaseException, busy_timeout: float) -> str:
    """One line naming the cause, in the user's terms."""
    text = str(e) or type(e).__name__
    if isinstance(e, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return (f"database is locked: another program held its write lock for more than "
                f"{busy_timeout:g} s")
    return text


def _connect(path: Path, busy_timeout: float = 10.0, readonly: bool = False) -> sqlite3.Connection:
    target: str | Path = path
    if readonly:  # never creates the file, never writes it
        target = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=busy_timeout,
                           uri=readonly)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    return conn


class Store:
    def __init__(self, path: str | Path, *, commit_interval: float = 1.0,
                 on_commit: Callable[[int], None] | None = None,
                 max_queued_rows: int = MAX_QUEUED_ROWS, busy_timeout: float | None = None,
                 readonly: bool = False) -> None:
        """Open (creating or migrating) the store at ``path`` and start its writer.

        ``on_commit(rows)`` is called from the writer after each commit with the number of
        samples committed so far (tests and the status bar use it). At most
        ``max_queued_rows`` readings wait for the disk; beyond, batches are dropped and
        counted in ``dropped_rows``. ``busy_timeout`` (default ``BUSY_TIMEOUT_S``) bounds every
        wait for another program's write lock; past it the writer stops, failing what is queued.

        A writer takes the site database's writer lock (``console.store.lock``) for its life: a
        second writer is refused, naming the first. ``readonly=True`` opens for reading only
        (reports, ``heatrack audit``): no lock, no writer, no migration; writes are refused."""
        if busy_timeout is None:
            busy_timeout = BUSY_TIMEOUT_S
        self.path = Path(path)
        self.commit_interval = commit_interval
        self.max_queued_rows = max_queued_rows
        self.dropped_rows = 0
        self.rejected_rows = 0  # readings with an impossible timestamp (written by the writer only)
        self._queued_rows = 0  # accepted, not yet committed
        self._dropping = False
        self._on_commit = on_commit
        self._queue: queue.Queue[Any] = queue.Queue()
        self._local = threading.local()
        self._series: dict[tuple[str, str, str], int] = {}
        self._committed_rows = 0
        self.commits = 0
        self._error: WriterStopped | None = None
        self.busy_timeout = busy_timeout
        self._closed = False
        # held while checking "open" and queueing, and while closing or failing the writer:
        # nothing can be queued behind the writer's exit, where no one would resolve it
        self._put_lock = threading.Lock()
        self.readonly = readonly
        self.schema_version = (0, 0)  # (major, minor) once open
        self._writer_lock: WriterLock | None = None
        if not str(path):
            raise StoreError("no site database file given (an empty name)")
        if self.path.is_dir():
            raise StoreError(f"{path!s} is a folder; give the site database's file name")
        if readonly:
            self._open_readonly()
            return
        try:
            self._writer_lock = WriterLock.acquire(self.path)
        except LockError as e:
            raise StoreError(str(e)) from None
        try:
            conn = self._open_writer()
        except BaseException:
            if self._writer_lock is not None:
                self._writer_lock.release()
            raise
        self._wconn = conn
        for sid, dev, ch, q in conn.execute("SELECT id, device_id, channel, quantity FROM series"):
            self._series[(dev, ch, q)] = sid
        self._writer = threading.Thread(target=self._run, name="heatrack-store-writer", daemon=True)
        self._writer.start()

    def _open_writer(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = None
        try:
            conn = _connect(self.path, self.busy_timeout)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
            return conn
        except sqlite3.DatabaseError as e:
            if conn is not None:
                conn.close()
            text = str(e)
            if isinstance(e, sqlite3.OperationalError) and "readonly" in text:
                raise StoreError(f"{self.path} is read-only ({text}): heatrack must be able to write its site "
                                 "database and the files beside it; check the file's and the folder's "
                                 "permissions and the mount") from None
            if isinstance(e, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
                raise StoreError(f"{self.path}: cannot open the site database: "
                                 f"{describe_error(e, self.busy_timeout)}") from None
            raise StoreError(f"{self.path}: cannot open the site database: {e}") from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise

    def _open_readonly(self) -> None:
        """For reports and ``heatrack audit``: no writer, no lock, no migration; works while a
        writer runs (WAL)."""
        if not self.path.exists():
            raise StoreError(f"{self.path}: no such site database")
        if not self.path.is_file():
            raise StoreError(f"{self.path}: not a regular file")
        try:
            conn = self._reader()
            major, minor = schema.decode(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = _table_names(conn)
        except sqlite3.DatabaseError as e:
            self.close()
            raise StoreError(f"{self.path}: cannot open the site database: {e}") from None
        try:
            self._check_version(major, minor, bool(tables))
        except StoreError:
            self.close()
            raise
        if (major, minor) == (0, 0):
            self.close()
            raise StoreError(f"{self.path} is empty: no heatrack data yet")
        self.schema_version = (major, minor)

    # ------------------------------------------------------------------ schema
    def _check_version(self, major: int, minor: int, has_tables: bool) -> None:
        if major > schema.MAJOR:
            raise StoreVersionError(
                f"{self.path} was written by a newer heatrack (database schema {major}.{minor}); this "
                f"heatrack reads schema {schema.MAJOR}.x. Upgrade heatrack to open it.")
        if (major, minor) == (0, 0) and has_tables:
            raise StoreError(f"{self.path} is not a heatrack database (it has tables but no "
                             "heatrack schema version)")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Create or migrate the schema and record this writer, in one transaction taken
        *before* the version is read: a second opener sees nothing or the finished schema. The
        write also proves the file writable (a read-only one is refused here, at open)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            major, minor = schema.decode(conn.execute("PRAGMA user_version").fetchone()[0])
            self._check_version(major, minor, bool(_table_names(conn)))
            start = (major, minor)
            for frm, to, migrate in schema.MIGRATIONS:
                if (major, minor) == frm:
                    log.info("migrating %s from schema %d.%d to %d.%d", self.path, *frm, *to)
                    schema.apply(conn, migrate)
                    major, minor = to
            if (major, minor) < (schema.MAJOR, 0):
                raise StoreError(f"{self.path}: no migration from schema {major}.{minor}")
            if (major, minor) != start:
                conn.execute(f"PRAGMA user_version = {schema.encode(major, minor)}")
            owner = WriterLock.owner(self.path) if self._writer_lock is not None else None
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('writer', ?)",
                         (json.dumps(owner or {"pid": os.getpid()}),))
            self._check_audit_chain(conn)
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        self.schema_version = (major, minor)

    def _check_audit_chain(self, conn: sqlite3.Connection) -> None:
        """A broken audit chain is logged and raised as an alarm event, once per finding; the
        store still opens (the log is evidence, and the site must go on being logged)."""
        report = verify_chain(conn)
        for problem in report.problems:
            message = f"audit log: {problem}"
            log.warning("%s: %s", self.path, message)
            if conn.execute("SELECT 1 FROM events WHERE kind = 'audit_chain_broken' AND message = ?",
                            (message,)).fetchone() is None:
                conn.execute("INSERT INTO events (ts, severity, device_id, kind, message) "
                             "VALUES (?, 'alarm', NULL, 'audit_chain_broken', ?)", (time.time(), message))

    # ------------------------------------------------------------------ writing
    def add_readings(self, readings: Iterable[Reading]) -> None:
        """Queue readings for the writer. Never blocks on the disk: while ``max_queued_rows``
        are already waiting, the batch is dropped (counted in ``dropped_rows``, logged)."""
        batch = list(readings)
        if not batch:
            return
        with self._put_lock:
            self._check_open()
            if self._queued_rows + len(batch) <= self.max_queued_rows:
                self._queued_rows += len(batch)
                self._queue.put(batch)
                resumed, self._dropping = self._dropping, False
                if resumed:
                    log.warning("%s: the disk caught up; %d readings were dropped meanwhile",
                                self.path, self.dropped_rows)
                return
            self.dropped_rows += len(batch)
            first, self._dropping = not self._dropping, True
        if first:
            log.warning("%s: %d readings are waiting for the disk; dropping new readings until it "
                        "catches up", self.path, self._queued_rows)

    def register_device(self, device_id: str, kind: str, protocol: str, address: str,
                        name: str = "") -> Future[None]:
        def op(c: sqlite3.Connection) -> None:
            now = time.time()
            c.execute("INSERT INTO devices (id, kind, protocol, address, name, first_seen, last_seen) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, "
                      "protocol = excluded.protocol, address = excluded.address, name = excluded.name, "
                      "last_seen = excluded.last_seen", (device_id, kind, protocol, address, name, now, now))
        return self._call(op)

    def set_meta(self, key: str, value: str) -> Future[None]:
        return self._call(lambda c: c.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)) and None)

    def add_event(self, ts: float, severity: str, device_id: str | None, kind: str,
                  message: str) -> Future[int]:
        return self._call(lambda c: c.execute(
            "INSERT INTO events (ts, severity, device_id, kind, message) VALUES (?, ?, ?, ?, ?)",
            (ts, severity, device_id, kind, message)).lastrowid)

    def ack_event(self, event_id: int, by: str, at: float | None = None) -> Future[bool]:
        return self._call(lambda c: c.execute(
            "UPDATE events SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_at IS NULL",
            (by, at if at is not None else time.time(), event_id)).rowcount == 1)

    def start_run(self, kind: str, name: str, *, site: str = "", operator: str = "",
                  started: float | None = None) -> Future[int]:
        return self._call(lambda c: c.execute(
            "INSERT INTO runs (kind, name, site, operator, started) VALUES (?, ?, ?, ?, ?)",
            (kind, name, site, operator, started if started is not None else time.time())).lastrowid)

    def finish_run(self, run_id: int, status: str, notes: str = "",
                   ended: float | None = None) -> Future[None]:
        return self._call(lambda c: c.execute(
            "UPDATE runs SET status = ?, notes = ?, ended = ? WHERE id = ?",
            (status, notes, ended if ended is not None else time.time(), run_id)) and None)

    def start_step(self, run_id: int, name: str, started: float | None = None) -> Future[int]:
        def op(c: sqlite3.Connection) -> int | None:
            seq = c.execute("SELECT coalesce(max(seq), 0) + 1 FROM steps WHERE run_id = ?",
                            (run_id,)).fetchone()[0]
            return c.execute("INSERT INTO steps (run_id, seq, name, started) VALUES (?, ?, ?, ?)",
                             (run_id, seq, name, started if started is not None else time.time())).lastrowid
        return self._call(op)

    def finish_step(self, step_id: int, status: str, notes: str = "",
                    ended: float | None = None) -> Future[None]:
        return self._call(lambda c: c.execute(
            "UPDATE steps SET status = ?, notes = ?, ended = ? WHERE id = ?",
            (status, notes, ended if ended is not None else time.time(), step_id)) and None)

    def add_evidence(self, step_id: int, kind: str, data: Any, ts: float | None = None) -> Future[int]:
        payload = json.dumps(data, sort_keys=True, default=str)
        return self._call(lambda c: c.execute(
            "INSERT INTO evidence (step_id, ts, kind, data) VALUES (?, ?, ?, ?)",
            (step_id, ts if ts is not None else time.time(), kind, payload)).lastrowid)

    def audit(self, actor: str, action: str, target: str, before: Any, after: Any, result: str,
              ts: float | None = None) -> Future[int]:
        """Record a write to equipment. Append-only; the Future resolves once it is durable."""
        def enc(v: Any) -> str | None:
            return None if v is None else json.dumps(v, sort_keys=True, default=str)
        # normalised to what SQLite will return, so the hash of what is read back matches
        when = float(ts if ts is not None else time.time())
        def text(v: Any) -> str | None:  # None stays NULL: refused by NOT NULL, as before
            return None if v is None else str(v)
        fields = (when, text(actor), text(action), text(target), enc(before), enc(after), text(result))

        def op(c: sqlite3.Connection) -> int:
            last = c.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            entry_id = last[0] + 1 if last else 1
            prev = (last[1] if last else None) or schema.AUDIT_GENESIS
            digest = schema.audit_hash((entry_id, *fields), prev)
            c.execute("INSERT INTO audit (id, ts, actor, action, target, before, after, result, prev_hash, hash) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (entry_id, *fields, prev, digest))
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)", (f"{entry_id} {digest}",))
            return entry_id
        return self._call(op)

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything queued before this call is committed."""
        done: Future[None] = Future()
        self._enqueue(("flush", done))
        done.result(timeout)

    def close(self) -> None:
        """Commit what is queued, stop the writer, close connections. Idempotent."""
        with self._put_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        if not self.readonly:
            self._writer.join()
            self._wconn.close()
        conns = getattr(self._local, "all", None)
        if conns:
            for c in conns:
                c.close()
        if self._writer_lock is not None:
            self._writer_lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        if self._closed:
            raise StoreError(f"{self.path}: store is closed")
        if self._error is not None:
            raise WriterStopped(str(self._error))

    def _enqueue(self, item: Any) -> None:
        with self._put_lock:
            self._check_open()
            self._queue.put(item)

    def _call(self, fn: Callable[[sqlite3.Connection], Any]) -> Future[Any]:
        fut: Future[Any] = Future()
        self._enqueue((fn, fut))
        return fut

    def _fail_queued(self, reason: WriterStopped) -> None:
        """The writer is stopping: refuse new work, fail what is still queued with ``reason``."""
        with self._put_lock:
            self._error = reason
        lost = 0
        while True:
            try:
                it = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(it, list):
                lost += len(it)
            elif isinstance(it, tuple):
                kind, fut = it
                if kind == "flush" or fut.set_running_or_notify_cancel():
                    fut.set_exception(reason)
        if lost:
            log.info("%s: %d queued readings not stored: the writer stopped", self.path, lost)

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        work = _Pending()
        try:
            self._serve(work)
        except BaseException as e:  # a bug, not the disk: still never leave a Future hanging
            log.exception("%s: the store writer failed unexpectedly", self.path)
            self._stop_writer(work, e)

    def _stop_writer(self, work: _Pending, error: BaseException, taken: Sequence[Any] = ()) -> None:
        """The writer cannot go on (disk full, database locked too long, I/O error): undo the
        open transaction, fail everything accepted but not committed (``taken``: items already
        off the queue, not looked at yet), refuse new work."""
        _rollback(self._wconn)
        for it in taken:
            if isinstance(it, tuple):
                kind, fut = it
                if kind == "flush":
                    work.flushes.append(fut)
                elif fut.set_running_or_notify_cancel():
                    work.calls.append((fut, None))
        reason = WriterStopped(f"{self.path}: the writer stopped: {describe_error(error, self.busy_timeout)}")
        log.info("%s", reason)  # every caller from now on is told by a StoreError naming it
        for fut in [f for f, _ in work.calls] + work.flushes:
            if not fut.done():
                fut.set_exception(reason)
        work.calls, work.flushes, work.rows = [], [], []
        self._fail_queued(reason)

    def _begin(self, conn: sqlite3.Connection) -> None:
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")  # waits up to busy_timeout for another writer

    def _serve(self, work: _Pending) -> None:
        last_commit = time.monotonic()
        stopping = False
        conn = self._wconn
        while True:
            wait = max(0.0, self.commit_interval - (time.monotonic() - last_commit))
            has_work = bool(work.rows or work.calls or work.flushes)
            try:
                item = self._queue.get(timeout=wait if has_work else None)
            except queue.Empty:
                item = None
            # Drain whatever else is already there without waiting.
            items = [] if item is None else [item]
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for i, it in enumerate(items):
                if it is _STOP:
                    stopping = True
                elif isinstance(it, list):
                    work.rows.extend(it)
                elif it[0] == "flush":
                    work.flushes.append(it[1])
                else:
                    fn, fut = it
                    if not fut.set_running_or_notify_cancel():
                        continue
                    try:
                        self._begin(conn)
                    except sqlite3.Error as e:  # locked too long, read-only, I/O: fatal
                        work.calls.append((fut, None))
                        self._stop_writer(work, e, items[i + 1:])
                        return
                    try:
                        conn.execute("SAVEPOINT op")
                        result = fn(conn)
                        conn.execute("RELEASE op")
                    except BaseException as e:  # the op fails alone, if its transaction survived
                        if not _undo_op(conn):
                            # SQLite rolled the whole transaction back (SQLITE_FULL, IOERR):
                            # what this batch did is gone, so the writer stops on it
                            work.calls.append((fut, None))
                            self._stop_writer(work, e, items[i + 1:])
                            return
                        fut.set_exception(e)
                    else:
                        work.calls.append((fut, result))
            due = time.monotonic() - last_commit >= self.commit_interval
            if (due or work.flushes or stopping) and (work.rows or work.calls or conn.in_transaction
                                                      or work.flushes):
                try:
                    if work.rows:
                        self._begin(conn)
                        self._write_readings(conn, work.rows)
                    if conn.in_transaction:
                        conn.execute("COMMIT")
                        self.commits += 1
                except sqlite3.Error as e:
                    self._stop_writer(work, e)
                    return
                except BaseException as e:  # e.g. a value type the writer chokes on
                    log.error("%s: store writer failed; keeping the last committed state: %s", self.path, e)
                    self._stop_writer(work, e)
                    return
                self._committed_rows += len(work.rows)
                with self._put_lock:
                    self._queued_rows -= len(work.rows)
                work.rows = []
                for fut, result in work.calls:
                    fut.set_result(result)
                work.calls = []
                last_commit = time.monotonic()
                if self._on_commit is not None:
                    try:
                        self._on_commit(self._committed_rows)
                    except Exception:  # a broken status display must not stop the writer
                        log.exception("store on_commit callback failed")
                for f in work.flushes:
                    f.set_result(None)
                work.flushes = []
            if stopping and not (work.rows or work.calls or conn.in_transaction):
                for f in work.flushes:
                    f.set_result(None)
                return

    def _series_id(self, conn: sqlite3.Connection, r: Reading) -> int:
        key = (r.device_id, r.channel, r.quantity)
        sid = self._series.get(key)
        if sid is None:
            conn.execute("INSERT OR IGNORE INTO series (device_id, channel, quantity, unit) VALUES (?, ?, ?, ?)",
                         (r.device_id, r.channel, r.quantity, r.unit))
            sid = conn.execute("SELECT id FROM series WHERE device_id = ? AND channel = ? AND quantity = ?",
                               key).fetchone()[0]
            self._series[key] = sid
        return sid

    def _reject(self, r: Reading) -> None:
        self.rejected_rows += 1
        if self.rejected_rows == 1:
            log.warning("%s: a reading of %s/%s/%s has an impossible timestamp (%r); such readings are "
                        "not stored (counted in rejected_rows)", self.path, r.device_id, r.channel,
                        r.quantity, r.ts)

    def _write_readings(self, conn: sqlite3.Connection, readings: Sequence[Reading]) -> None:
        series = self._series
        rows: list[tuple[int, int, Any]] = []
        span: dict[int, list[int]] = {}  # sid -> [min ts, max ts, value at max ts index]
        latest: dict[int, tuple[int, Any]] = {}
        for r in readings:
            sid = series.get((r.device_id, r.channel, r.quantity))
            if sid is None:
                sid = self._series_id(conn, r)
            t = r.ts
            if not (0.0 <= t < MAX_TS_S):  # NaN, infinities, absurd dates: one reading lost, not all
                self._reject(r)
                continue
            ts = int(round(t * 1000))
            v = r.value
            if v.__class__ is float or v.__class__ is int:
                if not (-MAX_ABS_VALUE <= v <= MAX_ABS_VALUE):  # NaN fails too
                    v = None
            elif v is not None and v.__class__ is not str:
                v = _coerce(v)
            rows.append((sid, ts, v))
            s = span.get(sid)
            if s is None:
                span[sid] = [ts, ts]
                latest[sid] = (ts, v)
            else:
                if ts < s[0]:
                    s[0] = ts
                if ts > s[1]:
                    s[1] = ts
                if ts >= latest[sid][0]:
                    latest[sid] = (ts, v)
        conn.executemany("INSERT OR REPLACE INTO samples (series_id, ts, value) VALUES (?, ?, ?)", rows)
        minute_args = []
        hour_args = []
        for sid, (lo, hi) in span.items():
            m_lo = (lo // 60000) * 60
            m_hi = (hi // 60000) * 60 + 60
            minute_args.append((sid, m_lo * 1000, m_hi * 1000))
            hour_args.append((sid, (m_lo // 3600) * 3600, ((m_hi - 1) // 3600) * 3600 + 3600))
        conn.executemany(
            "INSERT OR REPLACE INTO rollup_1m (series_id, ts, n, sum, min, max) "
            "SELECT series_id, (ts / 60000) * 60, count(*), sum(value), min(value), max(value) FROM samples "
            "WHERE series_id = ?1 AND ts >= ?2 AND ts < ?3 AND typeof(value) IN ('integer', 'real') "
            "GROUP BY ts / 60000", minute_args)
        conn.executemany(
            "INSERT OR REPLACE INTO rollup_1h (series_id, ts, n, sum, min, max) "
            "SELECT series_id, (ts / 3600) * 3600, sum(n), sum(sum), min(min), max(max) FROM rollup_1m "
            "WHERE series_id = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY ts / 3600", hour_args)
        conn.executemany(
            "UPDATE series SET last_ts = ?2, last_value = ?3 WHERE id = ?1 AND (last_ts IS NULL OR last_ts <= ?2)",
            [(sid, ts, v) for sid, (ts, v) in latest.items()])

    # ------------------------------------------------------------------ reading
    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path, self.busy_timeout, readonly=self.readonly)
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
            self._local.all = [conn]
        return conn

    def series(self) -> list[SeriesInfo]:
        return [SeriesInfo(*row) for row in self._reader().execute(
            "SELECT id, device_id, channel, quantity, unit FROM series ORDER BY device_id, channel, quantity")]

    def find_series(self, key: str) -> SeriesInfo | None:
        dev, _, rest = key.partition("/")
        ch, _, q = rest.rpartition("/")
        row = self._reader().execute(
            "SELECT id, device_id, channel, quantity, unit FROM series WHERE device_id = ? AND channel = ? "
            "AND quantity = ?", (dev, ch, q)).fetchone()
        return SeriesInfo(*row) if row else None

    def latest(self, device_id: str | None = None) -> dict[str, Latest]:
        """The latest value of every series (of one device), keyed ``device/channel/quantity``."""
        sql = ("SELECT id, device_id, channel, quantity, unit, last_ts, last_value FROM series "
               "WHERE last_ts IS NOT NULL")
        args: tuple[Any, ...] = ()
        if device_id is not None:
            sql += " AND device_id = ?"
            args = (device_id,)
        out = {}
        for sid, dev, ch, q, unit, ts, v in self._reader().execute(sql, args):
            info = SeriesInfo(sid, dev, ch, q, unit)
            out[info.key] = Latest(info, ts / 1000.0, v)
        return out

    @staticmethod
    def resolution_for(span_s: float) -> str:
        if span_s <= RAW_MAX_SPAN_S:
            return "raw"
        if span_s <= MINUTE_MAX_SPAN_S:
            return "1m"
        return "1h"

    def range(self, key: str, start: float, end: float, resolution: str = "auto") -> list[RangePoint]:
        """Points of one series in [start, end): raw samples, or rollup buckets chosen by span
        (raw up to 6 h, minutes up to 7 days, hours beyond). Non-numeric samples are skipped."""
        info = self.find_series(key)
        if info is None:
            return []
        res = self.resolution_for(end - start) if resolution == "auto" else resolution
        conn = self._reader()
        if res == "raw":
            rows = conn.execute(
                "SELECT ts, value FROM samples WHERE series_id = ? AND ts >= ? AND ts < ? "
                "AND typeof(value) IN ('integer', 'real') ORDER BY ts",
                (info.id, int(start * 1000), int(math.ceil(end * 1000))))
            return [RangePoint(ts / 1000.0, v, v, v, 1) for ts, v in rows]
        table = {"1m": "rollup_1m", "1h": "rollup_1h"}[res]
        bucket = 60 if res == "1m" else 3600
        rows = conn.execute(
            f"SELECT ts, sum / n, min, max, n FROM {table} WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
            (info.id, (int(start) // bucket) * bucket, int(math.ceil(end))))
        return [RangePoint(float(ts), mean, mn, mx, n) for ts, mean, mn, mx, n in rows]

    def events(self, *, since: float | None = None, unacked_only: bool = False,
               device_id: str | None = None, limit: int = 1000) -> list[Event]:
        sql = "SELECT id, ts, severity, device_id, kind, message, acked_by, acked_at FROM events WHERE 1"
        args: list[Any] = []
        if since is not None:
            sql += " AND ts >= ?"
            args.append(since)
        if unacked_only:
            sql += " AND acked_at IS NULL"
        if device_id is not None:
            sql += " AND device_id = ?"
            args.append(device_id)
        sql += " ORDER BY ts DESC, id DESC LIMIT ?"
        args.append(limit)
        return [Event(*row) for row in self._reader().execute(sql, args)]

    def runs(self, kind: str | None = None) -> list[Run]:
        sql = "SELECT id, kind, name, site, operator, started, ended, status, notes FROM runs"
        args: tuple[Any, ...] = ()
        if kind:
            sql += " WHERE kind = ?"
            args = (kind,)
        return [Run(*row) for row in self._reader().execute(sql + " ORDER BY started DESC, id DESC", args)]

    def steps(self, run_id: int) -> list[Step]:
        conn = self._reader()
        out = []
        for sid, rid, seq, name, status, started, ended, notes in conn.execute(
                "SELECT id, run_id, seq, name, status, started, ended, notes FROM steps WHERE run_id = ? "
                "ORDER BY seq", (run_id,)):
            ev = [{"id": i, "ts": ts, "kind": k, "data": json.loads(d)} for i, ts, k, d in conn.execute(
                "SELECT id, ts, kind, data FROM evidence WHERE step_id = ? ORDER BY id", (sid,))]
            out.append(Step(sid, rid, seq, name, status, started, ended, notes, ev))
        return out

    def audit_log(self, *, since: float | None = None, limit: int = 1000) -> list[AuditEntry]:
        sql = "SELECT id, ts, actor, action, target, before, after, result FROM audit"
        args: list[Any] = []
        if since is not None:
            sql += " WHERE ts >= ?"
            args.append(since)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [AuditEntry(*row) for row in self._reader().execute(sql, args)]

    def verify_audit(self) -> ChainReport:
        """Walk the audit hash chain (see console.store.audit)."""
        return verify_chain(self._reader())

    def devices(self) -> list[dict[str, Any]]:
        """Registered devices as dicts (admin and report listings: sqlite-utils' row dicts)."""
        import sqlite_utils  # here, not at import: it costs ~0.3 s of the window's cold start

        return list(sqlite_utils.Database(self._reader()).query(
            "SELECT id, kind, protocol, address, name, first_seen, last_seen FROM devices ORDER BY id"))

    @property
    def committed_rows(self) -> int:
        return self._committed_rows


def _coerce(v: object) -> float | int | str | None:
    """A value of a type SQLite cannot bind (numpy scalars, Decimal, bool, bytes) must not stop
    the writer for every device: store its number, or its text."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)
    return f if -MAX_ABS_VALUE <= f <= MAX_ABS_VALUE else None
