"""The add-device dialog: probe a real local Modbus server off the GUI thread, a silent address
fails in one line within its timeout, Save only after a probe of what is in the form (or an
explicit "save without probing"), secrets to the keyring."""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QElapsedTimer, QTimer

from console.site import load_site
from console.ui.add_device import AddDeviceDialog
from tests.fakes.memory_keyring import MemoryKeyring, memory_keyring
from tests.support import REPO

EXAMPLE = REPO / "resources" / "sites" / "example.toml"


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    p = tmp_path / "home.toml"
    p.write_bytes(EXAMPLE.read_bytes())
    return p


@pytest.fixture
def kr() -> Iterator[MemoryKeyring]:
    with memory_keyring() as k:
        yield k


@pytest.fixture
def mute_port() -> Iterator[int]:
    """Accepts TCP connections (kernel backlog) but never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def _dialog(qtbot: Any, site_file: Path) -> AddDeviceDialog:
    d = AddDeviceDialog(site_file)
    qtbot.addWidget(d)
    return d


def _modbus(d: AddDeviceDialog, port: int, timeout: float = 2.0) -> None:
    d.id.setText("heat2")
    d.name.setText("Second heat controller")
    d.kind.setCurrentIndex(d.kind.findData("heat_controller"))
    d.protocol.setCurrentText("modbus")
    d.address.setText(f"127.0.0.1:{port}")
    d.profile.setText("heatrack-default")
    d.poll.setValue(5)
    d.timeout.setValue(timeout)


class Heartbeat:
    """A 10 ms GUI timer: the largest gap between its ticks is how long the GUI thread stalled."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.clock.start()
        self.last, self.worst = 0, 0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        now = self.clock.elapsed()
        self.worst = max(self.worst, now - self.last)
        self.last = now


def test_probe_a_real_modbus_server_then_save(qtbot: Any, site_file: Path, heat_server: int) -> None:
    d = _dialog(qtbot, site_file)
    d.show()
    _modbus(d, heat_server)
    assert not d.save_button.isEnabled()  # not probed yet
    beat = Heartbeat()
    d.probe_button.click()
    assert d.probing and not d.probe_button.isEnabled()
    qtbot.waitUntil(lambda: not d.probing, timeout=10_000)
    beat.timer.stop()
    assert d.probe_result.text().startswith("✓ Answered: "), d.probe_result.text()
    assert "readings" in d.probe_result.text() and "°C" in d.probe_result.text()
    assert beat.worst < 100, f"GUI thread stalled {beat.worst} ms during the probe"
    assert d.save_button.isEnabled()
    with qtbot.waitSignal(d.saved, timeout=5000) as saved:
        d.save_button.click()
    assert saved.args == ["heat2"]
    dev = load_site(site_file).device("heat2")
    assert (dev.protocol, dev.address, dev.profile, dev.options, dev.poll_interval) == (
        "modbus", f"127.0.0.1:{heat_server}", "heatrack-default", {"unit": 1}, 5.0)


def test_a_silent_address_fails_in_one_line_within_its_timeout(qtbot: Any, site_file: Path, mute_port: int) -> None:
    d = _dialog(qtbot, site_file)
    _modbus(d, mute_port, timeout=1.0)
    beat = Heartbeat()
    t0 = time.monotonic()
    d.probe_button.click()
    qtbot.waitUntil(lambda: not d.probing, timeout=10_000)
    took = time.monotonic() - t0
    beat.timer.stop()
    text = d.probe_result.text()
    assert text.startswith("✗ No answer: ") and "\n" not in text and f"127.0.0.1:{mute_port}" in text, text
    assert took < 1.0 + 1.5, took  # the timeout, plus closing
    assert beat.worst < 100
    assert not d.save_button.isEnabled()
    d.without_probe.setChecked(True)  # the explicit confirmation
    assert d.save_button.isEnabled()


