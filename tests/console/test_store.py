"""The store: schema versions, ingest with exact rollups, queries, events, runs, audit."""
from __future__ import annotations

import concurrent.futures
import sqlite3
import statistics
import threading
from pathlib import Path

import pytest

from console.store import Store, StoreError, StoreVersionError, schema
from protocols.base import Reading

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, on an hour boundary


def temps(n: int, step: float = 10.0, start: float = T0) -> list[Reading]:
    return [Reading(start + i * step, "srv1", "inlet", "temperature", 20.0 + (i * 7) % 11, "°C")
            for i in range(n)]


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "site.db", commit_interval=0.05)
    yield s
    s.close()


def test_wal_mode_and_schema_version(store: Store) -> None:
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema.decode(conn.execute("PRAGMA user_version").fetchone()[0]) == (schema.MAJOR, schema.MINOR)


def test_newer_major_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Store(path).close()
    with sqlite3.connect(path) as c:
        c.execute(f"PRAGMA user_version = {schema.encode(schema.MAJOR + 1, 0)}")
    with pytest.raises(StoreVersionError, match=r"newer heatrack .*schema 2\.0"):
        Store(path)


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE x (a)")
    with pytest.raises(StoreError, match="not a heatrack database"):
        Store(path)


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the site database"):
        Store(path)


def test_rollups_match_raw_samples(store: Store) -> None:
    readings = temps(2000)  # 20,000 s = 5.6 h at 10 s
    # Arrive in several batches, out of order across batches.
    store.add_readings(readings[1000:])
    store.add_readings(readings[:1000])
    store.flush()
    values = [r.value for r in readings]
    hours = store.range("srv1/inlet/temperature", T0, T0 + 20_000, resolution="1h")
    assert sum(p.n for p in hours) == len(readings)
    first_hour = [r.value for r in readings if r.ts < T0 + 3600]
    assert hours[0].mean == pytest.approx(statistics.fmean(first_hour))
    assert (hours[0].min, hours[0].max) == (min(first_hour), max(first_hour))
    minutes = store.range("srv1/inlet/temperature", T0, T0 + 20_000, resolution="1m")
    assert len(minutes) == 20_000 // 60 + 1
    assert sum(p.mean * p.n for p in minutes) == pytest.approx(sum(values))


def test_replaced_sample_is_not_counted_twice(store: Store) -> None:
    store.add_readings(temps(10))
    store.flush()
    store.add_readings([Reading(T0, "srv1", "inlet", "temperature", 99.0, "°C")])
    store.flush()
    [bucket] = store.range("srv1/inlet/temperature", T0, T0 + 60, resolution="1m")
    assert bucket.n == 6 and bucket.max == 99.0
    [hour] = store.range("srv1/inlet/temperature", T0, T0 + 3600, resolution="1h")
    assert hour.n == 10


def test_resolution_chosen_by_span(store: Store) -> None:
    assert Store.resolution_for(3600) == "raw"
    assert Store.resolution_for(2 * 86400) == "1m"
    assert Store.resolution_for(30 * 86400) == "1h"
    store.add_readings(temps(100))
    store.flush()
    raw = store.range("srv1/inlet/temperature", T0, T0 + 600)
    assert [p.n for p in raw] == [1] * 60
    week = store.range("srv1/inlet/temperature", T0, T0 + 30 * 86400)
    assert len(week) == 1 and week[0].n == 100


def test_latest_states_nulls_and_non_finite(store: Store) -> None:
    store.add_readings([
        Reading(T0, "ups1", "ups", "state", "online", ""),
        Reading(T0 + 5, "ups1", "ups", "state", "on_battery", ""),
        Reading(T0, "srv1", "cpu2", "temperature", None, "°C"),
        Reading(T0, "srv1", "cpu1", "temperature", float("nan"), "°C"),
    ])
    store.flush()
    latest = store.latest()
    assert latest["ups1/ups/state"].value == "on_battery"
    assert latest["ups1/ups/state"].ts == T0 + 5
    assert latest["srv1/cpu2/temperature"].value is None
    assert latest["srv1/cpu1/temperature"].value is None
    assert latest["srv1/cpu2/temperature"].unit == "°C"
    # text and null samples stay out of rollups
    assert store.range("ups1/ups/state", T0, T0 + 3600, resolution="1m") == []
    assert set(store.latest("ups1")) == {"ups1/ups/state"}


