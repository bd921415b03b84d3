"""Add a device to a site file: fill in what it is and where, probe it, then save.

The probe runs ``console.probe.probe_device`` (the readings, then what the device says it is)
in a worker thread with its own asyncio loop (the
GUI thread never waits on the network) and shows what answered — how many readings and a few of
them — or the one-line failure, within the device's timeout. Save is enabled only after a
successful probe of exactly what is in the form, or when the person ticks "Save without probing"
(a device not reachable from this laptop now). Saving goes through ``console.site_writer``:
the file keeps every other byte, and passwords, communities and keys go to the OS keyring.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from console.site import KIND_PROTOCOLS, Device, device_spec
from console.site_writer import NewDevice, SiteWriteError, append_device
from protocols.base import Credentials, DeviceError, DeviceSpec, Identity, Reading

Prober = Callable[[DeviceSpec], Coroutine[Any, Any, Any]]  # -> ProbeResult (or a list of readings)
KINDS = ["server", "gpu_host", "ups", "pdu", "heat_controller", "heat_meter"]
KIND_LABELS = {"server": "Server (BMC)", "gpu_host": "GPU host", "ups": "UPS", "pdu": "Power strip (PDU)",
               "heat_controller": "Heat controller", "heat_meter": "Heat meter"}
DEFAULT_PORTS = {"redfish": 443, "snmp": 161, "modbus": 502}
SNMP_AUTH = ["SHA", "SHA256", "SHA512", "MD5"]
SNMP_PRIV = ["AES", "AES256", "DES", "NONE"]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _default_probe(spec: DeviceSpec) -> Coroutine[Any, Any, Any]:
    from console.probe import probe_device

    return probe_device(spec)


class AddDeviceDialog(QDialog):
    """``saved(device_id)`` after the device is written to ``site_path``."""

    saved = Signal(str)
    _probe_finished = Signal(int, bool, str)  # generation, ok, text (from the worker thread)

    def __init__(self, site_path: str | Path, parent: QWidget | None = None, *, probe: Prober = _default_probe) -> None:
        super().__init__(parent)
        self.site_path = Path(site_path)
        self._probe = probe
        self._generation = 0  # bumps on every edit: a late answer about an old form is ignored
        self._probed_ok_for = -1
        self.probing = False
        self.setWindowTitle(f"Add a device to {self.site_path.name}")
        self.setMinimumWidth(560)

        self.id = QLineEdit()
        self.id.setPlaceholderText("srv4  (lower case, digits, - or _)")
        self.id.setToolTip("Short unique id used in the site file and the database")
        self.name = QLineEdit()
        self.name.setPlaceholderText("GPU server 4 (render)")
        self.kind = QComboBox()
        for k in KINDS:
            self.kind.addItem(KIND_LABELS[k], k)
        self.protocol = QComboBox()
        self.address = QLineEdit()
        self.address.setToolTip("host:port of the device (its BMC, SNMP agent or Modbus server)")
        self.tls = QCheckBox("HTTPS (certificate pinned on first use)")
        self.tls.setChecked(True)
        self.profile = QLineEdit()
        self.profile.setPlaceholderText("optional (a Modbus device needs one, e.g. heatrack-default)")
        self.unit = QSpinBox()
        self.unit.setRange(0, 255)
        self.unit.setValue(1)
        self.unit.setToolTip("Modbus unit id")
        self.poll = QDoubleSpinBox()
        self.poll.setRange(1, 3600)
        self.poll.setValue(10)
        self.poll.setSuffix(" s")
        self.poll.setDecimals(1)
        self.poll.setToolTip("How often heatrack reads the device")
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(0.5, 60)
        self.timeout.setValue(3)
        self.timeout.setSuffix(" s")
        self.timeout.setDecimals(1)
        self.timeout.setToolTip("How long one read may take; shorter than the poll interval")
        self.snmp_version = QComboBox()
        self.snmp_version.addItems(["2c", "3"])
        self.user = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.community = QLineEdit()
        self.community.setEchoMode(QLineEdit.EchoMode.Password)
        self.auth_key = QLineEdit()
        self.auth_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.priv_key = QLineEdit()
        self.priv_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.auth_proto = QComboBox()
        self.auth_proto.addItems(SNMP_AUTH)
        self.priv_proto = QComboBox()
        self.priv_proto.addItems(SNMP_PRIV)
        for secret in (self.password, self.community, self.auth_key, self.priv_key):
            secret.setToolTip("Stored in the OS keyring, never in the site file")

        self.form = QFormLayout()
        rows: list[tuple[str, QWidget]] = [
            ("Id", self.id), ("Name", self.name), ("Kind", self.kind), ("Protocol", self.protocol),
            ("Address", self.address), ("", self.tls), ("Profile", self.profile), ("Modbus unit", self.unit),
            ("Poll every", self.poll), ("Timeout", self.timeout), ("SNMP version", self.snmp_version),
            ("User", self.user), ("Password", self.password), ("Community", self.community),
            ("Auth key", self.auth_key), ("Auth protocol", self.auth_proto), ("Privacy key", self.priv_key),
            ("Privacy protocol", self.priv_proto),
        ]
        for label, w in rows:
            self.form.addRow(label, w)

        self.probe_button = QPushButton("&Probe")
        self.probe_button.setToolTip("Read the device once with these settings (nothing is saved)")
        self.probe_result = QLabel("Not probed yet.")
        self.probe_result.setWordWrap(True)
        self.probe_result.setObjectName("probe-result")
        self.without_probe = QCheckBox("Save without probing (the device cannot be reached from here now)")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)

        probe_row = QHBoxLayout()
        probe_row.addWidget(self.probe_button)
        probe_row.addWidget(self.probe_result, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addLayout(probe_row)
        lay.addWidget(self.without_probe)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)

        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.protocol.currentIndexChanged.connect(self._protocol_changed)
        self.snmp_version.currentIndexChanged.connect(self._protocol_changed)
        self.probe_button.clicked.connect(self.start_probe)
        self.without_probe.toggled.connect(self._update_save)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        # queued, always: the signal is emitted on the probe thread and the slot touches widgets
        self._probe_finished.connect(self._on_probe_finished, Qt.ConnectionType.QueuedConnection)
        for line in (self.id, self.name, self.address, self.profile, self.user, self.password, self.community,
                     self.auth_key, self.priv_key):
            line.textChanged.connect(self._edited)
        for c in (self.kind, self.protocol, self.snmp_version, self.auth_proto, self.priv_proto):
            c.currentIndexChanged.connect(self._edited)
        for s in (self.unit, self.poll, self.timeout):
            s.valueChanged.connect(self._edited)
        self.tls.toggled.connect(self._edited)
        self._kind_changed()
        self._update_save()

    # ------------------------------------------------------------ form
    def _show_row(self, w: QWidget, shown: bool) -> None:
        self.form.setRowVisible(w, shown)

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        current = self.protocol.currentText()
        self.protocol.blockSignals(True)
        self.protocol.clear()
        protocols = sorted(KIND_PROTOCOLS[kind], key=lambda p: p == "nvml")
        self.protocol.addItems(protocols)
        if current in protocols:
            self.protocol.setCurrentText(current)
        self.protocol.blockSignals(False)
        self._protocol_changed()

    def _protocol_changed(self) -> None:
        proto = self.protocol.currentText()
        v3 = proto == "snmp" and self.snmp_version.currentText() == "3"
        self._show_row(self.address, proto != "nvml")
        self._show_row(self.tls, proto == "redfish")
        self._show_row(self.profile, proto in ("snmp", "modbus"))
        self._show_row(self.unit, proto == "modbus")
        self._show_row(self.snmp_version, proto == "snmp")
        self._show_row(self.user, proto == "redfish" or v3)
        self._show_row(self.password, proto == "redfish")
        self._show_row(self.community, proto == "snmp" and not v3)
        for w in (self.auth_key, self.auth_proto, self.priv_key, self.priv_proto):
            self._show_row(w, v3)
        port = DEFAULT_PORTS.get(proto)
        self.address.setPlaceholderText(f"192.168.1.20:{port}" if port else "")

    def _edited(self) -> None:
        self._generation += 1
        self.error.setText("")
        if self._probed_ok_for >= 0:
            self.probe_result.setText("Changed since the probe: probe again.")
        self._probed_ok_for = -1
        self._update_save()

    def _update_save(self) -> None:
        probed = self._probed_ok_for == self._generation
        self.save_button.setEnabled(not self.probing and (probed or self.without_probe.isChecked()))

    def credentials(self) -> Credentials | None:
        """The secrets in the form (None when there are none)."""
        proto = self.protocol.currentText()
        if proto == "redfish":
            creds = Credentials(username=self.user.text().strip() or None, password=self.password.text() or None)
        elif proto == "snmp" and self.snmp_version.currentText() == "3":
            priv = self.priv_proto.currentText()
            creds = Credentials(username=self.user.text().strip() or None, auth_key=self.auth_key.text() or None,
                                priv_key=(self.priv_key.text() or None) if priv != "NONE" else None,
                                auth_protocol=self.auth_proto.currentText(), priv_protocol=priv)
        elif proto == "snmp":
            creds = Credentials(community=self.community.text() or None)
        else:
            return None
        has = any((creds.username, creds.password, creds.community, creds.auth_key, creds.priv_key))
        return creds if has else None

    def new_device(self) -> NewDevice:
        """What the form describes; raises ValueError with a one-line reason."""
        proto = self.protocol.currentText()
        options: dict[str, Any] = {}
        if proto == "snmp":
            options["version"] = self.snmp_version.currentText()
        if proto == "modbus":
            options["unit"] = self.unit.value()
        dev = NewDevice(id=self.id.text().strip(), kind=self.kind.currentData(), protocol=proto,
                        address="" if proto == "nvml" else self.address.text().strip(),
                        name=self.name.text().strip(), profile=self.profile.text().strip() or None,
                        poll_interval=self.poll.value(), timeout=self.timeout.value(),
                        tls=proto == "redfish" and self.tls.isChecked(), options=options,
                        credentials=self.credentials())
        self._validated(dev)
        if proto == "modbus" and not dev.profile:
            raise ValueError("profile: a Modbus device needs its register map (e.g. heatrack-default)")
        return dev

    @staticmethod
    def _validated(dev: NewDevice) -> Device:
        data = {"id": dev.id, "kind": dev.kind, "protocol": dev.protocol, "address": dev.address,
                "name": dev.name, "profile": dev.profile, "tls": dev.tls, "poll_interval": dev.poll_interval,
                "timeout": dev.timeout, "options": dev.options}
        try:
            return Device.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise ValueError(f"{where}: {msg}" if where else msg) from None

    # ------------------------------------------------------------ probe
    def start_probe(self) -> None:
        try:
            dev = self.new_device()
        except ValueError as e:
            self.error.setText(_one_line(str(e)))
            return
        spec = device_spec(self._validated(dev), dev.credentials)
        self.probing = True
        self.probe_button.setEnabled(False)
        self.probe_result.setText(f"Probing {dev.address or 'local GPUs'} (up to {dev.timeout:g} s)…")
        self._update_save()
        generation = self._generation
        threading.Thread(target=self._probe_worker, args=(generation, spec), name="heatrack-probe",
                         daemon=True).start()

    def _probe_worker(self, generation: int, spec: DeviceSpec) -> None:  # worker thread
        try:
            answer = asyncio.run(self._probe(spec))
        except DeviceError as e:
            self._probe_finished.emit(generation, False, _one_line(str(e)))
            return
        except ValueError as e:  # the settings cannot make a request (a client said what is missing)
            self._probe_finished.emit(generation, False, "cannot probe with these settings: " + _one_line(str(e)))
            return
        except Exception as e:  # noqa: BLE001 - any failure is one line, never a traceback
            self._probe_finished.emit(generation, False, _one_line(f"{type(e).__name__}: {e}"))
            return
        readings = answer if isinstance(answer, list) else list(answer.readings)
        self._probe_finished.emit(generation, True, self._describe(readings, getattr(answer, "identity", None)))

    @staticmethod
    def _describe(readings: list[Reading], identity: Identity | None = None) -> str:
        """"Answered: Acme Heat HC-200 (serial 42, firmware 1.2) · 23 readings — e.g. …"."""
        values = [r for r in readings if r.value is not None]
        sample = ", ".join(f"{r.channel} {r.quantity} {r.value:.4g} {r.unit}".rstrip() if isinstance(r.value, float)
                           else f"{r.channel} {r.quantity} {r.value}" for r in values[:3])
        who = ""
        if identity is not None and not identity.empty:
            name = " ".join(x for x in (identity.manufacturer, identity.model) if x) or "a device"
            more = ", ".join(f"{k} {v}" for k, v in (("serial", identity.serial), ("firmware", identity.firmware))
                             if v)
            who = f"{name}{f' ({more})' if more else ''} · "
        n = len(readings)
        return f"Answered: {who}{n} reading{'' if n == 1 else 's'}" + (f" — e.g. {sample}" if sample else "")

    def _on_probe_finished(self, generation: int, ok: bool, text: str) -> None:  # GUI thread
        self.probing = False
        self.probe_button.setEnabled(True)
        if generation != self._generation:
            self.probe_result.setText("Changed during the probe: probe again.")
        elif ok:
            self._probed_ok_for = generation
            self.probe_result.setText("✓ " + text)
        elif text.startswith("cannot probe"):
            self.probe_result.setText("✗ " + text[:1].upper() + text[1:])
        else:
            self.probe_result.setText("✗ No answer: " + text)
        self.probe_result.setToolTip(text)
        self._update_save()

    # ------------------------------------------------------------ save
    def save(self) -> None:
        if not self.save_button.isEnabled():
            return
        try:
            dev = self.new_device()
            append_device(self.site_path, dev)
        except (ValueError, SiteWriteError) as e:
            self.error.setText(_one_line(str(e)))
            return
        self.saved.emit(dev.id)
        self.accept()


__all__ = ["AddDeviceDialog"]
