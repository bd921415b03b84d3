"""Writes to equipment only while unlocked, bounded by the site's limits, read back, and every
attempt in the audit log — against the demo site through the real engine and clients."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from concurrent.futures import Future
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from console.control import Control, ControlLocked
from console.demo.runner import DemoRunner
from console.engine import Engine
from console.store import Store
from protocols.base import (
    Action,
    ActionRefused,
    ActionResult,
    SetBypass,
    SetOutlet,
    SetPowerLimit,
    SetPump,
    SetSetpoint,
    SetValve,
    UpsSelfTest,
)
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
        delivered: set[str] = set()  # a device's status turns ok before its first batch is handed on
        engine.subscribe(lambda batch: delivered.add(batch.device_id) if batch.readings else None)
        engine.start()
        try:
            wait_until(lambda: delivered >= set(engine.status()), 20, "a batch of readings from every device")
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
        control.perform("jo", "srv1", SetPowerLimit(500))
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
    result = control.perform("jo", "srv1", SetPowerLimit(640)).result(15)
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
        control.perform("jo", "heat1", SetSetpoint("supply_setpoint", limit + 1))
    assert runner.heat_view().points["supply_setpoint"] == before
    ok = control.perform("jo", "heat1", SetSetpoint("supply_setpoint", limit - 5)).result(15)
    assert ok.ok and runner.heat_view().points["supply_setpoint"] == pytest.approx(limit - 5)
    store.flush()
    entries = [e for e in store.audit_log() if e.action == "set_setpoint"]
    assert entries[0].result == "ok" and entries[1].result.startswith("refused: ")
    # "before" is the setpoint's own series (heat1/supply/setpoint) from the latest poll
    assert json.loads(entries[0].before)["value"] == pytest.approx(before, abs=0.01)


@pytest.mark.slow
def test_a_limit_cannot_be_bypassed_by_type_on_the_demo(site_parts) -> None:
    runner, _, store, control, _ = site_parts
    control.unlock("jo")
    limit = runner.site_model().limits.max_tank_temp_c
    before = runner.heat_view().points["tank_max_temp"]
    for value in (str(limit + 9), Decimal(limit + 8), np.float64(limit + 7)):  # the device takes up to 85
        with pytest.raises(ActionRefused, match="above the site's max tank temperature"):
            control.perform("jo", "heat1", SetSetpoint("tank_max_temp", value))
    assert runner.heat_view().points["tank_max_temp"] == before
    assert control.perform("jo", "heat1", SetSetpoint("tank_max_temp", str(limit - 5))).result(15).ok
    assert runner.heat_view().points["tank_max_temp"] == pytest.approx(limit - 5)
    store.flush()
    results = [e.result for e in reversed(store.audit_log()) if e.action == "set_setpoint"]
    assert [r.split(":")[0] for r in results] == ["refused", "refused", "refused", "ok"]


@pytest.mark.slow
def test_client_refusals_and_unlock_expiry_are_audited(site_parts) -> None:
    runner, _, store, control, clock = site_parts
    control.unlock("jo", minutes=1)
    with pytest.raises(ActionRefused, match="outside 30..70"):  # the profile's bound, in the client
        control.perform("jo", "heat1", SetSetpoint("supply_setpoint", 25)).result(15)
    clock.t += 61
    assert not control.state().unlocked
    with pytest.raises(ControlLocked):
        control.perform("jo", "pdu1", SetOutlet(2, "off"))
    assert runner.pdu_view().outlets[1].on
    store.flush()
    results = [(e.action, e.result) for e in reversed(store.audit_log())]
    assert results[0] == ("control_unlock", "ok")
    assert results[1][0] == "set_setpoint" and results[1][1].startswith("failed: ActionRefused")
    assert results[2] == ("control_lock", "expired")
    assert results[3] == ("outlet_off", "refused: control locked")


class _Audit:
    """A store that keeps audit calls; ``fail`` makes later ones raise (store closed, disk full)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str, str]] = []
        self.afters: list[Any] = []
        self.fail: Exception | None = None

    def audit(self, actor, action, target, before, after, result):
        if self.fail is not None:
            raise self.fail
        self.entries.append((actor, action, target, result))
        self.afters.append(after)


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
        c.perform("jo", "srv1", SetPowerLimit(500))
    assert store.entries[-1][:3] == ("jo", "set_power_limit", "srv1/chassis")
    assert store.entries[-1][3] == "failed: RuntimeError: engine is not running"