def test_events_ack_runs_steps_evidence(store: Store) -> None:
    e1 = store.add_event(T0, "alarm", "heat1", "overtemp", "tank 81 °C > 80 °C").result(5)
    store.add_event(T0 + 1, "info", None, "note", "site opened")
    assert store.ack_event(e1, "installer").result(5) is True
    assert store.ack_event(e1, "someone else").result(5) is False  # first ack stands
    events = store.events()
    assert [e.kind for e in events] == ["note", "overtemp"]
    assert events[1].acked_by == "installer"
    assert [e.kind for e in store.events(unacked_only=True)] == ["note"]

    run = store.start_run("commissioning", "Site acceptance", site="demo", operator="jo").result(5)
    step = store.start_step(run, "Inventory").result(5)
    store.add_evidence(step, "readings", {"srv1/inlet/temperature": 21.5})
    store.finish_step(step, "pass", "3 devices found")
    step2 = store.start_step(run, "Point check").result(5)
    store.finish_step(step2, "fail", "tank sensor out of range")
    store.finish_run(run, "fail").result(5)
    [r] = store.runs()
    assert (r.kind, r.status, r.operator) == ("commissioning", "fail", "jo")
    steps = store.steps(run)
    assert [(s.seq, s.name, s.status) for s in steps] == [(1, "Inventory", "pass"), (2, "Point check", "fail")]
    assert steps[0].evidence[0]["data"] == {"srv1/inlet/temperature": 21.5}


def test_bad_write_fails_alone(store: Store) -> None:
    bad = store.add_event(T0, "catastrophic", None, "x", "invalid severity")
    good = store.add_event(T0, "info", None, "x", "fine")
    store.add_readings(temps(3))
    with pytest.raises(sqlite3.IntegrityError):
        bad.result(5)
    assert good.result(5) > 0
    store.flush()
    assert len(store.range("srv1/inlet/temperature", T0, T0 + 60)) == 3


def test_audit_log_is_append_only(store: Store) -> None:
    aid = store.audit("installer", "set_power_limit", "srv1", {"limit_w": 800}, {"limit_w": 600},
                      "ok").result(5)
    [entry] = store.audit_log()
    assert entry.id == aid and entry.before == '{"limit_w": 800}'
    conn = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET result = 'forged'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit")


def test_commits_at_most_once_per_interval(tmp_path: Path) -> None:
    commits: list[int] = []
    s = Store(tmp_path / "c.db", commit_interval=0.5, on_commit=commits.append)
    stop = threading.Event()
    start = threading.Event()

    def feed() -> None:
        i = 0
        start.set()
        while not stop.is_set():
            s.add_readings(temps(5, start=T0 + i * 50))
            i += 1
            stop.wait(0.002)

    t = threading.Thread(target=feed)
    t.start()
    start.wait()
    # Wait until 4 commits happened, measuring the time they took.
    import time
    t0 = time.monotonic()
    while len(commits) < 4:
        stop.wait(0.01)
    elapsed = time.monotonic() - t0
    stop.set()
    t.join()
    s.close()
    assert elapsed >= 3 * 0.5 * 0.95  # 4 commits need at least 3 intervals after the first
    assert commits == sorted(commits)


def test_readers_do_not_block_the_writer(store: Store) -> None:
    store.add_readings(temps(500))
    store.flush()
    reader = sqlite3.connect(store.path)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM samples").fetchone()[0] == 500
    store.add_readings(temps(500, start=T0 + 10_000))
    store.flush(timeout=5)  # would time out if the open read transaction blocked the writer
    assert reader.execute("SELECT count(*) FROM samples").fetchone()[0] == 500  # snapshot isolation
    reader.rollback()
    assert reader.execute("SELECT count(*) FROM samples").fetchone()[0] == 1000


