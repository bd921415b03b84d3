"""The confirm-write dialog: says what will change (now → requested, bounds, who holds control),
writes only when confirmed and unlocked, shows the read-back, or the refusal in one line —
and the refusal is in the audit log."""
from __future__ import annotations

from pathlib import Path

import pytest

from console.ui.write_dialog import WriteDialog, request_write
from protocols.base import (
    SetBypass,
    SetOutlet,
    SetPowerLimit,
    SetPump,
    SetSetpoint,
    SetValve,
    UpsSelfTest,
)
from tests.fakes.views import view_context
from tests.fakes.writes import Clock, make_control, private_settings


@pytest.fixture(autouse=True)
def _settings(monkeypatch, tmp_path: Path) -> None:
    private_settings(monkeypatch, tmp_path)


@pytest.fixture
def site(qtbot, tmp_path: Path):
    clock = Clock()
    ctx, feeder = view_context(qtbot, wall=clock)
    feeder.step(60)
    control, store, engine = make_control(tmp_path, ctx.site, ctx.live, clock)
    ctx.control = control
    yield ctx, control, store, engine
    store.close()


def test_locked_the_write_button_is_greyed_and_says_why(site, qtbot) -> None:
    ctx, control, store, engine = site
    d = WriteDialog(ctx, "srv1", SetPowerLimit(500))
    qtbot.addWidget(d)
    assert not d.write_button.isEnabled()
    assert d.control_label.text().startswith("Control is locked")
    d.confirm()  # even if forced, nothing is sent
    assert engine.device.calls == [] and "locked" in d.result_label.text()


def test_the_dialog_states_now_requested_and_bounds(site, qtbot) -> None:
    ctx, control, *_ = site
    control.unlock("Jo", 10)
    d = WriteDialog(ctx, "gpuhost", SetPowerLimit(250, 0))
    qtbot.addWidget(d)
    assert d.summary.text() == "gpuhost GPU 0 power limit: 300 W → 250 W"
    assert d.now_label.text().startswith("300 W (") and d.now_label.text().endswith(" s ago)")
    assert d.requested_label.text() == "250 W"
    assert d.bounds_label.text().splitlines() == ["• device (NVML): 100 … 300 W",
                                                  "• more than 0 W and at most 1,000,000 W (plausible)"]
    assert d.control_label.text() == "Unlocked by Jo · 10:00 left"
    assert d.write_button.isEnabled()


def test_a_value_the_device_does_not_report_is_not_shown_as_a_number(site, qtbot) -> None:
    ctx, control, *_ = site
    d = WriteDialog(ctx, "srv1", SetPowerLimit(500))  # the demo BMCs have no cap set
    qtbot.addWidget(d)
    assert d.now_label.text() == "none reported (the device gives no value now)"
    assert d.summary.text() == "srv1 chassis power limit: ? → 500 W"


def test_a_stale_value_is_said_to_be_stale(qtbot, tmp_path: Path) -> None:
    stale_clock = [0.0]
    ctx, feeder = view_context(qtbot, clock=lambda: stale_clock[0])
    feeder.step(60)
    stale_clock[0] += 3600  # an hour without a poll
    d = WriteDialog(ctx, "heat1", SetSetpoint("supply_setpoint", 50))
    qtbot.addWidget(d)
    assert d.now_label.text().startswith("stale: 55 °C (") and "may have changed since" in d.now_label.text()


def test_confirm_sends_and_shows_the_read_back(site, qtbot) -> None:
    ctx, control, store, engine = site
    control.unlock("Jo", 10)
    engine.device.release.clear()  # the device answers when we say so
    d = WriteDialog(ctx, "srv1", SetPowerLimit(500))
    qtbot.addWidget(d)
    d.confirm()
    assert d.result_label.text().startswith("Sent; waiting for the read-back")
    assert not d.write_button.isEnabled()  # no second write while the first is out
    engine.device.release.set()
    with qtbot.waitSignal(d.write_finished, timeout=3000) as blocker:
        pass
    assert blocker.args[0].ok
    assert d.result_label.text() == "Done: read back 500 W (asked 500 W)."
    assert [(dev, a) for dev, a in engine.device.calls] == [("srv1", SetPowerLimit(500.0))]
    store.flush()
    entry = store.audit_log()[0]
    assert (entry.actor, entry.action, entry.target, entry.result) == ("Jo", "set_power_limit", "srv1/chassis", "ok")


