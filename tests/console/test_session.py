"""The composition root: one session wires site -> store -> recorder -> engine -> live model ->
control, and every reading and event reaches the store through its one recorder."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from console.engine import DeviceState
from console.recorder import Recorder
from console.session import Session
from console.site import parse_site
from console.store import Store, StoreError
from protocols.base import BadData, Credentials, DeviceSpec
from tests.fakes.headless import LiveSource
from tests.fakes.sites import device, site_toml
from tests.support import wait_until


def two_device_site() -> Any:
    return parse_site(site_toml([device("srv1", "server", "redfish", 1),
                                 device("heat1", "heat_controller", "modbus", 3)]))


def factory(spec: DeviceSpec) -> LiveSource:
    if spec.id == "heat1":
        return LiveSource(spec, None, BadData(spec.id, spec.address, "register 8: NaN"))
    return LiveSource(spec, {"inlet": 21.25})


def test_session_records_readings_and_events_through_one_recorder(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db", commit_interval=0.05)
    with Session(two_device_site(), store, source_factory=factory,
                 credential_resolver=lambda ref: Credentials()) as session:
        statuses = asyncio.run(session.run(0.3, install_signals=False))
        session.flush()
        # the engine and every coordinator write through the recorder, not the store itself
        assert session.engine.store is session.recorder
        assert session.engine.coordinator("heat1")._events is session.recorder
        assert session.control._live is session.live
        assert store.latest()["srv1/inlet/temperature"].value == 21.25
        stored = store.events()
        assert [(e.device_id, e.kind) for e in stored] == [("heat1", "device_faulty")]
        # the live model heard of the stored event, with its id, so it can be acknowledged
        wait_until(lambda: session.live.active_events(), timeout=5, what="active event")
        (active,) = session.live.active_events()
        assert active.id == stored[0].id and active.severity == "warning"
        assert session.ack(active.id, "alice").result(5) is True
        wait_until(lambda: not session.live.active_events(), timeout=5, what="ack reaches the live model")
    assert statuses["heat1"].state is DeviceState.FAULTY
    with Store(tmp_path / "s.db", readonly=True) as ro:
        assert ro.events()[0].acked_by == "alice"


def test_session_open_refuses_a_database_in_use_and_leaves_it_alone(tmp_path: Path) -> None:
    db = tmp_path / "busy.db"
    with Store(db), pytest.raises(StoreError, match="already open for writing"):
        Session.open(two_device_site(), db)


class RefusingStore:
    def __init__(self) -> None:
        self.calls = 0

    def add_readings(self, readings: Any) -> None:
        self.calls += 1
        raise StoreError("the writer stopped: disk full")

    def flush(self, timeout: float | None = None) -> None:
        return None

    def register_device(self, *a: Any, **k: Any) -> None:
        return None

    def add_event(self, *a: Any) -> int:
        return 7


def test_recorder_reports_the_first_refusal_once_and_flush_raises_it() -> None:
    told: list[Exception] = []
    store = RefusingStore()
    rec = Recorder(store, on_failure=told.append)
    for _ in range(3):
        rec.add_readings([])
    assert [str(e) for e in told] == ["the writer stopped: disk full"]
    assert store.calls == 1 and rec.refused == 3
    with pytest.raises(StoreError, match="disk full"):
        rec.flush()


class AuditList:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def audit(self, *row: Any) -> None:
        self.rows.append(row)


class NoEngine:
    def __init__(self) -> None:
        self.subscribed: list[Any] = []

    def subscribe(self, cb: Any) -> Any:
        self.subscribed.append(cb)
        return lambda: None

    def run_action(self, device_id: str, fn: Any) -> Any:
        raise AssertionError("a locked control sends nothing")


def test_control_takes_its_before_values_from_the_live_model() -> None:
    import time

    from console.control import Control, ControlLocked
    from console.engine.coordinator import Batch, DeviceStatus
    from console.live import LiveSite
    from protocols.base import Reading, SetPowerLimit

    site = two_device_site()
    live = LiveSite(site)
    now = time.time()
    live.on_batch(Batch("srv1", (Reading(now, "srv1", "chassis", "power_limit", 700.0, "W"),),
                        DeviceStatus("srv1", "a", DeviceState.OK, last_success=now)))
    engine, audits = NoEngine(), AuditList()
    control = Control(site, engine, audits, live=live)
    assert engine.subscribed == []  # no second copy of the latest values
    with pytest.raises(ControlLocked):
        control.perform("jo", "srv1", SetPowerLimit(640))
    (row,) = audits.rows
    assert row[3] == {"value": 700.0, "unit": "W", "ts": now}


def test_a_restarted_session_seeds_the_live_model_off_the_callers_thread(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import console.live
    from protocols.base import Reading

    db = tmp_path / "s.db"
    with Store(db) as before:  # what the previous run left
        before.add_readings([Reading(1000.0, "srv1", "inlet", "temperature", 20.5, "°C")])
        before.add_event(1001.0, "alarm", "heat1", "pump_fault", "pump tripped").result(5)
        before.flush()
    readers: list[str] = []
    real = console.live.known_to_store

    def spy(store: Any) -> Any:
        readers.append(threading.current_thread().name)
        return real(store)

    monkeypatch.setattr(console.live, "known_to_store", spy)
    with Session.open(two_device_site(), db, source_factory=factory,
                      credential_resolver=lambda ref: Credentials()) as session:
        session.seeded.result(5)
        assert readers and threading.current_thread().name not in readers
        s = session.live.get("srv1/inlet/temperature")
        assert s is not None and s.value == 20.5 and s.state == "stale"  # known, not live
        assert [e.kind for e in session.live.active_events()] == ["pump_fault"]