def test_result_future_resolves_even_if_the_audit_cannot_be_written() -> None:
    sent: Future[Any] = Future()
    store = _Audit()
    c = Control(_example_site(), _Engine(lambda: sent), store)
    c.unlock("jo")
    out = c.perform("jo", "srv1", SetPowerLimit(500))
    store.fail = RuntimeError("store is closed")
    sent.set_result(ActionResult("srv1", "set_power_limit", "chassis", 500, 500, True))
    assert out.result(timeout=5).ok  # the write happened; the caller is not left waiting


# ---------------------------------------------------------------- values converted at the edge
class _Source:
    """Records the actions a client would have been asked to perform."""

    def __init__(self) -> None:
        self.calls: list[Action] = []

    async def perform(self, action: Action) -> ActionResult:
        self.calls.append(action)
        return ActionResult("x", action.name, action.target, action.requested, action.requested, True)


class _Sending:
    """An engine that runs each action at once against one recording source."""

    def __init__(self) -> None:
        self.source = _Source()

    def subscribe(self, cb):
        return lambda: None

    def run_action(self, device_id, fn):
        import asyncio

        out: Future[Any] = Future()
        out.set_result(asyncio.run(fn(self.source)))
        return out


def _unlocked() -> tuple[Control, _Audit, _Sending]:
    store, engine = _Audit(), _Sending()
    c = Control(_example_site(), engine, store)
    c.unlock("jo")
    return c, store, engine


@pytest.mark.parametrize("point, value", [
    ("tank_max_temp", "84"), ("tank_max_temp", Decimal("83")), ("tank_max_temp", " 80.5 "),
    ("supply_setpoint", "66"), ("supply_setpoint", Fraction(131, 2)), ("supply_setpoint", np.float32(70)),
    ("supply_setpoint", np.int64(66)),
])
def test_site_limits_hold_whatever_type_the_value_has(point: str, value: Any) -> None:
    c, store, engine = _unlocked()
    with pytest.raises(ActionRefused, match="above the site's max"):
        c.perform("jo", "heat1", SetSetpoint(point, value))
    assert engine.source.calls == []  # nothing was sent
    assert store.entries[-1][1:3] == ("set_setpoint", f"heat1/{point}")
    assert store.entries[-1][3].startswith("refused: ") and "above the site's max" in store.entries[-1][3]


@pytest.mark.parametrize("value", [
    float("nan"), float("inf"), float("-inf"), "nan", "inf", "-Infinity", "1e999", "1_0", "0x20", "",
    "sixty", True, False, None, [60], {"v": 60}, 60j, b"60", Decimal("NaN"), Decimal("sNaN"), object(),
])
def test_a_setpoint_that_is_not_a_finite_number_is_refused_and_audited(value: Any) -> None:
    c, store, engine = _unlocked()
    with pytest.raises(ActionRefused, match="not a finite number|takes a number"):
        c.perform("jo", "heat1", SetSetpoint("supply_setpoint", value))
    assert engine.source.calls == []
    assert store.entries[-1][3].startswith("refused: ")
    shown = store.afters[-1]["requested"]
    assert isinstance(shown, str) and len(shown) <= 80  # the raw value, as text, bounded
    json.dumps(store.afters[-1], allow_nan=False)  # strict JSON: no NaN/Infinity leak into the log


def test_the_raw_value_is_shown_safely_in_the_audit() -> None:
    class Nasty:
        def __repr__(self) -> str:
            raise RuntimeError("boom")

    c, store, _ = _unlocked()
    for value in ("x" * 10_000, "a\nb\x00\x1b[31m", Nasty()):
        with pytest.raises(ActionRefused):
            c.perform("jo", "heat1", SetSetpoint("supply_setpoint", value))
        shown = store.afters[-1]["requested"]
        assert len(shown) <= 80 and shown.isprintable()


@pytest.mark.parametrize("action, sent", [
    (SetSetpoint("supply_setpoint", "60"), SetSetpoint("supply_setpoint", 60.0)),
    (SetSetpoint("supply_setpoint", Decimal("60.5")), SetSetpoint("supply_setpoint", 60.5)),
    (SetSetpoint("supply_setpoint", np.float64(55)), SetSetpoint("supply_setpoint", 55.0)),
    (SetSetpoint("tank_max_temp", 70), SetSetpoint("tank_max_temp", 70.0)),
    (SetValve("33.3"), SetValve(33.3)), (SetBypass(Fraction(1, 2)), SetBypass(0.5)),
    (SetPump("off"), SetPump(False)), (SetPump(True), SetPump(True)), (UpsSelfTest(), UpsSelfTest()),
])
def test_accepted_values_reach_the_client_as_one_type(action: Action, sent: Action) -> None:
    c, store, engine = _unlocked()
    device = "ups1" if isinstance(action, UpsSelfTest) else "heat1"
    assert c.perform("jo", device, action).result(5).ok
    [got] = engine.source.calls
    assert got == sent and [type(getattr(got, f.name)) for f in dataclasses.fields(got)] == \
        [type(getattr(sent, f.name)) for f in dataclasses.fields(sent)]
    assert store.entries[-1][1:] == (sent.name, f"{device}/{sent.target}", "ok")