def test_a_read_back_that_differs_is_said_so(site, qtbot) -> None:
    ctx, control, _, engine = site
    control.unlock("Jo", 10)
    engine.device.readback = lambda a: 40.0
    d = WriteDialog(ctx, "heat1", SetValve(55))
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.write_finished, timeout=3000):
        d.confirm()
    assert d.result_label.text().startswith("Sent, but the read-back differs")
    assert "read back 40 %" in d.result_label.text()


def test_out_of_bounds_is_refused_in_one_line_and_audited(site, qtbot) -> None:
    ctx, control, store, engine = site
    control.unlock("Jo", 10)
    d = WriteDialog(ctx, "heat1", SetSetpoint("supply_setpoint", 85))
    qtbot.addWidget(d)
    assert "site: max loop temperature 70 °C" in d.bounds_label.text()
    assert "device (heatrack-default): 30 … 70 °C" in d.bounds_label.text()
    with qtbot.waitSignal(d.write_finished, timeout=3000):
        d.confirm()
    text = d.result_label.text()
    assert text.startswith("Refused: ") and "above the site's max loop temperature" in text and "\n" not in text
    assert engine.device.calls == []
    store.flush()
    assert store.audit_log()[0].result.startswith("refused: 85 °C is above the site's max loop temperature")


def test_a_device_refusal_is_shown_in_one_line(site, qtbot) -> None:
    ctx, control, _, engine = site
    control.unlock("Jo", 10)
    engine.device.refuse = "9000 W is outside the allowed range 150..800 W"
    d = WriteDialog(ctx, "srv2", SetPowerLimit(9000))
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.write_finished, timeout=3000):
        d.confirm()
    assert d.result_label.text().startswith("Refused: srv2 (127.0.0.1:1): set_power_limit chassis: 9000 W is outside")


@pytest.mark.parametrize("device, action, summary", [
    ("pdu1", SetOutlet(2, "off"), "pdu1 outlet 2: "),
    ("heat1", SetBypass(30), "heat1 bypass (dump) valve: "),
    ("heat1", SetPump(False), "heat1 loop pump: "),
    ("ups1", UpsSelfTest(), "ups1 UPS battery self-test: "),
    ("gpuhost", SetPowerLimit(250, 0), "gpuhost GPU 0 power limit: "),
    ("heat1", SetSetpoint("tank_max_temp", 60), "heat1 tank max temp: "),
])
def test_every_action_of_the_vocabulary_gets_a_confirmation(site, qtbot, device, action, summary) -> None:
    ctx, control, _, engine = site
    control.unlock("Jo", 10)
    d = request_write(ctx, None, device, action)
    qtbot.addWidget(d)
    assert d.isVisible() and d.summary.text().startswith(summary)
    assert "not known" not in d.now_label.text(), d.now_label.text()  # the demo reports each of them
    with qtbot.waitSignal(d.write_finished, timeout=3000) as blocker:
        d.confirm()
    assert blocker.args[0].ok and engine.device.calls[-1][0] == device


def test_an_unknown_device_is_said_so_and_nothing_is_sent(site, qtbot) -> None:
    ctx, control, _, engine = site
    control.unlock("Jo", 10)
    d = WriteDialog(ctx, "nope", SetPump(True))
    qtbot.addWidget(d)
    assert d.result_label.text() == "No device 'nope' in this site." and not d.write_button.isEnabled()


def test_switching_an_outlet_off_names_what_it_feeds(site, qtbot) -> None:
    ctx, *_ = site
    d = WriteDialog(ctx, "pdu1", SetOutlet(2, "off"))
    qtbot.addWidget(d)
    assert d.bounds_label.text() == "• srv2 (psu1) loses power"
    assert d.now_label.text().startswith("on (")
