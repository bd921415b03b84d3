"""A full disk or a locked database never hangs the store: the writer fails what is queued,
keeps what was committed, and says why (issue 7, item 1)."""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from console.store import Store, StoreError, WriterStopped
from protocols.base import Reading

T0 = 1_767_225_600


def temps(n: int, start: float = T0, channel: str = "inlet") -> list[Reading]:
    return [Reading(start + i * 10.0, "srv1", channel, "temperature", 20.0 + i % 7, "°C") for i in range(n)]


def make_full(store: Store) -> None:
    """The writer's connection may not grow the file by one page: SQLITE_FULL, deterministically
    (the same error a full tmpfs gives, and SQLite rolls the whole transaction back on it)."""
    store._call(lambda c: c.execute(  # noqa: SLF001 - runs on the writer's own connection
        f"PRAGMA max_page_count = {c.execute('PRAGMA page_count').fetchone()[0]}") and None).result(5)


def flush_outcome(store: Store, deadline: float = 5.0) -> BaseException | None:
    """flush() with no timeout, as the CLIs call it; fails the test if it has not returned by
    ``deadline`` (it used to wait for ever once the writer thread had died)."""
    out: list[BaseException | None] = []

    def run() -> None:
        try:
            store.flush()
            out.append(None)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(deadline)
    assert not t.is_alive(), "flush() hung: the writer died without failing what was queued"
    return out[0]


def committed(db: Path) -> int:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT count(*) FROM samples").fetchone()[0]


def test_disk_full_during_a_batch_fails_everything_queued(tmp_path: Path) -> None:
    db = tmp_path / "full.db"
    s = Store(db, commit_interval=0.05)
    s.add_readings(temps(100))
    s.flush(timeout=5)
    make_full(s)
    s.add_readings(temps(5000, start=T0 + 1e6, channel="outlet"))
    err = flush_outcome(s)
    assert isinstance(err, WriterStopped) and "full" in str(err)
    with pytest.raises(WriterStopped, match="full"):
        s.add_event(T0, "info", None, "x", "after the failure")
    with pytest.raises(StoreError, match="full"):
        s.add_readings(temps(1))
    s.close()
    assert committed(db) == 100  # what was committed before stays
    with Store(db) as again:  # and the file opens and takes writes once there is room
        again.add_readings(temps(3, start=T0 + 2e6))
        again.flush(timeout=5)
    assert committed(db) == 103


def test_disk_full_inside_a_queued_write_fails_it_and_the_rest(tmp_path: Path) -> None:
    """SQLite rolls the whole transaction back on SQLITE_FULL, so the writer's ``ROLLBACK TO op``
    raised "no such savepoint" and the writer thread died with the write's Future unresolved."""
    db = tmp_path / "full-op.db"
    s = Store(db, commit_interval=0.05)
    first = s.add_event(T0, "info", None, "x", "committed before")
    assert first.result(5) > 0
    make_full(s)
    big = s.add_event(T0, "info", None, "x", "m" * 20_000)  # needs overflow pages: SQLITE_FULL
    after = s.add_event(T0, "info", None, "x", "queued behind it")
    with pytest.raises(StoreError, match="full"):
        big.result(5)
    with pytest.raises(StoreError):
        after.result(5)
    assert isinstance(flush_outcome(s), StoreError)
    s.close()
    with sqlite3.connect(db) as c:
        assert [m for (m,) in c.execute("SELECT message FROM events")] == ["committed before"]


def test_a_write_that_fails_alone_still_leaves_the_writer_running(tmp_path: Path) -> None:
    """The savepoint path still works when the transaction survives (a constraint error)."""
    with Store(tmp_path / "ok.db", commit_interval=0.05) as s:
        with pytest.raises(sqlite3.IntegrityError):
            s.add_event(T0, "bogus", None, "x", "bad severity").result(5)
        assert s.add_event(T0, "info", None, "x", "fine").result(5) > 0
        s.flush(timeout=5)


def hold_write_lock(db: Path) -> sqlite3.Connection:
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


@pytest.mark.parametrize("queued", ["write", "readings"])
def test_locked_database_fails_queued_work_within_the_busy_timeout(tmp_path: Path, queued: str) -> None:
    """Another program holds the write lock longer than the busy timeout: BEGIN IMMEDIATE
    times out. Inside a queued write, ``ROLLBACK TO op`` then raised "no such savepoint"."""
    db = tmp_path / "locked.db"
    s = Store(db, commit_interval=0.05, busy_timeout=0.3)
    s.add_readings(temps(10))
    s.flush(timeout=5)
    other = hold_write_lock(db)
    try:
        t0 = time.monotonic()
        if queued == "write":
            fut = s.add_event(T0, "info", None, "x", "while locked")
            with pytest.raises(StoreError, match="locked"):
                fut.result(5)
        else:
            s.add_readings(temps(10, start=T0 + 1e6))
        err = flush_outcome(s)
        assert isinstance(err, StoreError) and "locked" in str(err)
        assert time.monotonic() - t0 < 0.3 + 3.0
        with pytest.raises(StoreError, match="locked"):
            s.add_readings(temps(1))
        s.close()
    finally:
        other.rollback()
        other.close()
    assert committed(db) == 10


def test_busy_timeout_is_the_connections(tmp_path: Path) -> None:
    with Store(tmp_path / "b.db", busy_timeout=0.25) as s:
        assert s._call(lambda c: c.execute(  # noqa: SLF001
            "PRAGMA busy_timeout").fetchone()[0]).result(5) == 250