def test_an_edit_after_the_probe_asks_for_another(qtbot: Any, site_file: Path, heat_server: int) -> None:
    d = _dialog(qtbot, site_file)
    _modbus(d, heat_server)
    d.probe_button.click()
    qtbot.waitUntil(lambda: d.save_button.isEnabled(), timeout=10_000)
    d.address.setText(f"127.0.0.1:{heat_server + 1}")
    assert not d.save_button.isEnabled() and "probe again" in d.probe_result.text()


def test_bad_input_is_one_line_and_nothing_is_probed(qtbot: Any, site_file: Path) -> None:
    d = _dialog(qtbot, site_file)
    _modbus(d, 502)
    d.address.setText("controller-without-port")
    d.probe_button.click()
    assert not d.probing and "address: expected host:port" in d.error.text()
    d.address.setText("127.0.0.1:502")
    d.id.setText("Heat 2")
    d.probe_button.click()
    assert not d.probing and d.error.text().startswith("id: ")


def test_snmp_community_goes_to_the_keyring_not_the_file(qtbot: Any, site_file: Path, kr: MemoryKeyring) -> None:
    d = _dialog(qtbot, site_file)
    d.id.setText("pdu2")
    d.kind.setCurrentIndex(d.kind.findData("pdu"))
    assert d.protocol.currentText() == "snmp" and d.community.isVisibleTo(d) and not d.password.isVisibleTo(d)
    d.address.setText("10.0.0.9:161")
    d.community.setText("s3cret-community")
    d.without_probe.setChecked(True)
    with qtbot.waitSignal(d.saved, timeout=5000):
        d.save_button.click()
    text = site_file.read_text()
    assert "s3cret-community" not in text and 'credentials = "keyring:home.pdu2"' in text
    assert '"community": "s3cret-community"' in kr.entries[("heatrack", "home.pdu2")]


def test_a_duplicate_id_is_refused_in_the_dialog(qtbot: Any, site_file: Path) -> None:
    d = _dialog(qtbot, site_file)
    _modbus(d, 502)
    d.id.setText("heat1")
    d.without_probe.setChecked(True)
    d.save_button.click()
    assert "'heat1' already exists" in d.error.text() and d.result() == 0


def test_settings_a_client_cannot_use_are_said_as_such(qtbot: Any, site_file: Path) -> None:
    d = _dialog(qtbot, site_file)
    d.id.setText("ups2")
    d.kind.setCurrentIndex(d.kind.findData("ups"))
    d.snmp_version.setCurrentText("3")  # and no user
    d.address.setText("127.0.0.1:9")
    d.timeout.setValue(1)
    d.probe_button.click()
    qtbot.waitUntil(lambda: not d.probing, timeout=10_000)
    assert d.probe_result.text().startswith("✗ Cannot probe with these settings: "), d.probe_result.text()
    assert "user" in d.probe_result.text()


def test_save_is_disabled_when_the_dialog_opens(qtbot: Any, site_file: Path) -> None:
    d = _dialog(qtbot, site_file)  # nothing typed, nothing probed (the dark screenshot showed Save enabled)
    assert not d.save_button.isEnabled()
    d.save_button.click()
    assert load_site(site_file).devices[-1].id == "heat1"  # nothing written


def test_the_probe_says_what_the_device_is(qtbot: Any, site_file: Path) -> None:
    from console.probe import ProbeResult
    from protocols.base import DeviceSpec, Identity, Reading

    async def fake(spec: DeviceSpec) -> ProbeResult:
        return ProbeResult([Reading(0.0, spec.id, "supply", "temperature", 44.31, "°C")],
                           Identity(manufacturer="Acme", model="HC-200", serial="42", firmware="1.2"))

    d = AddDeviceDialog(site_file, probe=fake)
    qtbot.addWidget(d)
    _modbus(d, 502)
    d.probe_button.click()
    qtbot.waitUntil(lambda: not d.probing, timeout=5000)
    assert d.probe_result.text() == ("✓ Answered: Acme HC-200 (serial 42, firmware 1.2) · 1 reading — "
                                     "e.g. supply temperature 44.31 °C")