def test_reopen_keeps_series_ids(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with Store(path) as s:
        s.add_readings(temps(3))
    with Store(path) as s:
        s.add_readings(temps(3, start=T0 + 100))
        s.flush()
        assert len(s.series()) == 1
        assert len(s.range("srv1/inlet/temperature", T0, T0 + 200)) == 6


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    s = Store(tmp_path / "x.db")
    s.close()
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.add_readings(temps(1))


class _SlowFailingTs(float):
    """A timestamp the writer chokes on once the test lets it: stands in for a commit that fails
    (disk full, I/O error) after a slow write, while other threads go on queueing work."""

    def __new__(cls) -> _SlowFailingTs:
        obj = super().__new__(cls, T0)
        obj.entered = threading.Event()
        obj.release = threading.Event()
        return obj

    def __mul__(self, other: object) -> float:
        self.entered.set()
        self.release.wait(5)
        raise OSError("disk full (simulated)")


def test_work_queued_during_a_failing_commit_fails_instead_of_hanging(tmp_path: Path) -> None:
    s = Store(tmp_path / "f.db", commit_interval=0.0)
    bad = _SlowFailingTs()
    s.add_readings([Reading(bad, "srv1", "inlet", "temperature", 20.0, "°C")])
    assert bad.entered.wait(5)  # the writer is inside the doomed write
    event = s.add_event(T0, "info", None, "x", "queued while the write runs")
    flush_result: list[BaseException | None] = []

    def flush() -> None:
        try:
            s.flush()  # no timeout, as heatrack log calls it on the way out
            flush_result.append(None)
        except StoreError as e:
            flush_result.append(e)

    flusher = threading.Thread(target=flush, daemon=True)
    flusher.start()
    bad.release.set()
    with pytest.raises(StoreError, match="disk full"):
        event.result(timeout=5)
    flusher.join(5)
    assert not flusher.is_alive(), "flush() hung after the writer stopped"
    assert isinstance(flush_result[0], StoreError)
    with pytest.raises(StoreError, match="writer stopped"):
        s.add_readings(temps(1))
    s.close()


def test_close_while_other_threads_write_resolves_every_future(tmp_path: Path) -> None:
    s = Store(tmp_path / "c.db", commit_interval=0.0)
    futures: list[concurrent.futures.Future[int]] = []
    started = threading.Barrier(5)

    def writer() -> None:
        started.wait()
        while True:
            try:
                futures.append(s.add_event(T0, "info", None, "x", "racing close"))
            except StoreError:
                return

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait()
    while len(futures) < 200:
        threading.Event().wait(0.001)
    s.close()
    for t in threads:
        t.join(5)
    done, not_done = concurrent.futures.wait(futures, timeout=5)
    assert not not_done, f"{len(not_done)} of {len(futures)} futures never resolved after close()"
    assert all(f.exception() is None for f in done)  # accepted before close: committed


def test_failing_on_commit_callback_does_not_stop_the_writer(tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    def broken(rows: int) -> None:
        raise RuntimeError("status bar gone")

    s = Store(tmp_path / "cb.db", commit_interval=0.0, on_commit=broken)
    s.add_readings(temps(3))
    s.flush(timeout=5)
    s.add_readings(temps(3, start=T0 + 100))
    s.flush(timeout=5)  # hung forever when the callback's exception killed the writer
    assert len(s.range("srv1/inlet/temperature", T0, T0 + 200)) == 6
    s.close()
    assert "on_commit callback failed" in caplog.text


def test_queue_is_bounded_while_the_disk_is_behind(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stalled, release = threading.Event(), threading.Event()

    def slow_disk(rows: int) -> None:  # the writer is stuck here as on a stalled disk
        stalled.set()
        release.wait(5)

    s = Store(tmp_path / "q.db", commit_interval=0.0, on_commit=slow_disk, max_queued_rows=100)
    s.add_readings(temps(3))
    assert stalled.wait(5)
    s.add_readings(temps(60, start=T0 + 1000))  # 60 waiting: accepted
    s.add_readings(temps(60, start=T0 + 2000))  # would make 120 > 100: dropped, counted, said
    assert s.dropped_rows == 60
    assert "dropping" in caplog.text
    release.set()
    s.flush(timeout=5)
    s.add_readings(temps(60, start=T0 + 3000))  # caught up: accepted again
    s.flush(timeout=5)
    assert len(s.range("srv1/inlet/temperature", T0, T0 + 4000)) == 3 + 60 + 60
    assert s.dropped_rows == 60
    s.close()


def test_odd_value_types_are_stored_not_fatal(store: Store) -> None:
    from decimal import Decimal

    import numpy as np

    store.add_readings([
        Reading(T0, "gpu", "gpu0", "power", np.float32(301.5), "W"),
        Reading(T0, "gpu", "gpu0", "temperature", np.int64(61), "°C"),
        Reading(T0, "heat1", "loop", "flow", Decimal("12.5"), "L/min"),
        Reading(T0, "heat1", "pump", "state", True, ""),
        Reading(T0, "ups1", "ups", "model", b"Smart-UPS", ""),
        Reading(T0, "x", "y", "power", float("inf"), "W"),
    ])
    store.flush()
    latest = {k: v.value for k, v in store.latest().items()}
    assert latest == {"gpu/gpu0/power": 301.5, "gpu/gpu0/temperature": 61.0, "heat1/loop/flow": 12.5,
                      "heat1/pump/state": 1, "ups1/ups/model": "Smart-UPS", "x/y/power": None}
    store.add_readings(temps(2))
    store.flush()  # the writer is still alive
    assert len(store.range("srv1/inlet/temperature", T0, T0 + 60)) == 2


def test_devices_listing(store: Store) -> None:
    store.register_device("srv1", "server", "redfish", "10.0.0.5:443", "GPU server")
    store.register_device("srv1", "server", "redfish", "10.0.0.6:443", "GPU server (moved)").result(5)
    [dev] = store.devices()
    assert (dev["id"], dev["address"], dev["name"]) == ("srv1", "10.0.0.6:443", "GPU server (moved)")
    assert dev["first_seen"] <= dev["last_seen"]