@pytest.mark.parametrize("action, why", [
    (SetPump("maybe"), "one of"), (SetPump(1), "one of"), (SetPump(1.0), "one of"),
    (SetValve(True), "not a finite number|takes a number"), (SetValve(1e300), "plausible"),
    (SetBypass(-1), "plausible"), (SetBypass(float("nan")), "not a finite number"),
    (SetSetpoint("no_such_point", 1), "no point"),
    (SetSetpoint("valve_setpoint", 50), "not a writable setpoint"),
    (SetSetpoint("supply_temp", 50), "not a writable setpoint"),
    (SetSetpoint("pump_on", 1), "not a writable setpoint"),
])
def test_actions_take_only_their_own_kind_of_value(action: Action, why: str) -> None:
    c, store, engine = _unlocked()
    with pytest.raises(ActionRefused, match=why):
        c.perform("jo", "heat1", action)
    assert engine.source.calls == [] and store.entries[-1][3].startswith("refused: ")
    assert store.entries[-1][1:3] == (action.name, f"heat1/{action.target}")


@pytest.mark.parametrize("thing", [None, "set_pump", ("heat1", "pump_on", True), 42, Action()])
def test_anything_but_an_action_is_refused_and_audited(thing: Any) -> None:
    c, store, engine = _unlocked()
    with pytest.raises(ActionRefused, match="not one of the actions|not an action"):
        c.perform("jo", "heat1", thing)
    assert engine.source.calls == [] and store.entries[-1][3].startswith("refused: ")
    json.dumps(store.afters[-1], allow_nan=False)


@pytest.mark.parametrize("watts", [float("nan"), float("inf"), "inf", True, None, "lots", 0, -5, "-5", 1e300])
def test_power_limit_must_be_a_plausible_finite_number(watts: Any) -> None:
    c, store, engine = _unlocked()
    with pytest.raises(ActionRefused):
        c.perform("jo", "srv1", SetPowerLimit(watts))
    assert engine.source.calls == [] and store.entries[-1][1:] == (
        "set_power_limit", "srv1/chassis", store.entries[-1][3])
    assert store.entries[-1][3].startswith("refused: ")


def test_power_limit_converted_once() -> None:
    c, _, engine = _unlocked()
    c.perform("jo", "srv1", SetPowerLimit(Decimal("640"))).result(5)
    c.perform("jo", "gpuhost", SetPowerLimit("250", gpu=np.int64(1))).result(5)
    assert engine.source.calls == [SetPowerLimit(640.0), SetPowerLimit(250.0, gpu=1)]
    assert [type(engine.source.calls[1].gpu), type(engine.source.calls[1].watts)] == [int, float]


@pytest.mark.parametrize("gpu", [True, -1, 1.5, "x", float("nan")])
def test_gpu_index_must_be_a_whole_number(gpu: Any) -> None:
    c, store, engine = _unlocked()
    with pytest.raises(ActionRefused, match="GPU"):
        c.perform("jo", "gpuhost", SetPowerLimit(250, gpu=gpu))
    assert engine.source.calls == [] and store.entries[-1][3].startswith("refused: ")


def test_nvml_cap_without_a_gpu_is_refused_and_audited() -> None:
    c, store, engine = _unlocked()
    with pytest.raises(ActionRefused, match="name the GPU"):
        c.perform("jo", "gpuhost", SetPowerLimit(250))
    assert engine.source.calls == [] and store.entries[-1][3].startswith("refused: ")


@pytest.mark.parametrize("outlet, command", [
    (True, "off"), (0, "off"), (2.5, "off"), ("two", "off"), (float("nan"), "off"),
    (2, "OFF!"), (2, None), (2, ["off"]), (2, "reboot"),
])
def test_outlet_and_command_are_checked_and_audited(outlet: Any, command: Any) -> None:
    c, store, engine = _unlocked()
    with pytest.raises(ActionRefused):
        c.perform("jo", "pdu1", SetOutlet(outlet, command))
    assert engine.source.calls == [] and store.entries[-1][3].startswith("refused: ")


