"""Engine: several fake devices polled concurrently in the engine thread, batches to a store."""
from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from console.engine import Batch, DeviceState, Engine
from protocols.base import BadData, Credentials, DeviceSpec, Reading
from tests.fakes.engine import FakeSource
from tests.fakes.sites import FakeStore, three_device_site
from tests.support import wait_until


class Factory:
    """source_factory for the engine: each device's script by id, sources kept for asserts."""

    def __init__(self, scripts: dict[str, list[Any]]) -> None:
        self.scripts = scripts
        self.sources: dict[str, FakeSource] = {}
        self.specs: dict[str, DeviceSpec] = {}

    def __call__(self, spec: DeviceSpec) -> FakeSource:
        self.specs[spec.id] = spec
        src = FakeSource(spec, [
            [Reading(0.0, spec.id, ch, "temperature", v, "°C") for ch, v in out] if isinstance(out, list) else out
            for out in self.scripts[spec.id]
        ])
        self.sources[spec.id] = src
        return src


def test_three_devices_batches_to_store_and_bad_data_does_not_stop_others() -> None:
    factory = Factory({
        "srv1": [[("inlet", 21.0), ("exhaust", 33.0)]],
        "ups1": [BadData("ups1", "127.0.0.1:2", "sysObjectID not an OID")],
        "heat1": [[("supply", 45.0)]],
    })
    store = FakeStore()
    engine = Engine(three_device_site(), store, source_factory=factory,
                    credential_resolver=lambda ref: Credentials())
    batches: list[Batch] = []
    unsubscribe = engine.subscribe(batches.append)
    engine.start()
    try:
        wait_until(lambda: all(s.polls >= 3 for s in factory.sources.values()) if len(factory.sources) == 3
                   else False, what="three polls of every device")
        st = engine.status()
        assert st["ups1"].state is DeviceState.FAULTY and "sysObjectID" in st["ups1"].message
        assert st["srv1"].state is DeviceState.OK and st["heat1"].state is DeviceState.OK
        counts = store.by_device()
        assert "ups1" not in counts
        assert counts["srv1"] >= 3 * 2 and counts["heat1"] >= 3
        assert {b.device_id for b in batches} == {"srv1", "ups1", "heat1"}
        unsubscribe()
    finally:
        engine.stop()
    assert not engine.running
    assert all(s.closed for s in factory.sources.values())
    assert [d[0] for d in store.devices] == ["srv1", "ups1", "heat1"]
    assert [(e[2], e[1]) for e in store.events] == [("ups1", "warning")]
    assert factory.specs["heat1"].poll_interval_s == pytest.approx(0.05)  # site values reach the spec


def test_credential_error_marks_only_that_device_auth_failed() -> None:
    factory = Factory({"srv1": [[("inlet", 20.0)]], "ups1": [[("battery", 30.0)]],
                       "heat1": [[("supply", 40.0)]]})
    store = FakeStore()
    # the default resolver: env:VAR that is not set
    site = three_device_site('credentials = "env:HEATRACK_TEST_SURELY_UNSET_VAR"')
    engine = Engine(site, store, source_factory=factory)
    engine.start()
    try:
        wait_until(lambda: {"ups1", "heat1"} <= set(store.by_device()), what="readings from the others")
        wait_until(lambda: engine.status()["srv1"].state is DeviceState.AUTH_FAILED, what="srv1 auth_failed")
        msg = engine.status()["srv1"].message
        assert "HEATRACK_TEST_SURELY_UNSET_VAR" in msg and "127.0.0.1:1" in msg
        assert "srv1" not in factory.sources  # never opened
    finally:
        engine.stop()


def test_refresh_and_run_action_from_another_thread() -> None:
    factory = Factory({"srv1": [[("inlet", 20.0)]], "ups1": [[("battery", 30.0)]],
                       "heat1": [[("supply", 40.0)]]})
    engine = Engine(three_device_site(), FakeStore(), source_factory=factory,
                    credential_resolver=lambda ref: Credentials(),
                    coordinator_options={"refresh_cooldown": 0.0})
    with pytest.raises(RuntimeError):
        engine.refresh("srv1")  # not running yet
    engine.start()
    try:
        seen_thread: list[str] = []

        async def action(src: Any) -> str:
            seen_thread.append(threading.current_thread().name)
            await asyncio.sleep(0)
            return f"limit set on {src.spec.id}"

        fut = engine.run_action("heat1", action)
        assert fut.result(timeout=5) == "limit set on heat1"
        assert seen_thread == ["heatrack-engine"]
        wait_until(lambda: factory.sources.get("srv1") is not None and factory.sources["srv1"].polls >= 1)
        before = factory.sources["srv1"].polls
        engine.refresh("srv1")
        wait_until(lambda: factory.sources["srv1"].polls > before, what="refreshed poll")
        with pytest.raises(KeyError):
            engine.refresh("nope")
    finally:
        engine.stop()


def test_engine_runs_in_current_loop_for_headless() -> None:
    factory = Factory({"srv1": [[("inlet", 20.0)]], "ups1": [[("battery", 30.0)]],
                       "heat1": [[("supply", 40.0)]]})
    store = FakeStore()
    engine = Engine(three_device_site(), store, source_factory=factory,
                    credential_resolver=lambda ref: Credentials())

    def stop_when_all_seen(b: Batch) -> None:
        if len(store.by_device()) == 3:
            engine.request_stop()

    engine.subscribe(stop_when_all_seen)
    asyncio.run(asyncio.wait_for(engine.run(), 10))
    assert set(store.by_device()) == {"srv1", "ups1", "heat1"}
    assert all(s.closed for s in factory.sources.values())


def test_hung_poll_is_bounded_by_the_interval_and_start_failure_is_reported() -> None:
    class Hang(FakeSource):
        async def poll(self) -> list[Reading]:
            await asyncio.Event().wait()
            return []

    def factory(spec: DeviceSpec) -> FakeSource:
        if spec.id == "srv1":
            return Hang(spec, [])
        return FakeSource(spec, [[Reading(0.0, spec.id, "x", "temperature", 1.0, "°C")]])

    engine = Engine(three_device_site(), FakeStore(), source_factory=factory,
                    credential_resolver=lambda ref: Credentials())
    engine.start()
    try:
        wait_until(lambda: engine.status()["srv1"].state is DeviceState.UNREACHABLE, what="srv1 unreachable")
        assert "within 0.05 s" in engine.status()["srv1"].message  # poll_interval, not the 40 ms call timeout
        assert engine.status()["heat1"].state is DeviceState.OK
    finally:
        engine.stop()

    class BrokenStore(FakeStore):
        def register_device(self, *a: Any, **kw: Any) -> None:
            raise OSError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        Engine(three_device_site(), BrokenStore(), source_factory=factory,
               credential_resolver=lambda ref: Credentials()).start()


def test_a_stopped_engine_starts_polling_again() -> None:
    factory = Factory({"srv1": [[("inlet", 21.0)]], "ups1": [[("ups", 1.0)]], "heat1": [[("supply", 45.0)]]})
    store = FakeStore()
    engine = Engine(three_device_site(), store, source_factory=factory,
                    credential_resolver=lambda ref: Credentials())
    engine.start()
    wait_until(lambda: len(factory.sources) == 3 and all(s.polls >= 1 for s in factory.sources.values()),
               what="first polls")
    engine.stop()
    before = sum(store.by_device().values())
    engine.start()
    try:
        wait_until(lambda: sum(store.by_device().values()) >= before + 3, what="polls after the restart")
    finally:
        engine.stop()
