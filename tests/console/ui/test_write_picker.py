"""Choosing a write (control panel ▸ Write…): the demo site's writable devices and what each
offers, the value starting at the device's value now, then the confirm dialog with that action."""
from __future__ import annotations

from pathlib import Path

import pytest

from console.ui.control_panel import ControlPanel
from console.write_menu import options_for, writable_devices
from protocols.base import SetOutlet, SetPowerLimit, SetPump, SetSetpoint, UpsSelfTest
from tests.fakes.views import view_context
from tests.fakes.writes import Clock, make_control, private_settings


@pytest.fixture(autouse=True)
def _settings(monkeypatch, tmp_path: Path) -> None:
    private_settings(monkeypatch, tmp_path)


@pytest.fixture
def panel(qtbot, tmp_path: Path):
    clock = Clock()
    ctx, feeder = view_context(qtbot, wall=clock)
    feeder.step(60)
    control, store, engine = make_control(tmp_path, ctx.site, ctx.live, clock)
    ctx.control = control
    w = ControlPanel(ctx)
    qtbot.addWidget(w)
    yield ctx, w, control, engine
    store.close()


def test_every_device_of_the_demo_offers_its_writes(panel) -> None:
    ctx, *_ = panel
    assert writable_devices(ctx.site, ctx.live) == ["srv1", "srv2", "srv3", "gpuhost", "ups1", "pdu1", "heat1"]
    heat = {o.label: o for o in options_for(ctx.site, ctx.live, "heat1")}
    assert list(heat) == ["supply setpoint", "tank max temp", "heat-recovery valve", "bypass (dump) valve",
                          "loop pump"]
    assert (heat["supply setpoint"].low, heat["supply setpoint"].high, heat["supply setpoint"].default) == (30, 70, 55)
    assert heat["loop pump"].make("off") == SetPump(False)
    outlets = [o.label for o in options_for(ctx.site, ctx.live, "pdu1")]
    assert outlets[:3] == ["outlet 1 (srv1)", "outlet 2 (srv2)", "outlet 3 (srv3)"] and len(outlets) == 8
    gpu = options_for(ctx.site, ctx.live, "gpuhost")[1]
    assert (gpu.label, gpu.low, gpu.high, gpu.make(200)) == ("GPU 1 power limit", 100, 300, SetPowerLimit(200, 1))


def test_write_is_offered_only_while_unlocked(panel) -> None:
    _, w, control, _ = panel
    assert not w.write_button.isEnabled()
    control.unlock("Jo", 5)
    w.refresh()
    assert w.write_button.isEnabled()


def test_picking_a_write_opens_the_confirm_dialog_with_it(panel, qtbot) -> None:
    ctx, w, control, engine = panel
    control.unlock("Jo", 5)
    p = w.ask_write("heat1")
    qtbot.addWidget(p)
    assert p.option.currentText() == "supply setpoint" and p.number.value() == 55  # the value now
    p.number.setValue(60)
    d = p.review()
    qtbot.addWidget(d)
    assert not p.isVisible() and d.isVisible()
    assert d.action == SetSetpoint("supply_setpoint", 60.0) and d.summary.text() == "heat1 supply setpoint: 55 °C → 60 °C"
    with qtbot.waitSignal(d.write_finished, timeout=3000):
        d.confirm()
    assert engine.device.calls == [("heat1", SetSetpoint("supply_setpoint", 60.0))]


def test_choices_and_actions_without_a_value(panel, qtbot) -> None:
    _, w, control, _ = panel
    control.unlock("Jo", 5)
    p = w.ask_write("pdu1")
    qtbot.addWidget(p)
    p.option.setCurrentIndex(1)
    assert p.choice.currentText() == "on"  # outlet 2 is on now
    p.choice.setCurrentText("cycle")
    assert p.chosen_action() == SetOutlet(2, "cycle")
    p.device.setCurrentIndex(p.device.findData("ups1"))
    assert p.chosen_action() == UpsSelfTest() and p.review_button.isEnabled()


def test_no_number_is_offered_when_the_device_reports_none(panel, qtbot) -> None:
    _, w, control, _ = panel
    control.unlock("Jo", 5)
    p = w.ask_write("srv1")  # the demo BMCs have no cap set
    qtbot.addWidget(p)
    assert p.number.text() == "type a value" and not p.review_button.isEnabled() and p.review() is None
    p.number.setValue(450)
    assert p.review_button.isEnabled() and p.chosen_action() == SetPowerLimit(450.0)
