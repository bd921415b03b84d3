"""Writes to equipment only while unlocked, bounded by the site's limits, read back, and every
attempt in the audit log — against the demo site through the real engine and clients."""
from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from console.control import Control, ControlLocked
from console.demo.runner import DemoRunner
from console.engine import Engine
from console.store import Store
from protocols.base import ActionRefused
from tests.support import wait_until


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def site_parts(tmp_path: Path) -> Iterator[tuple[DemoRunner, Engine, Store, Control, Clock]]:
    with DemoRunner(seed=5, clock=False) as runner:
        store = Store(tmp_path / "c.db", commit_interval=0.05)
        engine = Engine(runner.site_model(), store, source_factory=runner.source_factory,
                        credential_resolver=runner.resolve)
        clock = Clock()
        control = Control(runner.site_model(), engine, store, clock=clock)
        engine.start()
        try:
            wait_until(lambda: all(s.available for s in engine.status().values()), 20, "all devices ok")
            yield runner, engine, store, control, clock
        finally:
            control.close()
            engine.stop()
            store.close()


@pytest.mark.slow
def test_locked_control_refuses_and_audits(site_parts) -> None:
    runner, _, store, control, _ = site_parts
    before = runner.server_view("srv1").power_limit_w
    with pytest.raises(ControlLocked, match="control is locked"):
        control.set_power_limit("jo", "srv1", 500)
    store.flush()
    [entry] = store.audit_log()
    assert (entry.actor, entry.action, entry.target, entry.result) == \
        ("jo", "set_power_limit", "srv1/chassis", "refused: control locked")
    assert runner.server_view("srv1").power_limit_w == before  # nothing was sent


@pytest.mark.slow
def test_unlocked_write_is_read_back_and_audited_with_before_and_after(site_parts) -> None:
    runner, _, store, control, _ = site_parts
    previous = runner.server_view("srv1").power_limit_w
    control.unlock("jo", minutes=10, reason="heat balance test")
    result = control.set_power_limit("jo", "srv1", 640).result(15)
    assert result.ok and result.readback == pytest.approx(640)
    assert runner.server_view("srv1").power_limit_w == pytest.approx(640)
    store.flush()
    entries = {e.action: e for e in store.audit_log()}
    assert json.loads(entries["control_unlock"].after) == {"minutes": 10, "reason": "heat balance test"}
    write = entries["set_power_limit"]
    assert write.result == "ok"
    assert json.loads(write.before)["value"] == previous
    assert json.loads(write.after) == {"requested": 640, "readback": pytest.approx(640)}


@pytest.mark.slow
def test_site_limits_bound_setpoints_before_anything_is_sent(site_parts) -> None:
    runner, _, store, control, _ = site_parts
    control.unlock("jo")
    limit = runner.site_model().limits.max_loop_temp_c
    before = runner.heat_view().points["supply_setpoint"]
    with pytest.raises(ActionRefused, match="above the site's max loop temperature"):
        control.heat_write("jo", "heat1", "supply_setpoint", limit + 1)
    assert runner.heat_view().points["supply_setpoint"] == before
    ok = control.heat_write("jo", "heat1", "supply_setpoint", limit - 5).result(15)
    assert ok.ok and runner.heat_view().points["supply_setpoint"] == pytest.approx(limit - 5)
    store.flush()
    results = [e.result for e in store.audit_log() if e.action == "set_point"]
    assert results[0] == "ok" and results[1].startswith("refused: ")


@pytest.mark.slow
def test_client_refusals_and_unlock_expiry_are_audited(site_parts) -> None:
    runner, _, store, control, clock = site_parts
    control.unlock("jo", minutes=1)
    with pytest.raises(Exception, match="bool|out of|range|refused"):
        control.heat_write("jo", "heat1", "valve_setpoint", 150).result(15)
    clock.t += 61
    assert not control.state().unlocked
    with pytest.raises(ControlLocked):
        control.set_outlet("jo", "pdu1", 2, "off")
    assert runner.pdu_view().outlets[1].on
    store.flush()
    results = [(e.action, e.result) for e in reversed(store.audit_log())]
    assert results[0] == ("control_unlock", "ok")
    assert results[1][0] == "set_point" and results[1][1].startswith("failed: ActionRefused")
    assert results[2] == ("control_lock", "expired")
    assert results[3] == ("outlet_off", "refused: control locked")


def test_unlock_needs_a_name_and_a_bounded_time() -> None:
    class Nothing:
        def subscribe(self, cb):
            return lambda: None

        def audit(self, *a):
            raise AssertionError("nothing to audit")

    from console.site import load_site
    from tests.support import REPO

    c = Control(load_site(REPO / "resources/sites/example.toml"), Nothing(), Nothing())
    with pytest.raises(ValueError, match="name of the person"):
        c.unlock("  ")
    with pytest.raises(ValueError, match="unlock for"):
        c.unlock("jo", minutes=24 * 60)


class _Audit:
    """A store that keeps audit calls; ``fail`` makes later ones raise (store closed, disk full)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str, str]] = []
        self.fail: Exception | None = None

    def audit(self, actor, action, target, before, after, result):
        if self.fail is not None:
            raise self.fail
        self.entries.append((actor, action, target, result))


class _Engine:
    def __init__(self, action: Any) -> None:
        self.action = action

    def subscribe(self, cb):
        return lambda: None

    def run_action(self, device_id, fn):
        return self.action()


def _example_site():
    from console.site import load_site
    from tests.support import REPO

    return load_site(REPO / "resources/sites/example.toml")


def test_write_with_the_engine_stopped_is_audited() -> None:
    def stopped() -> Future[Any]:
        raise RuntimeError("engine is not running")

    store = _Audit()
    c = Control(_example_site(), _Engine(stopped), store)
    c.unlock("jo")
    with pytest.raises(RuntimeError, match="not running"):
        c.set_power_limit("jo", "srv1", 500)
    assert store.entries[-1][:3] == ("jo", "set_power_limit", "srv1/chassis")
    assert store.entries[-1][3] == "failed: RuntimeError: engine is not running"


def test_result_future_resolves_even_if_the_audit_cannot_be_written() -> None:
    from protocols.base import ActionResult

    sent: Future[Any] = Future()
    store = _Audit()
    c = Control(_example_site(), _Engine(lambda: sent), store)
    c.unlock("jo")
    out = c.set_power_limit("jo", "srv1", 500)
    store.fail = RuntimeError("store is closed")
    sent.set_result(ActionResult("srv1", "set_power_limit", "chassis", 500, 500, True))
    assert out.result(timeout=5).ok  # the write happened; the caller is not left waiting
