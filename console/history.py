"""History of a series, ready to plot: answered off the caller's thread.

The window asks for a span of one series and the width of its plot in pixels; a worker thread
with its own read-only connection (``Store(readonly=True)``: no writer lock, works beside the
session's writer under WAL) reads raw samples or rollups, chosen by span (``Store.resolution_for``:
raw up to 6 h, minutes up to 7 days, hours beyond), and folds them into at most that many
buckets of min/max/mean, so a week of 10 s samples never reaches the GUI as 60,000 points.
Results come back as a ``concurrent.futures.Future``; the GUI thread never waits on the disk.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from console.integral import Integral, integrate

if TYPE_CHECKING:
    from collections.abc import Callable

    from console.recorder import RecordedEvent
    from console.store import Store
    from console.store.audit import ChainReport
    from console.store.store import AuditEntry, Event, RangePoint
    from protocols.base import Reading

T = TypeVar("T")

log = logging.getLogger("heatrack.history")

MAX_PIXELS = 10_000  # no plot is wider; a larger request is a caller's bug, refused


@dataclasses.dataclass(frozen=True, slots=True)
class Bucket:
    ts: float  # start of the bucket (or the sample's time when not folded)
    mean: float
    min: float
    max: float
    n: int  # raw samples behind it


@dataclasses.dataclass(frozen=True, slots=True)
class History:
    key: str
    start: float
    end: float
    resolution: str  # raw, 1m or 1h: what was read from the store
    unit: str
    buckets: tuple[Bucket, ...]


def downsample(points: Sequence[RangePoint], start: float, end: float, pixels: int) -> list[Bucket]:
    """At most ``pixels`` buckets of equal width over [start, end): min of the mins, max of the
    maxes, mean weighted by the samples behind each point. Empty buckets are left out (a gap)."""
    if len(points) <= pixels:
        return [Bucket(p.ts, p.mean, p.min, p.max, p.n) for p in points]
    width = (end - start) / pixels
    acc: dict[int, list[float]] = {}  # index -> [sum, n, min, max]
    for p in points:
        i = min(pixels - 1, max(0, int((p.ts - start) // width)))
        a = acc.get(i)
        n = max(1, p.n)
        if a is None:
            acc[i] = [p.mean * n, n, p.min, p.max]
        else:
            a[0] += p.mean * n
            a[1] += n
            a[2] = min(a[2], p.min)
            a[3] = max(a[3], p.max)
    return [Bucket(start + i * width, s / n, mn, mx, int(n)) for i, (s, n, mn, mx) in sorted(acc.items())]


class HistoryService:
    """One worker thread, one read-only store opened on it at the first query."""

    def __init__(self, db_path: str | Path) -> None:
        self.path = Path(db_path)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heatrack-history")
        self._store: Store | None = None
        self._closed = threading.Event()

    def query(self, key: str, start: float, end: float, pixels: int = 600,
              resolution: str = "auto") -> Future[History]:
        """Buckets of ``key`` over [start, end) for a plot ``pixels`` wide. Bad arguments raise
        ValueError here; a store failure comes back through the Future (a StoreError)."""
        if not (isinstance(start, (int, float)) and isinstance(end, (int, float))
                and math.isfinite(start) and math.isfinite(end) and end > start):
            raise ValueError(f"history of {key}: need finite start < end, got {start!r} .. {end!r}")
        if isinstance(pixels, bool) or not isinstance(pixels, int) or not 1 <= pixels <= MAX_PIXELS:
            raise ValueError(f"history of {key}: pixels must be a whole number from 1 to {MAX_PIXELS}, "
                             f"got {pixels!r}")
        if resolution not in ("auto", "raw", "1m", "1h"):
            raise ValueError(f"history of {key}: resolution is auto, raw, 1m or 1h, not {resolution!r}")
        if self._closed.is_set():
            raise RuntimeError("history service is closed")
        return self._pool.submit(self._read, key, float(start), float(end), pixels, resolution)

    def events(self, *, since: float | None = None, device_id: str | None = None,
               limit: int = 1000) -> Future[list[Event]]:
        """Recorded events, newest first (the events table, a device page)."""
        return self._submit(lambda s: s.events(since=since, device_id=device_id, limit=limit))

    def audit_log(self, *, since: float | None = None, limit: int = 1000) -> Future[list[AuditEntry]]:
        """Audit rows, newest first (the audit view)."""
        return self._submit(lambda s: s.audit_log(since=since, limit=limit))

    def verify_audit(self) -> Future[ChainReport]:
        """Walk the audit log's hash chain (the audit view's "verify chain")."""
        return self._submit(lambda s: s.verify_audit())

    def energy(self, keys: Sequence[str], start: float, end: float) -> Future[dict[str, Integral]]:
        """kWh of each power series (W, integrated) or energy counter (kWh, differenced) over
        [start, end), with the seconds and samples behind it (``console.integral``). Bad
        arguments raise ValueError here; a series in another unit fails the Future (ValueError)."""
        if not (isinstance(start, (int, float)) and isinstance(end, (int, float))
                and math.isfinite(start) and math.isfinite(end) and end > start):
            raise ValueError(f"energy: need finite start < end, got {start!r} .. {end!r}")
        if isinstance(keys, str) or not isinstance(keys, Sequence) or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"energy: keys must be a list of series keys, got {keys!r:.80}")
        wanted, lo, hi = tuple(dict.fromkeys(keys)), float(start), float(end)
        return self._submit(lambda s: {k: integrate(s, k, lo, hi) for k in wanted})

    def known(self) -> Future[tuple[list[Reading], list[RecordedEvent]]]:
        """The latest stored values and unacknowledged events (seeding a live model)."""
        from console.live import known_to_store

        return self._submit(known_to_store)

    def _submit(self, fn: Callable[[Store], T]) -> Future[T]:
        if self._closed.is_set():
            raise RuntimeError("history service is closed")
        return self._pool.submit(self._with_store, fn)

    def _with_store(self, fn: Callable[[Store], T]) -> T:
        if self._closed.is_set():
            raise RuntimeError("history service is closed")
        if self._store is None:
            from console.store import Store

            self._store = Store(self.path, readonly=True)
        return fn(self._store)

    def _read(self, key: str, start: float, end: float, pixels: int, resolution: str) -> History:
        return self._with_store(lambda store: self._fold(store, key, start, end, pixels, resolution))

    @staticmethod
    def _fold(store: Store, key: str, start: float, end: float, pixels: int, resolution: str) -> History:
        res = store.resolution_for(end - start) if resolution == "auto" else resolution
        info = store.find_series(key)
        points = store.range(key, start, end, res) if info is not None else []
        return History(key, start, end, res, info.unit if info else "",
                       tuple(downsample(points, start, end, pixels)))

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()  # its connections belong to this (the worker) thread
            self._store = None

    def close(self) -> None:
        """Cancel what is queued, finish what runs, close the connection. Idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._pool.submit(self._close_store)
        self._pool.shutdown(wait=True)