def test_outlet_number_converted_once() -> None:
    c, _, engine = _unlocked()
    c.perform("jo", "pdu1", SetOutlet("2", "off")).result(5)
    c.perform("jo", "pdu1", SetOutlet(Decimal("3"), "on")).result(5)
    c.perform("jo", "pdu1", SetOutlet(np.int64(4), "cycle")).result(5)
    assert engine.source.calls == [SetOutlet(2, "off"), SetOutlet(3, "on"), SetOutlet(4, "cycle")]
    assert all(type(a.outlet) is int for a in engine.source.calls)


def test_an_unknown_device_is_refused_and_audited() -> None:
    c, store, engine = _unlocked()
    with pytest.raises(ActionRefused, match="no device"):
        c.perform("jo", "nope", SetSetpoint("supply_setpoint", 50))
    assert engine.source.calls == [] and store.entries[-1][2:] == ("nope/supply_setpoint",
                                                                    store.entries[-1][3])
    assert store.entries[-1][3].startswith("refused: ")


# ---------------------------------------------------------------- unlock
@pytest.mark.parametrize("actor, minutes, why", [
    ("  ", 10, "name of the person"), ("", 10, "name of the person"), (None, 10, "name of the person"),
    ("jo\x00x", 10, "name of the person"), ("j" * 500, 10, "name of the person"),
    ("jo", 24 * 60, "unlock for"), ("jo", 0, "unlock for"), ("jo", -5, "unlock for"),
    ("jo", float("nan"), "unlock for"), ("jo", float("inf"), "unlock for"), ("jo", "ten", "unlock for"),
    ("jo", True, "unlock for"), ("jo", None, "unlock for"),
])
def test_refused_unlocks_are_audited(actor: Any, minutes: Any, why: str) -> None:
    store = _Audit()
    c = Control(_example_site(), _Sending(), store)
    with pytest.raises(ValueError, match=why):
        c.unlock(actor, minutes=minutes)
    assert not c.state().unlocked
    [(who, action, target, result)] = store.entries
    assert (action, target) == ("control_unlock", "site") and result.startswith("refused: ")
    assert who and who.isprintable() and len(who) <= 80
    json.dumps(store.afters[-1], allow_nan=False)


def test_unlock_minutes_converted_once() -> None:
    store = _Audit()
    c = Control(_example_site(), _Sending(), store, clock=lambda: 0.0)
    assert c.unlock("jo", minutes="10").until == 600.0
    assert c.unlock("jo", minutes=Decimal("1.5")).until == 90.0
    assert [e[3] for e in store.entries] == ["ok", "ok"]
    assert store.afters[0]["minutes"] == 10.0


def test_odd_point_and_outlet_names_reach_the_audit_as_plain_text() -> None:
    c, store, engine = _unlocked()
    for point in ("supply\n_setpoint", 7, None, "p" * 300):
        with pytest.raises(ActionRefused, match="no point"):
            c.perform("jo", "heat1", SetSetpoint(point, 50))
        target = store.entries[-1][2]
        assert target.startswith("heat1/") and target.isprintable() and len(target) <= 90
    with pytest.raises(ActionRefused, match="whole number"):
        c.perform("jo", "pdu1", SetOutlet("2\x1b", "off"))
    assert store.entries[-1][2].isprintable() and store.afters[-1] == {"requested": "'2\\x1b'"}
    assert engine.source.calls == []


def test_a_heat_write_to_a_device_without_a_register_map_is_refused_and_audited() -> None:
    c, store, engine = _unlocked()
    with pytest.raises(ActionRefused, match="not a Modbus heat controller"):
        c.perform("jo", "srv1", SetSetpoint("supply_setpoint", 50))
    assert engine.source.calls == [] and store.entries[-1][3].startswith("refused: ")


@pytest.mark.parametrize("actor", [None, "", "   ", "jo\nroot", 5])
def test_a_write_needs_a_named_actor(actor: Any) -> None:
    c, store, engine = _unlocked()
    with pytest.raises(ActionRefused, match="name of the person"):
        c.perform(actor, "srv1", SetPowerLimit(500))
    assert engine.source.calls == []
    who, action, _, result = store.entries[-1]
    assert action == "set_power_limit" and result.startswith("refused: ")
    assert who and who.isprintable()
