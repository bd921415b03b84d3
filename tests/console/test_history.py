"""History service: range queries on a read-only connection of their own, off the caller's
thread, resolution chosen by span, folded to at most N buckets of min/max/mean."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from console.history import HistoryService, downsample
from console.store import Store, StoreError
from console.store.store import RangePoint
from protocols.base import Reading

T0 = 1_767_225_600.0  # whole hour


def test_downsample_keeps_extremes_and_weights_the_mean() -> None:
    pts = [RangePoint(T0 + i, float(i), float(i), float(i), 1) for i in range(100)]
    pts[37] = RangePoint(T0 + 37, 37.0, -50.0, 900.0, 1)  # a spike inside a bucket must survive
    b = downsample(pts, T0, T0 + 100, 10)
    assert len(b) == 10 and [x.n for x in b] == [10] * 10
    assert b[3].min == -50.0 and b[3].max == 900.0
    assert b[0].mean == pytest.approx(4.5) and b[0].ts == T0
    # rollup buckets carry their sample counts: the mean is weighted by them
    w = downsample([RangePoint(T0, 10.0, 10.0, 10.0, 1), RangePoint(T0 + 1, 20.0, 20.0, 20.0, 3)], T0, T0 + 2, 1)
    assert w[0].mean == pytest.approx(17.5) and w[0].n == 4
    # few points: returned as they are
    assert len(downsample(pts[:5], T0, T0 + 100, 10)) == 5


def test_queries_run_on_their_own_thread_beside_the_writer(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with Store(db) as writer:  # the session's writer stays open meanwhile
        writer.add_readings([Reading(T0 + 10 * i, "srv1", "chassis", "power", 400.0 + i % 7, "W")
                             for i in range(8640)])  # 24 h every 10 s
        writer.flush()
        hs = HistoryService(db)
        threads: list[str] = []
        real_read = hs._read

        def spy(*a: object) -> object:
            threads.append(threading.current_thread().name)
            return real_read(*a)  # type: ignore[arg-type]

        hs._read = spy  # type: ignore[method-assign]
        try:
            raw = hs.query("srv1/chassis/power", T0 + 3600, T0 + 7200, pixels=1000).result(10)
            day = hs.query("srv1/chassis/power", T0, T0 + 86400, pixels=300).result(10)
            week = hs.query("srv1/chassis/power", T0, T0 + 8 * 86400, pixels=50).result(10)
            none = hs.query("srv9/x/power", T0, T0 + 60).result(10)
        finally:
            hs.close()
    assert threads and all(n.startswith("heatrack-history") for n in threads)
    assert threading.current_thread().name not in threads
    assert (raw.resolution, raw.unit, len(raw.buckets)) == ("raw", "W", 360)
    assert day.resolution == "1m" and len(day.buckets) <= 300
    assert sum(b.n for b in day.buckets) == 8640
    assert min(b.min for b in day.buckets) == 400.0 and max(b.max for b in day.buckets) == 406.0
    assert week.resolution == "1h" and 0 < len(week.buckets) <= 50
    assert none.buckets == () and none.unit == ""


def test_bad_requests_are_one_line_errors_and_a_missing_database_fails_the_future(tmp_path: Path) -> None:
    hs = HistoryService(tmp_path / "nowhere" / "x.db")
    try:
        for start, end, px in [(T0, T0, 10), (T0, float("nan"), 10), (T0, T0 + 1, 0), (T0, T0 + 1, 10**6),
                               (T0, T0 + 1, 2.5)]:
            with pytest.raises(ValueError) as e:
                hs.query("a/b/c", start, end, pixels=px)  # type: ignore[arg-type]
            assert "\n" not in str(e.value)
        fut = hs.query("a/b/c", T0, T0 + 60)
        with pytest.raises(StoreError):
            fut.result(10)
    finally:
        hs.close()
    with pytest.raises(RuntimeError, match="closed"):
        hs.query("a/b/c", T0, T0 + 60)


def test_close_does_not_wait_for_queued_queries(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with Store(db) as w:
        w.add_readings([Reading(T0 + i, "d", "c", "power", 1.0, "W") for i in range(1000)])
    hs = HistoryService(db)
    futs = [hs.query("d/c/power", T0, T0 + 1000) for _ in range(50)]
    t = time.monotonic()
    hs.close()
    assert time.monotonic() - t < 5
    assert all(f.done() for f in futs)


def test_events_and_audit_are_read_off_the_callers_thread_newest_first(tmp_path: Path) -> None:
    db = tmp_path / "site.db"
    with Store(db) as writer:
        writer.add_event(100.0, "alarm", "heat1", "pump_fault", "pump tripped").result(5)
        writer.add_event(200.0, "info", "heat1", "recovered", "pump running").result(5)
        writer.audit("ana", "set_power_limit", "srv1", 500, 400, "ok").result(5)
        writer.flush()
        hist = HistoryService(db)
        try:
            events = hist.events(device_id="heat1").result(5)
            assert [(e.kind, e.severity) for e in events] == [("recovered", "info"), ("pump_fault", "alarm")]
            assert [e.message for e in hist.events(since=150.0).result(5)] == ["pump running"]
            audit = hist.audit_log().result(5)
            assert [(a.actor, a.action, a.target, a.result) for a in audit] == [("ana", "set_power_limit", "srv1", "ok")]
        finally:
            hist.close()
        with pytest.raises(RuntimeError, match="closed"):
            hist.events()
