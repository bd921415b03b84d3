"""Events the engine records (device transitions, implausible data) once the store's writer has
stopped: the cause was reported once, loudly (``heatrack log`` prints one line and exits 1), so
the events that fail after it are not a second error with a traceback on the user's terminal."""
from __future__ import annotations

import logging
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from console.engine.coordinator import Coordinator, DeviceState
from console.engine.plausibility import PlausibilityGuard
from console.store import Store, StoreError, WriterStopped
from protocols.base import Reading


class StoppedStore:
    """A store whose writer has stopped: some calls raise at once, later ones fail their Future."""

    def __init__(self, raise_now: bool) -> None:
        self.raise_now = raise_now

    def add_event(self, *args: Any) -> Future[int]:
        if self.raise_now:
            raise WriterStopped("site.db: the writer stopped: database or disk is full")
        f: Future[int] = Future()
        f.set_exception(WriterStopped("site.db: the writer stopped: database or disk is full"))
        return f


def make(events: Any) -> Coordinator:
    def opener() -> Any:
        raise AssertionError("never polled here")
    return Coordinator("d1", "127.0.0.1:1", opener, interval=10.0, timeout=1.0, events=events)


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("raise_now", [True, False], ids=["raises", "future-fails"])
def test_a_stopped_writer_is_not_reported_again_for_each_event(
        caplog: pytest.LogCaptureFixture, raise_now: bool) -> None:
    caplog.set_level(logging.DEBUG)
    sink = StoppedStore(raise_now)
    guard = PlausibilityGuard("d1", sink)
    guard.screen([Reading(1000.0, "d1", "tank", "temperature", 3263.9, "°C")])
    c = make(events=sink)
    c._transition(DeviceState.OK, DeviceState.UNREACHABLE, "no route")
    assert _errors(caplog) == []
    assert any("event not stored" in r.getMessage() for r in caplog.records)  # still traceable at debug


@pytest.mark.parametrize("raise_now", [True, False], ids=["raises", "future-fails"])
def test_any_other_failure_to_record_an_event_is_still_an_error(
        caplog: pytest.LogCaptureFixture, raise_now: bool) -> None:
    class Broken(StoppedStore):
        def add_event(self, *args: Any) -> Future[int]:
            if self.raise_now:
                raise StoreError("site.db: CHECK constraint failed")
            f: Future[int] = Future()
            f.set_exception(StoreError("site.db: CHECK constraint failed"))
            return f

    caplog.set_level(logging.DEBUG)
    c = make(events=Broken(raise_now))
    c._transition(DeviceState.OK, DeviceState.UNREACHABLE, "no route")
    assert [r.getMessage() for r in _errors(caplog)] == ["d1: event not stored: site.db: CHECK constraint failed"]


def test_events_after_a_real_writer_stop_log_no_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = Store(tmp_path / "site.db", commit_interval=0.02)
    store._wconn.execute("PRAGMA max_page_count = 1")  # the next commit finds the disk full
    store.add_readings([Reading(1000.0 + i, "d1", f"c{i}", "power", 1.0, "W") for i in range(2000)])
    with pytest.raises(StoreError):
        store.flush(timeout=10)
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    c = make(events=store)
    c._transition(DeviceState.OK, DeviceState.UNREACHABLE, "no route")
    PlausibilityGuard("d1", store).screen([Reading(1000.0, "d1", "tank", "temperature", 3263.9, "°C")])
    store.close()
    assert _errors(caplog) == []
